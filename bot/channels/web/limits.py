"""The generous per-address request limit of the web channel.

Many citizens share one address (an office's Wi-Fi, a mobile carrier's NAT), so the limit
is per minute and high (``[web] requests_per_minute``, 300 by default: one survey takes
about ten requests). It only stops a flood from one address; the per-person limits (20
survey starts an hour, one counted answer per point per day) are the survey's own, in the
database. Addresses are kept in memory only, as a keyed hash, for the current minute.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime


class AddressLimiter:
    """At most ``per_minute`` requests per address in each clock minute."""

    def __init__(self, per_minute: int, secret: bytes, clock: Callable[[], datetime]) -> None:
        self.per_minute, self.secret, self.clock = per_minute, secret, clock
        self.minute: int | None = None  # minutes since the epoch
        self.counts: dict[bytes, int] = {}

    def allow(self, address: str) -> bool:
        minute = int(self.clock().timestamp()) // 60
        if minute != self.minute:
            self.minute, self.counts = minute, {}
        key = hmac.digest(self.secret, address.encode(), "sha256")[:12]
        seen = self.counts.get(key, 0) + 1
        self.counts[key] = seen
        return seen <= self.per_minute

    def seconds_left(self) -> int:
        """Seconds until the next minute (the Retry-After of a refused request)."""
        return 60 - self.clock().second
