"""acuknee's benchmarks: each job is timed beside a floor measured in the same run.

A floor is the cheapest honest way to do part of the job (parsing the input, a plain mean), so
the ratio to it stays meaningful on any machine, where an absolute time would not. Speed is
proven here, never by timed assertions in tests. Run with ``make bench`` or
``python -m benchmarks [--quick] [--json FILE]``; every ``bench_*.py`` module is run.
"""
