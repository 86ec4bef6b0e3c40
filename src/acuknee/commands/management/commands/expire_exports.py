"""``expire_exports``: remove finished Bulk Data export files past their retention (run it from
cron; kick-off also sweeps)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from acuknee.api.bulk_export import expire_exports, retention


class Command(BaseCommand):
    help = "Remove FHIR Bulk Data export files older than ACUKNEE_EXPORT_RETENTION_HOURS."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = expire_exports()
        self.stdout.write(f"{expired} export(s) expired (retention {retention()})")
