"""The researcher's pages: de-identified network counts and pooled outcomes, aggregates only.

The landing page counts activity by clinic; "Network outcomes" shows the pooled report
(``acuknee.research.analytics``: SQL in the database engine over the research tables, refreshed
nightly by ``refresh_research``) by breakdown, with filters. Both suppress small cells: a count
under 5 is shown as "<5" and the rates built on it are hidden. No page here shows a patient.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path

from acuknee.accounts.access import clinic_view, landing_page, staff_profile
from acuknee.clinical.vocabulary import Cause, Method, Severity
from acuknee.forms.base import Form
from acuknee.records.models import Clinic, Role
from acuknee.research import analytics
from acuknee.research.schema import AGE_BANDS, SEXES

SMALL_CELL = analytics.SMALL_CELL
"""Counts below this are shown as "<5" so no small group can be singled out."""


def suppress(count: int) -> str:
    return f"<{SMALL_CELL}" if 0 < count < SMALL_CELL else str(count)


@clinic_view(roles=frozenset(Role(value) for value in Role.values))
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its landing page after sign-in: the worklist for practitioners and
    clinic admins, the patient list for front desk, the network pages for a researcher."""
    return redirect(landing_page(staff_profile(request).role))


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
    return render(request, "pages/research_home.html", {"rows": rows, "small_cell": SMALL_CELL})


# --- network outcomes ----------------------------------------------------------------------------

DIMENSION_LABELS: dict[str, str] = {
    "all": "Whole network",
    "clinic": "Clinic",
    "region": "Region",
    "cause": "Likely cause",
    "severity_band": "Severity",
    "age_band": "Age band",
    "sex": "Sex",
    "diabetes": "Diabetes",
    "anticoagulated": "Anticoagulated",
    "cardiac_device": "Cardiac device",
    "knee_prosthesis": "Knee prosthesis",
    "protocol": "Protocol",
    "method": "Method",
    "sessions_band": "Sessions attended",
}


def _choices(values: Any, blank: str = "Any") -> list[tuple[str, str]]:
    return [("", blank), *((str(v), _level_text(str(v))) for v in values)]


def _level_text(level: str) -> str:
    """A breakdown's level as a person reads it: a cause by its label ("Osgood-Schlatter
    disease", not "osgood schlatter disease"), any other code with its underscores as spaces."""
    if level in _CAUSE_CODES:
        return Cause(level).label
    return level.replace("_", " ")


_CAUSE_CODES = frozenset(c.value for c in Cause)


class OutcomesFilterForm(Form):
    """The breakdown and the filters; every value is checked against a fixed list."""

    by = forms.ChoiceField(
        label="Breakdown",
        required=False,
        choices=[("", "All breakdowns"), *((d, DIMENSION_LABELS[d]) for d in analytics.DIMENSIONS)],
    )
    clinic = forms.TypedChoiceField(label="Clinic", required=False, coerce=int, empty_value=None)
    cause = forms.ChoiceField(label="Likely cause", required=False, choices=_choices(Cause))
    method = forms.ChoiceField(label="Method", required=False, choices=_choices(Method))
    sex = forms.ChoiceField(label="Sex", required=False, choices=_choices(SEXES))
    age_band = forms.ChoiceField(label="Age band", required=False, choices=_choices(AGE_BANDS))
    severity_band = forms.ChoiceField(label="Severity", required=False, choices=_choices(Severity))
    period = forms.RegexField(
        label="Started in (year or quarter)",
        required=False,
        max_length=7,
        regex=r"^[0-9]{4}(-Q[1-4])?$",
        error_messages={"invalid": "a calendar year (2026) or quarter (2026-Q1)"},
        help_text="Whole calendar years or quarters only, so that two periods never differ by "
        "a few courses.",
    )

    def __init__(self, *args: Any, clinics: list[Clinic], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["clinic"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "Any"), *((str(c.pk), c.name) for c in clinics)]

    def filters(self) -> analytics.Filters:
        d = self.cleaned_data
        return analytics.Filters(
            clinic=d.get("clinic"),
            cause=d.get("cause") or None,
            method=d.get("method") or None,
            sex=d.get("sex") or None,
            age_band=d.get("age_band") or None,
            severity_band=d.get("severity_band") or None,
            period=d.get("period") or None,
        )


def outcome_sections(rep: analytics.Report, clinic_names: dict[int, str]) -> list[dict[str, Any]]:
    """The report's rows grouped by breakdown, as table cells; clinic ids shown by name."""
    sections: dict[str, dict[str, Any]] = {}
    for row in rep.outcomes:
        dimension = row["dimension"]
        cells = analytics.outcome_cells(row)[1:]
        if dimension == "clinic" and row["level"].isdigit():
            cells[0] = clinic_names.get(int(row["level"]), f"clinic {row['level']}")
        elif dimension == "cause":
            cells[0] = _level_text(cells[0])
        else:
            cells[0] = cells[0].replace("_", " ")
        section = sections.setdefault(
            dimension,
            {"dimension": dimension, "label": DIMENSION_LABELS[dimension], "rows": []},
        )
        section["rows"].append(cells)
    return list(sections.values())


@clinic_view(roles={Role("researcher")})
def research_outcomes(request: HttpRequest) -> HttpResponse:
    """Pooled outcomes across the network, by breakdown, filtered; aggregates only."""
    clinics = list(Clinic.objects.order_by("name"))
    form = OutcomesFilterForm(request.GET or None, clinics=clinics)
    context: dict[str, Any] = {
        "form": form,
        "small_cell": SMALL_CELL,
        "headers": analytics.OUTCOME_HEADERS[1:],
        "ae_headers": analytics.AE_HEADERS,
    }
    if request.GET and not form.is_valid():
        return render(request, "pages/research_outcomes.html", context, status=400)
    filters = form.filters() if request.GET else analytics.Filters()
    by = form.cleaned_data.get("by") if request.GET else None
    try:
        rep = analytics.report(analytics.django_engine(), filters, by=by or None)
    except analytics.ReportError as exc:  # more filters than the differencing check compares
        form.add_error(None, str(exc))
        return render(request, "pages/research_outcomes.html", context, status=400)
    names = {c.pk: c.name for c in clinics}
    context |= {
        "report": rep,
        "sections": outcome_sections(rep, names),
        "adverse_events": [analytics.adverse_event_cells(r) for r in rep.adverse_events],
        "empty": not rep.outcomes or rep.outcomes[0]["n"] == 0,
    }
    return render(request, "pages/research_outcomes.html", context)


urlpatterns: list[URLPattern] = [
    path("home/", home, name="home"),
    path("research/", research_home, name="research-home"),
    path("research/outcomes/", research_outcomes, name="research-outcomes"),
]
