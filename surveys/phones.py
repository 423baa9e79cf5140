"""Vietnamese mobile numbers, as a unit head types them and as ZNS wants them. Pure.

A unit head gives the bot their work mobile (``/sodienthoai 0912 345 678``) so that a
reminder the Zalo OA cannot deliver goes by ZNS instead. ZNS takes the number in the
international form without "+", ``84`` followed by the 9-digit subscriber number
(zalo.cloud/zns/guidelines/handle-error-code, error -108 "Phone number invalid": the
accepted forms are 84xxxx, 0xxxx and xxxx; the "gửi ZNS" guides on docs.infinix.vn and the
public clients, e.g. nhminhhh/zalo-mcp's ``zalo_zns_send_message``: "84912345678").

What is accepted: ``0`` + 9 digits, ``84`` / ``+84`` / ``(+84)`` + 9 digits, with spaces,
dots or dashes anywhere between the digits. The subscriber number must begin with a mobile
prefix: since the change from 11 to 10 digits (Bộ Thông tin và Truyền thông, 2018) every
Vietnamese mobile number is ``0`` + 9 digits beginning with 3, 5, 7, 8 or 9; a landline
(``02x``) cannot receive Zalo by number and is refused, as is anything else.

The number is an official's work contact, but still personal data: it is shown back masked
(``091****678``) and logged masked (``bot.app.logs``); only the sender of ZNS reads it whole.
"""

from __future__ import annotations

import re

# The mobile prefixes after 2018 (the first two digits of the 9-digit subscriber number):
# 32-39 (Viettel), 52 (Vietnamobile, Itel), 55 (Reddi), 56 / 58 (Vietnamobile),
# 59 (Gmobile), 70 / 76-79 (MobiFone), 81-89 (VinaPhone, Viettel, MobiFone, Itel),
# 90-99 (the original 09x blocks).
MOBILE_PREFIXES = frozenset(
    {*range(32, 40), 52, 55, 56, 58, 59, 70, *range(76, 80), *range(81, 90), *range(90, 100)}
)
_SEPARATORS = re.compile(r"[\s.\-()]+")


class PhoneError(ValueError):
    """Not a Vietnamese mobile number; ``str()`` says why, in Vietnamese."""


def normalise(typed: str) -> str:
    """``typed`` as ZNS wants it, "84" + 9 digits; ``PhoneError`` when it is not a
    Vietnamese mobile number."""
    raw = _SEPARATORS.sub("", typed.strip())
    if raw.startswith("+"):
        raw = raw[1:]
        if not raw.startswith("84"):
            raise PhoneError("chỉ nhận số di động Việt Nam (+84)")
    if not raw.isdigit() or not raw.isascii():
        raise PhoneError("số điện thoại chỉ gồm chữ số (có thể có dấu cách, dấu chấm)")
    if raw.startswith("84") and len(raw) == 11:
        subscriber = raw[2:]
    elif raw.startswith("0") and len(raw) == 10:
        subscriber = raw[1:]
    else:
        raise PhoneError("số di động gồm 10 chữ số, bắt đầu bằng 0 (hoặc 84 và 9 chữ số)")
    if int(subscriber[:2]) not in MOBILE_PREFIXES:
        raise PhoneError("đầu số này không phải số di động Việt Nam")
    return "84" + subscriber


def national(phone: str) -> str:
    """"84912345678" as Vietnamese people write it: "0912345678"."""
    return "0" + phone[2:] if phone.startswith("84") else phone


def masked(phone: str) -> str:
    """The number with its middle hidden, as the bot shows and logs it: "091****678"."""
    local = national(phone)
    if len(local) < 7:
        return "*" * len(local)
    return local[:3] + "*" * (len(local) - 6) + local[-3:]
