"""Rendered charts cached by content: a hash of the chart's data and of its layout → the image.

Every chart is a pure function of its spec (a frozen dataclass holding every value it shows),
the output format and resolution, and the drawing code. The key hashes all of them: the spec's
``repr``, the format, matplotlib's version and the source of the modules that draw (so a change
to the layout, a colour or a label never serves an old picture). Drawing a chart costs 30 to
150 ms; a report made again with the same data, or after its page was viewed, draws nothing.

The images live in Django's default cache: in process memory unless the deployment configures
a shared cache, in which case every worker reuses them. A miss only costs the drawing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from django.core.cache import cache as django_cache

T = TypeVar("T")
P = ParamSpec("P")

TIMEOUT_S = 7 * 24 * 3600
"""A week: the same course's report is downloaded again within days; the key changes anyway
when the data or the drawing code does."""

_DRAWING_MODULES = ("charts.py", "clinic_charts.py", "diagrams.py", "style.py", "knee_views.toml")


@cache
def layout_version() -> str:
    """A hash of the drawing code and the installed matplotlib: part of every key."""
    import matplotlib

    digest = hashlib.sha256(matplotlib.__version__.encode())
    here = Path(__file__).parent
    for name in _DRAWING_MODULES:
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def key(kind: str, *parts: object) -> str:
    """The cache key of a chart: ``kind`` (e.g. ``trend.png``) and what it is drawn from."""
    text = repr((layout_version(), kind, parts))
    return f"acuknee:chart:{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


def cached(kind: str, parts: tuple[object, ...], draw: Callable[[], T]) -> T:
    """The image of ``kind`` drawn from ``parts``: from the cache, else drawn and stored."""
    name = key(kind, *parts)
    found: T | None = django_cache.get(name)
    if found is None:
        found = draw()
        django_cache.set(name, found, TIMEOUT_S)
    return found


_IN_MEMORY: list[Any] = []


def in_memory(maxsize: int) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Keep a chart's finished form (its ``<img>`` element, say) in the worker's memory as well,
    by the arguments it is made from (a frozen spec): equal data, the same image. ``clear``
    forgets these too."""

    def decorator(make: Callable[P, T]) -> Callable[P, T]:
        kept = lru_cache(maxsize=maxsize)(make)
        _IN_MEMORY.append(kept)
        return cast(Callable[P, T], kept)

    return decorator


def clear() -> None:
    """Forget every cached image (benchmarks time a report never seen before with it): clears
    Django's default cache and the worker's own, so it is not for a running server."""
    django_cache.clear()
    for kept in _IN_MEMORY:
        kept.cache_clear()
