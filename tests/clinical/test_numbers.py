"""One number formatter for people: fixed decimals, half away from zero, no "-0", no artefacts."""

from __future__ import annotations

import pytest

from acuknee.clinical.numbers import format_number


def test_a_long_fraction_is_rounded_to_one_decimal() -> None:
    assert format_number(63.8889) == "63.9"


def test_a_small_negative_value_that_rounds_to_zero_is_zero_not_minus_zero() -> None:
    assert format_number(-0.04) == "0"


def test_minus_zero_itself_is_zero() -> None:
    assert format_number(-0.0) == "0"


def test_halves_round_away_from_zero_not_to_even() -> None:
    assert (format_number(2.25), format_number(2.35), format_number(-2.25)) == (
        "2.3",
        "2.4",
        "-2.3",
    )


def test_a_whole_result_has_no_trailing_decimal() -> None:
    assert format_number(2.0) == "2"


def test_two_decimals_keep_the_walk_speed() -> None:
    assert format_number(40 / 32, 2) == "1.25"


def test_a_positive_change_is_signed_when_asked() -> None:
    assert (format_number(3.14, signed=True), format_number(-3.14, signed=True)) == ("+3.1", "-3.1")


def test_a_zero_change_has_no_sign() -> None:
    assert format_number(0.01, signed=True) == "0"


@pytest.mark.parametrize("value", [None, float("nan"), float("inf")])
def test_a_missing_or_impossible_value_reads_as_a_dash(value: float | None) -> None:
    assert format_number(value) == "—"


def test_negative_decimals_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="decimals"):
        format_number(1.0, -1)


def test_a_number_formatted_again_reads_as_it_did_the_first_time() -> None:
    """The text is kept by value (``_rounded``): asked again, in any order, with the same value
    as an int or a float, signed or not, each answer is the one worked out afresh."""
    import random

    from acuknee.clinical.numbers import _rounded

    rng = random.Random(7)
    values = [rng.uniform(-200, 200) for _ in range(300)] + [2, 2.0, -0.0, 0.05, -0.05, 2.25]
    cases = [(v, d, s) for v in values for d in (0, 1, 2) for s in (False, True)]
    afresh = [_rounded.__wrapped__(v, d, s) for v, d, s in cases]  # nothing kept
    _rounded.cache_clear()
    assert [format_number(v, d, signed=s) for v, d, s in cases] == afresh
    rng.shuffle(order := list(range(len(cases))))
    for i in order:
        v, d, s = cases[i]
        assert format_number(v, d, signed=s) == afresh[i]
    assert format_number(2, 1) == format_number(2.0, 1) == "2"
    assert format_number(2.25, 1) == "2.3"
    assert format_number(2.25, 2, signed=True) == "+2.25"
