"""Controls are classed as the trials classed them; the reviews and guideline stances are quoted
as read, and nothing unread is shown as a number."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from acuknee.evidence.data import load_evidence
from tests.pages.conftest import login


def _comparison(cid: str) -> Any:
    return next(c for c in load_evidence().comparisons if c.id == cid)


def test_foster_advice_and_exercise_arm_is_an_active_control_not_usual_care() -> None:
    foster = _comparison("foster2007_active")
    assert foster.control == "Advice and exercise alone"
    assert foster.comparator == "active_control"


def test_active_control_comparison_is_not_pooled_with_no_acupuncture_controls() -> None:
    assert _comparison("foster2007_active").analysis is None
    pooled = {c.id for c in load_evidence().in_analysis("no_acupuncture_smd")}
    assert pooled == {"hinman2014_no_acupuncture", "witt2005_waiting"}


def test_each_trial_control_keeps_the_trials_own_class() -> None:
    classes = {c.id: c.comparator for c in load_evidence().comparisons}
    assert classes["hinman2014_no_acupuncture"] == "no_acupuncture"
    assert classes["witt2005_waiting"] == "waiting_list"
    assert classes["scharf2006_usual"] == "usual_care"
    assert {classes[i] for i in classes if i.endswith("_sham")} == {"sham"}


def test_vickers_2018_update_is_held_without_an_invented_osteoarthritis_figure() -> None:
    reviews = {r.id: r for r in load_evidence().reviews}
    for rid in ("vickers2018_sham", "vickers2018_no_acupuncture"):
        review = reviews[rid]
        assert "39 trials, 20,827 patients" in review.scope
        assert review.estimate is None
        assert review.finding is not None
        assert review.source == ["ev_vickers2018"]
    assert "0.2 SD" in reviews["vickers2018_sham"].finding
    assert "0.5 SD" in reviews["vickers2018_no_acupuncture"].finding


def test_nice_stance_quotes_its_recommendation_and_says_the_words_were_not_checked(
    alice: Any,
) -> None:
    nice = next(g for g in load_evidence().guidelines if g.id == "nice_ng226")
    assert nice.quote is not None
    assert nice.quote.startswith("Do not offer acupuncture or dry needling")
    assert nice.recommendation == "1.3.8"
    assert nice.quote_checked is False
    html = login(alice).get(reverse("evidence")).content.decode()
    assert f"“{nice.quote}” (recommendation 1.3.8)" in html
    assert "not yet checked on the NICE page" in html
