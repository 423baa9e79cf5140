"""What every page of the web channel shares: the templates (Jinja2, autoescaped), the
error pages, the CSRF tokens and the cookies' flags."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.usecases.context import Context
from surveys import i18n
from surveys import texts as T

HERE = Path(__file__).parent
SEALED_MAX = 8192  # characters of a sealed state; a longer one is refused unread

# Vietnamese first: a wrong link or a flood is rarely read in another language, and the
# page says it in the three languages a citizen may read.
ERRORS = {
    400: "Yêu cầu không hợp lệ.",
    403: "Phiên làm việc không hợp lệ hoặc đã hết hạn. Vui lòng quét lại mã QR.",
    404: "Không tìm thấy trang này. Vui lòng quét lại mã QR tại nơi làm thủ tục.",
    405: "Yêu cầu không hợp lệ.",
    413: "Nội dung gửi lên quá lớn.",
    429: "Có quá nhiều yêu cầu từ cùng một mạng. Vui lòng thử lại sau một phút.",
    500: "Đã có lỗi. Vui lòng thử lại sau ít phút.",
}
KIOSK_REFUSED = (
    "Máy tính bảng này chưa được cấp phép hoặc đã bị thu hồi. "
    "Vui lòng báo cán bộ phụ trách để lấy đường dẫn mới (cchc-bot kiosk)."
)


class Pages:
    """Rendering and the request facts the pages need."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,  # the templates ship with the code: no stat() per page
        )
        self.templates.globals["t"] = i18n.translate
        self.templates.globals["T"] = T
        self.templates.globals["org"] = ctx.catalogue.org.words  # no page names an office

    def render(self, template: str, status: int = 200, **values: object) -> web.Response:
        values.setdefault("lang", i18n.SOURCE)
        values.setdefault("title", "Khảo sát")
        values.setdefault("refresh", None)
        values.setdefault("notice", None)
        html = self.templates.get_template(template).render(**values)
        return web.Response(text=html, content_type="text/html", status=status)

    def error(self, status: int, message: str | None = None) -> web.Response:
        text = message or ERRORS.get(status, ERRORS[400])
        return self.render("error.html", status, lines=[text], title="Lỗi")

    def csrf(self, purpose: str, cookie: str) -> str:
        """The form token of a page: an HMAC of the visitor's cookie, so a form posted
        without that cookie, or with another visitor's token, is refused."""
        key = self.ctx.config.survey.secret.encode()
        return hmac.digest(key, f"csrf:{purpose}:{cookie}".encode(), "sha256").hex()[:32]

    def csrf_ok(self, purpose: str, cookie: str, given: str) -> bool:
        expected = self.csrf(purpose, cookie).encode()
        return bool(cookie) and hmac.compare_digest(given.encode(errors="replace"), expected)

    def _seal_mac(self, purpose: str, bound_to: str, payload: bytes) -> str:
        key = self.ctx.config.survey.secret.encode()
        message = f"{purpose}:{bound_to}:".encode() + payload
        return hmac.digest(key, message, "sha256").hex()[:32]

    def seal(self, purpose: str, state: dict[str, Any], bound_to: str = "") -> str:
        """``state`` as a form field the page carries (JSON, base64url) with an HMAC over
        it, the purpose and ``bound_to`` (the visitor's cookie): a state is only taken
        back unchanged, for the same purpose, from the visitor it was given to."""
        payload = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode())
        return f"{payload.decode()}.{self._seal_mac(purpose, bound_to, payload)}"

    def unseal(self, purpose: str, sealed: str, bound_to: str = "") -> dict[str, Any] | None:
        """The state ``seal`` gave, or None for anything changed, forged or too long."""
        payload, _, signature = sealed.partition(".")
        if len(sealed) > SEALED_MAX or not payload.isascii():
            return None
        expected = self._seal_mac(purpose, bound_to, payload.encode())
        if not hmac.compare_digest(signature.encode(errors="replace"), expected.encode()):
            return None
        try:
            state = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except (binascii.Error, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def secure(self, request: web.Request) -> bool:
        if self.ctx.config.web.trust_proxy:
            return request.headers.get("X-Forwarded-Proto", request.scheme) == "https"
        return request.secure

    def address(self, request: web.Request) -> str:
        """The client's address: behind our own proxy, the address it appended last."""
        if self.ctx.config.web.trust_proxy:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.rsplit(",", 1)[-1].strip()
        return request.remote or ""

    def set_cookie(
        self, response: web.StreamResponse, request: web.Request, name: str, value: str,
        path: str = "/",
    ) -> None:
        response.set_cookie(
            name, value, max_age=365 * 86400, httponly=True, samesite="Lax",
            secure=self.secure(request), path=path,
        )
