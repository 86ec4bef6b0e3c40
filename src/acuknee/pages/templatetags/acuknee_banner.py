"""``{% safety_banner %}``: the safety banner at the top of every page of a patient, for the
roles that read clinical notes. Computed in one place (``care.queries.safety_banner``), from the
page's ``chart`` when it has read the patient's records (``care.chart``)."""

from __future__ import annotations

from typing import Any

from django import template

from acuknee.accounts.access import CLINICAL_ROLES
from acuknee.care.chart import Chart
from acuknee.care.queries import safety_banner as banner_items
from acuknee.records.models import Patient

register = template.Library()


@register.inclusion_tag("pages/_safety_banner.html", takes_context=True)
def safety_banner(context: template.Context) -> dict[str, Any]:
    """The banner's items for the page's ``patient``: none on pages without a patient, for a
    patient's own phone (no signed-in staff) and for roles without clinical access."""
    patient = context.get("patient")
    request = context.get("request")
    staff = getattr(getattr(request, "user", None), "staff", None) if request else None
    role = getattr(staff, "role", None)
    if not isinstance(patient, Patient) or patient.pk is None or role not in CLINICAL_ROLES:
        return {"items": [], "patient": None}
    chart = context.get("chart")
    if isinstance(chart, Chart) and chart.patient.pk == patient.pk:
        return {"items": chart.banner(), "patient": patient}  # read once with the page
    return {"items": banner_items(patient), "patient": patient}
