"""FHIR Bulk Data ``$export``: kick-off, polling, manifest, NDJSON files, filters, isolation,
cancel; and the pure line builders of ``acuknee.fhir.bulk``.

Most tests use ``tests/fhir/bulk_urls.py``, whose runner only queues the job, so the test sees it
queued and then runs it with ``run_job``; one test goes through the site's URLs and the real
background thread.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from acuknee import demo
from acuknee.api.bulk_export import run_job
from acuknee.api.fhir_api import resources as fhir_resources
from acuknee.care import fhir_lines, services
from acuknee.clinical import Intake, Plan, score
from acuknee.fhir import bulk
from acuknee.records.models import (
    ApiToken,
    Clinic,
    ExportJob,
    Measurement,
    Patient,
    TreatmentSession,
)
from tests.api.conftest import another_patient
from tests.fhir import bulk_urls
from tests.fhir.server_course import Course, build_course
from tests.fhir.test_safety_resources import HOT_KNEE_ON_WARFARIN
from tests.pages import conftest as personas

# The clinic's personas (tests/pages/conftest.py) as this module's fixtures.
alice, bob, carol, dana, erin = (
    personas.alice,
    personas.bob,
    personas.carol,
    personas.dana,
    personas.erin,
)
rex, patient, northside, southside = (
    personas.rex,
    personas.patient,
    personas.northside,
    personas.southside,
)

FHIR_TYPES = {
    "Patient": FhirPatient,
    "QuestionnaireResponse": QuestionnaireResponse,
    "Observation": Observation,
}
MEASURED = {"Patient", "QuestionnaireResponse", "Observation"}
"""The types a patient with measurements only (``recorded``) exports."""
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
DAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _bulk_site(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.ROOT_URLCONF = "tests.fhir.bulk_urls"
    settings.ACUKNEE_EXPORTS_DIR = str(tmp_path / "exports")
    bulk_urls.QUEUED.clear()
    yield
    bulk_urls.QUEUED.clear()


class Fhir:
    """A client with ``Authorization: Bearer <token>`` (or none)."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.token = ApiToken.issue(user, "bulk")[1] if user is not None else None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return out | (extra or {})

    def get(self, url: str, headers: dict[str, str] | None = None, **params: str) -> Any:
        return self.client.get(url, params, headers=self.headers(headers))

    def delete(self, url: str) -> Any:
        return self.client.delete(url, headers=self.headers())

    def kickoff(self, url: str = "/fhir/$export", **params: str) -> Any:
        return self.get(url, ASYNC, **params)


def measure(patient: Patient, instrument: str, answers: dict[str, Any]) -> Measurement:
    """Recorded through the care layer, which stores the export lines."""
    (stored,) = services.record_measurements(
        patient, None, DAY, {instrument: answers}, scores={instrument: score(instrument, answers)}
    )
    return stored


def pss4(value: int) -> dict[str, int]:
    return {str(i): value for i in range(1, 5)}


def outcome_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["code"])


def status_path(response: Any) -> str:
    assert response.status_code == 202, response.content
    location = response["Content-Location"]
    assert location.startswith("http://testserver/fhir/$export-status/")
    return str(location.removeprefix("http://testserver"))


def finish(client: Fhir, kickoff: Any) -> dict[str, Any]:
    """Run the queued job and return its manifest."""
    path = status_path(kickoff)
    run_job(bulk_urls.QUEUED[-1])
    response = client.get(path)
    assert response.status_code == 200, response.content
    return dict(response.json())


def lines(client: Fhir, manifest: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    [entry] = [o for o in manifest["output"] if o["type"] == resource_type]
    response = client.get(entry["url"].removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n")
    found = [json.loads(line) for line in text.splitlines()]
    assert len(found) == entry["count"]
    return found


@pytest.fixture
def recorded(patient: Patient) -> Measurement:
    koos_jr = dict.fromkeys(["S6", "P2", "P3", "P6", "P9", "A3", "A5"], 2)
    measure(patient, "koos_jr", koos_jr)
    return measure(patient, "pss4", pss4(2))


# --- kick-off validation -------------------------------------------------------------------------


def test_kickoff_without_prefer_respond_async_is_400(alice: User) -> None:
    response = Fhir(alice).get("/fhir/$export", {"Accept": "application/fhir+json"})
    assert outcome_code(response, 400) == "invalid"
    assert not ExportJob.objects.exists()


def test_kickoff_without_fhir_json_accept_is_400(alice: User) -> None:
    response = Fhir(alice).get("/fhir/$export", {"Prefer": "respond-async"})
    assert outcome_code(response, 400) == "invalid"


def test_kickoff_with_an_unexported_type_is_400(alice: User) -> None:
    assert outcome_code(Fhir(alice).kickoff(_type="Patient,Medication"), 400) == "not-supported"


def test_kickoff_with_a_since_without_time_zone_is_400(alice: User) -> None:
    assert outcome_code(Fhir(alice).kickoff(_since="2026-01-01T00:00:00"), 400) == "invalid"


@pytest.mark.parametrize(
    "since",
    [
        "2026-02-30T00:00:00Z",  # no such day
        "2026-01-01T24:00:00Z",  # no such hour
        "2026-01-01T10:00:00+25:00",  # no such offset
        "2026-01-01T10:00:00+15:00",  # beyond FHIR's instant offsets (14:00 either way)
        "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # fullwidth digits
    ],
)
def test_kickoff_with_a_since_that_is_no_fhir_instant_is_400_naming_since(
    alice: User, since: str
) -> None:
    response = Fhir(alice).kickoff(_since=since)
    assert outcome_code(response, 400) == "invalid"
    (issue,) = response.json()["issue"]
    assert issue["expression"] == ["_since"]
    assert "_since" in issue["diagnostics"]
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    ("since", "same_day_in_utc"),
    [
        ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59+00:00"),
    ],
)
def test_kickoff_with_a_since_beyond_the_calendar_in_utc_is_400_and_no_job(
    alice: User, since: str, same_day_in_utc: str
) -> None:
    """Valid instants, but in UTC (as stored) before year 1 or after 9999: a 500 once, the
    job's insert failing inside the transaction. The calendar's own ends still export."""
    client = Fhir(alice)
    response = client.kickoff(_since=since)
    assert outcome_code(response, 400) == "invalid"
    assert response.json()["issue"][0]["expression"] == ["_since"]
    assert not ExportJob.objects.exists()
    finish(client, client.kickoff(_since=same_day_in_utc))


def test_kickoff_asking_another_output_format_is_400(alice: User) -> None:
    response = Fhir(alice).kickoff(_outputFormat="text/csv")
    assert outcome_code(response, 400) == "not-supported"


def test_kickoff_by_post_is_405(alice: User) -> None:
    client = Fhir(alice)
    response = client.client.post("/fhir/$export", headers=client.headers(ASYNC))
    assert outcome_code(response, 405) == "not-supported"


def test_kickoff_without_a_token_is_401(db: Any) -> None:
    response = Fhir(None).kickoff()
    assert outcome_code(response, 401) == "login"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("who", ["rex", "dana"])
def test_researchers_and_front_desk_may_not_export(who: str, request: Any) -> None:
    user = request.getfixturevalue(who)
    assert outcome_code(Fhir(user).kickoff(), 403) == "forbidden"


def test_kickoff_answers_202_with_a_status_url_and_queues_the_job(alice: User) -> None:
    response = Fhir(alice).kickoff()
    path = status_path(response)
    job = ExportJob.objects.get()
    assert path.endswith(str(job.id))
    assert [job.id] == bulk_urls.QUEUED
    assert job.types == list(bulk.RESOURCE_TYPES)


# --- polling and manifest ------------------------------------------------------------------------


def test_status_is_202_with_progress_until_the_job_has_run(alice: User, recorded: Any) -> None:
    client = Fhir(alice)
    path = status_path(client.kickoff())
    polled = client.get(path)
    assert polled.status_code == 202
    assert polled["X-Progress"]
    assert int(polled["Retry-After"]) > 0
    run_job(bulk_urls.QUEUED[-1])
    assert client.get(path).status_code == 200


def test_manifest_lists_one_file_per_type_with_counts(alice: User, recorded: Any) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["request"] == "http://testserver/fhir/$export"
    assert dt.datetime.fromisoformat(manifest["transactionTime"]) <= timezone.now()
    counts = {o["type"]: o["count"] for o in manifest["output"]}
    # one patient; two measurements; KOOS JR scores one subscale (interval), PSS-4 one (total)
    assert counts == {"Patient": 1, "QuestionnaireResponse": 2, "Observation": 2}


def test_every_exported_line_is_a_valid_resource_of_its_file_type(
    alice: User, recorded: Any
) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    for resource_type, model in FHIR_TYPES.items():
        for data in lines(client, manifest, resource_type):
            assert data["resourceType"] == resource_type
            model.model_validate(data)


def test_exported_resources_are_those_the_fhir_server_reads(
    alice: User, patient: Patient, recorded: Measurement
) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    roundtrip = json.loads(json.dumps(fhir_resources.patient_json(patient), default=str))
    assert lines(client, manifest, "Patient") == [roundtrip]
    served = [
        json.loads(json.dumps(o, default=str)) for o in fhir_resources.observation_jsons(recorded)
    ]
    exported = [o for o in lines(client, manifest, "Observation") if o["id"] == served[0]["id"]]
    assert [fhir_obs(o) for o in exported] == [fhir_obs(o) for o in served]
    served_qr = fhir_resources.questionnaire_response_json(recorded)
    by_id = {r["id"]: r for r in lines(client, manifest, "QuestionnaireResponse")}
    assert QuestionnaireResponse.model_validate(by_id[served_qr["id"]]) == (
        QuestionnaireResponse.model_validate(served_qr)
    )


def test_a_course_exports_its_records_as_the_fhir_server_reads_them(
    alice: User, patient: Patient
) -> None:
    """Condition, CarePlan, Procedure and AdverseEvent: the same ids and content as the reads."""
    course = build_course(patient, alice)
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    screened = {"Flag", "ServiceRequest"}  # this knee OA course has no finding or referral
    assert not fhir_resources.flag_jsons(course.intake)
    assert not fhir_resources.service_request_jsons(course.intake)
    assert {o["type"] for o in manifest["output"]} == set(bulk.RESOURCE_TYPES) - screened
    served = {
        "Condition": [fhir_resources.condition_json(course.intake)],
        "CarePlan": [fhir_resources.care_plan_json(course.plan)],
        "Procedure": [fhir_resources.procedure_json(s) for s in course.sessions],
        "AdverseEvent": [e for s in course.sessions for e in fhir_resources.adverse_event_jsons(s)],
    }
    assert [e["id"] for e in served["AdverseEvent"]] == [f"session-{course.sessions[1].pk}-1"]
    for resource_type, resources in served.items():
        roundtrip = json.loads(json.dumps(resources, default=str))
        assert lines(client, manifest, resource_type) == roundtrip, resource_type


def test_type_filter_reaches_the_record_types(alice: User, patient: Patient) -> None:
    build_course(patient, alice)
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_type="AdverseEvent,CarePlan"))
    assert [o["type"] for o in manifest["output"]] == ["CarePlan", "AdverseEvent"]


def fhir_obs(data: dict[str, Any]) -> Observation:
    return Observation.model_validate(data)


def test_group_export_is_the_callers_clinic(alice: User, northside: Clinic, recorded: Any) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(f"/fhir/Group/{northside.pk}/$export"))
    assert {o["type"] for o in manifest["output"]} == MEASURED


def test_patient_level_export_runs(erin: User, recorded: Any) -> None:
    client = Fhir(erin)
    manifest = finish(client, client.kickoff("/fhir/Patient/$export"))
    assert len(lines(client, manifest, "Patient")) == 1


# --- filters -------------------------------------------------------------------------------------


def test_type_filter_writes_only_the_asked_types(alice: User, recorded: Any) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_type="Observation"))
    assert [o["type"] for o in manifest["output"]] == ["Observation"]


def test_since_leaves_out_records_unchanged_since(
    alice: User, northside: Clinic, patient: Patient, recorded: Any
) -> None:
    cutoff = timezone.now()
    old = timezone.now() - dt.timedelta(days=30)
    Patient.objects.filter(pk=patient.pk).update(created_at=old, updated_at=old)
    Measurement.objects.filter(patient=patient).update(created_at=old, updated_at=old)
    newer = Patient.objects.create(
        clinic=northside,
        record_number="N-0002",
        given_name="Bea",
        family_name="Later",
        date_of_birth=dt.date(1950, 1, 1),
        sex="male",
        created_by=alice,
    )
    measure(newer, "pss4", pss4(1))
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_since=cutoff.isoformat()))
    assert [p["id"] for p in lines(client, manifest, "Patient")] == [str(newer.pk)]
    exported = lines(client, manifest, "QuestionnaireResponse")
    assert [r["subject"]["reference"] for r in exported] == [f"Patient/{newer.pk}"]


def test_since_exports_an_old_record_edited_after_the_instant(
    alice: User, patient: Patient, recorded: Measurement
) -> None:
    old = timezone.now() - dt.timedelta(days=30)
    Patient.objects.filter(pk=patient.pk).update(created_at=old, updated_at=old)
    Measurement.objects.filter(patient=patient).update(created_at=old, updated_at=old)
    cutoff = timezone.now()
    edited = Patient.objects.get(pk=patient.pk)
    edited.phone = "555-0100"
    edited.save_versioned(edited.version, ["phone"])
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_since=cutoff.isoformat()))
    assert [p["id"] for p in lines(client, manifest, "Patient")] == [str(patient.pk)]
    assert "QuestionnaireResponse" not in {o["type"] for o in manifest["output"]}


def _post_session(client: Fhir, course: Course, number: int) -> TreatmentSession:
    """The plan's session ``number`` logged through the REST API today (as a practice app
    would), on its planned visit's day."""
    content = Plan.model_validate(course.plan.content)
    visit = next(v for v in content.schedule if v.kind == "session" and v.number == number)
    body = demo.session_from_plan(
        content, number, visit.date, pain_before=4, pain_after=2, practitioner="alice"
    ).model_dump(mode="json")
    body.pop("number")
    body.pop("practitioner_id")
    response = client.client.post(
        f"/api/v1/patients/{course.patient.pk}/sessions",
        json.dumps(body),
        content_type="application/json",
        headers=client.headers(),
    )
    assert response.status_code == 201, response.content
    return TreatmentSession.objects.get(pk=response.json()["id"])


def _since(client: Fhir, cutoff: dt.datetime, types: str) -> dict[str, list[dict[str, Any]]]:
    """An incremental export of ``types`` from ``cutoff``: each type's resources (none: no file)."""
    manifest = finish(client, client.kickoff(_since=cutoff.isoformat(), _type=types))
    return {o["type"]: lines(client, manifest, o["type"]) for o in manifest["output"]}


def _as_read(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(resource, default=str)))


def test_since_exports_the_care_plan_a_session_logged_since_changed(
    alice: User, patient: Patient
) -> None:
    """The session is the plan's fourth: its visit is now completed, so the CarePlan changed
    although its plan row did not, and an incremental export must carry it."""
    course = build_course(patient, alice)  # its records dated on their visits, long before
    client = Fhir(alice)
    cutoff = timezone.now()
    session = _post_session(client, course, 4)
    exported = _since(client, cutoff, "CarePlan,Procedure")
    assert [p["id"] for p in exported["Procedure"]] == [f"session-{session.pk}"]
    assert exported["CarePlan"] == [_as_read(fhir_resources.care_plan_json(course.plan))]
    statuses = [a["detail"]["status"] for a in exported["CarePlan"][0]["activity"]]
    assert statuses[:5].count("completed") == 4


def test_since_exports_the_care_plan_a_session_voided_since_changed(
    alice: User, patient: Patient
) -> None:
    course = build_course(patient, alice)
    client = Fhir(alice)
    cutoff = timezone.now()
    voided = course.sessions[2]
    services.void(voided, alice, "entered for the wrong patient", voided.version)
    exported = _since(client, cutoff, "CarePlan,Procedure")
    assert "Procedure" not in exported  # a voided record is left out, not listed as deleted
    assert exported["CarePlan"] == [_as_read(fhir_resources.care_plan_json(course.plan))]


def test_since_leaves_out_a_care_plan_none_of_whose_records_changed(
    alice: User, patient: Patient, northside: Clinic
) -> None:
    build_course(patient, alice)
    other = build_course(another_patient(northside, alice, "N-0300"), alice)
    client = Fhir(alice)
    cutoff = timezone.now()
    session = _post_session(client, other, 4)
    exported = _since(client, cutoff, "CarePlan")
    assert [c["id"] for c in exported["CarePlan"]] == [f"plan-{session.plan_id}"]


def test_since_exports_the_procedures_of_a_plan_voided_since(alice: User, patient: Patient) -> None:
    """A Procedure names its signed plan (``basedOn``) only while the plan is live."""
    course = build_course(patient, alice)
    client = Fhir(alice)
    cutoff = timezone.now()
    course.plan.refresh_from_db()
    services.void_plan(course.plan, alice, "signed for the wrong patient", course.plan.version)
    exported = _since(client, cutoff, "CarePlan,Procedure,AdverseEvent")
    assert sorted(p["id"] for p in exported["Procedure"]) == sorted(
        f"session-{s.pk}" for s in course.sessions
    )
    assert not [p for p in exported["Procedure"] if "basedOn" in p]
    assert set(exported) == {"Procedure"}  # nor the voided plan, nor unchanged events


def test_since_exports_a_flag_superseded_and_a_referral_cleared_since(
    alice: User, patient: Patient
) -> None:
    """What stands changed without the screened intake's row changing: a later intake made its
    Flags inactive, an outcome completed its ServiceRequests; its Condition did not change."""
    screened = demo.record_intake(patient, Intake.model_validate(HOT_KNEE_ON_WARFARIN), DAY, alice)
    client = Fhir(alice)
    cutoff = timezone.now()
    services.resolve_referral(
        screened, alice, seen_by="Dr Synthetic", seen_on=DAY, cleared=True, note=""
    )
    later = Intake.model_validate({**HOT_KNEE_ON_WARFARIN, "red_flags": {}, "health": {}})
    newer = services.record_intake(
        patient, alice, visit=DAY + dt.timedelta(1), intake=demo.every_red_flag_asked(later)
    )
    exported = _since(client, cutoff, "Condition,Flag,ServiceRequest")
    assert [c["id"] for c in exported["Condition"]] == [f"intake-{newer.pk}"]
    assert exported["Flag"] == [_as_read(f) for f in fhir_resources.flag_jsons(screened)]
    assert {f["status"] for f in exported["Flag"]} == {"inactive"}
    requests = fhir_resources.service_request_jsons(screened)
    assert exported["ServiceRequest"] == [_as_read(r) for r in requests]
    assert {r["status"] for r in exported["ServiceRequest"]} == {"completed"}


# --- expiry --------------------------------------------------------------------------------------


def test_completed_status_says_when_the_files_expire(alice: User, recorded: Any) -> None:
    client = Fhir(alice)
    path = status_path(client.kickoff())
    run_job(bulk_urls.QUEUED[-1])
    response = client.get(path)
    job = ExportJob.objects.get(pk=bulk_urls.QUEUED[-1])
    assert job.finished_at is not None
    expected = job.finished_at + dt.timedelta(hours=24)
    assert response["Expires"] == http_date(expected.timestamp())


def test_files_past_their_retention_are_removed_and_answer_404(
    alice: User, recorded: Any, settings: Any
) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    job = ExportJob.objects.get(pk=bulk_urls.QUEUED[-1])
    folder = Path(settings.ACUKNEE_EXPORTS_DIR) / str(job.pk)
    assert any(folder.iterdir())
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(hours=25))
    call_command("expire_exports", stdout=io.StringIO())
    assert not folder.exists()
    assert ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.EXPIRED
    url = manifest["output"][0]["url"].removeprefix("http://testserver")
    assert outcome_code(client.get(url), 404) == "not-found"
    assert outcome_code(client.get(f"/fhir/$export-status/{job.pk}"), 404) == "not-found"


def test_retention_is_a_setting(alice: User, recorded: Any, settings: Any) -> None:
    settings.ACUKNEE_EXPORT_RETENTION_HOURS = 1
    client = Fhir(alice)
    finish(client, client.kickoff())
    job = ExportJob.objects.get(pk=bulk_urls.QUEUED[-1])
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(hours=2))
    assert outcome_code(client.get(f"/fhir/$export-status/{job.pk}"), 404) == "not-found"
    client.kickoff()  # a kick-off sweeps old jobs too
    assert ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.EXPIRED


def test_voided_records_are_not_exported(alice: User, recorded: Measurement) -> None:
    recorded.void(alice, "entered in error")
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_type="QuestionnaireResponse"))
    assert [r["id"] for r in lines(client, manifest, "QuestionnaireResponse")] != []
    ids = [r["id"] for r in lines(client, manifest, "QuestionnaireResponse")]
    assert f"meas-{recorded.pk}" not in ids


def test_a_type_with_no_resource_has_no_file(alice: User, patient: Patient) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    assert [o["type"] for o in manifest["output"]] == ["Patient"]


# --- clinic isolation ----------------------------------------------------------------------------


def test_export_holds_only_the_callers_clinic(
    alice: User, carol: User, southside: Clinic, recorded: Any
) -> None:
    Patient.objects.create(
        clinic=southside,
        record_number="S-0001",
        given_name="Cy",
        family_name="Elsewhere",
        date_of_birth=dt.date(1970, 1, 1),
        sex="male",
        created_by=carol,
    )
    client = Fhir(carol)
    manifest = finish(client, client.kickoff())
    exported = lines(client, manifest, "Patient")
    assert [p["name"][0]["family"] for p in exported] == ["Elsewhere"]
    assert exported[0]["identifier"][0]["system"] == "urn:acuknee:clinic:southside:record-number"


def test_another_clinics_group_is_404(carol: User, northside: Clinic) -> None:
    response = Fhir(carol).kickoff(f"/fhir/Group/{northside.pk}/$export")
    assert outcome_code(response, 404) == "not-found"


def test_another_users_job_status_and_files_are_404(
    alice: User, bob: User, carol: User, recorded: Any
) -> None:
    owner = Fhir(alice)
    manifest = finish(owner, owner.kickoff())
    path = f"/fhir/$export-status/{bulk_urls.QUEUED[-1]}"
    file_path = manifest["output"][0]["url"].removeprefix("http://testserver")
    for other in (Fhir(bob), Fhir(carol)):
        assert outcome_code(other.get(path), 404) == "not-found"
        assert outcome_code(other.get(file_path), 404) == "not-found"
        assert outcome_code(other.delete(path), 404) == "not-found"


def test_files_need_the_token(alice: User, recorded: Any) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    url = manifest["output"][0]["url"].removeprefix("http://testserver")
    assert outcome_code(Fhir(None).get(url), 401) == "login"


# --- cancel --------------------------------------------------------------------------------------


def test_delete_cancels_a_queued_job_which_then_writes_nothing(
    alice: User, recorded: Any, tmp_path: Path
) -> None:
    client = Fhir(alice)
    path = status_path(client.kickoff())
    assert client.delete(path).status_code == 202
    assert run_job(bulk_urls.QUEUED[-1]) == "cancelled"
    assert outcome_code(client.get(path), 404) == "not-found"
    assert not (tmp_path / "exports" / str(bulk_urls.QUEUED[-1])).exists()


def test_delete_of_a_finished_job_removes_its_files(
    alice: User, recorded: Any, tmp_path: Path
) -> None:
    client = Fhir(alice)
    manifest = finish(client, client.kickoff())
    url = manifest["output"][0]["url"].removeprefix("http://testserver")
    assert client.delete(f"/fhir/$export-status/{bulk_urls.QUEUED[-1]}").status_code == 202
    assert not (tmp_path / "exports" / str(bulk_urls.QUEUED[-1])).exists()
    assert outcome_code(client.get(url), 404) == "not-found"


# --- the management command ----------------------------------------------------------------------


def test_run_export_command_runs_a_queued_job(alice: User, recorded: Any) -> None:
    client = Fhir(alice)
    path = status_path(client.kickoff())
    call_command("run_export", str(bulk_urls.QUEUED[-1]))
    assert client.get(path).status_code == 200


def test_run_export_command_refuses_an_unknown_job(db: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no export job"):
        call_command("run_export", str(uuid.uuid4()))


# --- the real thread, through the site's URLs ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_site_export_runs_in_a_background_thread(settings: Any, alice: User, recorded: Any) -> None:
    settings.ROOT_URLCONF = "acuknee.site.urls"
    client = Fhir(alice)
    path = status_path(client.kickoff())
    job_id = path.rsplit("/", 1)[1]
    # Wait for the thread rather than poll beside it: the test database is SQLite's shared
    # in-memory cache, where a reader and a writer on two connections lock each other out.
    for thread in threading.enumerate():
        if thread.name == f"fhir-export-{job_id}":
            thread.join(timeout=20)
    response = client.get(path)
    assert response.status_code == 200, response.content
    assert {o["type"] for o in response.json()["output"]} == MEASURED


# --- the pure line builders ----------------------------------------------------------------------


def _patient_rows() -> Iterator[dict[str, Any]]:
    for n in itertools.count(1):
        yield {
            "id": n,
            "clinic__slug": "northside",
            "record_number": f"N-{n}",
            "given_name": "Ada",
            "family_name": "Stream",
            "date_of_birth": dt.date(1960, 1, 1),
            "sex": "female",
        }


def test_lines_are_built_lazily_one_row_at_a_time() -> None:
    """An endless source still yields: nothing is collected before the first line."""
    first = list(itertools.islice(bulk.patient_lines(_patient_rows()), 3))
    assert [json.loads(line)["id"] for line in first] == ["1", "2", "3"]
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in first)


def test_measurement_of_an_unknown_instrument_is_an_error() -> None:
    row = {
        "id": 1,
        "patient_id": 1,
        "measured_on": DAY,
        "instrument": "nope",
        "answers": {},
        "scores": {},
    }
    with pytest.raises(ValueError, match="unknown instrument"):
        list(bulk.observation_lines([row]))


def test_parse_types_keeps_the_export_order() -> None:
    assert bulk.parse_types("Observation, Patient") == ["Patient", "Observation"]
    assert bulk.parse_types(None) == list(bulk.RESOURCE_TYPES)


def _measurement_row(instrument: str, answers: dict[str, float], note: str = "") -> dict[str, Any]:
    scores = score(instrument, answers).model_dump(mode="json")
    if note:
        for sub in scores["subscales"].values():
            sub["note"] = note
    return {
        "id": 7,
        "patient_id": 3,
        "measured_on": DAY,
        "instrument": instrument,
        "answers": answers,
        "scores": scores,
    }


@pytest.mark.parametrize("note", ["", 'one item "skipped" — prorated'])
def test_spliced_lines_are_the_resources_the_dict_builders_make(note: str) -> None:
    """``write_table`` splices QuestionnaireResponse and Observation lines from bytes; they must
    be the resources ``questionnaire_response_dict`` and ``observation_dicts`` build."""
    pain = {"current": 4.0, "average_last_week": 3.0, "worst_last_week": 6.0}
    jr = dict.fromkeys(("S6", "P2", "P3", "P6", "P9", "A3", "A5"), 2.0)
    rows = [_measurement_row("pain_nrs", pain, note), _measurement_row("koos_jr", jr, note)]
    raw = [
        (
            r["id"],
            r["patient_id"],
            r["measured_on"],
            r["instrument"],
            json.dumps(r["answers"]),
            json.dumps(r["scores"]),
        )
        for r in rows
    ]
    got: dict[str, list[bytes]] = {"QuestionnaireResponse": [], "Observation": []}
    counts = bulk.write_table("Measurement", raw, {t: got[t].append for t in got}, "northside")
    templates = bulk._templates(bulk.knowledge(None))
    want_qr = [bulk.questionnaire_response_dict(r, templates) for r in rows]
    want_obs = [o for r in rows for o in bulk.observation_dicts(r, templates)]
    assert [json.loads(line) for line in got["QuestionnaireResponse"]] == want_qr
    assert [json.loads(line) for line in got["Observation"]] == want_obs
    assert len(want_obs) == 4  # pain NRS: 3 scored subscales, KOOS JR: 1
    assert counts == {"QuestionnaireResponse": 2, "Observation": 4}
    assert all(line.endswith(b"}\n") for lines in got.values() for line in lines)


def test_a_response_with_every_answer_skipped_has_no_item_array() -> None:
    """FHIR JSON allows no empty array; the validated mapping leaves ``item`` out, and the
    spliced line, the dict builder and the validated resource must agree."""
    row = _measurement_row("koos_jr", {})
    raw = [(7, 3, DAY, "koos_jr", json.dumps({}), json.dumps(row["scores"]))]
    got: list[bytes] = []
    bulk.write_table("Measurement", raw, {"QuestionnaireResponse": got.append}, "northside")
    templates = bulk._templates(bulk.knowledge(None))
    built = bulk.questionnaire_response_dict(row, templates)
    assert [json.loads(line) for line in got] == [built]
    assert "item" not in built
    QuestionnaireResponse.model_validate(built)


def test_raw_patient_rows_make_the_patient_of_a_values_row() -> None:
    row = next(_patient_rows())
    raw = [tuple(row[c] for c in bulk.TABLE_COLUMNS["Patient"])]
    got: list[bytes] = []
    assert bulk.write_table("Patient", raw, {"Patient": got.append}, "northside") == {"Patient": 1}
    assert [json.loads(line) for line in got] == [bulk.patient_dict(row)]


# --- lines stored at save ------------------------------------------------------------------------


def _export_bytes(client: Fhir) -> dict[str, bytes]:
    manifest = finish(client, client.kickoff(_type="Patient,QuestionnaireResponse,Observation"))
    out = {}
    for entry in manifest["output"]:
        response = client.get(entry["url"].removeprefix("http://testserver"))
        out[entry["type"]] = b"".join(response.streaming_content)
    return out


def test_saved_records_keep_their_lines_under_the_current_version(
    patient: Patient, recorded: Measurement
) -> None:
    fhir_lines.store(patient)  # as the care layer's patient registration does
    version = bulk.render_version()
    assert Patient.objects.get(pk=patient.pk).fhir_version == version
    stored = Measurement.objects.get(pk=recorded.pk)
    assert stored.fhir_version == version
    assert json.loads(bytes(stored.fhir_response))["id"] == f"meas-{recorded.pk}"
    assert bytes(Patient.objects.get(pk=patient.pk).fhir_line).count(bulk.SYSTEM) == 1


def test_stored_lines_export_the_bytes_the_build_path_makes(
    alice: User, patient: Patient, recorded: Measurement
) -> None:
    Patient.objects.filter(pk=patient.pk).update(
        given_name='Zoë "Zed" \\ O\u2019Brien\x01', family_name="\u738b"
    )
    fhir_lines.store(Patient.objects.get(pk=patient.pk))  # rendered again from the odd name
    client = Fhir(alice)
    from_stored = _export_bytes(client)
    Patient.objects.update(fhir_version="")
    Measurement.objects.update(fhir_version="")
    from_rows = _export_bytes(client)
    assert from_stored == from_rows
    assert set(from_stored) == MEASURED


def test_an_edit_marks_the_lines_stale_and_the_export_builds_them(
    alice: User, patient: Patient
) -> None:
    fhir_lines.store(patient)
    edited = Patient.objects.get(pk=patient.pk)
    edited.given_name = "Renamed"
    edited.save_versioned(edited.version, ["given_name"])
    assert Patient.objects.get(pk=patient.pk).fhir_version == ""
    client = Fhir(alice)
    [line] = lines(client, finish(client, client.kickoff(_type="Patient")), "Patient")
    assert line["name"][0]["given"] == ["Renamed"]


def test_a_renamed_clinic_exports_its_current_record_system(
    alice: User, northside: Clinic, patient: Patient
) -> None:
    Clinic.objects.filter(pk=northside.pk).update(slug="north-renamed")
    client = Fhir(alice)
    [line] = lines(client, finish(client, client.kickoff(_type="Patient")), "Patient")
    assert line["identifier"][0]["system"] == bulk.record_system("north-renamed")


def test_lines_of_another_mapping_revision_are_built_afresh(
    alice: User, patient: Patient, recorded: Measurement, monkeypatch: pytest.MonkeyPatch
) -> None:
    Measurement.objects.filter(pk=recorded.pk).update(fhir_response=b'{"stale":true}\n')
    monkeypatch.setattr(bulk, "MAPPING_REVISION", "test-next")
    monkeypatch.setattr(bulk, "_versions", {})
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_type="QuestionnaireResponse"))
    found = lines(client, manifest, "QuestionnaireResponse")
    assert {r["id"] for r in found} >= {f"meas-{recorded.pk}"}
    assert all(r["resourceType"] == "QuestionnaireResponse" for r in found)


def test_stored_and_built_rows_export_together_each_once(
    alice: User, patient: Patient, recorded: Measurement
) -> None:
    """Rows with current lines are copied and the others built, in two passes: every resource
    comes once, whichever pass it came from."""
    client = Fhir(alice)
    before = {
        t: sorted(r["id"] for r in lines(client, manifest, t))
        for manifest in [finish(client, client.kickoff(_type=",".join(sorted(MEASURED))))]
        for t in MEASURED
    }
    Measurement.objects.filter(pk=recorded.pk).update(fhir_version="")  # as bulk_create leaves it
    manifest = finish(client, client.kickoff(_type=",".join(sorted(MEASURED))))
    after = {t: sorted(r["id"] for r in lines(client, manifest, t)) for t in MEASURED}
    assert after == before
    assert f"meas-{recorded.pk}" in after["QuestionnaireResponse"]
    assert len(after["QuestionnaireResponse"]) == 2


def test_a_new_record_stores_lines_with_its_own_id(patient: Patient) -> None:
    fhir_lines.store(patient)
    made = measure(patient, "pss4", pss4(1))
    stored = Measurement.objects.get(pk=made.pk)
    assert stored.fhir_version == bulk.render_version()
    observations = [json.loads(line) for line in bytes(stored.fhir_observations).splitlines()]
    assert observations
    assert all(o["id"].startswith(f"meas-{made.pk}-") for o in observations)
    line = bytes(Patient.objects.get(pk=patient.pk).fhir_line).replace(bulk.SYSTEM, b"clinic")
    assert json.loads(line)["id"] == str(patient.pk)


def test_a_visit_of_several_instruments_stores_each_ones_own_lines(patient: Patient) -> None:
    """A visit's measurements have their lines written together (one statement): each keeps the
    lines a render of its own row makes, under the current version."""
    pain = {"current": 6, "average_last_week": 5, "worst_last_week": 7}
    made = services.record_measurements(patient, None, DAY, {"pss4": pss4(2), "pain_nrs": pain})
    assert len(made) == 2
    for m in made:
        stored = Measurement.objects.get(pk=m.pk)
        lines_kept = [getattr(stored, name) for name in Measurement.RENDERED]
        stored.render_fhir()
        assert [getattr(stored, name) for name in Measurement.RENDERED] == lines_kept
        assert lines_kept[0] == bulk.render_version()
        assert json.loads(bytes(lines_kept[1]))["id"] == f"meas-{m.pk}"


def test_render_fhir_stores_current_lines_for_rows_that_lack_them(
    alice: User, patient: Patient, recorded: Measurement
) -> None:
    client = Fhir(alice)
    built_at_save = _export_bytes(client)
    Patient.objects.update(fhir_version="", fhir_line=b"")
    Measurement.objects.update(fhir_version="", fhir_response=b"", fhir_observations=b"")
    out = io.StringIO()
    call_command("render_fhir", "--batch", "1", stdout=out)
    assert "Patient: 1 rendered" in out.getvalue()
    assert "Measurement: 2 rendered" in out.getvalue()
    version = bulk.render_version()
    assert set(Measurement.objects.values_list("fhir_version", flat=True)) == {version}
    assert Patient.objects.get(pk=patient.pk).fhir_version == version
    assert _export_bytes(client) == built_at_save


def test_an_intakes_safety_findings_and_referrals_export_as_the_fhir_server_reads_them(
    alice: User, patient: Patient
) -> None:
    from acuknee import demo
    from acuknee.clinical import Intake

    intake = Intake.model_validate(HOT_KNEE_ON_WARFARIN)
    record = demo.record_intake(patient, intake, dt.date(2026, 1, 5), alice)
    client = Fhir(alice)
    manifest = finish(client, client.kickoff(_type="Flag,ServiceRequest"))
    assert [o["type"] for o in manifest["output"]] == ["Flag", "ServiceRequest"]
    flags = fhir_resources.flag_jsons(record)
    requests = fhir_resources.service_request_jsons(record)
    assert flags
    assert requests
    assert lines(client, manifest, "Flag") == json.loads(json.dumps(flags))
    assert lines(client, manifest, "ServiceRequest") == json.loads(json.dumps(requests))


def test_records_written_through_the_rest_api_reach_the_next_export_as_the_fhir_server_reads_them(
    alice: User, patient: Patient
) -> None:
    """An API write followed by an export, across adapters and over time: a patient registered,
    a visit measured and a session amended through ``/api/v1`` after a first export are each in
    the next one, every line as the FHIR server reads the record now (the amended session's
    procedure changed, not the one exported before), and nothing exported before is lost."""
    course = build_course(patient, alice)
    client = Fhir(alice)
    types = ",".join(["Patient", "QuestionnaireResponse", "Observation", "Procedure"])
    before_manifest = finish(client, client.kickoff(_type=types))
    before = {t: lines(client, before_manifest, t) for t in types.split(",")}

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.client.post(
            f"/api/v1{path}", json.dumps(body), "application/json", headers=client.headers()
        )

    registered = post(
        "/patients",
        {
            "given_name": "Rowan",
            "family_name": "Ashby",
            "date_of_birth": "1961-04-02",
            "sex": "female",
            "record_number": "API-7",
        },
    )
    assert registered.status_code == 201, registered.content
    measured_on = course.reassessed_on + dt.timedelta(days=14)
    assert measured_on <= timezone.localdate()
    pain = {"current": 3, "average_last_week": 3, "worst_last_week": 5}
    measured = post(
        f"/patients/{patient.pk}/measurements",
        {"measured_on": measured_on.isoformat(), "answers": {"pain_nrs": pain}},
    )
    assert measured.status_code == 201, measured.content
    session = course.sessions[0]
    corrected = {**session.data, "pain_after": 2}
    amended = post(
        f"/sessions/{session.pk}/amendments",
        {"version": session.version, "reason": "pain after misheard", "record": corrected},
    )
    assert amended.status_code == 200, amended.content

    after_manifest = finish(client, client.kickoff(_type=types))
    after = {t: lines(client, after_manifest, t) for t in types.split(",")}
    for resource_type, exported in before.items():  # nothing exported before is lost
        assert {r["id"] for r in exported} <= {r["id"] for r in after[resource_type]}

    def exported(resource_type: str, resource_id: str) -> dict[str, Any]:
        [line] = [r for r in after[resource_type] if r["id"] == resource_id]
        return line

    def as_served(resource: dict[str, Any]) -> dict[str, Any]:
        return dict(json.loads(json.dumps(resource, default=str)))

    new_patient = Patient.objects.get(pk=registered.json()["id"])
    served_patient = as_served(fhir_resources.patient_json(new_patient))
    assert exported("Patient", served_patient["id"]) == served_patient
    (stored,) = Measurement.objects.filter(pk__in=[m["id"] for m in measured.json()])
    served_qr = as_served(fhir_resources.questionnaire_response_json(stored))
    assert exported("QuestionnaireResponse", served_qr["id"]) == served_qr
    for observation in fhir_resources.observation_jsons(stored):
        assert exported("Observation", observation["id"]) == as_served(observation)
    served_procedure = as_served(
        fhir_resources.procedure_json(TreatmentSession.objects.get(pk=session.pk))
    )
    [old_procedure] = [r for r in before["Procedure"] if r["id"] == served_procedure["id"]]
    assert exported("Procedure", served_procedure["id"]) == served_procedure
    assert served_procedure != old_procedure  # the amendment reached the export
