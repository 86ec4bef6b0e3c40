"""A patient's chart: each of the patient's record sets read once, shared by every section of
a page that shows them.

The patient page shows the status, the appointments, the sessions, the outcomes, the plans,
the intakes and the safety banner; each used to read the records it needed, so the signed plan
was read three times and the sessions and intakes twice in one request (issue 15). A ``Chart``
reads every intake, plan, session and measurement of the patient and the current consent, in
five queries however long the history (the sessions' records in a sixth, where a page shows
them), and answers the questions those sections ask ("the signed plan", "the live sessions up
to today", "the standing referrals") from what it loaded, by the same definitions as
``care.queries`` (one rule each, tested against each other).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from django.db.models import (
    Exists,
    F,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
)

from acuknee.care.queries import (
    INTAKE_ORDER,
    PATIENT_PLANS,
    BannerItem,
    CourseOfCare,
    JsonArrayLength,
    banner_from,
    clearing_outcomes,
    course_from,
    current_consent,
    latest_data,
    latest_signed,
    on_plan,
    standing_among,
    voided_flag,
    with_documents,
)
from acuknee.care.status import Overview, status_from
from acuknee.clinical import Plan, SessionRecord
from acuknee.records.models import (
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    SessionAmendment,
    TreatmentConsent,
    TreatmentSession,
)
from acuknee.records.prepared import Prepared

MEASUREMENT_ORDER = ("measured_on", "instrument", "id")
SESSION_ORDER = ("session_date", "number", "id")


class ChartSession(NamedTuple):
    """A session as the patient's pages read it: what they list and count, not its record."""

    pk: int
    number: int
    session_date: dt.date
    plan_id: int
    is_voided: bool
    void_reason: str
    amended: int
    """How many amendments it has."""
    adverse_events: int | None
    """How many adverse events its record lists, counted by the database."""


@dataclass
class Chart:
    """Every record of one patient, voided ones included (the page lists them, marked); the
    properties read only the live ones where the rule says so."""

    patient: Patient
    intakes: list[IntakeRecord]
    """Latest first (``INTAKE_ORDER``), each with ``referral_cleared``: a live referral
    outcome cleared its referral."""
    plans: list[PlanRecord]
    """Newest first, as the plan section lists them."""
    sessions: list[ChartSession]
    """In date order, without their records (``session_record``)."""
    measurements: list[Measurement]
    """By date and instrument, with ``voided_by``; their scores and FHIR lines not loaded."""
    consent: TreatmentConsent | None
    """The current informed consent (``care.queries.current_consent``)."""

    # --- intakes ---------------------------------------------------------------------------

    @cached_property
    def live_intakes(self) -> list[IntakeRecord]:
        return [i for i in self.intakes if not i.is_voided]

    @property
    def latest_intake(self) -> IntakeRecord | None:
        """``care.queries.latest_intake``: the latest live intake."""
        return self.live_intakes[0] if self.live_intakes else None

    @cached_property
    def open_referrals(self) -> list[IntakeRecord]:
        """``care.queries.open_referrals``: live intakes that refer, not cleared since."""
        return standing_among(self.live_intakes)

    def banner(self) -> list[BannerItem]:
        """``care.queries.safety_banner`` from the loaded intakes."""
        return banner_from(self.open_referrals, self.latest_intake)

    # --- the signed plan -------------------------------------------------------------------

    @cached_property
    def signed_plan(self) -> PlanRecord | None:
        """``care.queries.signed_plan``: the latest signed live plan."""
        return latest_signed(self.plans)

    def plan_on(self, day: dt.date) -> tuple[PlanRecord | None, Plan | None]:
        """The plan current on ``day`` (the latest signed by then) and its content: the signed
        plan itself unless a later one was signed after ``day`` (a report dated in the past)."""
        record = latest_signed(self.plans, by=day)
        if record is self.signed_plan:
            return record, self.signed_content
        return record, Plan.model_validate(record.content) if record is not None else None

    @cached_property
    def signed_content(self) -> Plan | None:
        """The signed plan's content as the core's ``Plan`` (validated once per chart)."""
        record = self.signed_plan
        return Plan.model_validate(record.content) if record is not None else None

    # --- sessions and measurements ---------------------------------------------------------

    @cached_property
    def live_sessions(self) -> list[ChartSession]:
        return [s for s in self.sessions if not s.is_voided]

    def sessions_until(self, day: dt.date) -> list[ChartSession]:
        """``care.queries.live_sessions(patient, until=day)``."""
        return [s for s in self.live_sessions if s.session_date <= day]

    def session_record(self, session: ChartSession) -> SessionRecord:
        """The session's ``SessionRecord``, validated once per chart. The sessions are read
        without their records (``_sessions``): one not read yet is read with every other not
        read yet (``session_records``), so asking row by row still reads them in one query."""
        found = self._session_records.get(session.pk)
        if found is None:
            self.session_records(self.sessions)
            found = self._session_records[session.pk]
        return found

    def session_records(self, sessions: list[ChartSession]) -> list[SessionRecord]:
        """The sessions' records, those not read yet read in one query: the sessions the
        sessions section lists, those with adverse events alone for the outcomes section
        (``adverse_events``: how many each record lists, counted by the database)."""
        missing = [s.pk for s in sessions if s.pk not in self._session_records]
        if missing:
            latest = [s.pk for s in self.sessions[-len(missing) :]]
            if len(missing) == len(self.sessions):
                read = SESSION_RECORDS.rows(patient_id=self.patient.pk)
            elif missing == latest:  # the sessions section's: compiled once
                read = LATEST_SESSION_RECORDS.rows(
                    shape=(len(missing),), patient_id=self.patient.pk
                )
            else:
                read = TreatmentSession.objects.filter(pk__in=missing).values_list("pk", "data")
            for pk, data in read:
                self._session_records[pk] = SessionRecord.model_validate(data)
        return [self._session_records[s.pk] for s in sessions]

    @cached_property
    def _session_records(self) -> dict[int, SessionRecord]:
        return {}

    @cached_property
    def live_measurements(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.is_voided]

    def last_measured(self, until: dt.date | None = None) -> dt.date | None:
        """The latest live measurement date (up to ``until`` when given)."""
        return max(
            (
                m.measured_on
                for m in self.live_measurements
                if until is None or m.measured_on <= until
            ),
            default=None,
        )

    def course(self, until: dt.date) -> CourseOfCare | None:
        """``care.queries.course_of(patient, until)`` from the loaded records."""
        return course_from(self.live_intakes, self.live_measurements, until)

    # --- where the patient stands -----------------------------------------------------------

    @cached_property
    def overview(self) -> Overview:
        """The facts of ``care.status`` (as ``with_status_facts`` annotates them)."""
        plan = self.signed_plan
        return Overview(
            referral_open=bool(self.open_referrals),
            plan_content=plan.content if plan is not None else None,
            plan_start=plan.start_date if plan is not None else None,
            sessions_done=len(on_plan(self.live_sessions, plan)),
            last_measured=self.last_measured(),
        )

    def status(self, today: dt.date) -> Patient.Status:
        """``care.status.patient_status`` on the loaded records."""
        return status_from(self.overview, today, self.signed_content)

    @property
    def last_visit(self) -> dt.date | None:
        """The latest live intake, session or measurement date."""
        days = [
            max((i.visit_date for i in self.live_intakes), default=None),
            max((s.session_date for s in self.live_sessions), default=None),
            self.last_measured(),
        ]
        return max((d for d in days if d is not None), default=None)


# The chart's reads, compiled once per connection (``records.prepared``): building and
# compiling these five querysets took longer than running them (issue 15).


def _intakes(patient_id: int) -> QuerySet[IntakeRecord]:
    """Every intake, voided ones included, with its screening (the intake list counts its
    referrals) but without its assessment, and without its answers but the latest live
    intake's (the banner and the pages read no other), taken out as ``shown_data``
    (``care.queries.with_documents``): decoding every intake's answers cost each page of the
    patient more with every intake of the history (issue 15, goal 1's thirteenth round)."""
    rows = IntakeRecord.objects.filter(patient_id=patient_id)
    rows = rows.annotate(referral_cleared=Exists(clearing_outcomes()), **latest_data(patient_id))
    return rows.defer("assessment", "data").order_by(*INTAKE_ORDER)


def _sessions(patient_id: int) -> QuerySet[Any]:
    """Every session as a ``ChartSession``, without its record (``Chart.session_record`` reads
    them): only the sessions section shows the records, and models with every record decoded
    cost every page of the patient more with every session (issue 15)."""
    rows = TreatmentSession.objects.filter(patient_id=patient_id)
    amendments = SessionAmendment.objects.filter(session_id=OuterRef("pk")).order_by()
    counted = amendments.annotate(n=Func(F("pk"), function="COUNT")).values("n")  # no GROUP BY
    rows = rows.annotate(
        voided=voided_flag(),
        amendment_count=Subquery(counted),
        event_count=JsonArrayLength("data", "adverse_events"),
    )
    return rows.order_by(*SESSION_ORDER).values_list(
        "pk",
        "number",
        "session_date",
        "plan_id",
        "voided",
        "void_reason",
        "amendment_count",
        "event_count",
    )


def _session_records(patient_id: int) -> QuerySet[Any]:
    return TreatmentSession.objects.filter(patient_id=patient_id).values_list("pk", "data")


def _latest_session_records(count: int, patient_id: int) -> QuerySet[Any]:
    """The records of the patient's latest ``count`` sessions (``SESSION_ORDER``)."""
    rows = TreatmentSession.objects.filter(patient_id=patient_id)
    latest = rows.order_by(*(f"-{name}" for name in SESSION_ORDER))
    return latest.values_list("pk", "data")[:count]


def _measurements(patient_id: int) -> QuerySet[Measurement]:
    rows = Measurement.objects.filter(patient_id=patient_id).select_related("voided_by")
    return rows.defer("scores", *Measurement.RENDERED).order_by(*MEASUREMENT_ORDER)


INTAKES = Prepared(_intakes, patient_id=int)
SESSIONS = Prepared(_sessions, patient_id=int)
SESSION_RECORDS = Prepared(_session_records, patient_id=int)
LATEST_SESSION_RECORDS = Prepared(_latest_session_records, example_shape=(2,), patient_id=int)
MEASUREMENTS = Prepared(_measurements, patient_id=int)


def chart_of(patient: Patient) -> Chart:
    """The patient's chart: five queries, however many records the patient has."""
    known = {"patient": patient}
    return Chart(
        patient=patient,
        intakes=with_documents(INTAKES.rows(known=known, patient_id=patient.pk)),
        plans=PATIENT_PLANS.rows(known=known, patient_id=patient.pk),
        sessions=[ChartSession(*row) for row in SESSIONS.rows(patient_id=patient.pk)],
        measurements=MEASUREMENTS.rows(known=known, patient_id=patient.pk),
        consent=current_consent(patient),
    )
