"""Measurement forms generated from the knowledge base's instruments, scored by the core.

Every field is built from ``load_knowledge().instruments`` (item code, label, range, unit), so an
instrument added to ``instruments.toml`` appears here without code. Answers are validated and
scored by ``acuknee.clinical.score``; an error lands on its item's field, said in words under the
item's label (the core's ``koos.P3`` is shown to no one). The care layer stores them
(``care.services.record_measurements``), all or none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django import forms
from django.utils import timezone

from acuknee.clinical import InvalidInput, InvalidInputs, Scores, load_knowledge, score
from acuknee.clinical.knowledge import Instrument, Item, KnowledgeBase
from acuknee.clinical.numbers import format_number
from acuknee.forms.base import Form, copy_field
from acuknee.forms.widgets import IsoDateInput
from acuknee.kept import Kept

SELF_REPORT_INSTRUMENTS: tuple[str, ...] = (
    "koos",
    "pain_nrs",
    "patient_global",
    "pss4",
    "sleep_quality",
)
"""What a patient fills alone on a phone (issue 3): questionnaires and ratings, no examination."""

_RADIO_MAX_OPTIONS = 11
"""Whole-number items with at most this many values are radio buttons (easy to tap on a phone)."""


def clinic_instruments(kb: KnowledgeBase | None = None) -> list[str]:
    """The instruments recorded at a visit: every instrument except the short forms (KOOS-PS,
    KOOS JR), which the core scores from the full KOOS answers."""
    kb = kb or load_knowledge()
    return [i.id for i in kb.instruments.values() if i.derived_from is None]


def field_name(instrument: str, code: str) -> str:
    """The form field of one item (``koos__P3``): HTML-id friendly, unlike ``koos.P3``."""
    return f"{instrument}__{code}"


Audience = Literal["practitioner", "patient"]
"""Who reads the form: a patient sees questions put to them and the answers' words only; a
practitioner sees the short labels, which may say how answers are coded, and the codes."""


def _fmt(number: float) -> str:
    """A range bound as declared (0, 10, 0.05): three decimals cover every bound in the data."""
    return format_number(number, 3)


def _choices(
    inst: Instrument, item: Item, values: list[int], audience: Audience
) -> list[tuple[str, str]]:
    """Each answer's value and what the form shows: the instrument's words for it (alone for a
    patient when every answer has words), else the number, with the words at a rating's ends."""
    words = inst.answer_labels(item)
    every = all(v in words for v in values)
    out = []
    for v in values:
        text = words.get(v)
        if text is None:
            out.append((str(v), str(v)))
        elif audience == "patient" and every:
            out.append((str(v), text))
        else:
            out.append((str(v), f"{v} – {text}"))
    return out


def _ends_hint(inst: Instrument, item: Item, values: list[int]) -> str:
    """'0 means no pain; 10 means worst pain imaginable' for a rating labelled at its ends."""
    words = inst.answer_labels(item)
    if not words or all(v in words for v in values):
        return ""
    return "; ".join(f"{v} means {text}" for v, text in sorted(words.items())) + "."


def item_field(inst: Instrument, item: Item, audience: Audience = "practitioner") -> forms.Field:
    """The one field of an instrument item, used by the intake, the reassessment and the
    self-report alike: a radio group with the instrument's answer words where the answers are
    few whole numbers (KOOS, PSS-4, the 0-10 ratings with their ends), else a number box. The
    practitioner sees a questionnaire item's code before its label (``P3. <label>``). A radio
    refuses an answer off its scale under the item's label; a number box's range is checked by
    the core's ``score``."""
    if audience == "patient":
        label = item.ask or item.label
    elif inst.kind == "questionnaire":
        label = f"{item.code}. {item.label}"
    else:
        label = item.label
    label += f" ({item.unit})" if item.unit else ""
    span = item.max - item.min
    errors = {
        "invalid_choice": f"The answer: must be a whole number from {_fmt(item.min)} to "
        f"{_fmt(item.max)}",
        "invalid": "The answer: must be a number",
    }
    if item.integer and span + 1 <= _RADIO_MAX_OPTIONS:
        values = [int(item.min) + k for k in range(int(span) + 1)]
        return forms.TypedChoiceField(
            label=label,
            help_text=_ends_hint(inst, item, values),
            choices=_choices(inst, item, values, audience),
            coerce=int,
            empty_value=None,
            required=False,
            error_messages=errors,
            widget=forms.RadioSelect,
        )
    attrs = {"min": _fmt(item.min), "max": _fmt(item.max), "inputmode": "decimal"}
    if item.integer:
        return forms.IntegerField(
            label=label,
            required=False,
            error_messages=errors,
            widget=forms.NumberInput(attrs={**attrs, "step": "1"}),
        )
    return forms.FloatField(
        label=label,
        required=False,
        error_messages=errors,
        widget=forms.NumberInput(attrs={**attrs, "step": "any"}),
    )


def _item_fields(kb: KnowledgeBase, inst: Instrument, audience: Audience) -> dict[str, forms.Field]:
    """The instrument's item fields (``item_field``), built once per knowledge base, audience
    and instrument; each form takes its own copy of them (``copy_field``, as Django copies a
    form class's fields). Building them afresh normalised every radio group's choices again:
    2.3 ms for the reassessment form's twelve instruments (issue 15)."""
    return _ITEM_FIELDS.made_with(
        kb,
        (id(kb), inst.id, audience),
        lambda: {field_name(inst.id, i.code): item_field(inst, i, audience) for i in inst.items},
    )


_ITEM_FIELDS: Kept[tuple[int, str, str], tuple[object, dict[str, forms.Field]]] = Kept(256)
"""Per knowledge base (held with the fields, so its id is not reused), instrument and audience:
the fields (knowledge bases made by tests make the bound worth having)."""


@dataclass(frozen=True)
class InstrumentGroup:
    """One instrument's fields, for a template to render as a fieldset."""

    id: str
    name: str
    recall: str | None
    scale_note: str | None
    fields: list[forms.BoundField]
    intro: str | None = None


class MeasurementsForm(Form):
    """Answers to several instruments at one visit; an unanswered instrument is not stored.

    ``with_date`` adds the visit date (a reassessment); a self-report is dated the day it is
    submitted. ``audience="patient"`` words the form for a patient on their own phone.
    """

    def __init__(
        self,
        *args: Any,
        instruments: Sequence[str],
        with_date: bool = True,
        audience: Audience = "practitioner",
        kb: KnowledgeBase | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.audience: Audience = audience
        self.kb = kb or load_knowledge()
        self.instrument_ids = [i for i in instruments if i in self.kb.instruments]
        self.with_date = with_date
        self.scores: dict[str, Scores] = {}
        self.answers: dict[str, dict[str, float | None]] = {}
        if with_date:
            self.fields["measured_on"] = forms.DateField(
                label="Date of the visit",
                initial=timezone.localdate,
                widget=IsoDateInput(),
            )
        for instrument in self.instrument_ids:
            fields = _item_fields(self.kb, self.kb.instruments[instrument], audience)
            memo: dict[int, Any] = {}  # one per instrument, as its fields are one dictionary
            for name, field in fields.items():
                self.fields[name] = copy_field(field, memo)

    def groups(self) -> list[InstrumentGroup]:
        out = []
        for instrument in self.instrument_ids:
            inst = self.kb.instruments[instrument]
            note = None
            if inst.id == "koos" and self.audience == "practitioner":
                # The coding convention stated in instruments.toml (KOOS Scoring 2012).
                note = "0 = no problem … 4 = extreme problem"
            patient = self.audience == "patient"
            out.append(
                InstrumentGroup(
                    id=inst.id,
                    name=(inst.patient_title or inst.name) if patient else inst.name,
                    recall=None if patient else inst.recall,
                    scale_note=note,
                    fields=[self[field_name(inst.id, i.code)] for i in inst.items],
                    intro=inst.ask if patient else None,
                )
            )
        return out

    def clean(self) -> dict[str, Any]:
        """Score every answered instrument with the core; its errors land on the item's field."""
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        answers: dict[str, dict[str, float | None]] = {}
        for instrument in self.instrument_ids:
            inst = self.kb.instruments[instrument]
            given: dict[str, float | None] = {
                i.code: cleaned.get(field_name(inst.id, i.code)) for i in inst.items
            }
            if any(v is not None for v in given.values()):
                answers[inst.id] = given
        if not answers:
            raise forms.ValidationError("Answer at least one question before saving.")
        for instrument, given in answers.items():
            try:
                self.scores[instrument] = score(instrument, given, self.kb)
            except InvalidInputs as exc:
                self._add_core_errors(exc.errors)
            except InvalidInput as exc:
                self._add_core_errors([exc])
        self.answers = answers
        return cleaned

    def _add_core_errors(self, errors: Iterable[InvalidInput]) -> None:
        for error in errors:
            instrument, _, code = error.field.partition(".")
            name = field_name(instrument, code)
            # The error stands under its item's label, and the summary names the label: the
            # core's path (walk_40m.time_s) is for machines, shown to no one (issue 14).
            if name in self.fields:
                self.add_error(name, error.problem)
            else:
                self.add_error(None, error.problem)

    @property
    def visit_date(self) -> dt.date:
        day = self.cleaned_data.get("measured_on")
        return day if isinstance(day, dt.date) else timezone.localdate()
