"""The production server's options (``acuknee.serving``): what ``acuknee serve`` and the
benchmarks run, as docs/deployment.md documents them."""

from __future__ import annotations

from pathlib import Path

import pytest

from acuknee import serving

ROOT = Path(__file__).resolve().parents[1]


def test_the_default_is_two_sync_workers() -> None:
    assert serving.gunicorn_args() == ["acuknee.site.wsgi:application", "--workers=2"]


def test_threads_select_the_threaded_worker_with_keep_alive() -> None:
    args = serving.gunicorn_args(3, 4)
    assert "--workers=3" in args
    assert "--worker-class=gthread" in args
    assert "--threads=4" in args
    assert any(a.startswith("--keep-alive=") for a in args)


@pytest.mark.parametrize(("workers", "threads"), [(0, 1), (2, 0)])
def test_fewer_than_one_worker_or_thread_is_refused(workers: int, threads: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        serving.gunicorn_args(workers, threads)


def test_the_deployment_guide_states_the_defaults() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    assert f"{serving.WORKERS} sync workers" in guide
    assert f"| threads (`--threads`) | {serving.THREADS} |" in guide
