"""Plan forms: the start date of a proposal, and the practitioner's edit of a proposed plan.

The edit form changes points, method and dose. It asks the core's ``Screening`` whether an added
point or a new method is blocked (``point_blocks``, ``method_blocks``); a blocked addition needs
an explicit override with a reason, and the error names the rule and its sources otherwise. A
block no override lifts (pregnancy: ``session_check.override_refusals`` and
``method_override_refusals``) is refused whether or not the override is ticked, so it can never
reach a signed plan. The edited content is
re-validated as a core ``Plan`` and its schedule rebuilt with the core's ``build_schedule``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from pydantic import ValidationError

from acuknee.clinical import KnowledgeBase, Plan, Screening, load_knowledge
from acuknee.clinical.knowledge import Protocol
from acuknee.clinical.planning import PlannedPoint, build_schedule, planned_point
from acuknee.clinical.session_check import (
    cited,
    method_override_refusals,
    override_refusals,
)
from acuknee.clinical.vocabulary import Method, Side
from acuknee.forms.base import Form
from acuknee.forms.widgets import IsoDateInput
from acuknee.forms.words import in_words

ADD_ROWS = 3
"""How many "add a point" rows the edit form offers at once."""


def next_weekday(today: dt.date) -> dt.date:
    """The first Monday-to-Friday day after ``today`` (the default first session)."""
    day = today + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


class PlanStartForm(Form):
    start = forms.DateField(
        label="Date of the first session",
        widget=IsoDateInput(),
    )


class VersionForm(Form):
    """A POST that acts on a record the user saw at ``version`` (sign)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class VoidForm(Form):
    """Void the plan the user saw at ``version`` (a later change refuses it: stale edit)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Reason for voiding", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


def _protocol_bounds(name: str) -> dict[str, int]:
    """Dose bounds the knowledge base itself accepts for a protocol (``Protocol`` fields)."""
    out: dict[str, int] = {}
    for m in Protocol.model_fields[name].metadata:
        ge: Any = getattr(m, "ge", None)
        gt: Any = getattr(m, "gt", None)
        le: Any = getattr(m, "le", None)
        if ge is not None:
            out["min_value"] = int(ge)
        if gt is not None:
            out["min_value"] = int(gt) + 1
        if le is not None:
            out["max_value"] = int(le)
    return out


def point_key(code: str, side: Side | str) -> str:
    return f"{code}:{Side(side).value}"


@dataclass
class Blocked:
    """An addition a screening rule blocks: which form field asked for it, and why."""

    field: str
    kind: str  # "point" or "method"
    target: str
    side: str | None
    rule: str
    reason: str
    sources: str = ""  # the rule's sources as citations, for the practitioner

    @property
    def what(self) -> str:
        return f"{self.kind} {self.target}" + (f" ({self.side})" if self.side else "")


class PlanEditForm(Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    start = forms.DateField(
        label="Date of the first session",
        widget=IsoDateInput(),
    )
    keep = forms.MultipleChoiceField(
        label="Points to keep (untick to remove)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    method = forms.ChoiceField(
        label="Method", choices=[(m.value, m.value.capitalize()) for m in Method]
    )
    sessions_per_week = forms.IntegerField(
        label="Sessions per week", **_protocol_bounds("sessions_per_week")
    )
    number_of_sessions = forms.IntegerField(
        label="Number of sessions", **_protocol_bounds("number_of_sessions")
    )
    retention_minutes = forms.IntegerField(
        label="Needle retention (minutes)", **_protocol_bounds("retention_minutes")
    )
    override = forms.BooleanField(
        label="Override: add the blocked point(s) or method anyway, on my responsibility",
        required=False,
    )
    override_reason = forms.CharField(
        label="Reason for the override",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        content: Plan,
        screening: Screening,
        kb: KnowledgeBase | None = None,
        side: Side | None = None,
        **kwargs: Any,
    ) -> None:
        """``side``: the affected knee (the intake's), where an added point goes by default."""
        super().__init__(*args, **kwargs)
        self.content = content
        self.screening = screening
        self.kb = kb or load_knowledge()
        self.new_content: Plan | None = None
        self.blocked: list[Blocked] = []
        self.fields["keep"].choices = [
            (point_key(p.code, p.side), self._point_label(p.code, p.side)) for p in content.points
        ]
        point_choices = [("", "None")] + [
            (p.code, f"{p.code} {p.pinyin} ({p.english})") for p in self.kb.points.values()
        ]
        side_choices = [(s.value, s.value.capitalize()) for s in Side]
        self.add_rows: list[tuple[str, str]] = []
        for i in range(ADD_ROWS):
            code, side_name = f"add_code_{i}", f"add_side_{i}"
            self.fields[code] = forms.ChoiceField(
                label=f"Add point {i + 1}", required=False, choices=point_choices
            )
            self.fields[side_name] = forms.ChoiceField(
                label=f"Side of added point {i + 1}",
                required=False,
                choices=side_choices,
                initial=side.value if side is not None else None,
            )
            self.add_rows.append((code, side_name))

    def add_row_fields(self) -> list[tuple[Any, Any]]:
        """(code, side) bound fields of each "add a point" row, for the template."""
        return [(self[code], self[side]) for code, side in self.add_rows]

    def _point_label(self, code: str, side: Side | str) -> str:
        point = self.kb.points.get(code)
        name = f" {point.pinyin} ({point.english})" if point else ""
        return f"{code}{name}, {Side(side).value}"

    @classmethod
    def initial_for(cls, content: Plan, version: int) -> dict[str, Any]:
        return {
            "version": version,
            "start": content.start,
            "keep": [point_key(p.code, p.side) for p in content.points],
            "method": content.method.value if content.method else "",
            "sessions_per_week": content.sessions_per_week,
            "number_of_sessions": content.number_of_sessions,
            "retention_minutes": content.retention_minutes,
        }

    # -- validation -----------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        kept_keys = set(data.get("keep") or [])
        kept = [p for p in self.content.points if point_key(p.code, p.side) in kept_keys]
        present = {point_key(p.code, p.side) for p in kept}
        added: list[PlannedPoint] = []
        for code_field, side_field in self.add_rows:
            code = data.get(code_field)
            if not code:
                continue
            for side in self._sides(code, Side(data.get(side_field) or Side.BOTH.value)):
                key = point_key(code, side)
                if key in present:
                    continue
                present.add(key)
                refused = override_refusals(code, side, self.screening, self.kb)
                if refused:
                    for message in refused:
                        self.add_error(code_field, message)
                    continue
                added.append(planned_point(code, side, "adjunct", self.screening, self.kb))
                for block in self.screening.point_blocks(code, side):
                    self.blocked.append(
                        Blocked(
                            code_field,
                            "point",
                            code,
                            side.value,
                            block.rule,
                            block.reason,
                            self._sources(block.rule),
                        )
                    )
        method = Method(data["method"])
        refused_method = method_override_refusals(method, self.screening, self.kb)
        if method is not self.content.method and refused_method:
            for message in refused_method:
                self.add_error("method", message)
        elif method is not self.content.method:
            for finding in self.screening.method_blocks(method):
                self.blocked.append(
                    Blocked(
                        "method",
                        "method",
                        method.value,
                        None,
                        finding.rule,
                        f"{finding.name}: {finding.message}",
                        cited(self.kb, finding.sources),
                    )
                )
        if not kept and not added:
            self.add_error("keep", "A plan needs at least one point.")
        self._check_overrides(data)
        if self.errors:
            return data
        self.new_content = self._build(data, kept + added, method)
        return data

    def _sides(self, code: str, side: Side) -> tuple[Side, ...]:
        """A midline point is one needle (side ``both``); ``both`` elsewhere means each leg."""
        if self.kb.point(code).midline:
            return (Side.BOTH,)
        return side.single_sides()

    def _sources(self, rule: str) -> str:
        """The sources of the screening's finding ``rule``, as citations ("" when unknown)."""
        finding = next((f for f in self.screening.findings if f.rule == rule), None)
        return cited(self.kb, finding.sources) if finding is not None else ""

    def _check_overrides(self, data: dict[str, Any]) -> None:
        """Blocked additions need the override and a reason; messages name the rule and its
        sources in words (``Blocked.reason`` starts with the rule's name), never its id."""
        if not self.blocked:
            return
        if not data.get("override"):
            for b in self.blocked:
                source = f" (source: {b.sources})" if b.sources else ""
                self.add_error(
                    b.field,
                    f"{b.what[:1].upper()}{b.what[1:]} is blocked by {b.reason.rstrip('.')}"
                    f"{source}. To add it anyway, tick the override and give a reason.",
                )
            return
        if not (data.get("override_reason") or "").strip():
            names = {b.reason.split(":", 1)[0] for b in self.blocked}
            rules = ", ".join(sorted(names))
            self.add_error("override_reason", f"Give a reason for overriding: {rules}.")

    def _build(
        self, data: dict[str, Any], points: list[PlannedPoint], method: Method
    ) -> Plan | None:
        keys = {(p.code, p.side) for p in points}
        circuits = [
            c
            for c in self.content.electro_circuits
            if method is Method.ELECTRO and (c.a, c.side) in keys and (c.b, c.side) in keys
        ]
        electro = method is Method.ELECTRO
        start: dt.date = data["start"]
        updates: dict[str, Any] = {
            "points": points,
            "method": method,
            "start": start,
            "sessions_per_week": data["sessions_per_week"],
            "number_of_sessions": data["number_of_sessions"],
            "retention_minutes": data["retention_minutes"],
            "electro_circuits": circuits,
            "electro_pairs": list(dict.fromkeys((c.a, c.b) for c in circuits)),
            "electro_frequency_hz": self.content.electro_frequency_hz if electro else [],
            "electro_frequency_label": self.content.electro_frequency_label if electro else None,
            "electro_intensity": self.content.electro_intensity if electro else None,
            "schedule": build_schedule(
                start,
                data["sessions_per_week"],
                data["number_of_sessions"],
                self.content.reassessment_weeks,
            ),
        }
        candidate = self.content.model_copy(update=updates)
        try:
            return Plan.model_validate(candidate.model_dump(mode="json"))
        except ValidationError as exc:
            for err in exc.errors():  # on its field when the form has one, in words
                named = str(err["loc"][0]) if err["loc"] else ""
                self.add_error(named if named in self.fields else None, in_words(err))
            return None

    def overrides(self, *, by: str, at: dt.datetime) -> list[dict[str, Any]]:
        """The override entries to record (who, when, what, rule, reason) for a valid form."""
        reason = (self.cleaned_data.get("override_reason") or "").strip()
        return [
            {
                "at": at.isoformat(),
                "by": by,
                "what": b.what,
                "kind": b.kind,
                "target": b.target,
                "side": b.side,
                "rule": b.rule,
                "rule_reason": b.reason,
                "reason": reason,
            }
            for b in self.blocked
        ]
