"""Fixtures for the report tests: the clinic personas, the demo clinic, and poppler's tools.

The demo clinic (``load_demo``, built once per run) gives every stage of a course; the reports
are checked on it.
``pdf_pages`` turns a PDF into text (pdftotext) and pictures (pdftoppm), or skips with a clear
message when poppler-utils is missing (tests/reports/setup.sh installs it where it can).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from acuknee.demo import DEMO_CLINIC_SLUG
from acuknee.records.models import Patient
from tests.demo_snapshot import restore_demo
from tests.pages.conftest import *  # noqa: F403

DEMO_TODAY = dt.date(2026, 3, 2)
"""A fixed 'today' for the demo clinic, so dates in the reports are reproducible."""


@pytest.fixture(scope="module")
def demo_clinic(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The demo clinic (built once per run: tests/demo_snapshot.py) in every test of the module,
    inside a transaction rolled back when the module ends: each test still runs in its own
    savepoint (``db``), and nothing leaks into other modules."""
    with django_db_blocker.unblock(), transaction.atomic():
        restore_demo(tmp_path_factory, DEMO_TODAY)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_clinic: None, db: Any) -> dict[str, Patient]:
    """The demo clinic as of ``DEMO_TODAY``: its patients by record number."""
    return {p.record_number: p for p in Patient.objects.filter(clinic__slug=DEMO_CLINIC_SLUG)}


@dataclass
class PdfPages:
    """A PDF seen as a reader sees it: its text and one PNG per page."""

    text: str
    pages: list[Path]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(
            f"{tool} (poppler-utils) is missing: run tests/reports/setup.sh or "
            "'apt-get install poppler-utils' to check the PDFs as pictures and text"
        )
    return path


def read_pdf(pdf: bytes, folder: Path) -> PdfPages:
    """PDF bytes as text (pdftotext -layout) and PNG pages (pdftoppm, 50 dpi) in ``folder``."""
    pdftotext, pdftoppm = _need("pdftotext"), _need("pdftoppm")
    source = folder / "report.pdf"
    source.write_bytes(pdf)
    text = subprocess.run(
        [pdftotext, "-layout", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    subprocess.run([pdftoppm, "-r", "50", "-png", str(source), str(folder / "page")], check=True)
    return PdfPages(text=text, pages=sorted(folder.glob("page*.png")))


@pytest.fixture
def pdf_pages(tmp_path: Path) -> Callable[[bytes], PdfPages]:
    """Convert PDF bytes to text (pdftotext -layout) and PNG pages (pdftoppm, 50 dpi)."""
    _need("pdftotext")
    _need("pdftoppm")
    return lambda pdf: read_pdf(pdf, tmp_path)
