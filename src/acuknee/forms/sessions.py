"""The session log: one form per session, pre-filled from the signed plan, validated as the core
``SessionRecord`` (STRICTA 2010 items 2a-2g, plus pain before and after and adverse events).

The page is a main form plus three formsets (points, electroacupuncture pairs, adverse events).
Django checks types; the core checks everything clinical, and each of its errors is put back on
the field it names (``points.0.depth.value`` -> the first point's depth).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone
from pydantic import ValidationError

from acuknee.clinical import Plan, SessionRecord, load_knowledge
from acuknee.clinical.consent import EXPLAINABLE_RISKS, Consent
from acuknee.clinical.session_check import SessionProblem, standard_code
from acuknee.clinical.sessions import ASHI
from acuknee.clinical.vocabulary import AdverseEventKind, ConsentBy, Method, Severity, Side
from acuknee.forms.base import Form
from acuknee.forms.widgets import IsoDateInput
from acuknee.forms.words import in_words
from acuknee.kept import content_key

_SIDES = [(s.value, s.value.title()) for s in Side]
_METHODS = [(m.value, m.value.title()) for m in Method]
_ANGLES = [("", "—"), ("perpendicular", "Perpendicular"), ("oblique", "Oblique")]
_ANGLES += [("transverse", "Transverse")]
_SEVERITIES = [("", "—"), *[(s.value, s.value.title()) for s in Severity]]
_EVENT_KINDS = [("", "—"), *[(k.value, k.label) for k in AdverseEventKind]]
_UNITS = [("cun", "cun"), ("mm", "mm")]


def _number(attrs: dict[str, str] | None = None) -> forms.NumberInput:
    return forms.NumberInput(attrs={"inputmode": "decimal", "step": "any", **(attrs or {})})


class SessionForm(Form):
    """What applies to the whole session."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    session_date = forms.DateField(
        label="Date",
        initial=timezone.localdate,
        # The HTML date input reads and writes ISO dates only, whatever the locale.
        widget=IsoDateInput(),
    )
    pain_before = forms.IntegerField(
        label="Pain before the session (0-10)",
        required=False,
        widget=forms.NumberInput(attrs={"min": "0", "max": "10", "inputmode": "numeric"}),
    )
    pain_after = forms.IntegerField(
        label="Pain after the session (0-10)",
        required=False,
        widget=forms.NumberInput(attrs={"min": "0", "max": "10", "inputmode": "numeric"}),
    )
    needle_diameter_mm = forms.FloatField(label="Needle diameter (mm)", required=False)
    needle_length_mm = forms.FloatField(label="Needle length (mm)", required=False)
    needle_material = forms.CharField(label="Needle material", required=False, max_length=100)
    needle_manufacturer = forms.CharField(
        label="Needle manufacturer", required=False, max_length=100
    )
    number_of_needles = forms.IntegerField(label="Needles used (total)", required=False)
    retention_minutes = forms.IntegerField(label="Retention (minutes)", required=False)
    response_sought = forms.CharField(label="Response sought", required=False, max_length=200)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("needle_diameter_mm", "needle_length_mm"):
            self.fields[name].widget = _number({"min": "0"})


class PointForm(Form):
    """One point on one side. Untick "needled" to leave a planned point out of this session."""

    needled = forms.BooleanField(label="Needled", required=False, initial=True)
    code = forms.CharField(label="Point", max_length=30, required=False)
    side = forms.ChoiceField(label="Side", choices=_SIDES)
    depth_value = forms.FloatField(label="Depth", required=False, widget=_number({"min": "0"}))
    depth_unit = forms.ChoiceField(label="Unit", choices=_UNITS, initial="cun")
    angle = forms.ChoiceField(label="Angle", choices=_ANGLES, required=False)
    de_qi = forms.BooleanField(label="De qi obtained", required=False)
    stimulation = forms.ChoiceField(label="Stimulation", choices=_METHODS, initial="manual")
    retention_minutes = forms.IntegerField(
        label="Retention if different (min)", required=False, widget=_number({"min": "1"})
    )

    def __init__(
        self, *args: Any, default_side: str | None = None, plan_hint: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.plan_hint = plan_hint
        """The plan's depth and angle for this point (``initial_from_plan``), shown beside it."""
        if default_side:  # a row the plan did not fill: the affected knee, not the first choice
            self.fields["side"].initial = default_side

    def used(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return bool(data.get("needled")) and bool((data.get("code") or "").strip())


class ElectroForm(Form):
    """Two points wired together on one side, with the frequency (one value or two, e.g. 2, 100)."""

    point_a = forms.CharField(label="Point A", max_length=30, required=False)
    point_b = forms.CharField(label="Point B", max_length=30, required=False)
    side = forms.ChoiceField(label="Side", choices=_SIDES)
    frequency_hz = forms.CharField(label="Frequency (Hz)", max_length=50, required=False)
    intensity = forms.CharField(label="Intensity", max_length=200, required=False)

    def __init__(self, *args: Any, default_side: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if default_side:
            self.fields["side"].initial = default_side

    def used(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return bool((data.get("point_a") or "").strip() or (data.get("point_b") or "").strip())


class AdverseEventForm(Form):
    """One adverse event: its coded kind (so events can be counted), severity, action taken, and
    free words in the note (what an ``other`` event was, or anything worth adding)."""

    kind = forms.ChoiceField(label="Adverse event", choices=_EVENT_KINDS, required=False)
    severity = forms.ChoiceField(label="Severity", choices=_SEVERITIES, required=False)
    action_taken = forms.CharField(label="Action taken", max_length=500, required=False)
    point = forms.CharField(label="At point", max_length=30, required=False)
    note = forms.CharField(label="Event note", max_length=500, required=False)

    def used(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(
            (data.get(k) or "").strip() for k in ("kind", "severity", "action_taken", "note")
        )


class ConsentForm(Form):
    """Informed consent, asked on the first session's page only (``acuknee.clinical.consent``):
    nothing is ticked in advance, as consent is the practitioner's deliberate record."""

    consent_given_by = forms.ChoiceField(
        label="Consent given by",
        choices=[
            (ConsentBy.PATIENT.value, "The patient"),
            (ConsentBy.PARENT_OR_GUARDIAN.value, "A parent or guardian (under 16)"),
        ],
        widget=forms.RadioSelect,
    )
    consent_guardian_name = forms.CharField(
        label="Name of the parent or guardian", required=False, max_length=200
    )
    consent_given_on = forms.DateField(
        label="Consent given on",
        initial=timezone.localdate,
        widget=IsoDateInput(),
    )
    consent_risks = forms.MultipleChoiceField(
        label="Risks explained",
        choices=[(k.value, k.label) for k in EXPLAINABLE_RISKS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick the risks that were explained to the patient."},
    )
    consent_other = forms.CharField(
        label="Also explained (the procedure, alternatives, aftercare)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    _FIELDS: ClassVar[dict[str, str]] = {
        "given_on": "consent_given_on",
        "given_by": "consent_given_by",
        "guardian_name": "consent_guardian_name",
        "risks_explained": "consent_risks",
        "other_explained": "consent_other",
    }

    def consent(self) -> Consent | None:
        """The core ``Consent``, or None with its errors on the fields they name."""
        if not self.is_valid():
            return None
        d = self.cleaned_data
        try:
            return Consent(
                given_on=d["consent_given_on"],
                given_by=ConsentBy(d["consent_given_by"]),
                guardian_name=(d.get("consent_guardian_name") or "").strip() or None,
                risks_explained=[AdverseEventKind(k) for k in d["consent_risks"]],
                other_explained=(d.get("consent_other") or "").strip() or None,
            )
        except ValidationError as exc:
            for error in exc.errors():
                message = in_words(error)
                field, sep, text = message.partition(": ")
                if not sep or field not in self._FIELDS:
                    field, text = (str(error["loc"][0]) if error["loc"] else ""), message
                if not self.place(field, text):
                    self.add_error(None, message)
            return None

    def place(self, field: str | None, message: str) -> bool:
        """Put a care error about consent on its field; False when it names none of ours."""
        name = self._FIELDS.get(field or "")
        if name is None:
            return False
        self.add_error(name, message)
        return True


class AmendmentForm(Form):
    """Why a signed session is changed: kept with the amendment."""

    amend_reason = forms.CharField(
        label="Reason for the amendment",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the reason for the amendment: the note is signed."},
    )


def _formset(
    form: type[forms.Form], extra: int, rows: type[BaseFormSet] = BaseFormSet
) -> type[BaseFormSet]:
    return formset_factory(form, formset=rows, extra=extra, max_num=200, validate_max=True)


class _PointRows(BaseFormSet):
    """Point rows, each given the plan's hint for it (``hints``, by row) when it is made: a
    page whose rows are printed from a kept copy (``pages.views.sessions``) never makes them."""

    hints: list[str] = []

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs(index)
        if index is not None and index < len(self.hints):
            kwargs["plan_hint"] = self.hints[index]
        return kwargs


PointFormSet = _formset(PointForm, extra=2, rows=_PointRows)
ElectroFormSet = _formset(ElectroForm, extra=1)
AdverseEventFormSet = _formset(AdverseEventForm, extra=3)


# --- from the plan or a stored record to the form ----------------------------------------------


def _first_angle(text: str) -> str:
    """The plan's angle text ("perpendicular or oblique") to the record's first named angle."""
    found = [(text.find(a), a) for a in ("perpendicular", "oblique", "transverse") if a in text]
    return min(found)[1] if found else ""


def _wired(plan: Plan) -> set[tuple[str, Side]]:
    return {(c.a, c.side) for c in plan.electro_circuits} | {
        (c.b, c.side) for c in plan.electro_circuits
    }


def _frequency_text(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def initial_from_plan(plan: Plan) -> dict[str, Any]:
    """Initial data for the session page from a signed plan: its points (side, shallow end of the
    allowed depth, first angle, stimulation), Ashi points, wired pairs, retention, response."""
    wired = _wired(plan)
    method = plan.method or Method.MANUAL
    points: list[dict[str, Any]] = []
    hints: list[str] = []
    for p in plan.points:
        if method is Method.ELECTRO:
            # Only a needle wired into a pair can carry current; the rest are needled manually.
            stimulation = Method.ELECTRO if (p.code, p.side) in wired else Method.MANUAL
        else:
            stimulation = method
        points.append(
            {
                "needled": True,
                "code": p.code,
                "side": p.side.value,
                "depth_value": p.depth_cun_min,
                "depth_unit": "cun",
                "angle": _first_angle(p.angle),
                "stimulation": stimulation.value,
            }
        )
        depth = (
            f"{p.depth_cun_min:g}–{p.depth_cun_max:g} cun"
            if p.depth_cun_min is not None and p.depth_cun_max is not None
            else "depth not set"
        )
        note = f"; {p.depth_note}" if p.depth_note else ""
        hints.append(f"plan: {p.role}, {depth}, {p.angle}{note}")
    if plan.ashi_points and plan.ashi_sides:
        per_side = max(1, plan.ashi_points // len(plan.ashi_sides))
        for side in plan.ashi_sides:
            for _ in range(per_side):
                points.append(
                    {
                        "needled": True,
                        "code": ASHI,
                        "side": side.value,
                        "depth_unit": "cun",
                        "stimulation": Method.MANUAL.value
                        if method is Method.ELECTRO
                        else method.value,
                    }
                )
                hints.append(f"plan: Ashi (tender) point, {side.value} knee")
    electro = [
        {
            "point_a": c.a,
            "point_b": c.b,
            "side": c.side.value,
            "frequency_hz": _frequency_text(plan.electro_frequency_hz),
            "intensity": plan.electro_intensity or "",
        }
        for c in plan.electro_circuits
    ]
    session = {
        "session_date": timezone.localdate(),
        "retention_minutes": plan.retention_minutes,
        "response_sought": plan.response_sought or "",
    }
    return {"session": session, "points": points, "electro": electro, "hints": hints}


def _plan_hints(plan: Plan) -> dict[tuple[str, str], str]:
    """The plan's hint for each (code, side), to show beside a point carried from a session."""
    hints = initial_from_plan(plan)
    return {
        (row["code"], row["side"]): hint
        for row, hint in zip(hints["points"], hints["hints"], strict=False)
    }


def initial_from_last(record: SessionRecord, plan: Plan) -> dict[str, Any]:
    """Initial data for the next session from the patient's last one: the same needles (size,
    material, maker, count), points with their sides, depths, angles and stimulation, retention,
    response sought and electro pairs; today's date. What belongs to that visit alone (pain,
    de qi obtained, adverse events, the note) starts blank."""
    initial = initial_from_record(record, version=0)
    session = {
        **initial["session"],
        "session_date": timezone.localdate(),
        "pain_before": None,
        "pain_after": None,
        "note": "",
    }
    session.pop("version")
    points = [{**p, "de_qi": False} for p in initial["points"]]
    by_point = _plan_hints(plan)
    hints = [by_point.get((p["code"], p["side"]), "") for p in points]
    return {"session": session, "points": points, "electro": initial["electro"], "hints": hints}


def _shown(value: float) -> float | int:
    """40.0 mm shows as 40, as it was typed; 0.25 stays 0.25."""
    return int(value) if float(value).is_integer() else value


def initial_from_record(record: SessionRecord, version: int) -> dict[str, Any]:
    """Initial data for editing a stored session."""
    needle = record.needle
    session = {
        "version": version,
        "session_date": record.date,
        "pain_before": record.pain_before,
        "pain_after": record.pain_after,
        "needle_diameter_mm": _shown(needle.diameter_mm) if needle else None,
        "needle_length_mm": _shown(needle.length_mm) if needle else None,
        "needle_material": (needle.material or "") if needle else "",
        "needle_manufacturer": (needle.manufacturer or "") if needle else "",
        "number_of_needles": record.number_of_needles,
        "retention_minutes": record.retention_minutes,
        "response_sought": record.response_sought or "",
        "note": record.note or "",
    }
    points = [
        {
            "needled": True,
            "code": p.code,
            "side": p.side.value,
            "depth_value": _shown(p.depth.value) if p.depth else None,
            "depth_unit": p.depth.unit if p.depth else "cun",
            "angle": p.angle or "",
            "de_qi": bool(p.de_qi),
            "stimulation": p.stimulation.value,
            "retention_minutes": p.retention_minutes,
        }
        for p in record.points
    ]
    electro = [
        {
            "point_a": e.points[0],
            "point_b": e.points[1],
            "side": e.side.value,
            "frequency_hz": _frequency_text(e.frequency_hz),
            "intensity": e.intensity or "",
        }
        for e in record.electro
    ]
    events = [
        {
            "kind": a.kind.value,
            "severity": a.severity.value,
            "action_taken": a.action_taken,
            "point": a.point or "",
            "note": a.note or "",
        }
        for a in record.adverse_events
    ]
    return {"session": session, "points": points, "electro": electro, "events": events}


# --- from the form to the core -------------------------------------------------------------------


def _blank(value: Any) -> Any:
    return None if value in ("", None) else value


class SessionEntry:
    """The whole session page: the main form and its formsets, validated together as one
    ``SessionRecord``; ``record`` is set when everything is valid."""

    def __init__(
        self,
        data: Any = None,
        *,
        initial: dict[str, Any] | None = None,
        practitioner_id: str | None = None,
        side: str | None = None,
    ) -> None:
        """``side``: the affected knee (the intake's), where an added point row starts. The
        forms' rows are made when first read, not here."""
        initial = initial or {}
        self.initial = initial
        self.side = side
        self.practitioner_id = practitioner_id
        self.session = SessionForm(data, initial=initial.get("session"))
        sided = {"default_side": side}
        self.points = PointFormSet(
            data, initial=initial.get("points"), prefix="points", form_kwargs=sided
        )
        self.electro = ElectroFormSet(
            data, initial=initial.get("electro"), prefix="electro", form_kwargs=sided
        )
        self.events = AdverseEventFormSet(data, initial=initial.get("events"), prefix="events")
        self.show_hints(initial.get("hints", []))
        self.record: SessionRecord | None = None
        self.problems: list[str] = []
        self.corrections: list[str] = []
        """Point codes written loosely and stored as the standard code (``st 36`` -> ST36)."""

    def show_hints(self, hints: Iterable[str]) -> None:
        """Beside each point row, the plan's depth and angle for it (``initial_from_plan``):
        only a page shown needs them, so a session saved at once never works them out."""
        self.points.hints = list(hints)
        if "forms" in self.points.__dict__:  # the rows are made already (a posted entry)
            for form, hint in zip(self.points.forms, self.points.hints, strict=False):
                form.plan_hint = hint

    @property
    def is_bound(self) -> bool:
        return self.session.is_bound

    def printed_as(self) -> Hashable:
        """Everything an entry not bound to data prints (its initial data, the side its added
        rows start on and the hints), as ``kept.content_key``: TypeError for a value that is
        not plain data. The forms themselves are code, the same for every entry, but for the
        date a form without an initial one starts on (``SessionForm.session_date``): today."""
        return content_key((self.initial, self.side, self.points.hints, timezone.localdate()))

    @property
    def non_field_errors(self) -> list[str]:
        out = [str(e) for e in self.session.non_field_errors()]
        for fs in (self.points, self.electro, self.events):
            out += [str(e) for e in fs.non_form_errors()]
        return out + self.problems

    def is_valid(
        self, number: int, check: Callable[[SessionRecord], list[SessionProblem]] | None = None
    ) -> bool:
        """Django's checks first, then the core's (the record, then ``check``: the record
        against the patient's plan and screening); every error is put on its field."""
        parts = (self.session, self.points, self.electro, self.events)
        if not all(part.is_valid() for part in parts):  # errors of the rest show on render
            return False
        data, where = self._payload(number)
        if not self.problems:
            try:
                self.record = SessionRecord.model_validate(data)
            except ValidationError as exc:
                self._place(exc, where)
        if self.record is not None and check is not None:
            problems = check(self.record)
            for problem in problems:
                # A safety refusal is written for the practitioner (the point, the rule and its
                # sources): it goes on its field without the internal path in front.
                loc = [str(part) for part in problem.loc]
                self._put(loc, problem.message, where)
            if problems:
                self.record = None
        return self.record is not None

    def _payload(self, number: int) -> tuple[dict[str, Any], dict[str, list[forms.Form]]]:
        s = self.session.cleaned_data
        response_sought = (s.get("response_sought") or "").strip() or None
        points: list[dict[str, Any]] = []
        point_forms = [f for f in self.points.forms if f.used()]
        for f in point_forms:
            d = f.cleaned_data
            depth = None
            if d.get("depth_value") is not None:
                depth = {"value": d["depth_value"], "unit": d["depth_unit"]}
            # An unticked de qi box is "sought but not obtained" when a response was sought,
            # otherwise "not assessed" (SessionRecord.de_qi: True / False / None).
            de_qi = True if d.get("de_qi") else (False if response_sought else None)
            points.append(
                {
                    "code": self._standard(d["code"]),
                    "side": d["side"],
                    "depth": depth,
                    "angle": _blank(d.get("angle")),
                    "de_qi": de_qi,
                    "stimulation": d["stimulation"],
                    "retention_minutes": d.get("retention_minutes"),
                }
            )
        electro: list[dict[str, Any]] = []
        electro_forms = [f for f in self.electro.forms if f.used()]
        for f in electro_forms:
            d = f.cleaned_data
            text = d.get("frequency_hz") or ""
            try:
                freqs = [float(x) for x in re.split(r"[,;/\s]+", text.strip()) if x]
            except ValueError:
                f.add_error("frequency_hz", "frequency: give numbers in Hz, e.g. 2, 100")
                self.problems.append("Check the electroacupuncture frequency.")
                freqs = []
            electro.append(
                {
                    "points": (
                        self._standard(d.get("point_a") or ""),
                        self._standard(d.get("point_b") or ""),
                    ),
                    "side": d["side"],
                    "frequency_hz": freqs,
                    "intensity": (d.get("intensity") or "").strip() or None,
                }
            )
        events: list[dict[str, Any]] = []
        event_forms = [f for f in self.events.forms if f.used()]
        for f in event_forms:
            d = f.cleaned_data
            events.append(
                {
                    "kind": _blank(d.get("kind")),
                    "severity": _blank(d.get("severity")),
                    "action_taken": (d.get("action_taken") or "").strip(),
                    "point": (d.get("point") or "").strip() or None,
                    "note": (d.get("note") or "").strip() or None,
                }
            )
        needle = None
        needle_given = [
            s.get("needle_diameter_mm"),
            s.get("needle_length_mm"),
            s.get("needle_material"),
            s.get("needle_manufacturer"),
        ]
        if any(v not in (None, "") for v in needle_given):
            needle = {
                "diameter_mm": s.get("needle_diameter_mm"),
                "length_mm": s.get("needle_length_mm"),
                "material": (s.get("needle_material") or "").strip() or None,
                "manufacturer": (s.get("needle_manufacturer") or "").strip() or None,
            }
        data = {
            "date": s["session_date"],
            "number": number,
            "points": points,
            "needle": needle,
            "number_of_needles": s.get("number_of_needles"),
            "retention_minutes": s.get("retention_minutes"),
            "electro": electro,
            "response_sought": response_sought,
            "pain_before": s.get("pain_before"),
            "pain_after": s.get("pain_after"),
            "adverse_events": events,
            "practitioner_id": self.practitioner_id,
            "note": (s.get("note") or "").strip() or None,
        }
        return data, {
            "points": point_forms,
            "electro": electro_forms,
            "adverse_events": event_forms,
        }

    def _standard(self, text: str) -> str:
        """A point code as its WHO standard form when the knowledge base knows it however it was
        typed (``st 36``, ``St-36`` -> ST36); anything else is left for the core to refuse with
        a message naming the row."""
        code = text.strip()
        if not code or code.lower() == ASHI:
            return code
        standard = standard_code(load_knowledge(), code)
        if standard is None or standard == code:
            return code
        note = f"{code!r} was recorded as {standard}"
        if note not in self.corrections:
            self.corrections.append(note)
        return standard

    def _place(self, exc: ValidationError, where: dict[str, list[forms.Form]]) -> None:
        """Put each core error, in words, on the field it names; what names no field goes on
        top. The page never shows the record's path (``needle.diameter_mm``) or pydantic's
        phrasing ("Input should be greater than 0")."""
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            self._put(loc, in_words(error), where)

    def _row_number(self, kind: str, index: int, where: dict[str, list[forms.Form]]) -> int:
        """The page's row number (1-based, counting unused rows) of the record's ``index``."""
        used = where.get(kind, [])
        formset = {"points": self.points, "electro": self.electro}.get(kind, self.events)
        if index < len(used) and used[index] in formset.forms:
            return formset.forms.index(used[index]) + 1
        return index + 1

    def _put(self, loc: list[str], message: str, where: dict[str, list[forms.Form]]) -> None:
        target, field = _target(self.session, loc, where)
        text = message
        row = _ROW_NAMES.get(loc[0]) if len(loc) >= 2 and loc[1].isdigit() else None
        if row is not None:  # the row as the page shows it, not a path
            text = f"{row} {self._row_number(loc[0], int(loc[1]), where)}: {message}"
        if target is not None and field is not None and field in target.fields:
            target.add_error(field, text)
        else:
            self.problems.append(text)


_SESSION_FIELDS = {
    ("date",): "session_date",
    ("pain_before",): "pain_before",
    ("pain_after",): "pain_after",
    ("needle", "diameter_mm"): "needle_diameter_mm",
    ("needle", "length_mm"): "needle_length_mm",
    ("needle", "material"): "needle_material",
    ("needle", "manufacturer"): "needle_manufacturer",
    ("number_of_needles",): "number_of_needles",
    ("retention_minutes",): "retention_minutes",
    ("response_sought",): "response_sought",
    ("note",): "note",
}

_ROW_NAMES = {"points": "Point row", "electro": "Pair", "adverse_events": "Adverse event"}

_ROW_FIELDS = {
    "points": {
        "code": "code",
        "side": "side",
        "depth": "depth_value",
        "angle": "angle",
        "de_qi": "de_qi",
        "stimulation": "stimulation",
        "retention_minutes": "retention_minutes",
    },
    "electro": {
        "points": "point_a",
        "side": "side",
        "frequency_hz": "frequency_hz",
        "intensity": "intensity",
    },
    "adverse_events": {
        "kind": "kind",
        "severity": "severity",
        "action_taken": "action_taken",
        "point": "point",
        "note": "note",
    },
}


def _target(
    session: forms.Form, loc: list[str], where: dict[str, list[forms.Form]]
) -> tuple[forms.Form | None, str | None]:
    for length in (2, 1):
        field = _SESSION_FIELDS.get(tuple(loc[:length]))
        if field is not None:
            return session, field
    if len(loc) >= 3 and loc[0] in _ROW_FIELDS and loc[1].isdigit():
        rows = where.get(loc[0], [])
        index = int(loc[1])
        if index < len(rows):
            if loc[0] == "points" and loc[2] == "depth" and loc[3:4] == ["unit"]:
                return rows[index], "depth_unit"
            if loc[0] == "electro" and loc[2] == "points" and loc[3:4] == ["1"]:
                return rows[index], "point_b"
            return rows[index], _ROW_FIELDS[loc[0]].get(loc[2])
    return None, None
