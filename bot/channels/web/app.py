"""The web channel's one aiohttp application: server-rendered Jinja2 pages (autoescaped),
no third-party asset and no inline script (the kiosk's reset and the desk's autosave are
files under ``/static/``, and every page works without them), so a Content Security Policy
can forbid every inline script and every other origin.

* ``/s/POINT``, ``/r/TOKEN``: the survey (``survey.SurveyPages``);
* ``/k/POINT``: the counter tablet (``kiosk.KioskPages``);
* ``/dang-nhap/TOKEN``, ``/ban-lam-viec/…``: the desk (``desk.DeskPages``): a unit
  head's report form, Phòng Nội vụ's dashboard, behind a login link from ``/web``;
* ``/tep/TOKEN``: a chart, workbook or Word report published for a Zalo user for an hour
  (``files.FilePages``; ``Cache-Control: no-store``);
* ``/static/``: the stylesheets and the two scripts.

Every request passes the per-address limit (``limits.AddressLimiter``, 429 past it) and a
guard that turns any failure into a Vietnamese page with the right status, never a
traceback; every response carries the security headers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.usecases import published
from bot.usecases.context import Context
from bot.usecases.router import Core

from . import desk, files
from .kiosk import KioskPages
from .limits import AddressLimiter
from .pages import ERRORS, HERE, Pages
from .survey import SurveyPages

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # not no-store: that keeps a page out of the browser's back-forward cache, and Back then
    # shows "Confirm Form Resubmission" instead of the page (whose replayed form counts
    # nothing anyway); private keeps shared caches from storing a visitor's page
    "Cache-Control": "private, no-cache",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PAGES = web.AppKey("pages", Pages)
LIMITER = web.AppKey("limiter", AddressLimiter)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    pages = request.app[PAGES]
    limiter = request.app[LIMITER]
    if not limiter.allow(pages.address(request)):
        response: web.StreamResponse = pages.error(429)
        response.headers["Retry-After"] = str(limiter.seconds_left())
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = pages.error(exc.status if exc.status in ERRORS else 400)
        except Exception:
            log.exception("web page failed", extra={"event": "web_failed"})
            response = pages.error(500)
    if request.path.startswith("/static/"):
        response.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"})
    elif request.path.startswith(published.PATH):
        response.headers.update(SECURITY_HEADERS)
        response.headers.update(files.NO_STORE)  # the address is the key: never cached
    else:
        response.headers.update(SECURITY_HEADERS)
    return response


def build_app(ctx: Context, core: Core) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app[PAGES] = pages = Pages(ctx)
    secret = ctx.config.survey.secret.encode()
    app[LIMITER] = AddressLimiter(ctx.config.web.requests_per_minute, secret, ctx.now)
    survey, kiosk = SurveyPages(pages, core), KioskPages(pages)
    app.router.add_get("/s/{point}", survey.open)
    app.router.add_post("/s/{point}", survey.answer)
    app.router.add_get("/r/{token}", survey.open)
    app.router.add_post("/r/{token}", survey.answer)
    app.router.add_get("/k/{point}", kiosk.open)
    app.router.add_post("/k/{point}", kiosk.answer)
    desk.add_routes(app, pages, core)
    files.add_routes(app, pages, core)
    app.router.add_static("/static", HERE / "static")
    return app
