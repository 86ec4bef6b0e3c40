"""Which safety banner a page shows: the items of the page's ``patient``, for the roles that
read clinical notes. Computed in one place (``care.queries.banner_from``), from what the page
has read of the patient's records, its ``chart``: the records (``care.chart.Chart``), the
session page's ``care.queries.SessionSetting``, or the latest intake
(``care.queries.LatestIntakeRead``); else by ``care.queries.safety_banner``."""

from __future__ import annotations

from typing import Any

from acuknee.accounts.access import CLINICAL_ROLES
from acuknee.care.chart import Chart
from acuknee.care.queries import LatestIntakeRead, SessionSetting
from acuknee.care.queries import safety_banner as banner_items
from acuknee.records.models import Patient


def banner_context(patient: Any, request: Any, chart: Any) -> dict[str, Any]:
    """The banner's items and patient: none on pages without a patient, for a patient's own
    phone (no signed-in staff) and for roles without clinical access."""
    staff = getattr(getattr(request, "user", None), "staff", None) if request else None
    role = getattr(staff, "role", None)
    if not isinstance(patient, Patient) or patient.pk is None or role not in CLINICAL_ROLES:
        return {"items": [], "patient": None}
    if (
        isinstance(chart, Chart | SessionSetting | LatestIntakeRead)
        and chart.patient.pk == patient.pk
    ):
        return {"items": chart.banner(), "patient": patient}  # read once with the page
    return {"items": banner_items(patient), "patient": patient}
