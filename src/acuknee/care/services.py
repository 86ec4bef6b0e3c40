"""Every clinical act, once: record an intake, resolve a referral, choose a baseline, propose,
edit, sign and void a plan, book its visits' time, record consent, record and amend a session,
record measurements, issue a self-report link, keep an edited referral letter, void a record.

Each service takes plain Python and core inputs (never a request), runs in one transaction,
raises ``acuknee.care.errors`` and returns the stored row. The record's invariants live here:

- a referral stands until an outcome that clears it is recorded; no plan, no signature and no
  session while one stands, nor from an intake with unanswered red-flag questions;
- no clinical record is dated after today (clinic time zone) or before the record it depends
  on (a session before its plan's intake or start; a plan before its intake);
- live sessions are numbered in date order, unique per patient (a database constraint): a
  session entered for an earlier date takes its place and the later ones move up; a repeated
  submit (same form token / Idempotency-Key) is refused as ``DuplicateSubmission``;
- a session is signed and locked when stored; a change is an amendment with a reason, kept
  with what changed and the record before it; the first session needs informed consent;
- every edit and void names the version it was based on (``StaleEdit`` otherwise);
- the FHIR export lines are stored after the write, their failures logged (``fhir_lines``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar, cast

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from acuknee.care import errors, fhir_lines
from acuknee.care.patients import check_intake_against_patient
from acuknee.care.queries import (
    SessionBrief,
    SessionSetting,
    baseline_measurements,
    draft_cutoff,
    latest_intake,
    live,
    planning_refusals,
    session_problems,
    session_setting,
    today,
)
from acuknee.clinical import (
    Assessment,
    Intake,
    Plan,
    Scores,
    Screening,
    SessionRecord,
    assess,
    load_knowledge,
    plan,
    score,
    screen,
)
from acuknee.clinical.consent import Consent, consent_problems
from acuknee.clinical.sessions import session_changes
from acuknee.records import models as rows
from acuknee.records.inserts import insert_with_history
from acuknee.records.models import (
    IntakeDraft,
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    ReferralOutcome,
    SelfReportLink,
    SessionAmendment,
    TreatmentConsent,
    TreatmentSession,
)

P = ParamSpec("P")
R = TypeVar("R")
CLINIC = Measurement.Origin("clinic")
SELF_REPORT = Measurement.Origin("self_report")


def atomic(act: Callable[P, R]) -> Callable[P, R]:
    """Run the act in one transaction: all of it is stored, or nothing."""

    @functools.wraps(act)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic():
            return act(*args, **kwargs)

    return run


# --- shared checks --------------------------------------------------------------------------------


def _live_patient(patient: Patient) -> None:
    if patient.is_voided:
        raise errors.PatientVoided("This patient record is voided: nothing more can be recorded.")


def check_date(
    day: dt.date,
    field: str,
    what: str,
    *,
    not_before: tuple[dt.date, str] | None = None,
    on: dt.date | None = None,
) -> None:
    """Refuse a clinical date after today (clinic time zone) or before the record it depends
    on; the message names the date and why."""
    latest = on or today()
    if day > latest:
        raise errors.InvalidDate(
            f"The {what} date {day.isoformat()} is after today ({latest.isoformat()}, clinic "
            "time): a record cannot be dated in the future.",
            field,
        )
    if not_before is not None and day < not_before[0]:
        earliest, because = not_before
        raise errors.InvalidDate(
            f"The {what} date {day.isoformat()} is before {because} ({earliest.isoformat()}).",
            field,
        )


PLAN_START_HORIZON = dt.timedelta(days=366)
"""How far ahead of today a plan may start: a plan is made for a course about to begin, and a
start years ahead is a mistyped year (9999 once overflowed the schedule's dates: a 500)."""


def _plan_start(start: dt.date, visit: dt.date) -> None:
    """Refuse a plan start before its intake, or more than a year after today."""
    check_date(start, "start", "plan start", not_before=(visit, "the intake"), on=dt.date.max)
    latest = today() + PLAN_START_HORIZON
    if start > latest:
        raise errors.InvalidDate(
            f"The plan start {start.isoformat()} is more than a year after today "
            f"({today().isoformat()}, clinic time): check the year; a plan is made for a "
            "course about to begin.",
            "start",
        )


def _versioned(record: Any, version: int | None, fields: list[str]) -> None:
    """Save ``fields`` if ``record`` is still at ``version``; else ``StaleEdit``."""
    if version is None or record.version != version:
        raise errors.StaleEdit(_stale_text(record))
    try:
        record.save_versioned(version, fields)
    except rows.StaleEdit as exc:
        raise errors.StaleEdit(str(exc)) from exc


def _stale_text(record: Any) -> str:
    return (
        f"This {record._meta.verbose_name} was changed by someone else since you opened it; "
        "reload to see their changes, then try again"
    )


def void(record: Any, user: Any, reason: str, version: int | None) -> None:
    """Void ``record`` if it is still at ``version`` (the one the page or request was based on);
    a reason is required. The record stays, marked, and leaves every list unless asked for."""
    if record.is_voided:
        raise errors.AlreadyVoided(f"This {record._meta.verbose_name} was already voided.")
    if not reason or not reason.strip():
        raise errors.InvalidRecord("Give a reason to void the record.", "reason")
    if version is None or record.version != version:
        raise errors.StaleEdit(_stale_text(record))
    try:
        record.void(user, reason)
    except rows.StaleEdit as exc:
        raise errors.StaleEdit(str(exc)) from exc


# --- intakes and referrals ------------------------------------------------------------------------


@atomic
def record_intake(
    patient: Patient,
    user: Any,
    *,
    visit: dt.date,
    intake: Intake,
    screening: Screening | None = None,
    assessment: Assessment | None = None,
    answers: Mapping[str, Mapping[str, float | None]] | None = None,
    scores: Mapping[str, Scores] | None = None,
    history: Mapping[str, str] | None = None,
) -> IntakeRecord:
    """Store an intake, its screening and assessment (computed here unless given) and one
    measurement per answered instrument, all or nothing. The screening only ever adds a
    referral: one recorded earlier stands until its outcome is recorded (``resolve_referral``).

    ``history`` is the free text of ``HISTORY_FIELDS`` (presenting complaint, previous
    treatment, goals), stored beside the intake. The recording user's draft of an intake for
    this patient ends with it."""
    _live_patient(patient)
    check_date(visit, "visit_date", "visit", not_before=(patient.date_of_birth, "the birth date"))
    check_intake_against_patient(patient, intake)
    text = _history_text(history or {})
    screening = screening or screen(intake)
    assessment = assessment or assess(intake)
    record = IntakeRecord(
        patient=patient,
        visit_date=visit,
        data=intake.model_dump(mode="json"),
        screening=screening.model_dump(mode="json"),
        assessment=assessment.model_dump(mode="json"),
        refers=any(r.urgency.blocks_plan for r in screening.referrals),
        created_by=user,
        **text,
    )
    insert_with_history([record])
    given = answers if answers is not None else intake.baseline
    _store_measurements(patient, user, visit, given, scores, CLINIC)
    if user is not None and getattr(user, "pk", None) is not None:
        IntakeDraft.discard(patient.pk, user.pk)
    return record


HISTORY_FIELDS: dict[str, str] = {
    "presenting_complaint": "Presenting complaint",
    "previous_treatment": "Previous treatment",
    "goals": "Goals",
}
"""The intake's free-text history: field -> label."""

HISTORY_MAX_CHARS = 4000


def _history_text(history: Mapping[str, str]) -> dict[str, str]:
    """The free-text history, stripped; an unknown field or an over-long text is refused."""
    out: dict[str, str] = {}
    for name, value in history.items():
        if name not in HISTORY_FIELDS:
            raise errors.InvalidRecord(
                f"{name!r} is not a history field (expected one of {', '.join(HISTORY_FIELDS)}).",
                name,
            )
        text = (value or "").strip()
        if len(text) > HISTORY_MAX_CHARS:
            raise errors.InvalidRecord(
                f"{HISTORY_FIELDS[name]} is {len(text)} characters long; at most "
                f"{HISTORY_MAX_CHARS} are kept.",
                name,
            )
        out[name] = text
    return out


def save_intake_draft(
    patient: Patient, user: Any, step: str, data: Mapping[str, list[str]]
) -> IntakeDraft:
    """Keep ``user``'s intake draft for ``patient`` (the form's raw answers and the step to
    resume at), replacing the previous one. Not a clinical act: nothing is screened."""
    _live_patient(patient)
    draft, _ = IntakeDraft.objects.update_or_create(
        patient=patient, user=user, defaults={"step": step, "data": dict(data)}
    )
    return cast(IntakeDraft, draft)


def discard_intake_draft(patient: Patient, user: Any) -> None:
    """Delete ``user``'s intake draft for ``patient``, if any."""
    IntakeDraft.discard(patient.pk, user.pk)


def expire_intake_drafts(now: dt.datetime | None = None) -> int:
    """Delete every intake draft not saved within ``ACUKNEE_INTAKE_DRAFT_DAYS`` (none is
    offered any more: ``queries.intake_draft``), so a patient's unfinished answers are not kept
    without end; returns how many were deleted."""
    deleted, _ = IntakeDraft.objects.filter(updated_at__lt=draft_cutoff(now)).delete()
    return int(deleted)


@atomic
def resolve_referral(
    record: IntakeRecord,
    user: Any,
    *,
    seen_by: str,
    seen_on: dt.date,
    cleared: bool,
    note: str = "",
) -> ReferralOutcome:
    """Record what came of an intake's referral: who saw the patient, when, and whether
    acupuncture may go ahead. Only an outcome that clears it lifts the referral."""
    _live_patient(record.patient)
    if record.is_voided:
        raise errors.InvalidRecord("This intake is voided: its referral needs no outcome.")
    if not record.refers:
        raise errors.InvalidRecord("This intake's screening did not refer the patient.")
    if not seen_by.strip():
        raise errors.InvalidRecord("Say who saw the patient.", "seen_by")
    check_date(seen_on, "seen_on", "seen", not_before=(record.visit_date, "the referring intake"))
    outcome: ReferralOutcome = ReferralOutcome.objects.create(
        intake=record,
        seen_by=seen_by.strip(),
        seen_on=seen_on,
        cleared=cleared,
        note=note.strip(),
        created_by=user,
    )
    return outcome


@atomic
def choose_baseline(record: IntakeRecord, day: dt.date | None, version: int | None) -> None:
    """The practitioner's choice of the course's baseline visit (None: the intake's own).

    Only the latest live intake's choice counts for the course (``queries.course_from``), so a
    choice on an older or voided intake is refused rather than stored with no effect."""
    _live_patient(record.patient)
    if record.is_voided:
        raise errors.InvalidRecord("This intake is voided: its baseline cannot be chosen.")
    current = latest_intake(record.patient)
    if current is not None and current.pk != record.pk:
        raise errors.StaleEdit(
            f"A later intake ({current.visit_date.isoformat()}) now starts the course: reload "
            "the page and choose the baseline again."
        )
    if day is not None:
        if not live(record.patient.measurements.all()).filter(measured_on=day).exists():
            raise errors.InvalidRecord(
                f"No live measurement was recorded on {day.isoformat()}.", "baseline_on"
            )
        check_date(day, "baseline_on", "baseline")
    record.baseline_on = day
    _versioned(record, version, ["baseline_on"])


@atomic
def save_referral_letter(
    record: IntakeRecord, user: Any, *, recipient: str, body: str, version: int | None
) -> rows.ReferralLetterText:
    """Keep the practitioner's edit of an intake's referral letter (whom it goes to and its
    text); the printed letter is then this text. The first edit passes ``version=None``; a later
    one the version its form was opened at (``StaleEdit`` otherwise). Every edit stays in the
    history with who made it and when."""
    _live_patient(record.patient)
    if record.is_voided:
        raise errors.InvalidRecord("This intake is voided: its referral letter is not current.")
    if not record.refers:
        raise errors.InvalidRecord("This intake's screening did not refer the patient.")
    if not recipient.strip():
        raise errors.InvalidRecord("Say who receives the letter.", "recipient")
    if not body.strip():
        raise errors.InvalidRecord(
            "The letter is empty: write it or keep the suggested text.", "body"
        )
    text = cast(
        rows.ReferralLetterText | None,
        rows.ReferralLetterText.objects.filter(intake=record).first(),
    )
    if text is None:
        if version is not None:
            raise errors.StaleEdit(
                "The letter was reset since you opened it: reload it, then edit again."
            )
        created: rows.ReferralLetterText = rows.ReferralLetterText.objects.create(
            intake=record,
            recipient=recipient.strip(),
            body=body.strip(),
            edited_by=user,
            created_by=user,
        )
        return created
    text.recipient, text.body, text.edited_by = recipient.strip(), body.strip(), user
    _versioned(text, version, ["recipient", "body", "edited_by"])
    return text


@atomic
def book_visit_time(
    record: PlanRecord, *, at: dt.time | None, minutes: int | None, version: int | None
) -> PlanRecord:
    """Book the time of day of every visit of a signed plan's schedule (in the clinic's time
    zone, ``Clinic.zone``) and how long each lasts; ``at=None`` unbooks. The dates stay the
    plan's: only the practitioner changes those, by editing the plan."""
    _live_patient(record.patient)
    if record.is_voided or record.status != PlanRecord.Status.SIGNED:
        raise errors.InvalidRecord("Only a signed, current plan's visits can be booked.")
    if at is not None and not minutes:
        raise errors.InvalidRecord("Say how long each visit lasts, in minutes.", "visit_minutes")
    if minutes is not None and not 5 <= minutes <= 240:
        raise errors.InvalidRecord(
            f"A visit of {minutes} minutes is not plausible: give 5 to 240 minutes.",
            "visit_minutes",
        )
    record.visit_time = at
    record.visit_minutes = minutes if at is not None else None
    _versioned(record, version, ["visit_time", "visit_minutes"])
    return record


class StandingPlan(errors.CareError):
    """A signed, live plan rests on the intake: it is voided first, on its own page."""


@atomic
def void_intake(
    record: IntakeRecord, user: Any, reason: str, version: int | None, *, baseline: bool
) -> tuple[int, int]:
    """Void the intake, its unsigned plans and (when asked) its live baseline measurements, all
    or nothing; refused while a signed plan rests on it. Returns (plans, measurements) voided."""
    plans = list(live(record.plans.all()).order_by("start_date"))
    signed = [p for p in plans if p.status == PlanRecord.Status.SIGNED]
    if signed:
        starts = ", ".join(p.start_date.isoformat() for p in signed)
        raise StandingPlan(
            f"This intake cannot be voided while the signed plan built on it (starting "
            f"{starts}) stands: void that plan first (its sessions stay recorded), then "
            "void the intake."
        )
    void(record, user, reason, version)
    for plan_record in plans:
        plan_record.void(user, f"intake voided: {reason}")
    measurements = list(live(baseline_measurements(record))) if baseline else []
    for m in measurements:
        m.void(user, f"intake voided: {reason}")
    return len(plans), len(measurements)


# --- plans ----------------------------------------------------------------------------------------


@atomic
def propose_plan(
    record: IntakeRecord, user: Any, start: dt.date, *, created_at: dt.datetime | None = None
) -> PlanRecord:
    """The core's plan from the intake, stored as proposed and as content (a draft, or a
    refusal); refused while planning is not allowed (``planning_refusals``)."""
    patient = record.patient
    _live_patient(patient)
    refusals = planning_refusals(patient, record)
    if refusals:
        raise errors.PlanningNotAllowed(" ".join(refusals))
    _plan_start(start, record.visit_date)
    proposed = plan(
        Intake.model_validate(record.data),
        Screening.model_validate(record.screening),
        Assessment.model_validate(record.assessment),
        start=start,
    )
    content = proposed.model_dump(mode="json")
    refused = proposed.status == "refused"
    created: PlanRecord = PlanRecord.objects.create(
        patient=patient,
        intake=record,
        status=PlanRecord.Status.REFUSED if refused else PlanRecord.Status.DRAFT,
        proposed=content,
        content=content,
        start_date=start,
        created_by=user,
    )
    return created


def _draft(record: PlanRecord) -> None:
    _live_patient(record.patient)
    if record.status != PlanRecord.Status.DRAFT or record.is_voided:
        raise errors.InvalidRecord(
            "Only a draft plan can be changed or signed; propose a new plan instead."
        )


@atomic
def edit_plan(
    record: PlanRecord,
    *,
    content: Plan,
    start: dt.date,
    overrides: list[dict[str, Any]],
    version: int | None,
) -> None:
    """Save the practitioner's edit of a draft (overrides appended, with who and why)."""
    _draft(record)
    _plan_start(start, record.intake.visit_date)
    record.content = content.model_dump(mode="json")
    record.start_date = start
    record.overrides = [*record.overrides, *overrides]
    _versioned(record, version, ["content", "start_date", "overrides"])


@atomic
def sign_plan(
    record: PlanRecord, user: Any, version: int | None, *, at: dt.datetime | None = None
) -> None:
    """Sign a draft: checked again against open referrals and unanswered red flags, which may
    have appeared since it was proposed."""
    _draft(record)
    refusals = planning_refusals(record.patient, record.intake)
    if refusals:
        raise errors.PlanningNotAllowed(" ".join(refusals))
    record.status = PlanRecord.Status.SIGNED
    record.signed_by = user
    record.signed_at = at or timezone.now()
    _versioned(record, version, ["status", "signed_by", "signed_at"])


def void_plan(record: PlanRecord, user: Any, reason: str, version: int | None) -> None:
    void(record, user, reason, version)


# --- consent and sessions -----------------------------------------------------------------------


@atomic
def record_consent(patient: Patient, user: Any, consent: Consent) -> TreatmentConsent:
    """Record the patient's informed consent (``user`` took it): not dated in the future; under
    the ``minor_consent`` age (on the day given) only a parent or guardian consents."""
    _live_patient(patient)
    born = (patient.date_of_birth, "the birth date") if patient.date_of_birth else None
    check_date(consent.given_on, "given_on", "consent", not_before=born)
    age = patient.age_on(consent.given_on) if patient.date_of_birth else None
    problems = consent_problems(consent, age, load_knowledge()) if age is not None else []
    if problems:
        raise errors.InvalidRecord(problems[0][1], problems[0][0], problems=problems)
    return cast(
        TreatmentConsent,
        TreatmentConsent.objects.create(
            patient=patient,
            given_on=consent.given_on,
            data=consent.model_dump(mode="json"),
            created_by=user,
        ),
    )


def _consented(setting: SessionSetting, consent: TreatmentConsent | None, day: dt.date) -> None:
    """The first session needs informed consent on record, and no session may come before the
    consent on record (patients treated before consent was recorded keep their sessions)."""
    if consent is None:
        if setting.live_sessions:
            return
        raise errors.ConsentMissing(
            "No informed consent is on record: before the first session, record who gave "
            "consent (the patient, or a parent or guardian), when, and which risks were "
            "explained.",
            "consent",
        )
    if day < consent.given_on:
        raise errors.InvalidDate(
            f"The session date {day.isoformat()} is before the informed consent on record "
            f"({consent.given_on.isoformat()}).",
            "date",
        )


def _session_dates(plan_record: PlanRecord, day: dt.date) -> None:
    intake_day = plan_record.intake.visit_date
    start = plan_record.start_date
    later = (start, "the start of the signed plan") if start > intake_day else None
    check_date(
        day, "date", "session", not_before=later or (intake_day, "the intake the plan rests on")
    )


def _refused(
    plan_record: PlanRecord, record: SessionRecord, setting: SessionSetting | None = None
) -> None:
    problems = setting.problems(record) if setting else session_problems(plan_record, record)
    if problems:
        raise errors.SessionRefused(
            problems[0].message,
            problems=[(".".join(map(str, p.loc)) or None, p.message) for p in problems],
        )


def _date_order(
    patient: Patient,
    moved: TreatmentSession | None,
    day: dt.date,
    live_sessions: Sequence[TreatmentSession | SessionBrief] | None = None,
) -> tuple[int, dict[int, int]]:
    """Live sessions numbered in date order with ``moved`` (None: a new session) on ``day``.

    The numbers in use (plus one more for a new session) are dealt out again in date order, a
    session on the same day as others after them (a moved one keeps its place among them), so
    only the sessions whose order changed get a new number. Returns the moved or new session's
    number and {pk: new number} for the other sessions that change."""
    if live_sessions is None:
        live_sessions = list(live(patient.sessions.all()))
    rows = [r for r in live_sessions if moved is None or r.pk != moved.pk]
    numbers = [r.number for r in rows]
    keyed: list[tuple[dt.date, int, int, TreatmentSession | SessionBrief | None]] = [
        (r.session_date, r.number, r.pk, r) for r in rows
    ]
    if moved is None:  # after every session already on that day
        numbers.append(max(numbers, default=0) + 1)
        keyed.append((day, max(numbers) + 1, 0, None))
    else:
        numbers.append(moved.number)
        keyed.append((day, moved.number, moved.pk, None))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    mine = 0
    changed: dict[int, int] = {}
    for number, (_, _, _, row) in zip(sorted(numbers), keyed, strict=True):
        if row is None:
            mine = number
        elif row.number != number:
            changed[row.pk] = number
    return mine, changed


def _renumber(patient: Patient, changed: Mapping[int, int], free: TreatmentSession | None) -> None:
    """Give sessions their new numbers without breaking the live-number constraint: those that
    change (and ``free``, which the caller saves itself) step aside to numbers above any in use
    first. Each renumbered session's record carries its number and keeps its history."""
    moving = [*changed, *([free.pk] if free is not None else [])]
    if not moving:
        return
    top = patient.sessions.aggregate(n=Max("number"))["n"] or 0
    for offset, pk in enumerate(moving, start=1):
        TreatmentSession.objects.filter(pk=pk).update(number=top + offset)
    for row in TreatmentSession.objects.filter(pk__in=list(changed)):
        row.number = changed[row.pk]
        row.data = {**row.data, "number": row.number}
        row.version += 1
        row.save(update_fields=["number", "data", "version", "updated_at"])


@atomic
def record_session(
    patient: Patient,
    user: Any,
    record: SessionRecord,
    *,
    submission_key: str | None = None,
    number: int | None = None,
    consent: Consent | None = None,
    setting: SessionSetting | None = None,
) -> TreatmentSession:
    """The one way a session is stored (page, REST, CSV import, demo loader): under the
    patient's signed plan, numbered in date order, dated neither in the future nor before the
    plan, checked by the core's ``session_check``, signed by ``user`` and locked (a change is an
    ``amend_session``); the first needs informed consent on record (``consent``: record it now,
    in the same transaction). A repeated ``submission_key`` is refused as
    ``DuplicateSubmission`` naming the stored session. ``number``: a number given by an import
    (refused when a live session has it); by default the session's place in date order, the
    later sessions moving up one. ``setting``: what the caller read with
    ``queries.session_setting`` in this same transaction (the session page checks its form with
    it), so nothing is read twice; read here otherwise."""
    if setting is None or not setting.read_in_this_transaction():
        setting = session_setting(patient, records=False)  # locks the patient: one at a time
    _live_patient(patient)
    submission_key = stored_key(submission_key)
    if submission_key:
        existing = setting.submitted(submission_key)
        if existing is not None:
            raise errors.DuplicateSubmission(
                f"This form was already saved as session {existing.number}: the repeated "
                "submit was not stored again.",
                existing.pk,
            )
    plan_record = setting.plan
    if plan_record is None:
        raise errors.NoSignedPlan(
            "This patient has no signed plan: sign a plan before logging a session."
        )
    standing = setting.standing
    if standing is not None:
        raise errors.ReferralOpen(
            f"The referral of the intake of {standing.visit_date.isoformat()} stands until its "
            "outcome is recorded: no session can be logged."
        )
    _session_dates(plan_record, record.date)
    on_record = setting.consent
    if consent is not None:  # the current consent is the latest given (``current_consent``)
        given = [c for c in (on_record, record_consent(patient, user, consent)) if c is not None]
        on_record = max(given, key=lambda c: (c.given_on, c.pk))
    _consented(setting, on_record, record.date)
    changed: dict[int, int] = {}
    if number is None:
        number, changed = _date_order(patient, None, record.date, setting.live_sessions)
    elif any(s.number == number for s in setting.live_sessions):
        raise errors.InvalidRecord(f"Session {number} of this patient already exists.", "number")
    record = record.model_copy(update={"number": number})
    _refused(plan_record, record, setting)
    try:
        with transaction.atomic():
            _renumber(patient, changed, None)
            stored = TreatmentSession(
                patient=patient,
                plan=plan_record,
                number=number,
                session_date=record.date,
                data=record.model_dump(mode="json"),
                submission_key=submission_key or None,
                created_by=user,
                signed_at=timezone.now(),
                signed_by=user,
            )
            insert_with_history([stored])
            return stored
    except IntegrityError as exc:
        # Only a session stored meanwhile with this number or submission is a repeated save;
        # any other refusal of the database is an error, never reported as "saved".
        rival = TreatmentSession.objects.filter(patient=patient, number=number)
        if submission_key:
            rival = rival | TreatmentSession.objects.filter(
                patient=patient, submission_key=submission_key
            )
        if not rival.exists():
            raise
        raise errors.DuplicateSubmission(
            f"Session {number} was saved by another request at the same moment; reload the "
            "patient's page to see it."
        ) from exc


@atomic
def amend_session(
    session: TreatmentSession,
    user: Any,
    record: SessionRecord,
    reason: str,
    version: int | None,
) -> SessionAmendment:
    """Change a signed session: a reason is required, the record is checked again by the core,
    and the amendment keeps who, when, why, what changed and the record as it stood, so the
    signed original stays readable. A new date moves the session to its place in date order."""
    Patient.objects.select_for_update().filter(pk=session.patient_id).first()
    _live_patient(session.patient)
    if session.is_voided:
        raise errors.AlreadyVoided("A voided session cannot be amended.")
    if not reason or not reason.strip():
        raise errors.InvalidRecord("Give the reason for the amendment.", "reason")
    if version is None or session.version != version:
        raise errors.StaleEdit(_stale_text(session))
    _session_dates(session.plan, record.date)
    number, changed = session.number, dict[int, int]()
    if record.date != session.session_date:
        number, changed = _date_order(session.patient, session, record.date)
    before = SessionRecord.model_validate(session.data)
    record = record.model_copy(update={"number": number})
    _refused(session.plan, record)
    changes = session_changes(before, record)
    if not changes:
        raise errors.InvalidRecord("Nothing was changed: there is nothing to amend.", None)
    amendment = SessionAmendment.objects.create(
        session=session,
        amended_by=user,
        reason=reason.strip(),
        changes=changes,
        before=session.data,
    )
    _renumber(session.patient, changed, session if number != session.number else None)
    session.number = number
    session.data = record.model_dump(mode="json")
    session.session_date = record.date
    _versioned(session, version, ["data", "session_date", "number"])
    return cast(SessionAmendment, amendment)


# --- measurements and self-report -----------------------------------------------------------------


def stored_key(raw: str | None) -> str | None:
    """The key a form token or an ``Idempotency-Key`` is stored under: as given up to 64
    characters, else its SHA-256 (64 hex characters), so two long keys sharing their first 64
    characters are two saves, not one refused as a repeat."""
    text = (raw or "").strip()
    if not text:
        return None
    return text if len(text) <= 64 else hashlib.sha256(text.encode()).hexdigest()


def _store_measurements(
    patient: Patient,
    user: Any,
    day: dt.date,
    answers: Mapping[str, Mapping[str, float | None]],
    scores: Mapping[str, Scores] | None,
    origin: str,
    key: str | None = None,
) -> list[Measurement]:
    """Insert the visit's measurements, their history rows and their FHIR lines with one
    statement each, however many instruments were answered (an intake answers about ten)."""
    rows = [
        Measurement(
            patient=patient,
            measured_on=day,
            instrument=instrument,
            answers=dict(given),
            scores=((scores or {}).get(instrument) or score(instrument, dict(given))).model_dump(
                mode="json"
            ),
            origin=origin,
            submission_key=key,
            created_by=user,
        )
        for instrument, given in answers.items()
    ]
    if not rows:
        return []
    insert_with_history(rows)
    fhir_lines.store_all(rows)
    return rows


def _repeated_visit(patient: Patient, key: str) -> None:
    """A visit already stored under ``key`` (a double click, a retried request): refused."""
    first = Measurement.objects.filter(patient=patient, submission_key=key).order_by("pk").first()
    if first is not None:
        raise errors.DuplicateSubmission(
            f"This reassessment was already saved (measured on {first.measured_on.isoformat()}): "
            "the repeated submit was not stored again.",
            first.pk,
        )


@atomic
def record_measurements(
    patient: Patient,
    user: Any,
    day: dt.date,
    answers: Mapping[str, Mapping[str, float | None]],
    *,
    scores: Mapping[str, Scores] | None = None,
    origin: str = CLINIC,
    key: str | None = None,
) -> list[Measurement]:
    """One measurement per answered instrument of one visit, scored by the core, all or none;
    never dated after today (clinic time zone). A visit submitted again under the same ``key``
    (the page's form token, an API ``Idempotency-Key``) is refused, not stored twice."""
    _live_patient(patient)
    check_date(day, "measured_on", "measurement", not_before=(patient.date_of_birth, "birth"))
    key = stored_key(key)
    if key is None:
        return _store_measurements(patient, user, day, answers, scores, origin)
    _repeated_visit(patient, key)
    try:
        with transaction.atomic():
            return _store_measurements(patient, user, day, answers, scores, origin, key)
    except IntegrityError:
        _repeated_visit(patient, key)  # stored meanwhile by the same submit
        raise


def issue_self_report_link(
    patient: Patient, user: Any, instruments: list[str], valid_for: dt.timedelta
) -> tuple[SelfReportLink, str]:
    """A single-use link for the patient's phone; the token is returned once, never stored."""
    _live_patient(patient)
    return SelfReportLink.issue(patient, user, instruments, valid_for)


@atomic
def record_self_report(
    link: SelfReportLink,
    answers: Mapping[str, Mapping[str, float | None]],
    scores: Mapping[str, Scores] | None = None,
) -> list[Measurement]:
    """The patient's answers through a link, dated today; the link is claimed once (a second
    submit, or an expired link, is ``LinkGone``)."""
    now = timezone.now()
    claimed = SelfReportLink.objects.filter(
        pk=link.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if claimed != 1 or link.patient.is_voided:
        raise errors.LinkGone("This link was already used or has expired.")
    return _store_measurements(link.patient, None, today(), answers, scores, SELF_REPORT)
