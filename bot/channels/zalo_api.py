"""A small client of the Zalo Bot API (Zalo Bot Platform), on httpx.

``POST {base_url}/bot{token}/{method}`` with a JSON body; every answer is
``{"ok": bool, "result": …, "error_code": int, "description": str}``. What differs from
Telegram's Bot API, and matters here:

* ``getUpdates`` has no offset; the documentation (mirrored in
  XuanNguyenNB/QuanLyThuChi_Bot_Telegram_Zalom ``docs/ZALO_BOT_API.md``, 10/12/2025) shows
  **one** update per call as an object, while a client (nextlevelbuilder/goclaw
  ``internal/channels/zalo/bot/api.go``) also meets a list: both are read. Its ``timeout``
  is a string of seconds, and a poll that timed out answers 408 (as the HTTP status or as
  ``error_code``): that is not an error.
* Polling and a webhook exclude each other (``deleteWebhook`` before polling).
* Texts are at most 2000 characters; ``sendPhoto`` takes a photo **URL**, not an upload.
* The documented error codes (quoted from the platform's error page in goclaw's
  ``internal/channels/zalo/bot/errors.go``) are 400 (bad request), 401 (bad or revoked
  token), 403 (labelled "Internal server error"), 404 (not found), 408 (timeout) and 429
  (quota exceeded, with no time to wait given). None of them says "the person blocked the
  bot" (see ``bot.channels.zalo.failure_of``).

The token is part of every URL, so neither URLs nor httpx's exceptions are ever put into
the errors raised here (they end up in logs).
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.usecases.settings import DEFAULT_ZALO_BASE_URL

TEXT_LIMIT = 2000
POLL_TIMED_OUT = 408


class ZaloError(Exception):
    """A call to the Zalo Bot API failed."""


class ZaloNetworkError(ZaloError):
    """No answer: connection refused or reset, or a timeout."""

    def __init__(self, method: str, detail: str, timed_out: bool = False) -> None:
        super().__init__(f"{method}: {detail}")
        self.method = method
        self.timed_out = timed_out  # the request may have arrived: not retried as a reply


class ZaloApiError(ZaloError):
    """Zalo answered ``ok: false`` (or something that is not its JSON)."""

    def __init__(self, method: str, status: int, code: int, description: str) -> None:
        super().__init__(f"{method}: {code} {description}".strip())
        self.method = method
        self.status = status  # the HTTP status
        self.code = code  # error_code when Zalo gave one, else the HTTP status
        self.description = description


class ZaloApi:
    """The Bot API methods the bot uses. ``close()`` when done (or ``async with``)."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_ZALO_BASE_URL,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._base = f"{base_url.rstrip('/')}/bot{token}/"
        self._timeout = timeout
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._own_client = client is None

    async def __aenter__(self) -> ZaloApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def call(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        """``result`` of one method; ZaloApiError or ZaloNetworkError otherwise."""
        try:
            response = await self._client.post(
                self._base + method, json=params, timeout=timeout or self._timeout
            )
        except httpx.TimeoutException:
            raise ZaloNetworkError(method, "timed out", timed_out=True) from None
        except httpx.HTTPError as exc:
            raise ZaloNetworkError(method, type(exc).__name__) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        code = response.status_code
        description = f"HTTP {response.status_code}"
        if isinstance(body, dict):
            given = body.get("error_code")
            if isinstance(given, int) and not isinstance(given, bool) and given > 0:
                code = given
            description = str(body.get("description") or description)
        if code < 400:  # "ok": false with a 2xx status and no error_code
            code = 400
        raise ZaloApiError(method, response.status_code, code, description[:300])

    # ------------------------------------------------------------------ methods

    async def get_me(self) -> dict[str, Any]:
        result = await self.call("getMe", {})
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: int = 30) -> list[dict[str, Any]]:
        """The next updates (none when the long poll of ``timeout`` seconds timed out); the
        result may be one update or a list of them (see the module docstring)."""
        try:
            result = await self.call(
                "getUpdates", {"timeout": str(timeout)}, timeout=timeout + 10.0
            )
        except ZaloApiError as exc:
            if exc.code == POLL_TIMED_OUT or exc.status == POLL_TIMED_OUT:
                return []
            raise
        found = result if isinstance(result, list) else [result]
        return [u for u in found if isinstance(u, dict) and u]

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook", {})

    async def get_webhook_info(self) -> dict[str, Any]:
        result = await self.call("getWebhookInfo", {})
        return result if isinstance(result, dict) else {}

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return result if isinstance(result, dict) else {}

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict[str, Any]:
        params = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            params["caption"] = caption[:TEXT_LIMIT]
        result = await self.call("sendPhoto", params)
        return result if isinstance(result, dict) else {}

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})
