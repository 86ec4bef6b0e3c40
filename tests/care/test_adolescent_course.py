"""An adolescent's course from intake to first session, across the pages, the REST API and FHIR:
tibial tubercle pain at 14 is Osgood-Schlatter disease (Weiler 2011), planned with the
unspecified-knee-pain protocol, and under 16 only a parent's or guardian's consent lets anyone
plan or needle (safety rule ``minor_consent``, BAcC minimum age). Each adapter must say the same."""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from acuknee.care import services
from acuknee.clinical import load_knowledge
from acuknee.clinical.vocabulary import Cause
from acuknee.records.models import (
    ApiToken,
    Clinic,
    IntakeRecord,
    Patient,
    PlanRecord,
    TreatmentConsent,
    TreatmentSession,
)
from acuknee.research.models import CourseOutcome
from acuknee.research.refresh import refresh
from tests.care.builders import days_ago, session_on
from tests.care.test_adapters import api_get, api_post
from tests.pages.conftest import login, synthetic_patient
from tests.pages.test_intake import intake_post
from tests.pages.test_sessions import page_data

pytestmark = pytest.mark.django_db

VISIT, SECOND_VISIT, START, FIRST_SESSION = days_ago(12), days_ago(10), days_ago(8), days_ago(6)
RISKS = ["bruising", "pain_at_site", "fainting"]


@pytest.fixture
def teo(northside: Clinic, alice: User) -> Patient:
    """Fourteen at every date of the course."""
    born = VISIT.replace(year=VISIT.year - 14) - dt.timedelta(days=30)
    return synthetic_patient(northside, alice, "N-0014", "Teo", born)


def intake_page(client: Client, patient: Patient, day: dt.date, **fields: str) -> IntakeRecord:
    data = intake_post(
        visit_date=day.isoformat(),
        side="right",
        duration_weeks="8",
        activity_related_pain="true",
        examination__tibial_tubercle_tenderness="true",
        **fields,
    )
    response = client.post(reverse("intake-new", kwargs={"patient_id": patient.pk}), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return IntakeRecord.objects.filter(patient=patient).latest("id")


def propose(client: Client, patient: Patient, record: IntakeRecord) -> Any:
    url = reverse("plan-new", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    return client.post(url, {"start": START.isoformat()})


def test_an_adolescents_osgood_schlatter_course_reads_alike_on_every_adapter(
    alice: User, teo: Patient
) -> None:
    client = login(alice)

    # The intake without a guardian's consent: the cause is named, planning is refused.
    first = intake_page(client, teo, VISIT)
    page = html.unescape(
        client.get(reverse("intake-detail", args=[teo.pk, first.pk])).content.decode()
    )
    assert "Likely cause: <strong>Osgood-Schlatter disease</strong>" in page
    assert "Likely Osgood-Schlatter disease: Pain and tenderness at the tibial tubercle" in page
    assert first.assessment["likely_cause"] == Cause.OSGOOD_SCHLATTER.value
    blocks = {f["rule"] for f in first.screening["findings"] if f["blocks_treatment"]}
    assert blocks == {"minor_consent"}
    refused = propose(client, teo, first)
    assert refused.status_code == 409
    assert "Under 16, a parent or guardian must give consent" in html.unescape(
        refused.content.decode()
    )
    assert not PlanRecord.objects.filter(patient=teo).exists()

    # A second intake records the guardian as the one who consents: planning goes ahead.
    second = intake_page(client, teo, SECOND_VISIT, consent_given_by="parent_or_guardian")
    assert propose(client, teo, second).status_code == 302
    plan = PlanRecord.objects.get(intake=second)
    unspecified = [
        p for p in load_knowledge().protocols_for(Cause.UNSPECIFIED) if p.default_for_cause
    ]
    assert plan.proposed["protocol"] == unspecified[0].id
    assert any(
        w.startswith("No protocol treats Osgood-Schlatter disease;")
        for w in plan.proposed["warnings"]
    )
    assert plan.proposed["rationale"].startswith("Likely cause: Osgood-Schlatter disease")

    # The REST API and FHIR name the same cause for the latest intake.
    listed = api_get(alice, "/intakes", patient=teo.pk).json()["items"]
    latest = next(i for i in listed if i["id"] == second.pk)
    assert latest["assessment"]["likely_cause"] == Cause.OSGOOD_SCHLATTER.value
    _, secret = ApiToken.issue(alice, "fhir")
    condition = Client().get(
        f"/fhir/Condition/intake-{second.pk}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert condition.status_code == 200, condition.content
    assert condition.json()["code"]["text"] == f"{Cause.OSGOOD_SCHLATTER.label}, right knee"

    services.sign_plan(plan, alice, plan.version)
    plan.refresh_from_db()

    # The first session's consent: the patient's own is refused on the page and by the API,
    # nothing stored; a named guardian's is taken.
    url = reverse("session-new", args=[teo.pk])
    data = page_data(client, url) | {"session_date": FIRST_SESSION.isoformat()}
    own = {
        "consent_given_by": "patient",
        "consent_given_on": FIRST_SESSION.isoformat(),
        "consent_risks": RISKS,
    }
    on_page = client.post(url, data | own)
    assert on_page.status_code == 400
    said = " ".join(
        str(e) for e in on_page.context["consent_form"].errors.get("consent_given_by", [])
    )
    assert "parent or guardian" in said, on_page.context["consent_form"].errors
    body = session_on(plan, FIRST_SESSION).model_dump(mode="json")
    body.pop("number")
    body.pop("practitioner_id")
    by_api = api_post(
        alice,
        f"/patients/{teo.pk}/sessions",
        body
        | {
            "consent": {
                "given_on": FIRST_SESSION.isoformat(),
                "given_by": "patient",
                "risks_explained": RISKS,
            }
        },
    )
    assert by_api.status_code == 422, by_api.content
    assert "parent or guardian" in json.dumps(by_api.json())
    assert not TreatmentConsent.objects.filter(patient=teo).exists()
    assert not TreatmentSession.objects.filter(patient=teo).exists()

    guardian = own | {
        "consent_given_by": "parent_or_guardian",
        "consent_guardian_name": "R. Synthetic",
    }
    assert client.post(url, data | guardian).status_code == 302
    (stored,) = TreatmentConsent.objects.filter(patient=teo)
    assert stored.data["given_by"] == "parent_or_guardian"
    assert TreatmentSession.objects.filter(patient=teo).count() == 1
    sessions = api_get(alice, "/sessions", patient=teo.pk).json()["items"]
    assert [s["number"] for s in sessions] == [1]

    # The research network counts the course as an adolescent's (it was once banded 18-39).
    refresh(seed=1)
    (row,) = CourseOutcome.objects.filter(clinic_id=teo.clinic_id).values("age_band", "cause")
    assert row == {"age_band": "0-17", "cause": Cause.OSGOOD_SCHLATTER.value}
