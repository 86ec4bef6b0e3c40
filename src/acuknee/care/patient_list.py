"""The clinic's patient list: one page of patients, each with their last visit and status.

Every row's facts (the last intake, session and measurement dates, and what ``care.status``
reads) are subquery annotations in the patients' own query, so a page costs the same queries
however many records each patient has. The list without a search, the one the front desk opens
all day, is read as prepared reads (``records.prepared``): building and compiling its status
annotations cost more than running them (issue 15). A search is a query of its own shape and
goes through the ORM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, QuerySet

from acuknee.care.queries import live, search_patients
from acuknee.care.status import attach_overviews, latest, patient_status, with_status_facts
from acuknee.records.models import IntakeRecord, Patient, TreatmentSession
from acuknee.records.prepared import Prepared

PAGE_SIZE = 50


def with_overview(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate the last visit dates and the facts ``patient_status`` reads, as subqueries:
    a page of patients costs the same queries however many records each one has (the latest
    intake and the signed plan are then fetched by id, see ``attach_overviews``)."""
    return with_status_facts(patients).annotate(
        last_intake=latest(IntakeRecord, "visit_date"),
        last_session=latest(TreatmentSession, "session_date"),
        last_measurement=F("status_last_measured"),
    )


def last_visit(patient: Patient) -> dt.date | None:
    """The latest of intake, session and measurement dates (annotated by ``with_overview``)."""
    days = [
        getattr(patient, name, None) for name in ("last_intake", "last_session", "last_measurement")
    ]
    known = [d for d in days if d is not None]
    return max(known) if known else None


def _clinic_patients(show_voided: bool, clinic_id: int) -> QuerySet[Patient]:
    patients = Patient.objects.filter(clinic_id=clinic_id)
    return patients if show_voided else live(patients)


def _listed(show_voided: bool, clinic_id: int) -> QuerySet[Patient]:
    return with_overview(_clinic_patients(show_voided, clinic_id))


def _listed_count(show_voided: bool, clinic_id: int) -> QuerySet[Patient]:
    rows = _clinic_patients(show_voided, clinic_id).values("clinic_id")  # one group: the clinic
    return rows.annotate(n=Count("pk")).values_list("n")


def _listed_page(show_voided: bool, offset: int, clinic_id: int) -> QuerySet[Patient]:
    return _listed(show_voided, clinic_id)[offset : offset + PAGE_SIZE]


LISTED_COUNT = Prepared(_listed_count, example_shape=(False,), clinic_id=int)
LISTED_PAGE = Prepared(_listed_page, example_shape=(False, 0), clinic_id=int)


class _PreparedPages:
    """The clinic's patients as Django's ``Paginator`` reads them: a count, then one slice."""

    def __init__(self, clinic_id: int, show_voided: bool) -> None:
        self.clinic_id, self.show_voided = clinic_id, show_voided

    def count(self) -> int:
        found = LISTED_COUNT.rows(shape=(self.show_voided,), clinic_id=self.clinic_id)
        return int(found[0][0]) if found else 0

    def __getitem__(self, window: slice) -> list[Patient]:
        start = window.start or 0
        rows = LISTED_PAGE.rows(shape=(self.show_voided, start), clinic_id=self.clinic_id)
        return rows[: window.stop - start] if window.stop is not None else rows


def patient_page(
    clinic_id: int, *, query: str, show_voided: bool, page: Any, today: dt.date
) -> tuple[Page[Patient], list[dict[str, Any]]]:
    """Page ``page`` (Django's ``get_page``: a number, else the first or last page) of the
    clinic's patients, found by ``query`` when it is not blank, voided ones only when asked
    for; each row with its patient, last visit and status on ``today``."""
    patients: Any = _PreparedPages(clinic_id, show_voided)
    if query.strip():
        patients = with_overview(search_patients(_clinic_patients(show_voided, clinic_id), query))
    shown = Paginator(patients, PAGE_SIZE).get_page(page)
    attach_overviews(shown.object_list)
    rows = [
        {"patient": p, "last_visit": last_visit(p), "status": patient_status(p, today)}
        for p in shown.object_list
    ]
    return shown, rows
