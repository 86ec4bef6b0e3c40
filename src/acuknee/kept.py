"""A worker's bounded store of values worked out from their key: one kind of store for every
in-process memo (rows and groups printed, measurement fields built, intakes screened, charts
linked and shown), so each is bounded and forgets in the same way.

Each key says everything its value is made from (what a row prints, an intake's stored data,
a chart's spec), so a kept value is never stale: a change makes another key. The bound only
limits memory (forms made by tests, patients' own answers, a long-running worker's charts):
past ``most`` entries the least recently used goes first.

It imports nothing of acuknee, so every layer may keep its own (issue 15).
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
W = TypeVar("W")


class Kept(Generic[K, V]):
    """At most ``most`` values by key, the least recently used forgotten first.

    Every look-up and change holds the store's lock: a threaded worker (gunicorn's
    ``gthread``) shares the store, and a key's own ``__eq__`` (a frozen dataclass's) can let
    another thread in halfway through an ``OrderedDict`` method. The lock costs about 0.15 µs
    a look-up (20 µs on the session form, which looks up 111 rows)."""

    def __init__(self, most: int) -> None:
        if most < 1:
            raise ValueError(f"a store keeps at least one value, not {most}")
        self.most = most
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value kept for ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key``, forgetting the least recently used past the bound."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.most:
                self._items.popitem(last=False)
        return value

    def made(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, else ``make()``, kept."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def made_with(
        self: Kept[K, tuple[object, W]], held: object, key: K, make: Callable[[], W]
    ) -> W:
        """``made`` for a value worked out with ``held`` (the rules a process loaded), kept
        with it and compared by identity: a value kept with other rules is made again and
        replaces it. Holding ``held`` keeps its id from being reused while the value is kept."""
        found = self.get(key)
        if found is not None and found[0] is held:
            return found[1]
        return self.put(key, (held, make()))[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


_EXACT = (type(None), bool, int, str, dt.date)
"""Values whose equality is what they print: of one exact type, equal values print the same
(``True == 1`` and a date and a time are kept apart by the type beside each)."""


def content_key(value: Any) -> Hashable:
    """A key for plain data (dicts, lists and tuples of numbers, words, dates and enums), equal
    only for data that prints the same: each value stands with its exact type, a float by its
    ``repr`` (``0.0 == -0.0``, printed apart), a Decimal by its digits (``1.0`` and ``1``) and
    a time by its zone as well as its instant.
    Anything else (an object, a lazy text) raises TypeError: the caller makes its value afresh
    rather than trust an equality that may not say what prints."""
    kind = type(value)
    if kind in _EXACT:
        return (kind, value)
    if kind is float or kind is Decimal:
        return (kind, repr(value))
    if kind is dt.datetime or kind is dt.time:  # equal instants in two zones print apart
        return (kind, value.isoformat(), value.tzinfo, value.fold)
    if kind is dict:
        return (dict, tuple((content_key(k), content_key(v)) for k, v in value.items()))
    if kind is list or kind is tuple:
        return (kind, tuple(content_key(v) for v in value))
    if isinstance(value, enum.Enum) and type(value.value) in _EXACT:
        return (kind, value.value)
    raise TypeError(f"not plain data: {kind.__name__}")
