"""The care layer's invariants seen through an adapter: the clinic pages and the REST API."""

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
from acuknee.care.queries import today
from acuknee.records.models import ApiToken, Patient, PlanRecord
from tests.pages.conftest import login
from tests.pages.test_sessions import page_data

from .builders import days_ago, intake, log, oa_intake, pain_answers, septic_intake, signed_plan

pytestmark = pytest.mark.django_db


def api_post(user: User, path: str, body: Any, **headers: str) -> Any:
    _, secret = ApiToken.issue(user, "test")
    return Client().post(
        f"/api/v1{path}",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}", **headers},
    )


def api_get(user: User, path: str, **params: Any) -> Any:
    _, secret = ApiToken.issue(user, "test")
    return Client().get(f"/api/v1{path}", params, headers={"Authorization": f"Bearer {secret}"})


def session_body(day: dt.date) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "pain_before": 6,
        "pain_after": 3,
        "points": [{"code": "ST35", "side": "left", "stimulation": "manual"}],
    }


# --- referral -------------------------------------------------------------------------------------


def test_the_intake_page_keeps_planning_blocked_after_a_blank_second_intake(
    alice: User, patient: Patient
) -> None:
    intake(patient, alice, septic_intake(), days_ago(1))
    later = intake(patient, alice, oa_intake(), today())
    client = login(alice)
    page = client.get(reverse("intake-detail", args=[patient.pk, later.pk]))
    assert page.context["plan_allowed"] is False
    assert b"stands until its outcome is recorded" in page.content
    response = client.post(reverse("plan-new", args=[patient.pk, later.pk]), {"start": today()})
    assert response.status_code == 409
    assert not PlanRecord.objects.exists()


def test_recording_a_clearing_outcome_on_the_page_allows_planning(
    alice: User, patient: Patient
) -> None:
    septic = intake(patient, alice, septic_intake(), days_ago(1))
    later = intake(patient, alice, oa_intake(), today())
    client = login(alice)
    url = reverse("referral-outcome", args=[patient.pk, septic.pk])
    body = {"seen_by": "Dr Synthetic, ED", "seen_on": today().isoformat(), "cleared": "yes"}
    assert client.post(url, body).status_code == 302
    page = client.get(reverse("intake-detail", args=[patient.pk, later.pk]))
    assert page.context["plan_allowed"] is True


def test_a_new_intake_form_starts_from_the_previous_answers(alice: User, patient: Patient) -> None:
    intake(patient, alice, oa_intake(duration_weeks=61), days_ago(3))
    form = login(alice).get(reverse("intake-new", args=[patient.pk])).context["form"]
    assert form.initial["duration_weeks"] == 61
    assert form.initial["side"] == "left"


# --- dates ----------------------------------------------------------------------------------------


def test_the_api_refuses_a_session_dated_tomorrow_naming_the_date(
    alice: User, patient: Patient
) -> None:
    signed_plan(patient, alice, days_ago(10))
    tomorrow = today() + dt.timedelta(days=1)
    response = api_post(alice, f"/patients/{patient.pk}/sessions", session_body(tomorrow))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "date"
    assert f"{tomorrow.isoformat()} is after today" in error["message"]


def test_the_reassessment_page_refuses_a_future_date(alice: User, patient: Patient) -> None:
    tomorrow = today() + dt.timedelta(days=1)
    form = login(alice).get(reverse("measurement-new", args=[patient.pk])).context["form"]
    name = next(n for n in form.fields if n.endswith("current"))
    response = login(alice).post(
        reverse("measurement-new", args=[patient.pk]),
        {"measured_on": tomorrow.isoformat(), name: "5"},
    )
    assert response.status_code == 400
    assert "after today" in str(response.context["form"].errors)
    assert not patient.measurements.exists()


# --- baseline -------------------------------------------------------------------------------------


def test_the_outcomes_page_says_which_baseline_is_used(alice: User, patient: Patient) -> None:
    intake(patient, alice, oa_intake(baseline={"pain_nrs": pain_answers(0.7)}), days_ago(1))
    page = login(alice).get(reverse("patient-outcomes", args=[patient.pk]))
    assert "Baseline used: the intake's measurements" in html.unescape(page.content.decode())


# --- side -----------------------------------------------------------------------------------------


def test_an_added_session_row_defaults_to_the_affected_knee(alice: User, patient: Patient) -> None:
    signed_plan(patient, alice, days_ago(10))  # a left-knee intake
    entry = login(alice).get(reverse("session-new", args=[patient.pk])).context["entry"]
    extra = entry.points.forms[-1]
    assert not extra.initial
    assert extra["side"].value() == "left"


def test_an_added_plan_point_defaults_to_the_affected_knee(alice: User, patient: Patient) -> None:
    record = intake(patient, alice, oa_intake(), today())
    draft = services.propose_plan(record, alice, today())
    form = login(alice).get(reverse("plan-edit", args=[patient.pk, draft.pk])).context["form"]
    assert form["add_side_0"].value() == "left"


# --- repeated submit ------------------------------------------------------------------------------


def test_a_resubmitted_session_form_is_stored_once_and_the_user_told(
    alice: User, patient: Patient
) -> None:
    signed_plan(patient, alice, days_ago(10))
    client = login(alice)
    url = reverse("session-new", args=[patient.pk])
    page = client.get(url)
    data = page_data(client, url) | {"form_token": page.context["form_token"]}
    data["session_date"] = days_ago(2).isoformat()
    assert client.post(url, data).status_code == 302
    again = client.post(url, data, follow=True)
    assert patient.sessions.count() == 1
    assert "already saved as session 1" in " ".join(str(m) for m in again.context["messages"])


def test_the_api_answers_a_repeated_idempotency_key_once(alice: User, patient: Patient) -> None:
    signed_plan(patient, alice, days_ago(10))
    path, body = f"/patients/{patient.pk}/sessions", session_body(days_ago(2))
    first = api_post(alice, path, body, **{"Idempotency-Key": "k-1"})
    second = api_post(alice, path, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert second.status_code == 409
    assert second["X-Existing-Id"] == str(first.json()["id"])
    assert patient.sessions.count() == 1


# --- stale voids and voided patients --------------------------------------------------------------


def test_voiding_a_plan_from_a_stale_page_is_refused(alice: User, patient: Patient) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    url = reverse("plan-void", args=[patient.pk, plan_record.pk])
    login(alice).post(url, {"reason": "wrong", "version": plan_record.version - 1})
    plan_record.refresh_from_db()
    assert not plan_record.is_voided


def test_a_voided_patients_intakes_and_measurements_leave_the_api_lists(
    alice: User, patient: Patient
) -> None:
    intake(patient, alice, oa_intake(baseline={"pain_nrs": pain_answers(0.5)}), days_ago(1))
    patient.refresh_from_db()
    services.void(patient, alice, "registered twice", patient.version)
    for path in ("/intakes", "/measurements"):
        assert api_get(alice, path).json()["total"] == 0
        assert api_get(alice, path, include_voided="true").json()["total"] == 1


def test_a_session_logged_twice_in_one_day_gets_the_next_number(
    alice: User, patient: Patient
) -> None:
    plan_record = signed_plan(patient, alice, days_ago(10))
    log(plan_record, alice, days_ago(2))
    response = api_post(alice, f"/patients/{patient.pk}/sessions", session_body(days_ago(2)))
    assert response.json()["number"] == 2


# --- the current screening, kept per worker, on every path ----------------------------------------


def test_a_later_intake_that_blocks_treatment_refuses_the_session_on_every_path(
    alice: User, patient: Patient
) -> None:
    """The latest intake's screening is kept per worker (``screened_by_today_s_rules``). The
    patient's pages are shown first, so the earlier intake's screening is kept; a session form
    is opened (a second tab) before a later intake records chemotherapy without the treating
    team's agreement. Then the banner shows the new finding, and the next session is refused
    through the page (the form opened before), the API and the CSV import: nothing is stored."""
    from acuknee.care import queries
    from acuknee.importing import import_csv

    queries._SCREENED.clear()
    plan_record = signed_plan(patient, alice, days_ago(20))
    log(plan_record, alice, days_ago(10))
    client = login(alice)
    before = client.get(reverse("patient-detail", args=[patient.pk]))
    assert before.status_code == 200
    assert queries._SCREENED  # the first intake's screening is kept
    form_url = reverse("session-new", args=[patient.pk])
    opened = page_data(client, form_url)
    intake(patient, alice, oa_intake(health={"immunosuppression": "chemotherapy"}), days_ago(5))
    after = html.unescape(client.get(reverse("patient-detail", args=[patient.pk])).content.decode())
    findings = [item.name for item in queries.safety_banner(patient)]
    assert findings
    assert all(name in after for name in findings)
    assert all(name not in html.unescape(before.content.decode()) for name in findings)
    by_page = client.post(form_url, opened | {"session_date": days_ago(2).isoformat()})
    assert by_page.status_code == 400
    assert "treating team" in html.unescape(by_page.content.decode())
    by_api = api_post(alice, f"/patients/{patient.pk}/sessions", session_body(days_ago(2)))
    assert by_api.status_code in (409, 422)
    assert "treating team" in json.dumps(by_api.json())
    row = f"{patient.record_number},{days_ago(2).isoformat()},ST35:left,6\n"
    report = import_csv(f"record_number,date,points,pain_before\n{row}".encode(), patient.clinic)
    assert any("treating team" in p.message for p in report.problems)
    assert patient.sessions.count() == 1
