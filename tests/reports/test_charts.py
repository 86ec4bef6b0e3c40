"""The chart style and the trend charts: MIC band, labelled axes, dates, and readable in grey."""

from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from acuknee.reports.charts import TrendSpec, trend_data_uri, trend_figure, trend_png, trend_svg
from acuknee.reports.style import (
    BAND,
    PALETTE,
    figure_to_svg,
    new_figure,
    series_style,
    svg_data_uri,
)

START = dt.date(2025, 8, 17)


def spec(**changes: object) -> TrendSpec:
    base: dict[str, object] = {
        "title": "Average pain, last week",
        "unit": "points (0-10)",
        "low": 0.0,
        "high": 10.0,
        "higher_is_better": False,
        "points": (
            (START, 7.0),
            (START + dt.timedelta(days=49), 3.0),
            (START + dt.timedelta(days=189), 2.0),
        ),
        "mic": 2.0,
        "mic_label": "MCID",
    }
    base.update(changes)
    return TrendSpec(**base)  # type: ignore[arg-type]


def grey(png: bytes) -> NDArray[np.float64]:
    """A PNG as printed in grey: luma 0 (black) .. 1 (white)."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float) / 255


# --- the MIC band --------------------------------------------------------------------------------


def test_mic_band_runs_from_the_baseline_towards_lower_values_when_lower_is_better() -> None:
    assert spec().band == (5.0, 7.0)


def test_mic_band_runs_from_the_baseline_towards_higher_values_when_higher_is_better() -> None:
    chart = spec(higher_is_better=True, points=((START, 40.0),), mic=9.0, low=0.0, high=100.0)
    assert chart.band == (40.0, 49.0)


def test_mic_band_is_clipped_to_the_scale() -> None:
    assert spec(points=((START, 1.0),)).band == (0.0, 1.0)


def test_without_an_mic_there_is_no_band_and_the_chart_says_why() -> None:
    chart = spec(mic=None)
    assert chart.band is None
    assert "no established MIC" in trend_svg(chart)
    assert "No established MIC." in chart.alt_text()


def test_before_a_follow_up_the_chart_says_so_instead_of_a_band() -> None:
    chart = spec(mic=None, points=((START, 7.0),), no_band_text="no follow-up yet")
    assert "no follow-up yet" in trend_svg(chart)


# --- axes, labels, dates -------------------------------------------------------------------------


def test_chart_names_the_measure_its_unit_the_better_direction_and_the_visit_dates() -> None:
    svg = trend_svg(spec())
    for text in ("Average pain, last week", "points (0-10)", "better", "17 Aug", "2025", "MCID 2"):
        assert text in svg, text


def test_text_stays_text_in_the_svg_so_it_can_be_searched_and_extracted() -> None:
    assert "<text" in trend_svg(spec())


def test_a_wide_scale_loses_its_top_not_its_bottom_and_the_chart_says_so() -> None:
    timed = spec(
        title="Timed Up and Go",
        unit="s",
        low=1.0,
        high=300.0,
        points=((START, 12.0), (START + dt.timedelta(days=49), 9.0)),
        mic=None,
    )
    assert "scale to 300" in trend_svg(timed)
    (ax,) = trend_figure(timed).axes
    assert ax.get_ylim() == (1.0, 17.5)  # from the scale's low end to 1.5 times the data


def test_a_questionnaire_keeps_its_full_scale_so_changes_are_not_inflated() -> None:
    (ax,) = trend_figure(spec()).axes
    assert ax.get_ylim() == (0.0, 10.0)
    stress = spec(unit="points (0-16)", high=16.0, points=((START, 6.0), (START, 7.0)), mic=None)
    (ax,) = trend_figure(stress).axes
    assert ax.get_ylim() == (0.0, 16.0)


def test_alt_text_lists_every_value_with_its_date() -> None:
    alt = spec().alt_text()
    assert "2025-08-17: 7" in alt
    assert "2026-02-22: 2" in alt
    assert "lower is better" in alt


def test_exploratory_measures_say_so_in_the_title() -> None:
    assert "(exploratory)" in trend_svg(spec(title="Skin temperature", exploratory=True))


# --- output --------------------------------------------------------------------------------------


def test_same_data_gives_the_same_svg_bytes() -> None:
    first = figure_to_svg(trend_figure(spec()))
    assert first == figure_to_svg(trend_figure(spec()))


def test_data_uri_decodes_to_the_svg() -> None:
    uri = trend_data_uri(spec())
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == trend_svg(spec())
    assert svg_data_uri("<svg/>") == "data:image/svg+xml;base64," + base64.b64encode(
        b"<svg/>"
    ).decode("ascii")


def test_raster_chart_for_print_is_a_png() -> None:
    assert trend_data_uri(spec(), raster=True).startswith("data:image/png;base64,iVBOR")
    assert trend_png(spec())[:8] == b"\x89PNG\r\n\x1a\n"


def test_style_has_no_top_or_right_spine() -> None:
    ax = new_figure(3, 2).add_subplot()
    assert not ax.spines["top"].get_visible()
    assert not ax.spines["right"].get_visible()
    assert ax.spines["left"].get_visible()


# --- readable in grey ----------------------------------------------------------------------------


def _line_profiles(styles: list[dict[str, object]]) -> list[NDArray[np.float64]]:
    """Draw one horizontal line per style (no markers: the strictest case), print it in grey,
    and read each line's grey level along its length (dashes show as white gaps)."""
    fig = new_figure(4, 0.4 * len(styles))
    fig.set_layout_engine(None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    for i, style in enumerate(styles):
        ax.plot([0, 1], [len(styles) - i] * 2, **style)  # type: ignore[arg-type]
    ax.set_ylim(0.5, len(styles) + 0.5)
    ax.set_xlim(0, 1)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    pixels = grey(buffer.getvalue())
    height = pixels.shape[0]
    rows = [round((i + 0.5) / len(styles) * height) for i in range(len(styles))]
    return [pixels[row - 3 : row + 4].min(axis=0) for row in rows]


DISTINCT = 0.1
"""Mean grey difference along two lines below which a reader of a grey print could confuse
them (two solid lines of similar grey score about 0.05; dashed against solid about 0.3)."""


def _lines_only(index: int) -> dict[str, object]:
    style = series_style(index)
    return {"color": style["color"], "linestyle": style["linestyle"]}


def test_first_six_series_stay_distinguishable_printed_in_grey_even_without_markers() -> None:
    profiles = _line_profiles([_lines_only(i) for i in range(6)])
    for i in range(6):
        for j in range(i + 1, 6):
            difference = float(np.abs(profiles[i] - profiles[j]).mean())
            assert difference >= DISTINCT, (PALETTE[i], PALETTE[j], difference)


def test_the_grey_check_catches_two_series_that_differ_only_in_colour() -> None:
    """The control: blue and green as two solid lines look alike in grey; the check says so."""
    same = [{"color": PALETTE[0], "linestyle": "-"}, {"color": PALETTE[5], "linestyle": "-"}]
    first, second = _line_profiles(same)
    assert float(np.abs(first - second).mean()) < DISTINCT


def test_every_series_has_a_second_cue_besides_colour() -> None:
    cues = {(series_style(i)["linestyle"], series_style(i)["marker"]) for i in range(6)}
    assert len(cues) == 6


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_band_line_and_paper_are_three_different_greys(higher_is_better: bool) -> None:
    chart = spec(
        higher_is_better=higher_is_better,
        points=((START, 5.0), (START + dt.timedelta(days=60), 5.5)),
    )
    pixels = grey(trend_png(chart, dpi=100))
    band_grey = round(0.299 * 0xD9 + 0.587 * 0xD9 + 0.114 * 0xD9) / 255
    assert BAND == "#D9D9D9"
    assert np.isclose(pixels, band_grey, atol=0.02).sum() > 500  # the band is there
    assert (pixels < 0.5).sum() > 200  # the line and text print dark
    assert (pixels > 0.98).sum() > pixels.size / 3  # the paper stays white
