"""What every use case needs: configuration, data catalogue, database sessions, a clock."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases.settings import Config
from surveys.catalogue import Catalogue

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    config: Config
    catalogue: Catalogue
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = system_clock
    # channel -> admin user ids on that channel (Telegram's come from [access] admins)
    admins: dict[str, frozenset[str]] = field(default_factory=dict)
    bot_username: str = "cchc_bot"
    # called after each handled message, so the outbox dispatcher looks at the queue at once
    notify_outbox: Callable[[], None] = lambda: None

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the clock must return tz-aware datetimes")
        return moment.astimezone(UTC)

    def today(self) -> date:
        """Today's date in the configured time zone (Asia/Ho_Chi_Minh by default)."""
        return self.now().astimezone(self.config.timezone).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.config.timezone)

    def is_admin(self, channel: str, user_id: str) -> bool:
        return user_id in self.admins.get(channel, frozenset())

    def admin_accounts(self) -> list[tuple[str, str]]:
        """(channel, user id) of every admin to notify: Telegram's, and Zalo's (Bot, OA) when
        those channels are on (admin groups come from the database: ``repo.admin_chats``)."""
        channels = [
            "telegram",
            *(["zalo"] if self.config.zalo.enabled else []),
            *(["zalo_oa"] if self.config.zalo_oa.enabled else []),
        ]
        return [(c, user) for c in channels for user in sorted(self.admins.get(c, ()))]

    def deep_link(self, payload: str) -> str:
        return f"https://t.me/{self.bot_username}?start={payload}"


def new_token(nbytes: int = 6) -> str:
    """A random URL-safe token (``nbytes`` bytes of randomness)."""
    return secrets.token_urlsafe(nbytes)
