"""The safety banner on every page of a patient: each standing referral and each finding of the
latest live intake's current screening, named as the rule names it, in one labelled region."""

from __future__ import annotations

import datetime as dt
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acuknee.care import services
from acuknee.care.queries import safety_banner
from acuknee.clinical import Plan, load_knowledge
from acuknee.demo import record_intake, record_plan, record_session, session_from_plan
from acuknee.records.models import IntakeRecord, Patient

from .conftest import login
from .test_voiding import oa_intake, septic_intake

pytestmark = pytest.mark.django_db

VISIT = dt.date(2026, 5, 4)
REGION = 'role="region" aria-label="Safety alerts'


def rule_name(rule_id: str) -> str:
    """The rule's own name in the knowledge base: what the banner shows (read from a page with
    its character references decoded, ``unescape``: Django and Jinja2 escape "'" differently)."""
    return load_knowledge().safety_rules[rule_id].name


def pages(patient: Patient, record: IntakeRecord) -> list[str]:
    return [
        reverse("patient-detail", args=[patient.pk]),
        reverse("intake-detail", args=[patient.pk, record.pk]),
        reverse("intake-new", args=[patient.pk]),
        reverse("session-new", args=[patient.pk]),
    ]


def banner_of(html: str) -> str:
    start = html.find(REGION)
    assert start != -1, "no safety banner on the page"
    # A Jinja2 page escapes ' and " as &#39; and &#34;, a Django template as &#x27; and &quot;.
    html = html.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")
    return html[start : html.find("</section>", start)]


FINDINGS: list[tuple[str, dict[str, Any], str]] = [
    ("pregnancy", {"pregnant": True, "pregnancy_weeks": 20}, "20 weeks"),
    ("bleeding_risk", {"anticoagulant": "warfarin"}, ""),
    ("antiplatelet", {"antiplatelet": "aspirin"}, ""),
    ("bleeding_disorder", {"bleeding_disorder": "haemophilia"}, ""),
    ("implanted_device", {"implanted_electronic_device": True}, ""),
    ("knee_prosthesis", {"knee_prosthesis": "right"}, "right knee"),
    ("metal_allergy", {"metal_allergy": True}, ""),
    ("severe_neutropenia", {"neutropenia": True, "neutrophil_count_10e9_per_l": 0.3}, ""),
    ("treating_team_agreement", {"neutropenia": True, "treating_team_agrees": None}, ""),
]


@pytest.mark.parametrize(("rule", "health", "detail"), FINDINGS, ids=[f[0] for f in FINDINGS])
def test_each_finding_shows_by_its_rule_name_on_the_patient_intake_and_session_pages(
    alice: User, patient: Patient, rule: str, health: dict[str, Any], detail: str
) -> None:
    record = record_intake(patient, oa_intake(health=health), VISIT, alice)
    client = login(alice)
    for url in pages(patient, record):
        banner = banner_of(client.get(url).content.decode())
        assert rule_name(rule) in unescape(banner), url
        assert detail in banner, url
        assert reverse("intake-detail", args=[patient.pk, record.pk]) in banner, url


def test_an_open_referral_shows_on_every_page_of_the_patient(alice: User, patient: Patient) -> None:
    record = record_intake(patient, septic_intake(), VISIT, alice)
    client = login(alice)
    for url in pages(patient, record):
        banner = banner_of(client.get(url).content.decode())
        assert "Referral open" in banner, url
        assert "Suspected septic arthritis" in banner, url


def test_a_cleared_referral_leaves_the_banner(alice: User, patient: Patient) -> None:
    referring = record_intake(patient, septic_intake(), VISIT, alice)
    services.resolve_referral(
        referring, alice, seen_by="Dr Synthetic", seen_on=VISIT + dt.timedelta(days=2), cleared=True
    )
    record_intake(patient, oa_intake(), VISIT + dt.timedelta(days=7), alice)
    assert [item.kind for item in safety_banner(patient)] == []
    html = login(alice).get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert REGION not in html


def test_a_voided_intakes_findings_do_not_show(alice: User, patient: Patient) -> None:
    older = record_intake(patient, oa_intake(), VISIT, alice)
    pregnant = record_intake(
        patient, oa_intake(health={"pregnant": True}), VISIT + dt.timedelta(days=1), alice
    )
    services.void_intake(
        pregnant, alice, "entered on the wrong patient", pregnant.version, baseline=True
    )
    assert safety_banner(patient) == []
    html = login(alice).get(reverse("intake-detail", args=[patient.pk, older.pk])).content.decode()
    assert rule_name("pregnancy") not in unescape(html)


def test_nothing_shows_for_a_patient_without_findings(alice: User, patient: Patient) -> None:
    record = record_intake(patient, oa_intake(), VISIT, alice)
    client = login(alice)
    for url in pages(patient, record):
        assert REGION not in client.get(url).content.decode(), url


def test_the_banner_reads_the_latest_intake_screened_by_todays_rules(
    alice: User, patient: Patient
) -> None:
    """The session check's source: a finding in the stored screening of an older intake, or a
    stored screening that lacks a finding today's rules make, does not decide the banner."""
    record = record_intake(patient, oa_intake(health={"metal_allergy": True}), VISIT, alice)
    IntakeRecord.objects.filter(pk=record.pk).update(screening={"findings": []})
    assert [item.rule for item in safety_banner(patient)] == ["metal_allergy"]


def test_the_front_desk_sees_no_clinical_banner(alice: User, dana: User, patient: Patient) -> None:
    record_intake(patient, oa_intake(health={"pregnant": True}), VISIT, alice)
    html = login(dana).get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert REGION not in html


def patient_page_queries(user: User, patient: Patient) -> int:
    client = login(user)
    url = reverse("patient-detail", args=[patient.pk])
    client.get(url)  # warm the session and the knowledge base
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_banner_costs_the_same_queries_however_many_intakes_and_sessions(
    alice: User, patient: Patient
) -> None:
    risky = oa_intake(health={"metal_allergy": True, "antiplatelet": "aspirin"})
    intake = record_intake(patient, risky, VISIT, alice)
    plan_record = record_plan(intake, VISIT, alice)
    assert plan_record is not None
    content = Plan.model_validate(plan_record.content)

    def log(n: int) -> None:
        day = VISIT + dt.timedelta(days=n)
        session = session_from_plan(content, n, day, pain_before=5, pain_after=4, practitioner="a")
        record_session(plan_record, session, alice)

    log(1)
    with CaptureQueriesContext(connection) as ctx:
        safety_banner(patient)
    assert len(ctx.captured_queries) == 2
    few = patient_page_queries(alice, patient)
    for n in range(2, 8):
        log(n)
    for k in range(4):
        record_intake(patient, risky, VISIT - dt.timedelta(days=10 + k), alice)
    assert patient_page_queries(alice, patient) == few


def test_the_intake_page_reads_the_standing_referrals_once_for_its_verdict_and_its_banner(
    alice: User, patient: Patient
) -> None:
    """An intake page under another intake's standing referral: planning is refused naming that
    referral, and the banner names it and the latest intake's findings, as on every other page,
    from the one read of the standing referrals (it was read for each)."""
    standing = record_intake(patient, septic_intake(), VISIT, alice)
    later = record_intake(
        patient,
        oa_intake(health={"anticoagulant": "warfarin"}),
        VISIT + dt.timedelta(days=3),
        alice,
    )
    client = login(alice)
    with CaptureQueriesContext(connection) as ctx:
        answer = client.get(reverse("intake-detail", args=[patient.pk, later.pk]))
    assert answer.status_code == 200
    refusals = answer.context["refusal_reasons"]
    assert any(standing.visit_date.isoformat() in r for r in refusals)
    assert not answer.context["plan_allowed"]
    assert answer.context["chart"].banner() == safety_banner(patient)
    html = unescape(banner_of(answer.content.decode()))
    assert reverse("intake-detail", args=[patient.pk, standing.pk]) in html
    assert rule_name("bleeding_risk") in html
    reads = [
        q["sql"] for q in ctx.captured_queries if '"refers"' in q["sql"] and "WHERE" in q["sql"]
    ]
    referral_reads = [q for q in reads if "clinic_referraloutcome" in q]
    assert len(referral_reads) == 1, "\n".join(referral_reads)
