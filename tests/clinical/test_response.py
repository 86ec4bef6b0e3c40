"""Response over time: change per measure, MIC at its boundary, OMERACT-OARSI at its thresholds."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import pytest
from pydantic import ValidationError

from acuknee.clinical.errors import InvalidInput, InvalidInputs
from acuknee.clinical.knowledge import KnowledgeBase, MeasureRef, build_knowledge
from acuknee.clinical.response import (
    EXPLORATORY_HERE_NOTE,
    EXPLORATORY_NOTE,
    NOT_MEASURED_NOTE,
    Course,
    Evaluation,
    MeasureChange,
    Visit,
    domain_label,
    evaluate,
    omeract_oarsi,
)
from acuknee.clinical.vocabulary import Domain


def _packaged(name: str) -> tuple[str, bytes]:
    return name, (resources.files("acuknee.clinical") / "knowledge" / name).read_bytes()


# A 0-100 scale with a non-integer MIC, to test the MIC boundary where float arithmetic bites
# (61.3 - 50 = 11.299999999999997). Test data only, not a clinical instrument.
TEST_VAS = b"""
[meta]
title = "Test instrument"
version = "0"
licence = "test"

[sources.test_vas]
citation = "Test data, not a clinical source."

[[instrument]]
id = "test_vas"
name = "Test 0-100 scale"
kind = "rating"
licence = "test"
source = ["test_vas"]
items = [{ code = "value", label = "Value", min = 0, max = 100, integer = false }]

[[instrument.subscales]]
id = "value"
name = "Test value"
items = ["value"]
scoring = "value"
range_min = 0
range_max = 100
unit = "points (0-100)"
direction = "higher_is_better"
domain = "function"
mic = [{ kind = "mic", value = 11.3, population = "test", source = ["test_vas"] }]
"""

# The instrument and response files alone (plus the test scale), so these tests do not depend
# on other knowledge files in progress.
KB: KnowledgeBase = build_knowledge(
    [_packaged("instruments.toml"), _packaged("response.toml"), ("test.toml", TEST_VAS)]
)

BASELINE = dt.date(2026, 1, 5)
WEEK_8 = dt.date(2026, 3, 2)


def koos(pain: int, adl: int) -> dict[str, float | None]:
    """Every KOOS Pain item at ``pain`` and every ADL item at ``adl`` (0 = none ... 4 = extreme)."""
    answers: dict[str, float | None] = {f"P{i}": pain for i in range(1, 10)}
    answers.update({f"A{i}": adl for i in range(1, 18)})
    return answers


def course(
    before: dict[str, dict[str, float | None]],
    after: dict[str, dict[str, float | None]],
    **choices: MeasureRef,
) -> Course:
    return Course(
        baseline=Visit(date=BASELINE, measurements=before),
        follow_ups=[Visit(date=WEEK_8, measurements=after)],
        **choices,
    )


def measure(evaluation: Evaluation, instrument: str, subscale: str) -> MeasureChange:
    for group in evaluation.follow_ups[0].domains:
        for found in group.measures:
            if (found.instrument, found.subscale) == (instrument, subscale):
                return found
    raise AssertionError(f"{instrument}.{subscale} not in the evaluation")


UNCHANGED = (40.0, 40.0)


# --- OMERACT-OARSI at its thresholds (values already on 0-100, higher = worse) -----------------


def test_pain_improving_exactly_50_percent_and_20_points_is_a_responder() -> None:
    verdict = omeract_oarsi(
        {"pain": (40.0, 20.0), "function": UNCHANGED, "patient_global": UNCHANGED}, KB
    )
    assert verdict.status == "responder"
    assert verdict.criterion == "high_improvement"
    assert verdict.decided_by == ["pain"]


def test_function_improving_exactly_50_percent_and_20_points_is_a_responder() -> None:
    verdict = omeract_oarsi(
        {"pain": UNCHANGED, "function": (40.0, 20.0), "patient_global": UNCHANGED}, KB
    )
    assert (verdict.status, verdict.decided_by) == ("responder", ["function"])


def test_pain_improving_49_9_percent_is_not_a_high_improvement() -> None:
    verdict = omeract_oarsi(
        {"pain": (100.0, 50.1), "function": UNCHANGED, "patient_global": UNCHANGED}, KB
    )
    pain = verdict.domains[0]
    assert pain.relative_improvement_percent == pytest.approx(49.9)
    assert pain.high_improvement is False
    assert verdict.status == "non_responder"


def test_pain_improving_50_percent_but_19_9_points_is_not_a_high_improvement() -> None:
    verdict = omeract_oarsi(
        {"pain": (39.8, 19.9), "function": UNCHANGED, "patient_global": UNCHANGED}, KB
    )
    assert verdict.domains[0].high_improvement is False
    assert verdict.status == "non_responder"


def test_patient_global_alone_cannot_give_a_high_improvement() -> None:
    verdict = omeract_oarsi(
        {"pain": UNCHANGED, "function": UNCHANGED, "patient_global": (80.0, 0.0)}, KB
    )
    assert verdict.domains[2].high_improvement is None
    assert verdict.status == "non_responder"


def test_two_domains_improving_exactly_20_percent_and_10_points_make_a_responder() -> None:
    verdict = omeract_oarsi(
        {"pain": (50.0, 40.0), "function": (50.0, 50.0), "patient_global": (50.0, 40.0)}, KB
    )
    assert verdict.status == "responder"
    assert verdict.criterion == "domains_improved"
    assert verdict.decided_by == ["pain", "patient_global"]


def test_all_three_domains_improving_are_named_as_deciding() -> None:
    verdict = omeract_oarsi(
        {"pain": (50.0, 40.0), "function": (50.0, 40.0), "patient_global": (50.0, 40.0)}, KB
    )
    assert verdict.decided_by == ["pain", "function", "patient_global"]


def test_ten_points_below_20_percent_does_not_count_as_improved() -> None:
    verdict = omeract_oarsi(
        {"pain": (50.25, 40.25), "function": (50.0, 50.0), "patient_global": (50.0, 40.0)}, KB
    )
    assert verdict.domains[0].improved is False
    assert verdict.status == "non_responder"


def test_only_one_of_three_domains_improving_is_a_non_responder() -> None:
    verdict = omeract_oarsi(
        {"pain": (50.0, 40.0), "function": (50.0, 50.0), "patient_global": (50.0, 45.0)}, KB
    )
    assert verdict.status == "non_responder"
    assert "pain" in verdict.explanation


def test_baseline_of_zero_cannot_meet_the_relative_criterion() -> None:
    verdict = omeract_oarsi(
        {"pain": (50.0, 40.0), "function": (50.0, 50.0), "patient_global": (0.0, 0.0)}, KB
    )
    patient_global = verdict.domains[2]
    assert patient_global.relative_improvement_percent is None
    assert patient_global.improved is False
    assert verdict.status == "non_responder"


def test_missing_domain_leaves_the_verdict_not_evaluable() -> None:
    verdict = omeract_oarsi(
        {"pain": (50.0, 40.0), "function": None, "patient_global": (50.0, 50.0)}, KB
    )
    assert verdict.status == "not_evaluable"
    assert verdict.missing == ["Function: no value"]


def test_high_improvement_decides_even_when_another_domain_is_missing() -> None:
    verdict = omeract_oarsi({"pain": (40.0, 20.0), "function": UNCHANGED}, KB)
    assert verdict.status == "responder"
    assert verdict.missing == ["Patient global assessment: no value"]


def test_verdict_cites_pham_2004_and_both_restatements() -> None:
    verdict = omeract_oarsi({"pain": UNCHANGED, "function": UNCHANGED}, KB)
    ids = [s.id for s in verdict.sources]
    assert ids[0] == "resp_pham2004"
    assert {"resp_ard_ha_oarsi2004", "resp_dfha2021"} <= set(ids)


# --- OMERACT-OARSI over a course ----------------------------------------------------------------


def test_average_pain_rating_feeds_the_pain_domain_before_koos_pain() -> None:
    evaluation = evaluate(
        course(
            {"pain_nrs": {"average_last_week": 8}, "koos": koos(2, 2)},
            {"pain_nrs": {"average_last_week": 4}, "koos": koos(2, 2)},
        ),
        KB,
    )
    pain = evaluation.follow_ups[0].oarsi.domains[0]
    assert pain.measure == MeasureRef(instrument="pain_nrs", subscale="average_last_week")
    assert (pain.baseline_normalised, pain.follow_up_normalised) == (80.0, 40.0)


def test_koos_pain_feeds_the_pain_domain_when_no_pain_rating_was_given() -> None:
    evaluation = evaluate(course({"koos": koos(2, 2)}, {"koos": koos(1, 2)}), KB)
    pain = evaluation.follow_ups[0].oarsi.domains[0]
    assert pain.measure == MeasureRef(instrument="koos", subscale="pain")


def test_koos_adl_is_reversed_so_higher_is_worse() -> None:
    evaluation = evaluate(course({"koos": koos(2, 2)}, {"koos": koos(2, 1)}), KB)
    function = evaluation.follow_ups[0].oarsi.domains[1]
    assert (function.baseline, function.follow_up) == (50.0, 75.0)
    assert (function.baseline_normalised, function.follow_up_normalised) == (50.0, 25.0)
    assert function.high_improvement is True


def test_course_responder_by_pain_and_patient_global() -> None:
    evaluation = evaluate(
        course(
            {
                "pain_nrs": {"average_last_week": 6},
                "koos": koos(2, 2),
                "patient_global": {"global": 5},
            },
            {
                "pain_nrs": {"average_last_week": 4},
                "koos": koos(2, 2),
                "patient_global": {"global": 4},
            },
        ),
        KB,
    )
    verdict = evaluation.follow_ups[0].oarsi
    assert (verdict.status, verdict.decided_by) == ("responder", ["pain", "patient_global"])


def test_missing_koos_at_follow_up_makes_the_verdict_not_evaluable_naming_it() -> None:
    evaluation = evaluate(
        course(
            {
                "pain_nrs": {"average_last_week": 6},
                "koos": koos(2, 2),
                "patient_global": {"global": 5},
            },
            {"pain_nrs": {"average_last_week": 5}, "patient_global": {"global": 5}},
        ),
        KB,
    )
    verdict = evaluation.follow_ups[0].oarsi
    assert verdict.status == "not_evaluable"
    assert verdict.missing == ["Function: KOOS Function in daily living (ADL) missing at follow-up"]


def test_chosen_function_measure_replaces_the_default() -> None:
    ps_before = {"A10": 2, "A9": 2, "A3": 2, "A5": 2, "SP4": 2, "SP5": 2, "SP1": 2}
    ps_after = {"A10": 1, "A9": 1, "A3": 1, "A5": 1, "SP4": 1, "SP5": 1, "SP1": 1}
    evaluation = evaluate(
        course(
            {"koos": koos(2, 2), "koos_ps": ps_before},
            {"koos": koos(2, 2), "koos_ps": ps_after},
            oarsi_function=MeasureRef(instrument="koos_ps", subscale="function"),
        ),
        KB,
    )
    function = evaluation.follow_ups[0].oarsi.domains[1]
    assert function.measure == MeasureRef(instrument="koos_ps", subscale="function")


def test_unknown_chosen_measure_is_invalid_input_naming_the_choice() -> None:
    with pytest.raises(InvalidInput) as raised:
        evaluate(course({}, {}, oarsi_pain=MeasureRef(instrument="pain_nrs", subscale="typo")), KB)
    assert raised.value.field == "oarsi_pain"


@pytest.mark.parametrize(
    ("field", "instrument", "subscale"),
    [
        ("oarsi_pain", "skin_temperature", "difference"),  # exploratory, not pain
        ("oarsi_pain", "koos", "adl"),  # a function subscale
        ("oarsi_function", "timed_up_and_go", "time"),  # a performance test
        ("oarsi_function", "knee_rom", "flexion"),  # a clinical sign
        ("oarsi_patient_global", "pain_nrs", "current"),  # the patient's global rating only
    ],
)
def test_a_measure_the_oarsi_domain_cannot_take_is_refused_with_what_it_takes(
    field: str, instrument: str, subscale: str
) -> None:
    """The criteria's domains are the patient's pain, function and global assessment (Pham
    2003): a knee cooling by 4 degrees named as "pain" once made a responder."""
    named = MeasureRef(instrument=instrument, subscale=subscale)
    with pytest.raises(InvalidInput) as refused:
        evaluate(course({}, {}, **{field: named}), KB)
    assert refused.value.field == field
    assert "cannot feed the OMERACT-OARSI" in refused.value.problem


@pytest.mark.parametrize(
    ("field", "instrument", "subscale"),
    [
        ("oarsi_pain", "pain_nrs", "worst_last_week"),  # another patient-reported pain measure
        ("oarsi_pain", "koos", "pain"),
        ("oarsi_function", "koos_ps", "function"),
        ("oarsi_patient_global", "patient_global", "global"),
    ],
)
def test_a_patient_reported_measure_of_the_domain_may_be_named_for_it(
    field: str, instrument: str, subscale: str
) -> None:
    named = MeasureRef(instrument=instrument, subscale=subscale)
    evaluation = evaluate(course({}, {}, **{field: named}), KB)
    assert evaluation.follow_ups


# --- change per measure and the MIC -------------------------------------------------------------


def test_change_is_signed_and_improvement_follows_the_good_direction() -> None:
    evaluation = evaluate(
        course(
            {"pain_nrs": {"average_last_week": 8}, "koos": koos(2, 2)},
            {"pain_nrs": {"average_last_week": 5}, "koos": koos(2, 1)},
        ),
        KB,
    )
    nrs = measure(evaluation, "pain_nrs", "average_last_week")
    adl = measure(evaluation, "koos", "adl")
    assert (nrs.change, nrs.improvement, nrs.percent_change) == (-3.0, 3.0, -37.5)
    assert (adl.change, adl.improvement, adl.percent_change) == (25.0, 25.0, 50.0)


def test_measures_are_grouped_by_domain() -> None:
    evaluation = evaluate(
        course({"pain_nrs": {"average_last_week": 8}}, {"pain_nrs": {"average_last_week": 5}}),
        KB,
    )
    groups = {g.domain: g for g in evaluation.follow_ups[0].domains}
    assert [m.subscale for m in groups[Domain.PAIN].measures] == ["average_last_week"]
    assert groups[Domain.FUNCTION].note == "not measured"


def test_improvement_equal_to_the_mic_reaches_it_despite_float_rounding() -> None:
    evaluation = evaluate(course({"test_vas": {"value": 50.0}}, {"test_vas": {"value": 61.3}}), KB)
    assert measure(evaluation, "test_vas", "value").mic.status == "reached"


def test_improvement_just_below_the_mic_does_not_reach_it() -> None:
    evaluation = evaluate(course({"test_vas": {"value": 50.0}}, {"test_vas": {"value": 61.2}}), KB)
    assert measure(evaluation, "test_vas", "value").mic.status == "not_reached"


def test_pain_rating_uses_its_first_mcid_entry() -> None:
    evaluation = evaluate(
        course({"pain_nrs": {"average_last_week": 7}}, {"pain_nrs": {"average_last_week": 5}}),
        KB,
    )
    mic = measure(evaluation, "pain_nrs", "average_last_week").mic
    assert (mic.status, mic.kind, mic.threshold) == ("reached", "mcid", 2.0)
    assert mic.sources == ["instr_farrar2001"]


@pytest.mark.parametrize(
    ("before", "after", "reached"),
    [
        (3, 2, True),  # 1 point, a third: the 30 % reaches it
        (1, 0, True),  # pain-free from 1
        (2, 1, True),
        (4, 3, False),  # 1 point, 25 %: neither
        (8, 6, True),  # 2 points, 25 %: the points reach it
        (10, 9, False),
        (5, 4, False),
    ],
)
def test_pain_reaches_its_mcid_by_two_points_or_thirty_percent_of_baseline(
    before: int, after: int, reached: bool
) -> None:
    """Farrar 2001: "a reduction of approximately two points or a reduction of approximately
    30%" on the 0-10 rating is clinically important; either one reaches it."""
    evaluation = evaluate(
        course(
            {"pain_nrs": {"average_last_week": before}},
            {"pain_nrs": {"average_last_week": after}},
        ),
        KB,
    )
    mic = measure(evaluation, "pain_nrs", "average_last_week").mic
    assert mic.status == ("reached" if reached else "not_reached")
    assert mic.relative_reached is ((before - after) / before * 100 >= 30)
    assert mic.applied == pytest.approx(min(2.0, before * 0.3))
    assert "against 2 or 30 % of baseline" in mic.text


def test_the_relative_form_cannot_be_met_from_a_baseline_of_zero() -> None:
    evaluation = evaluate(
        course({"pain_nrs": {"average_last_week": 0}}, {"pain_nrs": {"average_last_week": 0}}),
        KB,
    )
    mic = measure(evaluation, "pain_nrs", "average_last_week").mic
    assert (mic.status, mic.relative_reached, mic.applied) == ("not_reached", None, 2.0)


def test_patient_global_reaches_its_mcii_by_its_absolute_or_its_relative_value() -> None:
    """Tubach 2005 gives the MCII for absolute (-18.3 mm) and for relative (-39.0 %) changes."""
    by_percent = evaluate(
        course({"patient_global": {"global": 2}}, {"patient_global": {"global": 1}}), KB
    )
    by_points = evaluate(
        course({"patient_global": {"global": 9}}, {"patient_global": {"global": 7}}), KB
    )
    neither = evaluate(
        course({"patient_global": {"global": 5}}, {"patient_global": {"global": 4}}), KB
    )
    assert measure(by_percent, "patient_global", "global").mic.status == "reached"
    assert measure(by_points, "patient_global", "global").mic.status == "reached"
    assert measure(neither, "patient_global", "global").mic.status == "not_reached"


def test_a_mic_without_a_relative_form_is_met_by_its_points_alone() -> None:
    """KOOS pain's MIC (11.3) has no percent form: a large relative gain from a low score
    below the points does not reach it."""
    later = koos(3, 3) | {"P1": 2, "P2": 2, "P3": 2}  # 25 -> 33.3: a third better, 8.3 points
    evaluation = evaluate(course({"koos": koos(3, 3)}, {"koos": later}), KB)
    pain = measure(evaluation, "koos", "pain")
    assert pain.percent_improvement is not None
    assert pain.percent_improvement > 30
    assert (pain.mic.status, pain.mic.relative_reached, pain.mic.applied) == (
        "not_reached",
        None,
        pain.mic.threshold,
    )


def test_worsening_does_not_reach_the_mic() -> None:
    evaluation = evaluate(
        course({"pain_nrs": {"average_last_week": 4}}, {"pain_nrs": {"average_last_week": 7}}),
        KB,
    )
    found = measure(evaluation, "pain_nrs", "average_last_week")
    assert (found.improvement, found.mic.status) == (-3.0, "not_reached")


def test_measure_with_only_an_mdc_has_no_established_mic_and_names_the_mdc() -> None:
    evaluation = evaluate(
        course({"chair_stand_30s": {"stands": 8}}, {"chair_stand_30s": {"stands": 11}}), KB
    )
    mic = measure(evaluation, "chair_stand_30s", "stands").mic
    assert (mic.status, mic.kind, mic.threshold) == ("no_established_mic", None, None)
    assert (mic.mdc, mic.beyond_mdc) == (2.5, True)
    assert mic.text.startswith("no established MIC")


def test_measure_missing_at_follow_up_has_no_change_and_says_why() -> None:
    evaluation = evaluate(
        course(
            {"pain_nrs": {"average_last_week": 6}, "chair_stand_30s": {"stands": 8}},
            {"pain_nrs": {"average_last_week": 5}},
        ),
        KB,
    )
    found = measure(evaluation, "chair_stand_30s", "stands")
    assert (found.change, found.note) == (None, "follow-up: not measured")


def test_baseline_of_zero_gives_no_percent_change() -> None:
    evaluation = evaluate(
        course({"pain_nrs": {"average_last_week": 0}}, {"pain_nrs": {"average_last_week": 2}}),
        KB,
    )
    found = measure(evaluation, "pain_nrs", "average_last_week")
    assert (found.change, found.percent_change) == (2.0, None)


def test_a_cooler_knee_is_an_exploratory_inflammation_change_never_circulation() -> None:
    """Denoble 2010: patellar skin temperature tracks OA severity (inflammation); no validated
    clinical measure of knee circulation exists."""
    evaluation = evaluate(
        course(
            {"skin_temperature": {"affected_c": 33.0}}, {"skin_temperature": {"affected_c": 32.5}}
        ),
        KB,
    )
    groups = {g.domain: g for g in evaluation.follow_ups[0].domains}
    affected = measure(evaluation, "skin_temperature", "affected")
    assert (affected.domain, affected.exploratory) == (Domain.INFLAMMATION, True)
    assert affected.improvement is not None
    assert affected.improvement > 0  # cooler = less inflamed
    circulation = groups[Domain.CIRCULATION]
    assert circulation.measures == []
    assert "No validated clinical measure of knee circulation exists" in (circulation.about or "")


def test_inflammation_recorded_only_by_skin_temperature_is_exploratory_never_unmeasurable() -> None:
    """Skin temperature is exploratory, effusion and circumference are validated (Denoble 2010;
    instruments.toml): a course recording only the first is labelled exploratory, and its note
    does not say the domain has no validated measure. With a validated measure beside it, the
    domain is not exploratory."""
    warm, cooler = {"affected_c": 33.0}, {"affected_c": 32.5}
    alone = evaluate(
        course({"skin_temperature": warm}, {"skin_temperature": cooler}), KB
    ).follow_ups[0]
    inflammation = {g.domain: g for g in alone.domains}[Domain.INFLAMMATION]
    assert (inflammation.exploratory, inflammation.note) == (True, EXPLORATORY_HERE_NOTE)
    assert "no validated measure" not in EXPLORATORY_HERE_NOTE
    both = evaluate(
        course(
            {"skin_temperature": warm, "knee_circumference": {"affected_cm": 44.0}},
            {"skin_temperature": cooler, "knee_circumference": {"affected_cm": 43.0}},
        ),
        KB,
    ).follow_ups[0]
    inflammation = {g.domain: g for g in both.domains}[Domain.INFLAMMATION]
    assert (inflammation.exploratory, inflammation.note) == (False, None)
    circulation = {g.domain: g for g in both.domains}[Domain.CIRCULATION]
    assert (circulation.exploratory, circulation.note) == (False, NOT_MEASURED_NOTE)


def test_a_domain_whose_every_known_measure_is_exploratory_says_it_has_no_validated_one() -> None:
    """The label follows what the knowledge base holds: with skin temperature the only
    inflammation measure known, recorded or not, the domain is exploratory."""
    only_exploratory = KB.model_copy(
        update={
            "instruments": {
                k: v
                for k, v in KB.instruments.items()
                if k not in {"effusion", "knee_circumference"}
            }
        }
    )
    assert domain_label(only_exploratory, Domain.INFLAMMATION, [True]) == (True, EXPLORATORY_NOTE)
    assert domain_label(only_exploratory, Domain.INFLAMMATION, []) == (True, NOT_MEASURED_NOTE)
    assert domain_label(KB, Domain.INFLAMMATION, []) == (False, NOT_MEASURED_NOTE)
    assert domain_label(KB, Domain.INFLAMMATION, [True, False]) == (False, None)
    assert domain_label(KB, None, [False]) == (False, None)


def test_every_follow_up_is_compared_with_the_baseline() -> None:
    evaluation = evaluate(
        Course(
            baseline=Visit(date=BASELINE, measurements={"pain_nrs": {"average_last_week": 8}}),
            follow_ups=[
                Visit(date=WEEK_8, measurements={"pain_nrs": {"average_last_week": 6}}),
                Visit(
                    date=dt.date(2026, 4, 27), measurements={"pain_nrs": {"average_last_week": 3}}
                ),
            ],
        ),
        KB,
    )
    changes = [f.domains[0].measures[0].change for f in evaluation.follow_ups]
    assert changes == [-2.0, -5.0]
    assert [f.days_from_baseline for f in evaluation.follow_ups] == [56, 112]


# --- validation ---------------------------------------------------------------------------------


def test_follow_up_on_the_baseline_date_is_invalid() -> None:
    bad = Course(baseline=Visit(date=BASELINE), follow_ups=[Visit(date=BASELINE)])
    with pytest.raises(InvalidInput) as raised:
        evaluate(bad, KB)
    assert raised.value.field == "follow_ups.0.date"


def test_follow_ups_out_of_date_order_are_invalid() -> None:
    bad = Course(
        baseline=Visit(date=BASELINE),
        follow_ups=[Visit(date=WEEK_8), Visit(date=dt.date(2026, 2, 1))],
    )
    with pytest.raises(InvalidInput) as raised:
        evaluate(bad, KB)
    assert raised.value.field == "follow_ups.1.date"


def test_invalid_answer_is_named_by_its_place_in_the_course() -> None:
    with pytest.raises(InvalidInput) as raised:
        evaluate(
            course({"pain_nrs": {"average_last_week": 6}}, {"pain_nrs": {"average_last_week": 11}}),
            KB,
        )
    assert raised.value.field == "follow_ups.0.measurements.pain_nrs.average_last_week"


def test_unknown_instrument_in_a_visit_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as raised:
        evaluate(course({"womac": {}}, {}), KB)
    assert raised.value.field == "baseline.measurements.womac"


def test_several_invalid_answers_are_all_named_by_their_place_in_the_course() -> None:
    with pytest.raises(InvalidInputs) as raised:
        evaluate(course({"koos": {"P1": 5, "P2": -1}}, {}), KB)
    assert [e.field for e in raised.value.errors] == [
        "baseline.measurements.koos.P1",
        "baseline.measurements.koos.P2",
    ]


# --- review: a missing domain only matters when it could change the verdict -------------------


def test_missing_patient_global_cannot_rescue_unimproved_pain_and_function() -> None:
    # Patient global has no high-improvement route, and with pain and function both unimproved
    # it could make at most 1 of the 2 domains the rule needs: a non-responder, whatever it is.
    verdict = omeract_oarsi({"pain": UNCHANGED, "function": UNCHANGED}, KB)
    assert verdict.status == "non_responder"
    assert verdict.missing == ["Patient global assessment: no value"]


def test_missing_measures_are_explained_by_their_names_never_their_identifiers() -> None:
    # The explanation is shown on the patient page and in the report: "pain_nrs.average_last_week"
    # or "patient_global" there is an identifier a practitioner should not have to decode.
    identifier = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_]+\b")
    not_evaluable = (
        evaluate(
            course(
                {"pain_nrs": {"average_last_week": 6}, "koos": koos(2, 2)},
                {"koos": {"P1": 2}},
            ),
            KB,
        )
        .follow_ups[0]
        .oarsi
    )
    assert not_evaluable.status == "not_evaluable"
    assert "Average pain, last week missing at follow-up" in not_evaluable.explanation
    assert "Patient global assessment missing at baseline and follow-up" in (
        not_evaluable.explanation
    )
    unimproved = omeract_oarsi({"pain": UNCHANGED, "function": UNCHANGED}, KB)
    assert unimproved.explanation.endswith(
        "(the missing patient global assessment cannot change this)"
    )
    for verdict in (not_evaluable, unimproved):
        assert not identifier.findall(verdict.explanation), verdict.explanation


def test_missing_patient_global_leaves_one_improved_domain_not_evaluable() -> None:
    verdict = omeract_oarsi({"pain": (50.0, 40.0), "function": UNCHANGED}, KB)
    assert verdict.status == "not_evaluable"


def test_missing_function_leaves_the_verdict_open_because_it_could_be_a_high_improvement() -> None:
    verdict = omeract_oarsi({"pain": UNCHANGED, "patient_global": UNCHANGED}, KB)
    assert verdict.status == "not_evaluable"


@pytest.mark.parametrize("bad", [True, "6"], ids=["boolean", "text"])
def test_a_course_answer_that_is_not_a_number_is_rejected_naming_the_item(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Course.model_validate(
            {
                "baseline": {
                    "date": "2026-01-05",
                    "measurements": {"pain_nrs": {"average_last_week": bad}},
                }
            }
        )
    locs = [e["loc"] for e in caught.value.errors()]
    assert locs == [("baseline", "measurements", "pain_nrs", "average_last_week")]


def test_a_measurement_seen_before_is_not_scored_again_and_evaluates_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``evaluate`` scores each measurement once per answers and rules: the next view of the
    course, or a course with one more visit, scores only what is new; other answers, or other
    rules, are scored anew."""
    from acuknee.clinical import response

    scored: list[str] = []
    real = response.score

    def counting(instrument: str, answers: object, kb: object = None) -> object:
        scored.append(instrument)
        return real(instrument, answers, kb)  # type: ignore[arg-type]

    monkeypatch.setattr(response, "score", counting)
    monkeypatch.setattr(response, "_SCORED", type(response._SCORED)(64))
    baseline = {"pain_nrs": {"average_last_week": 7}, "koos": koos(2, 2)}
    first = evaluate(course(baseline, {"pain_nrs": {"average_last_week": 3}}), KB)
    assert sorted(scored) == ["koos", "pain_nrs", "pain_nrs"]
    scored.clear()
    assert evaluate(course(baseline, {"pain_nrs": {"average_last_week": 3}}), KB) == first
    assert scored == []
    changed = evaluate(course(baseline, {"pain_nrs": {"average_last_week": 5}}), KB)
    assert scored == ["pain_nrs"]
    assert changed != first
    scored.clear()
    other_rules = build_knowledge(
        [_packaged("instruments.toml"), _packaged("response.toml"), ("test.toml", TEST_VAS)]
    )
    assert evaluate(course(baseline, {"pain_nrs": {"average_last_week": 3}}), other_rules) == first
    assert sorted(scored) == ["koos", "pain_nrs", "pain_nrs"]
