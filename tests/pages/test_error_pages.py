"""403 and 404 pages keep the site's navigation and say what to do next."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from acuknee.records.models import Patient

from .conftest import login

NAV = '<nav aria-label="Main">'


def test_an_unknown_address_is_a_404_page_with_the_navigation(alice: User) -> None:
    response = login(alice).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert NAV in page
    assert f'<a href="{reverse("worklist")}">your worklist</a>' in page


def test_another_clinics_patient_is_a_404_that_offers_the_patient_search(
    carol: User, patient: Patient
) -> None:
    response = login(carol).get(reverse("patient-detail", args=[patient.pk]))
    assert response.status_code == 404
    page = response.content.decode()
    assert NAV in page
    assert "Search the patient list" in page
    assert patient.family_name not in page


def test_a_role_refused_page_is_a_403_that_names_the_role_and_the_way_back(dana: User) -> None:
    response = login(dana).get(reverse("worklist"))
    assert response.status_code == 403
    page = response.content.decode()
    assert NAV in page
    assert "(Front desk)" in page
    assert f'<a href="{reverse("patient-list")}">the patient list</a>' in page


def test_a_researcher_refused_the_patient_list_is_pointed_to_the_research_pages(
    rex: User,
) -> None:
    response = login(rex).get(reverse("patient-list"))
    assert response.status_code == 403
    assert f'<a href="{reverse("research-home")}">the research pages</a>' in (
        response.content.decode()
    )


def test_a_mistyped_questionnaire_link_tells_the_patient_what_to_do(db: object) -> None:
    response = Client().get(reverse("selfreport-fill", args=["not-a-token"]))
    assert response.status_code == 404
    assert "ask your clinic for a new one" in response.content.decode()


def test_the_api_keeps_its_own_404(alice: User) -> None:
    response = login(alice).get("/api/v1/no-such-resource/")
    assert response.status_code == 404
    assert NAV.encode() not in response.content
