"""``python -m acuknee.manage run_export <job id>``: run a queued FHIR ``$export`` job here.

For a deployment that runs exports in a separate process instead of the web server's thread.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acuknee.api.bulk_export import run_job
from acuknee.records.models import ExportJob


class Command(BaseCommand):
    help = "Run a queued FHIR Bulk Data export job and write its NDJSON files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", help="the export job's id (from its status URL)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job_id = uuid.UUID(options["job_id"])
        except ValueError:
            raise CommandError(f"not a job id: {options['job_id']!r}") from None
        if not ExportJob.objects.filter(pk=job_id).exists():
            raise CommandError(f"no export job {job_id}")
        try:
            status = run_job(job_id)
        except Exception as exc:
            raise CommandError(f"export {job_id} failed: {exc}") from exc
        self.stdout.write(f"export {job_id}: {status}")
