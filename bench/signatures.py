"""Receipt signatures per call: SM2-SM3 and Ed25519, sign and verify, beside OpenSSL's own speed.

The service's calls (app/batches/signing.py: a PEM key as it is stored, the payload of a 30-item receipt)
are timed in a loop; the reference is `openssl speed` on the same machine in the same run (its SM2 and
Ed25519 rows: sign and verify per second), so the ratio is service time per call ÷ OpenSSL's.
`openssl speed` divides by the CPU time it used (not wall-clock time, unless given ``-elapsed``), so
``sign_ms``/``verify_ms`` and the ratios are CPU time per call too (``time.process_time``): on a shared,
loaded machine wall-clock time per call is several times the CPU time, and comparing one with the other
would charge the machine's load to the service. The wall-clock figures are printed beside them.

    .venv/bin/python -m bench.signatures [--seconds 2]
"""

import argparse
import functools
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

from app.batches import signing

PAYLOAD = b'{"items":[' + b",".join(b'{"rank":%d,"sha256":"%s"}' % (i, b"ab" * 32) for i in range(30)) + b"]}"


def per_call(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(CPU seconds, wall-clock seconds) per call of ``fn``, over about ``seconds`` of wall-clock time."""
    fn()
    calls, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(10):
            fn()
        calls += 10
    return (time.process_time() - cpu_started) / calls, elapsed / calls


def openssl_speed(seconds: float) -> dict[str, dict[str, float]]:
    """Seconds per sign and per verify of `openssl speed` for SM2 and Ed25519 (empty without openssl)."""
    if shutil.which("openssl") is None:
        return {}
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(max(1, round(seconds))), "sm2", "ed25519"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    found: dict[str, dict[str, float]] = {}
    for name, alg in (("CurveSM2", "SM2-SM3"), ("Ed25519", "Ed25519")):
        # " 256 bits SM2 (CurveSM2)   0.0003s   0.0003s   3560.5   3703.7", " 253 bits EdDSA (Ed25519) …"
        match = re.search(rf"^\s*\d+ bits \w+ \({name}\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)", out, re.M)
        if match:
            found[alg] = {"sign": 1 / float(match.group(1)), "verify": 1 / float(match.group(2))}
    return found


def run(seconds: float = 2.0) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "signatures", "payload_bytes": len(PAYLOAD)}
    reference = openssl_speed(seconds)
    for alg in signing.ALGORITHMS:
        key = signing.generate(alg)
        signature = signing.sign(key, PAYLOAD)
        assert signing.verify(alg, key.public_pem, PAYLOAD, signature)
        sign_cpu, sign_wall = per_call(functools.partial(signing.sign, key, PAYLOAD), seconds)
        verify_cpu, verify_wall = per_call(
            functools.partial(signing.verify, alg, key.public_pem, PAYLOAD, signature), seconds
        )
        figures: dict[str, Any] = {
            "sign_ms": sign_cpu * 1000,
            "verify_ms": verify_cpu * 1000,
            "sign_wall_ms": sign_wall * 1000,
            "verify_wall_ms": verify_wall * 1000,
        }
        if alg in reference:
            for op in ("sign", "verify"):
                figures[f"openssl_{op}_ms"] = reference[alg][op] * 1000
                figures[f"{op}_ratio"] = round(figures[f"{op}_ms"] / figures[f"openssl_{op}_ms"], 2)
        result[alg] = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.signatures", description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    print(json.dumps(run(parser.parse_args().seconds), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
