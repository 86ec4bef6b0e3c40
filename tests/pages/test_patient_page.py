"""The patient page at a glance, on the demo clinic: who the patient is (sex, age), one readable
chart per outcome domain with its MIC band, every detail a click away, and nothing internal on
the page (raw identifiers, "None", "-0", unrounded numbers)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from acuknee.records.models import Patient
from tests.reports.conftest import demo, demo_clinic  # noqa: F401  (fixtures)

from .conftest import login

RESPONDER = "DEMO-0020"  # completed course, responder at both follow-ups
IN_COURSE = "DEMO-0012"  # in course, a bruise after session 2
ONE_PER_STAGE = ("DEMO-0001", "DEMO-0005", IN_COURSE, "DEMO-0016", RESPONDER, "DEMO-0024")


@pytest.fixture
def practitioner() -> User:
    return User.objects.get(username="practitioner")


def page(user: User, patient: Patient) -> str:
    response = login(user).get(reverse("patient-detail", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


def visible_text(html: str) -> str:
    """What a reader sees: no tags, attributes, scripts or styles; entities decoded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_header_shows_sex_and_age(demo: dict[str, Patient], practitioner: User) -> None:  # noqa: F811
    patient = demo[RESPONDER]
    text = visible_text(between(page(practitioner, patient), "patient-header", "</header>"))
    assert f"Sex {patient.get_sex_display()}" in text
    assert re.search(r"Age \d+ \(born \d{4}-\d\d-\d\d\)", text)


def test_one_large_chart_per_measured_domain_and_no_thumbnails(
    demo: dict[str, Patient],  # noqa: F811
    practitioner: User,
) -> None:
    html = page(practitioner, demo[RESPONDER])
    large = re.findall(r'<img class="trend trend-large" src="[^"]+" alt="([^"]+)"', html)
    assert [alt.split(" (")[0] for alt in large] == [
        "KOOS Pain",
        "PSS-4 total",
        "KOOS Function in daily living",
    ][: len(large)]
    assert len(large) == 3  # pain, relaxation, function; inflammation and circulation not measured
    assert 'class="trend"' not in html  # no per-measure thumbnails on the patient page
    assert all("the grey band marks changes smaller than that" in a for a in large[:1])
    width = int(re.search(r'class="trend trend-large"[^>]* width="(\d+)"', html).group(1))
    assert width >= 480  # large enough to read
    charts = visible_text(between(html, 'class="domain-charts"', "every-measure"))
    for domain in ("Pain", "Relaxation", "Function"):
        assert domain in charts
    assert re.search(r"Not measured: Inflammation ?, Circulation", charts)


def test_every_measure_session_and_verdict_is_one_click_away(
    demo: dict[str, Patient],  # noqa: F811
    practitioner: User,
) -> None:
    html = page(practitioner, demo[RESPONDER])
    measures = visible_text(between(html, '<details class="every-measure"', "</details>"))
    for name in ("Worst pain, last week", "Sleep quality", "TUG time", "KOOS Symptoms"):
        assert name in measures
    sessions = between(html, '<details class="every-session"', "</details>")
    assert sessions.count("Open session") == 10
    assert '<details class="verdict-details"' in html
    assert 'class="every-measure" open' not in html  # closed on the patient page


def test_the_outcomes_page_keeps_every_measures_chart(
    demo: dict[str, Patient],  # noqa: F811
    practitioner: User,
) -> None:
    response = login(practitioner).get(reverse("patient-outcomes", args=[demo[RESPONDER].pk]))
    html = response.content.decode()
    assert '<details class="every-measure" open' in html
    assert html.count('<img class="trend" ') >= 10


def test_measured_reassessments_read_done_never_planned(
    demo: dict[str, Patient],  # noqa: F811
    practitioner: User,
) -> None:
    text = visible_text(page(practitioner, demo[RESPONDER]))
    assert "Reassessment done: " in text
    assert "Reassessment planned" not in text
    assert "Reassessments planned" not in text


IDENTIFIER = re.compile(r"\b[a-z]+_[a-z_]+\b")
LONG_DECIMAL = re.compile(r"\d\.\d{3,}")
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(?![.\d])")


def test_nothing_internal_shows_on_any_stage_of_the_patient_page(
    demo: dict[str, Patient],  # noqa: F811
    practitioner: User,
) -> None:
    for number in ONE_PER_STAGE:
        text = re.sub(r"doi:\S+", "", visible_text(page(practitioner, demo[number])))
        assert "None" not in text, number
        assert not IDENTIFIER.findall(text), (number, IDENTIFIER.findall(text))
        assert not LONG_DECIMAL.findall(text), (number, LONG_DECIMAL.findall(text))
        assert not NEGATIVE_ZERO.findall(text), number


def test_a_page_masks_its_csrf_token_once_and_each_page_anew(alice: User, patient: Patient) -> None:
    """As the template language's ``{% csrf_token %}``: one masked token for every form of a
    page (sign-out and voiding on this patient's page), a new mask on the next page; each is
    accepted."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = reverse("patient-detail", args=[patient.pk])
    tokens = [
        re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).content.decode())
        for _ in range(2)
    ]
    assert len(tokens[0]) >= 2
    assert len(set(tokens[0])) == 1
    assert len(set(tokens[1])) == 1
    assert tokens[0][0] != tokens[1][0]
    for token in (tokens[0][0], tokens[1][0]):
        answer = client.post(reverse("logout"), {"csrfmiddlewaretoken": token})
        assert answer.status_code == 302
        client.force_login(alice)
    refused = client.post(reverse("logout"), {"csrfmiddlewaretoken": "x" * 64})
    assert refused.status_code == 403
