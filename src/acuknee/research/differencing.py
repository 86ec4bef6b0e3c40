"""Suppression that holds across filters and within a row: no published count may differ from
another published count it could be subtracted from by 1 to ``SMALL_CELL - 1``.

A small cell hidden as "<5" can be recovered by subtraction:

- *across filters*: the whole network's count minus the count of the same report filtered to
  one clinic is the count of every other clinic; when that is 2, a suppressed cell of 2 courses
  (and, from the means, its patients' pain change) is out;
- *within a row*: ``n - completed`` is the number who dropped out, ``evaluable - responders``
  the non-responders, ``<domain>_n - <domain>_mic`` those who missed the minimal important
  change.

The rule (``guard``): a count published exactly (not "<5") is hidden as "suppressed", with
every rate, mean and interval built on it, when

1. the same column of any row of a *broader* report (the same request with any non-empty subset
   of its filters dropped, and with a clinic filter widened to the clinic's region) exceeds it
   by 1 to ``SMALL_CELL - 1``. Any row, not only the same breakdown level: a filtered row's
   population may sit inside a broader row of another breakdown (clinic 3 inside its region),
   and the rule does not try to tell which do. It over-suppresses a little, and never misses
   a pair it compares;
2. within its row, a larger count it is a part of (``WITHIN_ROW``) exceeds it by 1 to
   ``SMALL_CELL - 1``.

The same holds for adverse-event counts against the broader reports. Limits (docs/research.md):
only pairs of a request and its broader requests are compared. Two date windows that overlap
(``start_to`` one day apart) are not each other's broader request, so a researcher comparing
them can still learn the courses started in between; sums of three or more reports (linear
combinations) are not checked either. These aggregates are for researchers under a data-use
agreement, which forbids re-identification attempts, not for open publication.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable
from typing import Any

SMALL_CELL = 5

OUTCOME_COUNTS: tuple[str, ...] = (
    "n",
    "evaluable",
    "responders",
    "dropped_out",
    "completed",
    "sessions_planned",
    "sessions_attended",
    "adverse_events",
)
"""Counts of every outcome row (the domain counts ``<domain>_n``, ``_mic`` are added)."""

WITHIN_ROW: tuple[tuple[str, str], ...] = (
    ("n", "completed"),
    ("n", "dropped_out"),
    ("n", "evaluable"),
    ("evaluable", "responders"),
)
"""(whole, part): the part is hidden when the whole exceeds it by a small count."""

MAX_FILTERS = 4
"""Each request is compared with every subset of its filters dropped: 2^k - 1 broader reports."""

HIDDEN = "_hidden"
"""Key under which ``guard`` lists a row's counts to hide."""


class TooManyFilters(ValueError):
    """More filters than the differencing check compares (``MAX_FILTERS``)."""


def domain_counts(domains: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{d}_{kind}" for d in domains for kind in ("n", "mic"))


def within_row_pairs(domains: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = list(WITHIN_ROW)
    for d in domains:
        pairs += [("n", f"{d}_n"), (f"{d}_n", f"{d}_mic")]
    return tuple(pairs)


def exact(value: Any) -> bool:
    """A count published as its number (0, or SMALL_CELL and over)."""
    return isinstance(value, int) and not 0 < value < SMALL_CELL


def close_below(value: int, others: list[int]) -> bool:
    """Some ``other`` exceeds ``value`` by 1 to SMALL_CELL - 1 (``others`` sorted)."""
    import bisect

    start = bisect.bisect_right(others, value)
    return start < len(others) and others[start] - value < SMALL_CELL


def broader_filters(filters: Any, region_of: Callable[[int], str | None]) -> list[Any]:
    """Every broader request: each non-empty subset of the active filters dropped, and a clinic
    filter replaced by its clinic's region."""
    active = [
        f.name for f in dataclasses.fields(filters) if getattr(filters, f.name) not in (None, "")
    ]
    if len(active) > MAX_FILTERS:
        raise TooManyFilters(
            f"filters: at most {MAX_FILTERS} at a time (asked for {len(active)}: "
            f"{', '.join(active)})"
        )
    found = []
    for size in range(1, len(active) + 1):
        for dropped in itertools.combinations(active, size):
            found.append(dataclasses.replace(filters, **dict.fromkeys(dropped)))
    if filters.clinic is not None:
        region = region_of(int(filters.clinic))
        if region and filters.region in (None, "", region):
            found.append(dataclasses.replace(filters, clinic=None, region=region))
    return found


def published_values(
    rows: Iterable[dict[str, Any]], columns: Iterable[str]
) -> dict[str, list[int]]:
    """Per column, the sorted counts the broader reports would publish exactly."""
    values: dict[str, set[int]] = {c: set() for c in columns}
    for row in rows:
        for column in values:
            value = row.get(column)
            if value is not None and exact(int(value)):
                values[column].add(int(value))
    return {c: sorted(v) for c, v in values.items()}


def guard(
    rows: list[dict[str, Any]],
    broader: dict[str, list[int]],
    pairs: Iterable[tuple[str, str]],
) -> list[dict[str, Any]]:
    """``rows`` with ``HIDDEN`` set to the counts rules 1 and 2 hide."""
    pairs = tuple(pairs)
    guarded = []
    for row in rows:
        hidden: set[str] = set()
        for column, others in broader.items():
            value = row.get(column)
            if value is not None and exact(int(value)) and close_below(int(value), others):
                hidden.add(column)
        for whole, part in pairs:
            big, small = row.get(whole), row.get(part)
            if big is None or small is None or not (exact(int(big)) and exact(int(small))):
                continue
            if 0 < int(big) - int(small) < SMALL_CELL:
                hidden.add(part)
        guarded.append({**row, HIDDEN: frozenset(hidden)})
    return guarded
