"""``python -m acuknee.manage refresh_research``: rebuild the research tables from the records.

Run it nightly (cron or a systemd timer) and after bulk edits or imports; the network report
reads the tables as last refreshed. See ``acuknee.research.refresh``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from acuknee.research.refresh import refresh


class Command(BaseCommand):
    help = (
        "Rebuild research_course and research_adverse_event (de-identified, one row per course) "
        "from the clinic's records; run nightly and after bulk edits."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(refresh().text())
