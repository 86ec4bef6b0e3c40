"""The audit log: what is recorded, that nothing can change it, and who may read and export it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from acuknee.audit.middleware import AuditMiddleware
from acuknee.audit.models import AuditEvent, AuditImmutable
from acuknee.records.models import ApiToken, Clinic, Patient, Role, StaffProfile
from tests.pages.conftest import PASSWORD, login

UA = "Mozilla/5.0 (audit test)"


@pytest.fixture
def sam(southside: Clinic) -> User:
    """The clinic admin of Southside (the other clinic)."""
    user = User.objects.create_user(username="sam", password=PASSWORD)
    StaffProfile.objects.create(user=user, clinic=southside, role=Role.CLINIC_ADMIN)
    return user


def events(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def export(client: Client, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/audit/export.csv{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(text)))


# --- what is recorded ----------------------------------------------------------------------------


def test_reading_a_patient_page_records_who_what_and_from_where(
    patient: Patient, alice: User
) -> None:
    client = login(alice)
    response = client.get(f"/patients/{patient.pk}/", REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT=UA)
    assert response.status_code == 200
    [event] = events(action="read")
    assert (event.user_id, event.username, event.role) == (alice.pk, "alice", "practitioner")
    assert event.clinic_id == patient.clinic_id
    assert (event.patient_id, event.object_type, event.object_id) == (
        patient.pk,
        "patient",
        str(patient.pk),
    )
    assert (event.ip, event.user_agent) == ("192.0.2.7", UA)
    assert (event.method, event.path, event.status) == ("GET", f"/patients/{patient.pk}/", 200)
    assert timezone.now() - event.at < dt.timedelta(minutes=1)


def test_a_write_records_its_action_and_outcome(patient: Patient, alice: User) -> None:
    _, secret = ApiToken.issue(alice, "tests")
    response = Client().post(
        f"/api/v1/patients/{patient.pk}/measurements",
        {"measured_on": "2025-03-01", "answers": {"pain_nrs": {"current": 4}}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201, response.content
    [event] = events(action="create")
    assert (event.username, event.patient_id, event.object_type) == (
        "alice",
        patient.pk,
        "patient",
    )
    assert (event.method, event.status) == ("POST", 201)


def test_voiding_a_patient_is_recorded_as_void(patient: Patient, alice: User) -> None:
    login(alice).post(
        f"/patients/{patient.pk}/void/", {"reason": "registered twice", "version": patient.version}
    )
    [event] = events(action="void")
    assert (event.patient_id, event.username) == (patient.pk, "alice")


def test_an_api_read_by_record_id_finds_the_patient(patient: Patient, alice: User) -> None:
    from acuknee.records.models import Measurement

    measurement = Measurement.objects.create(
        patient=patient,
        measured_on=dt.date(2025, 3, 1),
        instrument="pain_nrs",
        answers={"current": 4},
        scores={},
        created_by=alice,
    )
    _, secret = ApiToken.issue(alice, "tests")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    Client().get(f"/api/v1/measurements/{measurement.pk}", **auth)
    Client().get(f"/fhir/QuestionnaireResponse/meas-{measurement.pk}", **auth)
    api, fhir = events(action="read")
    assert (api.object_type, api.object_id, api.patient_id) == (
        "measurement",
        str(measurement.pk),
        patient.pk,
    )
    assert (fhir.object_type, fhir.patient_id, fhir.username) == (
        "QuestionnaireResponse",
        patient.pk,
        "alice",
    )


def test_an_api_list_narrowed_to_a_patient_is_attributed_to_them(
    patient: Patient, alice: User
) -> None:
    _, secret = ApiToken.issue(alice, "tests")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    Client().get(f"/api/v1/measurements?patient={patient.pk}", **auth)
    Client().get(f"/fhir/Observation?subject=Patient/{patient.pk}", **auth)
    Client().get("/api/v1/measurements", **auth)
    narrowed, searched, clinic_wide = events(action="read")
    assert (narrowed.object_type, narrowed.patient_id) == ("measurement", patient.pk)
    assert (searched.object_type, searched.patient_id) == ("Observation", patient.pk)
    assert (clinic_wide.patient_id, clinic_wide.username) == (None, "alice")


def test_another_clinics_record_id_is_not_attributed_to_its_patient(
    patient: Patient, carol: User
) -> None:
    from acuknee.records.models import Measurement

    measurement = Measurement.objects.create(
        patient=patient,
        measured_on=dt.date(2025, 3, 1),
        instrument="pain_nrs",
        answers={"current": 4},
        scores={},
    )
    _, secret = ApiToken.issue(carol, "tests")
    response = Client().get(
        f"/api/v1/measurements/{measurement.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 404
    [event] = events(action="read")
    assert (event.username, event.status, event.patient_id) == ("carol", 404, None)


def test_an_anonymous_visit_to_a_patient_page_is_recorded(patient: Patient) -> None:
    response = Client().get(f"/patients/{patient.pk}/")
    assert response.status_code == 302
    [event] = events()
    assert (event.user_id, event.username, event.patient_id, event.status) == (
        None,
        "",
        patient.pk,
        302,
    )


def test_a_self_report_link_is_attributed_to_its_patient_and_its_token_never_kept(
    patient: Patient, alice: User
) -> None:
    from acuknee.records.models import SelfReportLink

    link, token = SelfReportLink.issue(patient, alice, ["pain_nrs"], dt.timedelta(days=7))
    Client().get(f"/r/{token}/")
    [event] = events(object_type="self_report_link")
    assert (event.patient_id, event.user_id, event.status) == (patient.pk, None, 200)
    assert event.object_id == link.token_hash
    assert token not in event.path
    assert event.path == "/r/[secret]/"


def test_registering_a_patient_records_the_new_patients_id(dana: User) -> None:
    response = login(dana).post(
        "/patients/new/",
        {
            "record_number": "N-0099",
            "given_name": "Cy",
            "family_name": "Synthetic",
            "date_of_birth": "1970-01-01",
            "sex": "male",
        },
    )
    assert response.status_code == 302, response.content
    created = Patient.objects.get(record_number="N-0099")
    [event] = events(action="create")
    assert (event.username, event.role, event.patient_id) == ("dana", "front_desk", created.pk)


def test_pages_without_patient_data_are_not_recorded(alice: User) -> None:
    login(alice).get("/reference/")
    _, secret = ApiToken.issue(alice, "tests")
    Client().get("/api/v1/points", HTTP_AUTHORIZATION=f"Bearer {secret}")
    Client().get("/healthz/")
    assert events(action="read") == []


def test_sign_in_and_a_failed_sign_in_are_recorded(alice: User) -> None:
    client = Client()
    client.post("/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
    client.post("/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="192.0.2.9")
    failed, success = events(action__in=["login", "login_failed"])
    assert (failed.action, failed.username, failed.user_id, failed.ip) == (
        "login_failed",
        "alice",
        None,
        "192.0.2.9",
    )
    assert (success.action, success.user_id, success.clinic_id) == (
        "login",
        alice.pk,
        alice.staff.clinic_id,
    )


def test_a_read_that_crashes_is_still_recorded_with_its_status(patient: Patient) -> None:
    def crash(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("the view failed")

    request = RequestFactory().get(f"/patients/{patient.pk}/", REMOTE_ADDR="192.0.2.1")
    with pytest.raises(RuntimeError):
        AuditMiddleware(crash)(request)
    [event] = events()
    assert (event.action, event.patient_id, event.status) == ("read", patient.pk, 500)


def test_a_failed_write_is_rolled_back_and_its_attempt_recorded(
    patient: Patient, alice: User
) -> None:
    def half_write(request: HttpRequest) -> HttpResponse:
        Patient.objects.filter(pk=patient.pk).update(given_name="Half")
        return HttpResponse(status=500)

    request = RequestFactory().post(f"/patients/{patient.pk}/void/")
    request.user = alice
    response = AuditMiddleware(half_write)(request)
    assert response.status_code == 500
    patient.refresh_from_db()
    assert patient.given_name == "Ada"
    [event] = events()
    assert (event.action, event.status, event.username) == ("void", 500, "alice")


def test_a_write_runs_inside_the_audit_transaction(patient: Patient, alice: User) -> None:
    """The view's write and the audit row share one transaction: they commit together."""
    depth: list[int] = []

    def write(request: HttpRequest) -> HttpResponse:
        depth.append(len(connection.atomic_blocks))
        Patient.objects.filter(pk=patient.pk).update(given_name="Written")
        return HttpResponse(status=200)

    request = RequestFactory().post(f"/patients/{patient.pk}/void/")
    request.user = alice
    outside = len(connection.atomic_blocks)
    AuditMiddleware(write)(request)
    assert depth == [outside + 1]
    patient.refresh_from_db()
    assert patient.given_name == "Written"
    [event] = events()
    assert (event.action, event.status) == ("void", 200)


# --- append-only ---------------------------------------------------------------------------------


@pytest.fixture
def event(db: Any) -> AuditEvent:
    row = AuditEvent(action="read", username="alice", path="/patients/1/", status=200)
    row.save()
    return row


def test_saving_an_existing_event_again_is_refused(event: AuditEvent) -> None:
    event.status = 404
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.get(pk=event.pk).save(update_fields=["status"])


def test_deleting_an_event_is_refused(event: AuditEvent) -> None:
    with pytest.raises(AuditImmutable):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_and_delete_are_refused(event: AuditEvent) -> None:
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(status=404)
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.bulk_update([event], ["status"])
    assert AuditEvent.objects.get(pk=event.pk).status == 200


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET status = 404",
        "UPDATE audit_auditevent SET username = 'mallory' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
        "DELETE FROM audit_auditevent",
    ],
)
def test_raw_sql_cannot_change_or_remove_an_event(event: AuditEvent, sql: str) -> None:
    params = [event.pk] if "%s" in sql else []
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.username, row.status) == ("alice", 200)


@pytest.mark.django_db(transaction=True)
def test_flush_wipes_the_log_with_every_table_and_keeps_the_guard() -> None:
    AuditEvent(action="read", path="/x/").save()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    AuditEvent(action="read", path="/y/").save()
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET path = '/z/'")


def test_no_admin_can_change_or_delete_events() -> None:
    from django.conf import settings

    if "django.contrib.admin" not in settings.INSTALLED_APPS:
        return  # no admin site at all: nothing to change events through
    from django.contrib import admin

    model_admin = admin.site._registry.get(AuditEvent)
    if model_admin is not None:
        request = RequestFactory().get("/")
        request.user = User(is_superuser=True, is_staff=True, is_active=True)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


# --- the audit page -----------------------------------------------------------------------------


def test_the_audit_page_accepts_no_writes(erin: User) -> None:
    assert login(erin).post("/audit/", {}).status_code == 405


def test_the_admin_sees_their_clinics_events(patient: Patient, alice: User, erin: User) -> None:
    login(alice).get(f"/patients/{patient.pk}/", HTTP_USER_AGENT=UA)
    page = login(erin).get("/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/patients/{patient.pk}/" in html
    assert "alice" in html
    assert 'href="/audit/"' in login(erin).get("/").content.decode()  # the nav link


def test_the_other_clinics_admin_sees_none_of_them(
    patient: Patient, alice: User, erin: User, sam: User
) -> None:
    login(alice).get(f"/patients/{patient.pk}/")
    login(alice).post(
        f"/patients/{patient.pk}/void/", {"reason": "duplicate", "version": patient.version}
    )
    client = login(sam)
    assert "alice" not in client.get("/audit/").content.decode()
    rows = export(client)
    assert rows, "sam's own sign-in is Southside's"
    assert {row["username"] for row in rows} == {"sam"}
    assert all(row["patient_id"] == "" for row in rows)


def test_the_export_lists_the_filtered_rows(
    patient: Patient, other_patient: Patient, alice: User, bob: User, erin: User
) -> None:
    login(alice).get(f"/patients/{patient.pk}/")
    login(bob).get(f"/patients/{other_patient.pk}/")
    login(bob).get(f"/patients/{patient.pk}/outcomes/")
    client = login(erin)

    by_alice = export(client, f"?user={alice.pk}")
    assert {row["username"] for row in by_alice} == {"alice"}
    assert [row["path"] for row in by_alice if row["action"] == "read"] == [
        f"/patients/{patient.pk}/"
    ]

    about_patient = export(client, "?patient=N-0001&action=read")
    assert sorted(row["username"] for row in about_patient) == ["alice", "bob"]
    assert {row["patient_id"] for row in about_patient} == {str(patient.pk)}

    header = export(client, "?action=void")
    assert header == []


def test_the_export_filters_by_date_range(erin: User, northside: Clinic) -> None:
    for day in (1, 15, 28):
        at = timezone.make_aware(dt.datetime(2025, 2, day, 12, 0))
        AuditEvent(at=at, action="read", clinic_id=northside.pk, path=f"/day/{day}/").save()
    rows = export(login(erin), "?date_from=2025-02-10&date_to=2025-02-28")
    assert sorted(row["path"] for row in rows) == ["/day/15/", "/day/28/"]


def test_the_export_neutralises_spreadsheet_formulas(
    patient: Patient, alice: User, erin: User
) -> None:
    login(alice).get(f"/patients/{patient.pk}/", HTTP_USER_AGENT='=HYPERLINK("http://x")')
    [row] = [r for r in export(login(erin)) if r["action"] == "read"]
    assert row["user_agent"] == '\'=HYPERLINK("http://x")'


def test_exporting_is_itself_recorded(erin: User) -> None:
    export(login(erin), "?action=read")
    [event] = events(action="export")
    assert (event.username, event.path) == ("erin", "/audit/export.csv?action=read")


def test_an_unknown_patient_filter_is_a_clear_error(erin: User, patient: Patient) -> None:
    client = login(erin)
    page = client.get("/audit/?patient=NOPE-1")
    assert "No patient of this clinic has the record number NOPE-1" in page.content.decode()
    assert client.get("/audit/export.csv?patient=NOPE-1").status_code == 400


def test_the_audit_page_paginates(erin: User, northside: Clinic) -> None:
    for n in range(60):
        AuditEvent(action="read", clinic_id=northside.pk, path=f"/n/{n}/").save()
    client = login(erin)
    first = client.get("/audit/?action=read").content.decode()
    assert "Page 1 of 2" in first
    assert "/n/59/" in first
    assert "/n/0/" not in first
    second = client.get("/audit/?action=read&page=2").content.decode()
    assert "/n/0/" in second


def test_a_failed_sign_in_carries_the_named_users_clinic_for_its_admin(
    alice: User, erin: User
) -> None:
    Client().post("/login/", {"username": "alice", "password": "wrong"})
    [event] = events(action="login_failed")
    assert (event.clinic_id, event.subject_user_id) == (alice.staff.clinic_id, alice.pk)
    rows = export(login(erin), "?action=login_failed")
    assert [row["username"] for row in rows] == ["alice"]
