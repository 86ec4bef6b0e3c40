"""The course's appointments: a booked time of day for the signed plan's visits, in the clinic's
time zone, the calendar file with timed appointments (all-day only while nothing is booked),
and the front desk booking and downloading it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from acuknee.care import errors, services
from acuknee.clinical import Plan
from acuknee.records.models import Patient, PlanRecord

from .conftest import login
from .test_sessions import sign_plan

pytestmark = pytest.mark.django_db

LONDON = "Europe/London"  # summer time from 29 March 2026: the offset changes mid-course


@pytest.fixture
def signed(patient: Patient, alice: User) -> PlanRecord:
    patient.clinic.time_zone = LONDON
    patient.clinic.save()
    return sign_plan(patient, alice)


def events(response: object) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(response.content)  # type: ignore[attr-defined]
    return list(calendar.walk("VEVENT"))


def book(user: User, patient: Patient, record: PlanRecord, **data: str) -> object:
    url = reverse("visit-time", args=[patient.pk])
    return login(user).post(url, {"version": str(record.version), **data})


def test_front_desk_books_the_visit_time(patient: Patient, dana: User, signed: PlanRecord) -> None:
    response = book(dana, patient, signed, visit_time="09:30", visit_minutes="45")
    assert response.status_code == 302  # type: ignore[attr-defined]
    signed.refresh_from_db()
    assert (signed.visit_time, signed.visit_minutes) == (dt.time(9, 30), 45)


def test_front_desk_downloads_the_schedule(
    patient: Patient, dana: User, signed: PlanRecord
) -> None:
    response = login(dana).get(reverse("schedule-ics", args=[patient.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")


def test_booked_visits_are_appointments_at_the_local_time_across_a_clock_change(
    patient: Patient, dana: User, signed: PlanRecord
) -> None:
    book(dana, patient, signed, visit_time="09:30", visit_minutes="45")
    got = events(login(dana).get(reverse("schedule-ics", args=[patient.pk])))
    schedule = Plan.model_validate(signed.content).schedule
    assert len(got) == len(schedule)
    for event, visit in zip(got, schedule, strict=True):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert isinstance(start, dt.datetime)  # an appointment, not an all-day date
        assert start.date() == visit.date
        assert (start.hour, start.minute) == (9, 30)
        assert start.tzinfo is not None
        assert str(start.tzinfo) == LONDON
        assert end - start == dt.timedelta(minutes=45)
        assert str(event["TRANSP"]) == "OPAQUE"
    offsets = {event.decoded("DTSTART").utcoffset() for event in got}
    assert offsets == {dt.timedelta(0), dt.timedelta(hours=1)}  # winter and summer time
    assert b"BEGIN:VTIMEZONE" in login(dana).get(reverse("schedule-ics", args=[patient.pk])).content


def test_an_unbooked_schedule_is_all_day_and_says_so(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    got = events(login(alice).get(reverse("schedule-ics", args=[patient.pk])))
    assert all(type(e.decoded("DTSTART")) is dt.date for e in got)
    assert all(str(e["SUMMARY"]).endswith("(time to be booked)") for e in got)


def test_front_desk_sees_the_appointments_on_the_patient_page(
    patient: Patient, dana: User, signed: PlanRecord
) -> None:
    page = login(dana).get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert 'id="appointments"' in page
    assert "Download the schedule (.ics)" in page
    assert "Open session" not in page  # no clinical record for the front desk


def test_a_time_without_a_length_is_refused(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    with pytest.raises(errors.InvalidRecord, match="how long"):
        services.book_visit_time(signed, at=dt.time(9), minutes=None, version=signed.version)


def test_a_booking_from_a_stale_page_is_refused(
    patient: Patient, alice: User, signed: PlanRecord
) -> None:
    opened = signed.version
    services.book_visit_time(signed, at=dt.time(9), minutes=30, version=opened)
    with pytest.raises(errors.StaleEdit):
        services.book_visit_time(signed, at=dt.time(10), minutes=30, version=opened)


def test_the_clinic_zone_defaults_to_the_sites(patient: Patient) -> None:
    assert patient.clinic.time_zone == ""
    assert patient.clinic.zone == ZoneInfo("UTC")
