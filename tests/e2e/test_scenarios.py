"""A practitioner's day in a real browser: each test is one scenario of issue 3, driven through the
pages a person uses (the login form, links and buttons), against the demo clinic."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from acuknee.clinical import load_knowledge
from acuknee.records.models import Measurement, Patient, PlanRecord
from tests.e2e.conftest import PHONE, TODAY, sign_in

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect

INTAKE_DAY = TODAY - dt.timedelta(weeks=6)
FIRST_SESSION = INTAKE_DAY + dt.timedelta(days=3)


def register_patient(page: Any, base: str, record_number: str) -> None:
    """Register a synthetic patient from the patient list and land on their page."""
    page.goto(f"{base}/")
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Given name").fill("Eve")
    page.get_by_label("Family name").fill("Browserton")
    page.get_by_label("Date of birth").fill("1958-04-02")
    page.get_by_label("Sex").select_option(index=1)
    page.get_by_label("Record number").fill(record_number)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Eve Browserton")


def start_intake(page: Any, visit: dt.date = TODAY) -> None:
    """From the patient page, open a new intake and fill what every intake needs (step 1)."""
    page.get_by_role("link", name="New intake").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Intake: History and red flags")
    page.locator("#id_visit_date").fill(visit.isoformat())
    page.locator("#id_side").select_option("left")
    page.locator("#id_duration_weeks").fill("26")


def next_step(page: Any, title: str) -> None:
    """Press "Next" and land on the step called ``title``."""
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Intake: {title}")


def save_intake(page: Any) -> None:
    """From wherever the intake is, go on to the last step and save it."""
    heading = page.get_by_role("heading", level=1)
    while (shown := heading.inner_text()) != "Intake: Baseline measures":
        page.get_by_role("button", name=re.compile(r"^Next")).click()
        expect(heading).not_to_have_text(shown)  # an error would keep the step: fail here
    page.get_by_role("button", name="Save intake and screen").click()
    expect(page.get_by_role("heading", name="Screening verdict")).to_be_visible()


def propose_plan(page: Any, start: dt.date) -> None:
    """On the intake page: propose a plan starting ``start`` and land on the plan page."""
    page.locator("form[action$='/plan/'] input[type=date]").fill(start.isoformat())
    page.get_by_role("button", name="Propose plan").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Plan")


def give_consent(page: Any, day: dt.date) -> None:
    """On the first session's page: the patient's informed consent, the common risks told."""
    consent = page.locator("#consent")
    consent.get_by_label("The patient").check()
    consent.get_by_label("Consent given on").fill(day.isoformat())
    for risk in ("Bruising", "Pain at the needle site", "Fainting"):
        consent.get_by_label(risk, exact=True).check()


def log_session(page: Any, day: dt.date, before: int, after: int) -> None:
    """From the patient page: log a session with the pre-filled points (the plan's for the
    first, which also records the patient's consent; the last session's after it)."""
    page.locator("#sessions").get_by_role("link", name="Log a session").click()
    expect(page.get_by_label("Point").first).not_to_have_value("")
    if page.locator("#consent").count():
        give_consent(page, day)
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Pain before the session (0-10)").fill(str(before))
    page.get_by_label("Pain after the session (0-10)").fill(str(after))
    page.get_by_role("button", name="Save and sign session").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_contain_text("signed")


def choose(page: Any, name: str, value: int) -> None:
    """Tick one answer of a 0-10 or 0-4 scale (radio buttons) in a measurement form."""
    page.locator(f"input[name='{name}'][value='{value}']").check()


def answer_every_red_flag_question_no(page: Any) -> None:
    """Answer each yes / no red-flag question "no" (a blank is "not asked": issue 11)."""
    from acuknee.clinical.intake import Question, RedFlagFindings

    for name, info in RedFlagFindings.model_fields.items():
        if info.annotation == Question:
            page.locator(f"#id_red_flags__{name}").select_option("false")


def test_practitioner_runs_a_course_from_intake_to_responder_verdict(
    page: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
    sign_in(page, base, "practitioner")
    register_patient(page, base, "E2E-0001")

    start_intake(page, INTAKE_DAY)
    # ACR clinical criteria for knee osteoarthritis (age over 50 comes from the date of birth)
    page.locator("#id_morning_stiffness_minutes").fill("10")
    answer_every_red_flag_question_no(page)
    next_step(page, "Safety")
    next_step(page, "Examination")
    for finding in ("crepitus", "bony_tenderness", "bony_enlargement"):
        page.locator(f"#id_examination__{finding}").select_option("true")
    page.locator("#id_examination__palpable_warmth").select_option("false")
    next_step(page, "Baseline measures")
    # The baseline ratings are radio groups 0-10, as on the reassessment.
    for item in ("pain_nrs__average_last_week", "pain_nrs__current", "patient_global__global"):
        page.locator(f'input[name="m__{item}"][value="7"]').check()
    save_intake(page)
    expect(page.locator("section[aria-labelledby=assessment]")).to_contain_text("osteoarthritis")
    expect(page.get_by_text("Planning is allowed.")).to_be_visible()

    propose_plan(page, FIRST_SESSION)
    expect(page.get_by_role("heading", name="Points", exact=True)).to_be_visible()
    page.get_by_role("button", name="Sign plan").click()
    expect(page.get_by_text(re.compile(r"^Signed by practitioner on "))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Signed")

    page.get_by_role("link", name=re.compile(r"← Eve Browserton")).click()
    log_session(page, FIRST_SESSION, before=7, after=5)
    log_session(page, FIRST_SESSION + dt.timedelta(days=3), before=6, after=4)
    expect(page.locator("#sessions")).to_contain_text("Attended: 2")

    page.locator("#outcomes").get_by_role("link", name="Record a reassessment").click()
    page.get_by_label("Date of the visit").fill(TODAY.isoformat())
    choose(page, "pain_nrs__average_last_week", 2)
    choose(page, "pain_nrs__current", 2)
    choose(page, "patient_global__global", 3)
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/patients/\d+/"))
    expect(page.locator("#outcomes img.trend-large").first).to_be_visible()  # a chart per domain
    # New data: the page linked its charts rather than draw them; each loads by its own request
    # (signed in, audited, allowed by the Content-Security-Policy).
    page.wait_for_function(
        "() => [...document.querySelectorAll('#outcomes img.trend-large')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    page.locator("#outcomes details.verdict-details > summary").click()  # the verdicts: one click
    verdict = page.locator("#outcomes table.verdicts tbody tr").last
    expect(verdict).to_contain_text(TODAY.isoformat())
    expect(verdict.locator(".badge")).to_have_text("Responder")
    expect(page.locator("#outcomes")).to_contain_text("OMERACT-OARSI")


def test_intake_with_septic_arthritis_signs_is_refused_a_plan(
    page: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
    sign_in(page, base, "practitioner")
    register_patient(page, base, "E2E-0002")
    start_intake(page)
    answer_every_red_flag_question_no(page)
    page.locator("#id_red_flags__fever").select_option("true")
    page.locator("#id_red_flags__hot_swollen_knee").select_option("true")
    save_intake(page)
    patient = Patient.objects.get(record_number="E2E-0002")

    blocked = page.get_by_role("alert")
    expect(blocked).to_contain_text("Planning is blocked.")
    expect(blocked).to_contain_text("Suspected septic arthritis")
    expect(page.get_by_role("button", name="Propose plan")).to_have_count(0)
    expect(page.get_by_role("link", name="Referral letter", exact=True)).to_be_visible()

    # Going to the plan URL directly is refused too, and no plan is stored.
    response = page.goto(page.url.rstrip("/") + "/plan/")
    assert response is not None
    assert response.status == 409
    expect(page.get_by_text("No plan can be proposed from this intake.")).to_be_visible()
    assert not PlanRecord.objects.filter(patient=patient).exists()


def test_pregnant_patients_plan_offers_no_forbidden_point_and_no_override_adds_sp6(
    page: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
    forbidden = {
        p.code for p in load_knowledge().points.values() if "pregnancy_forbidden" in p.tags
    }
    assert "SP6" in forbidden
    sign_in(page, base, "practitioner")
    register_patient(page, base, "E2E-0003")
    start_intake(page)
    answer_every_red_flag_question_no(page)
    next_step(page, "Safety")
    page.locator("#id_health__pregnant").check()
    page.locator("#id_health__pregnancy_weeks").fill("20")
    next_step(page, "Examination")
    page.locator("#id_examination__pes_anserine_tenderness").select_option("true")
    page.locator("#id_examination__pain_location_1").check()  # medial
    save_intake(page)
    propose_plan(page, TODAY)

    offered = set(page.locator("section[aria-labelledby=points] tbody td strong").all_inner_texts())
    assert offered, "the plan offers points"
    assert not offered & forbidden
    expect(page.locator("section[aria-labelledby=changes]")).to_contain_text("SP6")

    page.get_by_role("link", name="Edit plan").click()
    page.get_by_label("Add point 1:", exact=True).select_option("SP6")
    page.get_by_label("Side of added point 1:", exact=True).select_option("left")
    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved")
    refused = re.compile(r"SP6 \(left\) cannot be needled for this patient, even with an override")
    expect(page.get_by_text(refused)).to_be_visible()

    # an override with a reason does not lift a pregnancy block (issue 11)
    page.get_by_label(re.compile(r"^Override: add the blocked point")).check()
    page.get_by_label("Reason for the override").fill("Obstetrician agreed in writing.")
    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved")
    expect(page.get_by_text(refused)).to_be_visible()
    plan = PlanRecord.objects.get(patient__record_number="E2E-0003")
    assert "SP6" not in {p["code"] for p in plan.content["points"]}
    assert plan.overrides == []


def test_patient_fills_a_self_report_link_on_a_phone(
    page: Any, phone: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
    patient = Patient.objects.filter(clinic__slug="demo").order_by("record_number").first()
    assert patient is not None
    sign_in(page, base, "frontdesk")
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("link", name="Send a self-report link").first.click()
    page.get_by_role("button", name="Create a new link").click()
    url = page.get_by_role("textbox", name="Link", exact=True).input_value()
    assert "/r/" in url
    before = Measurement.objects.filter(patient=patient, origin=Measurement.Origin.SELF_REPORT)
    count = before.count()
    first_day = timezone.localdate()

    phone.goto(url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your knee questionnaire")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the form scrolls sideways on a phone ({width}px)"
    choose(phone, "pain_nrs__average_last_week", 4)
    choose(phone, "pain_nrs__current", 3)
    choose(phone, "patient_global__global", 4)
    phone.locator("input[name='pss4__1'][value='1']").tap()
    phone.get_by_role("button", name="Send my answers").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you")

    stored = Measurement.objects.filter(patient=patient, origin=Measurement.Origin.SELF_REPORT)
    assert stored.count() > count
    # The answers are dated when they arrive; a run that crosses midnight sees either day.
    days = {first_day, timezone.localdate()}
    pain = stored.get(instrument="pain_nrs", measured_on__in=days)
    assert pain.answers["average_last_week"] == 4
    assert pain.scores

    again = phone.goto(url)
    assert again is not None
    assert again.status == 410


def test_front_desk_cannot_open_clinical_notes(page: Any, live_server: Any, demo: Any) -> None:
    base = live_server.url
    patient = Patient.objects.filter(clinic__slug="demo", intakes__isnull=False).first()
    assert patient is not None
    intake = patient.intakes.first()
    sign_in(page, base, "frontdesk")

    page.goto(f"{base}/patients/{patient.pk}/")
    expect(page.get_by_text("Clinical notes are visible to practitioners")).to_be_visible()
    expect(page.get_by_role("heading", name="Intake")).to_have_count(0)
    for path in (f"intakes/{intake.pk}/", "outcomes/", "sessions/new/"):
        response = page.goto(f"{base}/patients/{patient.pk}/{path}")
        assert response is not None
        assert response.status == 403, path


def test_user_of_another_clinic_gets_404_for_a_patient_url(
    page: Any, live_server: Any, demo: Any
) -> None:
    base = live_server.url
    patient = Patient.objects.filter(clinic__slug="demo").first()
    assert patient is not None
    sign_in(page, base, "riverside")
    for path in ("", "outcomes/", "self-report/"):
        response = page.goto(f"{base}/patients/{patient.pk}/{path}")
        assert response is not None
        assert response.status == 404, path
    # The 404 never says the patient exists, keeps the site's navigation and says what to do.
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text(patient.family_name)).to_have_count(0)
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Worklist", "Patients", "Reference"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_role("link", name="your worklist")).to_be_visible()
    main.get_by_role("link", name="Search the patient list").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Patients")
    page.goto(f"{base}/?q={patient.record_number}")
    expect(page.get_by_role("link", name=patient.family_name)).to_have_count(0)
