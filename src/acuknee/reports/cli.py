"""``acuknee report ...``: the reports of issue 5 from the command line."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Progress reports, referral letters, STRICTA, clinic.")


# --- clinic outcomes and STRICTA (clinic-report helper) -------------------------------------------

import datetime as _dt  # noqa: E402  (stdlib, cheap: the CLI still starts fast)

_EXIT_BAD_INPUT = 2


def _bad_input(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the caller raises the returned exit (status 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(_EXIT_BAD_INPUT)


def _date_option(value: str | None, option: str) -> _dt.date | None:
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise _bad_input(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def _out_kind(out: str, allowed: tuple[str, ...]) -> str:
    suffix = out.rsplit(".", 1)[-1].lower() if "." in out else ""
    if suffix not in allowed:
        raise _bad_input(
            f"--out: {out!r} must end in {', '.join('.' + a for a in allowed)} (the format)"
        )
    return suffix


def _write(out: str, data: bytes) -> None:
    from pathlib import Path

    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise _bad_input(f"--out: cannot write {out!r}: {exc.strerror}") from None
    typer.echo(out)


@app.command("clinic")
def clinic_command(
    slug: str = typer.Argument(..., help="The clinic's slug (e.g. demo)."),
    out: str = typer.Option(..., "--out", help="Output file: .pdf or .html."),
    start: str | None = typer.Option(None, "--start", help="First session date (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--end", help="Last session date (default: today)."),
) -> None:
    """The clinic outcomes report: responders, completion, change, adverse events (95% CIs)."""
    kind = _out_kind(out, ("pdf", "html"))
    first, last = _date_option(start, "--start"), _date_option(end, "--end")
    from acuknee.django_setup import setup_django

    setup_django()
    from acuknee.records.models import Clinic
    from acuknee.reports.clinic_report import BadPeriod, clinic_report, render_print_html

    clinic = Clinic.objects.filter(slug=slug).first()
    if clinic is None:
        known = ", ".join(Clinic.objects.order_by("slug").values_list("slug", flat=True))
        raise _bad_input(f"no clinic with slug {slug!r} (known: {known or 'none'})")
    try:
        report = clinic_report(clinic, first, last)
    except BadPeriod as exc:
        raise _bad_input(f"--start/--end: {exc}") from None
    html = render_print_html(report)
    if kind == "html":
        _write(out, html.encode())
        return
    from acuknee.reports.progress import html_to_pdf

    _write(out, html_to_pdf(html))


@app.command("stricta")
def stricta_command(
    out: str = typer.Option(..., "--out", help="Output file: .pdf, .html or .md."),
    patient: int | None = typer.Option(None, "--patient", help="A patient's id: their course."),
    protocol: str | None = typer.Option(None, "--protocol", help="A protocol id, for a clinic."),
    clinic: str | None = typer.Option(
        None, "--clinic", help="With --protocol: the clinic's slug (needed if several)."
    ),
) -> None:
    """STRICTA 2010 methods (items table and a methods paragraph) for a course or a protocol."""
    kind = _out_kind(out, ("pdf", "html", "md"))
    if (patient is None) == (protocol is None):
        raise _bad_input("give exactly one of --patient ID or --protocol ID")
    from acuknee.django_setup import setup_django

    setup_django()
    from acuknee.records.models import Clinic, Patient
    from acuknee.reports.stricta_report import (
        NothingToReport,
        patient_stricta,
        protocol_stricta,
        render_stricta_html,
        to_markdown,
    )

    try:
        if patient is not None:
            found = Patient.objects.select_related("clinic").filter(pk=patient).first()
            if found is None:
                raise _bad_input(f"--patient: no patient with id {patient}")
            doc, clinic_name = patient_stricta(found), found.clinic.name
        else:
            assert protocol is not None
            clinics = Clinic.objects.order_by("slug")
            chosen = clinics.filter(slug=clinic).first() if clinic else None
            if clinic and chosen is None:
                raise _bad_input(f"--clinic: no clinic with slug {clinic!r}")
            if chosen is None:
                if clinics.count() != 1:
                    slugs = ", ".join(c.slug for c in clinics)
                    raise _bad_input(f"--clinic: several clinics, name one ({slugs})")
                chosen = clinics.first()
            assert chosen is not None
            doc, clinic_name = protocol_stricta(chosen, protocol), chosen.name
    except NothingToReport as exc:
        raise _bad_input(str(exc)) from None
    if kind == "md":
        _write(out, to_markdown(doc).encode())
        return
    html = render_stricta_html(doc, clinic_name)
    if kind == "html":
        _write(out, html.encode())
        return
    from acuknee.reports.progress import html_to_pdf

    _write(out, html_to_pdf(html))


# --- patient progress report and referral letter (patient-report helper) -------------------------


@app.command("patient")
def patient_command(
    patient_id: int = typer.Argument(..., help="The patient's id (as in /patients/ID/)."),
    out: str = typer.Option(..., "--out", help="Output file: .pdf, or .html for the page."),
    today: str | None = typer.Option(None, "--today", help="Report date (default: today)."),
) -> None:
    """The patient's progress report: plan, sessions, five-domain charts, verdicts."""
    kind = _out_kind(out, ("pdf", "html"))
    day = _date_option(today, "--today")
    from acuknee.django_setup import setup_django

    setup_django()
    from acuknee.records.models import Patient
    from acuknee.reports.progress import (
        build_patient_report,
        html_to_pdf,
        render_patient_report,
    )

    patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first()
    if patient is None:
        raise _bad_input(f"PATIENT_ID: no patient with id {patient_id}")
    report = build_patient_report(patient, today=day, for_print=kind == "pdf")
    html = render_patient_report(report, for_print=True)
    _write(out, html.encode() if kind == "html" else html_to_pdf(html))


@app.command("referral")
def referral_command(
    intake_id: int = typer.Argument(..., help="The intake's id whose red flags to refer."),
    out: str = typer.Option(..., "--out", help="Output file: .pdf, or .html for the page."),
    practitioner: str | None = typer.Option(
        None, "--practitioner", help="Username signing the letter (default: who recorded it)."
    ),
) -> None:
    """The referral letter for an intake's red flags: reason, findings, urgency, practitioner."""
    kind = _out_kind(out, ("pdf", "html"))
    from acuknee.django_setup import setup_django

    setup_django()
    from acuknee.records.models import IntakeRecord, StaffProfile
    from acuknee.reports.progress import html_to_pdf
    from acuknee.reports.referral import ReferralUnavailable, build_referral, render_referral

    record = IntakeRecord.objects.select_related("patient__clinic").filter(pk=intake_id).first()
    if record is None:
        raise _bad_input(f"INTAKE_ID: no intake with id {intake_id}")
    staff = StaffProfile.objects.select_related("user", "clinic")
    if practitioner:
        signer = staff.filter(user__username=practitioner).first()
        if signer is None:
            raise _bad_input(f"--practitioner: no staff member {practitioner!r}")
    else:
        signer = staff.filter(user=record.created_by).first() if record.created_by_id else None
        if signer is None:
            raise _bad_input("--practitioner: the intake has no recording practitioner; name one")
    try:
        letter = build_referral(record, signer)
    except ReferralUnavailable as exc:
        raise _bad_input(f"INTAKE_ID: {exc}") from None
    html = render_referral(letter, for_print=True)
    _write(out, html.encode() if kind == "html" else html_to_pdf(html))
