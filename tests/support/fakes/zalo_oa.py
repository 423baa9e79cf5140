"""A fake Zalo Official Account for end-to-end tests: the OAuth v4 token endpoint, the
consultation message API and the webhook that signs and POSTs events to the bot (aiohttp,
on 127.0.0.1).

Built from the documented shapes (no live OA was used; see the README's "Zalo"):

* OAuth v4 refresh — ``POST /v4/oa/access_token``, form ``app_id``, ``grant_type``,
  ``refresh_token``, header ``secret_key`` (chatwoot/chatwoot ``app/models/channel/
  zalo_oa.rb``; nextlevelbuilder/goclaw ``internal/channels/zalo/oa/auth.go``). The answer's
  ``expires_in`` is a string ("90000", hexasync.vn's refresh-token guide). Refresh tokens
  are single use: each refresh spends the one given and returns the next; a spent one gets
  ``{"error": -118}`` (goclaw ``oa/errors.go``: invalid_grant).
* ``POST /v3.0/oa/message/cs`` — header ``access_token``, ``{"recipient": {"user_id"},
  "message": {"text", "quote_message_id"?}}`` → ``{"error": 0, "message": "Success",
  "data": {"message_id", "user_id"}}``; an expired or unknown access token gets
  ``{"error": -216}``; a person who has not interacted for 7 days ``{"error": -230}``
  (subiz.com "xử lý lỗi Zalo OA"; khoicodedao/Poto_platform ``docs/FIX_ERROR_230.md``);
  ``fail_send(429)`` answers HTTP 429. Texts over 2000 characters are refused.
  An image message — ``"message": {"text"?, "attachment": {"type": "template", "payload":
  {"template_type": "media", "elements": [{"media_type": "image", "url"}]}}}`` (the
  consultation message "đính kèm ảnh": oneflow-vn/n8n-nodes-zalo ``gui-tin-tu-van-dinh-
  kem-anh``; devesms/gitbook_esms_for_develop_v2 ``tin-zalo-tu-van-1.md``) — is recorded
  with its ``image`` URL (text optional, at most 2000 characters); one element, an
  http(s) URL, else -201. ``refuse_images`` answers image messages -201.
* Webhook events — ``user_send_text`` (``sender``, ``recipient``, ``message.msg_id``,
  ``message.text``), ``follow`` / ``unfollow`` (``follower``), a string ``timestamp`` in
  milliseconds, and ``X-ZEvent-Signature`` = sha256(app id + body + timestamp + OA secret
  key) (hainh.me "zalo-api-php-webhook-callback-official-account"; goclaw
  ``oa/webhook_signature.go``). ``mac_prefix`` sends it as ``mac=<hex>`` (chatwoot's form).
* ZNS — ``POST /message/template`` (``business.openapi.zalo.me``; docs.infinix.vn "gửi
  ZNS", @warriorteam/redai-zalo-sdk ``zns.service.js`` ``sendTemplate``), header
  ``access_token`` (the OA's), JSON ``{"phone", "template_id", "template_data",
  "tracking_id", "mode"?}``; ``mode`` is absent or ``"development"`` (nhminhhh/zalo-mcp
  ``zalo_zns_send_message``: free tests, OA admins only). Success ``{"error": 0,
  "message": "Success", "data": {"msg_id", "sent_time", "quota": {"dailyQuota",
  "remainingQuota"}}}``. Errors with the codes of zalo.cloud/zns/guidelines/handle-error-code:
  -124 a wrong or expired access token; -108 a phone number not in one of the page's forms
  (84xxxx, 0xxxx, xxxx); -109 a template id that is not one of ``zns_templates`` (the
  approved ones); -111 empty template data, -112 template data whose names are not the
  template's; any other ``mode`` is refused with -106 ("Method unsupported": the page does
  not say what Zalo answers). ``fail_zns(code)`` answers the next sends with a given error
  (HTTP 200, or ``status``), e.g. -100 (unknown error, "thử lại sau") or a refusal;
  ``zns_refusing[phone] = (code, message)`` refuses one number every time (a person who
  turned ZNS off, a number without Zalo). The numbers of the refusals after -112 on that
  page are not in the offline copy; tests use them only as opaque codes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.fakes.base import FakeServer, Signal

JSONDict = dict[str, Any]


@dataclass
class OaSent:
    user_id: str
    text: str
    quote: str | None
    image: str | None = None  # the image's URL, for an image message


@dataclass
class ZnsSent:
    phone: str
    template_id: str
    template_data: dict[str, str]
    tracking_id: str
    mode: str | None


class FakeZaloOa(FakeServer):
    name = "fake Zalo OA"

    def __init__(
        self,
        app_id: str = "4318750412437912345",
        app_secret: str = "APP-SECRET-abc",
        oa_secret_key: str = "OA-SECRET-xyz",
        oa_id: str = "2158465213216546541",
    ) -> None:
        super().__init__()
        self.app_id, self.app_secret = app_id, app_secret
        self.oa_secret_key, self.oa_id = oa_secret_key, oa_id
        self.refresh_token = "rt-0"  # the one valid refresh token
        self.expires_in: object = "90000"
        self.access_token = ""
        self.refreshes = 0
        self.refused_refreshes = 0
        self.sent: list[OaSent] = []
        self.send_attempts = 0
        self.quiet: set[str] = set()  # users who have not interacted for 7 days (-230)
        self.refuse_images = False  # image messages answer -201 (Zalo could not fetch it)
        self.mac_prefix = False
        self.webhook_url = ""  # where the bot's webhook listens
        self.deliveries: list[int] = []  # HTTP status of every event POSTed
        self._faults: list[int] = []
        # ZNS: the approved templates (id → parameter names) and what was sent
        self.zns_templates: dict[str, frozenset[str]] = {}
        self.zns_sent: list[ZnsSent] = []
        self.zns_attempts: list[JSONDict] = []  # every request body, accepted or not
        self.zns_refusing: dict[str, tuple[int, str]] = {}
        self._zns_faults: list[tuple[int, int, str]] = []
        self._ids = itertools.count(1)
        self._sent_signal = Signal()

    def _started(self) -> None:
        super()._started()
        self.oauth_url = f"{self.base_url}/v4"
        self.api_url = self.base_url

    # ------------------------------------------------------------------ faults

    def expire_access(self) -> None:
        """The current access token stops working (it expired early, or was revoked)."""
        self.access_token = "expired"

    def fail_send(self, status: int, times: int = 1) -> None:
        self._faults += [status] * times

    def fail_zns(
        self, code: int, message: str = "error", times: int = 1, status: int = 200
    ) -> None:
        """The next ``times`` ZNS sends answer ``{"error": code}`` (with HTTP ``status``)."""
        self._zns_faults += [(status, code, message)] * times

    # ------------------------------------------------------------------ users act

    def sign(self, body: bytes, timestamp: str) -> str:
        raw = self.app_id.encode() + body + timestamp.encode() + self.oa_secret_key.encode()
        mac = hashlib.sha256(raw).hexdigest()
        return f"mac={mac}" if self.mac_prefix else mac

    async def post_event(self, event: JSONDict, signature: str | None = None) -> int:
        """POST one event to the bot's webhook, signed unless ``signature`` is given."""
        body = json.dumps(event, ensure_ascii=False).encode()
        header = (
            self.sign(body, str(event.get("timestamp", ""))) if signature is None else signature
        )
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(
            self.webhook_url,
            data=body,
            headers={"Content-Type": "application/json", "X-ZEvent-Signature": header},
        ) as response:
            self.deliveries.append(response.status)
            return response.status

    def event(self, name: str, user_id: str, **extra: Any) -> JSONDict:
        return {
            "app_id": self.app_id,
            "oa_id": self.oa_id,
            "user_id_by_app": f"app-{user_id}",
            "event_name": name,
            "timestamp": str(int(time.time() * 1000)),
            **extra,
        }

    def text_event(self, user_id: str, text: str, msg_id: str | None = None) -> JSONDict:
        return self.event(
            "user_send_text",
            user_id,
            sender={"id": user_id},
            recipient={"id": self.oa_id},
            message={"msg_id": msg_id or f"msg{next(self._ids):06d}", "text": text},
        )

    async def user_sends(self, user_id: str, text: str, msg_id: str | None = None) -> int:
        self.quiet.discard(user_id)  # writing to the OA is interacting
        return await self.post_event(self.text_event(user_id, text, msg_id))

    async def follows(self, user_id: str) -> int:
        self.quiet.discard(user_id)
        event = self.event("follow", user_id, follower={"id": user_id}, source="oa_profile")
        return await self.post_event(event)

    # ------------------------------------------------------------------ observing

    def sent_to(self, user_id: str) -> list[OaSent]:
        return [m for m in self.sent if m.user_id == user_id]

    async def wait_for(self, user_id: str, count: int = 1, timeout: float = 15.0) -> list[OaSent]:
        """Wait until ``user_id`` has received ``count`` messages in all; those."""
        deadline = time.monotonic() + timeout
        while len(self.sent_to(user_id)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{user_id} got {len(self.sent_to(user_id))} of {count} messages: "
                    f"{[m.text[:60] for m in self.sent_to(user_id)]}"
                )
            await self._sent_signal.wait(remaining)
        return self.sent_to(user_id)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._inflight += 1
        self._touch()
        try:
            if request.path == "/v4/oa/access_token":
                return await self._refresh(request)
            if request.path == "/v3.0/oa/message/cs":
                return await self._send(request)
            if request.path == "/message/template":
                return await self._zns(request)
            return web.json_response({"error": -1, "message": "not found"}, status=404)
        finally:
            self._inflight -= 1
            self._touch()

    async def _refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (
            request.headers.get("secret_key") != self.app_secret
            or form.get("app_id") != self.app_id
        ):
            return web.json_response({"error": -14002, "message": "Invalid app"})
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") != self.refresh_token
        ):
            self.refused_refreshes += 1
            return web.json_response({"error": -118, "message": "Invalid refresh token"})
        self.refreshes += 1
        self.access_token = f"at-{self.refreshes}"
        self.refresh_token = f"rt-{self.refreshes}"  # the one given is spent
        return web.json_response(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": self.expires_in,
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        self.send_attempts += 1
        if self._faults:
            status = self._faults.pop(0)
            return web.json_response({"error": status, "message": "error"}, status=status)
        token = request.headers.get("access_token", "")
        if not token or token != self.access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        body = await request.json()
        user = str(body.get("recipient", {}).get("user_id") or "")
        message = body.get("message") or {}
        text = message.get("text")
        image = _image_of(message.get("attachment"))
        invalid = web.json_response({"error": -201, "message": "Parameters are invalid"})
        if "attachment" in message:
            if image is None or self.refuse_images:
                return invalid
            text = text if text is not None else ""
            if not isinstance(text, str) or len(text) > 2000:
                return invalid
        elif not isinstance(text, str) or not 1 <= len(text) <= 2000:
            return invalid
        if not user:
            return invalid
        if user in self.quiet:
            return web.json_response(
                {"error": -230, "message": "User has not interacted with the OA in 7 days"}
            )
        self.sent.append(OaSent(user, text, message.get("quote_message_id"), image))
        self._sent_signal.notify()
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {"message_id": f"oa{len(self.sent):06d}", "user_id": user},
            }
        )


    async def _zns(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.zns_attempts.append(body)

        def error(code: int, message: str, status: int = 200) -> web.Response:
            return web.json_response({"error": code, "message": message}, status=status)

        if self._zns_faults:
            status, code, message = self._zns_faults.pop(0)
            return error(code, message, status)
        token = request.headers.get("access_token", "")
        if not token or token != self.access_token:
            return error(-124, "Access token invalid")
        phone = body.get("phone")
        if not isinstance(phone, str) or not re.fullmatch(r"(84|0)?[0-9]{9}", phone):
            return error(-108, "Phone number invalid")
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or template_id not in self.zns_templates:
            return error(-109, "Template ID invalid")
        data = body.get("template_data")
        if not isinstance(data, dict) or not data:
            return error(-111, "Template data empty")
        if set(data) != self.zns_templates[template_id] or not all(
            isinstance(v, str) for v in data.values()
        ):
            return error(-112, "Template data invalid")
        mode = body.get("mode")
        if mode not in (None, "development"):
            return error(-106, "Method unsupported")
        if phone in self.zns_refusing:
            return error(*self.zns_refusing[phone])
        self.zns_sent.append(
            ZnsSent(phone, template_id, data, str(body.get("tracking_id") or ""), mode)
        )
        self._sent_signal.notify()
        left = str(500 - len(self.zns_sent))
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {
                    "msg_id": f"zns{len(self.zns_sent):06d}",
                    "sent_time": str(int(time.time() * 1000)),
                    "quota": {"dailyQuota": "500", "remainingQuota": left},
                },
            }
        )


def _image_of(attachment: object) -> str | None:
    """The image URL of a media template attachment; None when it is not one."""
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        return None
    payload = attachment.get("payload")
    if not isinstance(payload, dict) or payload.get("template_type") != "media":
        return None
    elements = payload.get("elements")
    if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
        return None
    element = elements[0]
    url = element.get("url")
    if element.get("media_type") not in ("image", "gif") or not isinstance(url, str):
        return None
    return url if url.startswith(("https://", "http://")) else None
