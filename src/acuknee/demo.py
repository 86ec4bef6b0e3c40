"""The demo clinic: synthetic staff and patients at every stage of a course, for trying the app.

Every clinical record is built through the clinical core (``screen``, ``assess``, ``plan``,
``score``, ``SessionRecord``), so what is stored is exactly what the app would store for a real
visit. Nothing here is a real person: names are invented, every patient has ``synthetic=True``
and the clinics say "(synthetic)" in their names. Dates are relative to ``today``, which the caller
passes in, and randomness comes from one seeded generator, so a given day and seed always produce
the same data.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from acuknee.care import services
from acuknee.care.queries import current_consent
from acuknee.clinical import (
    Assessment,
    Intake,
    Plan,
    Screening,
    SessionRecord,
    load_knowledge,
    plan,
)
from acuknee.clinical.consent import EXPLAINABLE_RISKS, Consent
from acuknee.clinical.intake import unanswered_red_flags
from acuknee.clinical.sessions import AdverseEvent, Depth, ElectroPair, NeedledPoint, NeedleType
from acuknee.clinical.vocabulary import AdverseEventKind, ConsentBy, Method, Severity
from acuknee.records.models import (
    Clinic,
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    Role,
    SelfReportLink,
    SessionAmendment,
    StaffProfile,
    TreatmentConsent,
    TreatmentSession,
)

DEMO_CLINIC_NAME = "Demo Clinic (synthetic)"
DEMO_CLINIC_SLUG = "demo"
OTHER_CLINIC_NAME = "Riverside Clinic (synthetic)"
OTHER_CLINIC_SLUG = "demo-riverside"
DEFAULT_SEED = 2026

# (username, clinic slug or None, role value); the password is password_for(username).
DEMO_USERS: tuple[tuple[str, str | None, str], ...] = (
    ("practitioner", DEMO_CLINIC_SLUG, "practitioner"),
    ("frontdesk", DEMO_CLINIC_SLUG, "front_desk"),
    ("clinicadmin", DEMO_CLINIC_SLUG, "clinic_admin"),
    ("researcher", None, "researcher"),
    ("riverside", OTHER_CLINIC_SLUG, "practitioner"),
)

# Instruments measured at intake and at each reassessment.
VISIT_INSTRUMENTS = (
    "koos",
    "pain_nrs",
    "patient_global",
    "pss4",
    "sleep_quality",
    "chair_stand_30s",
    "timed_up_and_go",
)

GIVEN_NAMES = (
    "Alder", "Briony", "Cato", "Delphine", "Ember", "Florin", "Gwilym", "Hesper", "Ione",
    "Jarrah", "Kestrel", "Linnea", "Marlo", "Niamh", "Orrin", "Perpetua", "Quill", "Rosalind",
    "Sorrel", "Tamsin", "Ulric", "Verity", "Wystan", "Xanthe", "Yarrow", "Zephyrine", "Ansel",
    "Bettany", "Corwin", "Dagny", "Elowen", "Fenwick", "Greer", "Hollis",
)  # fmt: skip
FAMILY_NAMES = (
    "Applewhite", "Brackenbury", "Cindermoss", "Dunlevy", "Eddington-Vale", "Farthingale",
    "Gorsedown", "Hartwell", "Inchbold", "Juniperfield", "Kettleby", "Larkspur", "Mossgrove",
    "Nettlefold", "Oakhurst", "Pembleton", "Quarrington", "Rookwood", "Saltmarsh", "Thistlewood",
    "Underhay", "Vellacott", "Winterbourne", "Yewdale", "Ashcombe", "Brambleigh", "Coldharbour",
    "Dimmock", "Elmsworth", "Fallowfield", "Greystoke", "Hazeldene", "Ivybridge", "Kingsmere",
)  # fmt: skip


def password_for(username: str) -> str:
    """Demo passwords are public by design (printed by ``load_demo``); never use them elsewhere."""
    return f"demo-{username}-2026"


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    clinic: str


@dataclass
class DemoResult:
    created: bool
    logins: list[Login] = field(default_factory=list)
    patients: int = 0
    stages: dict[str, int] = field(default_factory=dict)


# --- building records through the clinical core ------------------------------------------------


def _aware(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _backdate(record: Any, day: dt.date) -> None:
    """Creation timestamps follow the synthetic visit date, so the history reads like a course."""
    when = _aware(day)
    type(record).objects.filter(pk=record.pk).update(created_at=when, updated_at=when)


def record_measurement(
    patient: Patient,
    instrument: str,
    answers: dict[str, float | None],
    day: dt.date,
    user: User | None,
    origin: str = "clinic",
) -> Measurement:
    """Score ``answers`` with the core and store them with their scores."""
    (measurement,) = services.record_measurements(
        patient, user, day, {instrument: answers}, origin=origin
    )
    _backdate(measurement, day)
    return measurement


def every_red_flag_asked(intake: Intake) -> Intake:
    """``intake`` with every red-flag question it left unasked answered no (synthetic data)."""
    data = intake.model_dump(mode="json")
    for question in unanswered_red_flags(intake):
        group, name = question.field.split(".")
        data[group][name] = False
    return Intake.model_validate(data)


def record_intake(
    patient: Patient, intake: Intake, visit_date: dt.date, user: User | None
) -> IntakeRecord:
    """Store an intake with the screening and assessment the core computes from it, and its
    baseline answers as scored measurements of the same day. The demo's practitioner asked
    every red-flag question: those the synthetic patient does not have are answered no."""
    intake = every_red_flag_asked(intake)
    record = services.record_intake(patient, user, visit=visit_date, intake=intake)
    _backdate(record, visit_date)
    for m in patient.measurements.filter(measured_on=visit_date):
        _backdate(m, visit_date)
    return record


def record_plan(
    intake_record: IntakeRecord, start: dt.date, user: User | None, *, sign: bool = True
) -> PlanRecord | None:
    """Propose a plan with the core from the stored intake and sign it (or leave a draft).

    Returns None when the core refuses to plan (a referral), as the clinic app would.
    """
    intake = Intake.model_validate(intake_record.data)
    proposed = plan(
        intake,
        Screening.model_validate(intake_record.screening),
        Assessment.model_validate(intake_record.assessment),
        start=start,
    )
    if proposed.status != "proposed":
        return None
    record = services.propose_plan(intake_record, user, start)
    if sign:
        services.sign_plan(record, user, record.version, at=_aware(intake_record.visit_date, 11))
        record_consent(intake_record, user)
    _backdate(record, intake_record.visit_date)
    return record


def record_consent(intake_record: IntakeRecord, user: User | None) -> None:
    """The demo patient's informed consent, taken at the intake visit before the first session
    (by a parent or guardian when the intake says so), unless one is on record already."""
    patient = intake_record.patient
    if current_consent(patient) is not None:
        return
    intake = Intake.model_validate(intake_record.data)
    guardian = intake.consent_given_by is ConsentBy.PARENT_OR_GUARDIAN
    consent = Consent(
        given_on=intake_record.visit_date,
        given_by=ConsentBy.PARENT_OR_GUARDIAN if guardian else ConsentBy.PATIENT,
        guardian_name="A. Parent (synthetic)" if guardian else None,
        risks_explained=list(EXPLAINABLE_RISKS),
    )
    services.record_consent(patient, user, consent)


_ANGLES = ("perpendicular", "oblique", "transverse")


def session_from_plan(
    content: Plan,
    number: int,
    day: dt.date,
    *,
    pain_before: int,
    pain_after: int,
    practitioner: str,
    adverse_events: Iterable[AdverseEvent] = (),
    note: str | None = None,
) -> SessionRecord:
    """The session as delivered when the practitioner follows the signed plan."""
    electro = {code for pair in content.electro_pairs for code in pair}
    method = content.method or Method.MANUAL
    points = []
    for planned in content.points:
        angle = next((a for a in _ANGLES if planned.angle.startswith(a)), None)
        depth = planned.depth_cun_min or planned.depth_cun_max
        if method is Method.ELECTRO:
            stimulation = Method.ELECTRO if planned.code in electro else Method.MANUAL
        else:
            stimulation = method
        points.append(
            NeedledPoint(
                code=planned.code,
                side=planned.side,
                depth=Depth(value=depth, unit="cun") if depth else None,
                angle=angle,
                de_qi=True,
                stimulation=stimulation,
            )
        )
    diameter = min(0.25, content.max_needle_diameter_mm or 0.25)
    return SessionRecord(
        date=day,
        number=number,
        points=points,
        needle=NeedleType(diameter_mm=diameter, length_mm=40, material="stainless steel"),
        retention_minutes=content.retention_minutes,
        electro=[
            ElectroPair(points=(c.a, c.b), side=c.side, frequency_hz=content.electro_frequency_hz)
            for c in content.electro_circuits
            if content.electro_frequency_hz
        ],
        response_sought=content.response_sought or "de qi",
        pain_before=pain_before,
        pain_after=pain_after,
        adverse_events=list(adverse_events),
        practitioner_id=practitioner,
        note=note,
    )


def record_session(
    plan_record: PlanRecord, session: SessionRecord, user: User | None
) -> TreatmentSession:
    row = services.record_session(plan_record.patient, user, session, number=session.number)
    assert row.plan_id == plan_record.pk, "a demo session goes under the current signed plan"
    _backdate(row, session.date)
    return row


# --- synthetic answers --------------------------------------------------------------------------


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def visit_answers(rng: random.Random, burden: float) -> dict[str, dict[str, float | None]]:
    """Answers to ``VISIT_INSTRUMENTS`` for a knee-pain burden in 0 (none) .. 1 (extreme)."""
    kb = load_knowledge()
    koos = {
        item.code: float(round(_clip(4 * burden + rng.uniform(-0.8, 0.8), 0, 4)))
        for item in kb.instruments["koos"].items
    }
    pain = _clip(10 * burden + rng.uniform(-0.5, 0.5), 0, 10)
    return {
        "koos": dict(koos),
        "pain_nrs": {
            "current": float(round(pain)),
            "average_last_week": float(round(pain)),
            "worst_last_week": float(round(_clip(pain + 1.5, 0, 10))),
        },
        "patient_global": {"global": float(round(_clip(10 * burden + rng.uniform(-1, 1), 0, 10)))},
        "pss4": {
            "1": float(rng.randint(1, 3)),
            "2": float(rng.randint(1, 3)),
            "3": float(rng.randint(1, 3)),
            "4": float(rng.randint(0, 2)),
        },
        "sleep_quality": {
            "rating": float(round(_clip(10 - 8 * burden + rng.uniform(-1, 1), 0, 10)))
        },
        "chair_stand_30s": {
            "stands": float(round(_clip(16 - 10 * burden + rng.uniform(-2, 2), 0, 60)))
        },
        "timed_up_and_go": {
            "time_s": round(_clip(7 + 10 * burden + rng.uniform(-1, 1), 1, 300), 1)
        },
    }


# --- the patients -------------------------------------------------------------------------------

Overrides = dict[str, Any]


def _oa(side: str = "left") -> Overrides:
    return {
        "side": side,
        "activity_related_pain": True,
        "morning_stiffness_minutes": 15,
        "examination": {
            "pain_location": ["medial"],
            "crepitus": True,
            "bony_tenderness": True,
            "bony_enlargement": True,
            "palpable_warmth": False,
        },
    }


def _patellofemoral() -> Overrides:
    return {
        "side": "both",
        "activity_related_pain": True,
        "examination": {"pain_location": ["anterior"], "pain_squatting_stairs_or_sitting": True},
    }


def _pes_anserine() -> Overrides:
    return {
        "side": "right",
        "examination": {"pain_location": ["medial"], "pes_anserine_tenderness": True},
    }


def _merge(base: Overrides, extra: Overrides) -> Overrides:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Case:
    """One synthetic patient: the stage to build and the intake findings that make it."""

    stage: str
    age: int
    sex: str
    findings: Overrides
    note: str = ""
    start_ago: int = 0  # days between the plan start and today
    intake_ago: int = 7  # days between the intake and the plan start (or today, if no plan)
    burden: float = 0.6  # baseline knee-pain burden 0..1
    final_burden: float = 0.6  # burden at the reassessments


# Stages: intake, draft, in_course, reassessment_due, completed_responder,
# completed_non_responder, referral, voided.
DEMO_CASES: tuple[Case, ...] = (
    Case("intake", 67, "female", _oa("left"), intake_ago=0),
    Case("intake", 54, "male", _oa("right"), intake_ago=1),
    Case("intake", 29, "female", _patellofemoral(), intake_ago=2),
    Case("intake", 61, "female", _pes_anserine(), intake_ago=3),
    Case("draft", 72, "male", _oa("both"), intake_ago=1, note="plan proposed, not yet signed"),
    Case("in_course", 63, "female", _oa("left"), start_ago=2),
    Case("in_course", 70, "male", _oa("right"), start_ago=6),
    Case("in_course", 58, "female", _oa("both"), start_ago=11),
    Case("in_course", 66, "male", _merge(_oa("right"), {"preferences": {"method": "electro"}}),
         start_ago=16, note="electroacupuncture course"),
    Case("in_course", 33, "female", _patellofemoral(), start_ago=9),
    Case("in_course", 57, "female", _pes_anserine(), start_ago=20),
    Case("in_course", 74, "female", _oa("left"), start_ago=25, note="bruise after session 2"),
    Case("in_course", 34, "female",
         _merge(_patellofemoral(), {"health": {"pregnant": True, "pregnancy_weeks": 22}}),
         start_ago=8, note="pregnant: points forbidden in pregnancy are left out"),
    Case("in_course", 71, "male",
         _merge(_oa("left"), {"health": {"implanted_electronic_device": True,
                                         "devices": ["pacemaker"]},
                              "preferences": {"method": "electro"}}),
         start_ago=12, note="pacemaker: electroacupuncture replaced by manual needling"),
    Case("in_course", 69, "female",
         _merge(_oa("both"), {"health": {"knee_prosthesis": "right"}}),
         start_ago=15, note="right knee prosthesis: no local needling of that knee"),
    Case("reassessment_due", 65, "male", _oa("left"), start_ago=44),
    Case("reassessment_due", 60, "female", _oa("right"), start_ago=47),
    Case("reassessment_due", 76, "female", _oa("both"), start_ago=50),
    Case("reassessment_due", 59, "male", _pes_anserine(), start_ago=45),
    Case("completed_responder", 68, "female", _oa("left"), start_ago=190,
         burden=0.65, final_burden=0.25),
    Case("completed_responder", 62, "male", _oa("right"), start_ago=200,
         burden=0.6, final_burden=0.2),
    Case("completed_responder", 73, "female", _oa("both"), start_ago=215,
         burden=0.7, final_burden=0.3),
    Case("completed_responder", 55, "female", _oa("right"), start_ago=240,
         burden=0.55, final_burden=0.2),
    Case("completed_non_responder", 78, "male", _oa("left"), start_ago=195,
         burden=0.7, final_burden=0.65),
    Case("completed_non_responder", 64, "female", _oa("both"), start_ago=220,
         burden=0.6, final_burden=0.6),
    Case("completed_non_responder", 71, "female", _oa("right"), start_ago=260,
         burden=0.65, final_burden=0.62),
    Case("referral", 47, "male",
         {"side": "right", "duration_weeks": 0.4,
          "red_flags": {"hot_swollen_knee": True, "fever": True,
                        "raised_inflammatory_markers": True},
          "examination": {"palpable_warmth": True, "effusion_present": True}},
         intake_ago=0, note="hot swollen knee with fever: septic arthritis must be excluded"),
    Case("intake", 80, "female", _oa("both"), intake_ago=5),
    Case("voided", 66, "male", _oa("left"), intake_ago=4, note="duplicate registration"),
)  # fmt: skip

OTHER_CASES: tuple[Case, ...] = (
    Case("intake", 59, "female", _oa("right"), intake_ago=2),
    Case("in_course", 67, "male", _oa("left"), start_ago=10),
    Case("completed_responder", 61, "female", _oa("both"), start_ago=205,
         burden=0.6, final_burden=0.25),
)  # fmt: skip

ADVERSE_BRUISE = AdverseEvent(
    kind=AdverseEventKind.BRUISING,
    severity=Severity.MILD,
    action_taken="pressure; reassured",
)


def _build_case(
    case: Case,
    patient: Patient,
    today: dt.date,
    rng: random.Random,
    user: User,
) -> None:
    start = today - dt.timedelta(days=case.start_ago)
    with_plan = case.stage not in {"intake", "referral", "voided"}
    visit_date = (start if with_plan else today) - dt.timedelta(days=case.intake_ago)
    intake = Intake.model_validate(
        {
            "age": patient.age_on(visit_date),
            "sex": case.sex,
            "duration_weeks": float(rng.randint(8, 150)),
            **case.findings,
            "baseline": visit_answers(rng, case.burden),
        }
    )
    intake_record = record_intake(patient, intake, visit_date, user)
    if case.stage == "voided":
        services.void(patient, user, case.note, patient.version)
        return
    if not with_plan:
        return
    plan_record = record_plan(intake_record, start, user, sign=case.stage != "draft")
    if plan_record is None or case.stage == "draft":
        return
    content = Plan.model_validate(plan_record.content)
    completed = case.stage.startswith("completed")
    sessions = [v for v in content.schedule if v.kind == "session" and v.date < today]
    pain = round(10 * case.burden)
    for visit in sessions:
        progress = visit.number / max(1, len(sessions))
        before = round(pain - (pain - 10 * case.final_burden) * progress) if completed else pain
        events = [ADVERSE_BRUISE] if "bruise" in case.note and visit.number == 2 else []
        session = session_from_plan(
            content,
            visit.number,
            visit.date,
            pain_before=max(0, min(10, before)),
            pain_after=max(0, min(10, before - rng.randint(0, 2))),
            practitioner=user.username,
            adverse_events=events,
            note=f"Session {visit.number}.",
        )
        record_session(plan_record, session, user)
    if completed:
        for visit in content.schedule:
            if visit.kind == "reassessment" and visit.date <= today:
                for instrument, answers in visit_answers(rng, case.final_burden).items():
                    record_measurement(patient, instrument, answers, visit.date, user)


def _birth_date(rng: random.Random, age: int, today: dt.date) -> dt.date:
    return today - dt.timedelta(days=365 * age + rng.randint(30, 330))


def _create_patients(
    clinic: Clinic,
    cases: Iterable[Case],
    prefix: str,
    today: dt.date,
    rng: random.Random,
    user: User,
    names: Callable[[], tuple[str, str]],
) -> dict[str, int]:
    stages: dict[str, int] = {}
    for number, case in enumerate(cases, start=1):
        given, family = names()
        patient = Patient.objects.create(
            clinic=clinic,
            record_number=f"{prefix}-{number:04d}",
            given_name=given,
            family_name=family,
            date_of_birth=_birth_date(rng, case.age, today),
            sex=case.sex,
            phone=f"+00 5550 {rng.randint(1000, 9999)}",
            synthetic=True,
            created_by=user,
        )
        _build_case(case, patient, today, rng, user)
        stages[case.stage] = stages.get(case.stage, 0) + 1
    return stages


def demo_exists() -> bool:
    return Clinic.objects.filter(slug=DEMO_CLINIC_SLUG).exists()


def remove_demo() -> None:
    """Delete the demo clinics, their staff and their synthetic patients' records.

    Clinical records are never deleted in the app; this only removes demo data, and refuses
    when a demo clinic holds a patient who is not synthetic.
    """
    clinics = Clinic.objects.filter(slug__in=[DEMO_CLINIC_SLUG, OTHER_CLINIC_SLUG])
    patients = Patient.objects.filter(clinic__in=clinics)
    if patients.filter(synthetic=False).exists():
        raise RuntimeError("a demo clinic holds a non-synthetic patient; not removing it")
    ids = list(patients.values_list("pk", flat=True))
    with transaction.atomic():
        # Demo data only (like the loop below): amendments go before their sessions.
        amendments = SessionAmendment.objects.filter(session__patient_id__in=ids)
        amendments.delete()
        for model in (
            SelfReportLink,
            Measurement,
            TreatmentSession,
            TreatmentConsent,
            PlanRecord,
            IntakeRecord,
        ):
            model.objects.filter(patient_id__in=ids).delete()
            history = getattr(model, "history", None)
            if history is not None:
                history.filter(patient_id__in=ids).delete()
        patients.delete()
        Patient.history.filter(id__in=ids).delete()
        usernames = [u for u, _, _ in DEMO_USERS]
        StaffProfile.objects.filter(user__username__in=usernames).delete()
        StaffProfile.objects.filter(clinic__in=clinics).delete()
        User.objects.filter(username__in=usernames).delete()
        clinics.delete()


def demo_logins() -> list[Login]:
    names = {DEMO_CLINIC_SLUG: DEMO_CLINIC_NAME, OTHER_CLINIC_SLUG: OTHER_CLINIC_NAME}
    return [
        Login(user, password_for(user), role, names[slug] if slug else "all clinics (aggregates)")
        for user, slug, role in DEMO_USERS
    ]


def load_demo(today: dt.date, *, seed: int = DEFAULT_SEED, reset: bool = False) -> DemoResult:
    """Create the demo clinics, users and patients; do nothing when they exist, unless ``reset``."""
    if demo_exists() and not reset:
        return DemoResult(created=False, logins=demo_logins())
    rng = random.Random(seed)
    with transaction.atomic():
        if reset:
            remove_demo()
        clinics = {
            DEMO_CLINIC_SLUG: Clinic.objects.create(
                name=DEMO_CLINIC_NAME, slug=DEMO_CLINIC_SLUG, region="Demo"
            ),
            OTHER_CLINIC_SLUG: Clinic.objects.create(
                name=OTHER_CLINIC_NAME, slug=OTHER_CLINIC_SLUG, region="Demo"
            ),
        }
        users: dict[str, User] = {}
        for username, slug, role in DEMO_USERS:
            user = User.objects.create_user(username=username, password=password_for(username))
            StaffProfile.objects.create(
                user=user,
                clinic=clinics[slug] if slug else None,
                role=Role(role),
                registration="DEMO-REG (synthetic)" if role == "practitioner" else "",
                training="Synthetic demo practitioner." if role == "practitioner" else "",
            )
            users[username] = user
        pairs = [(g, f) for g in GIVEN_NAMES for f in FAMILY_NAMES]
        rng.shuffle(pairs)
        pool = iter(pairs)
        stages = _create_patients(
            clinics[DEMO_CLINIC_SLUG],
            DEMO_CASES,
            "DEMO",
            today,
            rng,
            users["practitioner"],
            lambda: next(pool),
        )
        other = _create_patients(
            clinics[OTHER_CLINIC_SLUG],
            OTHER_CASES,
            "RIV",
            today,
            rng,
            users["riverside"],
            lambda: next(pool),
        )
    return DemoResult(
        created=True,
        logins=demo_logins(),
        patients=len(DEMO_CASES) + len(OTHER_CASES),
        stages={k: stages.get(k, 0) + other.get(k, 0) for k in {*stages, *other}},
    )
