"""Code systems and the terminology codes acuknee emits, each with the source that verified it.

Nothing here is guessed: a concept without a verified code is sent as text only
(``CodeableConcept.text``), and the reason is written beside it. Sources are those of the
project's fact sheet (section 10, "Terminology codes") unless a line says otherwise.
"""

from __future__ import annotations

from acuknee.clinical.vocabulary import Cause, Severity, Side, Urgency

# --- code systems (FHIR R4 "Using Codes" / terminology.hl7.org canonical URIs) -------------------
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ADVERSE_EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
"""FHIR R4 Flag.category (example binding), code ``clinical`` (display "Clinical"): the R4 code
system page hl7.org/fhir/R4/codesystem-flag-category.html, checked with the search tool."""

# --- acuknee's own namespaces --------------------------------------------------------------------
# acuknee has no registered web domain, so its own identifiers are URNs: they never pretend to be
# resolvable, and one constant changes them all if the project gets a canonical base URL.
ACUKNEE = "urn:acuknee"
QUESTIONNAIRE_BASE = f"{ACUKNEE}:questionnaire:"
"""Canonical of an instrument's Questionnaire: ``urn:acuknee:questionnaire:<instrument id>``."""
SUBSCALE_SYSTEM = f"{ACUKNEE}:subscale"
"""Local code of one score: ``<instrument>.<subscale>`` (several share one LOINC code, e.g. the
three pain NRS ratings all map to 72514-3, so the local code keeps them apart)."""
POINT_SYSTEM = f"{ACUKNEE}:acupuncture-point"
"""Acupuncture points by WHO standard code (ST35, EX-LE5); no SNOMED CT point code was verified."""
ADVERSE_EVENT_KIND_SYSTEM = f"{ACUKNEE}:adverse-event-kind"
"""acuknee's coded adverse-event kinds (``AdverseEventKind``: bruising, fainting, ...); no SNOMED CT
or MedDRA code was verified for them, so only this local code is sent."""


def questionnaire_url(instrument: str) -> str:
    return f"{QUESTIONNAIRE_BASE}{instrument}"


# --- SNOMED CT -----------------------------------------------------------------------------------
# Disorders and findings (fact sheet 10.2): 239873007 verified in multiple sources; 30989003 in
# secondary sources.
SNOMED_KNEE_OA = ("239873007", "Osteoarthritis of knee")
SNOMED_KNEE_PAIN = ("30989003", "Knee pain")

# Body sites, verified with the search tool (2026-11-24):
# - 6757004 "Structure of right knee region": HL7 AU Core guidance on laterality (Condition
#   bodySite example); NHS Digital CareConnect GPC Specimen profile example
#   (NHSDigital/IOPS-FHIR-Simplifier-Backup); several HL7 FSH ConceptMaps and value sets.
# - 82169009 "Structure of left knee region": the same ConceptMaps and value sets.
# - 36701003 "Both knees (body structure)": the FHIR core example procedure-example-physical-therapy
#   (round-tripped in nazrulworld/fhir.resources R4B tests, test_procedure.py).
KNEE_BODY_SITE: dict[Side, tuple[str, str, str]] = {
    Side.RIGHT: ("6757004", "Structure of right knee region", "Right knee"),
    Side.LEFT: ("82169009", "Structure of left knee region", "Left knee"),
    Side.BOTH: ("36701003", "Both knees (body structure)", "Both knees"),
}

# Procedure: no SNOMED CT code for acupuncture is emitted. 386637004 is an obstetric procedure (fact
# sheet 10.2, corrected); 44868003 stays unverified: public code found with the search tool labels
# it "Acupuncture", "Laser acupuncture" and "Nebulizer treatment" in different places, and no
# SNOMED browser page was found. Procedure.code is therefore text only.
PROCEDURE_TEXT = "Acupuncture"

# --- ICD-10-CM (fact sheet 10.3; code lists, secondary) ------------------------------------------
# Knee OA: M17.9 "Osteoarthritis of knee, unspecified". The laterality-bearing codes (M17.0,
# M17.11/M17.12, M17.2, M17.3x, M17.4, M17.5) each assert primary, post-traumatic or secondary OA,
# which acuknee's assessment does not decide; laterality goes to bodySite instead.
ICD10CM_KNEE_OA = ("M17.9", "Osteoarthritis of knee, unspecified")
# Knee pain and patellofemoral disorders have right and left codes but no bilateral code in the
# verified list (M25.569 / M22.2X9 mean "unspecified knee", which is wrong when the side is known),
# so a bilateral condition carries no ICD-10-CM code; its SNOMED code and bodySite still say it.
ICD10CM_KNEE_PAIN: dict[Side, tuple[str, str]] = {
    Side.RIGHT: ("M25.561", "Pain in right knee"),
    Side.LEFT: ("M25.562", "Pain in left knee"),
}
ICD10CM_PATELLOFEMORAL: dict[Side, tuple[str, str]] = {
    Side.RIGHT: ("M22.2X1", "Patellofemoral disorders, right knee"),
    Side.LEFT: ("M22.2X2", "Patellofemoral disorders, left knee"),
}

CAUSE_TEXT: dict[Cause, str] = {cause: cause.label for cause in Cause} | {
    Cause.UNSPECIFIED: "Knee pain",  # the display of its SNOMED CT code, 30989003
}
"""The Condition's text for each likely cause: the core's label, so a cause added there (as
Osgood-Schlatter disease was, which this table once lacked: its Condition failed to build) is
named here too."""


def cause_codings(cause: Cause, side: Side) -> list[tuple[str, str, str]]:
    """(system, code, display) for a likely cause on a side; empty when no code was verified.

    Patellar tendinopathy, pes anserine tendinopathy/bursitis and iliotibial band syndrome have
    no verified SNOMED CT or ICD-10-CM code (fact sheet 10.3 lists M76.5- and others as
    UNVERIFIED), so they are sent as text only. Patellofemoral pain has no verified SNOMED CT code.
    """
    codes: list[tuple[str, str, str]] = []
    if cause is Cause.KNEE_OSTEOARTHRITIS:
        codes.append((SNOMED, *SNOMED_KNEE_OA))
        codes.append((ICD10CM, *ICD10CM_KNEE_OA))
    elif cause is Cause.UNSPECIFIED:
        codes.append((SNOMED, *SNOMED_KNEE_PAIN))
        if side in ICD10CM_KNEE_PAIN:
            codes.append((ICD10CM, *ICD10CM_KNEE_PAIN[side]))
    elif cause is Cause.PATELLOFEMORAL_PAIN and side in ICD10CM_PATELLOFEMORAL:
        codes.append((ICD10CM, *ICD10CM_PATELLOFEMORAL[side]))
    return codes


# --- FHIR value sets used as is ------------------------------------------------------------------
ADVERSE_EVENT_SEVERITY_CODES: dict[Severity, str] = {
    Severity.MILD: "mild",
    Severity.MODERATE: "moderate",
    Severity.SEVERE: "severe",
}

# ServiceRequest.priority (FHIR R4 required binding ``request-priority``: routine, urgent, asap,
# stat, where stat is "actioned immediately - highest possible priority, e.g. an emergency";
# hl7.org/fhir/R4B/valueset-request-priority.html, checked with the search tool). A referral's
# urgency maps one to one, emergency to stat.
REQUEST_PRIORITY: dict[Urgency, str] = {
    Urgency.EMERGENCY: "stat",
    Urgency.URGENT: "urgent",
    Urgency.ROUTINE: "routine",
}

# UCUM codes for the units of instruments.toml. Scores and counts are dimensionless, written as
# UCUM annotations; a unit missing here is sent as text only (Quantity.unit without a code).
UCUM_UNITS: dict[str, str] = {
    "score (0-100)": "{score}",
    "interval score (0-100)": "{score}",
    "points (0-10)": "{score}",
    "points (0-16)": "{score}",
    "stands": "{stands}",
    "s": "s",
    "m/s": "m/s",
    "cm": "cm",
    "deg": "deg",
    "degC": "Cel",
}
