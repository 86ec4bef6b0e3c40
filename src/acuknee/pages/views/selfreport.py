"""Patient self-report: a single-use link that expires, filled on a phone without an account.

Front desk or a practitioner issues the link and sees its URL once (only a hash of the token is
stored). The patient's answers are validated and scored by the core (``forms.measurements``) and
stored as Measurements with origin ``self_report``; the link is marked used in the same
transaction, by a conditional update, so two submissions cannot both land. CSRF protection stays
on for the patient's form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import segno
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache

from acuknee.accounts.access import SCHEDULING_ROLES, clinic_view, public_view
from acuknee.care import errors, services
from acuknee.clinical import load_knowledge
from acuknee.forms.measurements import SELF_REPORT_INSTRUMENTS, MeasurementsForm
from acuknee.records.models import Patient, SelfReportLink

LINK_VALID_FOR = dt.timedelta(days=7)
"""How long a link stays open: a week covers the days before a reassessment visit."""


def _links(patient: Patient) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for link in patient.links.order_by("-created_at"):
        if link.used_at is not None:
            state = f"used {link.used_at:%Y-%m-%d %H:%M}"
        elif link.expires_at <= now:
            state = "expired"
        else:
            state = "open"
        rows.append({"link": link, "state": state})
    return rows


def qr_svg(url: str) -> SafeString:
    """The link as a QR code, an inline SVG to show on the screen in the room (no image file,
    no network; segno writes only paths, so nothing in it conflicts with the CSP)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", svgclass="qr", lineclass=None
    )
    label = "QR code of the questionnaire link: scan it with the phone's camera"
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


def invitation(patient: Patient, url: str, expires: dt.datetime) -> dict[str, str]:
    """A ready message for email or SMS: who asks, what for, the link, and until when."""
    clinic = patient.clinic
    day = timezone.localtime(expires)
    until = f"{day.day} {day:%B %Y}"
    call = f" Questions? Call us on {clinic.phone}." if clinic.phone else ""
    body = (
        f"Hello {patient.given_name}, {clinic.name} asks you to answer a short questionnaire "
        f"about your knee before your next visit. It takes about 10 minutes. Open this link on "
        f"your phone: {url} The link works once and until {until}.{call}"
    )
    subject = f"Your knee questionnaire from {clinic.name}"
    return {
        "subject": subject,
        "body": body,
        "mailto": f"mailto:{quote(patient.email)}?subject={quote(subject)}&body={quote(body)}",
        "sms": f"sms:{quote(patient.phone, safe='+')}?body={quote(body)}",
    }


@never_cache
@clinic_view(roles=SCHEDULING_ROLES)
def selfreport_issue(request: HttpRequest, patient: Patient) -> HttpResponse:
    """GET: the patient's links and a button to issue one; POST: issue it and show its URL once."""
    url = None
    status = 200
    sharing: dict[str, Any] = {}
    if request.method == "POST":
        try:
            link, token = services.issue_self_report_link(
                patient, request.user, list(SELF_REPORT_INSTRUMENTS), LINK_VALID_FOR
            )
        except errors.CareError:
            status = 409
        else:
            url = request.build_absolute_uri(reverse("selfreport-fill", args=[token]))
            sharing = {"qr": qr_svg(url), "message": invitation(patient, url, link.expires_at)}
            status = 201
    kb = load_knowledge()
    context = {
        "patient": patient,
        "link_url": url,
        **sharing,
        "links": _links(patient),
        "instruments": [kb.instruments[i].name for i in SELF_REPORT_INSTRUMENTS],
        "valid_days": LINK_VALID_FOR.days,
    }
    return render(request, "pages/selfreport_issue.html", context, status=status)


def _gone(request: HttpRequest, link: SelfReportLink) -> HttpResponse:
    state = "used" if link.used_at is not None else "expired"
    return render(request, "pages/selfreport_done.html", {"state": state}, status=410)


@never_cache
@public_view(reason="a patient's self-report link: the unguessable token is the key")
def selfreport_fill(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's form: 404 for an unknown token, 410 for a used or expired link."""
    try:
        link = SelfReportLink.objects.select_related("patient").get(
            token_hash=SelfReportLink.hash_token(token)
        )
    except SelfReportLink.DoesNotExist as exc:
        raise Http404("unknown link") from exc
    if not link.usable or link.patient.is_voided:
        return _gone(request, link)
    if request.method != "POST":
        form = MeasurementsForm(instruments=link.instruments, with_date=False, audience="patient")
        return render(request, "pages/selfreport_form.html", {"form": form})
    form = MeasurementsForm(
        request.POST, instruments=link.instruments, with_date=False, audience="patient"
    )
    if not form.is_valid():
        return render(request, "pages/selfreport_form.html", {"form": form}, status=400)
    try:
        services.record_self_report(link, form.answers, form.scores)
    except errors.LinkGone:
        link.refresh_from_db()
        return _gone(request, link)
    return render(request, "pages/selfreport_done.html", {"state": "thanks"})


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/self-report/", selfreport_issue, name="selfreport-issue"),
    path("r/<str:token>/", selfreport_fill, name="selfreport-fill"),
]
