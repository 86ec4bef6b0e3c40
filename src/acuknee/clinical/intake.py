"""What a practitioner records at the first visit: the single input of ``screen``, ``assess``
and ``plan``.

Every finding defaults to "not present" (``False``) or "not known" (``None``) so that a short
intake is valid; rules only fire on findings that were actually recorded. Field names are the
paths that rules in ``knowledge/*.toml`` refer to (``red_flags.fever``, ``health.pregnant``...).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictFloat, field_validator, model_validator

from acuknee.clinical.base import CoreModel
from acuknee.clinical.vocabulary import (
    Anticoagulant,
    Antiplatelet,
    BleedingDisorder,
    Immunosuppression,
    Method,
    PainLocation,
    Sex,
    Side,
)

Answers = dict[str, StrictFloat | None]
"""One instrument's answers: item code -> value (or None when the item was skipped). Strict, so a
boolean or a numeric string is rejected naming the item instead of being read as 1, 0 or 2."""


class Injury(CoreModel):
    """An acute injury and the Ottawa knee rule items (Stiell 1995, Ann Emerg Med 26:405)."""

    days_ago: Annotated[int, Field(ge=0, le=36500)]
    fibular_head_tenderness: bool = False
    isolated_patellar_tenderness: bool = False
    cannot_flex_to_90: bool = False
    cannot_bear_weight_four_steps: bool = False
    effusion_within_2_hours: bool = False
    visible_deformity: bool = False
    patellar_dislocation: bool = False


class RedFlagFindings(CoreModel):
    """Findings that point to a condition needing referral instead of needles."""

    fever: bool = False
    systemically_unwell: bool = False
    hot_swollen_knee: bool = False
    raised_inflammatory_markers: bool = False
    unable_straight_leg_raise: bool = False
    true_locking: bool = False
    calf_swelling_or_tenderness: bool = False
    unilateral_leg_swelling: bool = False
    wells_dvt_score: Annotated[int | None, Field(ge=-2, le=9)] = None
    night_or_unremitting_pain: bool = False
    palpable_mass: bool = False
    unexplained_weight_loss: bool = False
    history_of_cancer: bool = False
    other_joints_swollen: bool = False
    cold_pale_limb: bool = False
    absent_foot_pulses: bool = False
    numbness_or_foot_drop: bool = False
    claudication: bool = False
    unable_to_walk: bool = False
    rapidly_worsening_deformity: bool = False


class SkinSite(CoreModel):
    """A patch of unhealthy skin (infection, wound, eczema) by knowledge-base region and side."""

    region: str
    side: Side


class Health(CoreModel):
    """Overall health, medications and devices that change what may be needled.

    Records saved before the second safety pass stored ``anticoagulant`` and
    ``bleeding_disorder`` as yes/no. They still load: ``true`` becomes ``unspecified`` (taken or
    present, which one not recorded, so every rule for it still applies) and ``false`` becomes
    ``None`` (none recorded). Laboratory values are the latest known, ``None`` when unknown.
    """

    anticoagulant: Anticoagulant | None = None
    antiplatelet: Antiplatelet | None = None
    bleeding_disorder: BleedingDisorder | None = None
    thrombocytopenia: bool = False
    platelet_count_10e9_per_l: Annotated[float | None, Field(ge=0, le=2000)] = None
    """Latest platelet count, x 10^9 per litre (the same number as thousands per mm3)."""
    inr: Annotated[float | None, Field(ge=0.5, le=20)] = None
    """Latest INR (international normalised ratio), for a patient on warfarin."""
    pregnant: bool = False
    pregnancy_weeks: Annotated[int | None, Field(ge=0, le=45)] = None
    implanted_electronic_device: bool = False
    epilepsy: bool | None = None
    metal_allergy: bool | None = None
    """Allergy to nickel or another needle metal (stainless steel needles contain nickel)."""
    knee_prosthesis: Side | None = None
    skin_lesions: list[SkinSite] = []
    lymphoedema_leg: Side | None = None
    varicose_veins: Side | None = None
    immunosuppressed: bool = False
    immunosuppression: Immunosuppression | None = None
    neutropenia: bool = False
    neutrophil_count_10e9_per_l: Annotated[float | None, Field(ge=0, le=100)] = None
    """Latest neutrophil count, x 10^9 per litre (0.5 is 500 per mm3)."""
    treating_team_agrees: bool | None = None
    """The oncology, haematology or other treating team agreed to needling (None: not asked)."""
    diabetes: bool = False
    peripheral_neuropathy: bool = False
    reduced_sensation_sites: list[SkinSite] = []
    """Numb areas (reduced sensation) by knowledge-base region and side."""
    needle_phobia: bool = False
    syncope_history: bool = False
    able_to_consent: bool = True
    malignancy_near_knee: Side | None = None
    medications: list[str] = []
    devices: list[str] = []

    @field_validator("anticoagulant", "bleeding_disorder", mode="before")
    @classmethod
    def _old_yes_no(cls, value: Any) -> Any:
        """An old record's ``true`` is "unspecified" (the rules still apply), ``false`` is none."""
        if value is True:
            return "unspecified"
        if value is False:
            return None
        return value

    @model_validator(mode="after")
    def _pregnancy_weeks_need_pregnancy(self) -> Health:
        if self.pregnancy_weeks is not None and not self.pregnant:
            raise ValueError("pregnancy_weeks is given but pregnant is false")
        return self


class Examination(CoreModel):
    """Examination findings: the ACR 1986 clinical items and the signs that separate causes."""

    pain_location: list[PainLocation] = []
    crepitus: bool | None = None
    bony_tenderness: bool | None = None
    bony_enlargement: bool | None = None
    palpable_warmth: bool | None = None
    pain_squatting_stairs_or_sitting: bool | None = None
    patellar_tendon_inferior_pole_tenderness: bool | None = None
    pain_with_jumping_or_loading: bool | None = None
    pes_anserine_tenderness: bool | None = None
    lateral_epicondyle_tenderness: bool | None = None
    lateral_pain_with_running_or_cycling: bool | None = None
    effusion_present: bool | None = None


class Investigations(CoreModel):
    """Laboratory and X-ray findings, when the patient has them."""

    esr_mm_per_hour: Annotated[float | None, Field(ge=0, le=200)] = None
    rheumatoid_factor_below_1_in_40: bool | None = None
    synovial_fluid_signs_of_oa: bool | None = None
    xray_osteophytes: bool | None = None
    kellgren_lawrence_grade: Annotated[int | None, Field(ge=0, le=4)] = None


class Preferences(CoreModel):
    """What the practitioner asks of the planner; all optional."""

    method: Method | None = None
    protocol: str | None = None
    use_patterns: bool = False
    pattern: str | None = None


class Intake(CoreModel):
    """The first visit. ``baseline`` holds instrument answers keyed by instrument id."""

    age: Annotated[int, Field(ge=0, le=120)]
    sex: Sex = Sex.UNKNOWN
    side: Side
    duration_weeks: Annotated[float, Field(ge=0, le=5200)]
    activity_related_pain: bool | None = None
    morning_stiffness_minutes: Annotated[int | None, Field(ge=0, le=1440)] = None
    injury: Injury | None = None
    red_flags: RedFlagFindings = RedFlagFindings()
    health: Health = Health()
    examination: Examination = Examination()
    investigations: Investigations = Investigations()
    baseline: dict[str, Answers] = {}
    preferences: Preferences = Preferences()

    @field_validator("baseline")
    @classmethod
    def _baseline_answers_are_valid(cls, baseline: dict[str, Answers]) -> dict[str, Answers]:
        """Check every baseline answer against its instrument now, not later in ``assess``."""
        # Imported here: the knowledge base itself imports this module for its field paths.
        from acuknee.clinical.errors import InvalidInput, InvalidInputs
        from acuknee.clinical.instruments import validate_answers

        problems: list[str] = []
        for instrument, answers in baseline.items():
            try:
                validate_answers(instrument, answers)
            except InvalidInputs as exc:
                problems += [str(e) for e in exc.errors]
            except InvalidInput as exc:
                problems.append(
                    f"{instrument}: {exc.problem}" if exc.field == "instrument" else str(exc)
                )
        if problems:
            raise ValueError("; ".join(problems))
        return baseline

    @property
    def pain_sides(self) -> tuple[Side, ...]:
        return self.side.single_sides()


def field_paths(model: type[CoreModel] = Intake, prefix: str = "") -> set[str]:
    """Every dotted path a rule may name, so bad paths in the data fail at load time."""
    paths: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.add(path)
        annotation: Any = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, CoreModel):
                paths |= field_paths(candidate, f"{path}.")
    return paths
