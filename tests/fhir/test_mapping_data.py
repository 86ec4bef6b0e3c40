"""Each mapping's plain JSON (``*_data``, what /fhir serves) is its validated resource's JSON,
byte for byte: same elements, same values, same key order, no empty list.

The read path serves the ``*_data`` dicts without building a fhir.resources model, so this is
where they are checked against the validated ``*_resource`` form, over the mapping's branches
(optional references present and absent, every instrument, every cause, a plan with no visit or
note, sessions with and without points, needles and adverse events, several screenings).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from acuknee import fhir
from acuknee.clinical import Intake, Plan, load_knowledge, score, screen
from acuknee.clinical.vocabulary import Cause, Method, Side
from tests.fhir.test_mapping import (
    MONDAY,
    PATIENT,
    PRACTITIONER,
    alice_info,
    alice_intake,
    alice_plan,
    alice_session,
    assessed,
)

CONDITION = "Condition/intake-1"
CARE_PLAN = "CarePlan/plan-1"
PROCEDURE = "Procedure/session-1"
SAFETY_VARIANTS: tuple[dict[str, Any], ...] = (
    {"health": {"anticoagulant": "warfarin"}},
    {"health": {"anticoagulant": "warfarin", "implanted_electronic_device": True}},
    {"red_flags": {"hot_swollen_knee": True, "fever": True}},
    {"red_flags": {"true_locking": True}, "health": {"metal_allergy": True}},
)
"""Intakes whose screening gives one or several findings and referrals (as test_search_sql)."""
CLEARED = fhir.ReferralOutcomeInfo(
    seen_by="Dr Synthetic, ED", seen_on=MONDAY + dt.timedelta(days=1), note="aspirated, clear"
)
"""A referral's outcome that cleared it."""

Case = tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
"""(``*_data``, ``*_resource``, args, kwargs)."""


def _answers(instrument: str) -> dict[str, float | None]:
    """Valid answers to every item: the scale's middle (a decimal item off the half)."""
    items = load_knowledge().instruments[instrument].items
    return {
        i.code: float(round((i.min + i.max) / 2)) if i.integer else (i.min + i.max) / 2 + 0.125
        for i in items
    }


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}

    def add(name: str, data: Callable[..., Any], resource: Callable[..., Any], *a: Any, **k: Any):
        cases[name] = (data, resource, a, k)

    add("patient", fhir.patient_data, fhir.patient_resource, alice_info())
    identified = alice_info().model_copy(update={"id": "7"})
    add("patient-with-id", fhir.patient_data, fhir.patient_resource, identified)
    for side in Side:
        for cause in Cause:
            intake = alice_intake(side)
            add(
                f"condition-{side.value}-{cause.value}",
                fhir.condition_data,
                fhir.condition_resource,
                assessed(intake, cause),
                intake,
                PATIENT,
                recorded=MONDAY,
            )
    intake = alice_intake()
    add(
        "condition-all-references",
        fhir.condition_data,
        fhir.condition_resource,
        assessed(intake),
        intake,
        PATIENT,
        recorded=MONDAY,
        asserter_ref=PRACTITIONER,
        resource_id="intake-1",
    )
    for n, variant in enumerate(SAFETY_VARIANTS):
        screening = screen(
            Intake.model_validate(
                {"age": 66, "sex": "female", "side": "left", "duration_weeks": 2, **variant}
            )
        )
        assert screening.findings or screening.referrals
        for finding in screening.findings:
            add(
                f"flag-{n}-{finding.rule}",
                fhir.flag_data,
                fhir.flag_resource,
                finding,
                PATIENT,
                recorded=MONDAY,
            )
            add(
                f"flag-{n}-{finding.rule}-all",
                fhir.flag_data,
                fhir.flag_resource,
                finding,
                PATIENT,
                recorded=MONDAY,
                author_ref=PRACTITIONER,
                resource_id="intake-1-x",
            )
            add(
                f"flag-{n}-{finding.rule}-superseded",
                fhir.flag_data,
                fhir.flag_resource,
                finding,
                PATIENT,
                recorded=MONDAY,
                ended=MONDAY + dt.timedelta(days=30),
            )
        for referral in screening.referrals:
            add(
                f"request-{n}-{referral.rule}",
                fhir.service_request_data,
                fhir.service_request_resource,
                referral,
                PATIENT,
                authored=MONDAY,
            )
            add(
                f"request-{n}-{referral.rule}-all",
                fhir.service_request_data,
                fhir.service_request_resource,
                referral,
                PATIENT,
                authored=MONDAY,
                requester_ref=PRACTITIONER,
                resource_id="intake-1-y",
            )
            add(
                f"request-{n}-{referral.rule}-cleared",
                fhir.service_request_data,
                fhir.service_request_resource,
                referral,
                PATIENT,
                authored=MONDAY,
                cleared=CLEARED,
            )
            add(
                f"request-{n}-{referral.rule}-cleared-no-next-step",
                fhir.service_request_data,
                fhir.service_request_resource,
                referral.model_copy(update={"next_step": ""}),
                PATIENT,
                authored=MONDAY,
                cleared=CLEARED.model_copy(update={"note": ""}),
            )
    the_plan = alice_plan()
    add("care-plan", fhir.care_plan_data, fhir.care_plan_resource, the_plan, PATIENT)
    add(
        "care-plan-all",
        fhir.care_plan_data,
        fhir.care_plan_resource,
        the_plan,
        PATIENT,
        author_ref=PRACTITIONER,
        condition_ref=CONDITION,
        status="draft",
        visits_done={("session", 1), ("session", 2)},
        resource_id="plan-1",
    )
    add(
        "care-plan-revoked",
        fhir.care_plan_data,
        fhir.care_plan_resource,
        the_plan,
        PATIENT,
        status="revoked",
        visits_done={("session", 1), ("reassessment", 1)},
    )
    bare = Plan(status="proposed", cause=Cause.UNSPECIFIED)  # no visit, no note: no empty list
    add("care-plan-bare", fhir.care_plan_data, fhir.care_plan_resource, bare, PATIENT)
    session = alice_session()
    electro = session.model_copy(
        update={
            "points": [p.model_copy(update={"stimulation": Method.ELECTRO}) for p in session.points]
        }
    )
    empty = session.model_copy(update={"points": [], "needle": None, "adverse_events": []})
    for name, s in (("session", session), ("electro", electro), ("empty", empty)):
        add(
            f"procedure-{name}",
            fhir.procedure_data,
            fhir.procedure_resource,
            s,
            the_plan,
            PATIENT,
            PRACTITIONER,
        )
        add(
            f"procedure-{name}-all",
            fhir.procedure_data,
            fhir.procedure_resource,
            s,
            the_plan,
            PATIENT,
            PRACTITIONER,
            condition_ref=CONDITION,
            care_plan_ref=CARE_PLAN,
            resource_id="session-1",
        )
    add("adverse-events", fhir.adverse_event_data, fhir.adverse_event_resources, session, PATIENT)
    add(
        "adverse-events-all",
        fhir.adverse_event_data,
        fhir.adverse_event_resources,
        session,
        PATIENT,
        procedure_ref=PROCEDURE,
        recorder_ref=PRACTITIONER,
    )
    for instrument in sorted(load_knowledge().instruments):
        answers = _answers(instrument)
        add(
            f"questionnaire-{instrument}",
            fhir.questionnaire_data,
            fhir.questionnaire_resource,
            instrument,
        )
        add(
            f"response-{instrument}",
            fhir.questionnaire_response_data,
            fhir.questionnaire_response_resource,
            instrument,
            answers,
            MONDAY,
            PATIENT,
            resource_id="meas-1",
        )
        skipped = dict.fromkeys(answers)
        add(
            f"response-{instrument}-skipped",
            fhir.questionnaire_response_data,
            fhir.questionnaire_response_resource,
            instrument,
            skipped,
            MONDAY,
            PATIENT,
        )
        add(
            f"observations-{instrument}",
            fhir.observation_data,
            fhir.observation_resources,
            score(instrument, answers),
            instrument,
            MONDAY,
            PATIENT,
            "QuestionnaireResponse/1",
        )
    return cases


CASES = _cases()


def _dumped(resource: Any) -> Any:
    if isinstance(resource, list):
        return [_dumped(r) for r in resource]
    return resource.model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_mappings_json_is_its_validated_resources_json_byte_for_byte(name: str) -> None:
    data, resource, args, kwargs = CASES[name]
    built = data(*args, **kwargs)
    assert built, "the mapping made nothing"
    assert json.dumps(built) == json.dumps(_dumped(resource(*args, **kwargs)))


def test_every_mapping_the_read_path_calls_is_checked_here() -> None:
    checked = {data.__name__ for data, _, _, _ in CASES.values()}
    assert checked == {name for name in fhir.__all__ if name.endswith("_data")}


def test_a_mapping_out_of_order_would_be_caught() -> None:
    """The byte comparison sees key order: the same resource with its id moved is not equal."""
    identified = alice_info().model_copy(update={"id": "7"})
    built = fhir.patient_data(identified)
    moved = {k: v for k, v in built.items() if k != "id"} | {"id": built["id"]}
    assert moved == built
    validated = json.dumps(_dumped(fhir.patient_resource(identified)))
    assert json.dumps(built) == validated
    assert json.dumps(moved) != validated
