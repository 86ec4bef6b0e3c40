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
serious or critical violation on the pages these scenarios add to the accessibility tour (the
repeat intake, the details page, the link with its QR code, the progress report, a refused
reassessment, the 403 and 404 pages)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from acuknee.care import services
from acuknee.clinical import Plan, load_knowledge
from acuknee.demo import password_for
from acuknee.records.models import Measurement, TreatmentSession
from tests.care.builders import consent_on, session_on
from tests.e2e.conftest import DESKTOP, PHONE, TODAY
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


def sign_in_at(page: Any, base: str, username: str, path: str) -> None:
    """Open ``path`` signed out, sign in on the page it sends to, and land on ``path`` (as a
    link from a colleague or a bookmark does; one page fewer than signing in at the landing
    page and going on from there)."""
    page.goto(f"{base}{path}", timeout=60_000)  # the live server's first answer may be slow
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password_for(username))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}{path}")
    page.wait_for_load_state("domcontentloaded")


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
    page: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
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
    sign_in_at(page, base, "practitioner", f"/patients/{patient.pk}/")
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
    # (The accessibility tour checks this form: its intake-stage demo patient has an intake.)

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
    page.get_by_role("link", name=re.compile(r"← Sam Repeatley")).click()
    intakes = page.get_by_role("region", name="Intake", exact=True).get_by_role("listitem")
    expect(intakes).to_have_count(2)


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
    page: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
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
    sign_in_at(page, base, "practitioner", pages["patient page"])
    for where, path in pages.items():
        if page.url != base + path:  # the patient page is where signing in landed
            page.goto(base + path, wait_until="domcontentloaded")
        banner = page.get_by_role("region", name="Safety alerts for Sam Bannerley")
        expect(banner, where).to_be_visible()
        rule = page.get_by_role("link", name=pregnancy, exact=True)
        expect(banner.get_by_role("listitem").filter(has=rule), where).to_contain_text("20 weeks")
    expect(heading(page)).to_have_text("Reassessment")  # the last page: answered by keyboard

    # The KOOS item is a radio group with the instrument's answer words, as on the intake.
    s1 = page.get_by_role("group", name=re.compile(r"^S1\. "))
    words = answer_words("koos", "S1")
    assert radio_labels(s1) == [f"{v} – {w}" for v, w in enumerate(words)]
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

    sign_in_at(page, base, "practitioner", f"/patients/{patient.pk}/")
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
    assert dates == sorted(dates), dates
    assert dates[2] == missed.isoformat(), dates
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
    sign_in_at(page, base, "frontdesk", f"/patients/{patient.pk}/")
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
    assert box is not None
    assert min(box["width"], box["height"]) >= 100, box  # large enough to scan across a desk
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
    words = [str(n) for n in range(1, 10)]
    assert labels == ["0 – no pain", *words, "10 – worst pain imaginable"], labels
    text = phone.locator("body").inner_text()
    for words in PRACTITIONER_WORDS:
        assert words.lower() not in text.lower(), words
    expect(phone.locator("footer")).to_contain_text("Ask your clinic")
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


# --- 5. nothing internal shows, and a number reads the same on every page --------------------

LEAKS = {
    "a float artefact": re.compile(r"\b\d+\.\d{4,}\b"),
    "a negative zero": re.compile(r"(?<![\w.])[-−]0(?![\w.,]*\d)"),
    "None": re.compile(r"\bNone\b(?![:.]? [a-z])(?!\.)"),
    "an identifier": re.compile(
        r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b(?:"
        + "|".join(load_knowledge().instruments)
        + r")\.\w+"
    ),
    "a validation message": re.compile(
        r"validation error|Input should|Value error|field required|type=|pydantic", re.I
    ),
}
"""What a person must never read on a page: the issue's "63.8889", "-0", "None",
``knee_osteoarthritis`` and ``koos.adl``, and pydantic's own words."""

CITED = re.compile(r"https?://\S+|doi:\S+")
"""A source's address: its dots and underscores are the publisher's, not ours."""


def leaks(text: str) -> list[str]:
    text = CITED.sub(" ", text)
    return [f"{what}: {m.group(0)!r}" for what, rx in LEAKS.items() for m in rx.finditer(text)]


def test_no_page_of_a_course_shows_an_identifier_or_an_artefact_and_numbers_read_alike(
    page: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
    user = practitioner()
    patient = new_patient("Numberly")
    start, seen = TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=37)
    # KOOS answers whose subscale scores repeat (pain in ninths: 63.888...), a 40 m walk whose
    # speed is 40/31 = 1.2903... m/s, then 40/27 = 1.4814... m/s, and a blood thinner (a
    # precaution that changes the plan, said with its rule).
    baseline, follow_up = answers(0.4), answers(0.3)
    baseline["walk_40m"], follow_up["walk_40m"] = {"time_s": 31.0}, {"time_s": 27.0}
    intake = services.record_intake(
        patient,
        user,
        visit=seen,
        intake=knee_oa(patient, seen, health={"anticoagulant": "warfarin"}),
        answers=baseline,
    )
    plan = services.propose_plan(intake, user, start)
    services.sign_plan(plan, user, plan.version)
    services.record_consent(patient, user, consent_on(seen))
    plan.refresh_from_db()
    session = services.record_session(patient, user, session_on(plan, start))
    services.record_measurements(patient, user, TODAY, follow_up)
    walk = Measurement.objects.get(patient=patient, instrument="walk_40m", measured_on=TODAY)
    p = f"/patients/{patient.pk}"
    pages = {
        "patient page": f"{p}/",
        "intake": f"{p}/intakes/{intake.pk}/",
        "plan": f"{p}/plans/{plan.pk}/",
        "session": f"{p}/sessions/{session.pk}/edit/",
        "outcomes": f"{p}/outcomes/",
        "measurement": f"{p}/measurements/{walk.pk}/",
        "progress report": f"{p}/report/",
    }
    speeds = {  # what each page shows of the walk speed: baseline, latest, change
        "patient page": ["1.29", "1.48", "+0.19"],
        "intake": ["1.29"],
        "outcomes": ["1.29", "1.48", "+0.19"],
        "measurement": ["1.48"],
        "progress report": ["1.29", "1.48", "+0.19"],
    }
    sign_in_at(page, base, "practitioner", pages["patient page"])
    found = []
    for where, path in pages.items():
        if page.url != base + path:  # the patient page is where signing in landed
            page.goto(base + path, wait_until="domcontentloaded")
        page.evaluate("() => document.querySelectorAll('main details').forEach(d => d.open = true)")
        text = page.locator("body").inner_text()
        found += [f"{where}: {leak}" for leak in leaks(text)]
        if where in speeds:
            row = page.get_by_role("row").filter(has_text=re.compile(r"^\s*40 m walk speed"))
            cells = [c.strip() for c in row.first.get_by_role("cell").all_inner_texts()]
            assert [c for c in cells if re.fullmatch(r"[+−-]?\d+(\.\d+)?", c)] == speeds[where], (
                where,
                cells,
            )

    # A value off the scale: the error names the item in words, never its path or pydantic's.
    page.goto(f"{base}{p}/measurements/new/")
    page.get_by_label("Time to walk 40 m (4 x 10 m) (s)").fill("5")
    page.get_by_role("button", name="Save").click()
    problem = page.get_by_role("alert").filter(has_text="Nothing was saved")
    expect(problem).to_be_visible()
    found += [f"reassessment refused: {leak}" for leak in leaks(problem.inner_text())]
    # And a session the core refuses (a needle thinner than nothing, a point it does not know).
    page.goto(f"{base}{p}/sessions/new/")
    page.get_by_label("Needle diameter (mm)").fill("-0.2")
    page.locator("input[name$='-code']").first.fill("XX 99")
    page.get_by_role("button", name="Save and sign session").click()
    refused = page.get_by_role("alert")
    expect(refused.first).to_be_visible()
    told = " ".join(refused.all_inner_texts())
    found += [f"session refused: {leak}" for leak in leaks(told)]
    assert not found, "\n".join(found)


# --- 6. dead ends keep the way out, and a researcher starts on the research pages ------------


def test_a_researcher_lands_on_research_and_a_403_or_404_keeps_the_way_and_says_what_to_do(
    page: Any, phone: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    patient = new_patient("Deadend")

    # The researcher opens the site's root: asked to sign in, then taken to the research pages.
    page.goto(f"{base}/", timeout=60_000)
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill("researcher")
    page.get_by_label("Password").fill(password_for("researcher"))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/research/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Research", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Patients", exact=True)).to_have_count(0)

    # A patient's page is not the researcher's: a 403 that keeps the way back and says why.
    response = page.goto(f"{base}/patients/{patient.pk}/")
    assert response is not None
    assert response.status == 403
    expect(heading(page)).to_have_text("This page is not open to your role")
    main = page.get_by_role("main")
    expect(main).to_contain_text("You are signed in as researcher (Researcher)")
    expect(main).to_contain_text("nothing was shown or changed")
    expect(main).to_contain_text("ask your clinic administrator about your role")
    expect(page.get_by_text("Deadend")).to_have_count(0)
    for name in ("Research", "Reference", "Evidence"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    axe.check(page, "403 for a researcher")
    main.get_by_role("link", name="the research pages").click()
    expect(page).to_have_url(f"{base}/research/")

    # A patient's mistyped link on a phone: no site to navigate, but what to do.
    # (Another clinic's practitioner's 404: test_scenarios' test_user_of_another_clinic_...)
    response = phone.goto(f"{base}/r/not-a-real-token/")
    assert response is not None
    assert response.status == 404
    expect(phone.get_by_role("main")).to_contain_text("ask your clinic for a new one")
    axe.check(phone, "404 for a patient's link")
    axe.assert_clean()
