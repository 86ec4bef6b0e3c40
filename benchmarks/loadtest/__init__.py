"""Load and soak test of the served app (issue 7, item 8): ``python -m benchmarks.loadtest``.

Not a ``bench_*`` module on purpose: ``make bench`` leaves it out (a soak takes minutes, and the
10-minute figures are recorded by hand in docs/reliability.md). See ``runner.py``.
"""
