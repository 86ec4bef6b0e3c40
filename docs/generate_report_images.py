"""Make the example report pages in docs/images/ from the synthetic demo clinic.

    .venv/bin/python docs/generate_report_images.py [--out docs/images] [--dpi 100]

Builds a throw-away database in a temporary folder (migrate + ``load_demo`` on a fixed date, so
the pictures are reproducible and no real data can appear), prints the progress report of a
completed demo course, the referral letter of the demo's hot-knee patient, the clinic outcomes
report and the STRICTA methods of the demo's knee-OA protocol to PDF, and turns the pages into PNG
with poppler's ``pdftoppm``: report-page-1.png, report-page-2.png, ..., referral-letter.png,
clinic-report-page-1.png and stricta-report-page-1.png (first pages only: each report leads with
its picture there), quantised by pngquant when it is installed. Nothing is downloaded; the
commit-ready pictures are about 100 dpi.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TODAY = dt.date(2026, 3, 2)
"""The demo clinic's 'today': fixed, so the pages are the same on every run."""
PATIENT = "DEMO-0020"  # a completed course: a responder at both follow-ups
REFERRED = "DEMO-0027"  # hot swollen knee with fever: urgent referral
PROTOCOL = "knee-oa-manual-gerac"  # the demo clinic's most used protocol


def _pages(pdf: bytes, out: Path, stem: str, dpi: int, first_only: bool = False) -> list[Path]:
    """PDF bytes to ``stem-1.png`` ... (or ``stem.png`` for a single page) in ``out``."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        sys.exit("pdftoppm (poppler-utils) is needed: apt-get install poppler-utils")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(pdf)
        args = [tool, "-r", str(dpi), "-png"] + (["-f", "1", "-l", "1"] if first_only else [])
        subprocess.run([*args, str(source), str(Path(tmp) / "page")], check=True)
        made = sorted(Path(tmp).glob("page*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        written = []
        for number, page in enumerate(made, start=1):
            name = f"{stem}.png" if first_only else f"{stem}-{number}.png"
            target = out / name
            shutil.copyfile(page, target)
            written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images")
    parser.add_argument("--dpi", type=int, default=100)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="acuknee-doc-images-") as data_dir:
        # A private database: never the developer's own data, never a real patient.
        os.environ["ACUKNEE_DATA_DIR"] = data_dir
        os.environ.pop("ACUKNEE_DATABASE_URL", None)
        from acuknee.django_setup import setup_django

        setup_django()
        from django.core.management import call_command

        from acuknee.demo import load_demo
        from acuknee.records.models import Patient, StaffProfile
        from acuknee.reports.clinic_report import clinic_report, render_pdf
        from acuknee.reports.progress import html_to_pdf, patient_report_pdf
        from acuknee.reports.referral import build_referral, referral_intake, render_referral
        from acuknee.reports.stricta_report import protocol_stricta, render_stricta_html

        call_command("migrate", verbosity=0)
        load_demo(TODAY)
        for old in args.out.glob("report-page-*.png"):
            old.unlink()
        patient = Patient.objects.get(record_number=PATIENT)
        written = _pages(
            patient_report_pdf(patient, today=TODAY), args.out, "report-page", args.dpi
        )
        referred = Patient.objects.get(record_number=REFERRED)
        practitioner = StaffProfile.objects.get(user__username="practitioner")
        letter = build_referral(referral_intake(referred), practitioner, today=TODAY)
        pdf = html_to_pdf(render_referral(letter, for_print=True))
        written += _pages(pdf, args.out, "referral-letter", args.dpi, first_only=True)
        clinic = patient.clinic
        outcomes = clinic_report(clinic, today=TODAY)
        written += _pages(
            render_pdf(outcomes), args.out, "clinic-report-page-1", args.dpi, first_only=True
        )
        methods = html_to_pdf(
            render_stricta_html(protocol_stricta(clinic, PROTOCOL, today=TODAY), clinic.name)
        )
        written += _pages(methods, args.out, "stricta-report-page-1", args.dpi, first_only=True)
    shrink(written)
    for path in written:
        print(path)


def shrink(images: list[Path]) -> None:
    """Quantise to 256 colours with Debian's pngquant when it is there (a third the size, text
    stays sharp), as the committed pictures are; without it they stay as pdftoppm wrote them."""
    tool = shutil.which("pngquant")
    if tool is None:
        print("pngquant not found (apt-get install pngquant): pictures left unquantised")
        return
    for image in images:
        args = [tool, "--force", "--skip-if-larger", "--strip", "--ext", ".png", str(image)]
        subprocess.run(args, check=False)


if __name__ == "__main__":
    main()
