"""The web survey: one aiohttp application, server-rendered Jinja2 pages (autoescaped),
no JavaScript, nothing from other origins.

The page drives the same router as the chat channels: opening ``/s/POINT`` is
``/start s-POINT`` and a tap is the button the chat would have shown, so the survey's state
machine, its limits and its counting are the chat's own (``bot.surveying``). A visitor is a
random cookie (HttpOnly, SameSite=Lax, Secure over HTTPS); the database only ever sees the
keyed hash of it (``bot.people.citizen_key``). Every POST carries a CSRF token, an HMAC of
the cookie; the button carries the conversation's token, so a replayed or Back-and-resubmit
form is refused by the router and counts nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import jinja2
from aiohttp import web

from bot.usecases.context import Context
from bot.usecases.router import Core
from bot.usecases.surveying import point_payload, with_language
from surveys.messages import Inbound, Outbound

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "cchc_id"
MAX_BODY = 64 * 1024
HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ERRORS = {
    400: "Yêu cầu không hợp lệ.",
    403: "Phiên làm việc không hợp lệ hoặc đã hết hạn. Vui lòng quét lại mã QR.",
    404: "Không tìm thấy trang này. Vui lòng quét lại mã QR tại nơi làm thủ tục.",
    405: "Yêu cầu không hợp lệ.",
    413: "Nội dung gửi lên quá lớn.",
    500: "Đã có lỗi. Vui lòng thử lại sau ít phút.",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebSurvey:
    """The survey pages of one running bot."""

    def __init__(self, ctx: Context, core: Core) -> None:
        self.ctx, self.core = ctx, core
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
        )

    def csrf(self, cookie: str) -> str:
        key = self.ctx.config.survey.secret.encode()
        return hmac.new(key, f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()[:32]

    def page(self, status: int = 200, **values: object) -> web.Response:
        values.setdefault("lang", "vi")
        values.setdefault("title", "Khảo sát")
        html = self.templates.get_template("page.html").render(**values)
        return web.Response(text=html, content_type="text/html", status=status)

    def error(self, status: int) -> web.Response:
        return self.page(status, lines=[ERRORS.get(status, ERRORS[400])], title="Lỗi")

    def secure(self, request: web.Request) -> bool:
        if self.ctx.config.web.trust_proxy:
            return request.headers.get("X-Forwarded-Proto", request.scheme) == "https"
        return request.secure

    def render(self, point: str, cookie: str, replies: list[Outbound]) -> web.Response:
        last = replies[-1]
        buttons = [(b.label, b.data) for row in last.buttons for b in row]
        token = buttons[0][1].split(":")[1] if buttons else ""
        notice = " ".join(r.text for r in replies[:-1]) or None
        return self.page(
            400 if notice else 200,
            lang=last.language,
            lines=last.text.split("\n"),
            buttons=buttons,
            free_text=last.free_text,
            point=point,
            csrf=self.csrf(cookie),
            token=token,
            notice=notice,
        )

    def inbound(self, cookie: str, request: web.Request, **what: str | None) -> Inbound:
        accept = request.headers.get("Accept-Language", "")[:2] or None
        return Inbound(CHANNEL, cookie, cookie, language_code=accept, **what)  # type: ignore[arg-type]

    async def survey_page(self, request: web.Request) -> web.StreamResponse:
        point = self.ctx.catalogue.point(request.match_info["point"])
        if point is None:
            return self.error(404)
        cookie = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
        lang = request.query.get("lang")
        payload = with_language(point_payload(point), lang if lang in ("km", "en") else None)
        replies = await self.core.handle(self.inbound(cookie, request, text=f"/start {payload}"))
        response = self.render(point.code, cookie, replies)
        response.set_cookie(
            COOKIE, cookie, max_age=365 * 86400, httponly=True, samesite="Lax",
            secure=self.secure(request), path="/",
        )
        return response

    async def answer(self, request: web.Request) -> web.StreamResponse:
        point = self.ctx.catalogue.point(request.match_info["point"])
        if point is None:
            return self.error(404)
        form = await request.post()
        cookie = request.cookies.get(COOKIE, "")
        given = str(form.get("csrf", ""))
        if not cookie or not hmac.compare_digest(given, self.csrf(cookie)):
            return self.error(403)
        button = str(form.get("a", ""))
        if button:
            if not button.startswith("c:") or len(button) > 64:
                return self.error(400)
            inbound = self.inbound(cookie, request, button=button)
        else:
            text = str(form.get("text", "")).lstrip("/")[:2000]
            inbound = self.inbound(cookie, request, text=text)
        return self.render(point.code, cookie, await self.core.handle(inbound))


SURVEY = web.AppKey("survey", WebSurvey)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    survey = request.app[SURVEY]
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = survey.error(exc.status if exc.status in ERRORS else 400)
    except Exception:
        log.exception("web page failed", extra={"event": "web_failed"})
        response = survey.error(500)
    response.headers.update(SECURITY_HEADERS)
    return response


def build_app(ctx: Context, core: Core) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app[SURVEY] = survey = WebSurvey(ctx, core)
    app.router.add_get("/s/{point}", survey.survey_page)
    app.router.add_post("/s/{point}", survey.answer)
    app.router.add_static("/static", HERE / "static")
    return app
