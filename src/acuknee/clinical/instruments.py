"""Scoring of every instrument in ``knowledge/instruments.toml``: validation of answers,
missing-item rules and subscale formulas. (Implementation in progress.)"""

from __future__ import annotations

from acuknee.clinical.base import CoreModel


class SubscaleScore(CoreModel):
    """One subscale's score; ``value`` is None when too few items were answered."""

    id: str
    value: float | None
    answered: int
    required: int
    note: str | None = None


class Scores(CoreModel):
    """The result of ``score``: every subscale of one instrument, keyed by subscale id."""

    instrument: str
    subscales: dict[str, SubscaleScore]

    def value(self, subscale: str) -> float | None:
        return self.subscales[subscale].value
