"""Personas for the clinic app's tests (healthchecks style).

- ``alice``: the treating practitioner at Northside Clinic; ``bob``: her colleague, same clinic;
- ``carol``: a practitioner at Southside Clinic (another clinic: must see nothing of Northside);
- ``dana``: front desk at Northside (no clinical notes); ``erin``: clinic admin at Northside;
- ``rex``: a researcher (aggregates only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from acuknee.records.models import Clinic, Patient, Role, StaffProfile

PASSWORD = "correct-horse-battery-staple"


def staff(username: str, clinic: Clinic | None, role: Role) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
    StaffProfile.objects.create(user=user, clinic=clinic, role=role)
    return user


def northside_clinic() -> Clinic:
    return Clinic.objects.create(name="Northside Clinic", slug="northside", region="North")


def southside_clinic() -> Clinic:
    return Clinic.objects.create(name="Southside Clinic", slug="southside", region="South")


def ada(northside: Clinic, alice: User) -> Patient:
    """A synthetic Northside patient."""
    return synthetic_patient(northside, alice, "N-0001", "Ada", dt.date(1960, 5, 17))


def synthetic_patient(
    clinic: Clinic, user: User, record_number: str, given_name: str, born: dt.date
) -> Patient:
    """A synthetic woman of ``clinic``, registered by ``user``."""
    return Patient.objects.create(
        clinic=clinic,
        record_number=record_number,
        given_name=given_name,
        family_name="Synthetic",
        date_of_birth=born,
        sex="female",
        synthetic=True,
        created_by=user,
    )


@pytest.fixture
def northside(db: Any) -> Clinic:
    return northside_clinic()


@pytest.fixture
def southside(db: Any) -> Clinic:
    return southside_clinic()


@pytest.fixture
def alice(northside: Clinic) -> User:
    return staff("alice", northside, Role.PRACTITIONER)


@pytest.fixture
def bob(northside: Clinic) -> User:
    return staff("bob", northside, Role.PRACTITIONER)


@pytest.fixture
def carol(southside: Clinic) -> User:
    return staff("carol", southside, Role.PRACTITIONER)


@pytest.fixture
def dana(northside: Clinic) -> User:
    return staff("dana", northside, Role.FRONT_DESK)


@pytest.fixture
def erin(northside: Clinic) -> User:
    return staff("erin", northside, Role.CLINIC_ADMIN)


@pytest.fixture
def other_patient(northside: Clinic, alice: User) -> Patient:
    """A second synthetic Northside patient."""
    return synthetic_patient(northside, alice, "N-0002", "Bea", dt.date(1955, 1, 2))


@pytest.fixture
def rex(db: Any) -> User:
    return staff("rex", None, Role.RESEARCHER)


@pytest.fixture
def patient(northside: Clinic, alice: User) -> Patient:
    """A synthetic Northside patient."""
    return ada(northside, alice)


def login(user: User) -> Client:
    """A client signed in as ``user``; a clinic admin has also passed the second factor
    (required for that role: see docs/security.md), as after a real sign-in."""
    client = Client()
    client.force_login(user)
    if StaffProfile.objects.filter(user=user, role=Role.CLINIC_ADMIN).exists():
        verify_second_factor(client, user)
    return client


def verify_second_factor(client: Client, user: User) -> None:
    """Mark the client's session as verified with the user's TOTP device (made if needed)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
