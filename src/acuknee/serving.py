"""How gunicorn serves the clinic app in production: one definition, used by ``acuknee serve``
and by the benchmarks (``benchmarks/bench_clinic.py``, ``benchmarks/loadtest``), so the figures
in docs/performance.md are those of the server as documented in docs/deployment.md.

Sync workers, about one per core: a page mostly computes in Python, so processes give the
parallelism. Threaded workers (``--threads`` above 1: gunicorn's ``gthread``) were measured no
better on two cores (the threads of a worker share one interpreter lock) and would run
matplotlib and WeasyPrint, which do not promise thread safety, in parallel threads; the option
stays for a server whose requests wait on a remote database. Each worker keeps its database
connection open (``CONN_MAX_AGE``, acuknee.config).
"""

from __future__ import annotations

import gc

WORKERS = 2
"""Worker processes: about one per core (this default suits a 2-core server)."""

THREADS = 1
"""Threads per worker process (1: gunicorn's sync worker)."""

KEEPALIVE_S = 5
"""How long a browser's idle connection is kept open between requests."""


def gunicorn_args(workers: int = WORKERS, threads: int = THREADS) -> list[str]:
    """gunicorn's options for the app (without the bind address or logging)."""
    if workers < 1 or threads < 1:
        raise ValueError(f"workers and threads must be at least 1, got {workers} and {threads}")
    args = ["acuknee.site.wsgi:application", f"--workers={workers}"]
    if threads > 1:
        args += ["--worker-class=gthread", f"--threads={threads}", f"--keep-alive={KEEPALIVE_S}"]
    return args


def settle_worker() -> int:
    """Load the URLconf (every view and form class), then move everything the worker has made
    so far out of the cyclic garbage collector's sight (``gc.freeze``); returns how many objects
    were frozen.

    A worker holds about 190,000 long-lived objects by then (Django, the models, the knowledge
    base, the forms' fields). Every full collection walked all of them: 96 ms on the benchmark
    machine, about once every hundred intake saves (measured), on whichever request happened to
    trigger it. Frozen objects are never walked again; they are never freed either, which they
    would not be anyway while the worker lives. The worker calls this once, at start
    (``acuknee.site.wsgi``), after gunicorn forked it."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module now
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
