"""Scoring of the instruments: published formulas, missing-item rules, tables, validation."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acuknee.clinical.errors import InvalidInput, InvalidInputs
from acuknee.clinical.instruments import (
    instrument_problems,
    load_item_text,
    parse_item_text,
    score,
)
from acuknee.clinical.knowledge import KnowledgeBase, build_knowledge

# The instrument file alone, so these tests do not depend on other knowledge files in progress.
KB: KnowledgeBase = build_knowledge(
    [
        (
            "instruments.toml",
            (resources.files("acuknee.clinical") / "knowledge" / "instruments.toml").read_bytes(),
        )
    ]
)

KOOS_SUBSCALES = {
    "symptoms": ["S1", "S2", "S3", "S4", "S5", "S6", "S7"],
    "pain": [f"P{i}" for i in range(1, 10)],
    "adl": [f"A{i}" for i in range(1, 18)],
    "sport_rec": [f"SP{i}" for i in range(1, 6)],
    "qol": ["Q1", "Q2", "Q3", "Q4"],
}
KOOS_CODES = [c for codes in KOOS_SUBSCALES.values() for c in codes]
KOOS_PS_ITEMS = ["A10", "A9", "A3", "A5", "SP4", "SP5", "SP1"]
KOOS_JR_ITEMS = ["S6", "P2", "P3", "P6", "P9", "A3", "A5"]


def koos(**answers: float | None) -> dict[str, float | None]:
    return dict(answers)


def answers_with_raw_sum(codes: list[str], raw: int) -> dict[str, float | None]:
    """Spread a raw sum over 0-4 items, filling from the first item."""
    answers: dict[str, float | None] = {}
    for code in codes:
        answers[code] = min(4, raw)
        raw -= min(4, raw)
    return answers


# --- KOOS ---------------------------------------------------------------------------------------


def test_koos_has_all_42_items_by_official_code() -> None:
    assert [i.code for i in KB.instruments["koos"].items] == KOOS_CODES


def test_koos_subscales_are_100_when_every_answer_is_none_of_the_problem() -> None:
    scores = score("koos", dict.fromkeys(KOOS_CODES, 0), KB)
    assert scores.values() == dict.fromkeys(KOOS_SUBSCALES, 100.0)


def test_koos_subscales_are_0_when_every_answer_is_extreme() -> None:
    scores = score("koos", dict.fromkeys(KOOS_CODES, 4), KB)
    assert scores.values() == dict.fromkeys(KOOS_SUBSCALES, 0.0)


def test_koos_pain_is_100_minus_mean_times_25() -> None:
    # P1..P9 = 1,2,3,0,1,2,3,0,1: sum 13, mean 13/9, score 100 - 13/9 * 25 = 575/9 = 63.888...
    answers = dict(zip(KOOS_SUBSCALES["pain"], [1, 2, 3, 0, 1, 2, 3, 0, 1], strict=True))
    assert score("koos", answers, KB).value("pain") == pytest.approx(575 / 9, abs=1e-12)


def test_koos_value_keeps_full_precision_for_presentation_to_round() -> None:
    answers = dict(zip(KOOS_SUBSCALES["pain"], [1, 2, 3, 0, 1, 2, 3, 0, 1], strict=True))
    value = score("koos", answers, KB).value("pain")
    assert value is not None
    assert value != round(value, 1)


def test_koos_pain_with_five_answered_items_is_scored_from_their_mean() -> None:
    answers = koos(P1=2, P2=2, P3=2, P4=1, P5=1, P6=None)  # mean 8/5 = 1.6 -> 60
    result = score("koos", answers, KB).subscales["pain"]
    assert result.value == pytest.approx(60.0)
    assert (result.answered, result.required) == (5, 5)
    assert result.note == "scored from 5 of 9 items"


def test_koos_pain_is_missing_when_fewer_than_half_answered() -> None:
    result = score("koos", koos(P1=2, P2=2, P3=2, P4=1), KB).subscales["pain"]
    assert (result.value, result.answered) == (None, 4)
    assert result.note == "not scored: needs at least 5 of 9 items answered, 4 were"


@pytest.mark.parametrize(
    ("subscale", "needed"), [("symptoms", 4), ("pain", 5), ("adl", 9), ("sport_rec", 3), ("qol", 2)]
)
def test_koos_2012_rule_scores_a_subscale_from_half_its_items_and_not_below(
    subscale: str, needed: int
) -> None:
    codes = KOOS_SUBSCALES[subscale]
    enough = score("koos", dict.fromkeys(codes[:needed], 2), KB)
    too_few = score("koos", dict.fromkeys(codes[: needed - 1], 2), KB)
    assert (enough.value(subscale), too_few.value(subscale)) == (50.0, None)


def test_koos_straightening_item_is_not_reversed_because_it_is_coded_0_for_always() -> None:
    answers = {**dict.fromkeys(KOOS_SUBSCALES["symptoms"], 0), "S4": 4}
    assert score("koos", answers, KB).value("symptoms") == pytest.approx(100 - 4 / 7 * 25)


def test_koos_subscales_are_scored_independently_of_each_other() -> None:
    scores = score("koos", dict.fromkeys(KOOS_SUBSCALES["qol"], 3), KB)
    assert scores.value("qol") == 25.0
    assert scores.value("adl") is None


def test_koos_subscales_carry_their_verified_loinc_codes() -> None:
    loinc = {s.id: s.loinc for s in KB.instruments["koos"].subscales}
    assert loinc == {
        "pain": "72102-7",
        "symptoms": "72101-9",
        "adl": "72100-1",
        "sport_rec": "72099-5",
        "qol": "72098-7",
    }


@given(
    st.fixed_dictionaries(
        {}, optional={c: st.one_of(st.none(), st.integers(0, 4)) for c in KOOS_CODES}
    )
)
def test_koos_scores_stay_within_0_and_100(answers: dict[str, float | None]) -> None:
    for value in score("koos", answers, KB).values().values():
        assert value is None or 0 <= value <= 100


@given(
    st.fixed_dictionaries({c: st.integers(0, 4) for c in KOOS_CODES}),
    st.sampled_from(KOOS_CODES),
    st.integers(1, 4),
    st.sets(st.sampled_from(KOOS_CODES)),
)
def test_a_more_severe_koos_answer_never_gives_a_better_score(
    answers: dict[str, int], code: str, step: int, skipped: set[str]
) -> None:
    before: dict[str, float | None] = {
        c: (None if c in skipped - {code} else v) for c, v in answers.items()
    }
    after = {**before, code: min(4, answers[code] + step)}
    old, new = score("koos", before, KB), score("koos", after, KB)
    for subscale, value in new.values().items():
        previous = old.value(subscale)
        if value is not None and previous is not None:
            assert value <= previous


# --- KOOS-PS and KOOS JR ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [(0, 100.0), (1, 94.4), (7, 72.5), (11, 64.7), (20, 45.6), (28, 0.0)]
)
def test_koos_ps_looks_the_raw_sum_up_in_the_nomogram(raw: int, expected: float) -> None:
    result = score("koos_ps", answers_with_raw_sum(KOOS_PS_ITEMS, raw), KB).subscales["function"]
    assert (result.raw, result.value) == (raw, expected)


def test_koos_ps_needs_all_seven_items() -> None:
    answers = {**answers_with_raw_sum(KOOS_PS_ITEMS, 3), "SP1": None}
    assert score("koos_ps", answers, KB).value("function") is None


def test_a_full_koos_answer_set_can_be_scored_as_koos_ps_from_its_seven_items() -> None:
    answers = {**dict.fromkeys(KOOS_CODES, 4), **dict.fromkeys(KOOS_PS_ITEMS, 1)}
    assert score("koos_ps", answers, KB).value("function") == 72.5  # raw 7


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(0, 100.0), (1, 91.975), (7, 68.284), (15, 50.012), (27, 8.291), (28, 0.0)],
)
def test_koos_jr_looks_the_raw_sum_up_in_the_interval_table(raw: int, expected: float) -> None:
    result = score("koos_jr", answers_with_raw_sum(KOOS_JR_ITEMS, raw), KB).subscales["interval"]
    assert (result.raw, result.value) == (raw, expected)


def test_koos_jr_needs_all_seven_items() -> None:
    answers = {**answers_with_raw_sum(KOOS_JR_ITEMS, 10), "S6": None}
    result = score("koos_jr", answers, KB).subscales["interval"]
    assert (result.value, result.note) == (None, "not scored: needs all 7 items answered, 6 were")


def test_a_full_koos_answer_set_can_be_scored_as_koos_jr() -> None:
    answers = {**dict.fromkeys(KOOS_CODES, 0), **dict.fromkeys(KOOS_JR_ITEMS, 2)}
    assert score("koos_jr", answers, KB).value("interval") == 52.465  # raw 14


def test_koos_jr_items_carry_their_loinc_codes() -> None:
    loinc = {i.code: i.loinc for i in KB.instruments["koos_jr"].items}
    assert loinc["S6"] == "82325-2"
    assert loinc["A5"] == "82331-0"


# --- ratings, stress and sleep ------------------------------------------------------------------


def test_pss4_reverses_items_2_and_3_before_summing() -> None:
    most_stressed = score("pss4", {"1": 4, "2": 0, "3": 0, "4": 4}, KB)
    least_stressed = score("pss4", {"1": 0, "2": 4, "3": 4, "4": 0}, KB)
    assert (most_stressed.value("total"), least_stressed.value("total")) == (16.0, 0.0)


def test_pss4_middle_answers_sum_to_the_middle_of_the_scale() -> None:
    assert score("pss4", dict.fromkeys("1234", 2), KB).value("total") == 8.0


def test_pss4_is_missing_when_an_item_is_skipped() -> None:
    assert score("pss4", {"1": 1, "2": 1, "3": 1}, KB).value("total") is None


def test_pain_nrs_scores_each_rating_on_its_own() -> None:
    scores = score("pain_nrs", {"current": 3, "average_last_week": 5}, KB)
    assert scores.values() == {"current": 3.0, "average_last_week": 5.0, "worst_last_week": None}


def test_patient_global_mcii_is_tubach_18_3_mm_converted_to_the_0_to_10_scale() -> None:
    (mcii,) = KB.instruments["patient_global"].subscales[0].mic
    assert (mcii.kind, mcii.value, mcii.source) == ("mcii", 1.83, ["instr_tubach2005"])


# --- performance tests and examination ----------------------------------------------------------


def test_walk_40m_speed_is_40_metres_divided_by_the_time() -> None:
    scores = score("walk_40m", {"time_s": 25}, KB)
    assert (scores.value("time"), scores.value("speed")) == (25.0, 1.6)


def test_timed_up_and_go_accepts_decimal_seconds() -> None:
    assert score("timed_up_and_go", {"time_s": 9.4}, KB).value("time") == 9.4


def test_knee_circumference_difference_is_treated_minus_other_knee() -> None:
    scores = score("knee_circumference", {"affected_cm": 40.5, "other_cm": 38.0}, KB)
    assert scores.value("difference") == 2.5


def test_knee_circumference_difference_is_missing_without_the_other_knee() -> None:
    scores = score("knee_circumference", {"affected_cm": 40.5}, KB)
    assert (scores.value("affected"), scores.value("difference")) == (40.5, None)


def test_knee_extension_accepts_hyperextension_as_a_negative_angle() -> None:
    assert score("knee_rom", {"extension_deg": -5}, KB).value("extension") == -5.0


def test_effusion_grades_are_the_five_stroke_test_grades() -> None:
    (item,) = KB.instruments["effusion"].items
    assert [a.split(":")[0] for a in item.anchors] == ["zero", "trace", "1+", "2+", "3+"]


def test_skin_temperature_is_marked_exploratory_everywhere() -> None:
    inst = KB.instruments["skin_temperature"]
    assert inst.exploratory
    assert all(s.exploratory for s in inst.subscales)


# --- validation ---------------------------------------------------------------------------------


def test_an_unknown_instrument_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("womac", {}, KB)
    assert caught.value.field == "instrument"


def test_an_unknown_item_code_is_rejected_with_the_item_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("koos", {"P10": 1}, KB)
    assert caught.value.field == "koos.P10"


def test_an_out_of_range_answer_is_rejected_with_the_range() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("koos", {"P1": 5}, KB)
    assert (caught.value.field, caught.value.problem) == ("koos.P1", "must be between 0 and 4")


def test_an_instrument_copied_with_other_items_scores_by_its_own_items() -> None:
    """Each instrument's items by code are made once and kept beside it; a copy with fewer
    items (as a variant knowledge base would make) must not answer from the original's."""
    koos = KB.instruments["koos"]
    answers = dict.fromkeys(KOOS_CODES, 2)
    assert score("koos", answers, KB).subscales["pain"].value == 50.0  # the map made and kept
    fewer = koos.model_copy(update={"items": [i for i in koos.items if i.code != "P9"]})
    variant = KB.model_copy(update={"instruments": {**KB.instruments, "koos": fewer}})
    with pytest.raises(InvalidInput, match=r"koos\.P9"):
        score("koos", answers, variant)
    assert score("koos", answers, KB).subscales["pain"].value == 50.0


def test_a_fractional_answer_to_a_whole_number_item_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("pain_nrs", {"current": 2.5}, KB)
    assert (caught.value.field, caught.value.problem) == (
        "pain_nrs.current",
        "must be a whole number",
    )


def test_a_whole_number_given_as_a_float_is_accepted() -> None:
    assert score("pain_nrs", {"current": 2.0}, KB).value("current") == 2.0


@pytest.mark.parametrize("bad", ["3", True, [1], float("nan"), float("inf")])
def test_an_answer_that_is_not_a_finite_number_is_rejected(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        score("koos", {"P1": bad}, KB)  # type: ignore[dict-item]
    assert caught.value.field == "koos.P1"


def test_several_invalid_answers_are_reported_together() -> None:
    with pytest.raises(InvalidInputs) as caught:
        score("koos", {"P1": 7, "X": 1, "P2": 1.5}, KB)
    assert {e.field for e in caught.value.errors} == {"koos.P1", "koos.X", "koos.P2"}


def test_a_parent_answer_out_of_range_is_rejected_when_scoring_a_short_form() -> None:
    with pytest.raises(InvalidInput) as caught:
        score("koos_ps", {"S1": 9}, KB)
    assert caught.value.field == "koos_ps.S1"


# --- data ---------------------------------------------------------------------------------------


def test_the_instrument_data_is_consistent() -> None:
    assert instrument_problems(KB) == []


def test_the_instrument_ids_other_modules_depend_on_exist() -> None:
    assert set(KB.instruments) == {
        "koos",
        "koos_ps",
        "koos_jr",
        "pain_nrs",
        "patient_global",
        "pss4",
        "sleep_quality",
        "chair_stand_30s",
        "timed_up_and_go",
        "walk_40m",
        "knee_rom",
        "effusion",
        "knee_circumference",
        "skin_temperature",
    }


def test_a_conversion_table_of_the_wrong_length_is_reported() -> None:
    koos_ps = KB.instruments["koos_ps"]
    short = koos_ps.subscales[0].model_copy(update={"table": [100.0, 0.0]})
    broken = KB.model_copy(
        update={
            "instruments": {
                **KB.instruments,
                "koos_ps": koos_ps.model_copy(update={"subscales": [short]}),
            }
        }
    )
    assert instrument_problems(broken) == [
        "instrument koos_ps subscale function: table needs 29 entries, has 2"
    ]


def test_a_declared_range_narrower_than_the_reachable_scores_is_reported() -> None:
    pss4 = KB.instruments["pss4"]
    narrow = pss4.subscales[0].model_copy(update={"range_max": 10})
    broken = KB.model_copy(
        update={
            "instruments": {
                **KB.instruments,
                "pss4": pss4.model_copy(update={"subscales": [narrow]}),
            }
        }
    )
    assert len(instrument_problems(broken)) == 1


@st.composite
def valid_answers(draw: st.DrawFn, instrument: str) -> dict[str, float | None]:
    answers: dict[str, float | None] = {}
    for item in KB.instruments[instrument].items:
        if item.integer:
            value: float | None = draw(st.integers(int(item.min), int(item.max)))
        else:
            value = draw(st.floats(item.min, item.max, allow_nan=False))
        answers[item.code] = draw(st.one_of(st.none(), st.just(value)))
    return answers


@given(
    st.sampled_from(sorted(KB.instruments)).flatmap(
        lambda i: st.tuples(st.just(i), valid_answers(i))
    )
)
def test_every_score_lies_within_its_declared_range(
    case: tuple[str, dict[str, float | None]],
) -> None:
    instrument, answers = case
    ranges = {s.id: (s.range_min, s.range_max) for s in KB.instruments[instrument].subscales}
    for subscale, value in score(instrument, answers, KB).values().items():
        low, high = ranges[subscale]
        assert value is None or (math.isfinite(value) and low <= value <= high)


# --- licensed item text -------------------------------------------------------------------------


def test_licensed_item_text_is_read_from_toml_keyed_by_instrument_and_item() -> None:
    texts = parse_item_text('[koos]\nP1 = "Clinic-licensed wording"\n', "toml", KB)
    assert texts == {("koos", "P1"): "Clinic-licensed wording"}


def test_licensed_item_text_is_read_from_json() -> None:
    texts = parse_item_text('{"koos_jr": {"S6": "Wording"}}', "json", KB)
    assert texts == {("koos_jr", "S6"): "Wording"}


def test_licensed_item_text_with_an_unknown_item_code_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_item_text('{"koos": {"P10": "Wording"}}', "json", KB)
    assert caught.value.field == "koos.P10"


def test_licensed_item_text_for_an_unknown_instrument_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_item_text('{"womac": {"P1": "Wording"}}', "json", KB)
    assert caught.value.field == "womac"


def test_licensed_item_text_must_not_be_empty() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_item_text('[koos]\nP1 = " "\n', "toml", KB)
    assert caught.value.problem == "item text must be a non-empty string"


def test_licensed_item_text_file_is_loaded_by_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "koos-text.json"
    path.write_text('{"koos": {"Q1": "Wording"}}', encoding="utf-8")
    assert load_item_text(path, KB) == {("koos", "Q1"): "Wording"}


def test_licensed_item_text_file_of_another_type_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "koos-text.txt"
    path.write_text("P1: wording", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_item_text(path, KB)
    assert caught.value.field == "item_text"


# --- review: input at the edges of the number types --------------------------------------------


@pytest.mark.parametrize("huge", [10**400, -(10**400)], ids=["plus", "minus"])
def test_an_integer_too_large_for_a_float_is_rejected_with_the_range(huge: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        score("koos", {"P1": huge}, KB)
    assert (caught.value.field, caught.value.problem) == ("koos.P1", "must be between 0 and 4")
