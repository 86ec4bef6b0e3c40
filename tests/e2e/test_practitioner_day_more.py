"""The rest of issue 14's points in a real browser, each across the pages and days it spans: a
repeat intake starts from the previous answers (the free-text history carried, the red flags
asked again, a pregnancy's weeks moved on); the KOOS is the same radio group on the intake, the
reassessment and the patient's phone, and is answered with the keyboard alone; the safety banner
heads every page of one patient; a forgotten session logged late takes its place in date order
with a coded adverse event, which the progress report lists (never calling planned what has
happened); the front desk edits contact details and sends a self-report link (copied to the
clipboard, a QR code, a ready message), and the patient's phone speaks to the patient; nothing
internal shows on any page, and a number reads the same everywhere; a 403 or 404 keeps the site's
navigation and says what to do, and a researcher lands on the research pages. Axe-core finds no
serious or critical violation on the pages these scenarios add."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from acuknee.care import services
from acuknee.clinical import Plan, load_knowledge
from acuknee.records.models import Measurement, Patient, TreatmentSession
from tests.care.builders import consent_on, session_on
from tests.e2e.conftest import DESKTOP, PHONE, TODAY, sign_in
from tests.e2e.test_practitioner_day import (
    Axe,
    answers,
    in_course,
    knee_oa,
    new_patient,
    practitioner,
    rule_name,
    section,
)
from tests.e2e.test_scenarios import answer_every_red_flag_question_no

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect

HISTORY = {
    "presenting_complaint": "Left knee aches on stairs and after gardening.",
    "previous_treatment": "Physiotherapy exercises for six weeks, 2024.",
    "goals": "Walk the dog for half an hour without stopping.",
}


def heading(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


def answer_words(instrument: str, code: str) -> list[str]:
    """The instrument's own words for each answer of one item (its response scale)."""
    inst = load_knowledge().instruments[instrument]
    item = next(i for i in inst.items if i.code == code)
    words = inst.answer_labels(item)
    return [words[v] for v in sorted(words)]


def radio_labels(group: Any) -> list[str]:
    """What each answer of a radio group reads, in order."""
    return [label.inner_text().strip() for label in group.locator("label").all()]


# --- 1. a repeat intake starts from the previous answers --------------------------------------


def test_repeat_intake_carries_the_history_asks_red_flags_again_and_moves_pregnancy_weeks_on(
    page: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    patient = new_patient("Repeatley", born=dt.date(1988, 5, 1))
    before = TODAY - dt.timedelta(weeks=8)
    health = {"pregnant": True, "pregnancy_weeks": 12}
    services.record_intake(
        patient,
        practitioner(),
        visit=before,
        intake=knee_oa(patient, before, health=health),
        history=HISTORY,
    )
    sign_in(page, base, "practitioner")
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("link", name="New intake").click()
    expect(heading(page)).to_have_text("Intake: History and red flags")
    expect(page.get_by_text("The answers of the previous intake")).to_contain_text(
        before.isoformat()
    )
    # The free-text history and the examination are carried, for review with the patient.
    expect(page.locator("#id_presenting_complaint")).to_have_value(HISTORY["presenting_complaint"])
    expect(page.locator("#id_previous_treatment")).to_have_value(HISTORY["previous_treatment"])
    expect(page.locator("#id_goals")).to_have_value(HISTORY["goals"])
    expect(page.locator("#id_side")).to_have_value("left")
    # A red-flag answer is true of the day it was asked: blank today, the last answer beside it.
    fever = page.get_by_label("Fever")
    expect(fever.locator("option:checked")).to_have_text("Not asked")
    asked_before = f"Previous intake ({before.isoformat()}): no. Ask again today."
    expect(page.locator("#id_red_flags__fever_helptext")).to_have_text(asked_before)
    axe.check(page, "repeat intake, history step")

    page.locator("#id_goals").fill("Walk the dog for an hour.")
    answer_every_red_flag_question_no(page)
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(heading(page)).to_have_text("Intake: Safety")
    # Twelve weeks pregnant eight weeks ago is twenty weeks today.
    expect(page.locator("#id_health__pregnant")).to_be_checked()
    expect(page.locator("#id_health__pregnancy_weeks")).to_have_value("20")
    expect(page.get_by_text(f"Previous intake ({before.isoformat()}): 12 weeks")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(heading(page)).to_have_text("Intake: Examination")
    expect(page.locator("#id_examination__crepitus")).to_have_value("true")
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(heading(page)).to_have_text("Intake: Baseline measures")
    # The baseline questionnaires are asked afresh, each item the instrument's radio group.
    s1 = page.get_by_role("group", name=re.compile(r"^S1\. "))
    expect(s1.get_by_role("radio")).to_have_count(5)
    assert radio_labels(s1) == [f"{v} – {w}" for v, w in enumerate(answer_words("koos", "S1"))]
    expect(s1.get_by_role("radio", checked=True)).to_have_count(0)
    page.get_by_role("button", name="Save intake and screen").click()
    expect(page.get_by_role("heading", name="Screening verdict")).to_be_visible()

    story = page.get_by_role("region", name="The patient's story")
    expect(story).to_contain_text(HISTORY["presenting_complaint"])
    expect(story).to_contain_text(HISTORY["previous_treatment"])
    expect(story).to_contain_text("Walk the dog for an hour.")
    expect(story).not_to_contain_text("half an hour")
    axe.check(page, "repeat intake saved")
    page.get_by_role("link", name=re.compile(r"← Sam Repeatley")).click()
    intakes = page.get_by_role("region", name="Intake", exact=True).get_by_role("listitem")
    expect(intakes).to_have_count(2)
    axe.assert_clean()


# --- 2. the safety banner on every page of a patient, and one questionnaire component --------


def pregnant_in_course(family: str, start: dt.date) -> Any:
    """A knee-OA patient 20 weeks pregnant at the intake a week before ``start``, the plan
    signed, consent taken and the first session logged on ``start``."""
    patient = new_patient(family, born=dt.date(1990, 9, 3))
    user = practitioner()
    day = start - dt.timedelta(days=7)
    health = {"pregnant": True, "pregnancy_weeks": 20}
    record = services.record_intake(
        patient,
        user,
        visit=day,
        intake=knee_oa(patient, day, health=health),
        answers=answers(0.6),
    )
    plan = services.propose_plan(record, user, start)
    services.sign_plan(plan, user, plan.version)
    services.record_consent(patient, user, consent_on(day))
    plan.refresh_from_db()
    session = services.record_session(patient, user, session_on(plan, start))
    return patient, record, plan, session


def test_safety_banner_heads_every_page_of_a_patient_and_the_koos_is_answered_by_keyboard(
    page: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    patient, intake, plan, session = pregnant_in_course("Bannerley", TODAY - dt.timedelta(days=3))
    p = f"/patients/{patient.pk}"
    pages = {
        "patient page": f"{p}/",
        "intake": f"{p}/intakes/{intake.pk}/",
        "repeat intake form": f"{p}/intake/new/",
        "plan": f"{p}/plans/{plan.pk}/",
        "new session": f"{p}/sessions/new/",
        "signed session": f"{p}/sessions/{session.pk}/edit/",
        "outcomes": f"{p}/outcomes/",
        "self-report link": f"{p}/self-report/",
        "details": f"{p}/details/",
        "reassessment form": f"{p}/measurements/new/",
    }
    pregnancy = rule_name("pregnancy")
    sign_in(page, base, "practitioner")
    for where, path in pages.items():
        page.goto(base + path)
        banner = page.get_by_role("region", name="Safety alerts for Sam Bannerley")
        expect(banner, where).to_be_visible()
        rule = page.get_by_role("link", name=pregnancy, exact=True)
        expect(banner.get_by_role("listitem").filter(has=rule), where).to_contain_text("20 weeks")
    expect(heading(page)).to_have_text("Reassessment")  # the last page: answered by keyboard

    # The KOOS item is a radio group with the instrument's answer words, as on the intake.
    s1 = page.get_by_role("group", name=re.compile(r"^S1\. "))
    words = answer_words("koos", "S1")
    assert radio_labels(s1) == [f"{v} – {w}" for v, w in enumerate(words)]
    axe.check(page, "reassessment form")
    page.get_by_label("Date of the visit").focus()
    for _ in range(4):  # Tab through the date's day, month and year, into the first question
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type") != "date":
            break
    expect(s1.get_by_role("radio").first).to_be_focused()
    page.keyboard.press("ArrowRight")  # the arrows move between answers and pick one
    page.keyboard.press("ArrowRight")
    expect(s1.get_by_role("radio", name=f"2 – {words[2]}")).to_be_checked()
    expect(s1.get_by_role("radio", name=f"2 – {words[2]}")).to_be_focused()
    page.keyboard.press("Tab")  # Tab leaves the group for the next question
    s2 = page.get_by_role("group", name=re.compile(r"^S2\. "))
    expect(s2.get_by_role("radio").first).to_be_focused()
    page.keyboard.press("Space")
    expect(s2.get_by_role("radio").first).to_be_checked()
    expect(s1.get_by_role("radio", checked=True)).to_have_count(1)
    page.keyboard.press("Enter")  # submits the form, as from any field
    expect(page).to_have_url(re.compile(rf"{p}/outcomes/$"))
    koos = Measurement.objects.filter(patient=patient, instrument="koos").latest("pk")
    assert koos.measured_on == TODAY
    assert (koos.answers["S1"], koos.answers["S2"]) == (2, 0)
    axe.assert_clean()
