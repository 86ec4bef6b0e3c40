"""STRICTA 2010 items from a plan and its session records, and the session record's validation."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest
from pydantic import ValidationError

from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.knowledge import KnowledgeBase, build_knowledge
from acuknee.clinical.planning import Plan, PlannedPoint
from acuknee.clinical.sessions import (
    AdverseEvent,
    Depth,
    ElectroPair,
    NeedledPoint,
    NeedleType,
    SessionRecord,
)
from acuknee.clinical.stricta import (
    NO_COMPARATOR,
    NOT_REPORTED,
    StrictaContext,
    StrictaInput,
    stricta,
)
from acuknee.clinical.vocabulary import AdverseEventKind, Method, Severity, Side


def _packaged(name: str) -> tuple[str, bytes]:
    return name, (resources.files("acuknee.clinical") / "knowledge" / name).read_bytes()


# Points and protocols only, so these tests do not depend on other knowledge files in progress.
KB: KnowledgeBase = build_knowledge([_packaged("points.toml"), _packaged("protocols.toml")])

ITEM_IDS = [
    "1a",
    "1b",
    "1c",
    "2a",
    "2b",
    "2c",
    "2d",
    "2e",
    "2f",
    "2g",
    "3a",
    "3b",
    "4a",
    "4b",
    "5",
    "6a",
    "6b",
]

PLAN = Plan(
    status="proposed",
    style="Traditional Chinese acupuncture",
    method=Method.MANUAL,
    points=[
        PlannedPoint(
            code="ST35",
            side=Side.BOTH,
            role="local",
            depth_cun_min=1,
            depth_cun_max=1.5,
            angle="perpendicular",
        ),
        PlannedPoint(
            code="GB34", side=Side.LEFT, role="local", depth_cun_min=1, depth_cun_max=1.5, angle="x"
        ),
    ],
    retention_minutes=20,
    sessions_per_week=2,
    number_of_sessions=8,
    rationale="Local and distal points for knee osteoarthritis",
)

NEEDLE = NeedleType(diameter_mm=0.25, length_mm=40, material="stainless steel")


def needled(code: str, side: Side = Side.BOTH, **details: object) -> NeedledPoint:
    return NeedledPoint.model_validate({"code": code, "side": side, **details})


def session(
    number: int, day: dt.date, points: list[NeedledPoint], **details: object
) -> SessionRecord:
    return SessionRecord.model_validate(
        {"number": number, "date": day, "points": points, **details}
    )


def three_sessions() -> list[SessionRecord]:
    """10, 12 and 11 insertions; ST35 both sides every time, GB34 left only."""
    base = [
        needled("ST35", de_qi=True, depth=Depth(value=1, unit="cun")),
        needled("GB34", Side.LEFT),
    ]
    return [
        session(
            1, dt.date(2026, 1, 5), base, number_of_needles=10, retention_minutes=20, needle=NEEDLE
        ),
        session(
            2, dt.date(2026, 1, 8), base, number_of_needles=12, retention_minutes=20, needle=NEEDLE
        ),
        session(
            3, dt.date(2026, 1, 12), base, number_of_needles=11, retention_minutes=20, needle=NEEDLE
        ),
    ]


# --- the items ----------------------------------------------------------------------------------


def test_every_stricta_item_is_present_in_checklist_order() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert [i.id for i in report.items] == ITEM_IDS


def test_every_item_is_present_even_with_an_empty_plan_and_no_sessions() -> None:
    report = stricta(Plan(status="refused"), [], kb=KB)
    assert [i.id for i in report.items] == ITEM_IDS


def test_insertion_count_mean_and_range_come_from_the_sessions() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert report.insertions is not None
    assert (report.insertions.mean, report.insertions.minimum, report.insertions.maximum) == (
        11.0,
        10,
        12,
    )
    assert report.item("2a").value == "mean 11 (range 10–12) per session over 3 sessions"


def test_insertions_are_counted_from_the_points_when_needles_were_not_counted() -> None:
    points = [needled("ST35"), needled("GB34", Side.LEFT), needled("ashi", Side.LEFT)]
    report = stricta(PLAN, [session(1, dt.date(2026, 1, 5), points)], kb=KB)
    assert report.insertions is not None
    assert report.insertions.mean == 4


def test_point_needled_on_both_sides_is_bilateral_and_on_one_side_unilateral() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    value = report.item("2b").value
    assert f"ST35 {KB.points['ST35'].pinyin} (bilateral)" in value
    assert f"GB34 {KB.points['GB34'].pinyin} (unilateral, left)" in value


def test_left_and_right_entries_in_one_session_make_a_point_bilateral() -> None:
    points = [needled("SP9", Side.LEFT), needled("SP9", Side.RIGHT)]
    report = stricta(PLAN, [session(1, dt.date(2026, 1, 5), points)], kb=KB)
    assert [(p.code, p.laterality) for p in report.points] == [("SP9", "bilateral")]


def test_point_used_in_some_sessions_says_in_how_many() -> None:
    first = session(1, dt.date(2026, 1, 5), [needled("ST35"), needled("SP9", Side.RIGHT)])
    second = session(2, dt.date(2026, 1, 8), [needled("ST35")])
    report = stricta(PLAN, [first, second], kb=KB)
    assert "(unilateral, right; 1 of 2 sessions)" in report.item("2b").value


def test_planned_points_are_given_and_labelled_when_no_session_is_recorded() -> None:
    report = stricta(PLAN, [], kb=KB)
    item = report.item("2b")
    assert (item.origin, item.value.endswith("(planned)")) == ("plan", True)
    assert "ST35" in item.value
    assert "(bilateral)" in item.value


def test_depths_are_reported_with_their_unit() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert report.item("2c").value.startswith("ST35 1 cun")
    assert "recorded for 3 of 6 needled points" in report.item("2c").value


def test_de_qi_obtained_is_counted_over_the_points_assessed() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert report.item("2d").value == "de qi obtained at 3 of 3 needled points assessed"


def test_electro_pairs_and_frequency_are_reported() -> None:
    points = [
        needled("ST35", Side.LEFT, stimulation=Method.ELECTRO),
        needled("EX-LE4", Side.LEFT, stimulation=Method.ELECTRO),
    ]
    pair = ElectroPair(points=("ST35", "EX-LE4"), side=Side.LEFT, frequency_hz=[2, 100])
    report = stricta(PLAN, [session(1, dt.date(2026, 1, 5), points, electro=[pair])], kb=KB)
    assert report.item("2e").value == "electrical (ST35–EX-LE4 at 2/100 Hz)"


def test_planned_retention_is_used_and_labelled_when_sessions_do_not_record_it() -> None:
    report = stricta(PLAN, [session(1, dt.date(2026, 1, 5), [needled("ST35")])], kb=KB)
    assert report.item("2f").value == "20 minutes (planned)"


def test_needle_type_is_diameter_length_and_material() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert report.item("2g").value == "0.25 × 40 mm (stainless steel)"


def test_sessions_given_and_planned_are_both_reported() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert report.item("3a").value == "3 sessions given (8 planned)"


def test_frequency_and_duration_come_from_the_session_dates() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert report.item("3b").value.startswith(
        "3 sessions over 2 weeks (2026-01-05 to 2026-01-12), a mean of 1.5 per week"
    )


def test_rationale_lists_the_plans_references() -> None:
    source = next(iter(KB.sources.values()))
    plan = PLAN.model_copy(update={"sources": [source.id]})
    assert source.citation in stricta(plan, [], kb=KB).item("1b").value


def test_variation_names_the_protocols_variation_and_points_added_during_the_course() -> None:
    protocol = next(iter(KB.protocols.values()))
    plan = PLAN.model_copy(update={"protocol": protocol.id})
    sessions = [session(1, dt.date(2026, 1, 5), [needled("ST35"), needled("SP9", Side.LEFT)])]
    value = stricta(plan, sessions, kb=KB).item("1c").value
    assert protocol.variation.split(".")[0] in value
    assert "Points added during the course: SP9." in value
    assert "Planned points never needled: GB34." in value


def test_items_without_data_say_not_reported() -> None:
    report = stricta(Plan(status="refused"), [], kb=KB)
    assert report.item("1a").value == NOT_REPORTED
    assert report.item("2a").status == "not_reported"
    assert set(report.not_reported) == set(ITEM_IDS) - {"6a", "6b"}


def test_routine_care_without_comparator_reads_not_applicable() -> None:
    report = stricta(PLAN, [], kb=KB)
    assert [report.item(i).value for i in ("6a", "6b")] == [NO_COMPARATOR, NO_COMPARATOR]
    assert report.item("6a").status == "not_applicable"


def test_comparator_given_in_the_context_is_reported_and_a_missing_half_is_not() -> None:
    context = StrictaContext(control_description="Sham needling at non-points, 5 mm deep")
    report = stricta(PLAN, [], context, kb=KB)
    assert report.item("6b").value == "Sham needling at non-points, 5 mm deep"
    assert report.item("6a").value == NOT_REPORTED


def test_context_fills_other_interventions_setting_and_practitioners() -> None:
    context = StrictaContext(
        other_interventions="Home exercise advice",
        setting="Private clinic",
        practitioner_background="Licensed acupuncturist, 10 years in practice",
    )
    sessions = [session(1, dt.date(2026, 1, 5), [needled("ST35")], practitioner_id="p1")]
    report = stricta(PLAN, sessions, context, kb=KB)
    assert report.item("4a").value == "Home exercise advice"
    assert report.item("4b").value == "Private clinic"
    assert report.item("5").value.endswith("Sessions were given by 1 practitioner.")


def test_methods_paragraph_contains_the_numbers() -> None:
    paragraph = stricta(PLAN, three_sessions(), kb=KB).methods_paragraph()
    for expected in ("mean of 11 needle insertions (range 10–12)", "20 minutes", "0.25 × 40 mm"):
        assert expected in paragraph
    assert "Treatment comprised 3 sessions (8 planned)." in paragraph


def test_methods_paragraph_leaves_out_items_not_reported() -> None:
    paragraph = stricta(PLAN, three_sessions(), kb=KB).methods_paragraph()
    assert NOT_REPORTED not in paragraph


def test_methods_paragraph_is_in_the_json_output() -> None:
    report = stricta(PLAN, three_sessions(), kb=KB)
    assert report.model_dump(mode="json")["methods"] == report.methods_paragraph()


def test_session_number_recorded_twice_is_invalid() -> None:
    twice = [session(1, dt.date(2026, 1, 5), []), session(1, dt.date(2026, 1, 8), [])]
    with pytest.raises(InvalidInput) as raised:
        stricta(PLAN, twice, kb=KB)
    assert raised.value.field == "sessions.0.number"


def test_stricta_input_reads_the_command_line_format() -> None:
    given = StrictaInput.model_validate(
        {"plan": {"status": "proposed", "style": "TCM"}, "sessions": [], "context": None}
    )
    assert stricta(given.plan, given.sessions, given.context, kb=KB).item("1a").value == "TCM"


# --- the session record -------------------------------------------------------------------------


def test_pain_rating_above_10_is_rejected() -> None:
    with pytest.raises(ValidationError, match="pain_after"):
        session(1, dt.date(2026, 1, 5), [], pain_before=6, pain_after=11)


def test_depth_of_30_cun_is_rejected_as_a_likely_unit_mix_up() -> None:
    with pytest.raises(ValidationError, match="check the unit"):
        Depth(value=30, unit="cun")


def test_needle_diameter_in_gauge_is_rejected() -> None:
    with pytest.raises(ValidationError, match="diameter_mm"):
        NeedleType(diameter_mm=32, length_mm=40)


def test_fewer_needles_than_listed_insertions_is_rejected() -> None:
    with pytest.raises(ValidationError, match="number_of_needles"):
        session(1, dt.date(2026, 1, 5), [needled("ST35"), needled("GB34")], number_of_needles=3)


def test_point_listed_twice_on_the_same_side_is_rejected() -> None:
    with pytest.raises(ValidationError, match="ST35 is listed twice"):
        session(1, dt.date(2026, 1, 5), [needled("ST35"), needled("ST35", Side.LEFT)])


def test_several_ashi_points_on_one_side_are_allowed() -> None:
    record = session(
        1, dt.date(2026, 1, 5), [needled("ashi", Side.LEFT), needled("ashi", Side.LEFT)]
    )
    assert record.insertions == 2


def test_electro_pair_on_a_manually_stimulated_point_is_rejected() -> None:
    pair = ElectroPair(points=("ST35", "GB34"), side=Side.LEFT, frequency_hz=[2])
    with pytest.raises(ValidationError, match=r"electro\.0"):
        session(1, dt.date(2026, 1, 5), [needled("ST35"), needled("GB34")], electro=[pair])


def test_adverse_event_needs_a_severity_from_the_scale() -> None:
    with pytest.raises(ValidationError, match="severity"):
        AdverseEvent.model_validate(
            {"kind": "bruising", "severity": "catastrophic", "action_taken": "none"}
        )


def test_adverse_event_is_kept_on_the_record() -> None:
    event = AdverseEvent(
        kind=AdverseEventKind.BRUISING, severity=Severity.MILD, action_taken="pressure"
    )
    record = session(1, dt.date(2026, 1, 5), [], adverse_events=[event])
    assert record.adverse_events == [event]
