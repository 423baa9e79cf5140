"""``/trangthai`` (``/status``) with its drill-downs, ``/xuat`` (``/export``) and
``/baocaotonghop`` (the Word draft of the report upward)."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import Context
from bot.usecases.people import Person
from bot.usecases.render import say
from db import repo
from db.models import Round
from reports.docx_report import ReportTemplateError, collect_report, render_docx, report_name
from reports.drilldown import (
    indicator_lines,
    indicator_window_lines,
    unit_lines,
    unit_window_lines,
)
from reports.export import ExportData, collect_export, write_xlsx
from reports.figures import StatusFigures
from reports.status import WindowRounds, status_figures, window_figures
from reports.text import render_status, split_message
from scheduler.calendar import window_from_key
from scheduler.rounds import ensure_periodic_round, missing_units, rules_of
from surveys import texts as T
from surveys.catalogue import Catalogue, Indicator, Unit
from surveys.messages import Outbound

ZALO = "zalo"
ZALO_CHANNELS = frozenset({ZALO, "zalo_oa"})  # the Zalo Bot and the Official Account
# One round: a quarter (2026-Q3) or an ad-hoc round (DX-2026-1).
ROUND_KEY = re.compile(r"^(\d{4}-[Qq][1-4]|DX-\d{4}-\d+)$", re.IGNORECASE)
# What a report may cover: a round, the six months (2026-H1) or the year (2026).
REPORT_KEY = re.compile(r"^(\d{4}-[Qq][1-4]|\d{4}-[Hh]1|\d{4}|DX-\d{4}-\d+)$", re.IGNORECASE)

Scope = Round | WindowRounds  # what a report covers: one round, or a six-month/yearly window


async def current_round(ctx: Context, session: AsyncSession) -> Round:
    cal = ctx.config.calendar
    return await ensure_periodic_round(
        session, ctx.today(), rules_of(cal.window_start_day, cal.deadline_day), ctx.now()
    )


async def followed_round(ctx: Context, session: AsyncSession) -> Round:
    """The round Phòng Nội vụ follows by default: a periodic round past its deadline that
    is still open and still has missing units (chasing late reports matters more then than
    the new round nobody owes yet); otherwise the current round."""
    current = await current_round(ctx, session)
    today = ctx.today()
    for candidate in await repo.open_rounds(session):
        if (
            candidate.kind == "quarter"
            and candidate.id != current.id
            and candidate.deadline < today
            and await missing_units(session, ctx.catalogue, candidate)
        ):
            return candidate
    return current


async def report_scope(ctx: Context, session: AsyncSession, key: str) -> Scope | None:
    """The round or window ``key`` names (the followed round when empty); None if unknown:
    the one parser of report keys for the chat commands (/trangthai, /xuat, /baocaotonghop),
    the CLI (export, report) and the desk.

    ``2026-H1`` and ``2026`` are the six-month and yearly reports over the quarter rounds
    of their windows that have opened; None when none has."""
    if not key:
        return await followed_round(ctx, session)
    cal = ctx.config.calendar
    try:
        window = window_from_key(key, rules_of(cal.window_start_day, cal.deadline_day))
    except ValueError:
        return await repo.round_by_key(session, key.strip().upper())
    found = [await repo.round_by_key(session, p.key) for p in window.quarters]
    rounds = tuple(r for r in found if r is not None)
    return WindowRounds(window, rounds) if rounds else None


async def scope_figures(ctx: Context, session: AsyncSession, scope: Scope) -> StatusFigures:
    """The figures of a round or a window: every report shows these."""
    min_sample = ctx.config.survey.min_sample
    if isinstance(scope, WindowRounds):
        return await window_figures(session, ctx.catalogue, scope, ctx.today(), min_sample)
    return await status_figures(session, ctx.catalogue, scope, ctx.today(), min_sample)


def scope_title(scope: Scope) -> str:
    return scope.title


def scope_key(scope: Scope) -> str:
    return scope.key


Subject = Unit | Indicator  # what a drill-down is about: a unit, or a reported indicator


def drilldown_subject(catalogue: Catalogue, code: str) -> Subject | None:
    """The unit, else the reported (non-survey) indicator, ``code`` names; None if neither."""
    unit = catalogue.org.unit(code)
    if unit is not None:
        return unit
    indicator = catalogue.indicators.get(code)
    return indicator if indicator is not None and indicator.kind != "survey" else None


def status_args(catalogue: Catalogue, args: str) -> tuple[str, str] | None:
    """``/trangthai``'s arguments as (code of a unit or indicator, report key), either may
    be "": ``PNV``, ``5c``, ``2026-Q3``, ``2026-H1``, ``2026``, or a code and a key in either
    order (``PNV 2026-H1``, ``2026 5c``). None when they are not that."""
    words = args.split()
    if len(words) > 2:
        return None
    code = key = ""
    for word in words:
        if drilldown_subject(catalogue, word) is not None and not code:
            code = word
        elif REPORT_KEY.match(word) and not key:
            key = word
        else:
            return None
    return code, key


async def drilldown_lines(
    session: AsyncSession, catalogue: Catalogue, subject: Subject, scope: Scope
) -> list[str]:
    """``/trangthai MÃ [KỲ]`` and ``/trangthai 5c [KỲ]``, over a round or a window: the chat
    and the desk's drill-down pages both show these lines."""
    if isinstance(scope, WindowRounds):
        if isinstance(subject, Unit):
            return await unit_window_lines(session, catalogue, subject, scope)
        return await indicator_window_lines(session, catalogue, subject, scope)
    if isinstance(subject, Unit):
        return await unit_lines(session, catalogue, subject, scope)
    return await indicator_lines(session, catalogue, subject, scope)


async def status(ctx: Context, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
    catalogue = ctx.catalogue
    parsed = status_args(catalogue, args)
    if parsed is None:
        return say(person.chat_id, T.STATUS_USAGE.format(arg=args.strip()[:60]))
    code, arg = parsed
    if code:
        scope = await report_scope(ctx, session, arg)
        if scope is None:
            return say(person.chat_id, T.ROUND_UNKNOWN.format(key=arg.upper()))
        subject = drilldown_subject(catalogue, code)
        assert subject is not None  # status_args found it
        lines = await drilldown_lines(session, catalogue, subject, scope)
        return say(person.chat_id, *split_message(lines))
    chosen = await report_scope(ctx, session, arg)
    if chosen is None:
        return say(person.chat_id, T.ROUND_UNKNOWN.format(key=arg.upper()))
    figures = await scope_figures(ctx, session, chosen)
    from reports.chart import status_chart  # matplotlib loads only when a chart is drawn

    chart = await asyncio.to_thread(status_chart, figures)
    texts = render_status(figures)
    return [
        *say(person.chat_id, *texts),
        Outbound(person.chat_id, T.CHART_CAPTION.format(title=figures.round_title), photo=chart),
    ]


async def export_data(ctx: Context, session: AsyncSession, scope: Scope) -> ExportData:
    """What the workbook of a round or window holds (/xuat, the desk, ``cchc-bot export``)."""
    figures = await scope_figures(ctx, session, scope)
    rounds = scope.rounds if isinstance(scope, WindowRounds) else (scope,)
    return await collect_export(session, ctx.catalogue, rounds, figures, tz=ctx.config.timezone)


async def export_workbook(ctx: Context, session: AsyncSession, scope: Scope) -> bytes:
    return await asyncio.to_thread(write_xlsx, await export_data(ctx, session, scope))


def export_name(scope: Scope) -> str:
    return f"cchc-{scope_key(scope)}.xlsx"


async def export(ctx: Context, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
    scope = await report_scope(ctx, session, args.strip())
    if scope is None:
        return say(person.chat_id, T.ROUND_UNKNOWN.format(key=args.strip()))
    content = await export_workbook(ctx, session, scope)
    caption = T.EXPORT_CAPTION.format(title=scope_title(scope))
    return [Outbound(person.chat_id, caption, document=(export_name(scope), content))]


async def report_document(ctx: Context, session: AsyncSession, scope: Scope) -> bytes:
    """The Word draft of a round or window; ``ReportTemplateError`` when the template
    cannot be filled."""
    figures = await scope_figures(ctx, session, scope)
    data = await collect_report(
        session, ctx.catalogue, figures, ctx.today(), ctx.config.survey.min_sample
    )
    return await asyncio.to_thread(render_docx, data, ctx.config.org.report_template)


async def report(ctx: Context, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
    """``/baocaotonghop [KỲ]``: the report upward as a Word document (on Zalo, the link
    to it once the web has an https public_url)."""
    key = args.strip()
    scope = await report_scope(ctx, session, key)
    if scope is None:
        return say(person.chat_id, T.ROUND_UNKNOWN.format(key=key.upper()))
    title, found_key = scope_title(scope), scope_key(scope)
    if person.channel in ZALO_CHANNELS and not ctx.config.web.publishes_files:
        # Zalo takes no upload: without an https public_url to publish it at (the channel
        # then sends its link, bot.usecases.published), say where to get it
        return say(
            person.chat_id,
            T.REPORT_NOT_ON_ZALO.format(title=title, key=found_key, name=report_name(found_key)),
        )
    try:
        content = await report_document(ctx, session, scope)
    except ReportTemplateError as exc:
        return say(person.chat_id, T.REPORT_TEMPLATE_BROKEN.format(problem=exc))
    caption = T.REPORT_CAPTION.format(title=title, **ctx.catalogue.org.words.values())
    return [Outbound(person.chat_id, caption, document=(report_name(found_key), content))]
