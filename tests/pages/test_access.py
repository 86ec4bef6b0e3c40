"""Access control: login, staff profile, role, and a patient scoped to the user's clinic.

A clinical stub view (the default roles of ``clinic_view``) stands in for the clinical pages, so
the matrix is tested here whatever the other slices have built.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path, reverse

from acuknee.accounts.access import CLINICAL_ROLES, SCHEDULING_ROLES, clinic_view
from acuknee.records.models import Patient, Role

from .conftest import login


@clinic_view()
def clinical_stub(request: HttpRequest, patient: Patient) -> HttpResponse:
    return HttpResponse(f"clinical notes of {patient.record_number}")


@clinic_view(roles=SCHEDULING_ROLES)
def scheduling_stub(request: HttpRequest) -> HttpResponse:
    return HttpResponse("schedule")


urlpatterns = [
    path("", include("acuknee.pages.urls")),
    path("stub/clinical/<int:patient_id>/", clinical_stub, name="clinical-stub"),
    path("stub/scheduling/", scheduling_stub, name="scheduling-stub"),
]

pytestmark = [pytest.mark.urls("tests.pages.test_access"), pytest.mark.django_db]


def _clinical(patient: Patient) -> str:
    return reverse("clinical-stub", kwargs={"patient_id": patient.pk})


def _detail(patient: Patient) -> str:
    return reverse("patient-detail", kwargs={"patient_id": patient.pk})


def test_role_sets_separate_clinical_from_scheduling_staff() -> None:
    assert {Role.PRACTITIONER, Role.CLINIC_ADMIN} == CLINICAL_ROLES
    assert CLINICAL_ROLES | {Role.FRONT_DESK} == SCHEDULING_ROLES
    assert Role.RESEARCHER not in SCHEDULING_ROLES


def test_treating_practitioner_opens_her_clinics_patient(alice: User, patient: Patient) -> None:
    response = login(alice).get(_clinical(patient))
    assert response.status_code == 200
    assert b"clinical notes of N-0001" in response.content


def test_colleague_and_admin_of_the_same_clinic_open_clinical_pages(
    bob: User, erin: User, patient: Patient
) -> None:
    assert login(bob).get(_clinical(patient)).status_code == 200
    assert login(erin).get(_clinical(patient)).status_code == 200


def test_other_clinics_practitioner_gets_404_not_403(carol: User, patient: Patient) -> None:
    assert login(carol).get(_clinical(patient)).status_code == 404
    assert login(carol).get(_detail(patient)).status_code == 404


def test_unknown_patient_id_is_404(alice: User, patient: Patient) -> None:
    url = reverse("clinical-stub", kwargs={"patient_id": patient.pk + 1000})
    assert login(alice).get(url).status_code == 404


def test_front_desk_sees_header_but_not_clinical_pages(dana: User, patient: Patient) -> None:
    client = login(dana)
    assert client.get(_detail(patient)).status_code == 200
    assert client.get(_clinical(patient)).status_code == 403
    assert client.get(reverse("scheduling-stub")).status_code == 200


def test_researcher_gets_403_on_patient_pages(rex: User, patient: Patient) -> None:
    client = login(rex)
    assert client.get(reverse("patient-list")).status_code == 403
    assert client.get(_detail(patient)).status_code == 403
    assert client.get(_clinical(patient)).status_code == 403


def test_anonymous_is_redirected_to_login(patient: Patient) -> None:
    response = Client().get(_clinical(patient))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=" in response["Location"]


def test_user_without_staff_profile_gets_403(db: Any, patient: Patient) -> None:
    stranger = User.objects.create_user(username="stranger", password="x" * 20)
    assert login(stranger).get(reverse("patient-list")).status_code == 403
    assert login(stranger).get(_clinical(patient)).status_code == 403


def test_roles_accept_a_custom_set_and_a_view_without_patient_needs_no_clinic(
    rex: User, alice: User
) -> None:
    @clinic_view(roles={Role("researcher")})
    def aggregates(request: HttpRequest) -> HttpResponse:
        return HttpResponse("aggregates")

    request = RequestFactory().get("/")
    request.user = rex
    assert aggregates(request).status_code == 200
    request.user = alice
    with pytest.raises(PermissionDenied):
        aggregates(request)
