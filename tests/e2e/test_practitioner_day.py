"""Issue 14's practitioner's day in a real browser: the patient page at a glance (sex and age,
the safety banner, one chart per measured domain with its minimal-important-change band, the
details a click away), the referral letter edited before printing (and a stale second tab
refused), the front desk booking visit times and downloading timed calendar events without
seeing a clinical note, and the worklist's four lists, which change as the day's work is done.
Axe-core finds no serious or critical violation on any page visited."""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import icalendar
import pytest
from django.contrib.auth.models import User

from acuknee.care import patients as patient_services
from acuknee.care import services
from acuknee.clinical import Intake, Plan, load_knowledge
from acuknee.demo import visit_answers
from acuknee.records.models import IntakeRecord, Patient, PlanRecord, SelfReportLink, StaffProfile
from tests.care.builders import asked_intake, consent_on, session_on
from tests.e2e.conftest import TODAY, axe_violations, describe, sign_in

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect


# --- synthetic records, written through the care layer ---------------------------------------


def practitioner() -> User:
    return User.objects.get(username="practitioner")


def new_patient(
    family: str, *, born: dt.date = dt.date(1958, 6, 14), sex: str = "female"
) -> Patient:
    """A synthetic patient of the demo clinic (the practitioner's and the front desk's)."""
    user = practitioner()
    return Patient.objects.create(
        clinic=StaffProfile.objects.get(user=user).clinic,
        record_number=f"E2E-{family.upper()}",
        given_name="Sam",
        family_name=family,
        date_of_birth=born,
        sex=sex,
        synthetic=True,
        created_by=user,
    )


def knee_oa(patient: Patient, day: dt.date, **extra: Any) -> Intake:
    """A knee-OA intake of ``patient`` on ``day``, every red-flag question asked."""
    return asked_intake(
        {
            "age": patient.age_on(day),
            "sex": patient.sex,
            "side": "left",
            "duration_weeks": 60,
            "activity_related_pain": True,
            "examination": {"crepitus": True, "bony_tenderness": True, "bony_enlargement": True},
            **extra,
        }
    )


def septic(patient: Patient, day: dt.date) -> IntakeRecord:
    """An intake with a hot swollen knee and fever: the screening refers the patient on."""
    intake = knee_oa(patient, day, red_flags={"hot_swollen_knee": True, "fever": True})
    return services.record_intake(patient, practitioner(), visit=day, intake=intake)


def in_course(patient: Patient, start: dt.date, **history: str) -> PlanRecord:
    """An OA intake a week before ``start``, its plan signed, the patient's consent taken."""
    user = practitioner()
    day = start - dt.timedelta(days=7)
    record = services.record_intake(
        patient, user, visit=day, intake=knee_oa(patient, day), history=history
    )
    plan = services.propose_plan(record, user, start)
    services.sign_plan(plan, user, plan.version)
    services.record_consent(patient, user, consent_on(day))
    plan.refresh_from_db()
    return plan


def first_reassessment(plan: PlanRecord) -> dt.date:
    content = Plan.model_validate(plan.content)
    return next(v.date for v in content.schedule if v.kind == "reassessment")


def answers(burden: float) -> dict[str, dict[str, float | None]]:
    """Pain ratings and the KOOS: two outcome domains (pain, function), each with an MIC."""
    every = visit_answers(random.Random(14), burden)
    return {name: every[name] for name in ("pain_nrs", "koos")}


def rule_name(rule: str) -> str:
    """What the banner calls a finding: the knowledge base's name for its rule."""
    return load_knowledge().safety_rules[rule].name


# --- the checks every scenario shares ----------------------------------------------------------


class Axe:
    """Collects the serious and critical axe-core violations of each page visited, so one
    scenario reports them all at its end."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self.failures: list[str] = []

    def check(self, page: Any, where: str) -> None:
        if found := axe_violations(page, self.script):
            self.failures.append(f"{where} ({page.url}):\n{describe(found)}")

    def assert_clean(self) -> None:
        assert not self.failures, "\n\n".join(self.failures)


def section(page: Any, heading: str) -> Any:
    """A page section by the heading that labels it (``aria-labelledby``: a named region)."""
    return page.get_by_role("region", name=heading, exact=True)


# --- 1. the patient page at a glance ---------------------------------------------------------


def test_patient_page_shows_sex_age_safety_banner_a_chart_per_measured_domain_details_on_click(
    page: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    patient = new_patient("Bannerman", born=dt.date(1982, 2, 11))
    referred_on, seen_on = TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=35)
    red_flags = [r["name"] for r in septic(patient, referred_on).screening["referrals"]]
    health = {
        "pregnant": True,
        "pregnancy_weeks": 20,
        "anticoagulant": "heparin",
        "implanted_electronic_device": True,
        "knee_prosthesis": "right",
        "metal_allergy": True,
    }
    services.record_intake(
        patient,
        practitioner(),
        visit=seen_on,
        intake=knee_oa(patient, seen_on, health=health),
        answers=answers(0.7),
    )
    services.record_measurements(
        patient, practitioner(), TODAY - dt.timedelta(days=3), answers(0.2)
    )

    sign_in(page, base, "practitioner")
    page.goto(f"{base}/patients/{patient.pk}/")
    header = page.locator("header.patient-header")
    expect(header.get_by_role("heading", level=1)).to_contain_text("Sam Bannerman")
    expect(header.locator("dt:text-is('Sex') + dd")).to_have_text("Female")
    expect(header.locator("dt:text-is('Age') + dd")).to_contain_text(
        f"{patient.age_on(TODAY)} (born 1982-02-11)"
    )

    banner = page.get_by_role("region", name="Safety alerts for Sam Bannerman")
    items = banner.get_by_role("listitem")
    referrals = items.filter(has_text="Referral open")
    expect(referrals).to_have_count(len(red_flags))  # each red flag the screening referred
    for name in red_flags:
        expect(referrals.filter(has_text=name)).to_contain_text(
            f"referred {referred_on.isoformat()}, outcome not recorded"
        )
    expected = {
        "pregnancy": "20 weeks",
        "bleeding_risk": "",
        "implanted_device": "",
        "knee_prosthesis": "right knee",
        "metal_allergy": "",
    }
    for rule, detail in expected.items():
        item = items.filter(has=page.get_by_role("link", name=rule_name(rule), exact=True))
        expect(item).to_have_count(1)
        expect(item).to_contain_text(detail)
    expect(items.first).to_contain_text("Referral open")  # the referral is said first
    axe.check(page, "patient page")

    # One chart per measured domain (pain and function), each a loaded picture
    # whose accessible name reads its values and its minimal-important-change band.
    outcomes = page.locator("#outcomes")
    charts = outcomes.locator("figure.domain")
    expect(charts).to_have_count(2)
    expect(charts.get_by_role("heading", level=3)).to_have_text(["Pain", "Function"])
    for figure in charts.all():
        picture = figure.get_by_role("img")
        expect(picture).to_have_count(1)
        expect(picture).to_be_visible()
        expect(picture).to_have_accessible_name(
            re.compile(r"\d{4}-\d\d-\d\d: .*the grey band marks changes smaller than that")
        )
        assert picture.evaluate("img => img.complete && img.naturalWidth > 0"), "not drawn"
    expect(outcomes.locator(".unmeasured")).to_contain_text("Relaxation")

    # The details are a click away, closed until asked for.
    every = outcomes.locator("details.every-measure")
    table = every.get_by_role("table").first
    expect(table).to_be_hidden()
    every.get_by_text("Every measure, by domain").click()
    expect(every).to_have_attribute("open", "")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="Minimal important change")).to_be_visible()
    visits = outcomes.locator("details.recorded-measurements")
    expect(visits.get_by_role("listitem").first).to_be_hidden()
    visits.locator("summary").click()
    expect(visits.get_by_role("link", name=re.compile("KOOS")).first).to_be_visible()
    axe.check(page, "patient page, details open")
    axe.assert_clean()


# --- 2. the referral letter, edited before printing ------------------------------------------


def pdf_text(content: bytes, tmp_path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is missing: run tests/reports/setup.sh")
    source = tmp_path / "letter.pdf"
    source.write_bytes(content)
    return subprocess.run(
        [tool, "-layout", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_edited_referral_letter_prints_under_the_screenings_urgency_and_a_stale_tab_is_refused(
    page: Any, live_server: Any, demo: Any, axe_script: Path, tmp_path: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    patient = new_patient("Letterby")
    record = septic(patient, TODAY - dt.timedelta(days=1))
    sign_in(page, base, "practitioner")
    page.goto(f"{base}/patients/{patient.pk}/intakes/{record.pk}/")
    page.get_by_role("link", name="Referral letter", exact=True).click()

    # The suggested letter: to the receiving clinician, urgency from the screening.
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Referral letter emergency referral: Sam Letterby")
    expect(page.locator(".recipient")).to_have_text("To: The clinician receiving this referral")
    expect(page.locator(".letter-body")).to_contain_text("Dear colleague,")
    expect(page.locator(".letter-body")).to_contain_text("What Sam was told:")
    axe.check(page, "suggested referral letter")

    page.get_by_role("link", name="Edit the letter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit the referral letter")
    axe.check(page, "referral letter edit form")
    stale = page.context.new_page()  # a second tab on the same form, opened before the save
    stale.goto(page.url)
    expect(stale.get_by_label(re.compile(r"^Letter"))).not_to_have_value("")

    to = "Dr Ada Synthetic\nOn-call orthopaedics, Synthetic General Hospital"
    body = (
        "Dear Dr Synthetic,\n\n"
        "Sam came in with a hot, swollen left knee and a fever this morning.\n\n"
        "I sent Sam straight to your department with this letter.\n\n"
        "Thank you for seeing Sam."
    )
    page.get_by_label(re.compile(r"^To")).fill(to)
    page.get_by_label(re.compile(r"^Letter")).fill(body)
    page.get_by_role("button", name="Save the letter").click()
    expect(page.get_by_role("status").filter(has_text="Letter saved")).to_be_visible()
    expect(page.locator(".recipient")).to_contain_text("Dr Ada Synthetic")
    expect(page.locator(".recipient")).to_contain_text("On-call orthopaedics")
    expect(page.locator(".letter-body")).to_contain_text("I sent Sam straight to your department")
    expect(page.locator(".letter-body")).not_to_contain_text("Dear colleague")
    expect(page.locator(".edit-note")).to_contain_text("Edited by")
    # The edit never says "emergency": the heading's urgency is still the screening's.
    expect(heading).to_have_text("Referral letter emergency referral: Sam Letterby")
    axe.check(page, "edited referral letter")

    # What prints is the edit, under the screening's urgency.
    pdf = page.request.get(
        base + page.get_by_role("link", name="Download PDF").get_attribute("href")
    )
    assert pdf.ok
    assert pdf.headers["content-type"] == "application/pdf"
    printed = " ".join(pdf_text(pdf.body(), tmp_path).split())
    assert "I sent Sam straight to your department with this letter." in printed
    assert "Dr Ada Synthetic" in printed
    assert "emergency referral: sam letterby" in printed.lower()  # the urgency in capitals
    assert "Dear colleague" not in printed

    # The second tab still holds the suggested text: its save is refused, saying why.
    stale.get_by_label(re.compile(r"^Letter")).fill("Dear colleague,\n\nAn older draft.")
    stale.get_by_role("button", name="Save the letter").click()
    refusal = stale.get_by_role("alert")
    expect(refusal).to_contain_text("This referral letter text was changed by someone else")
    expect(refusal).to_contain_text("reload")
    axe.check(stale, "stale referral letter edit refused")
    stale.close()
    page.reload()
    expect(page.locator(".letter-body")).to_contain_text("I sent Sam straight to your department")
    expect(page.locator(".letter-body")).not_to_contain_text("An older draft")
    axe.assert_clean()


# --- 3. the front desk books the visits and downloads the calendar ---------------------------


def test_front_desk_books_visit_times_and_downloads_timed_events_without_clinical_notes(
    page: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    patient = new_patient("Calloway")
    plan = in_course(
        patient, TODAY + dt.timedelta(days=2), presenting_complaint="Knee gives way on stairs."
    )
    clinic = patient.clinic
    clinic.time_zone = "Europe/London"  # a zone with summer time, named in the file
    clinic.save(update_fields=["time_zone"])
    zone = clinic.zone
    sign_in(page, base, "frontdesk")
    page.goto(f"{base}/patients/{patient.pk}/")
    expect(page.get_by_text("Clinical notes are visible to practitioners")).to_be_visible()
    appointments = section(page, "Appointments")
    expect(appointments).to_contain_text("No time booked yet")
    axe.check(page, "patient page for the front desk")

    appointments.get_by_label(f"Time of each visit ({zone.key})").fill("09:30")
    appointments.get_by_label("Minutes per visit").fill("40")
    appointments.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("status")).to_contain_text(f"Visits booked at 09:30 ({zone.key}).")
    expect(appointments).not_to_contain_text("No time booked yet")
    expect(appointments).to_contain_text("at 09:30")
    axe.check(page, "patient page after booking")

    # Nothing clinical on the front desk's page: no intake, outcomes or plan, no free text.
    for name in ("Intake", "Outcomes", "Sessions", "Plan"):
        expect(page.get_by_role("heading", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_text("Knee gives way on stairs.")).to_have_count(0)
    expect(page.get_by_role("region", name=re.compile("^Safety alerts"))).to_have_count(0)

    with page.expect_download() as download:
        appointments.get_by_role("link", name="Download the schedule (.ics)").click()
    assert download.value.suggested_filename == f"schedule-{patient.pk}.ics"
    ics = Path(download.value.path()).read_bytes()
    assert b"Knee gives way" not in ics
    assert patient.family_name.encode() not in ics  # a calendar file leaves the clinic

    events = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    content = Plan.model_validate(plan.content)
    assert len(events) == len(content.schedule)
    for event, visit in zip(events, content.schedule, strict=True):
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert isinstance(start, dt.datetime), f"{event['summary']} is an all-day event"
        assert start.tzinfo is not None
        assert str(event["dtstart"].params["TZID"]) == zone.key
        assert start.astimezone(zone).replace(tzinfo=None) == dt.datetime.combine(
            visit.date, dt.time(9, 30)
        )
        assert end - start == dt.timedelta(minutes=40)
        assert "to be booked" not in str(event["summary"])

    # The clinical pages stay closed to the front desk, the plan's included.
    for path in (
        f"intakes/{plan.intake_id}/",
        f"plans/{plan.pk}/",
        "outcomes/",
        "report/",
        "sessions/new/",
    ):
        response = page.goto(f"{base}/patients/{patient.pk}/{path}")
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_text("Knee gives way on stairs.")).to_have_count(0)
    axe.check(page, "a clinical page refused to the front desk")
    axe.assert_clean()


# --- 4. the worklist, and how the day's work changes it --------------------------------------


def test_worklist_lists_each_section_leaves_out_resolved_and_voided_and_follows_the_days_work(
    page: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base, axe = live_server.url, Axe(axe_script)
    user = practitioner()

    # Reassessments due: the first reassessment of this course falls in the next few days.
    due = new_patient("Duefield")
    due_plan = in_course(due, TODAY - dt.timedelta(days=40))
    due_on = first_reassessment(due_plan)
    assert TODAY <= due_on <= TODAY + dt.timedelta(days=6), due_on
    # Sessions planned today: this course starts today; another's first session today is done.
    in_course(new_patient("Todayson"), TODAY)
    done_plan = in_course(new_patient("Donegan"), TODAY)
    services.record_session(done_plan.patient, user, session_on(done_plan, TODAY))
    # Open referrals: one stands; one was seen and cleared, so it no longer stands.
    septic(new_patient("Referton"), TODAY - dt.timedelta(days=2))
    cleared = septic(new_patient("Clearwell"), TODAY - dt.timedelta(days=20))
    services.resolve_referral(
        cleared,
        user,
        seen_by="Dr Ada Synthetic, orthopaedics",
        seen_on=TODAY - dt.timedelta(days=10),
        cleared=True,
    )
    # Self-reports returned: one this week; one of a patient whose record was then voided.
    for family in ("Returnley", "Voidham"):
        returned = new_patient(family)
        link, _ = SelfReportLink.issue(returned, user, ["pain_nrs"], dt.timedelta(days=7))
        services.record_self_report(link, {"pain_nrs": answers(0.4)["pain_nrs"]})
    voided = Patient.objects.get(family_name="Voidham")
    septic(voided, TODAY - dt.timedelta(days=1))  # an open referral, voided with the record
    patient_services.void_patient(voided, user, "Registered twice.", version=voided.version)

    sign_in(page, base, "practitioner")
    expect(page).to_have_url(re.compile(r"/worklist/$"))  # the practitioner's landing page
    expect(page.get_by_role("heading", level=1)).to_have_text("Worklist")
    listed = {
        "Sessions planned today": ("Todayson", ["Donegan", "Duefield", "Voidham"]),
        "Reassessments due this week": ("Duefield", ["Todayson", "Voidham"]),
        "Patients with an open referral": ("Referton", ["Clearwell", "Voidham"]),
        "Self-reports returned this week": ("Returnley", ["Voidham"]),
    }
    for heading, (shown, absent) in listed.items():
        rows = section(page, heading).get_by_role("listitem")
        expect(rows.filter(has_text=f"{shown}, Sam")).to_have_count(1)
        for family in absent:
            expect(rows.filter(has_text=f"{family}, Sam")).to_have_count(0)
    due_row = section(page, "Reassessments due this week").get_by_role("listitem")
    expect(due_row.filter(has_text="Duefield, Sam")).to_contain_text(
        f"due {due_on.strftime('%A')} {due_on.day} {due_on.strftime('%B')}"
    )
    referral_row = section(page, "Patients with an open referral").get_by_role("listitem")
    expect(referral_row.filter(has_text="Referton, Sam")).to_contain_text("(emergency)")
    axe.check(page, "worklist")

    # Across the day: the reassessment recorded from the worklist takes Duefield off "due".
    due_row.filter(has_text="Duefield, Sam").get_by_role(
        "link", name="Record the reassessment for Sam Duefield"
    ).click()
    page.get_by_label("Date of the visit").fill(TODAY.isoformat())
    for name, value in (("average_last_week", 3), ("current", 3), ("worst_last_week", 4)):
        page.locator(f"input[name='pain_nrs__{name}'][value='{value}']").check()
    page.locator("input[name='patient_global__global'][value='3']").check()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/patients/{due.pk}/"))
    done = TODAY.isoformat() + ("" if due_on == TODAY else f" (planned for {due_on.isoformat()})")
    expect(page.locator("#outcomes")).to_contain_text(f"Reassessment done: {done}.")

    # ... and the session logged from the worklist takes Todayson off "today".
    page.goto(f"{base}/worklist/")
    section(page, "Sessions planned today").get_by_role(
        "link", name="Log the session for Sam Todayson"
    ).click()
    page.get_by_label("Pain before the session (0-10)").fill("6")
    page.get_by_label("Pain after the session (0-10)").fill("4")
    page.get_by_role("button", name="Save and sign session").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_contain_text("signed")

    page.goto(f"{base}/worklist/")
    expect(section(page, "Reassessments due this week")).not_to_contain_text("Duefield, Sam")
    expect(section(page, "Sessions planned today")).not_to_contain_text("Todayson, Sam")
    expect(section(page, "Patients with an open referral")).to_contain_text("Referton, Sam")
    axe.check(page, "worklist after the day's work")
    axe.assert_clean()
