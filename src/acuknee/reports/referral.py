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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from acuknee.care.queries import INTAKE_ORDER, live
from acuknee.clinical.screening import Screening
from acuknee.forms.intake import label_for
from acuknee.records.models import (
    Clinic,
    IntakeRecord,
    Patient,
    ReferralLetterText,
    StaffProfile,
)
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
    edit: ReferralLetterText | None = None
    """The practitioner's edited text, when there is one: then it is what prints."""

    @property
    def recipient(self) -> str:
        return self.edit.recipient if self.edit is not None else DEFAULT_RECIPIENT

    @property
    def body(self) -> str:
        """The letter's text from the greeting on: the edit, else the generated text."""
        return self.edit.body if self.edit is not None else generated_body(self)

    @property
    def blocks(self) -> list[Block]:
        return text_blocks(self.body)

    @property
    def most_urgent(self) -> str:
        """The highest urgency among the referrals (emergency > urgent > routine)."""
        order = {"emergency": 0, "urgent": 1, "routine": 2}
        return min((r.urgency for r in self.referrals), key=lambda u: order.get(u, 3))


DEFAULT_RECIPIENT = "The clinician receiving this referral"
"""Whom a letter not yet edited is addressed to (the practitioner names them when editing)."""

_PRONOUNS = {"female": "her", "male": "him"}


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def generated_body(letter: ReferralLetter) -> str:
    """The letter as acuknee suggests it, in plain text for the edit form and the page, written
    to the receiving clinician: what was found, why it matters, what is asked, and what the
    patient was told. Every clinical statement is the stored screening's (name, urgency,
    reason, next step, findings); the practitioner checks and edits it before printing."""
    p = letter.patient
    name = f"{p.given_name} {p.family_name}"
    them = _PRONOUNS.get(p.sex, "them")
    urgency = letter.most_urgent
    if letter.knee == "both":
        complaint = "pain in both knees"
    else:
        complaint = f"{letter.knee} knee pain" if letter.knee else "knee pain"
    details = [
        f"born {p.date_of_birth.isoformat()}",
        f"age {letter.age} at the visit",
        p.get_sex_display().lower(),
        f"record number {p.record_number}",
    ]
    if p.phone:
        details.append(f"telephone {p.phone}")
    n = len(letter.referrals)
    found = "a red flag that needs" if n == 1 else f"{n} red flags that need"
    parts = [
        "Dear colleague,",
        f"I saw {name} ({', '.join(details)}) on {letter.intake.visit_date.isoformat()} for "
        f"{complaint}. The safety screening at that visit found {found} your assessment, "
        f"and I am referring {them} to you as {_article(urgency)} {urgency} referral.",
    ]
    for r in letter.referrals:
        block = [f"{r.name} ({r.urgency})", f"Why it matters: {r.reason}", "What I found:"]
        parts.append(
            "\n".join(block) + "\n" + "\n".join(f"- {f.label}: {f.value}" for f in r.findings)
        )
        if r.next_step:
            parts.append(f"Next step: {r.next_step}")
    told = (
        f"What {p.given_name} was told: I explained what I found, why it needs your "
        f"assessment, and that this is {_article(urgency)} {urgency} referral"
    )
    if not letter.plan_allowed:
        told += f"; and that I will not give acupuncture until you have assessed {them}."
        plan = "No acupuncture has been given or planned pending your assessment."
    else:
        told += "."
        plan = (
            "Acupuncture may continue alongside this referral; please let me know of anything "
            "that should change it."
        )
    parts += [told, plan, "I would be grateful to hear what you find."]
    return "\n\n".join(parts)


_LABEL = re.compile(r"^([A-Z][^:()]{0,38}):\s+(.*)$")


@dataclass(frozen=True)
class Block:
    """A paragraph of the letter: its lines, and its bullet items (lines starting "- ")."""

    lines: tuple[str, ...]
    items: tuple[str, ...] = ()

    @property
    def labelled(self) -> list[tuple[str, str]]:
        """Each line as (label, text): "Why it matters: ..." gives its label in bold; a line
        without a short leading label gives ("", line)."""
        out = []
        for line in self.lines:
            found = _LABEL.match(line)
            out.append((found.group(1), found.group(2)) if found else ("", line))
        return out


def text_blocks(text: str) -> list[Block]:
    """The letter's text as paragraphs (blank-line separated), each kept whole on a page by
    the print CSS; a paragraph's lines starting with "- " become its bulleted list."""
    blocks = []
    for chunk in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line.rstrip() for line in chunk.strip("\n").split("\n") if line.strip()]
        if lines:
            plain = tuple(x for x in lines if not x.lstrip().startswith("- "))
            items = tuple(x.lstrip()[2:] for x in lines if x.lstrip().startswith("- "))
            blocks.append(Block(plain, items))
    return blocks


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
        edit=ReferralLetterText.objects.filter(intake=intake).select_related("edited_by").first(),
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


def render_referral(
    letter: ReferralLetter, *, for_print: bool = False, notices: Sequence[str] = ()
) -> str:
    """The letter as an HTML document (``for_print``: without the on-screen links).
    ``notices`` are the page's one-off messages ("Letter saved"), shown on screen only: the
    letter is rendered without a request, so its caller hands them over."""
    context = {
        "lead": urgency_picture(letter, for_print=for_print),
        "letter": letter,
        "for_print": for_print,
        "notices": [] if for_print else list(notices),
        "synthetic": letter.patient.synthetic,
        "disclaimer": DISCLAIMER,
    }
    return render_to_string("reports/referral_letter.html", context)
