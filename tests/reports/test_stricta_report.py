"""STRICTA methods from the clinic's records: a patient's course and a clinic's protocol.

The items are the core's (``acuknee.clinical.stricta``, tested in tests/clinical); here: the
records reach it, sources read as short citations (never raw knowledge-base ids), a protocol pools
its sessions, the page and PDF render, access follows the clinical roles, and the command line
writes each format or exits 2 naming the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from typer.testing import CliRunner

from acuknee.cli import app
from acuknee.clinical import load_knowledge
from acuknee.demo import DEMO_CLINIC_SLUG
from acuknee.records.models import Clinic, Patient, PlanRecord, StaffProfile
from acuknee.reports.stricta_report import (
    NothingToReport,
    References,
    patient_stricta,
    protocol_stricta,
    resolve_sources,
    short_citation,
    to_markdown,
)
from tests.pages.conftest import login
from tests.reports.conftest import DEMO_TODAY

RAW_ID = re.compile(r"\b(proto|points|instr|resp|pattern)_[a-z0-9_]+")
runner = CliRunner()


def _treated(demo: dict[str, Patient]) -> Patient:
    """A demo patient with a signed plan and at least three sessions."""
    return next(
        p for _, p in sorted(demo.items()) if p.sessions.filter(voided_at__isnull=True).count() >= 3
    )


def _untreated(demo: dict[str, Patient]) -> Patient:
    return next(p for _, p in sorted(demo.items()) if not p.plans.filter(status="signed"))


# --- citations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_id", "expected"),
    [
        ("proto_jensen1999", "Jensen et al. 1999"),
        ("proto_li_wu2022_itbs", "Li and Wu 2022"),
        ("lavine2010_itbs", "Lavine 2010"),
        ("proto_nice_ng226", "National Institute for Health and Care Excellence 2022"),
    ],
)
def test_sources_read_as_author_and_year(source_id: str, expected: str) -> None:
    assert short_citation(load_knowledge().sources[source_id]) == expected


def test_raw_source_ids_in_a_rationale_become_numbered_short_citations() -> None:
    refs = References(load_knowledge())
    text = resolve_sources("Local points. Sources: proto_jensen1999, proto_naslund2002.", refs)
    assert text == "Local points. Sources: Jensen et al. 1999 [1]; Näslund et al. 2002 [2]."
    assert [n for n, _, _ in refs.listing()] == [1, 2]
    assert refs.listing()[0][1].startswith("Jensen R")


def test_an_unknown_source_id_is_kept_rather_than_dropped() -> None:
    refs = References(load_knowledge())
    assert resolve_sources("X. Sources: nowhere_2020.", refs) == "X. Sources: nowhere_2020."


# --- a patient's course -----------------------------------------------------------------------


def test_patient_methods_cite_sources_without_raw_ids(demo: dict[str, Patient]) -> None:
    doc = patient_stricta(_treated(demo))
    assert doc.methods
    assert not RAW_ID.search(doc.methods), RAW_ID.search(doc.methods)
    assert not RAW_ID.search(doc.item_value("1b"))
    assert "[1]" in doc.item_value("1b")
    assert doc.references
    assert doc.references[0][0] == 1


def test_patient_items_come_from_the_sessions_given(demo: dict[str, Patient]) -> None:
    patient = _treated(demo)
    given = patient.sessions.filter(voided_at__isnull=True).count()
    doc = patient_stricta(patient)
    assert [i.id for i in doc.items][:4] == ["1a", "1b", "1c", "2a"]
    assert len(doc.items) == 17
    assert f"{given} session" in doc.item_value("3a")
    assert next(i for i in doc.items if i.id == "2a").origin == "sessions"


def test_practitioner_background_comes_from_the_signers_training(
    demo: dict[str, Patient],
) -> None:
    patient = _treated(demo)
    record = PlanRecord.objects.filter(patient=patient, status="signed").first()
    assert record is not None
    assert record.signed_by is not None
    StaffProfile.objects.filter(user=record.signed_by).update(
        training="Licensed acupuncturist, 12 years of practice", registration="REG-42"
    )
    doc = patient_stricta(patient)
    assert "Licensed acupuncturist, 12 years of practice (registration REG-42)" in (
        doc.item_value("5")
    )


def test_a_patient_without_a_signed_plan_has_nothing_to_report(
    demo: dict[str, Patient],
) -> None:
    with pytest.raises(NothingToReport, match="no signed plan"):
        patient_stricta(_untreated(demo))


def test_markdown_has_the_table_the_paragraph_and_the_references(
    demo: dict[str, Patient],
) -> None:
    doc = patient_stricta(_treated(demo))
    text = to_markdown(doc)
    assert "| Item | Topic | Asks for | Reported | Source of the value |" in text
    assert "## Methods paragraph\n\n" + doc.methods in text
    assert "## References\n\n1. " in text


def test_patient_stricta_counts_adverse_events_by_kind(demo: dict[str, Patient]) -> None:
    doc = patient_stricta(demo["DEMO-0012"], today=DEMO_TODAY)  # a bruise after session 2
    assert doc.adverse_events.startswith("1 adverse event in ")
    assert doc.adverse_events.endswith(": Bruising 1.")
    assert "## Adverse events\n\n" + doc.adverse_events in to_markdown(doc)


# --- a clinic's protocol ----------------------------------------------------------------------


def test_protocol_pools_every_session_given_on_it(demo: dict[str, Patient]) -> None:
    clinic = Clinic.objects.get(slug=DEMO_CLINIC_SLUG)
    on_protocol = [
        r
        for r in PlanRecord.objects.filter(patient__clinic=clinic, status="signed")
        if r.content.get("protocol") == "knee-oa-manual-gerac"
    ]
    sessions = sum(r.sessions.filter(voided_at__isnull=True).count() for r in on_protocol)
    doc = protocol_stricta(clinic, "knee-oa-manual-gerac")
    assert f"over {sessions} sessions" in doc.item_value("2a")
    patients = len({r.patient_id for r in on_protocol if r.sessions.exists()})
    assert doc.item_value("3a").startswith(f"{patients} patients received a mean of")
    assert "the protocol plans" in doc.item_value("3b")
    assert not RAW_ID.search(doc.methods)


def test_protocol_unused_by_the_clinic_reports_the_plan(demo: dict[str, Patient]) -> None:
    clinic = Clinic.objects.get(slug=DEMO_CLINIC_SLUG)
    doc = protocol_stricta(clinic, "iliotibial-band-manual-li-wu2022")
    assert doc.notes
    assert "No patient" in doc.notes[0]
    assert doc.item_value("2b").endswith("(planned)")
    assert "Li and Wu 2022 [1]" in doc.item_value("1b")


def test_unknown_protocol_names_the_known_ones(northside: Clinic) -> None:
    with pytest.raises(NothingToReport, match="knee-oa-manual-gerac"):
        protocol_stricta(northside, "no-such-protocol")


# --- pages, PDF and access ----------------------------------------------------------------------


def _demo_user(role: str) -> User:
    return User.objects.get(staff__clinic__slug=DEMO_CLINIC_SLUG, staff__role=role)


def test_patient_stricta_page_shows_items_and_paragraph(demo: dict[str, Patient]) -> None:
    patient = _treated(demo)
    response = login(_demo_user("practitioner")).get(f"/patients/{patient.pk}/stricta/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Methods paragraph" in html
    assert f"/patients/{patient.pk}/stricta.pdf" in html
    assert not RAW_ID.search(html)


def test_patient_stricta_pdf_reads_the_methods(
    demo: dict[str, Patient], pdf_pages: Callable[[bytes], Any]
) -> None:
    patient = _treated(demo)
    response = login(_demo_user("clinic_admin")).get(f"/patients/{patient.pk}/stricta.pdf")
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", pdf_pages(response.content).text)
    assert "STRICTA" in text
    assert "Methods paragraph" in text
    assert "Scharf et al. 2006 [1]" in text or "Jensen et al. 1999 [1]" in text
    assert not RAW_ID.search(text)


def test_protocol_stricta_page_and_pdf(
    demo: dict[str, Patient], pdf_pages: Callable[[bytes], Any]
) -> None:
    client = login(_demo_user("practitioner"))
    page = client.get("/reports/stricta/protocol/knee-oa-manual-gerac/")
    assert page.status_code == 200
    pdf = client.get("/reports/stricta/protocol/knee-oa-manual-gerac.pdf")
    assert pdf.status_code == 200
    assert "STRICTA" in pdf_pages(pdf.content).text
    assert client.get("/reports/stricta/protocol/no-such-protocol/").status_code == 404


def test_patient_without_plan_is_a_404(demo: dict[str, Patient]) -> None:
    patient = _untreated(demo)
    response = login(_demo_user("practitioner")).get(f"/patients/{patient.pk}/stricta/")
    assert response.status_code == 404


# --- the command line ---------------------------------------------------------------------------


def test_cli_writes_markdown_for_a_patient(demo: dict[str, Patient], tmp_path: Path) -> None:
    out = tmp_path / "methods.md"
    patient = _treated(demo)
    result = runner.invoke(
        app, ["report", "stricta", "--patient", str(patient.pk), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith(f"# STRICTA: {patient.record_number}")


def test_cli_writes_html_for_a_protocol(demo: dict[str, Patient], tmp_path: Path) -> None:
    out = tmp_path / "protocol.html"
    args = ["report", "stricta", "--protocol", "knee-oa-manual-gerac", "--clinic", "demo"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Methods paragraph" in out.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.md"], "exactly one of --patient ID or --protocol ID"),
        (["--patient", "999999", "--out", "x.md"], "no patient with id 999999"),
        (["--protocol", "nope", "--clinic", "demo", "--out", "x.md"], "no protocol 'nope'"),
        (["--protocol", "knee-oa-manual-gerac", "--out", "x.md"], "several clinics"),
        (["--patient", "1", "--out", "x.docx"], "must end in .pdf, .html, .md"),
    ],
)
def test_cli_bad_input_exits_2_naming_the_problem(
    demo: dict[str, Patient], tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["report", "stricta", *args])
    assert result.exit_code == 2
    assert message in result.stderr
