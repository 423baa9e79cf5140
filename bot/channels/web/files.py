"""``GET /tep/TOKEN``: a file published for a Zalo user (``bot.usecases.published``).

The chart is served ``inline`` (Zalo fetches it for ``sendPhoto``; a browser shows it), a
workbook or Word report as an ``attachment``; the file name is given both as plain ASCII
and, for Vietnamese names, as RFC 5987's ``filename*=UTF-8''…`` (RFC 6266). Every answer is
``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` (the address is the key,
and an hour later it must not come back from a cache). An unknown or malformed token is
the web channel's 404 page, an expired one a 410 page; the token is never logged (the web
server keeps no access log: ``bot.app.runtime.start_web``).
"""

from __future__ import annotations

import unicodedata
from functools import partial
from urllib.parse import quote

from aiohttp import web

from bot.usecases import published
from bot.usecases.router import Core

from .pages import Pages

ROUTE = published.PATH + "{token}"
EXPIRED = (
    "Đường dẫn tải tệp này đã hết hạn (mỗi đường dẫn chỉ dùng được trong một giờ). "
    "Vui lòng hỏi lại bot để nhận đường dẫn mới."
)
UNKNOWN = (
    "Không tìm thấy tệp này: đường dẫn sai hoặc đã hết hạn. "
    "Vui lòng hỏi lại bot để nhận đường dẫn mới."
)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def ascii_name(name: str) -> str:
    """The file name without diacritics ("Báo cáo quý IV.docx" → "Bao cao quy IV.docx"),
    for clients that read only ``filename``; quotes and controls dropped."""
    plain = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    kept = "".join(c for c in plain if c.isascii() and c.isprintable() and c not in '"\\')
    return kept.strip() or "tep"


def content_disposition(name: str, inline: bool) -> str:
    """``inline|attachment; filename="…"`` with ``filename*=UTF-8''…`` when the name is not
    plain ASCII (RFC 6266 § 4.3, RFC 5987)."""
    kind = "inline" if inline else "attachment"
    fallback = ascii_name(name)
    header = f'{kind}; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


class FilePages:
    def __init__(self, pages: Pages, core: Core) -> None:
        self.pages, self.core = pages, core

    async def get(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        found, _ = await self.core.transactions.run(
            partial(published.fetch, self.pages.ctx, token=token)
        )
        if isinstance(found, published.NotServed):
            response = self.pages.error(
                found.status, EXPIRED if found.status == 410 else UNKNOWN
            )
            response.headers.update(NO_STORE)
            return response
        inline = found.media_type.startswith("image/")
        return web.Response(
            body=found.content,
            content_type=found.media_type,
            headers={
                "Content-Disposition": content_disposition(found.name, inline),
                **NO_STORE,
            },
        )


def add_routes(app: web.Application, pages: Pages, core: Core) -> None:
    app.router.add_get(ROUTE, FilePages(pages, core).get)
