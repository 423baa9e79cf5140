"""Structured logs: one line per event, ``key=value`` pairs (logfmt), for grep and for log
collectors alike::

    ts=2026-11-20T02:00:00.123Z level=WARNING logger=scheduler.outbox event=send_failed
    outbox=12 round=3 unit=PNV step=-7 attempt=2 status=pending msg="…"

(one line in the file). ``ts`` is UTC; ``event`` names what happened (``"message"`` when a
caller, say a library, gave none); every other field comes from ``extra``::

    log.warning("…", extra={"event": "send_failed", "outbox": row.id, "round": row.round_id})

Values with spaces, quotes, ``=`` or control characters are JSON-quoted, so a message or a
traceback never breaks the line. Rules for callers: say which round, unit and outbox row,
never a person's platform id (a citizen's least of all); a failure that repeats is logged
once per attempt or once per streak (``scheduler.jobs.FailureLog``), never in a loop. A
Telegram bot token that slips into a line (a URL in an exception) is masked, and so is a
desk login link's token or a published file's, and a Vietnamese mobile number (a unit head's
``/sodienthoai``, ZNS's ``phone``), typed with or without spaces, dots or dashes: "091****678".
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# The attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,16}:[A-Za-z0-9_-]{30,}")
# a desk login link (``/web``) or a file published for Zalo (``/tep/``), should a library
# log the message that carries it (PTB does at DEBUG, with ``cchc-bot run -v``)
_LOGIN = re.compile(r"/(dang-nhap|tep)/[A-Za-z0-9_-]{8,}")
# a Vietnamese mobile number (surveys.phones), not inside a longer run of digits
_PHONE = re.compile(r"(?<![0-9])(?:\+?84|0)[ .-]?[35789](?:[ .-]?[0-9]){8}(?![0-9])")
_BARE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f]+")
DEFAULT_EVENT = "message"


def _masked_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9]", "", match.group())
    local = "0" + digits[2:] if digits.startswith("84") else digits
    return local[:3] + "****" + local[-3:]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "" if value is None else str(value)
    text = _LOGIN.sub(r"/\1/<token>", _TOKEN.sub("<token>", text))
    text = _PHONE.sub(_masked_phone, text)
    if _BARE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller passed in ``extra`` (``event`` among them, when given)."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD and not key.startswith("_")
    }


class LogfmtFormatter(logging.Formatter):
    """``ts= level= logger= event= <extra fields> msg= [exc=]`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        extra = fields_of(record)
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "ts": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "event": extra.pop("event", DEFAULT_EVENT),
            **extra,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return " ".join(f"{key}={_value(value)}" for key, value in line.items())


def configure(level: int = logging.INFO) -> logging.Handler:
    """Send every log record of ``level`` and above to stderr, one logfmt line each.

    httpx logs each request at INFO with the URL, and the URL holds the bot token: it is
    kept to warnings."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    return handler
