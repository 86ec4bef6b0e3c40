"""FHIR mapping: every resource validates and round-trips, with the verified codes and only those.

Alice Example (synthetic) has left knee osteoarthritis; Dr Pat Needler treats her with the GERAC
protocol. References use ``urn:uuid:`` fullUrls so her resources form one standalone bundle.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.resource import Resource

from acuknee.clinical import Assessment, Intake, Plan, SessionRecord, assess, plan, score, screen
from acuknee.clinical.errors import InvalidInput, InvalidInputs
from acuknee.clinical.intake import Examination
from acuknee.clinical.sessions import (
    AdverseEvent,
    Depth,
    ElectroPair,
    NeedledPoint,
    NeedleType,
)
from acuknee.clinical.vocabulary import AdverseEventKind, Cause, Method, Severity, Sex, Side
from acuknee.fhir import (
    PatientInfo,
    PractitionerInfo,
    RecordIdentifier,
    adverse_event_resources,
    answers_from_questionnaire_response,
    care_plan_resource,
    care_plan_status,
    codes,
    collection_bundle,
    condition_resource,
    observation_resources,
    patient_resource,
    practitioner_resource,
    procedure_resource,
    questionnaire_resource,
    questionnaire_response_resource,
)

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CLINIC_MRN = "https://northside.example/fhir/mrn"
PATIENT = "urn:uuid:0d4a4f3e-8a7e-4c55-9a0f-2b7f4c1e0001"
PRACTITIONER = "urn:uuid:0d4a4f3e-8a7e-4c55-9a0f-2b7f4c1e0002"
CONDITION = "urn:uuid:0d4a4f3e-8a7e-4c55-9a0f-2b7f4c1e0003"
CARE_PLAN = "urn:uuid:0d4a4f3e-8a7e-4c55-9a0f-2b7f4c1e0004"
QR_KOOS = "urn:uuid:0d4a4f3e-8a7e-4c55-9a0f-2b7f4c1e0005"
PROCEDURE = "urn:uuid:0d4a4f3e-8a7e-4c55-9a0f-2b7f4c1e0006"
MONDAY = dt.date(2026, 1, 5)
KOOS_ITEMS = (
    [f"S{i}" for i in range(1, 8)]
    + [f"P{i}" for i in range(1, 10)]
    + [f"A{i}" for i in range(1, 18)]
    + [f"SP{i}" for i in range(1, 6)]
    + [f"Q{i}" for i in range(1, 5)]
)
KOOS_ANSWERS: dict[str, float | None] = {code: float(i % 5) for i, code in enumerate(KOOS_ITEMS)}
PAIN_NRS = {"current": 5.0, "average_last_week": 6.0, "worst_last_week": 8.0}


def alice_info(sex: Sex = Sex.FEMALE) -> PatientInfo:
    return PatientInfo(
        record_number=RecordIdentifier(system=CLINIC_MRN, value="NS-0042"),
        given_name="Alice",
        family_name="Example",
        birth_date=dt.date(1961, 3, 14),
        sex=sex,
    )


def alice_intake(side: Side = Side.LEFT) -> Intake:
    return Intake(
        age=64,
        sex=Sex.FEMALE,
        side=side,
        duration_weeks=52,
        morning_stiffness_minutes=10,
        examination=Examination(crepitus=True, bony_tenderness=True),
        baseline={"pain_nrs": PAIN_NRS},
    )


def assessed(intake: Intake, cause: Cause | None = None) -> Assessment:
    assessment = assess(intake)
    return assessment if cause is None else assessment.model_copy(update={"likely_cause": cause})


def alice_plan() -> Plan:
    intake = alice_intake()
    return plan(intake, screen(intake), assess(intake), start=MONDAY)


def alice_session() -> SessionRecord:
    return SessionRecord(
        date=MONDAY,
        number=1,
        points=[
            NeedledPoint(
                code="ST35",
                side=Side.LEFT,
                depth=Depth(value=1, unit="cun"),
                angle="oblique",
                de_qi=True,
            ),
            NeedledPoint(code="SP9", side=Side.LEFT, de_qi=False),
            NeedledPoint(code="ashi", side=Side.LEFT),
        ],
        needle=NeedleType(diameter_mm=0.25, length_mm=40, material="stainless steel"),
        retention_minutes=20,
        response_sought="de qi",
        pain_before=6,
        pain_after=3,
        adverse_events=[
            AdverseEvent(
                kind=AdverseEventKind.BRUISING,
                severity=Severity.MILD,
                action_taken="Pressure",
                point="SP9",
            )
        ],
    )


def codings(concept: Any) -> set[tuple[str, str]]:
    return {(c.system, c.code) for c in concept.coding or []}


def round_trip(resource: Resource) -> Resource:
    return type(resource).model_validate_json(resource.model_dump_json())


# --- Patient -------------------------------------------------------------------------------------


def test_patient_carries_the_clinic_record_number_in_its_system() -> None:
    patient = patient_resource(alice_info())
    assert [(i.system, i.value) for i in patient.identifier] == [(CLINIC_MRN, "NS-0042")]


def test_patient_has_name_and_birth_date() -> None:
    patient = patient_resource(alice_info())
    assert (patient.name[0].family, patient.name[0].given) == ("Example", ["Alice"])
    assert patient.birthDate == dt.date(1961, 3, 14)


@pytest.mark.parametrize(
    ("sex", "gender"),
    [(Sex.FEMALE, "female"), (Sex.MALE, "male"), (Sex.OTHER, "other"), (Sex.UNKNOWN, "unknown")],
)
def test_sex_maps_to_administrative_gender(sex: Sex, gender: str) -> None:
    assert patient_resource(alice_info(sex)).gender == gender


def test_practitioner_carries_registration_when_recorded() -> None:
    registration = RecordIdentifier(system="https://register.example/acupuncture", value="A-77")
    practitioner = practitioner_resource(
        PractitionerInfo(given_name="Pat", family_name="Needler", registration=registration)
    )
    assert practitioner.identifier[0].value == "A-77"


# --- Condition -----------------------------------------------------------------------------------


def test_knee_osteoarthritis_has_snomed_and_icd10cm_codes() -> None:
    intake = alice_intake()
    condition = condition_resource(assessed(intake), intake, PATIENT, recorded=MONDAY)
    assert codings(condition.code) == {(SNOMED, "239873007"), (ICD10CM, "M17.9")}


@pytest.mark.parametrize(
    ("side", "site"), [(Side.LEFT, "82169009"), (Side.RIGHT, "6757004"), (Side.BOTH, "36701003")]
)
def test_laterality_is_the_coded_knee_body_site(side: Side, site: str) -> None:
    intake = alice_intake(side)
    condition = condition_resource(assessed(intake), intake, PATIENT, recorded=MONDAY)
    assert codings(condition.bodySite[0]) == {(SNOMED, site)}


@pytest.mark.parametrize(("side", "icd"), [(Side.RIGHT, "M25.561"), (Side.LEFT, "M25.562")])
def test_unspecified_knee_pain_codes_the_painful_side(side: Side, icd: str) -> None:
    intake = alice_intake(side)
    assessment = assessed(intake, Cause.UNSPECIFIED)
    condition = condition_resource(assessment, intake, PATIENT, recorded=MONDAY)
    assert codings(condition.code) == {(SNOMED, "30989003"), (ICD10CM, icd)}


@pytest.mark.parametrize(("side", "icd"), [(Side.RIGHT, "M22.2X1"), (Side.LEFT, "M22.2X2")])
def test_patellofemoral_pain_codes_the_painful_side(side: Side, icd: str) -> None:
    intake = alice_intake(side)
    assessment = assessed(intake, Cause.PATELLOFEMORAL_PAIN)
    condition = condition_resource(assessment, intake, PATIENT, recorded=MONDAY)
    assert codings(condition.code) == {(ICD10CM, icd)}


def test_bilateral_knee_pain_has_no_icd10cm_code_without_a_bilateral_one() -> None:
    intake = alice_intake(Side.BOTH)
    assessment = assessed(intake, Cause.UNSPECIFIED)
    condition = condition_resource(assessment, intake, PATIENT, recorded=MONDAY)
    assert codings(condition.code) == {(SNOMED, "30989003")}


@pytest.mark.parametrize(
    "cause", [Cause.PATELLAR_TENDINOPATHY, Cause.ILIOTIBIAL_BAND, Cause.PES_ANSERINE]
)
def test_cause_without_a_verified_code_is_text_only(cause: Cause) -> None:
    intake = alice_intake()
    condition = condition_resource(assessed(intake, cause), intake, PATIENT, recorded=MONDAY)
    assert condition.code.coding is None
    assert condition.code.text.startswith(codes.CAUSE_TEXT[cause])


@pytest.mark.parametrize("cause", list(Cause))
def test_every_likely_cause_the_core_can_assess_maps_to_a_named_condition(cause: Cause) -> None:
    intake = alice_intake()
    condition = condition_resource(assessed(intake, cause), intake, PATIENT, recorded=MONDAY)
    assert condition.code.text.startswith(codes.CAUSE_TEXT[cause])
    assert cause is Cause.UNSPECIFIED or condition.code.text.startswith(cause.label)


def test_condition_is_a_provisional_active_encounter_diagnosis() -> None:
    intake = alice_intake()
    condition = condition_resource(assessed(intake), intake, PATIENT, recorded=MONDAY)
    assert condition.verificationStatus.coding[0].code == "provisional"
    assert condition.clinicalStatus.coding[0].code == "active"
    assert condition.category[0].coding[0].code == "encounter-diagnosis"
    assert condition.subject.reference == PATIENT


# --- Observation ---------------------------------------------------------------------------------


def test_each_koos_subscale_is_an_observation_with_its_loinc_code() -> None:
    observations = observation_resources(score("koos", KOOS_ANSWERS), "koos", MONDAY, PATIENT)
    loinc = {c.code for o in observations for c in o.code.coding if c.system == LOINC}
    assert loinc == {"72102-7", "72101-9", "72100-1", "72099-5", "72098-7"}


def test_observation_value_has_its_unit_and_ucum_code() -> None:
    observation = observation_resources(score("koos", KOOS_ANSWERS), "koos", MONDAY, PATIENT)[0]
    quantity = observation.valueQuantity
    assert (quantity.unit, quantity.system, quantity.code) == (
        "score (0-100)",
        "http://unitsofmeasure.org",
        "{score}",
    )


def test_observations_are_derived_from_their_questionnaire_response() -> None:
    scores = score("koos", KOOS_ANSWERS)
    observations = observation_resources(scores, "koos", MONDAY, PATIENT, QR_KOOS)
    assert {o.derivedFrom[0].reference for o in observations} == {QR_KOOS}


def test_subscale_with_too_few_answers_has_no_observation() -> None:
    answers = {**KOOS_ANSWERS, **{f"P{i}": None for i in range(1, 10)}}
    observations = observation_resources(score("koos", answers), "koos", MONDAY, PATIENT)
    local = {c.code for o in observations for c in o.code.coding if c.system != LOINC}
    assert "koos.pain" not in local
    assert len(observations) == 4


def test_pain_ratings_sharing_a_loinc_code_keep_their_own_codes() -> None:
    observations = observation_resources(score("pain_nrs", PAIN_NRS), "pain_nrs", MONDAY, PATIENT)
    local = [c.code for o in observations for c in o.code.coding if c.system != LOINC]
    assert local == ["pain_nrs.current", "pain_nrs.average_last_week", "pain_nrs.worst_last_week"]
    assert all(o.code.coding[0].code == "72514-3" for o in observations)


def test_performance_test_without_loinc_is_an_exam_with_a_local_code_only() -> None:
    scores = score("timed_up_and_go", {"time_s": 9.5})
    (observation,) = observation_resources(scores, "timed_up_and_go", MONDAY, PATIENT)
    assert observation.category[0].coding[0].code == "exam"
    assert codings(observation.code) == {(codes.SUBSCALE_SYSTEM, "timed_up_and_go.time")}
    assert (observation.valueQuantity.value, observation.valueQuantity.code) == (9.5, "s")


def test_scores_of_another_instrument_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="instrument"):
        observation_resources(score("pain_nrs", PAIN_NRS), "koos", MONDAY, PATIENT)


# --- Questionnaire and QuestionnaireResponse ------------------------------------------------------


def test_questionnaire_items_are_item_codes_with_paraphrased_labels() -> None:
    questionnaire = questionnaire_resource("koos")
    assert [i.linkId for i in questionnaire.item] == KOOS_ITEMS
    assert questionnaire.item[7].text == "How often knee pain occurs"
    assert questionnaire.url == "urn:acuknee:questionnaire:koos"


def test_licensed_text_replaces_the_paraphrased_label() -> None:
    questionnaire = questionnaire_resource("koos", item_text={"P1": "Licensed wording of P1"})
    assert questionnaire.item[7].text == "Licensed wording of P1"
    assert questionnaire.item[8].text == "Pain twisting or pivoting on the knee"


def test_licensed_text_for_an_unknown_item_is_rejected_naming_it() -> None:
    with pytest.raises(InvalidInput, match=r"koos\.P99"):
        questionnaire_resource("koos", item_text={"P99": "text"})


def test_koos_jr_questionnaire_items_carry_their_loinc_codes() -> None:
    questionnaire = questionnaire_resource("koos_jr")
    assert [i.code[0].code for i in questionnaire.item] == [
        "82325-2",
        "82326-0",
        "82327-8",
        "82328-6",
        "82329-4",
        "82330-2",
        "82331-0",
    ]


def test_decimal_items_are_decimal_questions_and_answers() -> None:
    questionnaire = questionnaire_resource("timed_up_and_go")
    response = questionnaire_response_resource("timed_up_and_go", {"time_s": 9.5}, MONDAY, PATIENT)
    assert questionnaire.item[0].type == "decimal"
    assert response.item[0].answer[0].valueDecimal == 9.5


def test_questionnaire_response_round_trips_to_the_same_answers() -> None:
    answers = {**KOOS_ANSWERS, "P3": None}
    response = questionnaire_response_resource("koos", answers, MONDAY, PATIENT)
    parsed = QuestionnaireResponse.model_validate_json(response.model_dump_json())
    instrument, back = answers_from_questionnaire_response(parsed)
    assert instrument == "koos"
    assert back == {k: v for k, v in answers.items() if v is not None}


def test_integer_items_are_answered_as_integers() -> None:
    response = questionnaire_response_resource("pain_nrs", PAIN_NRS, MONDAY, PATIENT)
    assert [i.answer[0].valueInteger for i in response.item] == [5, 6, 8]
    assert response.status == "completed"


def test_invalid_answers_are_refused_before_a_response_is_built() -> None:
    with pytest.raises(InvalidInput, match=r"pain_nrs\.current"):
        questionnaire_response_resource("pain_nrs", {"current": 11.0}, MONDAY, PATIENT)


def response_json(items: list[dict[str, Any]], **extra: Any) -> QuestionnaireResponse:
    return QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "urn:acuknee:questionnaire:koos",
            "status": "completed",
            "subject": {"reference": PATIENT},
            "item": items,
            **extra,
        }
    )


def test_out_of_range_answer_is_rejected_naming_the_item() -> None:
    response = response_json([{"linkId": "P1", "answer": [{"valueInteger": 7}]}])
    with pytest.raises(InvalidInput) as caught:
        answers_from_questionnaire_response(response)
    assert caught.value.field == "koos.P1"
    assert "between 0 and 4" in caught.value.problem


def test_unknown_item_is_rejected_naming_it() -> None:
    response = response_json([{"linkId": "Z9", "answer": [{"valueInteger": 1}]}])
    with pytest.raises(InvalidInput) as caught:
        answers_from_questionnaire_response(response)
    assert caught.value.field == "koos.Z9"


def test_text_answer_is_rejected_naming_the_item() -> None:
    response = response_json([{"linkId": "P2", "answer": [{"valueString": "a lot"}]}])
    with pytest.raises(InvalidInput, match=r"koos\.P2: must be a number"):
        answers_from_questionnaire_response(response)


def test_two_answers_to_one_item_are_rejected_naming_it() -> None:
    two = [{"valueInteger": 1}, {"valueInteger": 2}]
    with pytest.raises(InvalidInput, match=r"koos\.P2: one answer expected"):
        answers_from_questionnaire_response(response_json([{"linkId": "P2", "answer": two}]))


def test_several_bad_items_are_reported_together() -> None:
    response = response_json(
        [
            {"linkId": "P1", "answer": [{"valueString": "x"}]},
            {"linkId": "Z9", "answer": [{"valueInteger": 1}]},
        ]
    )
    with pytest.raises(InvalidInputs) as caught:
        answers_from_questionnaire_response(response)
    assert [e.field for e in caught.value.errors] == ["koos.P1", "koos.Z9"]


def test_response_to_a_foreign_questionnaire_is_rejected() -> None:
    response = response_json([], questionnaire="http://example.org/Questionnaire/phq9")
    with pytest.raises(InvalidInput, match=r"QuestionnaireResponse\.questionnaire"):
        answers_from_questionnaire_response(response)


def test_response_to_an_unknown_instrument_is_rejected() -> None:
    response = response_json([], questionnaire="urn:acuknee:questionnaire:womac")
    with pytest.raises(InvalidInput, match="unknown instrument 'womac'"):
        answers_from_questionnaire_response(response)


def test_unfinished_response_is_not_scored() -> None:
    response = response_json([], status="in-progress")
    with pytest.raises(InvalidInput, match=r"QuestionnaireResponse\.status"):
        answers_from_questionnaire_response(response)


# --- Procedure, CarePlan, AdverseEvent -----------------------------------------------------------


def test_procedure_code_is_acupuncture_as_text_without_an_unverified_code() -> None:
    procedure = procedure_resource(alice_session(), alice_plan(), PATIENT, PRACTITIONER)
    assert procedure.code.coding is None
    assert procedure.code.text == "Acupuncture (manual)"


def test_each_needled_point_is_a_body_site() -> None:
    procedure = procedure_resource(alice_session(), alice_plan(), PATIENT, PRACTITIONER)
    assert [s.text for s in procedure.bodySite] == [
        "ST35 Dubi, left",
        "SP9 Yinlingquan, left",
        "Ashi point, left",
    ]
    assert codings(procedure.bodySite[0]) == {(codes.POINT_SYSTEM, "ST35")}


def test_procedure_notes_carry_the_stricta_session_items() -> None:
    procedure = procedure_resource(alice_session(), alice_plan(), PATIENT, PRACTITIONER)
    notes = " ".join(n.text for n in procedure.note)
    for expected in (
        "ST35 left, manual, depth 1 cun, oblique, de qi obtained",
        "SP9 left, manual, de qi sought, not obtained",
        "Needles: 0.25 × 40 mm (stainless steel)",
        "Retention: 20 min",
        "Pain (0-10 NRS) before 6, after 3",
    ):
        assert expected in notes


def test_procedure_names_performer_subject_date_and_status() -> None:
    procedure = procedure_resource(alice_session(), alice_plan(), PATIENT, PRACTITIONER)
    assert procedure.status == "completed"
    assert procedure.performer[0].actor.reference == PRACTITIONER
    assert procedure.subject.reference == PATIENT
    assert procedure.performedDateTime == MONDAY


def test_electroacupuncture_session_states_method_and_frequency() -> None:
    session = SessionRecord(
        date=MONDAY,
        number=2,
        points=[
            NeedledPoint(code="ST35", side=Side.LEFT, stimulation=Method.ELECTRO),
            NeedledPoint(code="EX-LE4", side=Side.LEFT, stimulation=Method.ELECTRO),
        ],
        electro=[ElectroPair(points=("ST35", "EX-LE4"), side=Side.LEFT, frequency_hz=[2, 100])],
    )
    procedure = procedure_resource(session, alice_plan(), PATIENT, PRACTITIONER)
    assert procedure.code.text == "Acupuncture (electro)"
    assert any("ST35-EX-LE4 left, 2/100 Hz" in n.text for n in procedure.note)


def test_care_plan_has_one_activity_per_scheduled_visit() -> None:
    the_plan = alice_plan()
    care_plan = care_plan_resource(the_plan, PATIENT, author_ref=PRACTITIONER)
    assert len(care_plan.activity) == len(the_plan.schedule)
    first = care_plan.activity[0].detail
    assert (first.status, first.scheduledPeriod.start) == ("scheduled", MONDAY)
    assert (care_plan.status, care_plan.intent) == ("active", "plan")


def test_the_visits_done_are_marked_completed_in_the_care_plan_by_kind_and_planned_number() -> None:
    the_plan = alice_plan()
    reassessment = next(v for v in the_plan.schedule if v.kind == "reassessment")
    done = {("session", 1), ("reassessment", reassessment.number)}
    care_plan = care_plan_resource(the_plan, PATIENT, visits_done=done)
    marked = {
        (v.kind, v.number)
        for v, a in zip(the_plan.schedule, care_plan.activity, strict=True)
        if a.detail.status == "completed"
    }
    assert marked == done
    assert [a.detail.status for a in care_plan.activity].count("scheduled") == len(
        the_plan.schedule
    ) - 2


@pytest.mark.parametrize("status", ["revoked", "completed"])
def test_the_visits_not_done_of_an_ended_care_plan_are_cancelled(status: str) -> None:
    the_plan = alice_plan()
    care_plan = care_plan_resource(
        the_plan, PATIENT, status=status, visits_done={("session", 1), ("session", 2)}
    )
    statuses = [a.detail.status for a in care_plan.activity]
    assert care_plan.status == status
    assert statuses.count("completed") == 2
    assert statuses.count("cancelled") == len(the_plan.schedule) - 2


@pytest.mark.parametrize(
    ("current", "completed", "status"),
    [
        (True, False, "active"),
        (False, False, "revoked"),
        (True, True, "completed"),
        (False, True, "completed"),
    ],
)
def test_a_signed_plan_is_active_while_current_revoked_when_superseded_completed_when_done(
    current: bool, completed: bool, status: str
) -> None:
    assert care_plan_status(current=current, completed=completed) == status


def test_refused_plan_has_no_care_plan() -> None:
    refused = Plan(status="refused", refusal_reasons=["Refer first."], cause=Cause.UNSPECIFIED)
    with pytest.raises(InvalidInput, match=r"plan\.status"):
        care_plan_resource(refused, PATIENT)


def test_each_recorded_adverse_event_is_an_actual_adverse_event() -> None:
    (event,) = adverse_event_resources(alice_session(), PATIENT, procedure_ref=PROCEDURE)
    assert event.actuality == "actual"
    assert event.severity.coding[0].code == "mild"
    assert event.event.text == "Bruising at SP9. Action taken: Pressure"
    assert event.suspectEntity[0].instance.reference == PROCEDURE


def test_an_adverse_events_kind_is_coded_in_acuknees_own_system_only() -> None:
    (event,) = adverse_event_resources(alice_session(), PATIENT, procedure_ref=PROCEDURE)
    [coded] = event.event.coding
    assert (coded.system, coded.code, coded.display) == (
        "urn:acuknee:adverse-event-kind",
        "bruising",
        "Bruising",
    )


def test_an_old_free_text_event_keeps_its_words_in_the_fhir_text() -> None:
    old = AdverseEvent.model_validate(
        {"type": "tingling", "severity": "mild", "action_taken": "reassured"}
    )
    session = alice_session().model_copy(update={"adverse_events": [old]})
    (event,) = adverse_event_resources(session, PATIENT)
    assert event.event.text == "Other: tingling. Action taken: reassured"
    assert event.event.coding[0].code == "other"


def test_session_without_adverse_events_has_none() -> None:
    session = alice_session().model_copy(update={"adverse_events": []})
    assert adverse_event_resources(session, PATIENT) == []


# --- validation, round trip and the whole patient -------------------------------------------------


def alice_resources() -> list[tuple[str, Resource]]:
    """Every resource type acuknee emits, for one synthetic patient, keyed by fullUrl."""
    intake = alice_intake()
    the_plan = alice_plan()
    session = alice_session()
    koos_response = questionnaire_response_resource("koos", KOOS_ANSWERS, MONDAY, PATIENT)
    uuid = "urn:uuid:0d4a4f3e-8a7e-4c55-9a0f-2b7f4c1e{:04d}"
    entries: list[tuple[str, Resource]] = [
        (PATIENT, patient_resource(alice_info())),
        (PRACTITIONER, practitioner_resource(PractitionerInfo(given_name="Pat", family_name="N"))),
        (CONDITION, condition_resource(assessed(intake), intake, PATIENT, recorded=MONDAY)),
        (CARE_PLAN, care_plan_resource(the_plan, PATIENT, condition_ref=CONDITION)),
        (QR_KOOS, koos_response),
        (
            PROCEDURE,
            procedure_resource(
                session,
                the_plan,
                PATIENT,
                PRACTITIONER,
                condition_ref=CONDITION,
                care_plan_ref=CARE_PLAN,
            ),
        ),
        (uuid.format(7), questionnaire_resource("koos")),
    ]
    scores = score("koos", KOOS_ANSWERS)
    others: list[Resource] = [
        *observation_resources(scores, "koos", MONDAY, PATIENT, QR_KOOS),
        *adverse_event_resources(session, PATIENT, procedure_ref=PROCEDURE),
    ]
    entries += [(uuid.format(100 + n), r) for n, r in enumerate(others)]
    return entries


def test_every_resource_round_trips_through_json() -> None:
    for _, resource in alice_resources():
        assert round_trip(resource) == resource


def test_every_resource_type_is_emitted() -> None:
    types = {r.get_resource_type() for _, r in alice_resources()}
    assert types == {
        "Patient",
        "Practitioner",
        "Condition",
        "CarePlan",
        "QuestionnaireResponse",
        "Questionnaire",
        "Procedure",
        "Observation",
        "AdverseEvent",
    }


def test_full_patient_bundle_builds_and_round_trips() -> None:
    bundle = collection_bundle(alice_resources())
    again = Bundle.model_validate_json(bundle.model_dump_json())
    assert again.type == "collection"
    assert len(again.entry) == len(alice_resources())


def test_every_reference_in_the_bundle_resolves_inside_it() -> None:
    bundle = collection_bundle(alice_resources())
    urls = {e.fullUrl for e in bundle.entry}
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                found.append(node["reference"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(bundle.model_dump(mode="json"))
    assert found
    assert set(found) <= urls


def test_importing_the_fhir_mapping_loads_no_web_or_database_module() -> None:
    code = (
        "import sys, pkgutil, importlib, acuknee.fhir as f\n"
        "for m in pkgutil.walk_packages(f.__path__, 'acuknee.fhir.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert [m for m in loaded if m.split(".")[0] in ("django", "ninja", "sqlite3", "psycopg")] == []
