"""What /fhir serves is, byte for byte, what the validated mappings make, yet no validation model
is built to serve it.

Every served type is built on the read path (search pages and reads by id) as plain JSON:
Patients, QuestionnaireResponses and Observations of a search page by ``acuknee.fhir.bulk``'s
builders, everything else by the mappings' ``*_data`` functions. The validation moves here: over
a course with every served type recorded, each page is the JSON the validated ``*_resource``
mappings make of the same records (the read path run with each ``*_data`` swapped for its
validated form), and passes fhir.resources; and a search or a read, through the HTTP view, builds
no fhir.resources model at all. The offline validators (FHIR.js and Medplum) read these same
search pages in tests/fhir/test_validators.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from acuknee import demo, fhir
from acuknee.api.fhir_api import resources
from acuknee.api.fhir_api.resources import RESOURCE_TYPES, Scope
from acuknee.api.fhir_api.search import search_page
from acuknee.clinical import Intake
from acuknee.records.models import Measurement, Patient
from tests.fhir.server_course import build_course, fhir_for
from tests.pages import conftest as personas

alice, northside, patient = personas.alice, personas.northside, personas.patient
SERVED = tuple(RESOURCE_TYPES)
VALIDATED: dict[str, Callable[..., Any]] = {
    "patient_data": fhir.patient_resource,
    "condition_data": fhir.condition_resource,
    "flag_data": fhir.flag_resource,
    "service_request_data": fhir.service_request_resource,
    "care_plan_data": fhir.care_plan_resource,
    "procedure_data": fhir.procedure_resource,
    "adverse_event_data": fhir.adverse_event_resources,
    "questionnaire_response_data": fhir.questionnaire_response_resource,
    "observation_data": fhir.observation_resources,
    "questionnaire_data": fhir.questionnaire_resource,
}
"""Each mapping the read path calls, and its validated form."""
SCREENED: dict[str, Any] = {
    "side": "left",
    "duration_weeks": 2,
    "red_flags": {"hot_swollen_knee": True, "fever": True},
    "health": {"anticoagulant": "warfarin"},
}
"""An intake whose screening finds a precaution (a Flag) and asks for a referral."""


def _text(resources: list[dict[str, Any]]) -> str:
    """The JSON the server writes (``json.dumps``): key order included."""
    return json.dumps(resources)


def _page(user: User, kind: str) -> list[dict[str, Any]]:
    request = RequestFactory().get(f"/fhir/{kind}")
    request.user = user
    found = search_page(request, RESOURCE_TYPES[kind], 0, 500)
    assert not found.unmapped
    assert len(found.page) == found.total
    return found.page


def _dumped(resource: Any) -> Any:
    if isinstance(resource, list):
        return [_dumped(r) for r in resource]
    return resource.model_dump(mode="json", exclude_none=True)


def _validated(user: User, kind: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the validated mappings make of the same records: the read path with each ``*_data``
    it calls swapped for its ``*_resource`` form, dumped as fhir.resources dumps it."""
    called = {name for name in vars(resources) if name.endswith("_data")}
    assert called == set(VALIDATED), "a mapping the read path calls has no validated form here"
    for name, validated in VALIDATED.items():
        monkeypatch.setattr(resources, name, lambda *a, _v=validated, **k: _dumped(_v(*a, **k)))
    request = RequestFactory().get(f"/fhir/{kind}")
    request.user = user
    built = RESOURCE_TYPES[kind].source(Scope(request))
    monkeypatch.undo()
    return built


@pytest.fixture
def course(patient: Patient, alice: User) -> Patient:
    """A full course and an intake with a safety finding and a referral: every served type."""
    build_course(patient, alice)
    screened = Intake.model_validate(
        {"age": patient.age_on(dt.date(2026, 3, 2)), "sex": patient.sex, **SCREENED}
    )
    demo.record_intake(patient, screened, dt.date(2026, 3, 2), alice)
    return patient


@pytest.mark.django_db
@pytest.mark.parametrize("kind", SERVED)
def test_a_search_page_is_the_validated_mappings_json_byte_for_byte(
    course: Patient, alice: User, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _page(alice, kind)
    assert page, f"the course has no {kind}"
    assert _text(page) == _text(_validated(alice, kind, monkeypatch))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", SERVED)
def test_every_resource_a_search_page_builds_passes_fhir_resources_unchanged(
    course: Patient, alice: User, kind: str
) -> None:
    model = get_fhir_model_class(kind)
    page = _page(alice, kind)
    assert page
    for resource in page:
        assert _text([_dumped(model.model_validate(resource))]) == _text([resource])


@pytest.fixture
def no_validation_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way of building a fhir.resources model made to fail, and each attempt listed (a
    failure inside a search is caught and served as an unmapped record: the list still says)."""
    attempts: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise AssertionError(f"a validation model was built ({name}) on the read path")

        return refused

    monkeypatch.setattr(FHIRAbstractModel, "__init__", refuse("__init__"))
    for method in ("model_validate", "model_validate_json", "model_construct"):
        monkeypatch.setattr(FHIRAbstractModel, method, classmethod(refuse(method)))
    return attempts


@pytest.mark.django_db
@pytest.mark.parametrize("kind", SERVED)
def test_a_search_and_a_read_build_no_validation_model(
    course: Patient, alice: User, kind: str, no_validation_model: list[str]
) -> None:
    """Through the HTTP views (the searchset Bundle included): every resource of the page, and
    each one read by id, the same JSON either way."""
    client = fhir_for(alice)
    response = client.get(kind, _count=500)
    assert response.status_code == 200, response.content
    bundle = response.json()
    entries = bundle.get("entry", [])
    assert entries, f"the course has no {kind}"
    assert [e["search"]["mode"] for e in entries] == ["match"] * len(entries)
    for entry in entries:
        resource = entry["resource"]
        read = client.get(f"{kind}/{resource['id']}")
        assert read.status_code == 200, read.content
        assert _text([read.json()]) == _text([resource])
    assert no_validation_model == []


def test_the_refusal_catches_a_validation_model(no_validation_model: list[str]) -> None:
    """The guard above can fail: building a resource the validated way is caught."""
    with pytest.raises(AssertionError, match="validation model"):
        fhir.questionnaire_resource("koos")
    assert no_validation_model == ["model_validate"]


@pytest.mark.django_db
def test_observations_of_rows_rendered_under_an_older_mapping_are_still_counted_and_served(
    course: Patient, alice: User
) -> None:
    """The page and total come from the stored Observation counts of current rows; a row
    rendered under another mapping version has its scores read instead, with the same answer."""
    fresh = [_page(alice, "Observation")]
    stale = Measurement.objects.filter(patient=course).order_by("pk").first()
    assert stale is not None
    Measurement.objects.filter(pk=stale.pk).update(fhir_version="older", fhir_observation_count=0)
    request = RequestFactory().get("/fhir/Observation")
    request.user = alice
    for offset, count in ((0, 500), (1, 2), (3, 4)):
        found = search_page(request, RESOURCE_TYPES["Observation"], offset, count)
        assert found.total == len(fresh[0])
        assert found.page == fresh[0][offset : offset + count]
