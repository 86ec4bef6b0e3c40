"""The patient page lists a patient's latest sessions; the sessions page lists every one, a page
at a time: every session on the patient page, its record read and printed, cost the page more
with every session of the history (issue 15)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.care import services
from acuknee.clinical import Plan
from acuknee.demo import session_from_plan
from acuknee.pages.views import sessions as session_views
from acuknee.records.models import Patient, PlanRecord
from tests.api.conftest import api_for
from tests.api.test_writes import SESSION
from tests.pages.conftest import login
from tests.pages.test_sessions import START, sign_plan

pytestmark = pytest.mark.django_db


def _log(plan_record: PlanRecord, user: User, count: int) -> None:
    """``count`` sessions, one a day from the plan's start, session n rated n % 11 before."""
    content = Plan.model_validate(plan_record.content)
    for n in range(1, count + 1):
        record = session_from_plan(
            content,
            n,
            START + dt.timedelta(days=n),
            pain_before=n % 11,
            pain_after=None,
            practitioner=user.get_username(),
        )
        services.record_session(plan_record.patient, user, record)


def _numbers(page: str) -> list[int]:
    """The session numbers the page's sessions table opens, in the table's order."""
    return [int(n) for n in re.findall(r">Open session (\d+)</a></td>", page)]


def test_the_patient_page_lists_the_latest_sessions_and_links_to_every_one(
    patient: Patient, alice: User
) -> None:
    plan_record = sign_plan(patient, alice)
    count = session_views.LATEST_SESSIONS + 3
    _log(plan_record, alice, count)
    voided = patient.sessions.get(number=count - 1)
    services.void(voided, alice, "entered on the wrong patient", voided.version)
    client = login(alice)
    answer = client.get(reverse("patient-detail", args=[patient.pk]))
    page = answer.content.decode()
    listed = [n for n in range(4, count + 1) if n != count - 1]  # the voided one is marked
    assert _numbers(page) == listed
    rows = answer.context["sessions_section"]["rows"]
    assert [(r.session.number, r.record.pain_before) for r in rows] == [
        (n, n % 11) for n in range(4, count + 1)
    ]
    assert f"The latest {session_views.LATEST_SESSIONS} of {count} sessions" in page
    assert "voided: entered on the wrong patient" in page
    every = reverse("session-list", args=[patient.pk])
    assert f'href="{every}"' in page
    assert f"Every session ({count}, 1 voided)" in page
    whole = client.get(every)
    assert whole.status_code == 200
    shown = whole.content.decode()
    assert _numbers(shown) == [n for n in range(1, count + 1) if n != count - 1]
    assert "voided: entered on the wrong patient" in shown
    rows = whole.context["rows"]
    assert [r.record.pain_before for r in rows] == [n % 11 for n in range(1, count + 1)]
    assert [r.session.pk for r in rows] == list(
        patient.sessions.order_by("session_date", "number", "id").values_list("pk", flat=True)
    )


def test_a_short_history_is_listed_whole_on_the_patient_page(patient: Patient, alice: User) -> None:
    _log(sign_plan(patient, alice), alice, 3)
    page = login(alice).get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert _numbers(page) == [1, 2, 3]
    assert "Every session (3)" in page
    assert f'href="{reverse("session-list", args=[patient.pk])}"' not in page


def test_the_sessions_page_goes_a_page_at_a_time_and_takes_any_page_asked_for(
    patient: Patient, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``?page=`` as Django's ``get_page`` reads it: past the end is the last page, anything not
    a number the first, never an error."""
    monkeypatch.setattr(session_views, "SESSIONS_PER_PAGE", 10)
    _log(sign_plan(patient, alice), alice, 25)
    client = login(alice)
    url = reverse("session-list", args=[patient.pk])
    pages = {
        asked: _numbers(client.get(url, {"page": asked}).content.decode())
        for asked in ("1", "2", "3", "99", "two", "")
    }
    assert pages["1"] == pages["two"] == pages[""] == list(range(1, 11))
    assert pages["2"] == list(range(11, 21))
    assert pages["3"] == pages["99"] == list(range(21, 26))
    second = client.get(url, {"page": 2}).content.decode()
    assert "Page 2 of 3 (sessions 11 to 20)" in second
    assert 'href="?page=1">Previous' in second
    assert 'href="?page=3">Next' in second


def test_a_session_stored_through_the_api_is_on_both_pages_of_the_patient(
    patient: Patient, alice: User
) -> None:
    """An API write shows on the pages at once: the latest on the patient page, and in its
    place among every session, numbered in date order by the care layer."""
    plan_record = sign_plan(patient, alice)
    _log(plan_record, alice, session_views.LATEST_SESSIONS + 1)
    day = START + dt.timedelta(days=session_views.LATEST_SESSIONS + 5)
    answer = api_for(alice).post(
        f"/patients/{patient.pk}/sessions",
        {**SESSION, "date": day.isoformat(), "pain_before": 9},
    )
    assert answer.status_code == 201, answer.content
    client = login(alice)
    count = session_views.LATEST_SESSIONS + 2
    page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert _numbers(page) == list(range(3, count + 1))
    whole = client.get(reverse("session-list", args=[patient.pk]))
    assert _numbers(whole.content.decode()) == list(range(1, count + 1))
    assert whole.context["rows"][-1].record.pain_before == 9
