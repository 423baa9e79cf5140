"""/status as text for a phone screen, split into messages of at most 4096 characters."""

from __future__ import annotations

from collections.abc import Sequence

from reports.figures import ChannelShare, IndicatorFigure, SatisfactionFigure, StatusFigures
from surveys import texts as T
from surveys.numbers import format_number, format_percent

TELEGRAM_LIMIT = 4096
NO_DATA = "chưa có số liệu"
GAPS_NAMED = 3  # an indicator's missing unit-quarters named in the text, beyond that counted


def _verdict(met: bool | None) -> str:
    return "" if met is None else (" ✅" if met else " ❌")


def indicator_value(f: IndicatorFigure, counts: bool = True) -> str:
    """An indicator's figure as /trangthai, the desk and the Word report show it:
    "50,5% (51/101)" for a ratio ("50,5%" without ``counts``), "90%", "12", or
    "chưa có số liệu"."""
    if f.value is None:
        return NO_DATA
    if f.kind == "ratio" and counts:
        return (
            f"{format_percent(f.value)} ({format_number(f.numerator or 0)}/"
            f"{format_number(f.denominator or 0)})"
        )
    if f.kind in ("ratio", "percent"):
        return format_percent(f.value)
    return format_number(f.value)


def indicator_goal(f: IndicatorFigure) -> str:
    """The target in force: "≥ 80%" ("" without one)."""
    if f.target is None:
        return ""
    sign = "≥" if f.direction == "min" else "≤"
    return f"{sign} {format_percent(f.target, 0)}"


# A target the plan does not state itself says how it was derived (see indicators.toml).
SOURCE_MARK = {"duy_tri": " (duy trì)", "lo_trinh": " (lộ trình)"}


def indicator_target(f: IndicatorFigure) -> str:
    """The target and where it comes from: "≥ 100% (duy trì)" ("" without one)."""
    goal = indicator_goal(f)
    return f"{goal}{SOURCE_MARK.get(f.target_source, '')}" if goal else ""


def indicator_line(f: IndicatorFigure, window: bool = False) -> str:
    """ "• 5c. Name: 45,3% (91/201) — mục tiêu ≥ 80% ❌", in a six-month or yearly report
    (``window``) with how it adds up and who is missing ("[cộng 2 quý; thiếu: …]")."""
    goal = indicator_target(f)
    goal = f" — mục tiêu {goal}" if goal else ""
    quarters = over_quarters(f) if window else ""
    judged = f" ({f.not_judged})" if f.not_judged else _verdict(f.met)
    trend = f" — {f.trend}" if f.trend else ""
    return f"• {f.code}. {f.name}: {indicator_value(f)}{goal}{judged}{quarters}{trend}"


def _qualitative_lines(f: IndicatorFigure) -> list[str]:
    """The target's part that is no number, listed as such, with what the units wrote."""
    if not f.qualitative:
        return []
    lines = [f"  Phần định tính (không tính tỷ lệ): {f.qualitative}"]
    lines += [f"  — {note}" for note in f.notes] or ["  — chưa đơn vị nào ghi nhận (/dinhtinh)"]
    return lines


def over_quarters(f: IndicatorFigure) -> str:
    """In a six-month or yearly report: how the figure adds up and who is missing."""
    if not f.quarters_used:
        note = ""
    elif f.aggregate == "flow" and len(f.quarters_used) > 1:
        note = f"cộng {len(f.quarters_used)} quý"
    else:
        note = f"số liệu {f.quarters_used[-1]}"
    if f.gaps:  # named when few; the export lists them all
        missing = ", ".join(f.gaps) if len(f.gaps) <= GAPS_NAMED else f"{len(f.gaps)} đơn vị-quý"
        note += ("; " if note else "") + "thiếu: " + missing
    return f" [{note}]" if note else ""


def satisfaction_sample(f: SatisfactionFigure) -> str:
    """Who the rate is of: "3 người, n=9 câu trả lời"."""
    return f"{f.respondents} người, n={f.n} câu trả lời"


def satisfaction_rate(f: SatisfactionFigure) -> str:
    """The bot's own rate, "66,7%", or "chưa đủ dữ liệu" below the minimum sample."""
    if f.rate is None or not f.enough:
        return T.NOT_ENOUGH_DATA
    return format_percent(f.rate)


def satisfaction_interval(f: SatisfactionFigure) -> str:
    """The 95 % interval over respondents, "35,4%–87,9%" ("" without enough data)."""
    if f.rate is None or not f.enough:
        return ""
    return f"{format_percent(f.low)}–{format_percent(f.high)}"


def satisfaction_goal(f: SatisfactionFigure) -> str:
    """The plan's target for the year: "≥ 90%" ("" without one)."""
    return f"≥ {format_percent(f.goal, 0)}" if f.goal is not None else ""


def _satisfaction_line(f: SatisfactionFigure) -> str:
    goal = f", mục tiêu {satisfaction_goal(f)}" if f.goal is not None else ""
    sample = satisfaction_sample(f)
    # An official survey's figure is shown beside the bot's own, never mixed into it.
    official = T.official_beside(format_percent(f.official)) if f.official is not None else ""
    interval = satisfaction_interval(f)
    trend = f" — {f.trend}" if f.trend else ""
    if not interval:
        return f"• {f.target}. {f.name}: {T.NOT_ENOUGH_DATA} ({sample}{goal}){official}{trend}"
    return (
        f"• {f.target}. {f.name}: {satisfaction_rate(f)} "
        f"({sample}, KTC 95%: {interval}{goal})"
        f"{_verdict(f.met)}{official}{trend}"
    )


CHANNEL_LABELS = {
    "web": "trang web",
    "kiosk": "máy tại quầy",
    "zalo": "Zalo",
    "telegram": "Telegram",
    "console": "dòng lệnh",
    "": "chưa ghi kênh",
}


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def channel_line(shares: Sequence[ChannelShare]) -> str:
    """"Kênh trả lời (340 phiếu): trang web 61,8%, Zalo 23,5%, …" """
    total = sum(s.responses for s in shares)
    parts = ", ".join(f"{channel_label(s.channel)} {format_percent(s.share)}" for s in shares)
    return f"Kênh trả lời ({format_number(total)} phiếu): {parts}"


def deadline_state(f: StatusFigures) -> str:
    """"còn 3 ngày", "quá hạn 2 ngày" or "đã đóng"."""
    if f.closed:
        return "đã đóng"
    if f.days_left >= 0:
        return f"còn {f.days_left} ngày"
    return f"quá hạn {-f.days_left} ngày"


def submitted_line(f: StatusFigures) -> str:
    return (
        f"Đã nộp: {f.submitted}/{f.units_total} đơn vị "
        f"(đúng hạn {len(f.on_time)}, trễ hạn {len(f.late)})"
    )


def status_lines(f: StatusFigures) -> list[str]:
    lines = [
        f"📊 TÌNH HÌNH BÁO CÁO {f.round_title.upper()}",
        f"Kỳ số liệu: {T.d(f.window_start)} – {T.d(f.window_end)}",
        f"Hạn nộp: {T.d(f.deadline)} ({deadline_state(f)})",
        "",
    ]
    if f.quarters:  # a six-month or yearly report: each quarter, then who missed one
        lines += quarter_lines(f)
    else:
        lines.append(submitted_line(f))
    if f.missing and not f.quarters:
        lines.append(f"Chưa nộp ({sum(len(v) for v in f.missing.values())}):")
        for kind, names in f.missing.items():
            lines.append(f"— {kind}: " + ", ".join(names))
    if f.indicators:
        lines += ["", f"CHỈ TIÊU (số liệu {f.whole}, tính từ tử số/mẫu số):"]
        for i in f.indicators:
            lines += [indicator_line(i, bool(f.quarters)), *_qualitative_lines(i)]
    if f.satisfaction:
        lines += ["", "MỨC ĐỘ HÀI LÒNG (khảo sát qua bot):"]
        lines += [_satisfaction_line(s) for s in f.satisfaction]
    if f.channels:
        lines.append(channel_line(f.channels))
    return lines


def quarter_lines(f: StatusFigures) -> list[str]:
    """A six-month or yearly report's submissions: each quarter's, then who missed one."""
    lines = [
        f"{q.title}: đã nộp {q.submitted}/{q.units_total} đơn vị (trễ hạn {q.late})"
        + (", đã đóng" if q.closed else "")
        for q in f.quarters
    ]
    if f.unit_gaps:
        lines.append(f"Đơn vị thiếu báo cáo quý ({len(f.unit_gaps)}):")
        lines += [f"— {name}: {', '.join(quarters)}" for name, quarters in f.unit_gaps]
    return lines


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (📊, 📋, 📌 count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(line: str, limit: int) -> int:
    """Where to cut an over-long ``line``: after the last ", " or space that leaves at most
    ``limit`` UTF-16 units before it, so no name is broken; mid-word only as a last resort."""
    end = len(line)
    while telegram_length(line[:end]) > limit:
        end -= max(1, (telegram_length(line[:end]) - limit) // 2)
    for separator in (", ", " "):
        at = line.rfind(separator, 0, end)
        if at > 0:
            return at + len(separator)
    return max(end, 1)


def split_message(lines: list[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Join lines into messages of at most ``limit`` characters as Telegram counts them
    (UTF-16 units), breaking between lines, and inside a line only when it alone is too
    long (then after a comma or a space)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while telegram_length(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            at = _cut(line, limit)
            chunks.append(line[:at].rstrip())
            line = line[at:]
        candidate = f"{current}\n{line}" if current else line
        if telegram_length(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [c.strip("\n") for c in chunks if c.strip()]


def render_status(f: StatusFigures, limit: int = TELEGRAM_LIMIT) -> list[str]:
    return split_message(status_lines(f), limit)
