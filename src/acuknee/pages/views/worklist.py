"""The practitioner's worklist page: the clinic's open tasks (``care.worklist``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone

from acuknee.accounts.access import clinic_view, staff_clinic
from acuknee.care.worklist import worklist_of


@clinic_view()
def worklist(request: HttpRequest) -> HttpResponse:
    """The clinical roles' landing page after sign-in."""
    context = worklist_of(staff_clinic(request).pk, timezone.localdate(), timezone.now())
    return render(request, "pages/worklist.html", context)


urlpatterns: list[URLPattern] = [path("worklist/", worklist, name="worklist")]
