"""A costly module fixture computed once per test run, not once per xdist worker.

pytest-xdist runs a module-scoped fixture in every worker that gets one of the module's tests;
for the benchmark tiny runs that doubled a minute of the suite. Following pytest-xdist's own
recipe ("making session-scoped fixtures execute only once"), the first worker computes the value
under a file lock and writes it as JSON beside the workers' temporary folders; the others read
it. The file is named by ``PYTEST_XDIST_TESTRUNUID``, so a later run never reads an old value;
without xdist the value is simply computed.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from typing import Any

import pytest


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[], Any]
) -> Any:
    """``build()`` (a JSON value), computed by one worker of this run and shared with the rest."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return build()
    shared = tmp_path_factory.getbasetemp().parent  # the folder every worker's basetemp is in
    target = shared / f"{name}-{run}.json"
    with (shared / f"{name}-{run}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return json.loads(target.read_text())
        value = build()
        target.write_text(json.dumps(value))
        return value
