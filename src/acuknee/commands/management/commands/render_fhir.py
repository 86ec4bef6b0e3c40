"""``render_fhir``: store the FHIR Bulk Data lines of every Patient and Measurement that lacks
current ones (saved by ``bulk_create`` or an import, or under an older mapping after an upgrade).

An export is correct without this (it builds such rows itself) but slower; run it once after an
upgrade that raises ``acuknee.fhir.bulk.MAPPING_REVISION`` or after a bulk load."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from acuknee.care import fhir_lines
from acuknee.fhir import bulk
from acuknee.records.models import Measurement, Patient


class Command(BaseCommand):
    help = "Store current FHIR export lines for patients and measurements that lack them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=2000, help="rows rendered per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = max(1, int(options["batch"]))
        version = bulk.render_version()
        for model in (Patient, Measurement):
            done = failed = 0
            last = 0
            stale = model.objects.exclude(fhir_version=version).order_by("pk")
            while rows := list(stale.filter(pk__gt=last)[:batch]):
                last = rows[-1].pk
                rendered = [row for row in rows if fhir_lines.render(row)]
                failed += len(rows) - len(rendered)
                with transaction.atomic():
                    model.objects.bulk_update(rendered, list(model.RENDERED))
                done += len(rendered)
            self.stdout.write(
                f"{model.__name__}: {done} rendered"
                + (f", {failed} left for the export to build (unrenderable)" if failed else "")
            )
