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
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from acuknee.care import services
from acuknee.clinical import Plan, load_knowledge
from acuknee.records.models import Measurement, TreatmentSession
from tests.care.builders import consent_on, session_on
from tests.e2e.conftest import DESKTOP, PHONE, TODAY, sign_in
from tests.e2e.test_practitioner_day import (
    Axe,
    answers,
    first_reassessment,
    in_course,
    knee_oa,
    new_patient,
    practitioner,
    rule_name,
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


# --- 3. a forgotten session, logged late with a coded adverse event, and the progress report --

ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def test_late_session_takes_its_date_order_with_a_coded_adverse_event_the_report_lists(
    page: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    user = practitioner()
    patient = new_patient("Latimer")
    plan = in_course(patient, TODAY - dt.timedelta(days=40))
    content = Plan.model_validate(plan.content)
    planned = [v.date for v in content.schedule if v.kind == "session"]
    past = [day for day in planned if day < TODAY]
    missed = past[2]  # the third session happened, but was not logged on the day
    logged = [day for day in past if day != missed]
    for day in logged:
        services.record_session(patient, user, session_on(plan, day))
    due = first_reassessment(plan)
    assert due >= TODAY, due
    services.record_measurements(patient, user, TODAY, answers(0.3))  # the reassessment, early
    point = content.points[0].code

    sign_in(page, base, "practitioner")
    page.goto(f"{base}/patients/{patient.pk}/")
    page.locator("#sessions").get_by_role("link", name="Log a session").click()
    page.get_by_label("Date", exact=True).fill(missed.isoformat())
    page.get_by_label("Pain before the session (0-10)").fill("6")
    page.get_by_label("Pain after the session (0-10)").fill("4")
    events = page.get_by_role("group", name="Adverse events")
    kinds = events.get_by_label("Adverse event 1", exact=True)
    assert kinds.locator("option").all_inner_texts()[1:] == [
        "Bruising",
        "Bleeding",
        "Pain at the needle site",
        "Drowsiness or tiredness",
        "Fainting",
        "Nausea",
        "Infection",
        "Retained or broken needle",
        "Burn",
        "Other",
    ]
    kinds.select_option(label="Bruising")
    events.get_by_label("Severity 1", exact=True).select_option(label="Mild")
    events.get_by_label("Action taken 1", exact=True).fill("Pressure for one minute.")
    events.get_by_label("At point 1", exact=True).fill(point)
    events.get_by_label("Event note 1", exact=True).fill("Small bruise, gone by the next visit.")
    axe.check(page, "session form with an adverse event")
    page.get_by_role("button", name="Save and sign session").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_contain_text(
        "Session 3 saved and signed"
    )

    # Numbered in date order: the late entry is session 3, those after it moved up by one.
    sessions = page.locator("#sessions")
    sessions.locator("details.every-session summary").click()
    rows = sessions.get_by_role("table").get_by_role("row")
    numbers = [row.locator("td").first.inner_text() for row in rows.all()[1:]]
    dates = [row.locator("td").nth(1).inner_text() for row in rows.all()[1:]]
    assert numbers == [str(n) for n in range(1, len(logged) + 2)], numbers
    assert dates == sorted(dates) and missed.isoformat() == dates[2], dates
    expect(rows.nth(3)).to_contain_text("Bruising: Small bruise, gone by the next visit. (mild)")
    assert TreatmentSession.objects.get(patient=patient, session_date=missed).number == 3

    # The progress report: dated today, the event listed, nothing that happened called planned.
    page.get_by_role("link", name="Progress report", exact=True).click()
    expect(page.locator("dt:text-is('Report date') + dd")).to_contain_text(TODAY.isoformat())
    ae = page.get_by_role("region", name="Adverse events")
    expect(ae.get_by_role("row")).to_have_count(2)
    row = ae.get_by_role("row").nth(1)
    expect(row).to_contain_text(f"3 ({missed.isoformat()})")
    expect(row).to_contain_text(f"Bruising at {point}: Small bruise, gone by the next visit.")
    expect(row).to_contain_text("mild")
    expect(row).to_contain_text("Pressure for one minute.")
    attended = len(logged) + 1
    glance = page.get_by_role("region", name="At a glance")
    expect(glance).to_contain_text(f"Sessions attended: {attended} of {len(planned)} planned")
    expect(glance).to_contain_text("Adverse events: 1")
    steps = page.get_by_role("region", name="Next steps").get_by_role("listitem")
    texts = steps.all_inner_texts()
    # Measured today, ahead of its day: done today, its planned day named as such.
    done = TODAY.isoformat() + ("" if due == TODAY else f" (planned for {due.isoformat()})")
    assert f"Reassessment done: {done}." in texts, texts
    assert not any("passed without a logged session" in t for t in texts), texts
    for text in texts:
        if text.startswith(("Next session planned", "Reassessment planned")):
            assert all(day > TODAY.isoformat() for day in ISO_DATE.findall(text)), text
            assert due.isoformat() not in text, text
    following = planned[attended] if attended < len(planned) else None
    if following is not None:
        assert f"Next session planned: {following.isoformat()}." in texts, texts
    # Every other date the report gives is on or before its own date.
    body = page.locator("main").inner_text()
    told = [t for t in texts if t.startswith(("Next session planned", "Reassessment planned"))]
    for text in told:
        body = body.replace(text, "")
    body = re.sub(r"\(planned for \d{4}-\d\d-\d\d\)", "", body)
    late = [day for day in ISO_DATE.findall(body) if day > TODAY.isoformat()]
    assert not late, late
    axe.check(page, "progress report")
    axe.assert_clean()


# --- 4. contact details, a self-report link sent three ways, and the patient's phone --------

PRACTITIONER_WORDS = (
    "reversed",
    "coded 0",
    "0 = no problem",
    "Decision support for qualified practitioners",
    "Recall period",
    "koos.",
    "pain_nrs",
)
"""What the practitioner's forms say and a patient's must not: coding notes, the site's footer,
item identifiers."""


def test_front_desk_edits_contact_details_and_sends_a_link_the_patient_answers_on_a_phone(
    browser: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    patient = new_patient("Linkford")
    desk = browser.new_context(viewport=DESKTOP)
    desk.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = desk.new_page()
    sign_in(page, base, "frontdesk")
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("link", name="Edit details").click()
    expect(heading(page)).to_have_text("Details of Sam Linkford")
    page.get_by_label("Phone").fill("+44 7700 900123")
    page.get_by_label("Email").fill("sam.linkford@example.org")
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_role("status")).to_contain_text("Patient details saved.")
    expect(page.get_by_role("link", name="+44 7700 900123")).to_have_attribute(
        "href", "tel:+44%207700%20900123"
    )
    expect(page.get_by_role("link", name="sam.linkford@example.org")).to_be_visible()
    page.get_by_role("link", name="Edit details").click()
    history = page.locator("#patient-history")
    expect(history.get_by_role("row").filter(has_text="Phone")).to_contain_text("+44 7700 900123")
    expect(history.get_by_role("row").filter(has_text="Email")).to_contain_text(
        "sam.linkford@example.org"
    )
    axe.check(page, "details with their change history")

    page.get_by_role("link", name="Back to the patient").click()
    page.get_by_role("link", name="Send a self-report link").first.click()
    page.get_by_role("button", name="Create a new link").click()
    share = page.get_by_role("region", name="Give this link to the patient now")
    url = share.get_by_role("textbox", name="Link", exact=True).input_value()
    assert re.fullmatch(rf"{re.escape(base)}/r/[\w-]+/", url), url
    qr = share.get_by_role("img", name=re.compile("^QR code of the questionnaire link"))
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 100 and box["height"] >= 100, box
    share.get_by_role("button", name="Copy link").click()
    expect(page.locator("#copy-url-status")).to_have_text("Copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    message = share.get_by_role("textbox", name="Ready message for email or text message")
    expect(message).to_have_value(re.compile(rf"^Hello Sam, .*{re.escape(url)} The link works"))
    share.get_by_role("button", name="Copy message").click()
    expect(page.locator("#copy-message-status")).to_have_text("Copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == message.input_value()
    # The ready message opens addressed, in the email program or the phone's messages.
    email = share.get_by_role("link", name="Open in email to sam.linkford@example.org")
    mailto = urlsplit(email.get_attribute("href") or "")
    assert (mailto.scheme, unquote(mailto.path)) == ("mailto", "sam.linkford@example.org")
    assert parse_qs(mailto.query)["body"] == [message.input_value()]
    sms = urlsplit(
        share.get_by_role("link", name="Open as text message to +44 7700 900123").get_attribute(
            "href"
        )
        or ""
    )
    assert (sms.scheme, unquote(sms.path)) == ("sms", "+44 7700 900123")
    assert parse_qs(sms.query)["body"] == [message.input_value()]
    axe.check(page, "self-report link with QR code")

    # The patient's phone: questions put to the patient, the scale's own words, nothing else.
    mobile = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = mobile.new_page()
    phone.goto(url)
    expect(heading(phone)).to_have_text("Your knee questionnaire")
    expect(phone.get_by_role("group", name="Your knee during the last week")).to_be_visible()
    s4 = phone.get_by_role("group", name="How often can you straighten your knee all the way?")
    assert radio_labels(s4) == answer_words("koos", "S4")
    now = phone.get_by_role("group", name="How bad is your knee pain right now?")
    expect(now).to_have_accessible_description("0 means no pain; 10 means worst pain imaginable.")
    labels = radio_labels(now)
    assert labels[0] == "0 – no pain" and labels[-1] == "10 – worst pain imaginable", labels
    assert labels[1:-1] == [str(n) for n in range(1, 10)], labels
    text = phone.locator("body").inner_text()
    for words in PRACTITIONER_WORDS:
        assert words.lower() not in text.lower(), words
    expect(phone.locator("footer")).to_contain_text("Ask your clinic")
    axe.check(phone, "self-report on a phone")
    s4.get_by_role("radio", name="Often").tap()
    now.get_by_role("radio", name="3", exact=True).tap()
    phone.get_by_role("button", name="Send my answers").tap()
    expect(heading(phone)).to_have_text("Thank you")
    mobile.close()

    # Back at the desk: the link is used, and the answers are in the record.
    page.goto(f"{base}/patients/{patient.pk}/self-report/")
    expect(page.get_by_role("table").get_by_role("row").nth(1)).to_contain_text("used")
    pain = Measurement.objects.get(patient=patient, instrument="pain_nrs")
    assert pain.origin == Measurement.Origin.SELF_REPORT
    assert pain.answers["current"] == 3
    koos = Measurement.objects.get(patient=patient, instrument="koos")
    assert koos.answers["S4"] == 1  # "Often", coded 1 on the ability scale
    desk.close()
    axe.assert_clean()
