"""The stepped intake: one step per page, a draft per patient and practitioner that survives a
closed browser, an error summary that links to each field, required fields marked, and a
repeat intake that starts from the previous answers but asks the red-flag questions again."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acuknee.clinical.intake import RedFlagFindings
from acuknee.forms.intake import STEPS, IntakeForm
from acuknee.records.models import IntakeDraft, IntakeRecord, Measurement, Patient
from tests.intake_answers import red_flags_answered_no
from tests.pages.conftest import login
from tests.pages.test_intake import VISIT, intake_post, new_url, save_intake

HISTORY = {
    "visit_date": VISIT.isoformat(),
    "side": "left",
    "duration_weeks": "104",
    "presenting_complaint": "Aching left knee, worse on stairs.",
    **red_flags_answered_no(),
}


def step_url(patient: Patient, slug: str, **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{new_url(patient)}?step={slug}{extra}"


def post_step(
    client: Client, patient: Patient, slug: str, action: str = "next", **data: Any
) -> Any:
    return client.post(new_url(patient), {"step": slug, "action": action, **data})


def walk_to_baseline(client: Client, patient: Patient) -> None:
    """History (with every red-flag question answered), then safety and examination as shown."""
    assert post_step(client, patient, "history", **HISTORY).status_code == 302
    assert post_step(client, patient, "safety", health__able_to_consent="on").status_code == 302
    assert post_step(client, patient, "examination").status_code == 302


def summary_links(page: str) -> list[str]:
    match = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S)
    assert match, "no error summary"
    return re.findall(r'<a href="([^"]+)">', match.group(0))


# --- steps and progress --------------------------------------------------------------------------


def test_the_intake_opens_at_step_1_of_4_with_the_steps_listed(
    alice: User, patient: Patient
) -> None:
    page = login(alice).get(new_url(patient)).content.decode()
    assert "Step 1 of 4" in page
    assert '<li aria-current="step" class="current"><span>History and red flags</span>' in page
    for step in STEPS[1:]:
        assert f'<a href="?step={step.slug}" data-step="{step.slug}">{step.title}</a>' in page
    assert 'name="red_flags__fever"' in page
    assert 'name="health__pregnant"' not in page
    assert 'name="m__koos__P1"' not in page


def test_every_field_is_asked_on_exactly_one_step(alice: User, patient: Patient) -> None:
    form = IntakeForm(patient=patient)
    asked = [name for step in STEPS for name in form.fields_of(step)]
    assert sorted(asked) == sorted(form.fields)


def test_each_form_has_its_own_fields_though_what_it_asks_is_built_once(patient: Patient) -> None:
    """The fields are derived from the core and the knowledge base once per process; a page
    that changes one form's field (the previous intake's answer as a hint) changes no other."""
    first, second = IntakeForm(patient=patient), IntakeForm(patient=patient)
    assert first.step_of is second.step_of
    name = "m__koos__P1"
    first.fields[name].help_text = "Previous intake: 3"
    assert second.fields[name].help_text != "Previous intake: 3"
    assert IntakeForm(patient=patient).fields[name].help_text != "Previous intake: 3"


def test_required_fields_are_marked_in_their_label(alice: User, patient: Patient) -> None:
    page = login(alice).get(new_url(patient)).content.decode()
    for name in ("visit_date", "side", "duration_weeks"):
        assert re.search(rf'<label for="id_{name}"[^>]*>[^<]*\(required\)', page), name
    assert not re.search(r'<label for="id_morning_stiffness_minutes"[^>]*>[^<]*\(required\)', page)


def test_a_blank_red_flag_answer_reads_not_asked(alice: User, patient: Patient) -> None:
    page = login(alice).get(new_url(patient)).content.decode()
    select = re.search(r'<select name="red_flags__fever".*?</select>', page, re.S)
    assert select
    assert '<option value="unknown" selected>Not asked</option>' in select.group(0)


# --- the draft -----------------------------------------------------------------------------------


def test_next_keeps_the_step_in_a_draft_and_opens_the_next_step(
    alice: User, patient: Patient
) -> None:
    response = post_step(login(alice), patient, "history", **HISTORY)
    assert response.status_code == 302
    assert response["Location"].endswith("?step=safety")
    draft = IntakeDraft.objects.get(patient=patient, user=alice)
    assert draft.step == "safety"
    assert draft.data["duration_weeks"] == ["104"]
    assert not IntakeRecord.objects.exists()


def test_a_draft_resumes_in_a_new_browser_at_its_step_with_its_answers(
    alice: User, patient: Patient
) -> None:
    post_step(login(alice), patient, "history", **HISTORY)
    later = login(alice)  # the browser was closed: a new session
    page = later.get(new_url(patient)).content.decode()
    assert "Resumed from your draft" in page
    assert "Intake: Safety" in page
    history = later.get(step_url(patient, "history")).content.decode()
    assert 'name="duration_weeks" value="104"' in history
    assert "Aching left knee, worse on stairs." in history
    patient_page = later.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert "Resume the intake draft" in patient_page


def test_a_draft_is_its_practitioners_own(alice: User, bob: User, patient: Patient) -> None:
    post_step(login(alice), patient, "history", **HISTORY)
    page = login(bob).get(new_url(patient)).content.decode()
    assert "Resumed from your draft" not in page
    assert "Step 1 of 4" in page
    assert (
        "Resume the intake draft"
        not in login(bob).get(reverse("patient-detail", args=[patient.pk])).content.decode()
    )


def test_a_draft_is_not_a_clinical_record(alice: User, patient: Patient) -> None:
    """Never screened, never listed as an intake: the patient still has none."""
    client = login(alice)
    post_step(client, patient, "history", **{**HISTORY, "red_flags__fever": "true"})
    assert not IntakeRecord.objects.exists()
    assert not Measurement.objects.exists()
    page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert "No intake recorded yet." in page


def _age(days: float) -> None:
    """Every draft last saved ``days`` ago."""
    IntakeDraft.objects.update(updated_at=timezone.now() - dt.timedelta(days=days))


def test_a_draft_older_than_its_keeping_time_is_not_resumed_and_a_new_one_replaces_it(
    alice: User, patient: Patient, settings: Any
) -> None:
    """Its answers (red flags, examination) were given for a visit long past: resumed, they
    would be recorded as a new visit's (HAZ-90)."""
    settings.ACUKNEE_INTAKE_DRAFT_DAYS = 7
    client = login(alice)
    post_step(client, patient, "history", **{**HISTORY, "duration_weeks": "99"})
    _age(6.9)
    assert "Resumed from your draft" in client.get(new_url(patient)).content.decode()
    patient_page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert "Resume the intake draft" in patient_page
    assert "kept 7 days after its last save" in patient_page
    _age(7.1)
    page = client.get(new_url(patient)).content.decode()
    assert "Resumed from your draft" not in page
    assert "Step 1 of 4" in page
    assert 'value="99"' not in client.get(step_url(patient, "history")).content.decode()
    patient_page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert "Resume the intake draft" not in patient_page
    post_step(client, patient, "history", **HISTORY)  # the stale answers are not merged in
    (draft,) = IntakeDraft.objects.all()
    assert draft.data["duration_weeks"] == ["104"]
    assert draft.updated_at > timezone.now() - dt.timedelta(minutes=1)


def test_expire_drafts_deletes_only_the_drafts_past_their_keeping_time(
    alice: User, bob: User, patient: Patient, settings: Any
) -> None:
    settings.ACUKNEE_INTAKE_DRAFT_DAYS = 3
    post_step(login(alice), patient, "history", **HISTORY)
    _age(4)
    post_step(login(bob), patient, "history", **HISTORY)  # saved now
    out = io.StringIO()
    call_command("expire_drafts", stdout=out)
    assert out.getvalue() == "1 intake draft(s) deleted (kept 3 days)\n"
    assert [d.user for d in IntakeDraft.objects.all()] == [bob]
    assert not IntakeRecord.objects.exists()


def test_saving_a_step_for_later_says_how_long_the_draft_is_kept(
    alice: User, patient: Patient, settings: Any
) -> None:
    settings.ACUKNEE_INTAKE_DRAFT_DAYS = 5
    client = login(alice)
    response = post_step(client, patient, "history", "later", side="left")
    shown = client.get(response["Location"]).content.decode()
    assert "resume it within 5 days; after that it is deleted." in shown


def test_back_keeps_the_answers_without_checking_them(alice: User, patient: Patient) -> None:
    client = login(alice)
    post_step(client, patient, "history", **HISTORY)
    response = post_step(client, patient, "safety", "back", health__pregnancy_weeks="500")
    assert response.status_code == 302
    assert response["Location"].endswith("?step=history")
    assert IntakeDraft.objects.get().data["health__pregnancy_weeks"] == ["500"]


def test_save_draft_and_close_returns_to_the_patient(alice: User, patient: Patient) -> None:
    response = post_step(login(alice), patient, "history", "later", side="left")
    assert response["Location"] == reverse("patient-detail", args=[patient.pk])
    assert IntakeDraft.objects.get().step == "history"


def test_discarding_the_draft_deletes_it(alice: User, patient: Patient) -> None:
    client = login(alice)
    post_step(client, patient, "history", **HISTORY)
    post_step(client, patient, "safety", "discard")
    assert not IntakeDraft.objects.exists()


def test_saving_the_last_step_records_the_intake_and_ends_the_draft(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    walk_to_baseline(client, patient)
    response = post_step(client, patient, "baseline", "save", m__pain_nrs__current="6")
    assert response.status_code == 302, response.content.decode()[:2000]
    record = IntakeRecord.objects.get(patient=patient)
    assert record.data["duration_weeks"] == 104
    assert record.screening["unanswered_red_flags"] == []
    assert Measurement.objects.get(patient=patient).answers["current"] == 6
    assert not IntakeDraft.objects.exists()


# --- errors --------------------------------------------------------------------------------------


def test_next_with_an_error_stays_on_the_step_with_a_summary_linking_to_the_field(
    alice: User, patient: Patient
) -> None:
    response = post_step(login(alice), patient, "history", **{**HISTORY, "duration_weeks": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Intake: History and red flags" in page
    assert summary_links(page) == ["#id_duration_weeks"]
    assert 'tabindex="-1" data-error-summary' in page  # focused on load (intake.js)
    assert "<title>Error: " in page
    assert IntakeDraft.objects.get().step == "history"


def test_an_error_on_a_later_step_does_not_stop_next(alice: User, patient: Patient) -> None:
    client = login(alice)
    post_step(client, patient, "history", **HISTORY)
    post_step(client, patient, "safety", "back", health__pregnancy_weeks="20")  # not pregnant
    assert post_step(client, patient, "history", **HISTORY)["Location"].endswith("?step=safety")


def test_saving_with_an_error_on_an_earlier_step_shows_that_step(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    walk_to_baseline(client, patient)
    post_step(client, patient, "safety", "goto", goto="baseline", health__pregnancy_weeks="20")
    response = post_step(client, patient, "baseline", "save", m__koos__P1="1")
    page = response.content.decode()
    assert "Intake: Safety" in page
    assert summary_links(page) == ["#id_health__pregnancy_weeks"]
    assert not IntakeRecord.objects.exists()


def test_a_summary_link_to_another_step_opens_it_checked(alice: User, patient: Patient) -> None:
    client = login(alice)
    walk_to_baseline(client, patient)
    # An error on the history step (days since an injury missing) and one on the safety step.
    post_step(
        client, patient, "history", "back", **{**HISTORY, "injury__visible_deformity": "true"}
    )
    post_step(client, patient, "safety", "goto", goto="baseline", health__pregnancy_weeks="20")
    page = post_step(client, patient, "baseline", "save").content.decode()
    links = summary_links(page)
    assert links[0] == "#id_injury__days_ago"
    assert "?step=safety&amp;check=1#id_health__pregnancy_weeks" in links
    checked = client.get(step_url(patient, "safety", check="1")).content.decode()
    assert "pregnant is false" in checked


def test_the_whole_form_at_once_is_still_accepted(alice: User, patient: Patient) -> None:
    record = save_intake(alice, patient, presenting_complaint="Knee pain")
    assert record.presenting_complaint == "Knee pain"
    page = login(alice).get(step_url(patient, "all")).content.decode()
    assert 'name="m__koos__P1"' in page
    assert 'name="red_flags__fever"' in page
    assert 'name="step"' not in page


# --- free-text history ---------------------------------------------------------------------------


def test_the_history_is_stored_beside_the_intake_and_shown(alice: User, patient: Patient) -> None:
    record = save_intake(
        alice,
        patient,
        presenting_complaint="  Aching left knee\nworse on stairs  ",
        previous_treatment="Physiotherapy, 6 sessions",
        goals="Walk the dog for 30 minutes",
    )
    assert record.presenting_complaint == "Aching left knee\nworse on stairs"
    assert "presenting_complaint" not in str(record.data)  # not in the core intake: no export
    client = login(alice)
    page = client.get(reverse("intake-detail", args=[patient.pk, record.pk])).content.decode()
    assert "Aching left knee<br>worse on stairs" in page
    assert "Physiotherapy, 6 sessions" in page
    assert "Walk the dog for 30 minutes" in page
    patient_page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert "Presenting complaint: Aching left knee" in patient_page


def test_an_overlong_history_is_a_field_error(alice: User, patient: Patient) -> None:
    response = login(alice).post(new_url(patient), intake_post(goals="x" * 4001))
    assert "goals" in response.context["form"].errors
    assert not IntakeRecord.objects.exists()


# --- a repeat intake -----------------------------------------------------------------------------


def test_a_repeat_intake_carries_the_answers_but_asks_the_red_flags_again(
    alice: User, patient: Patient
) -> None:
    save_intake(
        alice,
        patient,
        duration_weeks="30",
        red_flags__night_or_unremitting_pain="true",
        numb_0_region="knee_anterior",
        numb_0_side="left",
        goals="Garden again",
    )
    form = login(alice).get(new_url(patient)).context["form"]
    assert form.initial["duration_weeks"] == 30
    assert form.initial["numb_0_region"] == "knee_anterior"
    assert form.initial["goals"] == "Garden again"
    questions = [f"red_flags__{n}" for n in RedFlagFindings.model_fields]
    assert not set(questions) & set(form.initial)
    assert form.fields["red_flags__night_or_unremitting_pain"].help_text == (
        f"Previous intake ({VISIT.isoformat()}): yes. Ask again today."
    )
    assert "no. Ask again today." in form.fields["red_flags__fever"].help_text


def test_a_repeat_intake_shown_again_with_an_error_still_shows_the_previous_answers(
    alice: User, patient: Patient
) -> None:
    """Beside each question asked again, the previous intake's answer, on the page shown
    again with an error as on the page first opened: that is where the practitioner
    re-asks them (a bound field made while cleaning once kept the page from showing them)."""
    save_intake(alice, patient, red_flags__night_or_unremitting_pain="true")
    client = login(alice)
    opened = client.get(f"{new_url(patient)}?step=all").content.decode()
    page = client.post(new_url(patient), intake_post(goals="x" * 4001))
    assert page.status_code == 200
    assert "goals" in page.context["form"].errors
    html = page.content.decode()
    assert f"Previous intake ({VISIT.isoformat()}): yes. Ask again today." in html
    hints = re.findall(r"Previous intake \([^<]*", opened)
    assert len(hints) >= len(RedFlagFindings.model_fields)
    assert re.findall(r"Previous intake \([^<]*", html) == hints


def test_a_repeat_intake_moves_counts_of_days_on_to_today(alice: User, patient: Patient) -> None:
    """A surgery 40 days before the previous visit is 40 + the days since, before today: a
    stale 40 would date it wrongly, a blank would lose it (HAZ-84)."""
    save_intake(alice, patient, knee_surgery_days_ago="40")
    form = login(alice).get(new_url(patient)).context["form"]
    elapsed = (timezone.localdate() - VISIT).days
    assert form.initial["knee_surgery_days_ago"] == 40 + elapsed
    assert form.fields["knee_surgery_days_ago"].help_text == (
        f"Previous intake ({VISIT.isoformat()}): 40 days before that visit."
    )
