"""The desk pages: ``/dang-nhap/TOKEN`` (a login link from ``/web`` in chat) and
``/ban-lam-viec/…`` (a unit head's form, Phòng Nội vụ's dashboard).

The session is the cookie ``cchc_desk`` (random, HttpOnly, SameSite=Lax, Secure over HTTPS,
path ``/ban-lam-viec``); only its hash is stored (``bot.usecases.desk``). Every route asks
the database who the cookie stands for and checks role and unit on the server; every form
carries a CSRF token bound to the cookie. URLs carry round keys, unit and indicator codes
only — never a figure, a person's name, a login token or a session.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases import desk, status
from bot.usecases.people import Person
from bot.usecases.router import Core
from reports import text as report_text
from reports.docx_report import ReportTemplateError, report_name
from reports.export import write_xlsx
from reports.figures import StatusFigures
from surveys import texts as T
from surveys.catalogue import Unit
from surveys.numbers import format_percent

from .pages import Pages

COOKIE = "cchc_desk"
BASE = "/ban-lam-viec"
FORM = f"{BASE}/bao-cao"
CSRF = "desk"
R = TypeVar("R")


def _plain(line: str) -> str:
    """A chat line without its pictograms (a PC without an emoji font draws boxes)."""
    for mark in ("📋 ", "📌 ", "📊 ", "• ", " ✅", " ❌"):
        line = line.replace(mark, "")
    return line


def _verdict(met: bool | None) -> str:
    return "" if met is None else (T.MET if met else T.NOT_MET)


def see_other(location: str) -> web.Response:
    """303 to ``location`` (returned, not raised: the guard adds the security headers)."""
    return web.Response(status=303, headers={"Location": location})


def _json_refusal(status: int, message: str) -> web.Response:
    """The autosave's refusal: the page shows ``status`` text where it says "Đã lưu nháp"."""
    return web.json_response({"status": message, "errors": {}, "confirm": []}, status=status)


class DeskPages:
    def __init__(self, pages: Pages, core: Core) -> None:
        self.pages, self.core = pages, core
        self.ctx = pages.ctx
        pages.templates.globals["pct"] = format_percent

    # ------------------------------------------------------------------ plumbing

    async def run(self, work: Callable[[AsyncSession], Awaitable[R]]) -> R:
        """One unit of work in the core's transactions (on SQLite, with the chat's)."""
        result, _ = await self.core.transactions.run(work)
        return result

    def cookie(self, request: web.Request) -> str:
        return request.cookies.get(COOKIE, "")

    def render(
        self, request: web.Request, template: str, person: Person | None, status: int = 200,
        **values: Any,
    ) -> web.Response:
        cookie = self.cookie(request)
        values.setdefault("title", "Bàn làm việc")
        values.setdefault("notice", None)
        values.setdefault("printed", T.d(self.ctx.today()))
        return self.pages.render(
            template, status, person=person, csrf=self.pages.csrf(CSRF, cookie) if cookie else "",
            **values,
        )

    def refuse(self, request: web.Request, status: int, message: str) -> web.Response:
        return self.render(request, "desk_message.html", None, status, lines=[message],
                           title="Bàn làm việc")

    async def person(self, request: web.Request) -> Person | None:
        cookie = self.cookie(request)
        if not cookie:
            return None
        return await self.run(partial(desk.person_of, self.ctx, cookie=cookie))

    async def form_of(self, request: web.Request) -> dict[str, str]:
        form = await request.post()
        return {k: str(v) for k, v in form.items() if isinstance(v, str)}

    def csrf_ok(self, request: web.Request, form: dict[str, str]) -> bool:
        return self.pages.csrf_ok(CSRF, self.cookie(request), form.get("csrf", ""))

    # ------------------------------------------------------------------ login, logout

    async def login(self, request: web.Request) -> web.StreamResponse:
        """GET /dang-nhap/TOKEN: the link used once; a session; 303 to the desk (so the
        token leaves the address bar and the history)."""
        token = request.match_info["token"]
        opened = await self.run(partial(desk.open_link, self.ctx, token=token))
        if isinstance(opened, desk.Refused):
            return self.refuse(request, opened.status, opened.message)
        response = see_other(BASE)
        response.set_cookie(
            COOKIE, opened, httponly=True, samesite="Lax", secure=self.pages.secure(request),
            path=BASE,
        )
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        form = await self.form_of(request)
        if not self.csrf_ok(request, form):
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        await self.run(partial(desk.logout, self.ctx, cookie=self.cookie(request)))
        response = self.refuse(request, 200, T.DESK_LOGGED_OUT)
        response.del_cookie(COOKIE, path=BASE)
        return response

    # ------------------------------------------------------------------ home

    async def home(self, request: web.Request) -> web.StreamResponse:
        person = await self.person(request)
        if person is None:
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        if not person.is_admin:
            return see_other(FORM)
        return await self.dashboard(request, person)

    # ------------------------------------------------------------------ the form

    def _unit(self, person: Person, code: str) -> Unit | None:
        """The unit the page is for: the member's own; an admin's choice (None: choose)."""
        if not code and person.unit is not None:
            return person.unit
        unit = self.ctx.catalogue.org.unit(code) if code else None
        if unit is None or not desk.may_report_for(person, unit):
            return None
        return unit

    async def _form_target(
        self, request: web.Request, person: Person, key: str, code: str
    ) -> tuple[Any, web.StreamResponse | None]:
        """(the draft to show, or a page instead: unit or round chooser, refusal)."""
        if code and (self.ctx.catalogue.org.unit(code) is None or self._unit(person, code) is None):
            return None, self.refuse(request, 403, T.DESK_FORBIDDEN)
        unit = self._unit(person, code)
        if unit is None:
            if not person.is_admin:
                return None, self.refuse(request, 403, T.DESK_FORBIDDEN)
            units = self.ctx.catalogue.org.reporting_units()
            return None, self.render(request, "desk_units.html", person, units=units,
                                     title="Nhập báo cáo thay đơn vị")

        async def work(session: AsyncSession) -> Any:
            rounds = await desk.rounds_for(session, unit)
            chosen = next((r for r in rounds if r.key == key.upper()), None) if key else None
            if chosen is None and len(rounds) == 1 and not key:
                chosen = rounds[0]
            if chosen is None:
                return rounds
            return await desk.draft(self.ctx, session, person, chosen, unit)

        found = await self.run(work)
        if isinstance(found, list):
            if not found:
                return None, self.refuse(request, 200, T.NO_OPEN_ROUND)
            return None, self.render(request, "desk_rounds.html", person, rounds=found, unit=unit,
                                     title="Chọn đợt báo cáo")
        return found, None

    def _form_page(
        self, request: web.Request, person: Person, found: desk.Draft, status: int = 200,
        notice: str | None = None,
    ) -> web.Response:
        groups: OrderedDict[int, list[desk.FormField]] = OrderedDict()
        for entry in sorted(found.fields, key=lambda f: f.group):
            groups.setdefault(entry.group, []).append(entry)
        return self.render(
            request, "desk_form.html", person, status, found=found, groups=groups,
            notice=notice, admin_entry=desk.by_admin(person, found.unit),
            title=f"Báo cáo {found.round_.title} — {found.unit.name}",
        )

    async def form(self, request: web.Request) -> web.StreamResponse:
        person = await self.person(request)
        if person is None:
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        found, page = await self._form_target(
            request, person, request.query.get("dot", ""), request.query.get("don-vi", "")
        )
        if page is not None:
            return page
        notice = None
        if request.query.get("luu") and found.conversation is not None:
            when = self.ctx.local(self.ctx.now()).strftime("%H:%M")
            notice = T.DESK_SAVED.format(time=when)
        return self._form_page(request, person, found, notice=notice)

    def _back(self, found: desk.Draft, path: str = FORM, **more: str) -> str:
        query = {"dot": found.round_.key, "don-vi": found.unit.code, **more}
        return f"{path}?{urlencode(query)}"

    async def save(self, request: web.Request) -> web.StreamResponse:
        """POST the form: "Lưu nháp" keeps the draft, "Xem tóm tắt" too, then the summary."""
        person = await self.person(request)
        if person is None:
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        form = await self.form_of(request)
        if not self.csrf_ok(request, form):
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        key, code = form.get("dot", ""), form.get("don-vi", "")
        if not key:
            return self.refuse(request, 400, T.NO_OPEN_ROUND)
        found, page = await self._form_target(request, person, key, code)
        if page is not None:
            return page

        async def work(session: AsyncSession) -> desk.Draft:
            again = await desk.draft(self.ctx, session, person, found.round_, found.unit)
            answers = desk.read_form(again, form)
            await desk.save(self.ctx, session, person, again, answers)
            return again

        saved = await self.run(work)
        if saved.errors:
            notice = T.DESK_HAS_ERRORS.format(count=saved.errors)
            return self._form_page(request, person, saved, 400, notice)
        if form.get("action") == "tom-tat":
            return see_other(self._back(saved, f"{FORM}/tom-tat"))
        return see_other(self._back(saved, luu="1"))

    async def autosave(self, request: web.Request) -> web.StreamResponse:
        """POST the edited items as the person types (``static/desk.js``), JSON back: the
        time saved, and each refused field's message for the page to show beside it.
        Without JavaScript nothing calls it: "Lưu nháp" posts the whole form instead."""
        person = await self.person(request)
        if person is None:
            return _json_refusal(403, T.DESK_LOGIN_NEEDED)
        form = await self.form_of(request)
        if not self.csrf_ok(request, form):
            return _json_refusal(403, T.DESK_LOGIN_NEEDED)
        edited = [c for c in form.get("sua", "").split(",") if c][: desk.MAX_EDITED]
        found, page = await self._form_target(request, person, form.get("dot", ""),
                                              form.get("don-vi", ""))
        if page is not None or not edited:
            refused = page is not None and page.status == 403
            return _json_refusal(403 if refused else 409,
                                 T.DESK_FORBIDDEN if refused else T.DESK_AUTOSAVE_STALE)
        saved = await self.run(partial(
            desk.autosave, self.ctx, person=person, round_=found.round_, unit=found.unit,
            form=form, edited=edited,
        ))
        when = self.ctx.local(self.ctx.now()).strftime("%H:%M")
        said = (T.DESK_AUTOSAVED_WITH_ERRORS.format(time=when, count=len(saved.errors))
                if saved.errors else T.DESK_AUTOSAVED.format(time=when))
        return web.json_response(
            {"status": said, "errors": saved.errors, "confirm": saved.confirm,
             "sure": T.DESK_SURE}
        )

    async def summary(self, request: web.Request) -> web.StreamResponse:
        person = await self.person(request)
        if person is None:
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        found, page = await self._form_target(
            request, person, request.query.get("dot", ""), request.query.get("don-vi", "")
        )
        if page is not None:
            return page
        notice = None
        if found.missing:
            notice = T.DESK_INCOMPLETE.format(
                count=len(found.missing), codes=", ".join(found.missing)
            )
        return self.render(
            request, "desk_summary.html", person, found=found, lines=desk.summary_lines(found),
            notice=notice, back=self._back(found), verdict=_verdict,
            title=T.summary_header(found.unit.name, found.round_.title),
        )

    async def submit(self, request: web.Request) -> web.StreamResponse:
        person = await self.person(request)
        if person is None:
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        form = await self.form_of(request)
        if not self.csrf_ok(request, form):
            return self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        found, page = await self._form_target(
            request, person, form.get("dot", ""), form.get("don-vi", "")
        )
        if page is not None:
            return page

        async def work(session: AsyncSession) -> str | desk.Draft:
            again = await desk.draft(self.ctx, session, person, found.round_, found.unit)
            if again.missing:
                return again
            return await desk.submit(self.ctx, session, person, again)

        done = await self.run(work)
        if isinstance(done, desk.Draft):
            missing = done.missing
            notice = T.DESK_INCOMPLETE.format(count=len(missing), codes=", ".join(missing))
            return self._form_page(request, person, done, 400, notice)
        return self.render(request, "desk_message.html", person, lines=done.split("\n"),
                           title="Đã gửi báo cáo", home=True)

    # ------------------------------------------------------------------ the dashboard

    async def _admin(self, request: web.Request) -> tuple[Person | None, web.Response | None]:
        person = await self.person(request)
        if person is None:
            return None, self.refuse(request, 403, T.DESK_LOGIN_NEEDED)
        if not person.is_admin:
            return None, self.refuse(request, 403, T.DESK_FORBIDDEN)
        return person, None

    async def dashboard(self, request: web.Request, person: Person) -> web.StreamResponse:
        """The round, six-month or yearly report ``?dot=`` names (the followed round by
        default), as /trangthai KỲ shows it."""
        key = request.query.get("dot", "")

        async def work(session: AsyncSession) -> Any:
            scope = await desk.scope_of(self.ctx, session, key)
            if scope is None:
                return None
            return await desk.figures(self.ctx, session, scope), await desk.choices(
                self.ctx, session
            )

        found = await self.run(work)
        if found is None:
            return self.refuse(request, 404, T.ROUND_UNKNOWN.format(key=key[:40].upper()))
        figures, choices = found
        return self.render(
            request, "desk_dashboard.html", person, f=figures, choices=choices,
            text=report_text, verdict=_verdict, units=self.ctx.catalogue.org.reporting_units(),
            title=f"Tình hình báo cáo {figures.round_title}",
        )  # fmt: skip

    async def _figures(self, request: web.Request) -> StatusFigures | None:
        key = request.query.get("dot", "")

        async def work(session: AsyncSession) -> StatusFigures | None:
            scope = await desk.scope_of(self.ctx, session, key)
            return None if scope is None else await desk.figures(self.ctx, session, scope)

        return await self.run(work)

    async def chart(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._admin(request)
        if refused is not None:
            return refused
        figures = await self._figures(request)
        if figures is None:
            return self.refuse(request, 404, T.ROUND_UNKNOWN.format(key=""))
        from reports.chart import status_chart  # matplotlib loads only when a chart is drawn

        png = await asyncio.to_thread(status_chart, figures)
        return web.Response(body=png, content_type="image/png")

    async def export(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._admin(request)
        if refused is not None:
            return refused
        key = request.query.get("dot", "")

        async def work(session: AsyncSession) -> Any:
            scope = await desk.scope_of(self.ctx, session, key)
            if scope is None:
                return None
            return status.export_name(scope), await status.export_data(self.ctx, session, scope)

        found = await self.run(work)
        if found is None:
            return self.refuse(request, 404, T.ROUND_UNKNOWN.format(key=key[:40].upper()))
        name, data = found
        content = await asyncio.to_thread(write_xlsx, data)
        return web.Response(
            body=content,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def report(self, request: web.Request) -> web.StreamResponse:
        """GET /ban-lam-viec/bao-cao-tong-hop.docx?dot=KỲ: the Word draft of the round (or
        six-month/yearly window) shown, as `cchc-bot report` and /baocaotonghop make it."""
        _, refused = await self._admin(request)
        if refused is not None:
            return refused
        key = request.query.get("dot", "")[:41]

        async def work(session: AsyncSession) -> Any:
            scope = await desk.scope_of(self.ctx, session, key)
            if scope is None:
                return None
            try:
                return status.scope_key(scope), await status.report_document(
                    self.ctx, session, scope
                )
            except ReportTemplateError as exc:
                return exc

        found = await self.run(work)
        if found is None:
            return self.refuse(request, 404, T.ROUND_UNKNOWN.format(key=key[:40].upper()))
        if isinstance(found, ReportTemplateError):
            return self.refuse(request, 500, T.REPORT_TEMPLATE_BROKEN.format(problem=found))
        scope_key, content = found
        return web.Response(
            body=content,
            content_type=(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            ),
            headers={
                "Content-Disposition": f'attachment; filename="{report_name(scope_key)}"'
            },
        )

    async def drilldown(self, request: web.Request) -> web.StreamResponse:
        """/ban-lam-viec/don-vi/MÃ and /ban-lam-viec/chi-tieu/MÃ (``?dot=`` a round, a
        six-month or a yearly key): /trangthai MÃ KỲ and /trangthai 5c KỲ, the same lines."""
        person, refused = await self._admin(request)
        if refused is not None:
            return refused
        code, key = request.match_info["code"], request.query.get("dot", "")
        catalogue = self.ctx.catalogue
        subject: status.Subject | None
        if request.path.startswith(f"{BASE}/don-vi/"):
            subject = catalogue.org.unit(code)
        else:  # a reported indicator (satisfaction has no units to drill into)
            subject = status.drilldown_subject(catalogue, code)
            subject = None if isinstance(subject, Unit) else subject
        if subject is None:
            return self.refuse(request, 404, T.STATUS_USAGE.format(arg=code[:20]))

        async def work(session: AsyncSession) -> Any:
            scope = await desk.scope_of(self.ctx, session, key)
            if scope is None:
                return None
            assert subject is not None
            return scope, await status.drilldown_lines(session, catalogue, subject, scope)

        found = await self.run(work)
        if found is None:
            return self.refuse(request, 404, T.ROUND_UNKNOWN.format(key=key[:40].upper()))
        scope, lines = found
        plain = [_plain(line) for line in lines]
        return self.render(
            request, "desk_drilldown.html", person, heading=plain[0], lines=plain[1:],
            back_key=status.scope_key(scope), back_title=status.scope_title(scope),
            title=plain[0],
        )


def add_routes(app: web.Application, pages: Pages, core: Core) -> None:
    d = DeskPages(pages, core)
    app.router.add_get("/dang-nhap/{token}", d.login)
    app.router.add_get(BASE, d.home)
    app.router.add_post(f"{BASE}/dang-xuat", d.logout)
    app.router.add_get(FORM, d.form)
    app.router.add_post(FORM, d.save)
    app.router.add_post(f"{FORM}/nhap", d.autosave)
    app.router.add_get(f"{FORM}/tom-tat", d.summary)
    app.router.add_post(f"{FORM}/gui", d.submit)
    app.router.add_get(f"{BASE}/bieu-do.png", d.chart)
    app.router.add_get(f"{BASE}/xuat.xlsx", d.export)
    app.router.add_get(f"{BASE}/bao-cao-tong-hop.docx", d.report)
    app.router.add_get(f"{BASE}/don-vi/{{code}}", d.drilldown)
    app.router.add_get(f"{BASE}/chi-tieu/{{code}}", d.drilldown)
