"""The command line's start: `smps --version` and `smps receipt verify` (offline, a genuine receipt signed
with Ed25519 and SM2) wall time ÷ `python -c pass`, each the median of repeated runs in one session.

python -m bench.cli_startup [--runs N]      target: ≤ 5 × `python -c pass` (and under 0.5 s)
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SMPS = Path(sys.executable).parent / "smps"


def _receipt(directory: Path) -> tuple[Path, Path]:
    """A genuine receipt and the published keys, made with a key store of its own."""
    from app.batches import receipts
    from app.batches.keystore import key_store

    store = key_store(directory / "keys")
    store.generate()
    document = {"tracking_number": "SMPS-2022-370000-0001", "issued_at": "2022-11-14T10:00:00+08:00", "items": []}
    receipt = directory / "receipt.json"
    receipt.write_text(json.dumps(receipts.seal(document, store.signers()), ensure_ascii=False))
    keys = directory / "keys.json"
    keys.write_text(json.dumps({"keys": [k.public() for k in store.published()]}))
    return receipt, keys


def _median_seconds(command: list[str], runs: int, expect: int = 0) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True)
        times.append(time.perf_counter() - started)
        assert done.returncode == expect, (command, done.returncode, done.stderr[-500:])
    return statistics.median(times)


def run(runs: int = 15) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        receipt, keys = _receipt(Path(tmp))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "smps --version": [str(SMPS), "--version"],
            "smps receipt verify": [str(SMPS), "receipt", "verify", str(receipt), "--keys", str(keys)],
        }
        # Interleaved rounds, so a slower spell of the machine weighs on every command alike.
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                samples[name].append(_median_seconds(command, 1))
    seconds = {name: statistics.median(values) for name, values in samples.items()}
    floor = seconds["python -c pass"]
    return {
        "benchmark": "cli_startup",
        "runs": runs,
        "seconds": seconds,
        "ratio_version": seconds["smps --version"] / floor,
        "ratio_receipt_verify": seconds["smps receipt verify"] / floor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    result = run(parser.parse_args().runs)
    for name, value in result["seconds"].items():
        print(f"{name:24} {value * 1000:8.1f} ms")
    print(f"smps --version ÷ python -c pass:      {result['ratio_version']:.2f} (target ≤ 5)")
    print(f"smps receipt verify ÷ python -c pass: {result['ratio_receipt_verify']:.2f} (target ≤ 5)")


if __name__ == "__main__":
    main()
