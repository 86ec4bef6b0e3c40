"""Bulk export jobs whose worker died: failed and reported, never "202 in progress" for ever;
and exported files readable only while their user is still in that clinic and role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from acuknee.api.bulk_export import STALLED_AFTER, run_job
from acuknee.records.models import ApiToken, Clinic, ExportJob, Patient, Role
from tests.fhir import bulk_urls

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture(autouse=True)
def _bulk_site(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.ROOT_URLCONF = "tests.fhir.bulk_urls"
    settings.ACUKNEE_EXPORTS_DIR = str(tmp_path / "exports")
    bulk_urls.QUEUED.clear()
    yield
    bulk_urls.QUEUED.clear()


def _headers(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {ApiToken.issue(user, 'bulk')[1]}"}


def _kickoff(user: User) -> tuple[str, dict[str, str]]:
    headers = _headers(user)
    response = Client().get("/fhir/$export", headers=headers | ASYNC)
    assert response.status_code == 202, response.content
    return response["Content-Location"].removeprefix("http://testserver"), headers


def _left_running(beat_ago: dt.timedelta) -> None:
    """The worker took the job, then died: status running, its last beat ``beat_ago``."""
    ExportJob.objects.filter(pk=bulk_urls.QUEUED[-1]).update(
        status=ExportJob.Status.RUNNING,
        progress="reading patients",
        heartbeat_at=timezone.now() - beat_ago,
    )


def test_a_job_whose_worker_died_is_reported_failed_with_an_operation_outcome(
    alice: User,
) -> None:
    status, headers = _kickoff(alice)
    _left_running(STALLED_AFTER + dt.timedelta(seconds=1))
    response = Client().get(status, headers=headers)
    assert response.status_code == 500
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "worker stopped" in body["issue"][0]["diagnostics"]
    job = ExportJob.objects.get(pk=bulk_urls.QUEUED[-1])
    assert (job.status, job.finished_at is not None) == (ExportJob.Status.FAILED, True)


def test_a_job_that_beat_recently_is_still_in_progress(alice: User) -> None:
    status, headers = _kickoff(alice)
    _left_running(dt.timedelta(seconds=5))
    response = Client().get(status, headers=headers)
    assert response.status_code == 202
    assert ExportJob.objects.get(pk=bulk_urls.QUEUED[-1]).status == ExportJob.Status.RUNNING


def test_a_job_never_picked_up_fails_after_the_same_silence(alice: User) -> None:
    status, headers = _kickoff(alice)
    ExportJob.objects.filter(pk=bulk_urls.QUEUED[-1]).update(
        created_at=timezone.now() - STALLED_AFTER - dt.timedelta(seconds=1)
    )
    assert Client().get(status, headers=headers).status_code == 500


def test_a_running_job_beats(alice: User) -> None:
    _kickoff(alice)
    run_job(bulk_urls.QUEUED[-1])
    job = ExportJob.objects.get(pk=bulk_urls.QUEUED[-1])
    assert job.status == ExportJob.Status.COMPLETED
    assert job.heartbeat_at is not None


# --- downloads follow the user's current clinic and role ---------------------------------------


def _finished(user: User, patient: Patient) -> tuple[str, str, dict[str, str]]:
    status, headers = _kickoff(user)
    run_job(bulk_urls.QUEUED[-1])
    manifest = Client().get(status, headers=headers).json()
    [patients] = [o for o in manifest["output"] if o["type"] == "Patient"]
    return status, patients["url"].removeprefix("http://testserver"), headers


def test_a_user_moved_to_another_clinic_cannot_fetch_their_old_export(
    alice: User, patient: Patient, southside: Clinic
) -> None:
    status, file_url, headers = _finished(alice, patient)
    assert Client().get(file_url, headers=headers).status_code == 200
    alice.staff.clinic = southside
    alice.staff.save()
    assert Client().get(file_url, headers=headers).status_code == 404
    assert Client().get(status, headers=headers).status_code == 404


def test_a_user_demoted_to_front_desk_cannot_fetch_their_old_export(
    alice: User, patient: Patient
) -> None:
    _, file_url, headers = _finished(alice, patient)
    alice.staff.role = Role.FRONT_DESK
    alice.staff.save()
    assert Client().get(file_url, headers=headers).status_code == 403
