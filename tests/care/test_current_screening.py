"""A stored intake screened by today's rules (``queries.screened_by_today_s_rules``) is kept by
its data and the rules: the same intake is screened once, and a changed intake, other rules or
data that no longer validates are never answered from what was kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from acuknee.care import queries
from acuknee.clinical import load_knowledge, screen
from acuknee.kept import Kept
from acuknee.records.models import Patient

from .builders import days_ago, intake, oa_intake, septic_intake

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    queries._SCREENED.clear()


def test_the_same_stored_intake_is_screened_once_and_answers_as_screening_it(
    alice: User, patient: Patient
) -> None:
    record = intake(patient, alice, oa_intake(), days_ago(3))
    first = queries.screened_by_today_s_rules(record.data)
    again = queries.screened_by_today_s_rules(dict(record.data))  # read again: an equal dict
    assert again[0] is first[0]
    assert again[1] is first[1]
    assert first[0] == screen(first[1]) == screen(oa_intake())


def test_a_changed_intake_is_screened_afresh(alice: User, patient: Patient) -> None:
    """A second intake of the same patient, with a red flag, is its own key: its referral shows,
    and the first intake's answer is not reused for it."""
    calm = intake(patient, alice, oa_intake(), days_ago(10)).data
    septic = intake(patient, alice, septic_intake(), days_ago(1)).data
    assert not queries.screened_by_today_s_rules(calm)[0].referrals
    assert queries.screened_by_today_s_rules(septic)[0].referrals
    pregnant = {**calm, "health": {**calm["health"], "pregnant": True}}
    findings = {f.rule for f in queries.screened_by_today_s_rules(pregnant)[0].findings}
    assert "pregnancy" in findings
    assert "pregnancy" not in {f.rule for f in queries.screened_by_today_s_rules(calm)[0].findings}


def test_other_rules_screen_the_intake_again(
    alice: User, patient: Patient, monkeypatch: Any
) -> None:
    """Rules loaded anew (another knowledge base) never get the screening kept under the old
    ones: with the pregnancy rule gone, a pregnant patient's intake no longer finds it."""
    data = intake(patient, alice, oa_intake(health={"pregnant": True}), days_ago(3)).data
    kept = queries.screened_by_today_s_rules(data)[0]
    assert "pregnancy" in {f.rule for f in kept.findings}
    kb = load_knowledge()
    rules = {k: v for k, v in kb.safety_rules.items() if k != "pregnancy"}
    monkeypatch.setattr(
        queries, "load_knowledge", lambda: kb.model_copy(update={"safety_rules": rules})
    )
    again = queries.screened_by_today_s_rules(data)[0]
    assert "pregnancy" not in {f.rule for f in again.findings}


def test_data_that_no_longer_validates_shows_the_stored_screening(
    alice: User, patient: Patient
) -> None:
    """``current_screening`` of an intake stored before a field was tightened: the screening
    stored with it, never a broken page, and nothing kept for it."""
    record = intake(patient, alice, oa_intake(), days_ago(3))
    record.data = {**record.data, "age": -4}
    screening, validated = queries.current_screening(record)
    assert validated is None
    assert screening == queries.screening_of(record)
    assert len(queries._SCREENED) == 0


def test_the_store_is_bounded(alice: User, patient: Patient, monkeypatch: Any) -> None:
    monkeypatch.setattr(queries, "_SCREENED", Kept(3))
    data = intake(patient, alice, oa_intake(), days_ago(3)).data
    for weeks in range(1, 8):
        queries.screened_by_today_s_rules({**data, "duration_weeks": weeks})
        assert len(queries._SCREENED) <= 3
