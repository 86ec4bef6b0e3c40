"""Intakes stored before the issue-11 safety pass still load and show, on the intake page, the
API and the reports: red flags stored as ``false`` (asked: no), ``health.anticoagulant`` as
``true``/``false``, none of the new questions, and a screening without next steps or the list of
unanswered questions. A question never asked reads "not recorded", never "no".

The JSON below is written by hand in the shape ``Intake.model_dump`` and ``Screening.model_dump``
gave before the change (synthetic data)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.clinical import Assessment, Intake, Screening, assess, load_knowledge
from acuknee.records.models import IntakeRecord, Patient
from tests.api.conftest import api_for
from tests.pages.conftest import login

VISIT = dt.date(2025, 6, 2)

OLD_RED_FLAGS: dict[str, Any] = {
    "fever": True,
    "systemically_unwell": False,
    "hot_swollen_knee": True,
    "raised_inflammatory_markers": False,
    "unable_straight_leg_raise": False,
    "true_locking": False,
    "calf_swelling_or_tenderness": False,
    "unilateral_leg_swelling": False,
    "wells_dvt_score": None,
    "night_or_unremitting_pain": False,
    "palpable_mass": False,
    "unexplained_weight_loss": False,
    "history_of_cancer": False,
    "other_joints_swollen": False,
    "cold_pale_limb": False,
    "absent_foot_pulses": False,
    "numbness_or_foot_drop": False,
    "claudication": False,
    "unable_to_walk": False,
    "rapidly_worsening_deformity": False,
}


def old_intake(anticoagulant: bool) -> dict[str, Any]:
    return {
        "age": 65,
        "sex": "female",
        "side": "left",
        "duration_weeks": 3.0,
        "activity_related_pain": None,
        "morning_stiffness_minutes": None,
        "injury": None,
        "red_flags": OLD_RED_FLAGS,
        "health": {
            "anticoagulant": anticoagulant,
            "bleeding_disorder": False,
            "thrombocytopenia": False,
            "pregnant": False,
            "pregnancy_weeks": None,
            "implanted_electronic_device": False,
            "knee_prosthesis": None,
            "skin_lesions": [],
            "lymphoedema_leg": None,
            "varicose_veins": None,
            "immunosuppressed": False,
            "neutropenia": False,
            "diabetes": False,
            "peripheral_neuropathy": False,
            "needle_phobia": False,
            "syncope_history": False,
            "able_to_consent": True,
            "malignancy_near_knee": None,
            "medications": ["warfarin"] if anticoagulant else [],
            "devices": [],
        },
        "examination": {"pain_location": [], "crepitus": None, "palpable_warmth": True},
        "investigations": {},
        "baseline": {},
        "preferences": {"method": None, "protocol": None, "use_patterns": False, "pattern": None},
    }


def old_screening(anticoagulant: bool) -> dict[str, Any]:
    """Before the pass: no ``next_step``, no ``unanswered_red_flags``, a depth limit in words."""
    kb = load_knowledge()
    septic = kb.red_flags["septic_arthritis"]
    findings = []
    if anticoagulant:
        findings.append(
            {
                "rule": "bleeding_risk",
                "name": "Anticoagulant or bleeding disorder",
                "kind": "precaution",
                "message": "Superficial needling only.",
                "findings": ["health.anticoagulant"],
                "sources": ["who1999_basic_training_safety"],
                "blocks_treatment": False,
                "blocked_methods": [],
                "blocked_points": [],
                "limit_depth": "superficial",
                "max_needle_diameter_mm": None,
                "warn_points": [],
            }
        )
    return {
        "referrals": [
            {
                "rule": "septic_arthritis",
                "name": septic.name,
                "urgency": "emergency",
                "action": septic.action,
                "reason": septic.reason,
                "findings": ["red_flags.hot_swollen_knee", "red_flags.fever"],
                "sources": list(septic.source),
            }
        ],
        "findings": findings,
    }


@pytest.fixture(params=[True, False], ids=["anticoagulant-true", "anticoagulant-false"])
def old_record(request: Any, patient: Patient, alice: User) -> IntakeRecord:
    data = old_intake(request.param)
    return IntakeRecord.objects.create(
        patient=patient,
        visit_date=VISIT,
        data=data,
        screening=old_screening(request.param),
        assessment=assess(Intake.model_validate(data)).model_dump(mode="json"),
        created_by=alice,
    )


def test_an_old_intake_still_loads_through_the_core(old_record: IntakeRecord) -> None:
    intake = Intake.model_validate(old_record.data)
    assert intake.red_flags.fever is True
    assert intake.red_flags.true_locking is False  # stored false: asked, no
    assert intake.red_flags.limp is None  # not asked then: not recorded
    assert intake.health.epilepsy is None
    expected = "unspecified" if old_record.data["health"]["anticoagulant"] else None
    assert (intake.health.anticoagulant and intake.health.anticoagulant.value) == expected
    screening = Screening.model_validate(old_record.screening)
    assert screening.referrals[0].next_step == ""
    Assessment.model_validate(old_record.assessment)


def test_old_intake_page_renders_with_new_questions_not_recorded(
    old_record: IntakeRecord, alice: User
) -> None:
    url = reverse(
        "intake-detail", kwargs={"patient_id": old_record.patient_id, "intake_id": old_record.pk}
    )
    response = login(alice).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Suspected septic arthritis" in page
    assert "Next step:</strong> not recorded" in page
    assert "<li>Limp: not recorded</li>" in page  # a question added since: not asked
    assert "<li>Pulsatile mass behind the knee (popliteal fossa): not recorded</li>" in page
    assert "<li>True locking of the knee: not recorded</li>" not in page  # stored false: asked
    assert not re.search(r"<th scope=\"row\">Limp</th><td>no</td>", page)


def test_old_intake_page_shows_an_old_anticoagulant_yes_as_unspecified(
    patient: Patient, alice: User
) -> None:
    data = old_intake(True)
    record = IntakeRecord.objects.create(
        patient=patient,
        visit_date=VISIT,
        data=data,
        screening=old_screening(True),
        assessment=assess(Intake.model_validate(data)).model_dump(mode="json"),
        created_by=alice,
    )
    url = reverse("intake-detail", kwargs={"patient_id": patient.pk, "intake_id": record.pk})
    page = login(alice).get(url).content.decode()
    assert '<th scope="row">Anticoagulant taken</th><td>unspecified</td>' in page


def test_old_intake_reads_from_the_api_in_todays_shape(
    old_record: IntakeRecord, alice: User
) -> None:
    response = api_for(alice).get(f"/intakes/{old_record.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"]["red_flags"]["limp"] is None
    assert body["data"]["red_flags"]["true_locking"] is False
    assert body["data"]["health"]["epilepsy"] is None
    assert body["data"]["health"]["antiplatelet"] is None
    taken = old_record.data["health"]["anticoagulant"]
    assert body["data"]["health"]["anticoagulant"] == ("unspecified" if taken else None)
    assert body["screening"]["referrals"][0]["name"] == "Suspected septic arthritis"
    listed = api_for(alice).get("/intakes", patient=old_record.patient_id)
    assert listed.status_code == 200
    assert listed.json()["items"][0]["data"] == body["data"]


def test_old_intake_referral_letter_and_patient_report_render(
    old_record: IntakeRecord, alice: User
) -> None:
    client = login(alice)
    patient_id = old_record.patient_id
    letter = client.get(
        reverse("patient-referral", kwargs={"patient_id": patient_id}),
        {"intake": old_record.pk},
    )
    assert letter.status_code == 200
    text = letter.content.decode()
    assert "Suspected septic arthritis" in text
    assert "Next step:" not in text  # none was stored: nothing invented
    assert "None" not in re.sub(r"<[^>]+>", " ", text)
    report = client.get(reverse("patient-report", kwargs={"patient_id": patient_id}))
    assert report.status_code == 200
