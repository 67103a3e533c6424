"""`make bench`: run the benchmarks, print each target ratio with its raw figures, keep them as JSON.

python -m bench [--quick] [--postgres ADMIN_URL]

Every ratio of the performance targets is printed at the end in one table (benchmark, backend, ratio,
target, met), on SQLite and, given `--postgres`, on PostgreSQL where the backend matters. A benchmark
that fails is reported in the table and the others still run.
"""

import argparse
import json
import operator
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    attachment_upload,
    batch_submit,
    bulk_import,
    change_feed,
    cli_startup,
    deadline_day,
    form_pdf,
    hostile,
    isolation,
    package,
    read_path,
    signatures,
)
from bench.common import scratch_postgres

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# (ratio, bound) -> met; "reported" targets have none.
COMPARE: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


class Table:
    """The rows of the summary: one per ratio a target names."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, benchmark: str, backend: str, ratio: float | None, target: str, met: bool | None = None) -> None:
        if met is None and ratio is not None and " " in target:
            op, bound = target.split(" ", 1)
            if op in COMPARE:
                met = COMPARE[op](ratio, float(bound.split()[0]))
        shown = "—" if ratio is None else f"{ratio:g}"
        self.rows.append((benchmark, backend, shown, target, "—" if met is None else ("yes" if met else "no")))

    def failed(self, benchmark: str, error: str) -> None:
        self.rows.append((benchmark, "—", "failed", error[:60], "no"))

    def print(self) -> None:
        header = ("benchmark", "backend", "ratio", "target", "met")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(5)]
        for row in [header, tuple("-" * w for w in widths), *self.rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _read_one(table: Table, backend: str, result: dict[str, Any]) -> None:
    for caller in ("reviewer", "applicant"):
        figures = result[caller]
        table.add(f"read one application ({caller}) ÷ floor", backend, figures["ratio_to_floor"], ">= 0.40")
        table.add(f"read one application ({caller}) ÷ dict reference", backend, figures["ratio_to_dict"], "reported")


def _lists(table: Table, result: dict[str, Any]) -> None:
    sizes = sorted(int(n) for n in next(iter(result["rps"].values())))
    label = f"{sizes[-1] // 1000}k ÷ {sizes[0] // 1000}k"
    for name, ratio in result["ratios"].items():
        table.add(f"list applications ({name}) at {label}", BACKENDS[result["backend"]], ratio, ">= 0.8")


def _per_backend(table: Table, benchmark: str, result: dict[str, Any], target: str) -> None:
    for key, backend in BACKENDS.items():
        if key in result:
            table.add(benchmark, backend, result[key]["ratio"], target)


def _upload(table: Table, result: dict[str, Any]) -> None:
    table.add("attachment upload ÷ floor (slower of sha256sum, cp+fsync)", "SQLite", result["ratio_vs_floor"], ">= 0.7")
    # The same upload against each leg alone: cp+fsync, and SHA-256 at this CPU's speed (hashlib), which
    # Debian's sha256sum does not reach.
    table.add("attachment upload ÷ cp+fsync alone", "SQLite", result["ratio_vs_cp_fsync"], "reported")
    table.add("attachment upload ÷ SHA-256 alone (hashlib)", "SQLite", result["ratio_vs_sha256_alone"], "reported")
    table.add("attachment upload peak RSS growth (MiB)", "SQLite", result["rss_growth_mib"], "< 64")


def _deadline(table: Table, result: dict[str, Any]) -> None:
    checks = all(not r["problems"] for r in result["runs"])
    table.add("deadline day checks (5xx, batches, office feed, /metrics)", "PostgreSQL", None, "all pass", checks)
    # The load generator shares the machine's cores with the server: the ratio is reported, not a target.
    table.add(
        "deadline day req/s, 2 workers ÷ 1 (load on the same cores)", "PostgreSQL", result.get("ratio_rps"), "reported"
    )
    for run in result.get("capacity_runs", []):
        table.add(
            f"deadline day capacity, {run['workers']} worker(s): open-loop req/s with every p99 < 1 s, 0 errors",
            BACKENDS[run["backend"]],
            run["capacity_rps"],
            "reported",
        )


def _cli(table: Table, result: dict[str, Any]) -> None:
    table.add("smps --version ÷ python -c pass (wall time)", "—", result["ratio_version"], "<= 5")
    table.add("smps receipt verify ÷ python -c pass (wall time)", "—", result["ratio_receipt_verify"], "<= 5")


def _isolation(table: Table, result: dict[str, Any]) -> None:
    backend = BACKENDS[result["backend"]]
    for name, figures in result["ops"].items():
        table.add(f"isolation: {name} p99 under the hostile set ÷ idle", backend, figures["ratio"], "<= 3")
    table.add("isolation: server RSS growth under the hostile set (MiB)", backend, result["rss_growth_mib"], "< 512")


def _signatures(table: Table, result: dict[str, Any]) -> None:
    for alg, target in (("SM2-SM3", "<= 3"), ("Ed25519", "reported")):
        for op in ("sign", "verify"):
            ratio = result[alg].get(f"{op}_ratio")
            table.add(f"{alg} {op} per call ÷ openssl speed", "—", ratio, target if ratio is not None else "no openssl")


def _package(table: Table, result: dict[str, Any]) -> None:
    backend = BACKENDS[result["backend"]]
    table.add("package.zip MB/s ÷ blob store read MB/s (second download)", backend, result["ratio"], ">= 0.5")
    table.add("package.zip MB/s ÷ blob store read MB/s (first: SM3, forms)", backend, result["ratio_first"], "reported")
    table.add("bare app on the same files MB/s ÷ blob store read MB/s", backend, result["transport_ratio"], "reported")
    table.add("package.zip MB/s ÷ bare app on the same files MB/s", backend, result["ratio_to_transport"], "reported")
    for download in ("first", "second"):
        growth = result[download]["rss_growth_mib"]
        table.add(f"package.zip server RSS growth (MiB, {download} download)", backend, growth, "< 64")
    table.add("package.zip time to first byte (s)", backend, result["second"]["first_byte_s"], "< 1")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data sets and shorter loads")
    parser.add_argument("--postgres", default=None, help="an admin URL of a PostgreSQL server (scratch databases)")
    args = parser.parse_args()
    quick, pg = args.quick, args.postgres
    seconds = 4 if quick else 8
    table, results = Table(), list[dict[str, Any]]()

    def step(benchmark: str, measure: Callable[[], dict[str, Any]], report: Callable[[dict[str, Any]], None]) -> None:
        try:
            result = measure()
        except Exception as exc:  # one failed benchmark must not hide the others' ratios
            traceback.print_exc()
            table.failed(benchmark, f"{type(exc).__name__}: {exc}")
            return
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
        report(result)

    def read_one_pg() -> dict[str, Any]:
        assert pg is not None
        with scratch_postgres(pg) as url:
            return {**read_path.read_one(seconds, url=url), "backend": "postgresql"}

    step("read one application", lambda: read_path.read_one(seconds), lambda r: _read_one(table, "SQLite", r))
    if pg:
        step("read one application", read_one_pg, lambda r: _read_one(table, "PostgreSQL", r))
    sizes = (5_000, 50_000) if quick else (10_000, 100_000)
    step("list applications", lambda: read_path.list_scaling(seconds, *sizes), lambda r: _lists(table, r))
    if pg:
        step(
            "list applications",
            lambda: read_path.list_scaling(seconds, *sizes, postgres=pg),
            lambda r: _lists(table, r),
        )
    step(
        "bulk import ÷ raw executemany",
        lambda: bulk_import.run(2_000 if quick else 10_000, pg),
        lambda r: _per_backend(table, "bulk import ÷ raw executemany", r, ">= 0.2"),
    )
    step(
        "batch submit 300 ÷ 30 applications",
        lambda: batch_submit.run(pg, repeats=1 if quick else 3),
        lambda r: _per_backend(table, "batch submit 300 ÷ 30 applications (time)", r, "<= 12"),
    )
    step("attachment upload", lambda: attachment_upload.run(repeat=1 if quick else 3), lambda r: _upload(table, r))
    step(
        "change feed",
        lambda: change_feed.run(20_000 if quick else 100_000, pg),
        lambda r: _per_backend(table, "change feed page at the end ÷ at the start (time)", r, "<= 1.2"),
    )
    step(
        "form.pdf",
        lambda: form_pdf.run(seconds),
        lambda r: table.add("form.pdf second request ÷ JSON read", "SQLite", r["ratio"], ">= 0.5"),
    )
    if pg:

        def form_pdf_pg() -> dict[str, Any]:
            assert pg is not None
            with scratch_postgres(pg) as url:
                return form_pdf.run(seconds, url=url)

        step(
            "form.pdf",
            form_pdf_pg,
            lambda r: table.add("form.pdf second request ÷ JSON read", "PostgreSQL", r["ratio"], ">= 0.5"),
        )
    step("command line start", lambda: cli_startup.run(5 if quick else 15), lambda r: _cli(table, r))
    step("signatures", lambda: signatures.run(1.0 if quick else 2.0), lambda r: _signatures(table, r))
    step(
        "package.zip",
        lambda: package.run(60 if quick else 300, 5, 1.0),
        lambda r: _package(table, r),
    )
    step("hostile uploads", hostile.run, lambda r: None)  # refusals and RSS: figures, no ratio
    step("isolation", lambda: isolation.run(15 if quick else 30), lambda r: _isolation(table, r))
    if pg:
        step("isolation", lambda: isolation.run(15 if quick else 30, pg), lambda r: _isolation(table, r))
    if pg:  # deadline day runs on PostgreSQL under `smps serve`, at 1 and at 2 workers
        step("deadline day", lambda: deadline_day.run(pg, 30 if quick else 60), lambda r: _deadline(table, r))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=2)
    )
    print()
    table.print()


if __name__ == "__main__":
    main()
