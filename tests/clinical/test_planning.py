"""Planning: protocol choice, personalisation under the screening, schedule and rationale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acuknee.clinical.errors import InvalidInput
from acuknee.clinical.intake import Examination, Health, Intake, Preferences
from acuknee.clinical.knowledge import (
    KnowledgeBase,
    Laser,
    Pattern,
    ProtocolPoint,
    load_knowledge,
)
from acuknee.clinical.planning import Plan, build_schedule, choose_protocol, plan
from acuknee.clinical.screening import (
    PointBlock,
    Referral,
    SafetyFinding,
    Screening,
    screen,
)
from acuknee.clinical.vocabulary import Cause, Method, RuleKind, Severity, Side, Urgency

MONDAY = dt.date(2025, 1, 27)  # a Monday five days before a month end
GERAC = "knee-oa-manual-gerac"
TU_EA = "knee-oa-electro-tu2021"
TU_MA = "knee-oa-manual-tu2021"
PES = "pes-anserine-manual-local-distal"
PREGNANCY_FORBIDDEN = {"SP6", "LI4", "BL60", "BL67", "BL31", "BL32", "BL33", "BL34"}
KNOWN_POINTS = {
    "ST34",
    "ST35",
    "EX-LE4",
    "EX-LE5",
    "EX-LE2",
    "ST36",
    "ST40",
    "SP6",
    "SP9",
    "SP10",
    "GB33",
    "GB34",
    "GB39",
    "LR3",
    "LR7",
    "LR8",
    "KI3",
    "KI10",
    "BL39",
    "BL40",
    "BL60",
    "LI4",
    "GB31",
    "ST44",
    "BL67",
    "BL31",
    "BL32",
    "BL33",
    "BL34",
}


@dataclass(frozen=True)
class Assessed:
    """The two attributes the planner reads from an assessment."""

    likely_cause: Cause
    severity: Severity | None = None


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def intake(
    side: Side = Side.RIGHT,
    *,
    protocol: str | None = None,
    method: Method | None = None,
    pattern: str | None = None,
    use_patterns: bool = False,
    health: Health | None = None,
) -> Intake:
    return Intake(
        age=64,
        side=side,
        duration_weeks=52,
        health=health or Health(),
        preferences=Preferences(
            protocol=protocol, method=method, pattern=pattern, use_patterns=use_patterns
        ),
    )


def finding(
    rule: str = "rule",
    *,
    blocks: list[tuple[str, Side]] | None = None,
    methods: list[Method] | None = None,
    depth: float | None = None,
    warn: list[str] | None = None,
    diameter: float | None = None,
) -> SafetyFinding:
    return SafetyFinding(
        rule=rule,
        name=f"Rule {rule}",
        kind=RuleKind.CONTRAINDICATION,
        message=f"Message of {rule}.",
        findings=[],
        sources=[f"src_{rule}"],
        blocked_methods=methods or [],
        blocked_points=[
            PointBlock(code=c, side=s, rule=rule, reason=f"Rule {rule}: {c}")
            for c, s in blocks or []
        ],
        max_depth_cun=depth,
        max_needle_diameter_mm=diameter,
        warn_points=warn or [],
    )


def codes(result: Plan, side: Side | None = None) -> set[str]:
    return {p.code for p in result.points if side is None or p.side is side}


def protocol_codes(kb: KnowledgeBase, protocol_id: str) -> set[str]:
    return {p.code for p in kb.protocols[protocol_id].points}


def run(
    kb: KnowledgeBase,
    subject: Intake,
    screening: Screening | None = None,
    cause: Cause | None = None,
) -> Plan:
    if cause is None and subject.preferences.protocol:
        cause = kb.protocols[subject.preferences.protocol].cause
    assessed = Assessed(cause or Cause.KNEE_OSTEOARTHRITIS)
    return plan(subject, screening or Screening(), assessed, start=MONDAY, kb=kb)


# --- knowledge ----------------------------------------------------------------------------------


def test_every_cause_with_protocols_has_exactly_one_default_protocol(kb: KnowledgeBase) -> None:
    # A cause with no protocol of its own falls back to the unspecified-knee-pain default.
    for cause in Cause:
        if kb.protocols_for(cause) or cause is Cause.UNSPECIFIED:
            assert sum(p.default_for_cause for p in kb.protocols_for(cause)) == 1, cause


def test_gerac_manual_protocol_is_the_knee_osteoarthritis_default(kb: KnowledgeBase) -> None:
    chosen, _ = choose_protocol(Cause.KNEE_OSTEOARTHRITIS, Preferences(), kb)
    assert chosen.id == GERAC


def test_protocols_and_patterns_use_only_the_agreed_points_and_never_ex_le5(
    kb: KnowledgeBase,
) -> None:
    used = {p.code for r in kb.protocols.values() for p in r.points}
    used |= {p.code for pat in kb.patterns.values() for p in pat.add_points}
    used |= {c for pat in kb.patterns.values() for c in pat.remove_points}
    assert used <= KNOWN_POINTS
    assert "EX-LE5" not in used


def test_patterns_are_labelled_traditional_theory_and_carry_no_unverified_code(
    kb: KnowledgeBase,
) -> None:
    assert {p.label for p in kb.patterns.values()} == {"traditional theory"}
    assert all(p.icd11_tm1 is None for p in kb.patterns.values())


# --- protocol choice ----------------------------------------------------------------------------


def test_preferred_protocol_for_another_cause_is_rejected_naming_the_field(
    kb: KnowledgeBase,
) -> None:
    with pytest.raises(InvalidInput) as error:
        run(kb, intake(protocol=PES), cause=Cause.KNEE_OSTEOARTHRITIS)
    assert error.value.field == "preferences.protocol"


def test_unknown_protocol_is_rejected_naming_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(InvalidInput) as error:
        run(kb, intake(protocol="no-such-protocol"), cause=Cause.KNEE_OSTEOARTHRITIS)
    assert error.value.field == "preferences.protocol"


def test_method_conflicting_with_preferred_protocol_is_rejected(kb: KnowledgeBase) -> None:
    with pytest.raises(InvalidInput) as error:
        run(kb, intake(protocol=GERAC, method=Method.ELECTRO))
    assert error.value.field == "preferences.method"


def test_preferred_method_selects_the_causes_protocol_of_that_method(kb: KnowledgeBase) -> None:
    result = run(kb, intake(method=Method.ELECTRO), cause=Cause.KNEE_OSTEOARTHRITIS)
    assert (result.protocol, result.method) == (TU_EA, Method.ELECTRO)


def test_preferred_method_without_a_protocol_keeps_the_default_and_says_so(
    kb: KnowledgeBase,
) -> None:
    result = run(kb, intake(method=Method.ELECTRO), cause=Cause.PATELLOFEMORAL_PAIN)
    assert result.protocol == "patellofemoral-manual-local-distal"
    assert any("No electro protocol" in w for w in result.warnings)


def test_without_assessment_the_preferred_protocols_cause_is_used(kb: KnowledgeBase) -> None:
    result = plan(intake(protocol=PES), Screening(), start=MONDAY, kb=kb)
    assert result.cause is Cause.PES_ANSERINE


def test_without_assessment_or_preference_knee_pain_is_unspecified(kb: KnowledgeBase) -> None:
    result = plan(intake(), Screening(), start=MONDAY, kb=kb)
    assert result.cause is Cause.UNSPECIFIED


# --- sides --------------------------------------------------------------------------------------


def test_each_point_is_planned_once_per_painful_knee(kb: KnowledgeBase) -> None:
    result = run(kb, intake(Side.BOTH, protocol=GERAC))
    expected = protocol_codes(kb, GERAC)
    assert codes(result, Side.LEFT) == codes(result, Side.RIGHT) == expected
    assert len(result.points) == 2 * len(expected)


def test_bilateral_and_contralateral_points_follow_the_painful_knee(kb: KnowledgeBase) -> None:
    recipe = kb.protocols[GERAC].model_copy(
        update={
            "points": [
                ProtocolPoint(code="ST36", side="affected"),
                ProtocolPoint(code="KI3", side="bilateral", role="distal"),
                ProtocolPoint(code="LI4", side="contralateral", role="distal"),
            ]
        }
    )
    custom = kb.model_copy(update={"protocols": {**kb.protocols, GERAC: recipe}})
    result = run(custom, intake(Side.LEFT, protocol=GERAC))
    assert {(p.code, p.side) for p in result.points} == {
        ("ST36", Side.LEFT),
        ("KI3", Side.LEFT),
        ("KI3", Side.RIGHT),
        ("LI4", Side.RIGHT),
    }


# --- safety -------------------------------------------------------------------------------------


def test_urgent_referral_refuses_the_plan_with_its_reason(kb: KnowledgeBase) -> None:
    referral = Referral(
        rule="dvt",
        name="Suspected deep vein thrombosis",
        urgency=Urgency.URGENT,
        action="Same-day DVT pathway.",
        reason="Calf swelling",
        findings=["red_flags.calf_swelling_or_tenderness"],
        sources=["src_dvt"],
    )
    result = run(kb, intake(protocol=GERAC), Screening(referrals=[referral]))
    assert result.status == "refused"
    assert any("Suspected deep vein thrombosis" in r for r in result.refusal_reasons)
    assert not result.points
    assert not result.schedule
    assert "src_dvt" in result.sources


def test_urgent_referral_is_reported_even_when_a_preference_is_invalid(kb: KnowledgeBase) -> None:
    referral = Referral(
        rule="septic",
        name="Suspected septic arthritis",
        urgency=Urgency.EMERGENCY,
        action="Emergency department today.",
        reason="Hot swollen knee with fever",
        findings=[],
        sources=["src_septic"],
    )
    subject = intake(protocol="no-such-protocol")
    result = plan(subject, Screening(referrals=[referral]), start=MONDAY, kb=kb)
    assert result.status == "refused"


def test_routine_referral_is_carried_as_a_warning(kb: KnowledgeBase) -> None:
    referral = Referral(
        rule="pad",
        name="Peripheral arterial disease",
        urgency=Urgency.ROUTINE,
        action="Vascular referral.",
        reason="Claudication",
        findings=[],
        sources=["src_pad"],
    )
    result = run(kb, intake(protocol=GERAC), Screening(referrals=[referral]))
    assert result.status == "proposed"
    assert any("Peripheral arterial disease" in w for w in result.warnings)


def pregnancy_screening() -> Screening:
    blocked = [(code, Side.BOTH) for code in sorted(PREGNANCY_FORBIDDEN)]
    return Screening(findings=[finding("pregnancy", blocks=blocked, methods=[Method.ELECTRO])])


@pytest.mark.parametrize(
    "pattern",
    [None, "wind_cold_damp_bi", "damp_heat_bi", "liver_kidney_deficiency", "qi_blood_stagnation"],
)
def test_pregnancy_never_yields_forbidden_points_or_electroacupuncture(
    kb: KnowledgeBase, pattern: str | None
) -> None:
    for protocol_id in kb.protocols:
        subject = intake(Side.BOTH, protocol=protocol_id, pattern=pattern, use_patterns=True)
        result = run(kb, subject, pregnancy_screening())
        assert not codes(result) & PREGNANCY_FORBIDDEN, protocol_id
        assert result.method is not Method.ELECTRO, protocol_id


def test_pregnant_intake_through_screen_never_yields_forbidden_points_or_electro(
    kb: KnowledgeBase,
) -> None:
    pregnant = Health(pregnant=True, pregnancy_weeks=20)
    for protocol_id in kb.protocols:
        for pattern in [None, *kb.patterns]:
            subject = intake(
                Side.BOTH, protocol=protocol_id, pattern=pattern, use_patterns=True, health=pregnant
            )
            result = run(kb, subject, screen(subject, kb))
            assert not codes(result) & PREGNANCY_FORBIDDEN, (protocol_id, pattern)
            assert result.method is not Method.ELECTRO, (protocol_id, pattern)


def test_pacemaker_turns_tu2021_electroacupuncture_into_manual_with_the_change_recorded(
    kb: KnowledgeBase,
) -> None:
    device = finding("implanted_device", methods=[Method.ELECTRO])
    result = run(kb, intake(protocol=TU_EA), Screening(findings=[device]))
    assert result.method is Method.MANUAL
    assert codes(result) == protocol_codes(kb, TU_EA)
    assert result.electro_pairs == []
    assert result.electro_frequency_hz == []
    change = next(c for c in result.changes if c.action == "replaced_method")
    assert (change.target, change.rule) == ("electro", "implanted_device")
    assert "src_implanted_device" in change.sources


def test_pacemaker_intake_through_screen_gets_manual_tu2021(kb: KnowledgeBase) -> None:
    subject = intake(protocol=TU_EA, health=Health(implanted_electronic_device=True))
    result = run(kb, subject, screen(subject, kb))
    assert result.status == "proposed"
    assert result.method is Method.MANUAL
    assert any(c.action == "replaced_method" for c in result.changes)


def test_left_prosthesis_removes_left_local_points_only(kb: KnowledgeBase) -> None:
    subject = intake(Side.BOTH, protocol=PES, health=Health(knee_prosthesis=Side.LEFT))
    result = run(kb, subject, screen(subject, kb))
    local = {p.code for p in kb.protocols[PES].points if p.role == "local"}
    assert codes(result, Side.RIGHT) == protocol_codes(kb, PES)
    assert codes(result, Side.LEFT) == protocol_codes(kb, PES) - local == {"SP6"}
    removed = {(c.target, c.side) for c in result.changes if c.action == "removed_point"}
    assert removed == {(code, Side.LEFT) for code in local} | {("Ashi", Side.LEFT)}
    assert result.ashi_sides == [Side.RIGHT]


def test_no_point_left_refuses_with_a_clear_reason(kb: KnowledgeBase) -> None:
    # A tumour closes the knee and, unlike a knee replacement (second safety pass), allows no
    # substitute on the other leg.
    subject = intake(Side.LEFT, protocol=GERAC, health=Health(malignancy_near_knee=Side.LEFT))
    result = run(kb, subject, screen(subject, kb))
    assert result.status == "refused"
    assert "No point of protocol knee-oa-manual-gerac" in result.refusal_reasons[0]
    assert "malignancy_near_knee" in result.refusal_reasons[0]
    assert not result.schedule


def test_blocked_point_is_removed_with_a_change_naming_the_rule(kb: KnowledgeBase) -> None:
    screening = Screening(findings=[finding("skin", blocks=[("SP9", Side.RIGHT)])])
    result = run(kb, intake(protocol=GERAC), screening)
    assert "SP9" not in codes(result)
    change = next(c for c in result.changes if c.action == "removed_point")
    assert (change.target, change.side, change.rule) == ("SP9", Side.RIGHT, "skin")
    assert change.sources == ["src_skin"]


def test_block_on_the_other_knee_leaves_the_painful_knee_alone(kb: KnowledgeBase) -> None:
    screening = Screening(findings=[finding("skin", blocks=[("SP9", Side.LEFT)])])
    result = run(kb, intake(Side.RIGHT, protocol=GERAC), screening)
    assert codes(result) == protocol_codes(kb, GERAC)


def test_electro_pair_is_dropped_when_one_of_its_needles_is_blocked(kb: KnowledgeBase) -> None:
    screening = Screening(findings=[finding("skin", blocks=[("LR8", Side.RIGHT)])])
    result = run(kb, intake(protocol=TU_EA), screening)
    assert result.method is Method.ELECTRO
    assert result.electro_pairs == [("ST35", "EX-LE4")]
    dropped = next(c for c in result.changes if c.action == "removed_electro_pair")
    assert (dropped.target, dropped.side, dropped.rule) == ("LR8-GB33", Side.RIGHT, "skin")


def test_electro_pair_survives_on_the_knee_where_both_needles_remain(kb: KnowledgeBase) -> None:
    screening = Screening(findings=[finding("skin", blocks=[("LR8", Side.LEFT)])])
    result = run(kb, intake(Side.BOTH, protocol=TU_EA), screening)
    wired = {(c.a, c.b, c.side) for c in result.electro_circuits}
    assert ("LR8", "GB33", Side.RIGHT) in wired
    assert ("LR8", "GB33", Side.LEFT) not in wired


def test_electro_becomes_manual_when_no_pair_is_complete(kb: KnowledgeBase) -> None:
    blocks = [("ST35", Side.RIGHT), ("LR8", Side.RIGHT)]
    result = run(kb, intake(protocol=TU_EA), Screening(findings=[finding("skin", blocks=blocks)]))
    assert result.method is Method.MANUAL
    assert codes(result) == {"EX-LE4", "GB33"}
    assert any(c.rule == "no_electro_pair_left" for c in result.changes)


def test_electro_plan_that_loses_every_pair_is_refused_when_manual_is_blocked_too(
    kb: KnowledgeBase,
) -> None:
    blocks = [("ST35", Side.RIGHT), ("LR8", Side.RIGHT)]
    no_manual = finding("no_manual", blocks=blocks, methods=[Method.MANUAL])
    result = run(kb, intake(protocol=TU_EA), Screening(findings=[no_manual]))
    assert result.status == "refused"
    assert result.method is None


def test_blocked_method_without_substitute_refuses_the_plan(kb: KnowledgeBase) -> None:
    blocked = finding("no_needles", methods=[Method.MANUAL])
    result = run(kb, intake(protocol=GERAC), Screening(findings=[blocked]))
    assert result.status == "refused"
    assert any(c.action == "removed_method" for c in result.changes)


def test_laser_protocol_is_unaffected_by_an_electro_block(kb: KnowledgeBase) -> None:
    laser = kb.protocols[GERAC].model_copy(
        update={"method": Method.LASER, "laser": Laser(description="test laser")}
    )
    custom = kb.model_copy(update={"protocols": {**kb.protocols, GERAC: laser}})
    device = finding("implanted_device", methods=[Method.ELECTRO])
    result = run(custom, intake(protocol=GERAC), Screening(findings=[device]))
    assert result.method is Method.LASER
    assert not result.changes


def test_a_depth_limit_caps_every_point_at_the_fixed_maximum(kb: KnowledgeBase) -> None:
    # Updated in the second safety pass: the old rule cut each point to the shallow end of its
    # own range (about 1 cun at ST35), which is not superficial needling.
    screening = Screening(findings=[finding("bleeding", depth=0.5, diameter=0.2)])
    result = run(kb, intake(protocol=GERAC), screening)
    assert all(p.depth_cun_max is not None and p.depth_cun_max <= 0.5 for p in result.points)
    assert all(p.depth_note and "0.5 cun" in p.depth_note for p in result.points)
    assert any(c.action == "limited_depth" and c.rule == "bleeding" for c in result.changes)
    assert result.max_needle_diameter_mm == 0.2


def test_without_a_depth_limit_the_points_full_range_is_kept(kb: KnowledgeBase) -> None:
    result = run(kb, intake(protocol=GERAC))
    st35 = next(p for p in result.points if p.code == "ST35")
    assert (st35.depth_cun_min, st35.depth_cun_max) == (
        kb.point("ST35").depth_cun_min,
        kb.point("ST35").depth_cun_max,
    )


def test_warned_point_that_remains_carries_a_warning(kb: KnowledgeBase) -> None:
    screening = Screening(findings=[finding("immuno", warn=["ST35", "BL40"])])
    result = run(kb, intake(protocol=GERAC), screening)
    warned = {c.target for c in result.changes if c.action == "warned"}
    assert warned == {"ST35"}
    assert any("ST35" in w for w in result.warnings)


# --- pattern layer ------------------------------------------------------------------------------


def test_pattern_layer_is_off_unless_turned_on(kb: KnowledgeBase) -> None:
    result = run(kb, intake(protocol=GERAC, pattern="liver_kidney_deficiency"))
    assert result.pattern is None
    assert codes(result) == protocol_codes(kb, GERAC)
    assert any("pattern layer is off" in w for w in result.warnings)


def test_pattern_adds_its_points_with_the_pattern_role(kb: KnowledgeBase) -> None:
    subject = intake(protocol=GERAC, pattern="liver_kidney_deficiency", use_patterns=True)
    result = run(kb, subject)
    added = {p.code for p in result.points if p.role == "pattern"}
    assert added == {"KI3", "SP6", "LR8"}
    assert result.pattern == "liver_kidney_deficiency"
    assert "traditional theory" in result.rationale


def test_pattern_points_are_filtered_by_the_safety_rules(kb: KnowledgeBase) -> None:
    subject = intake(protocol=GERAC, pattern="liver_kidney_deficiency", use_patterns=True)
    result = run(kb, subject, pregnancy_screening())
    assert "SP6" not in codes(result)
    assert {"KI3", "LR8"} <= codes(result)


def test_pattern_can_leave_a_protocol_point_out(kb: KnowledgeBase) -> None:
    pattern = Pattern(
        id="test_pattern", name="Test pattern", features=["x"], remove_points=["ST36"], source=["x"]
    )
    custom = kb.model_copy(update={"patterns": {**kb.patterns, "test_pattern": pattern}})
    result = run(custom, intake(protocol=GERAC, pattern="test_pattern", use_patterns=True))
    assert "ST36" not in codes(result)
    assert any(c.rule == "test_pattern" and c.target == "ST36" for c in result.changes)


def test_unknown_pattern_is_rejected_naming_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(InvalidInput) as error:
        run(kb, intake(protocol=GERAC, pattern="no_such_pattern", use_patterns=True))
    assert error.value.field == "preferences.pattern"


# --- schedule -----------------------------------------------------------------------------------


def test_three_sessions_a_week_cross_the_month_end_on_alternate_days() -> None:
    dates = [v.date for v in build_schedule(MONDAY, 3, 6)]
    assert dates == [
        dt.date(2025, 1, 27),
        dt.date(2025, 1, 29),
        dt.date(2025, 1, 31),
        dt.date(2025, 2, 3),
        dt.date(2025, 2, 5),
        dt.date(2025, 2, 7),
    ]


def test_two_sessions_a_week_fall_on_days_zero_and_three_across_a_leap_day() -> None:
    dates = [v.date for v in build_schedule(dt.date(2024, 2, 26), 2, 3)]
    assert dates == [dt.date(2024, 2, 26), dt.date(2024, 2, 29), dt.date(2024, 3, 4)]


def test_one_session_a_week_falls_on_the_start_weekday() -> None:
    dates = [v.date for v in build_schedule(MONDAY, 1, 3)]
    assert dates == [MONDAY, dt.date(2025, 2, 3), dt.date(2025, 2, 10)]


def test_reassessments_are_dated_at_the_protocols_weeks(kb: KnowledgeBase) -> None:
    result = run(kb, intake(protocol=TU_EA))
    visits = [v for v in result.schedule if v.kind == "reassessment"]
    assert [(v.week, v.date) for v in visits] == [
        (4, dt.date(2025, 2, 24)),
        (8, dt.date(2025, 3, 24)),
        (16, dt.date(2025, 5, 19)),
        (26, dt.date(2025, 7, 28)),
    ]


def test_plan_schedules_every_protocol_session_in_weekly_order(kb: KnowledgeBase) -> None:
    result = run(kb, intake(protocol=TU_EA))
    sessions = [v for v in result.schedule if v.kind == "session"]
    assert [v.number for v in sessions] == list(range(1, 25))
    assert sessions[-1].week == 8
    assert sessions[-1].date == dt.date(2025, 3, 21)


def test_reassessment_comes_before_a_session_on_the_same_day() -> None:
    visits = build_schedule(MONDAY, 1, 3, [1])
    same_day = [v.kind for v in visits if v.date == dt.date(2025, 2, 3)]
    assert same_day == ["reassessment", "session"]


# --- rationale ----------------------------------------------------------------------------------


def test_rationale_cites_sources_and_the_expected_response(kb: KnowledgeBase) -> None:
    result = run(kb, intake(protocol=TU_EA))
    recipe = kb.protocols[TU_EA]
    assert result.expected_response == recipe.expected_response
    assert "60.3 %" in result.rationale
    assert all(s in result.rationale for s in recipe.source)
    assert set(recipe.source) <= set(result.sources)
    assert result.evidence_level == recipe.evidence_level.value


def test_manual_tu2021_protocol_reports_its_own_arm(kb: KnowledgeBase) -> None:
    assert "58.6 %" in kb.protocols[TU_MA].expected_response


def test_example_knee_oa_intake_gets_the_gerac_plan_end_to_end(kb: KnowledgeBase) -> None:
    from acuknee.clinical.assessment import assess

    subject = Intake(
        age=64,
        side=Side.RIGHT,
        duration_weeks=78,
        activity_related_pain=True,
        morning_stiffness_minutes=15,
        examination=Examination(crepitus=True, bony_tenderness=True, palpable_warmth=False),
    )
    assessed = assess(subject, kb)
    result = plan(subject, screen(subject, kb), assessed, start=MONDAY, kb=kb)
    assert assessed.likely_cause is Cause.KNEE_OSTEOARTHRITIS
    assert (result.status, result.protocol) == ("proposed", GERAC)


# --- the safety property ------------------------------------------------------------------------


@st.composite
def screenings(draw: st.DrawFn, point_codes: list[str]) -> Screening:
    found = []
    for i in range(draw(st.integers(0, 3))):
        blocks = draw(
            st.lists(
                st.tuples(st.sampled_from(point_codes), st.sampled_from(list(Side))), max_size=12
            )
        )
        methods = draw(st.lists(st.sampled_from(list(Method)), unique=True, max_size=2))
        depth = draw(st.sampled_from([None, 0.5]))
        found.append(finding(f"r{i}", blocks=blocks, methods=methods, depth=depth))
    return Screening(findings=found)


_KB = load_knowledge()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    screening=screenings(sorted(_KB.points)),
    side=st.sampled_from(list(Side)),
    protocol_id=st.sampled_from(sorted(_KB.protocols)),
    pattern=st.sampled_from([None, *sorted(_KB.patterns)]),
)
def test_plan_never_contains_a_blocked_point_or_method(
    screening: Screening, side: Side, protocol_id: str, pattern: str | None
) -> None:
    given_intake = intake(side, protocol=protocol_id, pattern=pattern, use_patterns=True)
    result = run(_KB, given_intake, screening)
    if result.status == "refused":
        assert result.refusal_reasons
        return
    assert result.method is not None
    assert not screening.method_blocks(result.method)
    for point in result.points:
        assert not screening.point_blocks(point.code, point.side), (point.code, point.side)
    planned = {(p.code, p.side) for p in result.points}
    for circuit in result.electro_circuits:
        assert {(circuit.a, circuit.side), (circuit.b, circuit.side)} <= planned
    cap = screening.max_depth_cun
    if cap is not None:
        assert all(p.depth_cun_max is not None and p.depth_cun_max <= cap for p in result.points)


# --- review: Ashi points around a knee the safety rules close -----------------------------------

ITBS = "iliotibial-band-manual-li-wu2022"


@pytest.mark.parametrize(
    "health",
    [Health(knee_prosthesis=Side.LEFT), Health(malignancy_near_knee=Side.LEFT)],
    ids=["prosthesis", "malignancy"],
)
def test_a_rule_closing_the_knee_blocks_ashi_points_even_with_a_thigh_point_in_the_protocol(
    kb: KnowledgeBase, health: Health
) -> None:
    # The ITBS protocol's GB31 lies mid-thigh (not local to the knee), so not every local-role
    # point is blocked; the Ashi points around the replaced or tumour knee still must be.
    subject = intake(Side.LEFT, protocol=ITBS, health=health)
    result = run(kb, subject, screen(subject, kb), Cause.ILIOTIBIAL_BAND)
    assert result.status == "proposed"
    assert {p.code for p in result.points if p.side is Side.LEFT} == {"GB31"}
    assert result.ashi_sides == []
    assert result.ashi_points == 0
    assert ("Ashi", Side.LEFT) in {
        (c.target, c.side) for c in result.changes if c.action == "removed_point"
    }


def test_a_rule_closing_the_other_knee_leaves_ashi_points_on_the_painful_knee(
    kb: KnowledgeBase,
) -> None:
    subject = intake(Side.LEFT, protocol=ITBS, health=Health(knee_prosthesis=Side.RIGHT))
    result = run(kb, subject, screen(subject, kb), Cause.ILIOTIBIAL_BAND)
    assert result.ashi_sides == [Side.LEFT]


_SIDES = st.sampled_from([None, *Side])


@st.composite
def risky_health(draw: st.DrawFn) -> Health:
    lesions = draw(
        st.lists(
            st.fixed_dictionaries(
                {"region": st.sampled_from(sorted(_KB.regions)), "side": st.sampled_from(Side)}
            ),
            max_size=3,
        )
    )
    return Health.model_validate(
        {
            "pregnant": draw(st.booleans()),
            "anticoagulant": draw(st.sampled_from([None, "warfarin", "unspecified"])),
            "implanted_electronic_device": draw(st.booleans()),
            "knee_prosthesis": draw(_SIDES),
            "lymphoedema_leg": draw(_SIDES),
            "malignancy_near_knee": draw(_SIDES),
            "skin_lesions": lesions,
        }
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    health=risky_health(),
    side=st.sampled_from(list(Side)),
    protocol_id=st.sampled_from(sorted(_KB.protocols)),
    pattern=st.sampled_from([None, *sorted(_KB.patterns)]),
)
def test_real_screening_of_any_risky_intake_never_yields_a_forbidden_point_ashi_or_method(
    health: Health, side: Side, protocol_id: str, pattern: str | None
) -> None:
    subject = intake(side, protocol=protocol_id, pattern=pattern, use_patterns=True, health=health)
    result = run(_KB, subject, screen(subject, _KB))
    if result.status == "refused":
        return
    closed_knees = [
        s
        for s in (health.knee_prosthesis, health.malignancy_near_knee, health.lymphoedema_leg)
        if s is not None
    ]
    for knee in result.ashi_sides:
        assert not any(closed.covers(knee) for closed in closed_knees), (knee, closed_knees)
    for point in result.points:
        found = _KB.points[point.code]
        region = _KB.regions[found.region]
        assert not (health.pregnant and "pregnancy_forbidden" in found.tags)
        assert not (health.anticoagulant and "near_large_vessel" in found.tags)
        assert not (health.anticoagulant and "intra_articular_risk" in found.tags)
        for lesion in health.skin_lesions:
            assert not (lesion.region == found.region and lesion.side.covers(point.side))
        if region.local_to_knee:
            for closed in (health.knee_prosthesis, health.malignancy_near_knee):
                assert closed is None or not closed.covers(point.side), point
        if region.limb.value == "lower" and health.lymphoedema_leg is not None:
            assert not health.lymphoedema_leg.covers(point.side), point
    if health.pregnant or health.implanted_electronic_device:
        assert result.method is not Method.ELECTRO


def test_a_start_whose_schedule_would_pass_the_calendar_s_end_is_a_field_error() -> None:
    """A mistyped year (9999-12-01) once overflowed the schedule's dates: a 500 on the pages
    and a traceback in the command line."""
    with pytest.raises(InvalidInput) as refused:
        build_schedule(dt.date(9999, 12, 1), 2, 8, [4])
    assert refused.value.field == "start"
    assert build_schedule(dt.date(9998, 1, 1), 2, 8, [4])
