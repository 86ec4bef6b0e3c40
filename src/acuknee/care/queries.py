"""Reading the record: one definition each of "live", "the latest intake", "the current signed
plan", "an open referral" and "the course", so no two pages can disagree about them.

Everything here reads; nothing writes. Rows become core models (``Intake``, ``Screening``,
``Plan``, ``Course``) only here and in the services next door.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple, TypeVar, cast

from django.conf import settings
from django.db import NotSupportedError, transaction
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    JSONField,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from acuknee.clinical import (
    Course,
    Intake,
    Plan,
    Screening,
    SessionRecord,
    load_knowledge,
    screen,
)
from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.intake import unanswered_red_flags as core_unanswered_red_flags
from acuknee.clinical.response import Visit
from acuknee.clinical.session_check import Override, SessionProblem, check_session
from acuknee.clinical.vocabulary import Side
from acuknee.kept import Kept
from acuknee.records.models import (
    IntakeDraft,
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    ReferralOutcome,
    TreatmentConsent,
    TreatmentSession,
)
from acuknee.records.prepared import Prepared

M = TypeVar("M", bound=Model)

INTAKE_ORDER: tuple[Any, ...] = ("-visit_date", "-pk")
"""The latest intake: the latest visit date, then the latest stored (a deterministic tie-break)."""

SIGNED_ORDER: tuple[Any, ...] = (Coalesce("signed_at", "created_at").desc(), "-pk")
"""The current signed plan: the latest signed, then the latest stored."""


def today() -> dt.date:
    """Today in the clinic's time zone (``TIME_ZONE``): the latest date a record may carry."""
    return cast(dt.date, timezone.localdate())


def live(rows: QuerySet[M] | type[M]) -> QuerySet[M]:
    """The records that are not voided: what every list, course, report and export reads
    unless voided ones are asked for."""
    queryset = rows if isinstance(rows, QuerySet) else rows._default_manager.all()
    return queryset.filter(voided_at__isnull=True)


class _JsonMember(Func):  # type: ignore[misc]
    """A member of a JSON column's objects, read by the database (SQLite and PostgreSQL, the
    two databases acuknee runs on): the document never reaches Python."""

    output_field = IntegerField()

    def __init__(self, column: str, key: str) -> None:
        if not re.fullmatch(r"[a-z_]+", key):
            raise ValueError(f"a JSON key of lower-case letters and underscores, not {key!r}")
        self.key = key
        super().__init__(F(column))

    def _column(self, compiler: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return sql, list(params)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        raise NotSupportedError(f"{type(self).__name__} is written for SQLite and PostgreSQL")


class JsonInt(_JsonMember):
    """An integer member: one ``JSON_EXTRACT`` on SQLite, where Django's key transform parses
    each document three times per key; ``->>`` cast to an integer on PostgreSQL."""

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler)
        return f"JSON_EXTRACT({sql}, %s)", [*params, f"$.{self.key}"]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler)
        return f"CAST(({sql} ->> %s) AS integer)", [*params, self.key]


class JsonArrayLength(_JsonMember):
    """How many items an array member holds (0 or None where it is not an array)."""

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler)
        return f"JSON_ARRAY_LENGTH({sql}, %s)", [*params, f"$.{self.key}"]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = self._column(compiler)
        member = f"({sql} -> %s)"
        return (
            f"(CASE WHEN jsonb_typeof({member}) = 'array' THEN jsonb_array_length({member}) END)",
            [*params, self.key, *params, self.key],
        )


def voided_flag() -> ExpressionWrapper:
    """Whether a record is voided, as a column of a ``values_list`` read (``is_voided``)."""
    return ExpressionWrapper(Q(voided_at__isnull=False), output_field=BooleanField())


def pain_ratings() -> dict[str, JsonInt]:
    """A session's pain before and after, taken out of its record by the database."""
    return {
        "pain_before": JsonInt("data", "pain_before"),
        "pain_after": JsonInt("data", "pain_after"),
    }


def _latest_intake(patient_id: int) -> QuerySet[IntakeRecord]:
    return live(IntakeRecord).filter(patient_id=patient_id).order_by(*INTAKE_ORDER)[:1]


LATEST_INTAKE = Prepared(_latest_intake, patient_id=int)
"""Read by the safety banner of every patient's page and by every clinical write: compiled
once (``records.prepared``)."""


def latest_intake(patient: Patient) -> IntakeRecord | None:
    """The patient's latest live intake."""
    found = LATEST_INTAKE.first(known={"patient": patient}, patient_id=patient.pk)
    return cast(IntakeRecord | None, found)


def _intake_draft(patient_id: int, user_id: int) -> QuerySet[IntakeDraft]:
    return IntakeDraft.objects.filter(patient_id=patient_id, user_id=user_id).order_by("pk")[:1]


INTAKE_DRAFT = Prepared(_intake_draft, patient_id=int, user_id=int)
"""Read on every patient page: compiled once (``records.prepared``)."""


def intake_draft(patient: Patient, user: Any) -> IntakeDraft | None:
    """``user``'s intake draft for ``patient``, if one is being filled in and was saved within
    ``ACUKNEE_INTAKE_DRAFT_DAYS``. A draft is never a clinical record: only the intake form
    reads it. An older one is not offered: its answers (the red flags, the examination) were
    given for a visit long past, and would be recorded as today's (HAZ-90); the next save
    replaces it and ``expire_drafts`` deletes it."""
    if patient.is_voided:
        return None
    draft = INTAKE_DRAFT.first(known={"patient": patient}, patient_id=patient.pk, user_id=user.pk)
    if draft is None or draft.updated_at < draft_cutoff():
        return None
    return cast(IntakeDraft, draft)


def draft_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """The oldest save an intake draft may have and still be resumed."""
    days = settings.ACUKNEE_INTAKE_DRAFT_DAYS  # its default is the config's alone
    return (now or timezone.now()) - dt.timedelta(days=days)


def signed_plan(patient: Patient) -> PlanRecord | None:
    """The patient's current signed plan (the latest signed, not voided)."""
    rows = live(patient.plans.all()).filter(status=PlanRecord.Status.SIGNED)
    return cast(PlanRecord | None, rows.order_by(*SIGNED_ORDER).first())


def latest_signed(plans: Iterable[PlanRecord], by: dt.date | None = None) -> PlanRecord | None:
    """``signed_plan`` over plans already loaded (a report prefetches a clinic's at once);
    ``by``: the plan that was current on that day, so a report of a past period does not change
    when a later plan is signed."""
    signed = [
        p
        for p in plans
        if p.status == PlanRecord.Status.SIGNED
        and not p.is_voided
        and (by is None or _in_force(p) <= by)
    ]
    return max(signed, key=lambda p: (p.signed_at or p.created_at, p.pk), default=None)


def _in_force(plan: PlanRecord) -> dt.date:
    """The day a signed plan became the course's plan: the day it was signed (clinic time) or,
    for a course recorded after the fact (a plan signed today for sessions already given), the
    day it starts, whichever is earlier."""
    signed: dt.date = timezone.localdate(plan.signed_at or plan.created_at)
    start: dt.date | None = plan.start_date
    return min(signed, start) if start is not None else signed


S = TypeVar("S")


def on_plan(sessions: Iterable[S], plan: PlanRecord | None) -> list[S]:
    """The sessions of a course: those logged on its signed plan. A course of care is one
    signed plan and the sessions given under it; sessions under an earlier plan are another
    course's, so "7 of 10 planned", the sessions remaining, completion and drop-out are all
    counted on the plan whose schedule they are read against, on every page, report and row
    alike. ``sessions``: rows or briefs with a ``plan_id``, already filtered to live ones."""
    if plan is None:
        return []
    return [s for s in sessions if getattr(s, "plan_id", None) == plan.pk]


def latest_intake_id() -> Subquery:
    """``latest_intake`` as a correlated subquery on a patient queryset."""
    rows = live(IntakeRecord).filter(patient=OuterRef("pk")).order_by(*INTAKE_ORDER)
    return Subquery(rows.values("pk")[:1])


def signed_plan_id() -> Subquery:
    """``signed_plan`` as a correlated subquery on a patient queryset."""
    rows = live(PlanRecord).filter(patient=OuterRef("pk"), status=PlanRecord.Status.SIGNED)
    return Subquery(rows.order_by(*SIGNED_ORDER).values("pk")[:1])


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def search_kind(query: str) -> str:
    """What ``search_patients`` will match ``query`` against, without the text itself (the
    audit log records this, not the name or number searched for)."""
    query = query.strip()
    if not query:
        return ""
    return "date_of_birth" if _ISO_DATE.match(query) else "name_or_number"


def search_patients(patients: QuerySet[Patient], query: str) -> QuerySet[Patient]:
    """Match a date of birth (YYYY-MM-DD), else a record number or every word of a name."""
    query = query.strip()
    if not query:
        return patients
    if _ISO_DATE.match(query):
        try:
            return patients.filter(date_of_birth=dt.date.fromisoformat(query))
        except ValueError:
            return patients.none()
    by_name = Q()
    for word in query.split():
        by_name &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
    return patients.filter(by_name | Q(record_number__iexact=query))


# --- referrals ------------------------------------------------------------------------------------


def clearing_outcomes() -> QuerySet[ReferralOutcome]:
    """Live outcomes that cleared their intake's referral (correlated to an intake)."""
    return live(ReferralOutcome).filter(intake=OuterRef("pk"), cleared=True)


def standing(intakes: QuerySet[IntakeRecord]) -> QuerySet[IntakeRecord]:
    """The live ``intakes`` whose referral stands: the screening referred the patient before any
    needling and no live outcome has cleared it. A later intake never lifts one."""
    return live(intakes).filter(refers=True).filter(~Exists(clearing_outcomes()))


def open_referrals(patient: Patient) -> QuerySet[IntakeRecord]:
    """The patient's intakes whose referral stands (``standing``), latest first."""
    return standing(patient.intakes.all()).order_by(*INTAKE_ORDER)


def standing_among(live_intakes: Iterable[IntakeRecord]) -> list[IntakeRecord]:
    """``open_referrals`` among live intakes already read with ``referral_cleared`` (latest
    first, as read): the pages that hold the patient's intakes ask it here, not again."""
    return [i for i in live_intakes if i.refers and not i.referral_cleared]


def has_open_referral() -> Exists:
    """``open_referrals`` is not empty, as an annotation on a patient queryset."""
    rows = live(IntakeRecord).filter(patient=OuterRef("pk"), refers=True)
    return Exists(rows.filter(~Exists(clearing_outcomes())))


def affected_side(record: IntakeRecord | None) -> Side | None:
    """The side of knee pain the intake recorded: where a point added to a plan or a session
    goes unless the practitioner says otherwise (``both`` when the intake said both)."""
    if record is None:
        return None
    side = (record.data or {}).get("side")
    return Side(side) if side in {s.value for s in Side} else None


def screening_of(record: IntakeRecord) -> Screening:
    return Screening.model_validate(record.screening)


def planning_refusals(
    patient: Patient,
    record: IntakeRecord,
    *,
    intake: Intake | None = None,
    screening: Screening | None = None,
    referrals: list[IntakeRecord] | None = None,
) -> list[str]:
    """Why no plan may be proposed from ``record`` now (empty: planning is allowed). The
    intake's own screening, an open referral from any intake, and unanswered red flags.
    ``intake`` and ``screening``: the record's, when the caller has read them already;
    ``referrals``: ``standing_referrals(patient)``, likewise (the page's banner shows them)."""
    reasons: list[str] = []
    if patient.is_voided:
        reasons.append("This patient record is voided.")
    if record.is_voided:
        reasons.append("This intake is voided.")
    reasons += (screening or screening_of(record)).refusal_reasons
    for other in standing_referrals(patient) if referrals is None else referrals:
        if other.pk == record.pk:
            continue
        reasons.append(
            f"The referral of the intake of {other.visit_date.isoformat()} stands until its "
            "outcome is recorded (who saw the patient, when, and whether acupuncture may go ahead)."
        )
    # The red-flag questions left unanswered, by the core's current questions: a question added
    # since the intake was recorded counts as not asked, so planning waits for an intake that
    # asks it.
    intake = intake or Intake.model_validate(record.data)
    unanswered = [q.question for q in core_unanswered_red_flags(intake)]
    if unanswered:
        reasons.append(
            "Red-flag questions were not answered: " + "; ".join(unanswered) + ". Record a new "
            "intake with every red-flag question answered before planning."
        )
    return reasons


# --- the safety banner ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BannerItem:
    """One badge of the safety banner: a standing referral or a finding of the current
    screening, named as the rule names it (so the banner and the screening never disagree)."""

    rule: str
    name: str
    kind: str
    """``referral``, ``contraindication`` or ``precaution``: said in words, not colour alone."""
    detail: str = ""
    intake_id: int | None = None


def _pregnancy_weeks(intake: Intake) -> str:
    weeks = intake.health.pregnancy_weeks
    return f"{weeks} weeks" if weeks is not None else "weeks not recorded"


def _prosthesis_side(intake: Intake) -> str:
    side = intake.health.knee_prosthesis
    return {Side.BOTH: "both knees"}.get(side, f"{side} knee") if side is not None else ""


BANNER_DETAILS: dict[str, Callable[[Intake], str]] = {
    "pregnancy": _pregnancy_weeks,
    "knee_prosthesis": _prosthesis_side,
}
"""What the intake adds to a finding's name on the banner (the rule's name says the rest)."""

_KIND_ORDER = {"referral": 0, "contraindication": 1, "precaution": 2}


def current_screening(record: IntakeRecord) -> tuple[Screening, Intake | None]:
    """The intake screened by today's rules, as the session check reads it (``session_problems``);
    the stored screening when the stored intake no longer validates (never a broken page)."""
    try:
        return screened_by_today_s_rules(record.data)
    except (ValueError, InvalidInput):  # pydantic's ValidationError is a ValueError
        return screening_of(record), None


def screened_by_today_s_rules(data: dict[str, Any]) -> tuple[Screening, Intake]:
    """A stored intake's ``data`` validated and screened by the rules this process loaded,
    kept by that data: every page of a patient shows its banner from it, and a session is
    checked against it again (about 0.5 ms a page, issue 15). The screening depends on the
    intake and the rules only, both in the key; the core's models are frozen, so the kept
    answer is shared. Raises as ``Intake.model_validate`` and ``screen`` do."""
    kb = load_knowledge()
    try:
        key: str | None = json.dumps(data, separators=(",", ":"))
    except (TypeError, ValueError):  # not stored data: screened afresh, not kept
        key = None

    def screened() -> tuple[Screening, Intake]:
        intake = Intake.model_validate(data)
        return screen(intake, kb), intake

    return screened() if key is None else _SCREENED.made_with(kb, key, screened)


_SCREENED: Kept[str, tuple[object, tuple[Screening, Intake]]] = Kept(256)
"""Stored intakes as screened by this process's rules (held with them), by their data (JSON)."""


def safety_banner(patient: Patient) -> list[BannerItem]:
    """What every page of a patient shows first: each standing referral (any live intake, until
    its outcome is recorded) and each finding of the latest live intake's current screening
    (pregnancy, bleeding risk, implanted device, knee replacement, metal allergy, treating
    team's agreement...). Two queries, however many intakes or sessions the patient has."""
    return latest_intake_read(patient, standing_referrals(patient)).banner()


def _banner_latest(patient_id: int) -> QuerySet[IntakeRecord]:
    """``latest_intake`` without its assessment, which the banner never shows (3-4 kB of JSON
    decoded on every page of a patient that reads nothing else of the intake)."""
    return _latest_intake(patient_id).defer("assessment")


BANNER_LATEST = Prepared(_banner_latest, patient_id=int)


def _banner_referrals(patient_id: int) -> QuerySet[IntakeRecord]:
    rows = standing(IntakeRecord.objects.filter(patient_id=patient_id)).order_by(*INTAKE_ORDER)
    return rows.only("id", "patient", "visit_date", "screening", "refers")


BANNER_REFERRALS = Prepared(_banner_referrals, patient_id=int)
"""``open_referrals`` as the banner reads them on every patient's page: compiled once."""


@dataclass(frozen=True)
class LatestIntakeRead:
    """The patient's latest live intake as a page already read it (``latest_intake``): its
    safety banner then reads only the standing referrals."""

    patient: Patient
    latest: IntakeRecord | None
    referrals: list[IntakeRecord] | None = None
    """``standing_referrals(patient)``, where the page read them already."""

    def banner(self) -> list[BannerItem]:
        """``safety_banner(patient)`` with the latest intake already read."""
        referrals = self.referrals
        return banner_from(
            standing_referrals(self.patient) if referrals is None else referrals, self.latest
        )


def latest_intake_read(patient: Patient, referrals: list[IntakeRecord]) -> LatestIntakeRead:
    """The banner's read of the patient's latest live intake, with the standing referrals a
    page read already: ``safety_banner`` from them, one query less."""
    latest = BANNER_LATEST.first(known={"patient": patient}, patient_id=patient.pk)
    return LatestIntakeRead(patient, cast(IntakeRecord | None, latest), referrals)


def standing_referrals(patient: Patient) -> list[IntakeRecord]:
    """``open_referrals`` (the intakes whose referral stands, latest first), read as the banner
    reads them: their visit dates and screenings only."""
    return cast(
        list[IntakeRecord],
        BANNER_REFERRALS.rows(known={"patient": patient}, patient_id=patient.pk),
    )


def banner_from(referrals: Iterable[IntakeRecord], latest: IntakeRecord | None) -> list[BannerItem]:
    """The banner from the standing referrals (``open_referrals``) and the latest live intake
    (``latest_intake``), however they were read (a patient's chart reads them once)."""
    items: list[BannerItem] = []
    for record in referrals:
        for referral in screening_of(record).referrals or []:
            items.append(
                BannerItem(
                    rule=referral.rule,
                    name=referral.name,
                    kind="referral",
                    detail=f"referred {record.visit_date.isoformat()}, outcome not recorded",
                    intake_id=record.pk,
                )
            )
    if latest is not None:
        screening, intake = current_screening(latest)
        for finding in screening.findings:
            describe = BANNER_DETAILS.get(finding.rule)
            detail = describe(intake) if describe is not None and intake is not None else ""
            items.append(
                BannerItem(
                    rule=finding.rule,
                    name=finding.name,
                    kind=str(finding.kind),
                    detail=detail,
                    intake_id=latest.pk,
                )
            )
    return sorted(items, key=lambda item: _KIND_ORDER.get(item.kind, 3))


# --- sessions -------------------------------------------------------------------------------------


def next_session_number(patient: Patient) -> int:
    """One more than the highest live session's number (a voided number is free again)."""
    top = live(patient.sessions.all()).aggregate(n=Max("number"))["n"]
    return (top or 0) + 1


def session_overrides(plan: PlanRecord) -> list[Override]:
    """The signed plan's recorded point and method overrides, as the session check takes them."""
    return [
        Override(kind=o["kind"], target=o["target"], side=o.get("side"), rule=o["rule"])
        for o in plan.overrides
        if o.get("kind") in {"point", "method"} and o.get("target") and o.get("rule")
    ]


def session_problems(plan: PlanRecord, record: SessionRecord) -> list[SessionProblem]:
    """The core's check of a session against its signed plan and the patient's current
    screening: unknown point codes, blocked points or methods the plan did not override, depth
    and needle limits. Current means the latest live intake screened by today's rules, so a
    later intake (chemotherapy started since the plan was signed) or a rule tightened since
    applies to the next session, not only to the next plan."""
    current = latest_intake(plan.patient) or plan.intake
    return check_session(
        record,
        Plan.model_validate(plan.content),
        screened_by_today_s_rules(current.data)[0],
        load_knowledge(),
        session_overrides(plan),
    )


class SessionBrief(NamedTuple):
    """A session as logging a session reads it, not as a model with its record: what numbering,
    the repeated-submit check and the consent rule read; for the page (``session_setting(
    records=True)``) also its pain ratings (the trend beside the form) and, for the latest live
    session alone, its record (shown beside the form and filling it). Models with every record
    decoded cost each save and session page more with every session of the history (issue 15)."""

    pk: int
    number: int
    session_date: dt.date
    submission_key: str | None
    is_voided: bool
    pain_before: int | None = None
    pain_after: int | None = None
    data: dict[str, Any] | None = None
    """The record, read for the latest live session of a page's setting only."""


@dataclass
class SessionSetting:
    """What logging a session reads about its patient, read once (``session_setting``) and
    shared by the session page and ``services.record_session``: the signed plan (with its
    intake), every session, the live intakes (the latest, the standing referrals) and the
    current consent. Each answer follows the definition of the query beside it."""

    patient: Patient
    plan: PlanRecord | None
    """``signed_plan``, its intake loaded."""
    sessions: list[SessionBrief]
    """Every session, voided ones included, in date order (``SessionBrief``); with their pain
    ratings and the last live session's record where read for a page (``records=True``)."""
    intakes: list[IntakeRecord]
    """The live intakes, latest first, each with ``referral_cleared``."""
    consent: TreatmentConsent | None
    """``current_consent``."""
    transaction: object | None = None
    """The outermost transaction it was read in, with the patient's row locked first (None:
    read outside a transaction, for a page that only shows it)."""
    records: bool = False
    """Read for a page: the sessions' pain ratings and the last live session's record too."""

    def read_in_this_transaction(self) -> bool:
        """Whether it was read, under the patient's lock, in the transaction now open: only then
        may a write rely on it instead of reading again."""
        connection = transaction.get_connection()
        blocks = connection.atomic_blocks if connection.in_atomic_block else []
        return self.transaction is not None and bool(blocks) and blocks[0] is self.transaction

    @cached_property
    def live_sessions(self) -> list[SessionBrief]:
        return [s for s in self.sessions if not s.is_voided]

    @property
    def last(self) -> SessionBrief | None:
        """``last_session``: the latest live session by date, then number."""
        return max(self.live_sessions, key=lambda s: (s.session_date, s.number), default=None)

    @cached_property
    def last_record(self) -> SessionRecord | None:
        """``last``'s record as the core's ``SessionRecord``, validated once: the session page
        shows it beside the form and fills the form from it. Read with the setting for a page,
        on its own for a save's page shown again with errors."""
        last = self.last
        if last is None:
            return None
        data = last.data
        if data is None:
            (data,) = SESSION_DATA.rows(session_id=last.pk)[0]
        return SessionRecord.model_validate(data)

    @cached_property
    def pain_trend(self) -> list[PainPoint]:
        """``pain_trend(patient)``: read with the setting for a page, on its own for a save's
        page shown again with errors."""
        if self.records:
            return _pain_points(self.live_sessions)
        return pain_trend(self.patient)

    @property
    def next_number(self) -> int:
        """``next_session_number``: one more than the highest live number."""
        return max((s.number for s in self.live_sessions), default=0) + 1

    def submitted(self, key: str) -> SessionBrief | None:
        """The session stored with this submission key (voided or not), if any."""
        return next((s for s in self.sessions if s.submission_key == key), None)

    @property
    def latest_intake(self) -> IntakeRecord | None:
        return self.intakes[0] if self.intakes else None

    @property
    def open_referrals(self) -> list[IntakeRecord]:
        """``open_referrals(patient)``: the live intakes whose referral stands, latest first."""
        return standing_among(self.intakes)

    @property
    def standing(self) -> IntakeRecord | None:
        """``open_referrals(patient).first()``: the latest intake whose referral stands."""
        referrals = self.open_referrals
        return referrals[0] if referrals else None

    def banner(self) -> list[BannerItem]:
        """``safety_banner(patient)`` from the intakes read: the session page shows it without
        reading the patient's intakes twice."""
        return banner_from(self.open_referrals, self.latest_intake)

    @property
    def needs_consent(self) -> bool:
        """No consent on record and no live session yet: the first session asks for it."""
        return self.consent is None and not self.live_sessions

    @cached_property
    def plan_content(self) -> Plan | None:
        return Plan.model_validate(self.plan.content) if self.plan is not None else None

    @cached_property
    def _screening(self) -> Screening:
        """The latest live intake (else the plan's) screened by today's rules, once."""
        assert self.plan is not None
        current = self.latest_intake or self.plan.intake
        return screened_by_today_s_rules(current.data)[0]

    def problems(self, record: SessionRecord) -> list[SessionProblem]:
        """``session_problems(plan, record)`` from what was read (a signed plan is needed)."""
        assert self.plan is not None
        assert self.plan_content is not None
        overrides = session_overrides(self.plan)
        kb = load_knowledge()
        return check_session(record, self.plan_content, self._screening, kb, overrides)


def session_setting(patient: Patient, *, records: bool = True) -> SessionSetting:
    """Read what logging a session needs, in four queries. Inside a transaction (a write) the
    patient's row is locked first, as ``services.record_session`` does, so the setting read
    stays true for the rest of that transaction: one numbering at a time per patient.
    Each session is read as a ``SessionBrief`` (its date, number, key and whether it is voided,
    which storing a session reads); ``records=True`` (a page) adds each one's pain ratings and
    the latest live session's record, taken out of the records by the database."""
    connection = transaction.get_connection()
    outer = connection.atomic_blocks[0] if connection.in_atomic_block else None
    if outer is not None and connection.features.has_select_for_update:
        # SQLite has no row locks: its write transactions begin IMMEDIATE (``config``), which
        # already lets one writer in at a time.
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
    known = {"patient": patient}
    return SessionSetting(
        patient=patient,
        plan=SETTING_PLAN.first(known=known, patient_id=patient.pk),
        sessions=[
            SessionBrief(*row)
            for row in (SETTING_SESSIONS_SHOWN if records else SETTING_SESSIONS_BRIEF).rows(
                patient_id=patient.pk
            )
        ],
        intakes=with_documents(SETTING_INTAKES.rows(known=known, patient_id=patient.pk)),
        consent=current_consent(patient),
        transaction=outer,
        records=records,
    )


# ``session_setting``'s reads, for the session form and every session saved: compiled once
# (``records.prepared``).


def _setting_plan(patient_id: int) -> QuerySet[PlanRecord]:
    """The signed plan with its intake, whose date, side and answers a session is checked
    against; not its assessment, which logging a session never reads (a few kB decoded)."""
    signed = live(PlanRecord).filter(patient_id=patient_id, status=PlanRecord.Status.SIGNED)
    signed = signed.select_related("intake").defer("intake__assessment")
    return signed.order_by(*SIGNED_ORDER)[:1]


def _setting_sessions(patient_id: int) -> QuerySet[TreatmentSession]:
    rows = TreatmentSession.objects.filter(patient_id=patient_id)
    return rows.order_by("session_date", "number", "id")


def _latest_live(patient_id: int) -> Q:
    """A condition on an intake: it is the patient's latest live intake (``latest_intake``);
    not correlated with the row, so the database finds that intake once, not once a row."""
    latest = live(IntakeRecord).filter(patient_id=patient_id).order_by(*INTAKE_ORDER)
    return Q(pk=Subquery(latest.values("pk")[:1]))


def latest_data(patient_id: int) -> dict[str, Case]:
    """An annotation taking out the answers of the patient's latest live intake alone
    (``shown_data``, None on every other intake), for a read of the patient's intakes that
    defers the others'."""
    shown = When(_latest_live(patient_id), then=F("data"))
    return {"shown_data": Case(shown, output_field=JSONField())}


def _setting_intakes(patient_id: int) -> QuerySet[IntakeRecord]:
    """The live intakes without their documents but the few the setting shows: the latest's
    answers and screening (the session is checked against them, the banner names them) and
    the screening of each whose referral stands (the banner names it), each taken out as
    ``shown_data`` and ``shown_screening`` (``with_documents``)."""
    intakes = live(IntakeRecord).filter(patient_id=patient_id)
    intakes = intakes.annotate(referral_cleared=Exists(clearing_outcomes()))
    refers = Q(refers=True, referral_cleared=False)
    shown = {
        **latest_data(patient_id),
        "shown_screening": Case(
            When(_latest_live(patient_id) | refers, then=F("screening")), output_field=JSONField()
        ),
    }
    return intakes.defer(*_INTAKE_DOCUMENTS).annotate(**shown).order_by(*INTAKE_ORDER)


_INTAKE_DOCUMENTS = ("data", "screening", "assessment")
"""An intake's JSON documents: its answers, its screening and its assessment, a few kB each.
Decoding every live intake's cost each session save and session form more with every intake
of the patient's history (issue 15, goal 1's thirteenth round)."""


def with_documents(intakes: list[IntakeRecord]) -> list[IntakeRecord]:
    """Intakes read with some documents taken out (``shown_data``, ``shown_screening``) and
    the rest deferred, with those documents put in their places."""
    for row in intakes:
        for name in ("data", "screening"):
            value = getattr(row, f"shown_{name}", None)
            if value is not None:
                setattr(row, name, value)
    return intakes


SETTING_PLAN = Prepared(_setting_plan, patient_id=int)


_BRIEF = ("pk", "number", "session_date", "submission_key", "voided")


def _setting_sessions_brief(patient_id: int) -> QuerySet[Any]:
    """The sessions as a save reads them: ``SessionBrief``'s first columns, in date order."""
    return _setting_sessions(patient_id).annotate(voided=voided_flag()).values_list(*_BRIEF)


def _latest_live_session(patient_id: int) -> Q:
    """A condition on a session: it is the patient's latest live session (``last_session``);
    not correlated with the row, so the database finds that session once, not once a row."""
    latest = live(TreatmentSession).filter(patient_id=patient_id)
    return Q(pk=Subquery(latest.order_by("-session_date", "-number").values("pk")[:1]))


def _setting_sessions_shown(patient_id: int) -> QuerySet[Any]:
    """The sessions as the session page reads them: every ``SessionBrief`` column."""
    rows = _setting_sessions(patient_id).annotate(
        voided=voided_flag(),
        **pain_ratings(),
        shown_data=Case(
            When(_latest_live_session(patient_id), then=F("data")), output_field=JSONField()
        ),
    )
    return rows.values_list(*_BRIEF, "pain_before", "pain_after", "shown_data")


def _session_data(session_id: int) -> QuerySet[Any]:
    return TreatmentSession.objects.filter(pk=session_id).values_list("data")


SETTING_SESSIONS_BRIEF = Prepared(_setting_sessions_brief, patient_id=int)
SETTING_SESSIONS_SHOWN = Prepared(_setting_sessions_shown, patient_id=int)
SESSION_DATA = Prepared(_session_data, session_id=int)
SETTING_INTAKES = Prepared(_setting_intakes, patient_id=int)


def _current_consent(patient_id: int) -> QuerySet[TreatmentConsent]:
    rows = live(TreatmentConsent).filter(patient_id=patient_id).select_related("created_by")
    return rows.order_by("-given_on", "-pk")[:1]


CURRENT_CONSENT = Prepared(_current_consent, patient_id=int)
"""Read on every patient page and session form: compiled once (``records.prepared``)."""


def current_consent(patient: Patient) -> TreatmentConsent | None:
    """The patient's informed consent: the latest live one recorded (a later one supersedes)."""
    return cast(
        TreatmentConsent | None,
        CURRENT_CONSENT.first(known={"patient": patient}, patient_id=patient.pk),
    )


def _plan_shown(patient_id: int, plan_id: int) -> QuerySet[PlanRecord]:
    rows = PlanRecord.objects.select_related("intake", "signed_by", "voided_by")  # shown
    return rows.filter(pk=plan_id, patient_id=patient_id)


PLAN_SHOWN = Prepared(_plan_shown, patient_id=int, plan_id=int)
"""Read on every plan page: compiled once (``records.prepared``)."""


def plan_shown(patient: Patient, plan_id: int) -> PlanRecord | None:
    """The patient's plan ``plan_id`` (voided or not) with the intake it was proposed from and
    who signed or voided it, or None when the patient has no such plan."""
    return cast(
        PlanRecord | None,
        PLAN_SHOWN.first(known={"patient": patient}, patient_id=patient.pk, plan_id=plan_id),
    )


def last_session(patient: Patient) -> TreatmentSession | None:
    """The latest live session by date (then number): what the next one starts from."""
    return cast(
        TreatmentSession | None,
        live(patient.sessions.all()).order_by("-session_date", "-number").first(),
    )


@dataclass(frozen=True)
class PainPoint:
    """One session's pain ratings (0-10 NRS), for the trend beside the session form."""

    number: int
    day: dt.date
    before: int | None
    after: int | None


def pain_trend(patient: Patient) -> list[PainPoint]:
    """The live sessions' pain before and after, in date order (sessions with neither left out),
    taken out of their records by the database: decoding every record cost the session page
    more with every session of the history (issue 15)."""
    return [PainPoint(*row) for row in PAIN_TREND.rows(patient_id=patient.pk)]


def _pain_points(sessions: Iterable[SessionBrief]) -> list[PainPoint]:
    return [
        PainPoint(s.number, s.session_date, s.pain_before, s.pain_after)
        for s in sessions
        if s.pain_before is not None or s.pain_after is not None
    ]


def _pain_trend(patient_id: int) -> QuerySet[Any]:
    rows = live(TreatmentSession).filter(patient_id=patient_id).order_by("session_date", "number")
    rows = rows.annotate(**pain_ratings())
    rows = rows.filter(Q(pain_before__isnull=False) | Q(pain_after__isnull=False))
    return rows.values_list("number", "session_date", "pain_before", "pain_after")


PAIN_TREND = Prepared(_pain_trend, patient_id=int)


def live_sessions(patient: Patient, until: dt.date | None = None) -> QuerySet[TreatmentSession]:
    rows = live(patient.sessions.all())
    if until is not None:
        rows = rows.filter(session_date__lte=until)
    return rows.order_by("session_date", "number")


# --- the course -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """Which visit a course is measured from, and why (the page says it in words)."""

    date: dt.date
    chosen: bool
    """The practitioner chose it (``IntakeRecord.baseline_on``), rather than the rule."""
    from_intake: bool
    """It is the intake's own visit."""

    @property
    def words(self) -> str:
        day = self.date.isoformat()
        if self.chosen:
            return f"the measurements of {day}, chosen by the practitioner"
        if self.from_intake:
            return f"the intake's measurements ({day})"
        return f"the first measurements recorded ({day}): none were taken at the intake"


@dataclass(frozen=True)
class CourseOfCare:
    course: Course
    baseline: Baseline


def course_from(
    intakes: Iterable[IntakeRecord], measurements: Iterable[Measurement], until: dt.date
) -> CourseOfCare | None:
    """The core ``Course`` from loaded live records: one visit per measurement date from the
    baseline on, none after ``until`` (today: a future-dated record never counts).

    The baseline is the latest intake's visit when measured that day, or the visit the
    practitioner chose on that intake; else the first measurement date. When an instrument was
    recorded twice on a day, a clinic record beats a self-report (a same-day self-report never
    silently replaces the intake's baseline), then the later record wins."""
    by_date: dict[dt.date, dict[str, Any]] = defaultdict(dict)
    rank = {Measurement.Origin.SELF_REPORT: 0, Measurement.Origin.CLINIC: 1}
    ordered = sorted(
        (m for m in measurements if m.measured_on <= until and not m.is_voided),
        key=lambda m: (m.measured_on, rank.get(m.origin, 1), m.pk),
    )
    for m in ordered:
        by_date[m.measured_on][m.instrument] = m.answers
    if not by_date:
        return None
    current = max(
        (i for i in intakes if not i.is_voided and i.visit_date <= until),
        key=lambda i: (i.visit_date, i.pk),
        default=None,
    )
    if current is not None and current.baseline_on in by_date:
        assert current.baseline_on is not None
        baseline = Baseline(current.baseline_on, chosen=True, from_intake=False)
    elif current is not None and current.visit_date in by_date:
        baseline = Baseline(current.visit_date, chosen=False, from_intake=True)
    else:
        baseline = Baseline(min(by_date), chosen=False, from_intake=False)
    visits = [Visit(date=d, measurements=by_date[d]) for d in sorted(by_date) if d >= baseline.date]
    return CourseOfCare(Course(baseline=visits[0], follow_ups=visits[1:]), baseline)


def course_of(patient: Patient, until: dt.date | None = None) -> CourseOfCare | None:
    """The patient's course as of ``until`` (default today) with the baseline it uses."""
    until = until or today()
    # ``patient`` in each ``only``: a related manager sets each row's patient from its
    # ``patient_id``, which would otherwise be fetched by one more query per row.
    intakes = live(patient.intakes.all()).only(
        "id", "patient", "visit_date", "baseline_on", "voided_at"
    )
    measurements = live(patient.measurements.all()).only(
        "id", "patient", "measured_on", "instrument", "answers", "origin", "voided_at"
    )
    return course_from(intakes, measurements, until)


def build_course(patient: Patient, until: dt.date | None = None) -> Course | None:
    """The core ``Course`` of ``course_of``."""
    found = course_of(patient, until)
    return found.course if found is not None else None


def _intake_shown(patient_id: int, intake_id: int) -> QuerySet[IntakeRecord]:
    rows = IntakeRecord.objects.select_related("voided_by")  # the page says who voided it
    return rows.filter(pk=intake_id, patient_id=patient_id)


def _intake_outcomes(intake_id: int) -> QuerySet[ReferralOutcome]:
    return ReferralOutcome.objects.filter(intake_id=intake_id).select_related("created_by")


def _baseline_rows(patient_id: int, measured_on: dt.date) -> QuerySet[Measurement]:
    rows = Measurement.objects.filter(
        patient_id=patient_id, measured_on=measured_on, origin=Measurement.Origin.CLINIC
    )
    return rows.select_related("voided_by").order_by("instrument", "id")


INTAKE_SHOWN = Prepared(_intake_shown, patient_id=int, intake_id=int)
INTAKE_OUTCOMES = Prepared(_intake_outcomes, intake_id=int)
BASELINE_ROWS = Prepared(_baseline_rows, patient_id=int, measured_on=dt.date)
"""The intake page's reads (the page a saved intake opens on): compiled once."""


def intake_shown(patient: Patient, intake_id: int) -> IntakeRecord | None:
    """The patient's intake ``intake_id`` (voided or not) and who voided it, or None when the
    patient has no such intake."""
    return cast(
        IntakeRecord | None,
        INTAKE_SHOWN.first(known={"patient": patient}, patient_id=patient.pk, intake_id=intake_id),
    )


def referral_outcomes(record: IntakeRecord) -> list[ReferralOutcome]:
    """The intake's recorded referral outcomes, voided ones included, latest first, with who
    recorded each."""
    return cast(
        list[ReferralOutcome], INTAKE_OUTCOMES.rows(known={"intake": record}, intake_id=record.pk)
    )


def referral_cleared(outcomes: Iterable[ReferralOutcome]) -> bool:
    """A live outcome among ``outcomes`` cleared the referral (``clearing_outcomes``)."""
    return any(o.cleared and o.voided_at is None for o in outcomes)


def _patient_plans(patient_id: int) -> QuerySet[PlanRecord]:
    return PlanRecord.objects.filter(patient_id=patient_id).order_by("-created_at")


PATIENT_PLANS = Prepared(_patient_plans, patient_id=int)
"""Every plan of the patient, voided ones included, latest first: the chart's read."""


def intake_plans(record: IntakeRecord) -> list[PlanRecord]:
    """The plans proposed from the intake, voided ones included, latest first (as
    ``record.plans``), from the patient's plans as the chart reads them."""
    plans = PATIENT_PLANS.rows(known={"patient": record.patient}, patient_id=record.patient_id)
    return [plan for plan in plans if plan.intake_id == record.pk]


def baseline_rows(record: IntakeRecord) -> list[Measurement]:
    """``baseline_measurements``, read as the intake page reads it: compiled once."""
    known = {"patient": record.patient}
    return cast(
        list[Measurement],
        BASELINE_ROWS.rows(
            known=known, patient_id=record.patient_id, measured_on=record.visit_date
        ),
    )


def baseline_measurements(record: IntakeRecord) -> QuerySet[Measurement]:
    """The measurements recorded in clinic on the intake's visit date (its baseline), voided
    ones included: the intake page shows them marked as voided."""
    return _baseline_rows(record.patient_id, record.visit_date)
