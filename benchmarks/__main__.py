"""``python -m benchmarks``: run every ``bench_*`` module and print one table.

Options: ``--quick`` for a short run, ``--json FILE`` to write the results, ``--repeat``,
``--number``, ``--warmup``, ``--synthetic``, ``--clients`` to size the run by hand (the tests use
a tiny run), and ``--skip TOPIC`` to leave out ``bench_TOPIC`` (e.g. ``--skip clinic``, the
served app).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks.harness import QUICK, Result, Settings, table


def modules(skip: Sequence[str] = ()) -> list[str]:
    """Every benchmark module, so a new ``bench_*.py`` file is run without registering it;
    ``skip`` names topics to leave out (``clinic`` for ``bench_clinic``)."""
    found = pkgutil.iter_modules(benchmarks.__path__)
    left_out = {f"bench_{topic}" for topic in skip}
    return sorted(
        f"benchmarks.{m.name}"
        for m in found
        if m.name.startswith("bench_") and m.name not in left_out
    )


def run_all(settings: Settings, skip: Sequence[str] = ()) -> list[Result]:
    results: list[Result] = []
    for name in modules(skip):
        results.extend(importlib.import_module(name).run(settings))
    return results


def report(results: list[Result], settings: Settings, started: dt.datetime) -> dict[str, Any]:
    return {
        "date": started.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "settings": dataclasses.asdict(settings),
        "results": [r.as_dict() for r in results],
    }


def _settings(args: argparse.Namespace) -> Settings:
    settings = QUICK if args.quick else Settings()
    changes = {
        k: v
        for k in ("repeat", "number", "warmup", "synthetic", "clients")
        if (v := getattr(args, k)) is not None
    }
    return dataclasses.replace(settings, **changes)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _clients(text: str) -> tuple[int, ...]:
    """``1,10,50``: the concurrent clients of the served benchmarks, each at least 1."""
    try:
        return tuple(_positive(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from exc


def _print(results: list[Result], settings: Settings, started: dt.datetime) -> None:
    """The table, what each floor is, the notes, and when and where the run was made."""
    print(table(results))
    print()
    floors: dict[str, list[str]] = {}
    for r in results:
        floors.setdefault(r.floor_name, []).append(r.name)
    print("Floors, measured in the same run:")
    for floor, names in floors.items():
        print(textwrap.fill(f"{floor}: {', '.join(names)}", 100, subsequent_indent="    "))
    print("Notes:")
    for r in results:
        if r.note:
            print(f"{r.name}: {r.note}")
    print(
        f"\n{started:%Y-%m-%d %H:%M %z}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {settings.repeat} samples per side"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer, shorter samples)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    parser.add_argument("--repeat", type=_positive, help="samples of each job and floor")
    parser.add_argument("--number", type=_positive, help="calls per sample (default: calibrated)")
    parser.add_argument(
        "--warmup", type=_not_negative, help="untimed calls of each job and floor before sampling"
    )
    parser.add_argument("--synthetic", type=_positive, help="intakes in the synthetic batch")
    parser.add_argument(
        "--clients", type=_clients, metavar="N,N,...", help="concurrent clients (e.g. 1,10,50)"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="TOPIC",
        help="leave out benchmarks/bench_TOPIC.py (repeatable); e.g. clinic",
    )
    args = parser.parse_args(argv)
    unknown = {f"benchmarks.bench_{t}" for t in args.skip} - set(modules())
    if unknown:
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    settings = _settings(args)

    started = dt.datetime.now(dt.UTC).astimezone()
    results = run_all(settings, args.skip)
    if args.json is not None:  # first, so the figures survive a closed stdout
        args.json.write_text(json.dumps(report(results, settings, started), indent=1) + "\n")
    _print(results, settings, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
