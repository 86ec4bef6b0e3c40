"""What a practitioner records at the first visit: the single input of ``screen``, ``assess``
and ``plan``.

Every finding defaults to "not known" (``None``; a few health items to ``False``) so that a short
intake is valid; rules only fire on findings that were actually recorded. Red-flag questions are
yes / no / not asked, and ``unanswered_red_flags`` lists those not asked. Field names are the
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
    ConsentBy,
    Immunosuppression,
    Method,
    PainLocation,
    Sex,
    Side,
)

Question = bool | None
"""A yes / no question that may not have been asked: True, False, or None (not asked)."""

Answers = dict[str, StrictFloat | None]
"""One instrument's answers: item code -> value (or None when the item was skipped). Strict, so a
boolean or a numeric string is rejected naming the item instead of being read as 1, 0 or 2."""


class Injury(CoreModel):
    """An injury and the Ottawa knee rule items (Stiell 1995, Ann Emerg Med 26:405).

    Each item is yes / no / not asked (``None``): "not asked" is never read as "no". The Ottawa
    rule is applied only to injuries of the last 7 days (``days_ago`` <= 7), the acute injuries it
    was derived for."""

    days_ago: Annotated[int, Field(ge=0, le=36500)]
    fibular_head_tenderness: Question = Field(None, description="Fibular head tenderness")
    isolated_patellar_tenderness: Question = Field(
        None, description="Isolated tenderness of the patella (no other bony tenderness)"
    )
    cannot_flex_to_90: Question = Field(None, description="Cannot flex the knee to 90 degrees")
    cannot_bear_weight_four_steps: Question = Field(
        None, description="Cannot bear weight for four steps (now and at the injury)"
    )
    effusion_within_2_hours: Question = Field(
        None, description="Swelling within 2 hours of the injury"
    )
    visible_deformity: Question = Field(None, description="Visible deformity after the injury")
    patellar_dislocation: Question = Field(None, description="Traumatic patellar dislocation")


class WellsDvtItems(CoreModel):
    """The items of the two-level DVT Wells score (Wells 2003, NEJM 349:1227, as tabled by NICE),
    each yes / no / not asked. The score is computed from the items that were recorded by the rule
    in ``knowledge/safety.toml``; ``RedFlagFindings.wells_dvt_score`` stays as a manual fallback.
    Calf swelling of at least 3 cm and localised deep-vein tenderness are separate items here
    because the score counts them separately."""

    active_cancer: Question = Field(
        None, description="Active cancer (treatment ongoing, within 6 months, or palliative)"
    )
    paralysis_paresis_or_plaster: Question = Field(
        None, description="Paralysis, paresis or recent plaster immobilisation of the legs"
    )
    bedridden_3_days_or_major_surgery_12_weeks: Question = Field(
        None,
        description=(
            "Recently bedridden for 3 days or more, or major surgery within 12 weeks "
            "(general or regional anaesthesia)"
        ),
    )
    deep_vein_tenderness: Question = Field(
        None, description="Localised tenderness along the deep veins"
    )
    entire_leg_swollen: Question = Field(None, description="Entire leg swollen")
    calf_swelling_3cm: Question = Field(
        None, description="Calf swelling at least 3 cm larger than the other side"
    )
    pitting_oedema: Question = Field(
        None, description="Pitting oedema confined to the symptomatic leg"
    )
    collateral_superficial_veins: Question = Field(
        None, description="Collateral superficial veins (not varicose)"
    )
    previous_dvt: Question = Field(None, description="Previously documented DVT")
    alternative_diagnosis_as_likely: Question = Field(
        None, description="An alternative diagnosis is at least as likely as DVT"
    )


class RedFlagFindings(CoreModel):
    """Findings that point to a condition needing referral instead of needles.

    Every question is three-valued: ``True`` (asked: yes), ``False`` (asked: no) or ``None`` (not
    asked). Records stored before this distinction kept ``False`` for every unticked box, and
    still load as "asked: no"; new records keep "not asked" apart (issue 12, section 4).
    ``unanswered_red_flags`` lists the questions left unanswered."""

    fever: Question = Field(None, description="Fever")
    systemically_unwell: Question = Field(None, description="Systemically unwell")
    hot_swollen_knee: Question = Field(None, description="Hot, swollen knee")
    raised_inflammatory_markers: Question = Field(
        None, description="Raised inflammatory markers (CRP or ESR)"
    )
    unable_straight_leg_raise: Question = Field(
        None, description="Unable to do a straight-leg raise"
    )
    true_locking: Question = Field(None, description="True locking of the knee")
    calf_swelling_or_tenderness: Question = Field(None, description="Calf swelling or tenderness")
    unilateral_leg_swelling: Question = Field(None, description="Swelling of one leg")
    leg_swelling_explained_by_lymphoedema: Question = Field(
        None,
        description=(
            "The swollen leg is the leg with known, stable lymphoedema, and the swelling is "
            "unchanged"
        ),
    )
    wells_dvt_score: Annotated[int | None, Field(ge=-2, le=9)] = None
    wells: WellsDvtItems = WellsDvtItems()
    night_or_unremitting_pain: Question = Field(None, description="Night or unremitting pain")
    bone_pain_away_from_joint_line: Question = Field(
        None,
        description=(
            "Persistent, unexplained bone pain at rest or at night, away from the joint line"
        ),
    )
    palpable_mass: Question = Field(None, description="A palpable mass")
    unexplained_weight_loss: Question = Field(None, description="Unexplained weight loss")
    history_of_cancer: Question = Field(None, description="History of cancer")
    other_joints_swollen: Question = Field(None, description="Other joints swollen")
    small_joints_hands_feet_swollen: Question = Field(
        None, description="Small joints of the hands or feet swollen"
    )
    swollen_joint_weeks: Annotated[
        float | None,
        Field(
            ge=0,
            le=5200,
            description=(
                "Joint swelling of undetermined cause (suspected synovitis): weeks since it began"
            ),
        ),
    ] = None
    cold_pale_limb: Question = Field(None, description="Cold, pale leg")
    absent_foot_pulses: Question = Field(None, description="Absent foot pulses")
    numbness_or_foot_drop: Question = Field(None, description="Numbness or foot drop")
    claudication: Question = Field(None, description="Claudication (calf pain on walking)")
    unable_to_walk: Question = Field(None, description="Unable to walk")
    rapidly_worsening_deformity: Question = Field(None, description="Rapidly worsening deformity")
    pulsatile_popliteal_mass: Question = Field(
        None, description="Pulsatile mass behind the knee (popliteal fossa)"
    )
    compartment_syndrome_signs: Question = Field(
        None,
        description=(
            "Signs of compartment syndrome: pain out of proportion, pain on passive stretch, "
            "a tense swollen calf"
        ),
    )
    limp: Question = Field(None, description="Limp")


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
    tibial_tubercle_tenderness: bool | None = None
    abnormal_hip_examination: bool | None = None


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
    knee_surgery_days_ago: Annotated[int | None, Field(ge=0, le=36500)] = None
    joint_injection_days_ago: Annotated[int | None, Field(ge=0, le=36500)] = None
    consent_given_by: ConsentBy | None = None
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


class UnansweredQuestion(CoreModel):
    """A red-flag question left unanswered: its intake path and the question in words."""

    field: str
    question: str


def unanswered_red_flags(intake: Intake) -> list[UnansweredQuestion]:
    """The yes / no red-flag questions not asked in ``intake`` (``None``), in form order.

    Covers every question of ``red_flags`` and, when an injury is recorded, the Ottawa and injury
    questions of ``injury``. The Wells items and numbers (scores, weeks) are not questions every
    patient is asked, so they are left out. The core only reports the list: whether planning may
    go ahead with questions unanswered is the caller's decision (the CLI accepts short intakes).
    """
    follow_ups = {"leg_swelling_explained_by_lymphoedema"}  # asked only after a swollen leg
    groups: list[tuple[str, CoreModel]] = [("red_flags", intake.red_flags)]
    if intake.injury is not None:
        groups.insert(0, ("injury", intake.injury))
    out: list[UnansweredQuestion] = []
    for prefix, model in groups:
        for name, info in type(model).model_fields.items():
            if name in follow_ups or info.annotation != Question:
                continue
            if getattr(model, name) is not None:
                continue
            question = info.description or name.replace("_", " ").capitalize()
            out.append(UnansweredQuestion(field=f"{prefix}.{name}", question=question))
    return out


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
