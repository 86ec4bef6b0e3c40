"""Plans: proposed by the core, edited with recorded overrides, locked against concurrent edits,
signed and then read-only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from acuknee.clinical import Plan, load_knowledge
from acuknee.forms.plans import PlanEditForm, next_weekday
from acuknee.records.models import IntakeRecord, Patient, PlanRecord
from tests.intake_answers import red_flags_answered_no
from tests.pages.conftest import login

START = dt.date(2026, 11, 23)  # a Monday


def _intake(client: Client, patient: Patient, **fields: Any) -> IntakeRecord:
    data: dict[str, Any] = {
        "visit_date": "2026-11-20",
        "side": "left",
        "duration_weeks": "12",
        "health__able_to_consent": "on",
        **red_flags_answered_no(),
        **fields,
    }
    response = client.post(reverse("intake-new", kwargs={"patient_id": patient.pk}), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return IntakeRecord.objects.get(patient=patient)


def _propose(client: Client, patient: Patient, record: IntakeRecord) -> PlanRecord:
    url = reverse("plan-new", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    response = client.post(url, {"start": START.isoformat()})
    assert response.status_code == 302
    return PlanRecord.objects.get(intake=record)


@pytest.fixture
def pregnant_plan(alice: User, patient: Patient) -> PlanRecord:
    client = login(alice)
    record = _intake(
        client,
        patient,
        health__pregnant="on",
        health__pregnancy_weeks="20",
        # pes anserine findings: its protocol includes SP6, which pregnancy forbids
        examination__pes_anserine_tenderness="true",
        examination__pain_location="medial",
    )
    return _propose(client, patient, record)


@pytest.fixture
def replaced_knee_plan(alice: User, patient: Patient) -> PlanRecord:
    """A plan for a left knee replacement: the points local to the left knee are blocked, and an
    override (with a reason) may lift that block (the rule is overridable)."""
    client = login(alice)
    return _propose(client, patient, _intake(client, patient, health__knee_prosthesis="left"))


@pytest.fixture
def plan_record(alice: User, patient: Patient) -> PlanRecord:
    client = login(alice)
    return _propose(client, patient, _intake(client, patient))


def edit_url(record: PlanRecord) -> str:
    return reverse("plan-edit", kwargs={"patient_id": record.patient_id, "plan_id": record.pk})


def detail_url(record: PlanRecord) -> str:
    return reverse("plan-detail", kwargs={"patient_id": record.patient_id, "plan_id": record.pk})


def edit_post(record: PlanRecord, **fields: Any) -> dict[str, Any]:
    """The edit form as first shown (nothing changed), plus ``fields``."""
    initial = PlanEditForm.initial_for(Plan.model_validate(record.content), record.version)
    data = {k: v for k, v in initial.items() if v is not None}
    data["start"] = initial["start"].isoformat()
    data.update(fields)
    return data


def forbidden_in_pregnancy() -> set[str]:
    kb = load_knowledge()
    return {p.code for p in kb.points.values() if "pregnancy_forbidden" in p.tags}


# --- proposing -----------------------------------------------------------------------------------


def test_proposed_plan_stores_the_core_plan_as_a_draft(plan_record: PlanRecord) -> None:
    assert plan_record.status == PlanRecord.Status.DRAFT
    assert plan_record.proposed == plan_record.content
    content = Plan.model_validate(plan_record.content)
    assert content.status == "proposed"
    assert content.start == START
    assert plan_record.start_date == START


def test_plan_page_gives_each_safety_change_its_reason_in_words_not_its_rule_code(
    alice: User, pregnant_plan: PlanRecord
) -> None:
    content = Plan.model_validate(pregnant_plan.content)
    rules = {c.rule for c in content.changes}
    assert "pregnancy" in rules
    page = login(alice).get(detail_url(pregnant_plan)).content.decode()
    changes = page[
        page.index('id="changes"') : page.index("</section>", page.index('id="changes"'))
    ]
    for change in content.changes:
        assert change.reason in changes
    for rule in rules:  # the knowledge base's ids (``pregnancy_forbidden_point``) stay inside
        assert f"<code>{rule}</code>" not in changes
        assert f" {rule}." not in changes


def test_plan_page_shows_rationale_citations_and_schedule(
    alice: User, plan_record: PlanRecord
) -> None:
    page = login(alice).get(detail_url(plan_record)).content.decode()
    content = Plan.model_validate(plan_record.content)
    kb = load_knowledge()
    assert content.rationale.split(".")[0] in page
    assert kb.sources[content.sources[0]].citation in page
    assert "Session 1" in page


def test_plan_rationale_cites_sources_by_name_and_number_never_by_raw_id(
    alice: User, plan_record: PlanRecord
) -> None:
    page = login(alice).get(detail_url(plan_record)).content.decode()
    content = Plan.model_validate(plan_record.content)
    assert "Sources: " in content.rationale  # the core's text names its sources by id
    summary = page.split('id="summary"', 1)[1].split("</section>", 1)[0]
    for sid in content.sources:
        assert sid not in summary.replace(f'href="#src-{sid}"', "")
        assert f'href="#src-{sid}"' in summary
        assert f'id="src-{sid}"' in page
    assert "[1]</a>" in summary


def test_pregnant_patients_plan_contains_no_forbidden_point(pregnant_plan: PlanRecord) -> None:
    content = Plan.model_validate(pregnant_plan.content)
    assert content.protocol == "pes-anserine-manual-local-distal"
    assert content.points
    assert not {p.code for p in content.points} & forbidden_in_pregnancy()


def test_plan_page_shows_the_removal_of_sp6_and_its_rule(
    alice: User, pregnant_plan: PlanRecord
) -> None:
    content = Plan.model_validate(pregnant_plan.content)
    removal = next(c for c in content.changes if c.target == "SP6")
    assert removal.rule == "pregnancy"
    page = login(alice).get(detail_url(pregnant_plan)).content.decode()
    assert "Removed point" in page
    assert removal.reason in page


def test_default_first_session_is_the_next_weekday() -> None:
    assert next_weekday(dt.date(2026, 11, 20)) == dt.date(2026, 11, 23)  # Friday -> Monday
    assert next_weekday(dt.date(2026, 11, 23)) == dt.date(2026, 11, 24)


# --- editing and overrides -----------------------------------------------------------------------


def _pregnancy_sources() -> list[str]:
    kb = load_knowledge()
    return [kb.sources[s].citation for s in kb.safety_rules["pregnancy"].source]


def test_adding_a_blocked_point_without_override_names_the_rule_and_source_in_words(
    alice: User, replaced_knee_plan: PlanRecord
) -> None:
    response = login(alice).post(
        edit_url(replaced_knee_plan),
        edit_post(replaced_knee_plan, add_code_0="ST36", add_side_0="left"),
    )
    assert response.status_code == 400
    error = response.context["form"].errors["add_code_0"][0]
    assert "Knee replacement" in error
    kb = load_knowledge()
    citation = kb.sources[kb.safety_rules["knee_prosthesis"].source[0]].citation
    assert citation in error
    assert "'knee_prosthesis'" not in error
    assert "health." not in error
    assert "tick the override" in error
    replaced_knee_plan.refresh_from_db()
    assert ("ST36", "left") not in {
        (p["code"], p["side"]) for p in replaced_knee_plan.content["points"]
    }
    assert replaced_knee_plan.version == 1


def test_override_without_reason_is_refused(alice: User, replaced_knee_plan: PlanRecord) -> None:
    response = login(alice).post(
        edit_url(replaced_knee_plan),
        edit_post(replaced_knee_plan, add_code_0="ST36", add_side_0="left", override="on"),
    )
    assert "Knee replacement" in response.context["form"].errors["override_reason"][0]
    replaced_knee_plan.refresh_from_db()
    assert replaced_knee_plan.overrides == []


def test_adding_a_blocked_point_with_override_and_reason_is_saved_and_recorded(
    alice: User, replaced_knee_plan: PlanRecord
) -> None:
    client = login(alice)
    response = client.post(
        edit_url(replaced_knee_plan),
        edit_post(
            replaced_knee_plan,
            add_code_0="ST36",
            add_side_0="left",
            override="on",
            override_reason="Surgeon agreed: the wound healed two years ago.",
        ),
    )
    assert response.status_code == 302
    replaced_knee_plan.refresh_from_db()
    points = {(p["code"], p["side"]) for p in replaced_knee_plan.content["points"]}
    assert ("ST36", "left") in points
    (entry,) = replaced_knee_plan.overrides
    assert entry["by"] == "alice"
    assert entry["rule"] == "knee_prosthesis"
    assert entry["target"] == "ST36"
    assert entry["reason"] == "Surgeon agreed: the wound healed two years ago."
    assert entry["at"]
    page = client.get(detail_url(replaced_knee_plan)).content.decode()
    assert "Surgeon agreed: the wound healed two years ago." in page


@pytest.mark.parametrize("code", ["SP6", "LI4"])
def test_a_point_forbidden_in_pregnancy_is_refused_even_with_override_and_reason(
    alice: User, pregnant_plan: PlanRecord, code: str
) -> None:
    response = login(alice).post(
        edit_url(pregnant_plan),
        edit_post(
            pregnant_plan,
            add_code_0=code,
            add_side_0="left",
            override="on",
            override_reason="Patient insists.",
        ),
    )
    assert response.status_code == 400
    [error] = response.context["form"].errors["add_code_0"]
    assert f"{code} (left) cannot be needled for this patient, even with an override" in error
    assert "Pregnancy" in error
    assert all(citation in error for citation in _pregnancy_sources())
    assert "'pregnancy'" not in error
    assert "pregnancy_forbidden" not in error
    pregnant_plan.refresh_from_db()
    assert code not in {p["code"] for p in pregnant_plan.content["points"]}
    assert pregnant_plan.overrides == []
    assert pregnant_plan.version == 1


def test_gb21_cannot_be_added_to_a_pregnant_patients_plan(
    alice: User, pregnant_plan: PlanRecord
) -> None:
    """GB21 has no entry in the knowledge base, so the editor does not offer it; a crafted post
    is refused and nothing is saved (the session check refuses it by rule, see test_sessions)."""
    response = login(alice).post(
        edit_url(pregnant_plan),
        edit_post(
            pregnant_plan,
            add_code_0="GB21",
            add_side_0="left",
            override="on",
            override_reason="Patient insists.",
        ),
    )
    assert response.status_code == 400
    assert "add_code_0" in response.context["form"].errors
    pregnant_plan.refresh_from_db()
    assert "GB21" not in {p["code"] for p in pregnant_plan.content["points"]}
    assert pregnant_plan.overrides == []


def test_electroacupuncture_in_pregnancy_is_refused_even_with_override_and_reason(
    alice: User, pregnant_plan: PlanRecord
) -> None:
    response = login(alice).post(
        edit_url(pregnant_plan),
        edit_post(pregnant_plan, method="electro", override="on", override_reason="Asked for."),
    )
    assert response.status_code == 400
    [error] = response.context["form"].errors["method"]
    assert "even with an override" in error
    assert "Pregnancy" in error
    assert _pregnancy_sources()[0] in error
    pregnant_plan.refresh_from_db()
    assert pregnant_plan.content["method"] != "electro"
    assert pregnant_plan.overrides == []


def test_removing_a_point_and_changing_dose_needs_no_override(
    alice: User, plan_record: PlanRecord
) -> None:
    initial = edit_post(plan_record)
    kept = initial["keep"][1:]
    response = login(alice).post(
        edit_url(plan_record),
        {**initial, "keep": kept, "number_of_sessions": "6", "retention_minutes": "25"},
    )
    assert response.status_code == 302
    plan_record.refresh_from_db()
    content = Plan.model_validate(plan_record.content)
    assert len(content.points) == len(kept)
    assert content.retention_minutes == 25
    assert len([v for v in content.schedule if v.kind == "session"]) == 6
    assert plan_record.overrides == []
    assert plan_record.proposed != plan_record.content


def test_second_of_two_concurrent_edits_is_refused_and_keeps_its_input(
    alice: User, bob: User, plan_record: PlanRecord
) -> None:
    first, second = login(alice), login(bob)
    assert first.get(edit_url(plan_record)).status_code == 200
    assert second.get(edit_url(plan_record)).status_code == 200
    opened = edit_post(plan_record)  # both opened version 1
    assert first.post(edit_url(plan_record), {**opened, "retention_minutes": "30"}).status_code
    response = second.post(edit_url(plan_record), {**opened, "retention_minutes": "27"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "changed by someone else" in page
    assert 'value="27"' in page
    plan_record.refresh_from_db()
    assert plan_record.content["retention_minutes"] == 30
    assert plan_record.version == 2


# --- signing and voiding -------------------------------------------------------------------------


def sign(client: Client, record: PlanRecord, version: int) -> None:
    url = reverse("plan-sign", kwargs={"patient_id": record.patient_id, "plan_id": record.pk})
    client.post(url, {"version": version})


def test_signing_records_who_and_when(alice: User, plan_record: PlanRecord) -> None:
    sign(login(alice), plan_record, plan_record.version)
    plan_record.refresh_from_db()
    assert plan_record.status == PlanRecord.Status.SIGNED
    assert plan_record.signed_by == alice
    assert plan_record.signed_at is not None


def test_signed_plan_cannot_be_edited(alice: User, plan_record: PlanRecord) -> None:
    client = login(alice)
    sign(client, plan_record, plan_record.version)
    plan_record.refresh_from_db()
    before = plan_record.content
    response = client.post(edit_url(plan_record), edit_post(plan_record, retention_minutes="40"))
    assert response.status_code == 302
    plan_record.refresh_from_db()
    assert plan_record.content == before


def test_signing_a_stale_version_is_refused(alice: User, plan_record: PlanRecord) -> None:
    client = login(alice)
    client.post(edit_url(plan_record), edit_post(plan_record, retention_minutes="30"))
    sign(client, plan_record, 1)
    plan_record.refresh_from_db()
    assert plan_record.status == PlanRecord.Status.DRAFT


def test_a_plan_is_voided_with_a_reason_and_stays_visible(
    alice: User, plan_record: PlanRecord
) -> None:
    client = login(alice)
    url = reverse(
        "plan-void", kwargs={"patient_id": plan_record.patient_id, "plan_id": plan_record.pk}
    )
    client.post(url, {"reason": "", "version": plan_record.version})
    plan_record.refresh_from_db()
    assert not plan_record.is_voided
    client.post(
        url, {"reason": "x" * 2001, "version": plan_record.version}
    )  # as long as the other void reasons allow, no more
    plan_record.refresh_from_db()
    assert not plan_record.is_voided
    client.post(url, {"reason": "Patient chose another treatment.", "version": plan_record.version})
    plan_record.refresh_from_db()
    assert plan_record.is_voided
    assert (
        "Patient chose another treatment." in client.get(detail_url(plan_record)).content.decode()
    )


# --- access --------------------------------------------------------------------------------------


def _plan_urls(record: PlanRecord) -> list[tuple[str, str]]:
    ids = {"patient_id": record.patient_id, "plan_id": record.pk}
    return [
        ("get", reverse("plan-detail", kwargs=ids)),
        ("get", reverse("plan-edit", kwargs=ids)),
        ("post", reverse("plan-sign", kwargs=ids)),
        ("post", reverse("plan-void", kwargs=ids)),
    ]


def test_front_desk_cannot_open_plan_pages(dana: User, plan_record: PlanRecord) -> None:
    client = login(dana)
    codes = [getattr(client, verb)(url).status_code for verb, url in _plan_urls(plan_record)]
    assert codes == [403] * 4


def test_other_clinic_gets_404_for_plan_pages(carol: User, plan_record: PlanRecord) -> None:
    client = login(carol)
    codes = [getattr(client, verb)(url).status_code for verb, url in _plan_urls(plan_record)]
    assert codes == [404] * 4
    plan_record.refresh_from_db()
    assert plan_record.status == PlanRecord.Status.DRAFT


def test_a_plan_the_core_refuses_is_stored_as_refused_and_cannot_be_signed(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    # lymphoedema of both legs blocks every point of the protocol on either leg
    record = _propose(client, patient, _intake(client, patient, health__lymphoedema_leg="both"))
    assert record.status == PlanRecord.Status.REFUSED
    page = client.get(detail_url(record)).content.decode()
    assert Plan.model_validate(record.content).refusal_reasons[0][:40] in page
    assert "Sign plan" not in page
    sign(client, record, record.version)
    record.refresh_from_db()
    assert record.status == PlanRecord.Status.REFUSED


def test_switching_to_a_blocked_method_needs_an_override_named_in_words(
    alice: User, patient: Patient
) -> None:
    client = login(alice)
    record = _intake(client, patient, health__implanted_electronic_device="on")
    plan = _propose(client, patient, record)
    response = client.post(edit_url(plan), edit_post(plan, method="electro"))
    assert response.status_code == 400
    [error] = response.context["form"].errors["method"]
    assert "Implanted electronic device" in error
    assert "tick the override" in error
    assert "'implanted_device'" not in error
