"""The stepped intake in a real browser (issue 14): a draft resumed after the browser is closed,
an error summary whose link focuses its field, and axe-core clean on every step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from acuknee.records.models import IntakeDraft, IntakeRecord, Patient
from tests.e2e.conftest import DESKTOP, axe_violations, describe, sign_in
from tests.e2e.test_scenarios import answer_every_red_flag_question_no, register_patient

pytestmark = pytest.mark.e2e

expect: Any = pytest.importorskip("playwright.sync_api").expect


def heading(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


def test_practitioner_resumes_a_draft_and_follows_an_error_link_to_its_field(
    browser: Any, live_server: Any, demo: Any, axe_script: Path
) -> None:
    base = live_server.url
    failures: list[str] = []

    def axe(step: str, page: Any) -> None:
        if found := axe_violations(page, axe_script):
            failures.append(f"{step}:\n{describe(found)}")

    first = browser.new_context(viewport=DESKTOP)
    page = first.new_page()
    sign_in(page, base, "practitioner")
    register_patient(page, base, "E2E-0101")
    page.get_by_role("link", name="New intake").click()
    expect(heading(page)).to_have_text("Intake: History and red flags")
    expect(page.get_by_role("navigation", name="Intake steps")).to_contain_text("Step 1 of 4")
    expect(page.locator("label[for=id_side]")).to_contain_text("(required)")
    axe("history", page)
    page.locator("#id_side").select_option("left")
    page.locator("#id_duration_weeks").fill("26")
    page.locator("#id_presenting_complaint").fill("Aching left knee on stairs.")
    answer_every_red_flag_question_no(page)
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(heading(page)).to_have_text("Intake: Safety")
    axe("safety", page)
    first.close()  # the browser is closed between steps
    patient = Patient.objects.get(record_number="E2E-0101")
    assert IntakeDraft.objects.filter(patient=patient).exists()
    assert not IntakeRecord.objects.filter(patient=patient).exists()

    again = browser.new_context(viewport=DESKTOP)
    page = again.new_page()
    sign_in(page, base, "practitioner")
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("link", name="Resume the intake draft").click()
    expect(heading(page)).to_have_text("Intake: Safety")
    expect(page.get_by_text("Resumed from your draft")).to_be_visible()
    page.get_by_role("button", name="Back").click()
    expect(heading(page)).to_have_text("Intake: History and red flags")
    expect(page.locator("#id_duration_weeks")).to_have_value("26")
    expect(page.locator("#id_presenting_complaint")).to_have_value("Aching left knee on stairs.")

    # A required field emptied: the step stays, the summary takes the focus, its link the field's.
    page.locator("#id_duration_weeks").fill("")
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    axe("history with an error summary", page)
    summary.get_by_role("link", name=re.compile(r"^Duration of knee pain")).click()
    expect(page.locator("#id_duration_weeks")).to_be_focused()
    page.locator("#id_duration_weeks").fill("26")
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(heading(page)).to_have_text("Intake: Safety")
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(heading(page)).to_have_text("Intake: Examination")
    axe("examination", page)
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    expect(heading(page)).to_have_text("Intake: Baseline measures")
    axe("baseline", page)
    page.locator('input[name="m__pain_nrs__current"][value="6"]').check()
    page.get_by_role("button", name="Save intake and screen").click()
    expect(page.get_by_role("heading", name="Screening verdict")).to_be_visible()
    expect(page.get_by_text("Aching left knee on stairs.")).to_be_visible()
    again.close()
    assert not IntakeDraft.objects.filter(patient=patient).exists()
    assert not failures, "\n\n".join(failures)
