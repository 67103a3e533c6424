"""`make bench`: run the benchmarks, print each target ratio with its raw figures, keep them as JSON.

python -m bench [--quick] [--postgres ADMIN_URL]
"""

import argparse
import json
import time
from pathlib import Path

from bench import attachment_upload, bulk_import, read_path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data sets and shorter loads")
    parser.add_argument("--postgres", default=None, help="an admin URL of a PostgreSQL server for the bulk import")
    args = parser.parse_args()
    seconds = 4 if args.quick else 8
    results = [
        read_path.read_one(seconds),
        read_path.list_scaling(seconds, *((5_000, 50_000) if args.quick else (10_000, 100_000))),
        bulk_import.run(2_000 if args.quick else 10_000, args.postgres),
        __import__("bench.batch_submit", fromlist=["run"]).run(args.postgres, repeats=1 if args.quick else 3),
        attachment_upload.run(repeat=1 if args.quick else 3),
        __import__("bench.change_feed", fromlist=["run"]).run(20_000 if args.quick else 100_000, args.postgres),
        __import__("bench.form_pdf", fromlist=["run"]).run(seconds),
        __import__("bench.hostile", fromlist=["run"]).run(),
    ]
    if args.postgres:  # deadline day runs on PostgreSQL under `smps serve`, at 1 and at 2 workers
        results.append(__import__("bench.deadline_day", fromlist=["run"]).run(args.postgres, 30 if args.quick else 60))
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=2)
    )


if __name__ == "__main__":
    main()
