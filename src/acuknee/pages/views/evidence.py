"""The evidence pages: the trials, the random-effects meta-analysis and what to expect.

``/evidence/`` is for practitioners, clinic admins and researchers: forest plots vs sham and vs
no acupuncture (separately), the estimator chosen with a selector (DL, REML, PM; Knapp-Hartung on
or off) with the common-effect model beside it, heterogeneity with its definitions, every trial
with its citation, the guideline stances.
Researchers have no clinic; the page needs none, so ``clinic_view`` admits them as it does on
``research_home``. Front desk is refused (403): clinical evidence is not part of their work.

``/evidence/what-to-expect/`` is public (no login): it holds no patient data, only published
trial results in plain words, and patients have no accounts, so a practitioner can hand over
the link or print the page. Everything shown is computed in ``acuknee.evidence.synthesis``.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from acuknee.accounts.access import clinic_view, public_view
from acuknee.evidence.data import load_evidence
from acuknee.evidence.meta import METHODS, Method
from acuknee.evidence.synthesis import (
    NICE_MID,
    comparison_rows,
    patient_page,
    pooled_analyses,
    responder_figures,
)
from acuknee.forms.base import Form
from acuknee.records.models import Role

EVIDENCE_ROLES = frozenset({Role("practitioner"), Role("clinic_admin"), Role("researcher")})
"""Who may open the staff evidence page (no patient data; front desk has no clinical pages)."""

METHOD_NAMES = {
    "DL": "DerSimonian-Laird",
    "REML": "Restricted maximum likelihood (REML)",
    "PM": "Paule-Mandel",
}
DEFAULT_METHOD: Method = "REML"


class MethodForm(Form):
    """The estimator selector: tau^2 method and Knapp-Hartung on or off."""

    method = forms.ChoiceField(
        label="Between-study variance (tau²) estimator",
        choices=[(m, METHOD_NAMES[m]) for m in METHODS],
        initial=DEFAULT_METHOD,
    )
    knha = forms.BooleanField(
        label="Knapp-Hartung adjustment (t distribution with k − 1 df)",
        required=False,
        initial=True,
    )


@clinic_view(roles=EVIDENCE_ROLES)
def evidence(request: HttpRequest) -> HttpResponse:
    status = 200
    method: Method = DEFAULT_METHOD
    knha = True
    if "method" in request.GET:
        form = MethodForm(request.GET)
        if form.is_valid():
            method = form.cleaned_data["method"]
            knha = form.cleaned_data["knha"]
        else:
            status = 400
    else:
        form = MethodForm(initial={"method": DEFAULT_METHOD, "knha": True})
    ev = load_evidence()
    reviews = [{"review": r, "sources": ev.cite(r.source)} for r in ev.reviews]
    guidelines = [{"guideline": g, "sources": ev.cite(g.source)} for g in ev.guidelines]
    trials = [{"trial": t, "sources": ev.cite(t.source)} for t in ev.trials]
    context = {
        "form": form,
        "method": method,
        "method_name": METHOD_NAMES[method],
        "knha": knha,
        "analyses": pooled_analyses(method, knha),
        "comparisons": comparison_rows(),
        "reviews": reviews,
        "guidelines": guidelines,
        "trials": trials,
        "nice_mid": NICE_MID,
        "meta": ev.meta,
    }
    return render(request, "pages/evidence.html", context, status=status)


@public_view(
    reason="published trial results in plain words, no patient data; patients have no "
    "accounts, so practitioners hand out or print this page"
)
def what_to_expect(request: HttpRequest) -> HttpResponse:
    context = {"figures": responder_figures(), "page": patient_page()}
    return render(request, "pages/evidence_what_to_expect.html", context)


urlpatterns: list[URLPattern] = [
    path("evidence/", evidence, name="evidence"),
    path("evidence/what-to-expect/", what_to_expect, name="evidence-what-to-expect"),
]
