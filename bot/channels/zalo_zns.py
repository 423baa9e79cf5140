"""ZNS (Zalo Notification Service): the outbox's sender for reminders that go by phone
number through the Official Account's approved template (``bot.usecases.zns`` decides
when; ``bot.channels.zalo_oa`` owns the access token this uses).

A ZNS row's chat id names the member ("m12"); the number is read from the database when
the row is sent, so a number removed meanwhile is never used and none is in the outbox.
Its text holds the template data and tracking id built when it was queued. The request
(``zalo_oa_api.ZaloOaApi.send_template``): ``POST business.openapi.zalo.me/message/template``
with the OA's ``access_token``, ``{phone, template_id, template_data, tracking_id}`` and
``mode: "development"`` when ``[zalo_oa.zns] mode`` says so.

**Errors** (``failure_of``), from zalo.cloud/zns/guidelines/handle-error-code:

* retried: network errors and timeouts, HTTP 5xx, **-100** ("Unknown error … vui lòng thử
  lại sau"), and any code in ``[zalo_oa.zns] retry_codes`` (for what a live account shows
  to be passing); an HTTP **429** waits ``retry_after_seconds``, doubling per 429 in a row;
* the access token refused (**-124** ZNS's "Access token invalid", or the OA's -216):
  refreshed once and sent again once (``OaClient.send_template``); refused again, or a dead
  refresh token, pauses ZNS sending like the OA's (rows kept pending, admins told);
* everything else gives up at once: -108 the phone number is invalid, -109 the template id,
  -111 / -112 the template data does not fit the template, and the refusals the page lists
  after them — the person is inactive or refuses ZNS, the OA is out of quota, the template
  is not approved or not the OA's, no Zalo account for the number. Their numbers are not
  in the offline copy of the page (it stops at -112): no number is relied on, each such
  answer gives up with Zalo's own code and words, which the admins then read.

A member with no number any more, or a row that is not a ZNS payload, gives up too. The
number is masked in every error detail (they end up in ``last_error`` and in logs).
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.typed import Buttons
from bot.channels.zalo_oa_api import (
    RATE_LIMITED,
    REFRESH_DEAD,
    ZNS_TOKEN_INVALID,
    ZaloOaApiError,
    ZaloOaError,
)
from bot.usecases.settings import ConfigError, ZaloOaConfig
from bot.usecases.zns import decode_payload, member_of, phone_of
from scheduler.outbox import SendError
from surveys import phones

log = logging.getLogger(__name__)

UNKNOWN_ERROR = -100  # "Unknown error … vui lòng thử lại sau"
RETRIED = frozenset({UNKNOWN_ERROR})
QUOTA_WAIT_CAP = 600.0
# Zalo's codes the admins are told about in their words (the page's own descriptions)
REASONS = {
    -108: "số điện thoại không hợp lệ",
    -109: "mã mẫu ZNS không hợp lệ",
    -111: "mẫu ZNS không có dữ liệu",
    -112: "dữ liệu không khớp mẫu ZNS (kiểm tra [zalo_oa.zns.params])",
}


class TemplateClient(Protocol):
    async def send_template(
        self,
        phone: str,
        template_id: str,
        template_data: dict[str, str],
        tracking_id: str,
        development: bool,
    ) -> str: ...


def failure_of(
    exc: ZaloOaError, retry_codes: frozenset[int], retry_after: float, paused_for: float
) -> SendError:
    """What the outbox does about a failed ZNS send (see the module docstring)."""
    if not isinstance(exc, ZaloOaApiError):
        return SendError("transient", f"ZNS {exc}")
    reason = REASONS.get(exc.code)
    detail = f"ZNS {exc.code} {reason or exc.message}".strip()
    if exc.code == RATE_LIMITED:
        return SendError("retry_after", detail, retry_after)
    if exc.code in ZNS_TOKEN_INVALID or exc.code in REFRESH_DEAD:
        return SendError("paused", detail, paused_for)
    if exc.code in RETRIED or exc.code in retry_codes or exc.status >= 500:
        return SendError("transient", detail)
    return SendError("permanent", detail)


class ZnsSender:
    """The outbox's way to send a ZNS row (its chat id "m<member>", its text the payload)."""

    def __init__(
        self,
        client: TemplateClient,
        config: ZaloOaConfig,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.client = client
        self.config = config
        self.zns = config.zns
        self.sessions = sessions
        self.quota_streak = 0
        self.sent = 0  # ZNS messages Zalo accepted, since start

    async def send(self, chat_id: str, text: str, buttons: Buttons) -> None:
        member_id = member_of(chat_id)
        try:
            tracking, data = decode_payload(text)
        except ValueError:
            raise SendError("permanent", "not a ZNS payload") from None
        if member_id is None or self.zns.template_id is None:
            raise SendError("permanent", "not a ZNS row")
        phone = await phone_of(self.sessions, member_id)
        if not phone:
            raise SendError("permanent", "ZNS: no phone number (removed with /sodienthoai xoa)")
        try:
            await self.client.send_template(
                phone,
                self.zns.template_id,
                data,
                tracking,
                self.zns.mode == "development",
            )
        except ZaloOaError as exc:
            wait = self.config.retry_after_seconds
            if isinstance(exc, ZaloOaApiError) and exc.code == RATE_LIMITED:
                self.quota_streak += 1
                wait = min(QUOTA_WAIT_CAP, wait * 2.0 ** (self.quota_streak - 1))
            failure = failure_of(
                exc, self.zns.retry_codes, wait, self.config.paused_retry_seconds
            )
            failure.detail = failure.detail.replace(phone, phones.masked(phone))
            raise failure from exc
        except ConfigError as exc:  # no refresh token at all
            raise SendError("paused", str(exc), self.config.paused_retry_seconds) from exc
        self.quota_streak = 0
        self.sent += 1
        log.info(
            "zns: a reminder went by ZNS to %s",
            phones.masked(phone),
            extra={"event": "zns_sent", "member": member_id},
        )
