"""Rendered charts cached by content: a hash of the chart's data and of its layout → the image.

Every chart is a pure function of its spec (a frozen dataclass holding every value it shows),
the output format and resolution, and the drawing code. The key hashes all of them: the spec's
``repr``, the format, matplotlib's version and the source of the modules that draw (so a change
to the layout, a colour or a label never serves an old picture). Drawing a chart costs 30 to
150 ms; a report made again with the same data, or after its page was viewed, draws nothing.

The images live in Django's default cache: in process memory unless the deployment configures
a shared cache, in which case every worker reuses them. A miss only costs the drawing, and a
page does not pay it: it links a chart not yet drawn by its digest (``remember``), and the
request for that image draws it (issue 15: a page drew its 16 charts first, 0.2-0.3 s).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from django.core.cache import cache as django_cache

from acuknee.kept import Kept

T = TypeVar("T")

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


def digest(kind: str, *parts: object) -> str:
    """A chart's name by content (64 hex digits): ``kind`` (e.g. ``trend.png``), what it is
    drawn from and the drawing code; a page's address for a chart not yet drawn uses it."""
    text = repr((layout_version(), kind, parts))
    return hashlib.sha256(text.encode()).hexdigest()


def key(kind: str, *parts: object) -> str:
    """The cache key of a chart: ``kind`` (e.g. ``trend.png``) and what it is drawn from."""
    return _named(kind, digest(kind, *parts))


def _named(kind: str, name: str) -> str:
    return f"acuknee:chart:{kind}:{name}"


def cached(kind: str, parts: tuple[object, ...], draw: Callable[[], T]) -> T:
    """The image of ``kind`` drawn from ``parts``: from the cache, else drawn and stored."""
    name = key(kind, *parts)
    found: T | None = django_cache.get(name)
    if found is None:
        found = draw()
        django_cache.set(name, found, TIMEOUT_S)
    return found


def drawn(kind: str, name: str) -> Any | None:
    """The image of ``kind`` named ``name`` (its ``digest``) if it is in the cache, else None
    (never draws: a page links a chart not drawn yet instead of drawing it while the clinician
    waits)."""
    return django_cache.get(_named(kind, name))


def remember(kind: str, name: str, parts: tuple[object, ...], owner: int) -> None:
    """Keep what the linked chart ``name`` (its ``digest``) is drawn from, for the request that
    fetches it; ``owner`` (a patient's key) is kept with it, so only that patient's address
    serves it. Kept by this worker, as it is (a page links up to 16 charts: pickling each spec
    into the cache cost about a quarter of linking it, issue 15); another worker without it
    works it out again from the records."""
    _PARTS.put((kind, name), (owner, parts))


def remembered(kind: str, name: str, owner: int) -> tuple[object, ...] | None:
    """What the chart ``name`` of ``kind`` is drawn from, kept by ``remember`` for ``owner``;
    None when this worker has not kept it or kept it for another owner."""
    found = _PARTS.get((kind, name))
    if found is None or found[0] != owner:
        return None
    return found[1]


def kept(most: int) -> Kept[Any, Any]:
    """A worker's own store of chart forms or of what a linked chart is drawn from (``Kept``:
    the least recently used forgotten first); ``clear`` forgets it too. It keeps only what it
    is given, so a caller keeps a chart's inline form and not its link."""
    store: Kept[Any, Any] = Kept(most)
    _IN_MEMORY.append(store)
    return store


_IN_MEMORY: list[Kept[Any, Any]] = []


_PARTS: Kept[tuple[str, str], tuple[int, tuple[object, ...]]] = kept(4096)
"""What each chart a page linked is drawn from, with its owner (``remember``)."""


def clear() -> None:
    """Forget every cached image (benchmarks time a report never seen before with it): clears
    Django's default cache and the worker's own, so it is not for a running server."""
    django_cache.clear()
    for store in _IN_MEMORY:
        store.clear()
