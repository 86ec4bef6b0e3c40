"""A value reads the same on every page: the 40 m walk speed on the measurement page, the
outcomes page and the chart's text alternative."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.demo import record_measurement
from acuknee.records.models import Patient

from .conftest import login

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 1)


def walk(patient: Patient, alice: User) -> int:
    """A 40 m walk in 32 s: 1.25 m/s, which one decimal would show as 1.2 or 1.3."""
    return record_measurement(patient, "walk_40m", {"time_s": 32}, DAY, alice).pk


def test_the_walk_speed_shows_two_decimals_on_the_measurement_page(
    alice: User, patient: Patient
) -> None:
    pk = walk(patient, alice)
    page = login(alice).get(reverse("measurement-detail", args=[patient.pk, pk])).content
    assert b"<td>1.25</td>" in page


def test_the_walk_speed_shows_the_same_value_on_the_outcomes_page(
    alice: User, patient: Patient
) -> None:
    walk(patient, alice)
    page = login(alice).get(reverse("patient-outcomes", args=[patient.pk])).content.decode()
    assert "1.25" in page
    assert ">1.2<" not in page
