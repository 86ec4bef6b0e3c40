"""The clinic's worklist, computed from the records: what needs doing today and this week.

Four lists, all scoped to one clinic (``care.status`` gives each patient's facts): reassessments
due this week (or overdue), patients whose latest screening refers them on, self-report
questionnaires returned in the last week, and sessions the signed plans schedule for today. A
patient whose standing referral blocks a plan is listed under the referral only: no needling
and no course while it stands (HAZ-70, docs/clinical-safety.md). The patients' facts come from
subquery annotations in the patients' own query, so the worklist costs the same few queries
however many patients the clinic has; the three reads are compiled once per connection
(``records.prepared``): building and compiling the status annotations cost more than running
them (issue 15).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import QuerySet

from acuknee.care.queries import standing
from acuknee.care.status import (
    OVERVIEW_ATTR,
    attach_overviews,
    reassessments_due,
    sessions_planned_on,
    with_status_facts,
)
from acuknee.clinical import Screening
from acuknee.clinical.screening import Referral
from acuknee.records.models import IntakeRecord, Patient, SelfReportLink
from acuknee.records.prepared import Prepared

RETURNED_WITHIN = dt.timedelta(days=7)
"""Self-reports returned this recently are listed: a week covers the days since the last visit."""

DUE_WITHIN = dt.timedelta(days=6)
"""Reassessments dated up to this far ahead are "due this week" (today plus six days)."""


def _clinic_patients(clinic_id: int) -> QuerySet[Patient]:
    patients = Patient.objects.filter(clinic_id=clinic_id, voided_at__isnull=True)
    return with_status_facts(patients).order_by("family_name", "given_name", "pk")


def _standing_intakes(clinic_id: int) -> QuerySet[IntakeRecord]:
    intakes = IntakeRecord.objects.filter(
        patient__clinic_id=clinic_id, patient__voided_at__isnull=True
    )
    return standing(intakes).order_by("visit_date", "pk").only("patient_id", "screening")


def _returned_links(clinic_id: int, since: dt.datetime) -> QuerySet[SelfReportLink]:
    links = SelfReportLink.objects.filter(
        patient__clinic_id=clinic_id, patient__voided_at__isnull=True, used_at__gte=since
    )
    return links.select_related("patient").order_by("-used_at")


CLINIC_PATIENTS = Prepared(_clinic_patients, clinic_id=int)
STANDING_INTAKES = Prepared(_standing_intakes, clinic_id=int)
RETURNED_LINKS = Prepared(_returned_links, clinic_id=int, since=dt.datetime)


def _standing_referrals(clinic_id: int) -> dict[int, list[Referral]]:
    """Per patient, the referrals that stand until their outcome is recorded (one query)."""
    by_patient: dict[int, list[Referral]] = defaultdict(list)
    for row in STANDING_INTAKES.rows(clinic_id=clinic_id):
        by_patient[row.patient_id] += Screening.model_validate(row.screening).referrals
    return by_patient


def worklist_of(clinic_id: int, today: dt.date, now: dt.datetime) -> dict[str, Any]:
    """The four lists for the clinic on ``today`` (time passed in, so tests choose the day):
    ``due``, ``referred``, ``returned`` and ``today_sessions``, with ``today`` and ``until``
    (the last day of "this week")."""
    patients = CLINIC_PATIENTS.rows(clinic_id=clinic_id)
    attach_overviews(patients)
    standing_referrals = _standing_referrals(clinic_id)
    due, referred, today_sessions = [], [], []
    until = today + DUE_WITHIN
    for patient in patients:
        overview = getattr(patient, OVERVIEW_ATTR)
        if overview.referral_open:
            referrals = standing_referrals.get(patient.pk, [])
            if referrals:
                referred.append({"patient": patient, "referrals": referrals})
                if any(r.urgency.blocks_plan for r in referrals):
                    continue  # no needling and no course while the referral stands
        for day in reassessments_due(overview, until):
            due.append({"patient": patient, "date": day, "overdue": day < today})
        numbers = sessions_planned_on(overview, today)
        if numbers:
            today_sessions.append({"patient": patient, "numbers": numbers})
    due.sort(key=lambda row: (row["date"], row["patient"].family_name))
    returned = RETURNED_LINKS.rows(clinic_id=clinic_id, since=now - RETURNED_WITHIN)
    return {
        "today": today,
        "until": until,
        "due": due,
        "referred": referred,
        "returned": list(returned),
        "today_sessions": today_sessions,
    }
