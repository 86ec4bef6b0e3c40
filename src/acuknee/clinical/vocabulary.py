"""The domain words, defined once (DESIGN.md "Domain words").

Web choices, JSON Schemas and FHIR mappings derive from these enums; nothing else spells them.
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Which knee (or limb) a finding, a point or a needle is on."""

    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"

    def covers(self, other: Side) -> bool:
        """True when this side includes ``other`` (``both`` covers left and right)."""
        return self is Side.BOTH or other is Side.BOTH or self is other

    def single_sides(self) -> tuple[Side, ...]:
        return (Side.LEFT, Side.RIGHT) if self is Side.BOTH else (self,)


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Method(StrEnum):
    """How the points are stimulated (STRICTA item 2e)."""

    MANUAL = "manual"
    ELECTRO = "electro"
    LASER = "laser"


class Domain(StrEnum):
    """The seed article's five ways acupuncture may help, each tracked with a real measure."""

    PAIN = "pain"
    INFLAMMATION = "inflammation"
    CIRCULATION = "circulation"
    RELAXATION = "relaxation"
    FUNCTION = "function"


class Urgency(StrEnum):
    """How fast a red flag must reach another clinician. Emergency and urgent block needling."""

    EMERGENCY = "emergency"  # same day: emergency department or same-day pathway
    URGENT = "urgent"  # urgent referral (days), no acupuncture meanwhile
    ROUTINE = "routine"  # refer; acupuncture may continue alongside, with the referral noted

    @property
    def blocks_plan(self) -> bool:
        return self is not Urgency.ROUTINE


class RuleKind(StrEnum):
    CONTRAINDICATION = "contraindication"
    PRECAUTION = "precaution"


class Cause(StrEnum):
    """Likely cause of knee pain. A cause without a protocol of its own is planned with the
    unspecified-knee-pain protocol (``planning.choose_protocol``)."""

    KNEE_OSTEOARTHRITIS = "knee_osteoarthritis"
    PATELLOFEMORAL_PAIN = "patellofemoral_pain"
    PES_ANSERINE = "pes_anserine_tendinopathy_bursitis"
    PATELLAR_TENDINOPATHY = "patellar_tendinopathy"
    ILIOTIBIAL_BAND = "iliotibial_band_syndrome"
    OSGOOD_SCHLATTER = "osgood_schlatter_disease"
    UNSPECIFIED = "unspecified_knee_pain"

    @property
    def label(self) -> str:
        """What a person reads (the code is for machines): "Knee osteoarthritis"."""
        return _CAUSE_LABELS[self]

    @property
    def phrase(self) -> str:
        """The label inside a sentence: "knee osteoarthritis", but "Osgood-Schlatter disease"
        (a name keeps its capital). The code with its underscores read as spaces said
        "osgood schlatter disease" and "pes anserine tendinopathy bursitis"."""
        label = self.label
        return label if self in _NAMED_AFTER_PEOPLE else label[0].lower() + label[1:]


_CAUSE_LABELS: dict[Cause, str] = {
    Cause.KNEE_OSTEOARTHRITIS: "Knee osteoarthritis",
    Cause.PATELLOFEMORAL_PAIN: "Patellofemoral pain",
    Cause.PES_ANSERINE: "Pes anserine tendinopathy or bursitis",
    Cause.PATELLAR_TENDINOPATHY: "Patellar tendinopathy",
    Cause.ILIOTIBIAL_BAND: "Iliotibial band syndrome",
    Cause.OSGOOD_SCHLATTER: "Osgood-Schlatter disease",
    Cause.UNSPECIFIED: "Unspecified knee pain",
}
_NAMED_AFTER_PEOPLE = frozenset({Cause.OSGOOD_SCHLATTER})


class ConsentBy(StrEnum):
    """Who gave consent to treatment: the patient, or (for a child) a parent or guardian."""

    PATIENT = "patient"
    PARENT_OR_GUARDIAN = "parent_or_guardian"


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class AdverseEventKind(StrEnum):
    """What kind of adverse event a session had, coded so that events can be counted.

    The minor events the York surveys recorded after acupuncture: bruising, pain at the needle
    site, bleeding, severe nausea and fainting (MacPherson et al. BMJ 2001;323:486, source
    ``ev_macpherson2001``), tiredness or drowsiness (MacPherson & Thomas, Acupunct Med
    2005;23:112, ``ev_macpherson2005``); and the accidents and untoward reactions of WHO 1999,
    Section II 3 (3.3 fainting, 3.5 pain, 3.7 broken needle, 3.8 local infection, 3.9 burning
    during moxibustion; ``who1999_basic_training_safety``). A needle left in after the session is
    recorded with a broken one. ``other`` keeps anything else, with its text in the note. No
    SNOMED CT or MedDRA code is attached: none was verified.
    """

    BRUISING = "bruising"
    BLEEDING = "bleeding"
    PAIN_AT_SITE = "pain_at_site"
    DROWSINESS = "drowsiness"
    FAINTING = "fainting"
    NAUSEA = "nausea"
    INFECTION = "infection"
    RETAINED_OR_BROKEN_NEEDLE = "retained_or_broken_needle"
    BURN = "burn"
    OTHER = "other"

    @property
    def label(self) -> str:
        """What a person reads: the code's words, in a sentence's case."""
        return _ADVERSE_EVENT_LABELS[self]


_ADVERSE_EVENT_LABELS: dict[AdverseEventKind, str] = {
    AdverseEventKind.BRUISING: "Bruising",
    AdverseEventKind.BLEEDING: "Bleeding",
    AdverseEventKind.PAIN_AT_SITE: "Pain at the needle site",
    AdverseEventKind.DROWSINESS: "Drowsiness or tiredness",
    AdverseEventKind.FAINTING: "Fainting",
    AdverseEventKind.NAUSEA: "Nausea",
    AdverseEventKind.INFECTION: "Infection",
    AdverseEventKind.RETAINED_OR_BROKEN_NEEDLE: "Retained or broken needle",
    AdverseEventKind.BURN: "Burn",
    AdverseEventKind.OTHER: "Other",
}


class Direction(StrEnum):
    """Which way is better on an instrument's scale."""

    HIGHER_IS_BETTER = "higher_is_better"
    HIGHER_IS_WORSE = "higher_is_worse"


class Limb(StrEnum):
    LOWER = "lower"
    UPPER = "upper"
    TRUNK = "trunk"


class PainLocation(StrEnum):
    """Where around the knee the patient points to (drives the likely cause)."""

    ANTERIOR = "anterior"
    MEDIAL = "medial"
    LATERAL = "lateral"
    POSTERIOR = "posterior"
    DIFFUSE = "diffuse"


class EvidenceLevel(StrEnum):
    """How strongly the evidence supports a claim; shown beside every domain and protocol."""

    MODERATE = "moderate"
    LOW = "low"
    VERY_LOW = "very_low"
    EXPLORATORY = "exploratory"  # no validated measure or no trial evidence
    TRADITIONAL = "traditional"  # traditional theory, not trial evidence


class Anticoagulant(StrEnum):
    """Which anticoagulant the patient takes (bleeding risk). ``unspecified``: one is taken but
    which was not recorded (what an old record's ``anticoagulant: true`` loads as)."""

    WARFARIN = "warfarin"  # or another vitamin K antagonist
    APIXABAN = "apixaban"
    RIVAROXABAN = "rivaroxaban"
    EDOXABAN = "edoxaban"
    DABIGATRAN = "dabigatran"
    HEPARIN = "heparin"  # including low-molecular-weight heparin
    OTHER = "other"
    UNSPECIFIED = "unspecified"


class Antiplatelet(StrEnum):
    """Which antiplatelet drug the patient takes (a bleeding precaution of its own)."""

    ASPIRIN = "aspirin"
    CLOPIDOGREL = "clopidogrel"
    PRASUGREL = "prasugrel"
    TICAGRELOR = "ticagrelor"
    DIPYRIDAMOLE = "dipyridamole"
    OTHER = "other"
    UNSPECIFIED = "unspecified"


class BleedingDisorder(StrEnum):
    """The kind of bleeding disorder. ``unspecified``: one is present but its kind was not
    recorded (what an old record's ``bleeding_disorder: true`` loads as)."""

    HAEMOPHILIA = "haemophilia"
    VON_WILLEBRAND = "von_willebrand"
    PLATELET_DISORDER = "platelet_disorder"
    OTHER = "other"
    UNSPECIFIED = "unspecified"


class Immunosuppression(StrEnum):
    """Why the patient is immunosuppressed (infection risk of needling)."""

    CHEMOTHERAPY = "chemotherapy"
    HIGH_DOSE_STEROIDS = "high_dose_steroids"
    BIOLOGIC = "biologic"
    OTHER = "other"
