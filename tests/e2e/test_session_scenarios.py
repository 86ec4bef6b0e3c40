"""Issue 14 in a real browser: the first session records informed consent and writes `st 36` as
ST36; the next starts from it (needles and points) beside the last note and the pain trend; a
signed session is amended with a reason and the amendment is listed. Axe-core finds no serious
or critical violation on the consent form, the repeat form or the amended session."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from acuknee.care import services
from acuknee.clinical import SessionRecord
from acuknee.records.models import Patient, StaffProfile, TreatmentSession
from tests.care.builders import oa_intake
from tests.e2e.conftest import TODAY, axe_violations, describe, sign_in
from tests.e2e.test_scenarios import give_consent

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect

INTAKE_DAY = TODAY - dt.timedelta(days=20)
FIRST = TODAY - dt.timedelta(days=14)
SECOND = TODAY - dt.timedelta(days=7)


def planned_patient() -> Patient:
    """A knee OA patient of the demo clinic with a signed plan and no consent yet."""
    user = User.objects.get(username="practitioner")
    clinic = StaffProfile.objects.get(user=user).clinic
    patient = Patient.objects.create(
        clinic=clinic,
        record_number="E2E-S14",
        given_name="Sam",
        family_name="Sessionton",
        date_of_birth=dt.date(1957, 3, 9),
        sex="female",
        synthetic=True,
        created_by=user,
    )
    intake = services.record_intake(patient, user, visit=INTAKE_DAY, intake=oa_intake())
    plan = services.propose_plan(intake, user, INTAKE_DAY + dt.timedelta(days=1))
    services.sign_plan(plan, user, plan.version)
    return patient


def no_serious_violations(page: Any, axe: Path, where: str) -> None:
    violations = axe_violations(page, axe)
    assert not violations, f"{where}:\n{describe(violations)}"


def test_practitioner_logs_a_repeat_session_with_a_loose_code_and_amends_it(
    page: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base = live_server.url
    patient = planned_patient()
    # The live server's first page loads the app; on a busy machine that outlasts the 10 s
    # default, so it is asked for once with more time.
    page.goto(f"{base}/login/", timeout=60_000)
    sign_in(page, base, "practitioner")
    page.goto(f"{base}/patients/{patient.pk}/sessions/new/")

    # The first session: consent asked on the page, nothing ticked in advance.
    expect(page.get_by_role("group", name="Informed consent (first session)")).to_be_visible()
    no_serious_violations(page, axe_script, "first session with consent")
    give_consent(page, INTAKE_DAY)
    page.get_by_label("Date", exact=True).fill(FIRST.isoformat())
    page.get_by_label("Needle diameter (mm)").fill("0.25")
    page.get_by_label("Needle length (mm)").fill("40")
    page.get_by_label("Needle material").fill("stainless steel")
    page.get_by_label("Needle manufacturer").fill("Synthetic Needle Co.")
    page.get_by_label("Needles used (total)").fill("24")
    page.get_by_label("Pain before the session (0-10)").fill("7")
    page.get_by_label("Pain after the session (0-10)").fill("5")
    page.get_by_label("Note", exact=True).fill("First session, tolerated well.")
    st36 = page.locator("input[name$='-code'][value='ST36']")
    code = st36.first if st36.count() else page.locator("input[name$='-code'][value='']").first
    code.fill("st 36")
    page.get_by_role("button", name="Save and sign session").click()
    status = page.get_by_role("status").filter(has_text="saved")
    expect(status).to_contain_text("'st 36' was recorded as ST36")
    expect(status).to_contain_text("Session 1 saved and signed")
    expect(page.locator("#sessions")).to_contain_text("Informed consent: given by the patient")

    # The repeat: needles and points carried over, the last note and the pain trend beside it.
    page.locator("#sessions").get_by_role("link", name="Log a session").click()
    expect(page.get_by_label("Needle manufacturer")).to_have_value("Synthetic Needle Co.")
    expect(page.locator("input[name$='-code'][value='ST36']")).to_have_count(1)
    expect(page.get_by_text("Note: First session, tolerated well.")).to_be_visible()
    expect(page.get_by_role("table", name="Pain (0–10) session by session")).to_contain_text("7")
    expect(page.locator("#consent")).to_have_count(0)
    no_serious_violations(page, axe_script, "repeat session form")
    page.get_by_label("Date", exact=True).fill(SECOND.isoformat())
    page.get_by_label("Pain before the session (0-10)").fill("5")
    page.get_by_label("Pain after the session (0-10)").fill("3")
    page.get_by_role("button", name="Save and sign session").click()
    expect(page.get_by_role("status")).to_contain_text("Session 2 saved and signed")

    # An amendment to the signed first session, with its reason, listed on its page.
    sessions = page.locator("#sessions")
    if sessions.locator("details").count():  # every session is a click away on the patient page
        sessions.locator("details summary").first.click()
    sessions.get_by_role("link", name="Open session 1").first.click()
    expect(page.get_by_text(re.compile(r"^Signed by practitioner on "))).to_be_visible()
    page.get_by_label("Pain after the session (0-10)").fill("4")
    page.get_by_role("button", name="Save the amendment").click()
    expect(page.get_by_text("Give the reason for the amendment")).to_be_visible()
    page.get_by_label("Reason for the amendment (required)").fill("Pain re-rated after rest.")
    page.get_by_role("button", name="Save the amendment").click()
    amendments = page.locator("#amendments")
    expect(amendments).to_contain_text("Reason: Pain re-rated after rest.")
    expect(amendments.get_by_role("row", name="Pain after")).to_contain_text("5")
    no_serious_violations(page, axe_script, "amended session")

    first, second = TreatmentSession.objects.filter(patient=patient).order_by("number")
    record = SessionRecord.model_validate(first.data)
    assert "ST36" in {p.code for p in record.points}
    assert record.pain_after == 4
    assert first.amendments.get().reason == "Pain re-rated after rest."
    assert SessionRecord.model_validate(second.data).needle == record.needle
