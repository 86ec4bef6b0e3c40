"""The production server's options (``acuknee.serving``): what ``acuknee serve`` and the
benchmarks run, as docs/deployment.md documents them."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_a_worker_freezes_what_it_loaded_before_its_first_request(tmp_path: Path) -> None:
    """Importing the WSGI entry point (as each gunicorn worker does) loads every view, then
    freezes the garbage collector's view of it: a full collection then walks nothing."""
    script = (
        "import gc, sys\n"
        "import acuknee.site.wsgi\n"
        "left = len(gc.get_objects())\n"
        "print(gc.get_freeze_count(), left, 'acuknee.pages.views.intake' in sys.modules)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ACUKNEE_")},
        "ACUKNEE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "acuknee.site.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    frozen, left, views = done.stdout.split()
    assert views == "True"
    assert int(frozen) > 50_000
    assert int(left) < int(frozen) // 100
