"""Researchers land on network counts, never on patient records."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from acuknee.records.models import Patient

from .conftest import PASSWORD, login


def test_researcher_is_sent_to_the_research_page_after_sign_in(rex: User) -> None:
    response = login(rex).get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("research-home")


def test_practitioner_is_sent_to_the_worklist_after_sign_in(alice: User) -> None:
    response = login(alice).get(reverse("home"))
    assert response.url == reverse("worklist")


def test_front_desk_is_sent_to_the_patient_list_after_sign_in(dana: User) -> None:
    response = login(dana).get(reverse("home"))
    assert response.url == reverse("patient-list")


def sign_in(user: User, next_url: str) -> str:
    """Sign in through the form with ``next`` as a browser sends it; where it goes."""
    response = Client().post(
        reverse("login"), {"username": user.username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    return str(response.url)


def test_a_researcher_who_opened_the_site_root_lands_on_the_research_pages(rex: User) -> None:
    landed = sign_in(rex, "/")
    assert landed == reverse("home")
    assert login(rex).get(landed).url == reverse("research-home")


def test_sign_in_still_goes_to_a_next_page_the_role_may_open(alice: User) -> None:
    assert sign_in(alice, reverse("reference")) == reverse("reference")


def test_a_researcher_sees_no_patients_link_in_the_navigation(rex: User) -> None:
    page = login(rex).get(reverse("research-home")).content.decode()
    assert f'href="{reverse("patient-list")}"' not in page
    assert f'href="{reverse("research-home")}">Research</a>' in page


def test_research_page_suppresses_counts_below_five(rex: User, patient: Patient) -> None:
    page = login(rex).get(reverse("research-home")).content.decode()
    assert "Northside Clinic" in page
    assert "&lt;5" in page
    assert patient.family_name not in page
