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
from reports.drilldown import indicator_lines, unit_lines
from reports.export import collect_export, write_xlsx
from reports.status import status_figures
from reports.text import render_status, split_message
from scheduler.rounds import ensure_periodic_round, missing_units, rules_of
from surveys import texts as T
from surveys.messages import Outbound

ZALO = "zalo"
ROUND_KEY = re.compile(r"^(\d{4}-[Qq][1-4]|DX-\d{4}-\d+)$", re.IGNORECASE)


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


async def find_round(session: AsyncSession, key: str) -> Round | None:
    """The round a key names ("2026-Q4", "dx-2026-1"): the one parser of round keys for
    the chat commands (/trangthai, /xuat, /baocaotonghop) and the CLI (export, report)."""
    return await repo.round_by_key(session, key.strip().upper())


async def _round(ctx: Context, session: AsyncSession, key: str) -> Round | None:
    if not key:
        return await followed_round(ctx, session)
    return await find_round(session, key)


async def status(ctx: Context, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
    arg = args.strip()
    catalogue = ctx.catalogue
    if arg and not ROUND_KEY.match(arg):
        round_ = await followed_round(ctx, session)
        unit = catalogue.org.unit(arg)
        if unit is not None:
            return say(
                person.chat_id, *split_message(await unit_lines(session, catalogue, unit, round_))
            )
        indicator = catalogue.indicators.get(arg)
        if indicator is not None and indicator.kind != "survey":
            lines = await indicator_lines(session, catalogue, indicator, round_)
            return say(person.chat_id, *split_message(lines))
        return say(person.chat_id, T.STATUS_USAGE.format(arg=arg))
    chosen = await _round(ctx, session, arg)
    if chosen is None:
        return say(person.chat_id, T.ROUND_UNKNOWN.format(key=arg.upper()))
    round_ = chosen
    figures = await status_figures(
        session, catalogue, round_, ctx.today(), ctx.config.survey.min_sample
    )
    from reports.chart import status_chart  # matplotlib loads only when a chart is drawn

    chart = await asyncio.to_thread(status_chart, figures)
    texts = render_status(figures)
    return [
        *say(person.chat_id, *texts),
        Outbound(person.chat_id, T.CHART_CAPTION.format(title=round_.title), photo=chart),
    ]


async def export_workbook(ctx: Context, session: AsyncSession, round_: Round) -> bytes:
    figures = await status_figures(
        session, ctx.catalogue, round_, ctx.today(), ctx.config.survey.min_sample
    )
    data = await collect_export(session, ctx.catalogue, round_, figures, tz=ctx.config.timezone)
    return await asyncio.to_thread(write_xlsx, data)


def export_name(round_: Round) -> str:
    return f"cchc-{round_.key}.xlsx"


async def export(ctx: Context, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
    round_ = await _round(ctx, session, args.strip())
    if round_ is None:
        return say(person.chat_id, T.ROUND_UNKNOWN.format(key=args.strip()))
    content = await export_workbook(ctx, session, round_)
    caption = T.EXPORT_CAPTION.format(title=round_.title)
    return [Outbound(person.chat_id, caption, document=(export_name(round_), content))]


async def report_document(ctx: Context, session: AsyncSession, round_: Round) -> bytes:
    """The round's Word draft; ``ReportTemplateError`` when the template cannot be filled."""
    data = await collect_report(
        session, ctx.catalogue, round_, ctx.today(), ctx.config.survey.min_sample
    )
    return await asyncio.to_thread(render_docx, data, ctx.config.org.report_template)


async def report(ctx: Context, session: AsyncSession, person: Person, args: str) -> list[Outbound]:
    """``/baocaotonghop [KỲ]``: the report upward as a Word document."""
    key = args.strip()
    round_ = await _round(ctx, session, key)
    if round_ is None:
        return say(person.chat_id, T.ROUND_UNKNOWN.format(key=key.upper()))
    if person.channel == ZALO:  # Zalo's bots cannot send files: say where to get it
        return say(
            person.chat_id,
            T.REPORT_NOT_ON_ZALO.format(
                title=round_.title, key=round_.key, name=report_name(round_.key)
            ),
        )
    try:
        content = await report_document(ctx, session, round_)
    except ReportTemplateError as exc:
        return say(person.chat_id, T.REPORT_TEMPLATE_BROKEN.format(problem=exc))
    caption = T.REPORT_CAPTION.format(title=round_.title)
    return [Outbound(person.chat_id, caption, document=(report_name(round_.key), content))]
