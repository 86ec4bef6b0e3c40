"""A small declarative condition language for rules kept in the knowledge base.

Rules in ``knowledge/*.toml`` say *when* they apply with a condition instead of Python ``if``
chains, so a clinician can review them as data. A condition is one of:

- ``{ field = "red_flags.fever", is = true }``: equality with a boolean, string or number;
- ``{ field = "age", ge = 55 }`` (also ``gt``, ``le``, ``lt``): numeric comparison, false when the
  value is missing;
- ``{ field = "health.knee_prosthesis", present = true }``: value is not null and not empty;
- ``{ field = "examination.pain_location", contains = "anterior" }``: list membership;
- ``{ all = [ ... ] }``, ``{ any = [ ... ] }``, ``{ not = { ... } }``;
- ``{ at_least = 3, of = [ ... ] }``: at least n of the listed conditions hold;
- ``{ score = [ { points = 1, when = { ... } }, ... ], ge = 2 }``: the points of the items whose
  condition holds are summed and compared (``ge``, ``gt``, ``le``, ``lt``); an item whose finding
  was not recorded scores nothing (so a score of recorded items is a lower bound when every
  unrecorded item would add points). Used for published point scores such as the Wells score.

``field`` is a dotted path into the intake. Unknown paths are caught when the knowledge base is
loaded (``check_paths``), never at a consultation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

_LEAF_OPS = ("is", "ge", "gt", "le", "lt", "present", "contains")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str | None = None
    is_: bool | str | int | float | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    present: bool | None = None
    contains: str | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = None
    at_least: int | None = None
    of: list[Condition] | None = None
    score: list[ScoreItem] | None = None

    @model_validator(mode="before")
    @classmethod
    def _rename_keywords(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "is" in data:
                data["is_"] = data.pop("is")
            if "not" in data:
                data["not_"] = data.pop("not")
        return data

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        ops = [
            name
            for name in ("is_", "ge", "gt", "le", "lt", "present", "contains")
            if getattr(self, name) is not None
        ]
        groups = [name for name in ("all", "any", "not_") if getattr(self, name) is not None]
        counted = self.at_least is not None or self.of is not None
        if self.score is not None:
            compared = [
                name for name in ("ge", "gt", "le", "lt") if getattr(self, name) is not None
            ]
            if self.field is not None or groups or counted or ops != compared or len(ops) != 1:
                raise ValueError("'score' needs exactly one of 'ge', 'gt', 'le', 'lt' and no more")
            return self
        if self.field is not None:
            if len(ops) != 1 or groups or counted:
                raise ValueError(
                    f"a leaf condition on {self.field!r} needs exactly one of {_LEAF_OPS}"
                )
        elif counted:
            if self.at_least is None or self.of is None or ops or groups:
                raise ValueError("'at_least' needs 'of' and nothing else")
            if not 1 <= self.at_least <= len(self.of):
                raise ValueError(
                    "'at_least' must be between 1 and the number of conditions in 'of'"
                )
        elif len(groups) != 1 or ops:
            raise ValueError("a condition needs 'field', or exactly one of 'all', 'any', 'not'")
        return self

    def holds(self, subject: Any) -> bool:
        """Evaluate against an intake (or any object with the named attributes)."""
        if self.field is not None:
            return self._leaf(resolve(subject, self.field))
        if self.all is not None:
            return all(c.holds(subject) for c in self.all)
        if self.any is not None:
            return any(c.holds(subject) for c in self.any)
        if self.not_ is not None:
            return not self.not_.holds(subject)
        if self.score is not None:
            return self._compare(self.total(subject))
        assert self.of is not None
        assert self.at_least is not None
        return sum(c.holds(subject) for c in self.of) >= self.at_least

    def _leaf(self, value: Any) -> bool:
        if self.is_ is not None:
            return bool(value == self.is_) if value is not None else False
        if self.present is not None:
            filled = value is not None and value != [] and value != ""
            return filled is self.present
        if self.contains is not None:
            return isinstance(value, list | tuple | set | frozenset) and self.contains in value
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return self._compare(value)

    def total(self, subject: Any) -> float:
        """The points of a ``score`` condition's items that hold for ``subject``."""
        return sum(item.points for item in self.score or () if item.when.holds(subject))

    def _compare(self, value: float) -> bool:
        if self.ge is not None:
            return value >= self.ge
        if self.gt is not None:
            return value > self.gt
        if self.le is not None:
            return value <= self.le
        assert self.lt is not None
        return value < self.lt

    def fields(self) -> Iterator[str]:
        """Every field path this condition reads (for load-time checks)."""
        if self.field is not None:
            yield self.field
        for group in (self.all, self.any, self.of):
            for c in group or ():
                yield from c.fields()
        for item in self.score or ():
            yield from item.when.fields()
        if self.not_ is not None:
            yield from self.not_.fields()

    def met_fields(self, subject: Any) -> list[str]:
        """The leaf fields that hold for ``subject``: the findings that made a rule fire."""
        return list(dict.fromkeys(self._met(subject)))

    def _met(self, subject: Any) -> Iterator[str]:
        if self.field is not None:
            if self.holds(subject):
                yield self.field
            return
        for group in (self.all, self.any, self.of):
            for c in group or ():
                yield from c._met(subject)
        if self.score is not None and self.holds(subject):
            for item in self.score:
                if item.points > 0:
                    yield from item.when._met(subject)


class ScoreItem(BaseModel):
    """One item of a point score: ``points`` count when ``when`` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    points: float
    when: Condition


Condition.model_rebuild()


def resolve(subject: Any, path: str) -> Any:
    """Follow a dotted path through attributes; a missing link gives None."""
    value = subject
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part, None)
    if hasattr(value, "value") and not isinstance(value, int | float | str | bool):
        return value.value  # enums compare by their value in rule data
    return value
