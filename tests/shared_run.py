"""A costly module fixture computed once per test run, not once per xdist worker.

pytest-xdist runs a module-scoped fixture in every worker that gets one of the module's tests;
for the benchmark tiny runs that doubled a minute of the suite. Following pytest-xdist's own
recipe ("making session-scoped fixtures execute only once"), the first worker computes the value
under a file lock and writes it as JSON beside the workers' temporary folders; the others read
it. The file is named by ``PYTEST_XDIST_TESTRUNUID``, so a later run never reads an old value;
without xdist the value is simply computed.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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


# --- a command started once per run, in the background, as soon as the run begins ---------------

_REPO = Path(__file__).resolve().parents[1]
_STARTED: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class Background:
    """A command (``python ARGS...`` in the repository) whose output some test module reads.

    Waiting for a once-per-run value leaves a core idle: the xdist workers reach a module at the
    same time, so one computes while the other waits on the lock. A ``Background`` command starts
    instead when the run's first test starts (``start_wanted``, an autouse fixture in
    tests/conftest.py), in one worker, as a separate process, and runs beside the tests; the
    module's fixture (``output``) usually finds it finished. ``{out}`` in ``args`` is replaced by
    a path for a file the command writes.
    """

    name: str
    module: str
    """The test file that reads it (relative to the repository); started only if it is run."""
    args: tuple[str, ...]


BACKGROUND: dict[str, Background] = {}


def background(name: str, module: str, *args: str) -> Background:
    """Declare a background command (at import of the test module that reads it)."""
    job = Background(name, module, args)
    BACKGROUND[name] = job
    return job


def _prefix(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    return tmp_path_factory.getbasetemp().parent / f"{name}-{run}"


def _start(tmp_path_factory: pytest.TempPathFactory, job: Background) -> None:
    prefix = _prefix(tmp_path_factory, job.name)
    with Path(f"{prefix}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if Path(f"{prefix}.started").exists():
            return
        args = [a.replace("{out}", f"{prefix}.file") for a in job.args]
        # The shell writes the exit code last (renamed into place), so a reader never sees half.
        script = '"$@" >"$0.stdout" 2>"$0.stderr"; echo $? >"$0.rc.tmp"; mv "$0.rc.tmp" "$0.rc"'
        _STARTED.append(
            subprocess.Popen(["sh", "-c", script, str(prefix), sys.executable, *args], cwd=_REPO)
        )
        Path(f"{prefix}.started").touch()


def _stop_unfinished() -> None:
    """A run stopped early (``-x``, Ctrl-C) does not leave a background command running."""
    for process in _STARTED:
        if process.poll() is None:
            process.terminate()


atexit.register(_stop_unfinished)


def start_wanted(tmp_path_factory: pytest.TempPathFactory, items: list[pytest.Item]) -> None:
    """Start every declared command whose test module is among ``items``."""
    paths = {str(item.path.relative_to(_REPO)) for item in items if item.path.is_relative_to(_REPO)}
    for job in BACKGROUND.values():
        if job.module in paths:
            _start(tmp_path_factory, job)


def output(
    tmp_path_factory: pytest.TempPathFactory, job: Background, timeout: float = 900
) -> tuple[str, Path]:
    """The command's standard output and its ``{out}`` file, once it has finished (it is
    started here if it was not); a failed command fails the caller with its standard error."""
    _start(tmp_path_factory, job)
    prefix = _prefix(tmp_path_factory, job.name)
    done = Path(f"{prefix}.rc")
    deadline = time.monotonic() + timeout
    while not done.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{job.name}: not finished after {timeout:.0f} s")
        time.sleep(0.2)
    for process in _STARTED:
        if process.args[3] == str(prefix):  # started by this worker: reap it
            process.wait()
    code = int(done.read_text())
    stdout = Path(f"{prefix}.stdout").read_text()
    stderr = Path(f"{prefix}.stderr").read_text()
    assert code == 0, f"{job.name} exited with {code}:\n{stderr[-4000:]}"
    return stdout, Path(f"{prefix}.file")
