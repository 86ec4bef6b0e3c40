"""``python -m benchmarks.loadtest --users 50 --minutes 10 [--think 1] [--workers 2] [--threads 4]
[--json FILE]`` (the server's defaults are production's, ``acuknee.serving``).

Prints the figures as Markdown; exits 1 when any request failed (the figures are then void),
2 when the served app could not be set up.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from benchmarks.bench_clinic import THREADS, WORKERS, BenchmarkError
from benchmarks.loadtest.runner import Options, markdown, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadtest", description=__doc__)
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--minutes", type=float, default=10.0, help="run time (default 10)")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean think time in seconds (0.5x to 1.5x)"
    )
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per worker")
    parser.add_argument(
        "--warmup", type=float, default=0.0, help="seconds left out of the figures at the start"
    )
    parser.add_argument("--json", type=Path, help="also write every figure and sample here")
    args = parser.parse_args(argv)
    if args.users < 1 or args.minutes <= 0 or args.think < 0 or args.spawn_rate <= 0:
        parser.error("--users, --minutes and --spawn-rate must be positive, --think not negative")
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    options = Options(
        args.users, args.minutes, args.think, args.spawn_rate, args.workers, args.threads
    )
    options.warmup_s = max(0.0, args.warmup)
    try:
        report = run(options)
    except BenchmarkError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1))
    if report.errors:
        print(
            f"\n{len(report.errors)} requests failed:", *sorted(set(report.errors))[:10], sep="\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
