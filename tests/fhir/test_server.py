"""The FHIR server under /fhir: read, search, metadata, errors, and a posted QuestionnaireResponse.

Personas from tests/pages/conftest.py: alice treats Ada (Northside), carol is at Southside,
dana is front desk, rex a researcher without a clinic.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.records.models import Measurement, Patient
from tests.api.conftest import another_patient
from tests.fhir.server_course import INTAKE_DAY, Course, Fhir, build_course, fhir_for
from tests.pages import conftest as personas
from tests.pages.conftest import login

# The clinic's personas (tests/pages/conftest.py) as this module's fixtures.
alice, carol, dana, rex = personas.alice, personas.carol, personas.dana, personas.rex
northside, southside, patient = personas.northside, personas.southside, personas.patient

FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
SUBSCALES = "urn:acuknee:subscale"


@pytest.fixture
def course(patient: Patient, alice: User) -> Course:
    return build_course(patient, alice)


@pytest.fixture
def fhir(alice: User) -> Fhir:
    return fhir_for(alice)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    return response.json()


def outcome(response: Any, status: int) -> list[Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    data = response.json()
    assert data["resourceType"] == "OperationOutcome"
    assert data["issue"]
    assert all(i["severity"] == "error" and i["diagnostics"] for i in data["issue"])
    return list(data["issue"])


def ids(bundle: Any) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


# --- metadata ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metadata_is_a_public_r4_capability_statement() -> None:
    data = ok(Fhir().get("metadata"))
    assert data["resourceType"] == "CapabilityStatement"
    assert data["fhirVersion"] == "4.0.1"
    assert data["kind"] == "instance"
    assert "application/fhir+json" in data["format"]


@pytest.mark.django_db
def test_metadata_lists_every_served_type_with_its_interactions_and_parameters() -> None:
    rest = ok(Fhir().get("metadata"))["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert set(by_type) == {
        "Patient",
        "Condition",
        "Procedure",
        "Observation",
        "QuestionnaireResponse",
        "CarePlan",
        "AdverseEvent",
        "Flag",
        "ServiceRequest",
        "Questionnaire",
        "Group",
    }
    codes = {t: {i["code"] for i in r.get("interaction", [])} for t, r in by_type.items()}
    assert codes["Group"] == set()  # listed for its $export only
    assert codes["QuestionnaireResponse"] == {"read", "search-type", "create"}
    assert codes["Observation"] == {"read", "search-type"}
    params = {p["name"] for p in by_type["Observation"]["searchParam"]}
    assert params == {"_id", "patient", "subject", "date", "code"}
    assert {p["name"] for p in by_type["AdverseEvent"]["searchParam"]} == {"_id", "subject", "date"}


@pytest.mark.django_db
def test_metadata_lists_the_bulk_data_export_operations() -> None:
    rest = ok(Fhir().get("metadata"))["rest"][0]
    ig = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
    assert rest["operation"] == [{"name": "export", "definition": ig + "export"}]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert by_type["Patient"]["operation"] == [
        {"name": "export", "definition": ig + "patient-export"}
    ]
    assert by_type["Group"]["operation"] == [{"name": "export", "definition": ig + "group-export"}]
    assert "operation" not in by_type["Observation"]


# --- access --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_token_is_401_operation_outcome(patient: Patient) -> None:
    response = Fhir().get(f"Patient/{patient.pk}")
    outcome(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_invalid_token_is_401(patient: Patient) -> None:
    outcome(Fhir("ak_not-a-token").get("Patient"), 401)


@pytest.mark.django_db
def test_other_clinics_patient_is_404(patient: Patient, carol: User) -> None:
    outcome(fhir_for(carol).get(f"Patient/{patient.pk}"), 404)


@pytest.mark.django_db
def test_other_clinics_patient_is_not_searchable(course: Course, carol: User) -> None:
    bundle = ok(fhir_for(carol).get("Observation", patient=course.patient.pk))
    assert bundle["total"] == 0


@pytest.mark.django_db
def test_front_desk_reads_patients_but_no_clinical_resources(course: Course, dana: User) -> None:
    client = fhir_for(dana)
    ok(client.get(f"Patient/{course.patient.pk}"))
    outcome(client.get("Observation"), 403)
    outcome(client.get("Procedure"), 403)


@pytest.mark.django_db
def test_researcher_without_clinic_reads_questionnaires_only(patient: Patient, rex: User) -> None:
    client = fhir_for(rex)
    outcome(client.get("Patient"), 403)
    assert ok(client.get("Questionnaire"))["total"] > 0


@pytest.mark.django_db
def test_unknown_resource_type_is_404(fhir: Fhir) -> None:
    outcome(fhir.get("Medication"), 404)


@pytest.mark.django_db
def test_unknown_id_is_404(course: Course, fhir: Fhir) -> None:
    outcome(fhir.get("Procedure/session-999999"), 404)
    outcome(fhir.get("Observation/not-an-id"), 404)


@pytest.mark.django_db
def test_xml_is_not_acceptable(patient: Patient, fhir: Fhir) -> None:
    outcome(fhir.get(f"Patient/{patient.pk}", _format="xml"), 406)
    headers = {**fhir.headers(), "Accept": "application/fhir+xml"}
    outcome(fhir.client.get(f"/fhir/Patient/{patient.pk}", headers=headers), 406)
    headers["Accept"] = "application/fhir+json"
    ok(fhir.client.get(f"/fhir/Patient/{patient.pk}", headers=headers))


# --- read ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patient_read_carries_record_number_name_and_gender(patient: Patient, fhir: Fhir) -> None:
    data = ok(fhir.get(f"Patient/{patient.pk}"))
    assert data["id"] == str(patient.pk)
    assert data["identifier"][0]["value"] == "N-0001"
    assert data["identifier"][0]["system"] == "urn:acuknee:clinic:northside:record-number"
    assert data["name"][0]["family"] == "Synthetic"
    assert data["gender"] == "female"
    assert data["birthDate"] == "1960-05-17"


@pytest.mark.django_db
def test_condition_from_intake_has_snomed_and_icd10_codes(course: Course, fhir: Fhir) -> None:
    data = ok(fhir.get(f"Condition/intake-{course.intake.pk}"))
    codes = {(c["system"], c["code"]) for c in data["code"]["coding"]}
    assert ("http://snomed.info/sct", "239873007") in codes
    assert ("http://hl7.org/fhir/sid/icd-10-cm", "M17.9") in codes
    assert data["bodySite"][0]["coding"][0]["code"] == "82169009"
    assert data["subject"]["reference"] == f"Patient/{course.patient.pk}"


@pytest.mark.django_db
def test_procedure_per_session_references_plan_and_condition(course: Course, fhir: Fhir) -> None:
    session = course.sessions[0]
    data = ok(fhir.get(f"Procedure/session-{session.pk}"))
    assert data["status"] == "completed"
    assert data["performedDateTime"] == session.session_date.isoformat()
    assert data["basedOn"][0]["reference"] == f"CarePlan/plan-{course.plan.pk}"
    assert data["reasonReference"][0]["reference"] == f"Condition/intake-{course.intake.pk}"
    assert data["performer"][0]["actor"]["display"] == "alice"
    assert data["bodySite"]


@pytest.mark.django_db
def test_care_plan_is_the_signed_plan_with_completed_sessions(course: Course, fhir: Fhir) -> None:
    data = ok(fhir.get(f"CarePlan/plan-{course.plan.pk}"))
    statuses = [a["detail"]["status"] for a in data["activity"]]
    assert statuses.count("completed") == 3
    assert data["addresses"][0]["reference"] == f"Condition/intake-{course.intake.pk}"


@pytest.mark.django_db
def test_draft_plan_is_not_a_care_plan(course: Course, fhir: Fhir) -> None:
    course.plan.status = "draft"
    course.plan.save()
    outcome(fhir.get(f"CarePlan/plan-{course.plan.pk}"), 404)


@pytest.mark.django_db
def test_adverse_event_from_session_names_its_procedure(course: Course, fhir: Fhir) -> None:
    bundle = ok(fhir.get("AdverseEvent", subject=f"Patient/{course.patient.pk}"))
    assert bundle["total"] == 1
    event = bundle["entry"][0]["resource"]
    second = course.sessions[1]
    assert event["id"] == f"session-{second.pk}-1"
    assert event["suspectEntity"][0]["instance"]["reference"] == f"Procedure/session-{second.pk}"
    assert event["severity"]["coding"][0]["code"] == "mild"
    ok(fhir.get(f"AdverseEvent/{event['id']}"))


@pytest.mark.django_db
def test_observations_have_stable_ids_and_derive_from_their_response(
    course: Course, fhir: Fhir
) -> None:
    measurement = Measurement.objects.get(
        patient=course.patient, instrument="pain_nrs", measured_on=INTAKE_DAY
    )
    data = ok(fhir.get(f"Observation/meas-{measurement.pk}-average-last-week"))
    assert (
        data["valueQuantity"]["value"]
        == measurement.scores["subscales"]["average_last_week"]["value"]
    )
    source = data["derivedFrom"][0]["reference"]
    assert source == f"QuestionnaireResponse/meas-{measurement.pk}"
    response = ok(fhir.get(source))
    assert response["questionnaire"] == "urn:acuknee:questionnaire:pain_nrs"
    assert response["status"] == "completed"


@pytest.mark.django_db
def test_questionnaire_per_instrument(fhir: Fhir) -> None:
    data = ok(fhir.get("Questionnaire/koos"))
    assert data["url"] == "urn:acuknee:questionnaire:koos"
    found = ok(fhir.get("Questionnaire", url="urn:acuknee:questionnaire:pain_nrs"))
    assert ids(found) == ["pain-nrs"]


# --- search --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_search_by_patient_and_subject_agree(course: Course, fhir: Fhir) -> None:
    pk = course.patient.pk
    by_patient = ok(fhir.get("Procedure", patient=pk))
    by_subject = ok(fhir.get("Procedure", subject=f"Patient/{pk}"))
    assert by_patient["type"] == "searchset"
    assert by_patient["total"] == 3
    assert ids(by_patient) == ids(by_subject)


@pytest.mark.django_db
def test_search_excludes_other_patients(course: Course, alice: User, fhir: Fhir) -> None:
    other = another_patient(course.patient.clinic, alice, "N-0002")
    assert ok(fhir.get("Procedure", patient=other.pk))["total"] == 0
    assert ok(fhir.get("Patient"))["total"] == 2


@pytest.mark.django_db
def test_code_search_with_system_and_code(course: Course, fhir: Fhir) -> None:
    pk = course.patient.pk
    local = ok(fhir.get("Observation", patient=pk, code=f"{SUBSCALES}|pain_nrs.current"))
    assert local["total"] == 2  # baseline and reassessment
    plain = ok(fhir.get("Observation", patient=pk, code="pain_nrs.current"))
    assert ids(plain) == ids(local)
    wrong_system = ok(fhir.get("Observation", patient=pk, code=f"{LOINC}|pain_nrs.current"))
    assert wrong_system["total"] == 0


@pytest.mark.django_db
def test_code_search_on_condition(course: Course, fhir: Fhir) -> None:
    found = ok(fhir.get("Condition", code="http://snomed.info/sct|239873007"))
    assert ids(found) == [f"intake-{course.intake.pk}"]
    assert ok(fhir.get("Condition", code="http://snomed.info/sct|30989003"))["total"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("eq", [1]),
        ("lt", [0]),
        ("le", [0, 1]),
        ("gt", [2]),
        ("ge", [1, 2]),
        ("ne", [0, 2]),
        ("sa", [2]),
        ("eb", [0]),
        ("", [1]),
    ],
)
def test_date_prefixes_on_procedures(
    course: Course, fhir: Fhir, prefix: str, expected: list[int]
) -> None:
    day = course.sessions[1].session_date.isoformat()
    found = ok(fhir.get("Procedure", patient=course.patient.pk, date=f"{prefix}{day}"))
    assert ids(found) == [f"session-{course.sessions[i].pk}" for i in expected]


@pytest.mark.django_db
def test_date_range_with_two_parameters_and_month_precision(course: Course, fhir: Fhir) -> None:
    client = fhir.client
    first, last = course.sessions[0].session_date, course.sessions[-1].session_date
    response = client.get(
        "/fhir/Procedure",
        {"date": [f"gt{first.isoformat()}", f"lt{last.isoformat()}"]},
        headers=fhir.headers(),
    )
    assert ids(ok(response)) == [f"session-{course.sessions[1].pk}"]
    month = ok(fhir.get("Observation", date=INTAKE_DAY.strftime("%Y-%m")))
    assert month["total"] > 0
    assert all(
        e["resource"]["effectiveDateTime"].startswith("2026-01") for e in month.get("entry", [])
    )


@pytest.mark.django_db
def test_id_search(course: Course, fhir: Fhir) -> None:
    wanted = [f"session-{course.sessions[0].pk}", f"session-{course.sessions[2].pk}"]
    assert ids(ok(fhir.get("Procedure", _id=",".join(wanted)))) == wanted


@pytest.mark.django_db
def test_paging_links_walk_the_whole_result(course: Course, fhir: Fhir) -> None:
    first = ok(fhir.get("Observation", patient=course.patient.pk, _count=5))
    total = first["total"]
    assert total > 10
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "self" in links
    assert "previous" not in links
    seen = ids(first)
    url = links.get("next")
    while url:
        page = ok(fhir.client.get(url, headers=fhir.headers()))
        assert page["total"] == total
        relations = {link["relation"]: link["url"] for link in page["link"]}
        assert "previous" in relations
        seen += ids(page)
        url = relations.get("next")
    assert len(seen) == total
    assert len(set(seen)) == total


@pytest.mark.django_db
def test_entries_have_absolute_full_urls(course: Course, fhir: Fhir) -> None:
    entry = ok(fhir.get("Procedure", _count=1))["entry"][0]
    assert entry["fullUrl"] == f"http://testserver/fhir/Procedure/{entry['resource']['id']}"
    assert entry["search"] == {"mode": "match"}


@pytest.mark.django_db
def test_voided_records_are_not_served(course: Course, alice: User, fhir: Fhir) -> None:
    session = course.sessions[0]
    session.void(alice, "entered in error")
    assert f"session-{session.pk}" not in ids(ok(fhir.get("Procedure")))
    outcome(fhir.get(f"Procedure/session-{session.pk}"), 404)


@pytest.mark.django_db
def test_voided_patient_and_records_are_not_served(course: Course, alice: User, fhir: Fhir) -> None:
    course.patient.void(alice, "duplicate registration")
    outcome(fhir.get(f"Patient/{course.patient.pk}"), 404)
    assert ok(fhir.get("Observation"))["total"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"name": "x"},
        {"date": "yesterday"},
        {"date": "eq2026-13-01"},
        {"date": "\u0662\u0660\u0662\u0666"},  # 2026 in Arabic-Indic digits
        {"_count": "-1"},
    ],
)
def test_bad_search_parameters_are_400(patient: Patient, fhir: Fhir, params: Any) -> None:
    outcome(fhir.get("Procedure", **params), 400)


LONG_DIGITS = "9" * 5000
"""More digits than Python reads as an int (4,300): once a 500 wherever an id was parsed."""


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["_count", "_offset"])
@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "\uff15"])
def test_a_page_number_in_other_scripts_digits_is_400_naming_the_parameter(
    patient: Patient, fhir: Fhir, name: str, value: str
) -> None:
    """'²' passes str.isdigit() but not int() (a 500); Arabic-Indic and fullwidth digits were
    read as 3 and 5."""
    (issue,) = outcome(fhir.get("Observation", **{name: value}), 400)
    assert issue["expression"] == [name]
    assert "whole number" in issue["diagnostics"]


@pytest.mark.django_db
def test_a_page_size_of_thousands_of_digits_is_held_at_the_largest_page(
    course: Course, fhir: Fhir
) -> None:
    bundle = ok(fhir.get("Observation", _count=LONG_DIGITS))
    assert len(bundle["entry"]) == bundle["total"] > 0
    assert "_count=500" in bundle["link"][0]["url"]


@pytest.mark.django_db
def test_an_offset_of_thousands_of_digits_is_an_empty_page_past_the_end(
    course: Course, fhir: Fhir
) -> None:
    bundle = ok(fhir.get("Observation", _offset=LONG_DIGITS))
    assert bundle["total"] > 0
    assert "entry" not in bundle


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [
        ("Observation", "patient", "\u00b2"),
        ("Observation", "patient", "Patient/\u00b2"),
        ("Observation", "patient", LONG_DIGITS),
        ("Procedure", "patient", "1,\u00b2"),
        ("AdverseEvent", "subject", "Patient/\u00b2"),
    ],
)
def test_a_patient_reference_that_is_no_fhir_id_is_400_naming_the_parameter(
    patient: Patient, fhir: Fhir, kind: str, name: str, value: str
) -> None:
    """A FHIR id is at most 64 ASCII letters, digits, '-' and '.' (R4 2.24.0.1 id)."""
    (issue,) = outcome(fhir.get(kind, **{name: value}), 400)
    assert issue["expression"] == [name]
    assert "not a FHIR id" in issue["diagnostics"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("Patient", "\u00b2"),
        ("Patient", LONG_DIGITS),
        ("Patient", str(2**63)),
        ("Procedure", "session-\u00b2"),
        ("Observation", "meas-\u00b2-current"),
        ("Observation", f"meas-{LONG_DIGITS}-current"),
    ],
)
def test_an_id_no_stored_row_can_have_matches_nothing(
    course: Course, fhir: Fhir, kind: str, value: str
) -> None:
    """Other scripts' digits and numbers beyond BIGINT name no row: an unknown id's answer."""
    assert ok(fhir.get(kind, _id=value))["total"] == 0


@pytest.mark.django_db
def test_date_is_not_a_patient_parameter(patient: Patient, fhir: Fhir) -> None:
    outcome(fhir.get("Patient", date="2026"), 400)


# --- POST QuestionnaireResponse ------------------------------------------------------------------


def pain_response(patient_ref: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "urn:acuknee:questionnaire:pain_nrs",
        "status": "completed",
        "subject": {"reference": patient_ref},
        "authored": "2026-03-02T09:30:00Z",
        "item": [
            {"linkId": "current", "answer": [{"valueInteger": 3}]},
            {"linkId": "average_last_week", "answer": [{"valueInteger": 4}]},
            {"linkId": "worst_last_week", "answer": [{"valueInteger": 6}]},
        ],
    }
    data.update(changes)
    return data


def post(client: Fhir, data: Any, content_type: str = FHIR_JSON) -> Any:
    return client.post("QuestionnaireResponse", json.dumps(data), content_type)


@pytest.mark.django_db
def test_posted_response_is_scored_stored_and_readable(patient: Patient, fhir: Fhir) -> None:
    response = post(fhir, pain_response(f"Patient/{patient.pk}"))
    created = ok(response, 201)
    stored = Measurement.objects.get(patient=patient)
    assert stored.origin == "self_report"
    assert stored.measured_on == dt.date(2026, 3, 2)
    assert stored.scores["subscales"]["current"]["value"] == 3
    assert created["id"] == f"meas-{stored.pk}"
    assert response["Location"] == f"http://testserver/fhir/QuestionnaireResponse/{created['id']}"
    assert ok(fhir.client.get(response["Location"], headers=fhir.headers())) == created
    observations = ok(fhir.get("Observation", patient=patient.pk))
    assert observations["total"] == 3


@pytest.mark.django_db
def test_posted_response_shows_on_the_patient_page(
    patient: Patient, alice: User, fhir: Fhir
) -> None:
    ok(post(fhir, pain_response(f"Patient/{patient.pk}")), 201)
    stored = Measurement.objects.get(patient=patient)
    page = login(alice).get(reverse("outcomes-section", args=[patient.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("measurement-detail", args=[patient.pk, stored.pk]) in html
    assert "Patient self-report" in html


@pytest.mark.django_db
def test_plain_json_content_type_is_accepted(patient: Patient, fhir: Fhir) -> None:
    ok(post(fhir, pain_response(f"Patient/{patient.pk}"), "application/json"), 201)


@pytest.mark.django_db
def test_wrong_content_type_is_415(patient: Patient, fhir: Fhir) -> None:
    outcome(post(fhir, pain_response(f"Patient/{patient.pk}"), "text/plain"), 415)
    assert not Measurement.objects.exists()


@pytest.mark.django_db
def test_invalid_json_is_400(patient: Patient, fhir: Fhir) -> None:
    outcome(fhir.post("QuestionnaireResponse", "{not json", FHIR_JSON), 400)


@pytest.mark.django_db
def test_oversized_body_is_413(patient: Patient, fhir: Fhir) -> None:
    big = pain_response(f"Patient/{patient.pk}", text={"status": "generated", "div": "x" * 2**21})
    outcome(post(fhir, big), 413)


@pytest.mark.django_db
def test_structurally_invalid_resource_is_422(patient: Patient, fhir: Fhir) -> None:
    issues = outcome(post(fhir, pain_response(f"Patient/{patient.pk}", status=42)), 422)
    assert any("status" in " ".join(i.get("expression", [])) for i in issues)


@pytest.mark.django_db
def test_answer_out_of_range_is_422_naming_the_item(patient: Patient, fhir: Fhir) -> None:
    data = pain_response(f"Patient/{patient.pk}")
    data["item"][0]["answer"] = [{"valueInteger": 11}]
    issues = outcome(post(fhir, data), 422)
    assert ["pain_nrs.current"] in [i.get("expression") for i in issues]
    assert not Measurement.objects.exists()


@pytest.mark.django_db
def test_unfinished_response_is_422(patient: Patient, fhir: Fhir) -> None:
    outcome(post(fhir, pain_response(f"Patient/{patient.pk}", status="in-progress")), 422)


@pytest.mark.django_db
def test_examination_instrument_is_not_a_self_report(patient: Patient, fhir: Fhir) -> None:
    data = pain_response(
        f"Patient/{patient.pk}",
        questionnaire="urn:acuknee:questionnaire:timed_up_and_go",
        item=[{"linkId": "time_s", "answer": [{"valueDecimal": 9.5}]}],
    )
    outcome(post(fhir, data), 422)


@pytest.mark.django_db
def test_response_for_other_clinics_patient_is_refused(
    patient: Patient, carol: User, southside: Any
) -> None:
    outcome(post(fhir_for(carol), pain_response(f"Patient/{patient.pk}")), 422)
    assert not Measurement.objects.exists()


@pytest.mark.django_db
def test_front_desk_cannot_post_responses(patient: Patient, dana: User) -> None:
    outcome(post(fhir_for(dana), pain_response(f"Patient/{patient.pk}")), 403)


@pytest.mark.django_db
def test_posting_without_token_is_401(patient: Patient) -> None:
    outcome(post(Fhir(), pain_response(f"Patient/{patient.pk}")), 401)


@pytest.mark.django_db
def test_other_resources_cannot_be_created(patient: Patient, fhir: Fhir) -> None:
    body = json.dumps({"resourceType": "Patient"})
    outcome(fhir.post("Patient", body, FHIR_JSON), 405)


ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x660 + d) for d in range(10)))


@pytest.mark.django_db
@pytest.mark.parametrize("script", ["superscript", "arabic-indic"])
def test_a_response_whose_subject_id_is_in_other_digits_is_422_naming_the_subject(
    patient: Patient, fhir: Fhir, script: str
) -> None:
    """'²' was a 500; the patient's own id in Arabic-Indic digits was read by int() and stored."""
    digits = "\u00b2" if script == "superscript" else str(patient.pk).translate(ARABIC_INDIC)
    (issue,) = outcome(post(fhir, pain_response(f"Patient/{digits}")), 422)
    assert issue["expression"] == ["QuestionnaireResponse.subject"]
    assert not Measurement.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("written", ["5,000 nines", "2**63", "own id after a zero"])
def test_a_response_for_a_patient_id_no_row_can_have_is_the_unknown_patient_answer(
    patient: Patient, fhir: Fhir, written: str
) -> None:
    """5,000 digits was a 500; ids compare as text, so Patient/07 is not Patient/7 (once read
    as the patient with id 7)."""
    digits = {"5,000 nines": LONG_DIGITS, "2**63": str(2**63)}.get(written, f"0{patient.pk}")
    (issue,) = outcome(post(fhir, pain_response(f"Patient/{digits}")), 422)
    assert issue["code"] == "not-found"
    assert issue["expression"] == ["QuestionnaireResponse.subject"]
    assert not Measurement.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("authored", ["2026", "2026-03"])
def test_a_response_authored_as_a_year_or_month_is_422_asking_for_the_day(
    patient: Patient, fhir: Fhir, authored: str
) -> None:
    """Valid FHIR dateTimes, but a measurement is dated to the day: none is invented."""
    (issue,) = outcome(post(fhir, pain_response(f"Patient/{patient.pk}", authored=authored)), 422)
    assert issue["expression"] == ["QuestionnaireResponse.authored"]
    assert "full date" in issue["diagnostics"]
    assert not Measurement.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("authored", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_a_response_authored_past_the_calendars_ends_in_clinic_time_is_422(
    patient: Patient, fhir: Fhir, authored: str
) -> None:
    (issue,) = outcome(post(fhir, pain_response(f"Patient/{patient.pk}", authored=authored)), 422)
    assert issue["expression"] == ["QuestionnaireResponse.authored"]
    assert not Measurement.objects.exists()


# --- a real client -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fhirpy_reads_patients_and_observations(
    live_server: Any, patient: Patient, alice: User
) -> None:
    """fhirpy's sync client, over HTTP, with a Bearer token."""
    from fhirpy import SyncFHIRClient

    build_course(patient, alice)
    token = fhir_for(alice).token
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token}")
    patients = client.resources("Patient").fetch_all()
    assert [p["id"] for p in patients] == [str(patient.pk)]
    assert patients[0]["name"][0]["family"] == "Synthetic"
    observations = (
        client.resources("Observation").search(patient=str(patient.pk)).limit(7).fetch_all()
    )
    expected = Fhir(token).get("Observation", patient=patient.pk).json()["total"]
    assert len(observations) == expected
    assert all(o["subject"]["reference"] == f"Patient/{patient.pk}" for o in observations)
    pain = client.resources("Observation").search(code="pain_nrs.current").fetch()
    assert {o["valueQuantity"]["unit"] for o in pain} == {"points (0-10)"}


@pytest.mark.django_db
def test_unmappable_stored_records_are_left_out_of_a_search_as_outcome_entries(
    course: Course, fhir: Fhir
) -> None:
    """Not a 500 for the whole page (issue 13): each record is an OperationOutcome entry."""
    Measurement.objects.filter(patient=course.patient).update(instrument="no_such_instrument")
    bundle = ok(fhir.get("Observation"))
    entries = bundle["entry"]
    assert {e["search"]["mode"] for e in entries} == {"outcome"}
    assert {e["resource"]["resourceType"] for e in entries} == {"OperationOutcome"}
    assert len(entries) == Measurement.objects.filter(patient=course.patient).count()
