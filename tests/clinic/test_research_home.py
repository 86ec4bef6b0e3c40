"""Researchers land on network counts, never on patient records."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.clinic.models import Patient

from .conftest import login


def test_researcher_is_sent_to_the_research_page_after_sign_in(rex: User) -> None:
    response = login(rex).get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("research-home")


def test_practitioner_is_sent_to_the_patient_list_after_sign_in(alice: User) -> None:
    response = login(alice).get(reverse("home"))
    assert response.url == reverse("patient-list")


def test_research_page_suppresses_counts_below_five(rex: User, patient: Patient) -> None:
    page = login(rex).get(reverse("research-home")).content.decode()
    assert "Northside Clinic" in page
    assert "&lt;5" in page
    assert patient.family_name not in page
