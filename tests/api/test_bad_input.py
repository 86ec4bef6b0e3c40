"""Bad requests get a 4xx in the one error shape: wrong content type, unparsable or oversized
bodies, wrong shapes. (Issue 4, section 4.)"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.models import User

from acuknee.records.models import Patient
from tests.api.conftest import api_for, assert_error_shape
from tests.api.test_writes import NEW_PATIENT


def test_a_body_that_is_not_json_is_415(alice: User, patient: Patient) -> None:
    api = api_for(alice)
    form = api.post("/patients", raw="given_name=Cleo", content_type="text/plain")
    assert_error_shape(form, 415, None)
    encoded = api.post(
        "/patients", raw=json.dumps(NEW_PATIENT), content_type="application/x-www-form-urlencoded"
    )
    assert_error_shape(encoded, 415, None)
    assert Patient.objects.count() == 1


def test_malformed_json_is_400(alice: User, patient: Patient) -> None:
    assert_error_shape(api_for(alice).post("/patients", raw="{not json"), 400, None)


def test_json_of_the_wrong_shape_is_422(alice: User, patient: Patient) -> None:
    assert_error_shape(api_for(alice).post("/patients", raw="[1, 2, 3]"), 422)
    assert_error_shape(api_for(alice).post("/patients", raw=""), 422)


def test_an_oversized_body_is_413(alice: User, patient: Patient) -> None:
    huge = {**NEW_PATIENT, "given_name": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    response = api_for(alice).post("/patients", huge)
    assert_error_shape(response, 413, None)
    assert Patient.objects.count() == 1


def test_an_oversized_body_from_an_anonymous_caller_is_401(patient: Patient) -> None:
    from tests.api.conftest import Api

    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    assert_error_shape(Api().post("/patients", raw=big), 401, None)


def test_a_wrong_path_parameter_type_is_422(alice: User) -> None:
    assert_error_shape(api_for(alice).get("/patients/abc"), 422)
