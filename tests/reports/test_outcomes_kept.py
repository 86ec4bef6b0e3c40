"""A course's evaluation and its domains' views, kept by what they are worked out from
(``reports.outcomes._course_views``): the same course answers as working it out afresh, and a
new, voided or changed measurement, another patient or other rules never get another's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.care import services
from acuknee.care.chart import chart_of
from acuknee.care.queries import today
from acuknee.clinical import evaluate, load_knowledge
from acuknee.clinical.knowledge import KnowledgeBase
from acuknee.demo import record_intake, record_measurement, visit_answers
from acuknee.records.models import Measurement, Patient
from acuknee.reports import outcomes
from acuknee.reports.outcomes import outcomes_context
from tests.care.builders import oa_intake
from tests.pages.conftest import login

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)
BASELINE = TODAY - dt.timedelta(days=42)


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    outcomes._COURSE_VIEWS.clear()


def pain(patient: Patient, user: User, day: dt.date, burden: float) -> Measurement:
    answers = visit_answers(random.Random(1), burden)["pain_nrs"]
    return record_measurement(patient, "pain_nrs", answers, day, user)


def started(patient: Patient, user: User, on: dt.date = BASELINE) -> None:
    """An intake with its baseline pain on ``on`` (six weeks before ``TODAY`` by default)."""
    record_intake(patient, oa_intake(), on, user)
    pain(patient, user, on, burden=0.7)


def shown(patient: Patient) -> Any:
    return outcomes_context(patient, today=TODAY)["outcomes"]


def afresh(patient: Patient, kb: KnowledgeBase | None = None) -> tuple[Any, list[Any]]:
    """The evaluation and views worked out with nothing kept."""
    kb = kb or load_knowledge()
    course = chart_of(patient).course(TODAY)
    assert course is not None
    if course.course.follow_ups:
        evaluation = evaluate(course.course, kb)
        return evaluation, outcomes._domains_from_evaluation(kb, evaluation, patient.pk)
    return None, outcomes._domains_at_baseline(kb, course.course, patient.pk)


def test_a_course_shown_again_answers_from_what_was_kept_as_worked_out_afresh(
    alice: User, patient: Patient
) -> None:
    started(patient, alice)
    first = shown(patient)
    assert len(outcomes._COURSE_VIEWS) == 1
    again = shown(patient)
    assert again.domains == first.domains == afresh(patient)[1]
    assert all(a is b for a, b in zip(again.domains, first.domains, strict=True))  # kept
    pain(patient, alice, TODAY, burden=0.2)  # a follow-up: another course
    followed = shown(patient)
    evaluation, views = afresh(patient)
    assert followed.domains == views
    assert followed.follow_up_dates == [TODAY]
    assert [v.status for v in followed.verdicts] == [f.oarsi.status for f in evaluation.follow_ups]
    assert followed.sources == list(evaluation.sources)
    assert followed.domains != first.domains
    assert len(outcomes._COURSE_VIEWS) == 2


def test_a_voided_follow_up_is_never_answered_from_the_course_that_had_it(
    alice: User, patient: Patient
) -> None:
    started(patient, alice)
    before = shown(patient)
    follow_up = pain(patient, alice, TODAY, burden=0.2)
    with_it = shown(patient)
    assert with_it.follow_up_dates == [TODAY]
    assert with_it.domains != before.domains
    follow_up.void(alice, "entered for the wrong patient")
    after = shown(patient)
    assert after.follow_up_dates == []
    assert after.verdicts == []
    assert after.domains == before.domains == afresh(patient)[1]


def test_another_patient_with_the_same_answers_gets_charts_at_their_own_address(
    alice: User, patient: Patient, other_patient: Patient
) -> None:
    started(patient, alice)
    started(other_patient, alice)
    mine, theirs = shown(patient), shown(other_patient)
    rows = [(d.rows, e.rows) for d, e in zip(mine.domains, theirs.domains, strict=True) if d.rows]
    assert rows
    for my_rows, their_rows in rows:
        assert {r.patient_pk for r in my_rows} == {patient.pk}
        assert {r.patient_pk for r in their_rows} == {other_patient.pk}


def test_other_rules_work_the_course_out_again(
    alice: User, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A knowledge base loaded anew (a corrected MIC, say) is never answered from the views of
    the rules before it."""
    started(patient, alice)
    pain(patient, alice, TODAY, burden=0.2)
    kb = load_knowledge()
    shown(patient)
    other = kb.model_copy(deep=True)
    monkeypatch.setattr(outcomes, "load_knowledge", lambda: other)
    worked: list[KnowledgeBase] = []
    real = outcomes.evaluate

    def counting(course: Any, rules: KnowledgeBase) -> Any:
        worked.append(rules)
        return real(course, rules)

    monkeypatch.setattr(outcomes, "evaluate", counting)
    shown(patient)
    assert worked == [other]


def test_a_kept_view_cannot_be_changed_by_a_page(alice: User, patient: Patient) -> None:
    started(patient, alice)
    view = next(d for d in shown(patient).domains if d.rows)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.note = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.rows[0].baseline = "0"  # type: ignore[misc]
    assert isinstance(view.rows, tuple)


def test_a_self_report_sent_after_the_page_was_shown_appears_on_its_next_view(
    alice: User, patient: Patient
) -> None:
    """Across adapters and over time: the outcomes page is shown (its views kept), the patient
    then answers through a self-report link on their phone, and the next view of the page shows
    that follow-up and its verdict, as worked out afresh."""
    day = today()
    started(patient, alice, on=day - dt.timedelta(days=42))
    client = login(alice)
    page = reverse("patient-outcomes", args=[patient.pk])
    first = client.get(page).context["outcomes"]
    assert first.follow_up_dates == []
    link, _ = services.issue_self_report_link(patient, alice, ["pain_nrs"], dt.timedelta(days=1))
    answers = visit_answers(random.Random(3), 0.2)["pain_nrs"]
    services.record_self_report(link, {"pain_nrs": answers})
    again = client.get(page).context["outcomes"]
    assert again.follow_up_dates == [day]
    assert again.verdicts
    assert again.domains != first.domains
    course = chart_of(patient).course(day)
    assert course is not None
    evaluation = evaluate(course.course)
    assert [v.status for v in again.verdicts] == [f.oarsi.status for f in evaluation.follow_ups]
