"""The researcher's landing page: de-identified network counts only, small cells suppressed.

Pooled outcomes and the evidence view are the research network's own work (issue 6); this page
only gives researchers somewhere to land that shows no patient-level data.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path

from acuknee.clinic.access import clinic_view, staff_profile
from acuknee.clinic.models import Clinic, Role

SMALL_CELL = 5
"""Counts below this are shown as "<5" so no small group can be singled out."""


def suppress(count: int) -> str:
    return f"<{SMALL_CELL}" if 0 < count < SMALL_CELL else str(count)


def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its landing page after sign-in."""
    if not request.user.is_authenticated:
        return redirect("login")
    if staff_profile(request).role == Role("researcher"):
        return redirect("research-home")
    return redirect("patient-list")


@clinic_view(roles={Role("researcher")})
def research_home(request: HttpRequest) -> HttpResponse:
    live = Q(patients__voided_at__isnull=True)
    clinics = Clinic.objects.annotate(
        n_patients=Count("patients", filter=live, distinct=True),
        n_signed=Count(
            "patients__plans", filter=live & Q(patients__plans__status="signed"), distinct=True
        ),
        n_sessions=Count("patients__sessions", filter=live, distinct=True),
    ).order_by("name")
    rows = [
        {
            "region": c.region or "-",
            "clinic": c.name,
            "patients": suppress(c.n_patients),
            "signed": suppress(c.n_signed),
            "sessions": suppress(c.n_sessions),
        }
        for c in clinics
    ]
    return render(request, "clinic/research_home.html", {"rows": rows, "small_cell": SMALL_CELL})


urlpatterns: list[URLPattern] = [
    path("home/", home, name="home"),
    path("research/", research_home, name="research-home"),
]
