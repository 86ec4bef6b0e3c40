"""Charts are cached by content: the same data and layout draw once; new data or a new layout
draws again, never serving an old picture."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import matplotlib
import pytest

from acuknee.reports import chart_cache
from acuknee.reports.charts import TrendSpec, trend_png, trend_svg


def spec(**changes: object) -> TrendSpec:
    values: dict[str, object] = {
        "title": "KOOS Pain",
        "unit": "score (0-100)",
        "low": 0.0,
        "high": 100.0,
        "higher_is_better": True,
        "points": ((dt.date(2026, 1, 5), 40.0), (dt.date(2026, 2, 20), 62.5)),
        "mic": 11.3,
    }
    return TrendSpec(**(values | changes))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    chart_cache.clear()
    yield
    chart_cache.clear()


def test_the_same_chart_is_drawn_once() -> None:
    drawn: list[int] = []

    def draw() -> bytes:
        drawn.append(1)
        return b"picture"

    for _ in range(3):
        assert chart_cache.cached("trend.png", (spec(), 150), draw) == b"picture"
    assert len(drawn) == 1


def test_new_data_draws_a_new_chart() -> None:
    drawn: list[TrendSpec] = []

    def draw(s: TrendSpec) -> str:
        drawn.append(s)
        return repr(s)

    for s in (spec(), spec(mic=12.0), spec(points=((dt.date(2026, 1, 5), 41.0),))):
        assert chart_cache.cached("trend.svg", (s,), lambda s=s: draw(s)) == repr(s)
    assert len(drawn) == 3


def test_the_key_holds_the_kind_the_resolution_and_the_data() -> None:
    keys = {
        chart_cache.key("trend.png", spec(), 150),
        chart_cache.key("trend.png", spec(), 100),
        chart_cache.key("trend.svg", spec()),
        chart_cache.key("trend.svg", spec(title="KOOS Symptoms")),
    }
    assert len(keys) == 4
    assert chart_cache.key("trend.svg", spec()) == chart_cache.key("trend.svg", spec())


def test_another_matplotlib_changes_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = chart_cache.key("trend.svg", spec())
    chart_cache.layout_version.cache_clear()
    monkeypatch.setattr(matplotlib, "__version__", "0.0-other")
    try:
        assert chart_cache.key("trend.svg", spec()) != before
    finally:
        chart_cache.layout_version.cache_clear()


def test_a_cached_chart_is_the_chart_drawn_fresh() -> None:
    first_svg, first_png = trend_svg(spec()), trend_png(spec())
    assert trend_svg(spec()) == first_svg
    assert trend_png(spec()) == first_png
    chart_cache.clear()
    assert trend_png(spec()) == first_png


def test_a_print_chart_is_an_opaque_rgb_png() -> None:
    """No alpha channel: WeasyPrint would encode a mask of it in every PDF."""
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(trend_png(spec()))).mode == "RGB"


def test_a_page_s_chart_element_is_kept_by_its_data_and_forgotten_with_the_cache() -> None:
    from acuknee.reports import outcomes
    from acuknee.reports.outcomes import chart_img

    first = chart_img(spec(), scale=2.0)
    assert chart_img(spec(), scale=2.0) is first  # kept in the worker's memory
    assert chart_img(spec(mic=12.0), scale=2.0) != first  # new data, a new picture
    assert chart_img(spec(), scale=1.0) != first  # another size, another element
    chart_cache.clear()
    assert len(outcomes._INLINE) == 0
    assert chart_img(spec(), scale=2.0) == first  # the same picture, drawn again


def refuse_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any chart drawn from now on (until ``monkeypatch.undo()``) fails the test: a page that
    links a chart not drawn yet must not draw it while the clinician waits."""
    from acuknee.reports import charts

    def refuse(_: TrendSpec) -> None:
        raise AssertionError("drawn while the page waited")

    monkeypatch.setattr(charts, "trend_figure", refuse)


def test_a_patient_s_chart_not_yet_drawn_is_linked_by_its_digest_not_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from acuknee.reports.outcomes import chart_img

    refuse_drawing(monkeypatch)
    linked = chart_img(spec(), patient_pk=7, scale=2.0)
    digest = chart_cache.digest("trend.svg", spec())
    assert f'src="/patients/7/charts/{digest}.svg"' in linked
    assert chart_cache.remembered("trend.svg", digest, 7) == (spec(),)
    assert chart_cache.remembered("trend.svg", digest, 8) is None  # kept for patient 7 only
    assert chart_img(spec(), patient_pk=7, scale=2.0) == linked  # still not drawn: linked again
    monkeypatch.undo()
    trend_svg(spec())  # the image's own request draws it
    inline = chart_img(spec(), patient_pk=7, scale=2.0)
    assert 'src="data:image/svg+xml;base64,' in inline
    assert inline.split(" src=")[0] == linked.split(" src=")[0]
    assert inline.split('" alt=')[1] == linked.split('" alt=')[1]  # same words and size


def test_the_same_chart_not_yet_drawn_links_each_patient_at_their_own_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.urls import reverse

    from acuknee.reports.outcomes import chart_img

    refuse_drawing(monkeypatch)
    digest = chart_cache.digest("trend.svg", spec())
    for patient_pk in (7, 8, 7):
        address = reverse("patient-chart", args=[patient_pk, digest])
        assert f'src="{address}"' in chart_img(spec(), patient_pk=patient_pk)
        assert f'src="{address}"' in chart_img(spec(), patient_pk=patient_pk, scale=1.6)
    changed = chart_img(spec(points=((dt.date(2026, 1, 5), 41.0),)), patient_pk=7)
    assert chart_cache.digest("trend.svg", spec()) not in changed  # new data, a new name
    assert "2026-01-05: 41" in changed  # and its own words
    assert "62.5" not in changed
    monkeypatch.setattr(chart_cache, "layout_version", lambda: "another drawing")
    redrawn = chart_img(spec(), patient_pk=7)  # new drawing code: the same data, a new name
    assert digest not in redrawn
    assert chart_cache.digest("trend.svg", spec()) in redrawn


def test_a_chart_s_digest_changes_with_its_data_and_its_drawing_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = chart_cache.digest("trend.svg", spec())
    assert len(first) == 64
    assert int(first, 16) >= 0  # hexadecimal
    assert chart_cache.digest("trend.svg", spec()) == first
    assert chart_cache.digest("trend.svg", spec(mic=12.0)) != first
    assert chart_cache.digest("trend.png", spec()) != first
    assert chart_cache.key("trend.svg", spec()).endswith(first)
    monkeypatch.setattr(chart_cache, "layout_version", lambda: "another drawing")
    assert chart_cache.digest("trend.svg", spec()) != first


def test_clearing_the_cache_forgets_what_the_worker_s_own_stores_keep() -> None:
    kept = chart_cache.kept(2)
    kept.put("a", 1)
    chart_cache.remember("trend.svg", "0" * 64, ("spec",), owner=7)
    chart_cache.clear()
    assert len(kept) == 0
    assert chart_cache.remembered("trend.svg", "0" * 64, owner=7) is None
