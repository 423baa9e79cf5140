from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from PIL import Image

from reports.chart import (
    MET_COLOUR,
    NEUTRAL_COLOUR,
    UNMET_COLOUR,
    WIDTH_PX,
    indicator_rows,
    satisfaction_rows,
    short_name,
    status_chart,
    status_figure,
)
from reports.figures import IndicatorFigure, SatisfactionFigure, StatusFigures


def _indicator(
    code: str, value: float | None, target: float | None, kind: str = "ratio", name: str = ""
) -> IndicatorFigure:
    met = None if value is None or target is None else value >= target
    return IndicatorFigure(
        code=code,
        name=name or f"Hồ sơ xử lý trực tuyến mức độ 3, 4 — chỉ tiêu {code}",
        kind=kind,
        value=value,
        numerator=None,
        denominator=None,
        target=target,
        direction="min",
        met=met,
        units_reporting=2,
    )


def _satisfaction(target: str, satisfied: int, n: int, enough: bool) -> SatisfactionFigure:
    rate = 100 * satisfied / n if n else None
    return SatisfactionFigure(
        target=target,
        name="Sự hài lòng về giải quyết thủ tục hành chính",
        satisfied=satisfied,
        n=n,
        respondents=n,
        rate=rate,
        low=None if rate is None else max(0.0, rate - 8),
        high=None if rate is None else min(100.0, rate + 5),
        enough=enough,
        goal=90.0,
        met=(rate is not None and rate >= 90) if enough else None,
    )


def _figures(
    indicators: tuple[IndicatorFigure, ...] = (),
    satisfaction: tuple[SatisfactionFigure, ...] = (),
) -> StatusFigures:
    return StatusFigures(
        round_key="2026-Q4",
        round_title="Quý IV/2026",
        window_start=date(2026, 9, 15),
        window_end=date(2026, 12, 14),
        deadline=date(2026, 12, 14),
        today=date(2026, 11, 20),
        closed=False,
        units_total=3,
        on_time=("Phòng Nội vụ",),
        late=(),
        indicators=indicators,
        satisfaction=satisfaction,
    )


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _colours(image: Image.Image) -> set[tuple[int, ...]]:
    found = image.getcolors(maxcolors=image.width * image.height)
    assert found is not None
    return {c for _, c in found if isinstance(c, tuple)}


def _render_recording(figures: StatusFigures, **kwargs: str) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = status_chart(figures, **kwargs)
    return png, [str(w.message) for w in caught]


def test_empty_figures_give_a_png_of_phone_width() -> None:
    image = _image(status_chart(_figures()))
    assert image.width == WIDTH_PX
    assert image.height > 300


def test_full_figures_give_a_png_of_phone_width_taller_than_empty() -> None:
    full = _figures(
        indicators=tuple(_indicator(f"{n}", 40.0 + n, 50.0) for n in range(1, 9)),
        satisfaction=(
            _satisfaction("14", 95, 100, True),
            _satisfaction("14a", 2, 2, False),
            _satisfaction("15", 0, 0, False),
            _satisfaction("16", 70, 100, True),
        ),
    )
    image = _image(status_chart(full))
    assert image.width == WIDTH_PX
    assert image.height > _image(status_chart(_figures())).height


def test_vietnamese_labels_are_drawn_with_a_font_that_has_the_glyphs() -> None:
    figures = _figures(
        indicators=(_indicator("5c", 50.5, 50.0),),
        satisfaction=(_satisfaction("14", 2, 2, False), _satisfaction("15", 95, 100, True)),
    )
    _, messages = _render_recording(figures)
    assert not [m for m in messages if "missing from" in m], messages


def test_the_glyph_check_does_catch_a_font_without_vietnamese() -> None:
    # The control for the test above: the same chart in a font without Vietnamese letters
    # (Computer Modern, shipped with matplotlib) does warn, so silence means the glyphs exist.
    figures = _figures(indicators=(_indicator("5c", 50.5, 50.0),))
    _, messages = _render_recording(figures, font_family="cmr10")
    assert any("missing from" in m for m in messages)


def test_met_and_unmet_indicators_are_green_and_red() -> None:
    figures = _figures(indicators=(_indicator("5a", 85.0, 80.0), _indicator("5c", 30.0, 50.0)))
    colours = _colours(_image(status_chart(figures)))
    assert _rgb(MET_COLOUR) in colours
    assert _rgb(UNMET_COLOUR) in colours


def test_no_red_when_every_indicator_is_met() -> None:
    figures = _figures(indicators=(_indicator("5a", 85.0, 80.0), _indicator("5c", 60.0, 50.0)))
    colours = _colours(_image(status_chart(figures)))
    assert _rgb(MET_COLOUR) in colours
    assert _rgb(UNMET_COLOUR) not in colours


def test_count_indicators_and_missing_values_get_no_bar() -> None:
    rows = indicator_rows(
        (
            _indicator("13", 12.0, None, kind="count"),
            _indicator("2", None, 80.0),
            _indicator("8a", 25.0, None, kind="percent"),
        )
    )
    assert [r.code for r in rows] == ["8a"]
    assert rows[0].colour == NEUTRAL_COLOUR
    assert rows[0].figure == "25%"


def test_small_samples_show_no_rate_and_say_not_enough_data() -> None:
    small, enough = satisfaction_rows(
        (_satisfaction("14a", 2, 2, False), _satisfaction("14", 95, 100, True))
    )
    assert small.value is None
    assert "chưa đủ dữ liệu" in small.note
    assert "100" not in small.figure
    assert enough.value == 95.0
    assert enough.colour == MET_COLOUR
    assert enough.figure.startswith("95% · 100 người")


def test_short_name_cuts_at_a_word_with_an_ellipsis() -> None:
    name = "Tỷ lệ hồ sơ thủ tục hành chính được luân chuyển giữa các cơ quan bằng điện tử"
    shown = short_name(name, 30)
    assert len(shown) <= 30
    assert shown.endswith("…")
    assert name.startswith(shown[:-1].rstrip())
    assert short_name("Hộ tịch") == "Hộ tịch"


def test_long_names_are_shortened_to_end_before_the_figure_on_their_line() -> None:
    long_name = "Mức độ hài lòng của người dân, tổ chức đối với " * 4
    figures = _figures(
        indicators=(_indicator("11b", 70.0, 70.0),),
        satisfaction=(
            SatisfactionFigure(
                "14a", long_name, 1234, 1300, 1300, 94.9, 93.6, 96.0, True, 90.0, True
            ),
        ),
    )
    fig = status_figure(figures)
    fig.draw_without_rendering()
    pairs = 0
    for ax in fig.axes:
        lines: dict[float, dict[str, Any]] = {}
        for text in ax.texts:
            _, y = text.get_position()
            lines.setdefault(y, {})[text.get_horizontalalignment()] = text
        for line in lines.values():
            if {"left", "right"} <= line.keys():
                pairs += 1
                left, right = line["left"], line["right"]
                assert left.get_window_extent().x1 < right.get_window_extent().x0
                assert left.get_text().startswith(("11b. ", "14a. "))
    assert pairs == 2
    assert any(t.get_text().endswith("…") for ax in fig.axes for t in ax.texts)


def test_charts_drawn_in_parallel_threads_are_identical() -> None:
    # No pyplot: each call owns its Figure and canvas, so threads cannot draw into each
    # other's charts.
    figures = _figures(
        indicators=(_indicator("5a", 85.0, 80.0), _indicator("5c", 30.0, 50.0)),
        satisfaction=(_satisfaction("14", 95, 100, True),),
    )
    alone = status_chart(figures)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: status_chart(figures), range(8)))
    assert all(r == alone for r in results)


def test_khmer_names_are_drawn_with_khmer_os_after_the_latin_font() -> None:
    """A data file may name an indicator in Khmer: the chart then falls back to Khmer OS for
    those glyphs (no missing-glyph warning), and draws them (more ink than without)."""
    khmer = _figures(indicators=(_indicator("5c", 50.5, 50.0, name="អត្រាឯកសារ ស្រុក"),))
    png, messages = _render_recording(khmer)
    assert not [m for m in messages if "missing from" in m], messages
    _, latin_only = _render_recording(khmer, font_family="DejaVu Sans")
    assert any("missing from" in m for m in latin_only)  # the control: DejaVu has no Khmer
    plain = _figures(indicators=(_indicator("5c", 50.5, 50.0, name="x"),))

    def ink(png: bytes) -> int:
        return sum(_image(png).convert("L").histogram()[:128])

    assert ink(png) > ink(status_chart(plain))
