"""The intake form: every finding ``screen``, ``assess`` and ``plan`` read, plus the baseline
measurements, generated from the core's own models and the knowledge base.

Nothing here is a clinical rule. Fields are derived from ``acuknee.clinical.Intake`` (so the form
cannot drift from the core's schema) and from ``load_knowledge().instruments`` (so a new
instrument appears without code). ``clean`` builds the core ``Intake``, scores every answered
instrument and screens, assesses and dry-runs the planner; any error the core raises is mapped
back to the form field it names, so the practitioner sees it next to the input.
"""

from __future__ import annotations

import datetime as dt
import types
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union, cast, get_args, get_origin

from annotated_types import Ge, Le
from django import forms
from django.http import QueryDict
from pydantic import ValidationError

from acuknee.care.errors import InvalidDate
from acuknee.care.services import HISTORY_FIELDS, HISTORY_MAX_CHARS, check_date
from acuknee.clinical import (
    Assessment,
    ClinicalError,
    Intake,
    InvalidInput,
    InvalidInputs,
    KnowledgeBase,
    Scores,
    Screening,
    assess,
    load_knowledge,
    plan,
    score,
    screen,
)
from acuknee.clinical.base import CoreModel
from acuknee.clinical.knowledge import Instrument
from acuknee.clinical.vocabulary import PainLocation, Side
from acuknee.forms.base import FieldsCopiedOnUse, Form
from acuknee.forms.measurements import item_field
from acuknee.forms.widgets import IsoDateInput
from acuknee.forms.words import in_words

# Intake fields the form does not ask for: they come from the patient record or the measurements.
_FROM_ELSEWHERE = {"age", "sex", "baseline"}

# Sections of the form, in order: (intake path prefix or "" for top level, title).
SECTIONS: list[tuple[str, str]] = [
    ("", "History"),
    ("injury", "Recent injury (Ottawa knee rule items)"),
    ("red_flags", "Red-flag questions"),
    ("health", "Health, medications and devices"),
    ("examination", "Examination"),
    ("investigations", "Investigations"),
    ("preferences", "Treatment preferences"),
]

STORY = "story"
"""The section of the free-text history (presenting complaint, previous treatment, goals)."""

MEASURES = "measures"
"""The baseline instruments, as a section name of a step."""


@dataclass(frozen=True)
class Step:
    """One page of the stepped intake: a slug for the URL, a title, the sections it shows."""

    slug: str
    title: str
    sections: tuple[str, ...]


STEPS: tuple[Step, ...] = (
    Step("history", "History and red flags", (STORY, "", "injury", "red_flags")),
    Step("safety", "Safety", ("health",)),
    Step("examination", "Examination", ("examination", "investigations", "preferences")),
    Step("baseline", "Baseline measures", (MEASURES,)),
)
"""The order a first visit runs in: the story and the red-flag questions (a referral decides
everything after it), what changes how one may needle, the examination, then the
questionnaires and performance tests."""


def step_named(slug: str | None) -> Step | None:
    return next((s for s in STEPS if s.slug == slug), None)


REQUIRED_MARK = " (required)"

SKIN_LESION_ROWS = 3
"""How many skin-lesion rows the form offers (each a region and a side)."""

NUMB_AREA_ROWS = 3
"""How many numb-area rows (reduced sensation) the form offers, each a region and a side."""


@dataclass(frozen=True)
class SiteList:
    """A list of body sites (``SkinSite``: region and side) asked as rows of two selects."""

    path: str  # the intake path of the list (``health.skin_lesions``)
    prefix: str  # form field names: ``<prefix>_<i>_region`` and ``<prefix>_<i>_side``
    label: str  # one row's label ("Skin lesion")
    noun: str  # in error messages ("lesion")
    rows: int


SITE_LISTS: tuple[SiteList, ...] = (
    SiteList("health.skin_lesions", "skin", "Skin lesion", "lesion", SKIN_LESION_ROWS),
    SiteList(
        "health.reduced_sensation_sites",
        "numb",
        "Numb area (reduced sensation)",
        "numb area",
        NUMB_AREA_ROWS,
    ),
)

# Human labels where the field name alone is unclear; every other label is the field name.
LABELS: dict[str, str] = {
    "side": "Side of knee pain",
    "duration_weeks": "Duration of knee pain (weeks)",
    "activity_related_pain": "Pain related to activity",
    "morning_stiffness_minutes": "Morning stiffness (minutes)",
    "injury.days_ago": "Days since the injury (leave blank when there was no recent injury)",
    "injury.cannot_flex_to_90": "Cannot flex the knee to 90 degrees",
    "injury.cannot_bear_weight_four_steps": "Cannot bear weight for four steps (now and at injury)",
    "injury.effusion_within_2_hours": "Swelling within 2 hours of the injury",
    "red_flags.fever": "Fever",
    "red_flags.unable_straight_leg_raise": "Unable to do a straight-leg raise",
    "red_flags.true_locking": "True locking of the knee",
    "red_flags.wells_dvt_score": "Wells DVT score (if calculated)",
    "red_flags.night_or_unremitting_pain": "Night or unremitting pain",
    "red_flags.other_joints_swollen": "Other joints swollen",
    "red_flags.numbness_or_foot_drop": "Numbness or foot drop",
    "knee_surgery_days_ago": "Knee surgery: days before this visit (blank: none recorded)",
    "joint_injection_days_ago": "Knee joint injection: days before this visit (blank: none)",
    "consent_given_by": "Consent given by (under 16: a parent or guardian)",
    "red_flags.raised_inflammatory_markers": "Raised inflammatory markers (CRP or ESR)",
    "red_flags.unilateral_leg_swelling": "Swelling of one leg",
    "red_flags.leg_swelling_explained_by_lymphoedema": (
        "The swollen leg is the leg with known, stable lymphoedema (swelling unchanged)"
    ),
    "red_flags.wells.active_cancer": (
        "Wells: active cancer (treatment within 6 months or palliative)"
    ),
    "red_flags.wells.paralysis_paresis_or_plaster": (
        "Wells: paralysis, paresis or recent plaster immobilisation of the legs"
    ),
    "red_flags.wells.bedridden_3_days_or_major_surgery_12_weeks": (
        "Wells: bedridden 3 days or more, or major surgery within 12 weeks"
    ),
    "red_flags.wells.deep_vein_tenderness": "Wells: localised tenderness along the deep veins",
    "red_flags.wells.entire_leg_swollen": "Wells: entire leg swollen",
    "red_flags.wells.calf_swelling_3cm": "Wells: calf swelling at least 3 cm more than the other",
    "red_flags.wells.pitting_oedema": "Wells: pitting oedema confined to the symptomatic leg",
    "red_flags.wells.collateral_superficial_veins": (
        "Wells: collateral superficial veins (not varicose)"
    ),
    "red_flags.wells.previous_dvt": "Wells: previously documented DVT",
    "red_flags.wells.alternative_diagnosis_as_likely": (
        "Wells: an alternative diagnosis is at least as likely as DVT"
    ),
    "red_flags.bone_pain_away_from_joint_line": (
        "Persistent unexplained bone pain at rest or at night, away from the joint line"
    ),
    "red_flags.small_joints_hands_feet_swollen": "Small joints of the hands or feet swollen",
    "red_flags.swollen_joint_weeks": (
        "Joint swelling of undetermined cause (suspected synovitis): weeks since it began"
    ),
    "red_flags.pulsatile_popliteal_mass": "Pulsatile mass behind the knee",
    "red_flags.compartment_syndrome_signs": (
        "Signs of compartment syndrome (pain out of proportion, pain on passive stretch, "
        "tense calf)"
    ),
    "examination.tibial_tubercle_tenderness": "Tenderness at the tibial tubercle",
    "examination.abnormal_hip_examination": (
        "Painful or restricted hip movement (internal rotation)"
    ),
    "health.anticoagulant": "Anticoagulant taken",
    "health.antiplatelet": "Antiplatelet drug taken",
    "health.bleeding_disorder": "Bleeding disorder (kind)",
    "health.platelet_count_10e9_per_l": "Latest platelet count (x 10^9/L)",
    "health.inr": "Latest INR",
    "health.epilepsy": "Epilepsy",
    "health.metal_allergy": "Metal (nickel) allergy",
    "health.immunosuppression": "Cause of immunosuppression",
    "health.neutrophil_count_10e9_per_l": "Latest neutrophil count (x 10^9/L)",
    "health.treating_team_agrees": "Treating team agrees to acupuncture",
    "health.pregnancy_weeks": "Weeks of pregnancy",
    "health.implanted_electronic_device": "Implanted electronic device (e.g. pacemaker)",
    "health.knee_prosthesis": "Knee prosthesis (side)",
    "health.lymphoedema_leg": "Lymphoedema of the leg (side)",
    "health.varicose_veins": "Varicose veins (side)",
    "health.immunosuppressed": "Immunosuppressed",
    "health.able_to_consent": "Able to give informed consent",
    "health.malignancy_near_knee": "Malignancy near the knee (side)",
    "health.medications": "Medications (one per line)",
    "health.devices": "Other devices and implants (one per line)",
    "examination.pain_location": "Where the pain is",
    "examination.bony_tenderness": "Bony tenderness",
    "examination.bony_enlargement": "Bony enlargement",
    "examination.palpable_warmth": "Palpable warmth",
    "examination.pain_squatting_stairs_or_sitting": "Pain on squatting, stairs or long sitting",
    "examination.patellar_tendon_inferior_pole_tenderness": (
        "Tenderness at the inferior pole of the patella (patellar tendon)"
    ),
    "examination.pain_with_jumping_or_loading": "Pain with jumping or loading",
    "examination.pes_anserine_tenderness": "Pes anserine tenderness",
    "examination.lateral_epicondyle_tenderness": "Lateral femoral epicondyle tenderness",
    "examination.lateral_pain_with_running_or_cycling": "Lateral pain with running or cycling",
    "examination.effusion_present": "Effusion present",
    "investigations.esr_mm_per_hour": "ESR (mm/hour)",
    "investigations.rheumatoid_factor_below_1_in_40": "Rheumatoid factor below 1:40",
    "investigations.synovial_fluid_signs_of_oa": "Synovial fluid signs of OA",
    "investigations.xray_osteophytes": "Osteophytes on X-ray",
    "investigations.kellgren_lawrence_grade": "Kellgren-Lawrence grade",
    "preferences.method": "Preferred method",
    "preferences.protocol": "Protocol (blank: the default for the likely cause)",
    "preferences.use_patterns": "Use the traditional pattern layer",
    "preferences.pattern": "Pattern (traditional theory)",
}


def label_for(path: str) -> str:
    """The human label of an intake path (``red_flags.fever``), for pages that list findings."""
    if path in LABELS:
        return LABELS[path]
    last = path.rsplit(".", 1)[-1]
    return last.replace("_", " ").capitalize()


def field_name(path: str) -> str:
    """The form field name of an intake path: dots become double underscores."""
    return path.replace(".", "__")


MEASURE_PREFIX = "m__"
"""Baseline answers' field names start with this, apart from the findings' names."""


def measure_field(instrument: str, code: str) -> str:
    return f"{MEASURE_PREFIX}{instrument}__{code}"


def baseline_instruments(kb: KnowledgeBase) -> list[Instrument]:
    """Every instrument in the knowledge base except short forms (scored from their parent's
    answers), in the knowledge base's order."""
    return [i for i in kb.instruments.values() if i.derived_from is None]


# --- building fields from the core's models ------------------------------------------------------


def _optional(annotation: Any) -> tuple[Any, bool]:
    """(the type inside ``X | None``, whether None is allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in metadata:
        if isinstance(m, Ge):
            out["min_value"] = m.ge
        if isinstance(m, Le):
            out["max_value"] = m.le
    return out


def _enum_choices(enum: type[Enum], blank: str | None) -> list[tuple[str, str]]:
    choices = [(str(e.value), str(e.value).replace("_", " ").capitalize()) for e in enum]
    return [("", blank), *choices] if blank is not None else choices


class _QuestionSelect(forms.NullBooleanSelect):
    """Yes / no / not asked: a red-flag question left blank was not asked (issue 12), and the
    blank says so instead of Django's "Unknown"."""

    def __init__(self, attrs: dict[str, Any] | None = None, blank: str = "Not asked") -> None:
        super().__init__(attrs)
        self.choices = [("unknown", blank), ("true", "Yes"), ("false", "No")]


class _NumberField(forms.FloatField):
    """A float field that shows whole numbers without ``.0`` when re-rendered."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


def _model_field(
    path: str, annotation: Any, default: Any, metadata: list[Any], kb: KnowledgeBase
) -> forms.Field | None:
    inner, nullable = _optional(annotation)
    label = label_for(path)
    if path == "preferences.protocol":
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("", "Default for the likely cause")]
            + [(p.id, p.name) for p in kb.protocols.values()],
        )
    if path == "preferences.pattern":
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("", "None")] + [(p.id, p.name) for p in kb.patterns.values()],
        )
    if inner is bool and nullable:
        asked = path.startswith(("red_flags.", "injury."))
        widget = _QuestionSelect(blank="Not asked" if asked else "Not known")
        return forms.NullBooleanField(label=label, required=False, widget=widget)
    if inner is bool:
        return forms.BooleanField(label=label, required=False, initial=bool(default))
    if inner is int:
        return forms.IntegerField(label=label, required=not nullable, **_bounds(metadata))
    if inner is float:
        return _NumberField(label=label, required=not nullable, **_bounds(metadata))
    if isinstance(inner, type) and issubclass(inner, Enum):
        return forms.ChoiceField(
            label=label,
            required=not nullable,
            choices=_enum_choices(inner, "None" if nullable else "Choose..."),
        )
    if get_origin(inner) is list:
        (item,) = get_args(inner)
        if item is PainLocation:
            return forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=_enum_choices(PainLocation, None),
                widget=forms.CheckboxSelectMultiple,
            )
        if item is str:
            return forms.CharField(
                label=label, required=False, widget=forms.Textarea(attrs={"rows": 3})
            )
    return None  # handled by hand (skin lesions)


# --- the form ------------------------------------------------------------------------------------


@dataclass
class Section:
    title: str
    fields: list[str] = field(default_factory=list)


@dataclass
class MeasureGroup:
    instrument: Instrument
    fields: list[str] = field(default_factory=list)


@dataclass
class IntakeResult:
    """What a valid form computed through the core, ready to store."""

    intake: Intake
    screening: Screening
    assessment: Assessment
    answers: dict[str, dict[str, float | None]]
    scores: dict[str, Scores]


@dataclass(frozen=True)
class _Layout:
    """What the intake form asks, derived from the core's ``Intake`` and the knowledge base:
    its fields (each form gets copies, as Django copies declared fields), where each intake
    path is asked, the sections, the baseline instruments' groups and each field's step. It
    depends on nothing but the knowledge base, so it is built once per process (issue 15:
    building it took several milliseconds of every intake request)."""

    kb: KnowledgeBase
    fields: dict[str, forms.Field]
    paths: dict[str, str]
    by_prefix: dict[str, Section]
    measure_groups: list[MeasureGroup]
    step_of: dict[str, str]


class _LayoutBuilder:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.fields: dict[str, forms.Field] = {}
        self.paths: dict[str, str] = {}  # intake path -> form field name

    def build(self) -> _Layout:
        by_prefix = {STORY: Section("The patient's story")}
        by_prefix.update({prefix: Section(title) for prefix, title in SECTIONS})
        by_prefix[""].fields.append("visit_date")
        for name, label in HISTORY_FIELDS.items():
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=HISTORY_MAX_CHARS,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            by_prefix[STORY].fields.append(name)
        self._add_model_fields(Intake, "", by_prefix)
        for sites in SITE_LISTS:
            self._add_sites(sites, by_prefix["health"])
        measure_groups = []
        for inst in baseline_instruments(self.kb):
            group = MeasureGroup(inst)
            for item in inst.items:
                name = measure_field(inst.id, item.code)
                self.fields[name] = item_field(inst, item, "practitioner")
                group.fields.append(name)
            measure_groups.append(group)
        for made in self.fields.values():  # marked in words, not by colour or an asterisk
            _mark_required(made)
        step_of: dict[str, str] = {}
        for step in STEPS:
            for name in _fields_of(step, by_prefix, measure_groups):
                step_of[name] = step.slug
        return _Layout(self.kb, self.fields, self.paths, by_prefix, measure_groups, step_of)

    def _add_model_fields(
        self, model: type[CoreModel], prefix: str, sections: dict[str, Section]
    ) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            if path in _FROM_ELSEWHERE:
                continue
            inner, _ = _optional(info.annotation)
            if isinstance(inner, type) and issubclass(inner, CoreModel):
                self._add_model_fields(inner, f"{path}.", sections)
                continue
            made = _model_field(path, info.annotation, info.default, info.metadata, self.kb)
            if made is None:
                continue
            if path == "injury.days_ago":
                made.required = False  # no days: no injury recorded
            fname = field_name(path)
            self.fields[fname] = made
            self.paths[path] = fname
            sections[prefix.split(".", 1)[0] if prefix else ""].fields.append(fname)

    def _add_sites(self, sites: SiteList, section: Section) -> None:
        """Rows of region and side selects for a list of sites (skin lesions, numb areas)."""
        regions = [("", "None")] + [(r.id, r.name) for r in self.kb.regions.values()]
        sides = _enum_choices(Side, "Choose...")
        for i in range(sites.rows):
            region, side = f"{sites.prefix}_{i}_region", f"{sites.prefix}_{i}_side"
            self.fields[region] = forms.ChoiceField(
                label=f"{sites.label} {i + 1}: region", required=False, choices=regions
            )
            self.fields[side] = forms.ChoiceField(
                label=f"{sites.label} {i + 1}: side", required=False, choices=sides
            )
            self.paths[f"{sites.path}.{i}.region"] = region
            self.paths[f"{sites.path}.{i}.side"] = side
            self.paths[f"{sites.path}.{i}"] = region
            section.fields += [region, side]


def _mark_required(made: forms.Field) -> None:
    if made.required and made.label and not str(made.label).endswith(REQUIRED_MARK):
        made.label = f"{made.label}{REQUIRED_MARK}"


def _fields_of(
    step: Step, by_prefix: dict[str, Section], measure_groups: list[MeasureGroup]
) -> list[str]:
    out: list[str] = []
    for section in step.sections:
        if section == MEASURES:
            out += [n for g in measure_groups for n in g.fields]
        else:
            out += by_prefix[section].fields
    return out


_last_layout: list[_Layout] = []
"""The layout of the knowledge base last asked for (one: the app loads one knowledge base)."""


def _layout(kb: KnowledgeBase) -> _Layout:
    if not _last_layout or _last_layout[0].kb is not kb:
        _last_layout[:] = [_LayoutBuilder(kb).build()]
    return _last_layout[0]


class IntakeForm(Form):
    """The first visit. ``patient`` gives age (at the visit date) and sex."""

    visit_date = forms.DateField(label="Visit date", widget=IsoDateInput())
    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, patient: Any, kb: KnowledgeBase | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.kb = kb or load_knowledge()
        self.result: IntakeResult | None = None
        layout = _layout(self.kb)
        for made in self.fields.values():
            _mark_required(made)
        # The layout's fields are copied as the form reads them: a step's page reads a third.
        lazily = FieldsCopiedOnUse(
            layout.fields, own=self.fields, made=_mark_required, made_shows_only=True
        )
        self.fields = cast("dict[str, forms.Field]", lazily)  # a dict's interface, not its type
        self._lazily = lazily
        # Read-only after construction: shared by every form of the same knowledge base.
        self.paths = layout.paths
        self.by_prefix = layout.by_prefix
        self.sections = list(layout.by_prefix.values())
        self.measure_groups = layout.measure_groups
        self.step_of = layout.step_of

    # -- what templates render -----------------------------------------------------------------

    def section_fields(self) -> list[tuple[str, list[Any]]]:
        """(title, bound fields) per section of findings."""
        return [(s.title, [self[n] for n in s.fields]) for s in self.sections]

    def measure_fields(self) -> list[tuple[Instrument, list[Any]]]:
        """(instrument, bound fields) per baseline instrument."""
        return [(g.instrument, [self[n] for n in g.fields]) for g in self.measure_groups]

    # -- steps ----------------------------------------------------------------------------------

    def fields_of(self, step: Step) -> list[str]:
        """The names of the fields ``step`` asks, in page order."""
        return _fields_of(step, self.by_prefix, self.measure_groups)

    def step_sections(self, step: Step) -> list[tuple[str, list[Any]]]:
        """(title, bound fields) per section of findings that ``step`` shows."""
        return [
            (self.by_prefix[s].title, [self[n] for n in self.by_prefix[s].fields])
            for s in step.sections
            if s != MEASURES
        ]

    def error_steps(self) -> list[Step]:
        """The steps with a field in error, in order (validates the form if not yet done)."""
        slugs = {self.step_of.get(name) for name in self.errors}
        return [s for s in STEPS if s.slug in slugs]

    def error_summary(self, shown: Step | None) -> list[dict[str, str]]:
        """One line per error, in page order, for the error summary at the top of the page:
        the field's label and the message, and a link to the field (on this page: its
        ``#id``; on another step: that step, checked again, then its ``#id``)."""
        out: list[dict[str, str]] = []
        for message in self.non_field_errors():
            out.append({"text": str(message), "href": ""})
        order = {name: i for i, name in enumerate(self.fields)}
        for name in sorted((n for n in self.errors if n in self.fields), key=order.__getitem__):
            label = str(self.fields[name].label or name).removesuffix(REQUIRED_MARK)
            slug = self.step_of.get(name, "")
            anchor = f"#{self[name].auto_id}"
            href = (
                anchor if shown is None or slug == shown.slug else f"?step={slug}&check=1{anchor}"
            )
            for message in self.errors[name]:
                out.append({"text": f"{label}: {message}", "href": href})
        return out

    def data_of_initial(self) -> dict[str, list[str]]:
        """What a browser would submit for this unbound form as shown (its initial values), so
        a draft can start from the pre-filled answers."""
        out: dict[str, list[str]] = {}
        for name, fld in self.fields.items():
            value = self[name].value()
            out[name] = _as_submitted(fld, value)
        return out

    def initial_from_data(self, data: dict[str, list[str]]) -> dict[str, Any]:
        """A draft's raw answers as this form's initial values, to show them again unchecked
        (an unbound form: the page does not greet the practitioner with errors)."""
        query = as_query(data)
        return {
            name: fld.widget.value_from_datadict(query, {}, name)
            for name, fld in self.fields.items()
            if name in data
        }

    # -- validation through the core ------------------------------------------------------------

    def clean_visit_date(self) -> dt.date:
        """The visit date as the care layer checks it (not after today, not before the birth
        date), said of the date: the core would otherwise refuse the age it gives ("Age at this
        visit must be 0 or more") for a date before the birth."""
        visit: dt.date = self.cleaned_data["visit_date"]
        born = self.patient.date_of_birth if self.patient is not None else None
        try:
            check_date(
                visit, "visit_date", "visit", not_before=(born, "the birth date") if born else None
            )
        except InvalidDate as exc:
            raise forms.ValidationError(str(exc)) from exc
        return visit

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # An answer outside its scale is refused by its radio field; the findings are still
        # checked, so that every error is shown at once. Any other field error stops here.
        if any(not name.startswith(MEASURE_PREFIX) for name in self.errors):
            return data
        visit: dt.date = data["visit_date"]
        intake_data = self._intake_data(data, visit)
        answers = self._answers(data)
        scores: dict[str, Scores] = {}
        for inst_id, inst_answers in answers.items():
            try:
                scores[inst_id] = score(inst_id, inst_answers, self.kb)
            except ClinicalError as exc:
                self._core_errors(exc, measurement=True)
        answers_valid = len(scores) == len(answers)
        try:
            intake = Intake.model_validate({**intake_data, "baseline": answers})
        except ValidationError as exc:
            self._pydantic_errors(exc, skip_baseline=not answers_valid)
            return data
        if self.errors:
            return data
        try:
            screening = screen(intake, self.kb)
            assessment = assess(intake, self.kb)
            # A dry run of the planner, so a preference it cannot honour (a protocol for another
            # cause) is reported here, next to the field, not later when a plan is proposed.
            plan(intake, screening, assessment, start=visit, kb=self.kb)
        except (InvalidInput, InvalidInputs) as exc:
            self._core_errors(exc)
            return data
        self.result = IntakeResult(intake, screening, assessment, answers, scores)
        return data

    def _intake_data(self, data: dict[str, Any], visit: dt.date) -> dict[str, Any]:
        out: dict[str, Any] = {
            "age": self.patient.age_on(visit),
            "sex": self.patient.sex or "unknown",
        }
        site_fields = tuple(f"{sites.prefix}_" for sites in SITE_LISTS)
        for path, fname in self.paths.items():
            if fname.startswith(site_fields):
                continue
            value = data.get(fname)
            if value is None or value == "" or value == []:
                continue
            if isinstance(self._lazily.for_cleaning(fname).widget, forms.Textarea):
                value = [line.strip() for line in str(value).splitlines() if line.strip()]
                if not value:
                    continue
            _put(out, path, value)
        injury = out.get("injury")
        if injury is not None and "days_ago" not in injury:
            if any(injury.values()):
                self.add_error(
                    "injury__days_ago", "Give the days since the injury, or untick its findings."
                )
            out.pop("injury")
        for sites in SITE_LISTS:
            listed = self._sites(data, sites)
            if listed:
                _put(out, sites.path, listed)
        return out

    def _sites(self, data: dict[str, Any], sites: SiteList) -> list[dict[str, str]]:
        """The complete rows of ``sites``; a row with only a region or only a side is an error
        on the missing half."""
        out = []
        for i in range(sites.rows):
            name = f"{sites.prefix}_{i}"
            region, side = data.get(f"{name}_region"), data.get(f"{name}_side")
            if region and not side:
                self.add_error(f"{name}_side", f"Choose the side of this {sites.noun}.")
            elif side and not region:
                self.add_error(f"{name}_region", f"Choose the region of this {sites.noun}.")
            elif region and side:
                out.append({"region": region, "side": side})
        return out

    def _answers(self, data: dict[str, Any]) -> dict[str, dict[str, float | None]]:
        """Answers of each instrument with at least one item filled (blank items are None)."""
        out: dict[str, dict[str, float | None]] = {}
        for group in self.measure_groups:
            inst = group.instrument
            values = {item.code: data.get(measure_field(inst.id, item.code)) for item in inst.items}
            if any(v is not None for v in values.values()):
                out[inst.id] = values
        return out

    def _pydantic_errors(self, exc: ValidationError, *, skip_baseline: bool) -> None:
        """Map the core model's errors to fields; answer errors come from ``score`` already
        when ``skip_baseline``, so they are not shown twice."""
        for err in exc.errors():
            loc = [str(part) for part in err["loc"]]
            message = in_words(err)
            if loc and loc[0] == "baseline":
                if not skip_baseline:
                    where, _, problem = message.partition(": ")
                    self._error_at(f"baseline.{where}", problem or message)
                continue
            self._error_at(".".join(loc), message)

    def _core_errors(self, exc: ClinicalError, *, measurement: bool = False) -> None:
        errors = exc.errors if isinstance(exc, InvalidInputs) else [exc]
        for err in errors:
            if not isinstance(err, InvalidInput):
                self.add_error(None, str(err))
                continue
            if measurement and "." in err.field:
                inst, code = err.field.split(".", 1)
                fname = measure_field(inst, code)
                if fname in self.fields:
                    self.add_error(fname, err.problem)
                    continue
            self._error_at(err.field, err.problem)

    def _error_at(self, path: str, message: str) -> None:
        """Attach a core error to the field its path names (``age`` is the visit date's)."""
        if path == "age":
            self.add_error("visit_date", f"Age at this visit {message}.")
            return
        if path.startswith("baseline."):
            parts = path.split(".")
            if len(parts) >= 3 and measure_field(parts[1], parts[2]) in self.fields:
                self.add_error(measure_field(parts[1], parts[2]), message)
                return
        if path in self.paths:
            self.add_error(self.paths[path], message)
            return
        # A model-level error (e.g. on ``health``): the field its message names first.
        named = [
            (message.find(candidate.rsplit(".", 1)[-1]), fname)
            for candidate, fname in self.paths.items()
            if candidate.startswith(f"{path}.") and candidate.rsplit(".", 1)[-1] in message
        ]
        if named:
            self.add_error(min(named)[1], message)
            return
        self.add_error(None, f"{label_for(path) if path else 'Intake'}: {message}")


def as_query(data: dict[str, list[str]]) -> QueryDict:
    """Raw answers (name -> submitted values) as the ``QueryDict`` a form is bound to."""
    query = QueryDict(mutable=True)
    for name, values in data.items():
        query.setlist(name, [str(v) for v in values])
    return query


def _as_submitted(fld: forms.Field, value: Any) -> list[str]:
    """A value as the strings its widget would submit."""
    if isinstance(fld, forms.NullBooleanField):
        return {True: ["true"], False: ["false"]}.get(value, [])
    if isinstance(fld, forms.BooleanField):
        return ["on"] if value else []
    if isinstance(fld, forms.MultipleChoiceField):
        return [str(v) for v in value or []]
    if value is None or value == "":
        return []
    if isinstance(value, dt.date):
        return [value.isoformat()]
    return [str(value)]


NOT_CARRIED = ("red_flags.", "injury.")
"""Intake paths a repeat intake does not pre-fill: a red-flag answer is true of the day it was
asked, so each question is asked again (a carried-forward "no" would record today a question
nobody asked today: HAZ-84 in the hazard log). The previous answer is shown beside it."""

DATED_PATHS = {"knee_surgery_days_ago", "joint_injection_days_ago", "health.pregnancy_weeks"}
"""Counts of days or weeks before a visit: wrong on any later day, so carried moved on by the
days since the previous visit (a surgery 40 days before it is 130 days before today, 90 days
later), and shown beside the field with the previous value."""

PREGNANCY_WEEKS_CARRIED = 42
"""A pregnancy that would be past this many weeks today is not carried forward in weeks: the
practitioner asks (the ``pregnant`` box itself stays ticked until unticked)."""


def _carried(path: str) -> bool:
    return not path.startswith(NOT_CARRIED) and path not in DATED_PATHS


def _moved_on(path: str, value: Any, elapsed_days: int) -> Any:
    """A count of days or weeks before the previous visit, as counted from today."""
    if path == "health.pregnancy_weeks":
        weeks = int(value) + elapsed_days // 7
        return weeks if weeks <= PREGNANCY_WEEKS_CARRIED else None
    return min(int(value) + elapsed_days, 36500)


def _value_at(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def initial_from_intake(
    form: IntakeForm,
    data: dict[str, Any],
    history: dict[str, str] | None = None,
    *,
    elapsed_days: int = 0,
) -> dict[str, Any]:
    """A stored intake's answers as the form's initial data, so a new intake starts from the
    previous one (``elapsed_days`` before today) for review. The baseline questionnaires are
    asked afresh, the red-flag and injury questions are not carried (``NOT_CARRIED``) and
    counts of days or weeks are moved on (``DATED_PATHS``); ``previous_answers`` shows the
    previous value beside each of those."""
    out: dict[str, Any] = {}
    site_fields = tuple(f"{sites.prefix}_" for sites in SITE_LISTS)
    for path, fname in form.paths.items():
        if fname.startswith(site_fields) or path.startswith(NOT_CARRIED):
            continue
        value = _value_at(data, path)
        if value is not None and path in DATED_PATHS:
            value = _moved_on(path, value, elapsed_days)
        if value is None:
            continue
        if isinstance(value, list) and isinstance(form.fields[fname].widget, forms.Textarea):
            value = "\n".join(str(v) for v in value)
        out[fname] = value
    for sites in SITE_LISTS:
        rows = _value_at(data, sites.path) or []
        for i, site in enumerate(rows[: sites.rows]):
            out[f"{sites.prefix}_{i}_region"] = site.get("region")
            out[f"{sites.prefix}_{i}_side"] = site.get("side")
    for name in HISTORY_FIELDS:
        if (history or {}).get(name):
            out[name] = (history or {})[name]
    return out


def previous_answers(form: IntakeForm, data: dict[str, Any], visit: dt.date) -> dict[str, str]:
    """Field name -> what the previous intake (of ``visit``) recorded, for the fields a repeat
    intake does not pre-fill, so the practitioner can ask again knowing the last answer."""
    out: dict[str, str] = {}
    when = visit.isoformat()
    for path, fname in form.paths.items():
        if _carried(path) or fname.startswith(tuple(f"{s.prefix}_" for s in SITE_LISTS)):
            continue
        value = _value_at(data, path)
        if value is None and not path.startswith("red_flags."):
            continue  # no injury, no surgery, not pregnant: nothing to ask about again
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif value is None:
            shown = "not asked"
        else:
            shown = str(value)
        if path in DATED_PATHS:
            unit = "weeks" if path.endswith("weeks") else "days"
            out[fname] = f"Previous intake ({when}): {shown} {unit} before that visit."
            continue
        out[fname] = f"Previous intake ({when}): {shown}. Ask again today."
    return out


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
