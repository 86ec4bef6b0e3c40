"""The research tables' columns, once: the Django models, the DuckDB/PostgreSQL SQL, the Parquet
files and the data dictionary all follow this list.

One row per course of care: who (de-identified attributes only), what was planned and delivered,
and, per outcome domain, the baseline, the last follow-up and the improvement on that domain's
primary measure (positive is better whatever the scale's direction). The OMERACT-OARSI verdict is
the clinical core's (``acuknee.clinical.evaluate``), stored, never recomputed in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["bigint", "int", "float", "bool", "text", "date"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    description: str
    nullable: bool = False
    quasi_identifier: bool = False


@dataclass(frozen=True)
class DomainMeasure:
    """A measure pooled for a domain: its columns are named by ``prefix`` (the domain, or
    ``column`` for a second measure of one)."""

    domain: str
    instrument: str
    subscale: str
    unit: str
    exploratory: bool = False
    column: str = ""

    @property
    def prefix(self) -> str:
        return self.column or self.domain

    @property
    def named(self) -> str:
        """The domain, with the measure's name where it is not the domain's own measure."""
        return f"{self.domain}, {self.column.replace('_', ' ')}" if self.column else self.domain

    @property
    def label(self) -> str:
        return f"{self.named} (exploratory)" if self.exploratory else self.named


DOMAIN_MEASURES: tuple[DomainMeasure, ...] = (
    DomainMeasure("pain", "koos", "pain", "KOOS pain score (0-100)"),
    DomainMeasure("function", "koos", "adl", "KOOS ADL score (0-100)"),
    DomainMeasure("inflammation", "knee_circumference", "difference", "cm"),
    DomainMeasure("relaxation", "pss4", "total", "PSS-4 points (0-16)"),
    DomainMeasure(
        "inflammation",
        "skin_temperature",
        "difference",
        "degC",
        exploratory=True,
        column="skin_temperature",
    ),
)
"""No validated clinical measure of knee circulation exists, so none is pooled; knee skin
temperature is an exploratory marker of inflammation (instruments.toml [[domain]], Denoble
2010), pooled apart from the circumference under its own columns. It was pooled as
"circulation" until 2026-12-08, against what every other part of acuknee says."""

SEXES = ("female", "male", "other", "unknown")
METHODS = ("manual", "electro", "laser")
VERDICTS = ("responder", "non_responder", "not_evaluable")
AGE_BANDS = ("0-17", "18-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+")
"""Children and adolescents apart (the clinic treats them: Osgood-Schlatter disease at 10 to 17,
consent by a parent or guardian under 16; they were once counted as 18-39), 18-39, ten-year
bands from 40, and 90 and over grouped, as HIPAA Safe Harbor requires for ages over 89."""


def age_band(age: int) -> str:
    if age < 18:
        return "0-17"
    if age >= 90:
        return "90+"
    if age < 40:
        return "18-39"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def age_band_codes(ages: Any) -> Any:
    """``age_band`` for a column of ages: each one's index in ``AGE_BANDS`` (numpy ints)."""
    import numpy as np

    age = np.asarray(ages, dtype=np.int64)
    adult = np.clip(age // 10 - 3, 0, len(AGE_BANDS) - 2) + 1
    return np.where(age < 18, 0, adult)


def _domain_columns() -> list[Column]:
    columns: list[Column] = []
    for m in DOMAIN_MEASURES:
        p, named = m.prefix, m.named
        columns += [
            Column(f"{p}_baseline", "float", f"{m.label}: baseline, {m.unit}", True),
            Column(f"{p}_final", "float", f"{named}: last follow-up, {m.unit}", True),
            Column(
                f"{p}_improvement",
                "float",
                f"{named}: improvement from baseline, {m.unit}, positive is better",
                True,
            ),
            Column(
                f"{p}_mic_reached",
                "bool",
                f"{named}: the improvement reaches the measure's minimal important change",
                True,
            ),
        ]
    return columns


COURSE_COLUMNS: tuple[Column, ...] = (
    Column("course_id", "bigint", "Row key; not derived from any identifier"),
    Column("clinic_id", "int", "The clinic (network member) that treated the course"),
    Column("clinic_region", "text", "The clinic's region", quasi_identifier=True),
    Column("sex", "text", f"One of {', '.join(SEXES)}", quasi_identifier=True),
    Column("age", "int", "Age in years at the plan's intake (exports group ages over 89)"),
    Column("age_band", "text", f"One of {', '.join(AGE_BANDS)}", quasi_identifier=True),
    Column(
        "cause",
        "text",
        "Likely cause (vocabulary.Cause) of the intake the signed plan was made from",
    ),
    Column("severity_band", "text", "mild, moderate or severe (Kapstad 2008 bands)", True),
    Column("side", "text", "left, right or both"),
    Column("diabetes", "bool", "Diabetes recorded at intake"),
    Column("anticoagulated", "bool", "On an anticoagulant at intake"),
    Column("cardiac_device", "bool", "Pacemaker or other implanted cardiac device"),
    Column("knee_prosthesis", "bool", "Knee prosthesis on either side"),
    Column("protocol_id", "text", "The signed plan's protocol (knowledge base id)"),
    Column("method", "text", f"One of {', '.join(METHODS)}"),
    Column("start_date", "date", "The course's first session (exports shift it per patient)"),
    Column("sessions_planned", "int", "Sessions in the signed plan"),
    Column("sessions_attended", "int", "Sessions recorded on the signed plan"),
    Column("completed", "bool", "Attended every planned session"),
    Column("dropped_out", "bool", "Stopped before the last planned session and not followed up"),
    Column("follow_up_weeks", "float", "Weeks from baseline to the last follow-up", True),
    Column(
        "follow_up_date",
        "date",
        "Date of the last follow-up (exports shift it with start_date, keeping the interval)",
        True,
    ),
    Column("verdict", "text", f"OMERACT-OARSI at the last follow-up: {', '.join(VERDICTS)}"),
    Column("responder", "bool", "verdict == responder; empty when not evaluable", True),
    Column("pain_nrs_baseline", "float", "Average pain, last week, 0-10 NRS, baseline", True),
    Column("pain_nrs_final", "float", "Average pain, last week, 0-10 NRS, last follow-up", True),
    Column(
        "patient_global_baseline",
        "float",
        "Patient global assessment, 0-10, higher is worse (OMERACT-OARSI domain), baseline",
        True,
    ),
    Column(
        "patient_global_final",
        "float",
        "Patient global assessment, 0-10 (higher is worse), last follow-up",
        True,
    ),
    *_domain_columns(),
)

ADVERSE_EVENT_COLUMNS: tuple[Column, ...] = (
    Column("course_id", "bigint", "The course (research_course.course_id)"),
    Column("session_number", "int", "Which session of the course"),
    Column("type", "text", "Adverse event type as recorded (e.g. bleeding, bruising, pain)"),
    Column("severity", "text", "mild, moderate or severe"),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "research_course": COURSE_COLUMNS,
    "research_adverse_event": ADVERSE_EVENT_COLUMNS,
}

_SQL_TYPES: dict[Kind, str] = {
    "bigint": "BIGINT",
    "int": "INTEGER",
    "float": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "text": "TEXT",
    "date": "DATE",
}


def create_table_sql(table: str) -> str:
    """Portable DDL (DuckDB, PostgreSQL and SQLite all accept it) for a table outside Django."""
    lines = [
        f"    {c.name} {_SQL_TYPES[c.kind]}{'' if c.nullable else ' NOT NULL'}"
        for c in TABLES[table]
    ]
    return f"CREATE TABLE IF NOT EXISTS {table} (\n" + ",\n".join(lines) + "\n)"
