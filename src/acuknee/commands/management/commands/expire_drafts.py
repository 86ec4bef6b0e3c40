"""``expire_drafts``: delete unfinished intakes not saved within their keeping time (run it from
cron, beside ``expire_exports``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from acuknee.care.services import expire_intake_drafts


class Command(BaseCommand):
    help = "Delete intake drafts not saved within ACUKNEE_INTAKE_DRAFT_DAYS."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = expire_intake_drafts()
        days = settings.ACUKNEE_INTAKE_DRAFT_DAYS
        self.stdout.write(f"{deleted} intake draft(s) deleted (kept {days} days)")
