"""Sending: what a channel's sender is, how it says a send failed, and one attempt.

A channel (Telegram, Zalo, the console) hands the dispatcher a ``Sender``; it raises
``SendError`` with the kind of failure, which ``scheduler.outbox.failures`` turns into a
retry, a give-up or an unreachable member: ``retry_after`` (429), ``transient`` (5xx,
timeouts), ``blocked`` (the person blocked the bot), ``permanent`` (400), ``paused`` (the
platform refused the bot's key: the channel waits, rows stay pending) and ``undeliverable``
(the platform will not carry this message to this person now: Zalo OA's -230).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from db.models import OutboxMessage
from scheduler.outbox.pacing import RateLimiter
from surveys.messages import Button

log = logging.getLogger("scheduler.outbox")  # one logger for the whole outbox

Failure = Literal[
    "retry_after", "transient", "blocked", "permanent", "paused", "undeliverable"
]


class SendError(Exception):
    """A platform refused or failed a send; ``kind`` says what to do about it."""

    def __init__(self, kind: Failure, detail: str, retry_after: float = 0.0) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


class Sender(Protocol):
    async def send(
        self, chat_id: str, text: str, buttons: tuple[tuple[Button, ...], ...]
    ) -> None: ...


def buttons_of(raw: Sequence[Any] | None) -> tuple[tuple[Button, ...], ...]:
    if not raw:
        return ()
    return tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in raw)


async def attempt(sender: Sender, limiter: RateLimiter, row: OutboxMessage) -> SendError | None:
    """Send one row through its channel within the pace; the platform's refusal, if any."""
    await limiter.acquire()
    try:
        await sender.send(row.chat_id, row.text, buttons_of(row.buttons))
    except SendError as exc:
        if exc.kind in ("retry_after", "paused"):
            limiter.pause(exc.retry_after)  # this channel's pace only (Zalo has its own)
        return exc
    except Exception as exc:  # an adapter bug must not stop the queue
        log.exception(
            "outbox id=%s: unexpected error from the %s sender",
            row.id,
            row.channel,
            extra={"event": "sender_error", "outbox": row.id, "channel": row.channel},
        )
        return SendError("transient", repr(exc))
    finally:
        limiter.release()
    return None
