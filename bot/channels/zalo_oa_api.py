"""A small client of the Zalo Official Account APIs the bot uses, on httpx.

Checked against documentation and open-source clients only, never a live OA (see the
README's "Zalo"); where they disagree the code says so.

* **OAuth v4 refresh** — ``POST {oauth_url}/oa/access_token``, form ``app_id``,
  ``grant_type=refresh_token``, ``refresh_token``, the app's secret in the header
  ``secret_key`` (chatwoot/chatwoot ``app/models/channel/zalo_oa.rb``, nextlevelbuilder/goclaw
  ``internal/channels/zalo/oa/auth.go``). The answer carries ``access_token``,
  ``refresh_token`` and ``expires_in``, a string of seconds in practice ("90000", i.e. 25 h,
  in the hexasync.vn guide; beehexa.com says an hour): it is read, never assumed. The
  refresh token is single use: every refresh rotates it.
* **Consultation message** — ``POST {api_url}/v3.0/oa/message/cs``, JSON
  ``{"recipient": {"user_id"}, "message": {"text", "quote_message_id"?}}``, the access token
  in the header ``access_token``; answer ``{"error": 0, "message", "data": {"message_id"}}``
  (chatwoot ``zalo_oa.rb``; goclaw ``oa/send.go``, which quotes with ``quote_message_id``).
* **Image message** — the same endpoint, ``"message": {"text"?: caption, "attachment":
  {"type": "template", "payload": {"template_type": "media", "elements": [{"media_type":
  "image", "url"}]}}}``: the consultation message "đính kèm ảnh" as oneflow-vn/n8n-nodes-zalo
  (``nodes/zaloGroups/resources/default/gui-tin-tu-van-dinh-kem-anh/``, ``POST
  /v3.0/oa/message/cs``, ``template_type = media``, ``media_type = image``, ``url``) and the
  eSMS gateway's pass-through payload (devesms/gitbook_esms_for_develop_v2
  ``esms-api/ham-gui-tin/tin-zalo-tu-van-1.md``, with ``text`` beside the attachment)
  describe it; an image by URL needs no upload. Whether ``quote_message_id`` may sit beside
  an attachment is not documented there: it is sent as for a text (a refusal falls back to
  the link as text, ``bot.channels.zalo_oa``).
* **Errors** come as ``{"error": <non-zero>, "message"}``, with HTTP 200 or not: -216 the
  access token is invalid or expired (goclaw ``oa/errors.go`` treats 216, -216, 401, -401
  alike), -230 the person has not interacted with the OA for 7 days (subiz.com "xử lý lỗi
  Zalo OA"; khoicodedao/Poto_platform ``docs/FIX_ERROR_230.md``), -118 / -14014 the refresh
  token is dead (goclaw). HTTP 429 is a rate limit.

* **ZNS** — ``POST {zns_url}/message/template`` (``business.openapi.zalo.me``), the OA's
  access token in the header ``access_token``, JSON ``{"phone": "84…", "template_id",
  "template_data": {name: value}, "tracking_id", "mode"?: "development"}`` (docs.infinix.vn
  "gửi ZNS"; @warriorteam/redai-zalo-sdk ``dist/services/zns.service.js``, endpoint
  ``sendTemplate``; nhminhhh/zalo-mcp ``zalo_zns_send_message``: phone "84912345678",
  ``mode`` "development" to test without charge, only to the OA's admins); answer
  ``{"error": 0, "message", "data": {"msg_id", "sent_time", "quota"?}}``, errors as below
  with ZNS's own codes (zalo.cloud/zns/guidelines/handle-error-code: -100 unknown error,
  "thử lại sau"; -101…-105 the app; -108 the phone number; -109 the template id; -111 / -112
  the template data; -124 the access token, as goclaw and the SDK above treat it).

Tokens are never put into the errors raised here (they end up in logs), nor phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.usecases.settings import (
    DEFAULT_ZALO_OA_API_URL,
    DEFAULT_ZALO_OA_OAUTH_URL,
    DEFAULT_ZNS_URL,
)

SEND_PATH = "/v3.0/oa/message/cs"
TOKEN_PATH = "/oa/access_token"
ZNS_PATH = "/message/template"
TOKEN_INVALID = frozenset({-216, 216, -401, 401})
ZNS_TOKEN_INVALID = TOKEN_INVALID | {-124}  # ZNS's "Access token invalid"
NOT_INTERACTED = -230  # no interaction with the OA in the last 7 days
REFRESH_DEAD = frozenset({-118, -14014})
RATE_LIMITED = 429
TEXT_LIMIT = 2000


class ZaloOaError(Exception):
    """A call to the OA APIs failed."""


class ZaloOaNetworkError(ZaloOaError):
    def __init__(self, what: str, detail: str, timed_out: bool = False) -> None:
        super().__init__(f"{what}: {detail}")
        self.timed_out = timed_out


class ZaloOaApiError(ZaloOaError):
    """Zalo answered an error: ``code`` is its ``error`` (or 429, or the HTTP status)."""

    def __init__(self, what: str, status: int, code: int, message: str) -> None:
        super().__init__(f"{what}: {code} {message}".strip())
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: float  # seconds, as Zalo said


def seconds(value: object) -> float:
    """``expires_in`` as a number, whether Zalo sent ``"90000"`` or ``90000``."""
    if isinstance(value, bool):
        raise ValueError("expires_in is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip().isdigit():
        return float(value.strip())
    raise ValueError("expires_in is not a number")


class ZaloOaApi:
    """The OAuth refresh and the consultation message. ``close()`` when done."""

    def __init__(
        self,
        oauth_url: str = DEFAULT_ZALO_OA_OAUTH_URL,
        api_url: str = DEFAULT_ZALO_OA_API_URL,
        *,
        timeout: float = 10.0,
        zns_url: str = DEFAULT_ZNS_URL,
    ) -> None:
        self.oauth_url = oauth_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.zns_url = zns_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def _answer(self, what: str, request: Any) -> dict[str, Any]:
        try:
            response = await request
        except httpx.TimeoutException:
            raise ZaloOaNetworkError(what, "timed out", timed_out=True) from None
        except httpx.HTTPError as exc:
            raise ZaloOaNetworkError(what, type(exc).__name__) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == RATE_LIMITED:
            raise ZaloOaApiError(what, 429, RATE_LIMITED, "rate limited")
        if isinstance(body, dict):
            code = body.get("error")
            if isinstance(code, int) and not isinstance(code, bool) and code != 0:
                message = str(body.get("message") or body.get("error_description") or "")
                raise ZaloOaApiError(what, response.status_code, code, message[:300])
            if response.status_code < 400:
                return body
        raise ZaloOaApiError(
            what, response.status_code, response.status_code, f"HTTP {response.status_code}"
        )

    async def refresh(self, app_id: str, app_secret: str, refresh_token: str) -> Tokens:
        """A new access token and the next refresh token (the old one is spent)."""
        body = await self._answer(
            "refresh",
            self._client.post(
                self.oauth_url + TOKEN_PATH,
                data={
                    "app_id": app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                headers={"secret_key": app_secret},
            ),
        )
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str):
            raise ZaloOaApiError("refresh", 200, 0, "no token in the answer")
        try:
            expires = seconds(body.get("expires_in"))
        except ValueError:
            raise ZaloOaApiError("refresh", 200, 0, "expires_in is not a number") from None
        return Tokens(access, refresh or refresh_token, expires)

    async def send_text(
        self, access_token: str, user_id: str, text: str, quote: str | None = None
    ) -> str:
        """Send one consultation text; the message id Zalo gave it."""
        message: dict[str, Any] = {"text": text}
        if quote:
            message["quote_message_id"] = quote
        return await self._send(access_token, user_id, message)

    async def send_image(
        self, access_token: str, user_id: str, url: str, caption: str = "",
        quote: str | None = None,
    ) -> str:
        """Send one consultation message with the image at ``url`` (a public address Zalo
        fetches) and ``caption`` as its text; the message id Zalo gave it."""
        message: dict[str, Any] = {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": url}],
                },
            }
        }
        if caption:
            message["text"] = caption[:TEXT_LIMIT]
        if quote:
            message["quote_message_id"] = quote
        return await self._send(access_token, user_id, message)

    async def _send(self, access_token: str, user_id: str, message: dict[str, Any]) -> str:
        body = await self._answer(
            "message/cs",
            self._client.post(
                self.api_url + SEND_PATH,
                json={"recipient": {"user_id": user_id}, "message": message},
                headers={"access_token": access_token},
            ),
        )
        data = body.get("data")
        return str(data.get("message_id") or "") if isinstance(data, dict) else ""

    async def send_template(
        self,
        access_token: str,
        phone: str,
        template_id: str,
        template_data: dict[str, str],
        tracking_id: str,
        development: bool = False,
    ) -> str:
        """Send one ZNS template message to ``phone`` ("84…"); the msg_id Zalo gave it."""
        payload: dict[str, Any] = {
            "phone": phone,
            "template_id": template_id,
            "template_data": template_data,
            "tracking_id": tracking_id,
        }
        if development:
            payload["mode"] = "development"
        body = await self._answer(
            "zns",
            self._client.post(
                self.zns_url + ZNS_PATH, json=payload, headers={"access_token": access_token}
            ),
        )
        data = body.get("data")
        return str(data.get("msg_id") or "") if isinstance(data, dict) else ""
