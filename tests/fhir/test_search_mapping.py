"""The resources a /fhir search page builds without fhir.resources are the validated mapping's.

``search_page`` builds Patients, QuestionnaireResponses and Observations as plain dicts
(``acuknee.fhir.bulk``'s builders) on the read path, so no validation model is made per resource.
The validation moves here: each dict-built type, over a course with every instrument recorded,
is the resource the validated mapping (``patient_json``, ``questionnaire_response_json``,
``observation_jsons``) makes, and passes fhir.resources. The offline validators (FHIR.js and
Medplum) read these same search pages in tests/fhir/test_validators.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from fhir.resources.R4B import get_fhir_model_class

from acuknee.api.fhir_api.resources import (
    RESOURCE_TYPES,
    observation_jsons,
    patient_json,
    questionnaire_response_json,
)
from acuknee.api.fhir_api.search import search_page
from acuknee.fhir import observation as fhir_observation
from acuknee.fhir import patient as fhir_patient
from acuknee.fhir import questionnaire as fhir_questionnaire
from acuknee.records.models import Measurement, Patient
from tests.fhir.server_course import build_course
from tests.pages import conftest as personas

alice, northside, patient = personas.alice, personas.northside, personas.patient
DICT_TYPES = ("Patient", "QuestionnaireResponse", "Observation")


def _page(user: User, kind: str) -> list[dict[str, Any]]:
    request = RequestFactory().get(f"/fhir/{kind}")
    request.user = user
    found = search_page(request, RESOURCE_TYPES[kind], 0, 500)
    assert not found.unmapped
    assert len(found.page) == found.total
    return found.page


def _validated(kind: str, patients: list[Patient]) -> list[dict[str, Any]]:
    """What the validated mapping makes of the same records, in primary-key order."""
    if kind == "Patient":
        return [patient_json(p) for p in sorted(patients, key=lambda p: p.pk)]
    rows = Measurement.objects.filter(patient__in=patients).order_by("pk")
    if kind == "QuestionnaireResponse":
        return [questionnaire_response_json(m) for m in rows]
    return [o for m in rows for o in observation_jsons(m)]


@pytest.fixture
def course(patient: Patient, alice: User) -> Patient:
    build_course(patient, alice)
    return patient


@pytest.mark.django_db
@pytest.mark.parametrize("kind", DICT_TYPES)
def test_a_search_page_serves_the_validated_mappings_resources(
    course: Patient, alice: User, kind: str
) -> None:
    page = _page(alice, kind)
    assert page, f"the course has no {kind}"
    assert page == _validated(kind, [course])


@pytest.mark.django_db
@pytest.mark.parametrize("kind", DICT_TYPES)
def test_every_resource_a_search_page_builds_passes_fhir_resources(
    course: Patient, alice: User, kind: str
) -> None:
    model = get_fhir_model_class(kind)
    for resource in _page(alice, kind):
        dumped = model.model_validate(resource).model_dump(mode="json", exclude_none=True)
        assert dumped == resource


@pytest.mark.django_db
@pytest.mark.parametrize("kind", DICT_TYPES)
def test_a_search_page_builds_no_validation_model(
    course: Patient, alice: User, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read path never calls the mappings' fhir.resources validation (made to fail here)."""

    def refuse(*args: Any) -> Any:
        raise AssertionError("a validation model was built on the search path")

    for module in (fhir_observation, fhir_patient, fhir_questionnaire):
        monkeypatch.setattr(module, "validated", refuse)
    assert _page(alice, kind)


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
