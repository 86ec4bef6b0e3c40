"""URLs for tests/fhir/test_bulk.py: the ``$export`` views with a runner that only queues, so a
test sees a job before it runs and then runs it itself (``bulk_export.run_job``); the REST API
beside them, so a test can write through it and then export."""

from __future__ import annotations

import uuid

from django.urls import URLPattern, URLResolver, include, path

from acuknee.api import bulk_export

QUEUED: list[uuid.UUID] = []


def queue(job_id: uuid.UUID) -> None:
    QUEUED.append(job_id)


urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", include("acuknee.api.urls")),
    path("fhir/", include(bulk_export.urlpatterns_for(queue))),
]
