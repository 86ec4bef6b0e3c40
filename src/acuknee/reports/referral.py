"""The referral letter: a red flag found at intake, written for the clinician who receives it.

The screening verdict is stored with the intake (``IntakeRecord.screening``, computed by
``acuknee.clinical.screen`` when the intake was saved); the letter repeats its referrals (name,
urgency, action, reason, and what the receiving service will do next) with the recorded findings
behind each, and the practitioner's details
(``StaffProfile``: name, role, registration) and the clinic's address and telephone. Nothing is
judged here: which findings are red flags, how urgent they are and what to do come from the
core's knowledge base via the stored screening.

One template (``reports/referral_letter.html``) gives the printable page and, through WeasyPrint
(``progress.html_to_pdf``), the PDF.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from acuknee.care.queries import INTAKE_ORDER, live
from acuknee.clinical.screening import Screening
from acuknee.forms.intake import label_for
from acuknee.records.models import Clinic, IntakeRecord, Patient, StaffProfile
from acuknee.reports.charts import UrgencySpec, urgency_data_uri
from acuknee.reports.progress import DISCLAIMER, Image

__all__ = [
    "ReferralLetter",
    "ReferralUnavailable",
    "build_referral",
    "referral_intake",
    "render_referral",
    "urgency_picture",
]


class ReferralUnavailable(LookupError):
    """There is no current referral to write (unknown or voided intake, no red flag)."""


@dataclass
class Finding:
    label: str
    value: str


@dataclass
class ReferralItem:
    name: str
    urgency: str
    action: str
    reason: str
    findings: list[Finding]
    next_step: str = ""  # what the receiving service will do next ("" in older screenings)


@dataclass
class ReferralLetter:
    """What the letter shows, gathered once for the page and the PDF."""

    patient: Patient
    intake: IntakeRecord
    clinic: Clinic
    staff: StaffProfile
    practitioner_name: str
    today: dt.date
    age: int
    knee: str | None
    referrals: list[ReferralItem] = field(default_factory=list)
    plan_allowed: bool = True
    refusal_reasons: list[str] = field(default_factory=list)

    @property
    def most_urgent(self) -> str:
        """The highest urgency among the referrals (emergency > urgent > routine)."""
        order = {"emergency": 0, "urgent": 1, "routine": 2}
        return min((r.urgency for r in self.referrals), key=lambda u: order.get(u, 3))


def _value(data: dict[str, Any], path: str) -> str:
    """The recorded value at ``red_flags.fever``-style ``path`` in the intake, in words."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return "recorded"
        node = node[part]
    if node is None:
        return "not recorded"  # a question not asked is never "no"
    if isinstance(node, bool):
        return "yes" if node else "no"
    if isinstance(node, list):
        return ", ".join(str(v) for v in node)
    return str(node)


def referral_intake(patient: Patient, intake_id: int | None = None) -> IntakeRecord:
    """The intake whose referral to write: ``intake_id`` (this patient's), else the latest
    current intake with a referral. Raises ``ReferralUnavailable`` saying why not."""
    intakes = live(patient.intakes.all())
    if intake_id is not None:
        record = patient.intakes.filter(pk=intake_id).first()
        if record is None:
            raise ReferralUnavailable(f"intake {intake_id} is not one of this patient's intakes")
        if record.is_voided:
            raise ReferralUnavailable(f"intake {intake_id} is voided: its referral is not current")
        if not record.screening.get("referrals"):
            raise ReferralUnavailable(f"intake {intake_id} found no red flag: nothing to refer")
        return record
    for record in intakes.order_by(*INTAKE_ORDER):
        if record.screening.get("referrals"):
            return record
    raise ReferralUnavailable("this patient has no current intake with a referral")


def build_referral(
    intake: IntakeRecord, staff: StaffProfile, *, today: dt.date | None = None
) -> ReferralLetter:
    """Gather the letter for ``intake``, signed by ``staff`` (the practitioner writing it)."""
    if intake.is_voided:
        raise ReferralUnavailable(f"intake {intake.pk} is voided: its referral is not current")
    screening = Screening.model_validate(intake.screening)
    if not screening.referrals:
        raise ReferralUnavailable(f"intake {intake.pk} found no red flag: nothing to refer")
    patient = intake.patient
    user = staff.user
    side = intake.data.get("side")
    return ReferralLetter(
        patient=patient,
        intake=intake,
        clinic=staff.clinic or patient.clinic,
        staff=staff,
        practitioner_name=user.get_full_name() or user.get_username(),
        today=today or timezone.localdate(),
        age=patient.age_on(intake.visit_date),
        knee=str(side) if side else None,
        referrals=[
            ReferralItem(
                name=r.name,
                urgency=r.urgency.value,
                action=r.action,
                reason=r.reason,
                findings=[Finding(label_for(f), _value(intake.data, f)) for f in r.findings],
                next_step=r.next_step,
            )
            for r in screening.referrals
        ],
        plan_allowed=screening.plan_allowed,
        refusal_reasons=list(screening.refusal_reasons),
    )


def urgency_picture(letter: ReferralLetter, *, for_print: bool = False) -> Image:
    """The letter's lead picture: each red flag on the routine / urgent / emergency scale, and
    the affected knee. Chosen over a knee diagram because the receiving clinician needs how fast
    and why, not where needles would go (none are planned for an urgent referral); every mark
    is the stored screening's urgency, nothing is judged here."""
    spec = UrgencySpec(
        referrals=tuple((r.name, r.urgency) for r in letter.referrals), knee=letter.knee
    )
    return Image(
        src=urgency_data_uri(spec, raster=for_print),
        alt=spec.alt_text(),
        caption=(
            f"Urgency of each red flag found at the intake of "
            f"{letter.intake.visit_date.isoformat()}, as the screening recorded it; the most "
            f"urgent is {letter.most_urgent}."
        ),
    )


def render_referral(letter: ReferralLetter, *, for_print: bool = False) -> str:
    """The letter as an HTML document (``for_print``: without the on-screen links)."""
    context = {
        "lead": urgency_picture(letter, for_print=for_print),
        "letter": letter,
        "for_print": for_print,
        "synthetic": letter.patient.synthetic,
        "disclaimer": DISCLAIMER,
    }
    return render_to_string("reports/referral_letter.html", context)
