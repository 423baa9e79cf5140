"""/status as a PNG chart sized for a phone screen.

Uses matplotlib's object-oriented API (``Figure`` + ``FigureCanvasAgg``) and never pyplot,
so no global figure state is touched and charts can be drawn from several threads. Every
text element names its font family explicitly ("DejaVu Sans", shipped with matplotlib and
complete for Vietnamese; followed by Khmer OS when a name from the data files is in Khmer,
see reports/fonts.py), so the output does not depend on the global rcParams.

Layout: each bar gets its own full-width label line above it (code, name, figure), which
keeps the text large enough to read on a phone without squeezing the bars.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter
from matplotlib.transforms import blended_transform_factory

from reports import fonts
from reports.figures import IndicatorFigure, SatisfactionFigure, StatusFigures
from scheduler.calendar import format_date
from surveys.numbers import format_number, format_percent

FONT = fonts.LATIN_FAMILY
Families = str | list[str]  # one font family, or a list matplotlib falls back along
WIDTH_PX = 1080
DPI = 150

MET_COLOUR = "#2e7d32"  # green
UNMET_COLOUR = "#c62828"  # red
NEUTRAL_COLOUR = "#78909c"  # no target to judge against
TARGET_COLOUR = "#1565c0"  # the target line (blue, so it is not confused with whiskers)
WHISKER_COLOUR = "#212121"
MUTED_COLOUR = "#616161"

NOT_ENOUGH = "chưa đủ dữ liệu"
NAME_WIDTH = 90  # at most this many characters of a name; then cut to the room left
_GAP_PX = 18  # between a label and the figure on its right

_ROW_INCHES = 0.62  # one label line + one bar
_PANEL_EXTRA_INCHES = 0.95  # panel title, x axis and tick labels
_TITLE_INCHES = 1.0  # the title and the data window under it
_LEGEND_INCHES = 0.45


@dataclass(frozen=True)
class _Row:
    code: str
    name: str
    figure: str  # right of the label line
    value: float | None  # bar length in percent; None draws no bar
    low: float | None = None
    high: float | None = None
    target: float | None = None
    colour: str = NEUTRAL_COLOUR
    note: str = ""  # drawn where the bar would be (e.g. "chưa đủ dữ liệu")


def short_name(name: str, width: int = NAME_WIDTH) -> str:
    """The name cut to ``width`` characters at a word boundary, with "…" when cut."""
    return textwrap.shorten(" ".join(name.split()), width=width, placeholder="…")


def _colour(met: bool | None) -> str:
    if met is None:
        return NEUTRAL_COLOUR
    return MET_COLOUR if met else UNMET_COLOUR


def _goal_text(target: float | None, direction: str = "min") -> str:
    if target is None:
        return ""
    sign = "≥" if direction == "min" else "≤"
    return f" (mục tiêu {sign} {format_percent(target, 0)})"


def indicator_rows(indicators: Sequence[IndicatorFigure]) -> list[_Row]:
    """Bars for the percentage indicators that have a district figure (counts are left out:
    they have no percent scale to share)."""
    return [
        _Row(
            code=f.code,
            name=f.name,
            figure=format_percent(f.value) + _goal_text(f.target, f.direction),
            value=f.value,
            target=f.target,
            colour=_colour(f.met),
        )
        for f in indicators
        if f.kind != "count" and f.value is not None
    ]


def satisfaction_rows(satisfaction: Sequence[SatisfactionFigure]) -> list[_Row]:
    rows = []
    for f in satisfaction:
        # The minimum sample counts people; n (rating answers) is what the rate divides by.
        people = f"{format_number(f.respondents)} người"
        if f.enough and f.rate is not None:
            rows.append(
                _Row(
                    code=f.target,
                    name=f.name,
                    figure=f"{format_percent(f.rate)} · {people}{_goal_text(f.goal)}",
                    value=f.rate,
                    low=f.low,
                    high=f.high,
                    target=f.goal,
                    colour=_colour(f.met),
                )
            )
        else:
            rows.append(
                _Row(
                    code=f.target,
                    name=f.name,
                    figure=f"{people}{_goal_text(f.goal)}",
                    value=None,
                    target=f.goal,
                    note=f"{NOT_ENOUGH} ({people}, n={format_number(f.n)})",
                )
            )
    return rows


@dataclass(frozen=True)
class _Label:
    """A label line as drawn: the left text (shortened later to fit) and the right one."""

    left: Text
    right: Text
    code: str
    name: str


def _draw_panel(
    ax: Axes, title: str, rows: list[_Row], empty_text: str, font: Families
) -> list[_Label]:
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold", fontfamily=font)
    if not rows:
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            empty_text,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=11,
            color=MUTED_COLOUR,
            fontfamily=font,
        )
        return []
    x_max = max([100.0] + [v for r in rows for v in (r.value, r.high, r.target) if v is not None])
    ax.set_xlim(0, x_max * 1.02)
    ax.set_ylim(len(rows), -0.1)  # top to bottom
    label_at = blended_transform_factory(ax.transAxes, ax.transData)
    labels = []
    for i, row in enumerate(rows):
        label_y, bar_y = i + 0.05, i + 0.66
        left = ax.text(
            0,
            label_y,
            f"{row.code}. {short_name(row.name)}",
            transform=label_at,
            va="top",
            ha="left",
            fontsize=10,
            fontfamily=font,
        )
        right = ax.text(
            1,
            label_y,
            row.figure,
            transform=label_at,
            va="top",
            ha="right",
            fontsize=10,
            fontweight="bold",
            fontfamily=font,
        )
        labels.append(_Label(left, right, row.code, row.name))
        if row.value is not None:
            ax.barh(bar_y, row.value, height=0.46, color=row.colour, zorder=2)
        if row.low is not None and row.high is not None and row.value is not None:
            ax.errorbar(
                row.value,
                bar_y,
                xerr=[[row.value - row.low], [row.high - row.value]],
                fmt="none",
                ecolor=WHISKER_COLOUR,
                elinewidth=1.3,
                capsize=4,
                zorder=3,
            )
        if row.note:
            ax.text(
                0.01,
                bar_y,
                row.note,
                transform=label_at,
                va="center",
                ha="left",
                fontsize=9.5,
                fontstyle="italic",
                color=MUTED_COLOUR,
                fontfamily=font,
            )
        if row.target is not None:
            ax.plot(
                [row.target] * 2,
                [bar_y - 0.33, bar_y + 0.33],
                color=TARGET_COLOUR,
                linewidth=2.5,
                solid_capstyle="butt",
                zorder=4,
            )
    ax.xaxis.set_major_locator(FixedLocator([float(x) for x in range(0, int(x_max) + 1, 20)]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_percent(float(x), 0)))
    ax.tick_params(axis="x", labelsize=9, labelfontfamily=font)
    ax.set_yticks([])
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return labels


def _fit_labels(fig: Figure, canvas: FigureCanvasAgg, labels: list[_Label]) -> None:
    """Shorten each name (at a word, with "…") until it ends before the figure on its right.

    Measured with the renderer after the layout has run, so it holds whatever the font,
    the name or the figure's length; character counts could not promise that.
    """
    if not labels:
        return
    fig.draw_without_rendering()
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    for label in labels:
        limit = label.right.get_window_extent(renderer).x0 - _GAP_PX
        box = label.left.get_window_extent(renderer)
        if box.x1 <= limit:
            continue
        # First guess in proportion to the room, then step down: a few measurements.
        shown = len(label.left.get_text())
        width = min(NAME_WIDTH, int(shown * (limit - box.x0) / box.width)) + 2
        while width > 4:
            label.left.set_text(f"{label.code}. {short_name(label.name, width)}")
            if label.left.get_window_extent(renderer).x1 <= limit:
                break
            width -= 2


def _legend(fig: Figure, rows: list[_Row], font: Families) -> None:
    """A legend naming only what is drawn, so a colour never appears without its bar."""
    bars = {r.colour for r in rows if r.value is not None}
    handles: list[Patch | Line2D] = []
    for colour, text in (
        (MET_COLOUR, "Đạt"),
        (UNMET_COLOUR, "Chưa đạt"),
        (NEUTRAL_COLOUR, "Chưa có mục tiêu"),
    ):
        if colour in bars:
            handles.append(Patch(facecolor=colour, label=text))
    if any(r.target is not None for r in rows):
        handles.append(Line2D([], [], color=TARGET_COLOUR, linewidth=2.5, label="Mục tiêu"))
    if any(r.low is not None for r in rows):
        handles.append(Line2D([], [], color=WHISKER_COLOUR, linewidth=1.3, label="KTC 95%"))
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=len(handles),
            frameon=False,
            prop={"family": font, "size": 9.5},
        )


def status_chart(figures: StatusFigures, *, font_family: Families | None = None) -> bytes:
    """The /status chart as PNG bytes, 1080 px wide (see :func:`status_figure`)."""
    fig = status_figure(figures, font_family=font_family)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def status_figure(figures: StatusFigures, *, font_family: Families | None = None) -> Figure:
    """The /status chart as a matplotlib Figure with its own Agg canvas.

    Top panel: each percentage indicator's district figure (green met, red not met), with
    its target as a blue line. Bottom panel: satisfaction with targets 14, 14a, 15, 16, with
    the 95 % Wilson interval as whiskers; below the minimum sample no bar is drawn and the
    row says "chưa đủ dữ liệu". ``font_family`` exists for tests; by default DejaVu Sans,
    with Khmer OS after it when any name in the figures is Khmer.
    """
    if font_family is None:
        # every name the chart can show is a string somewhere in the figures' repr
        font_family = fonts.chart_families([repr(figures)], FONT)
    ind = indicator_rows(figures.indicators)
    sat = satisfaction_rows(figures.satisfaction)
    heights = [
        max(len(ind), 1) * _ROW_INCHES + _PANEL_EXTRA_INCHES,
        max(len(sat), 1) * _ROW_INCHES + _PANEL_EXTRA_INCHES,
    ]
    total = sum(heights) + _TITLE_INCHES + _LEGEND_INCHES
    fig = Figure(figsize=(WIDTH_PX / DPI, total), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    fig.suptitle(
        f"Tình hình CCHC — {figures.round_title}\n"
        f"Kỳ số liệu: {format_date(figures.window_start)} – {format_date(figures.window_end)}",
        fontsize=15,
        fontweight="bold",
        fontfamily=font_family,
    )
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": heights})
    labels = _draw_panel(
        top, f"Chỉ tiêu (số liệu {figures.whole})", ind, "Chưa có số liệu chỉ tiêu", font_family
    )
    labels += _draw_panel(
        bottom,
        "Mức độ hài lòng (khảo sát qua bot, KTC 95%)",
        sat,
        "Chưa có dữ liệu khảo sát",
        font_family,
    )
    _legend(fig, ind + sat, font_family)
    _fit_labels(fig, canvas, labels)
    return fig
