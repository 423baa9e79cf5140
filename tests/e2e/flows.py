"""Reusable conversation steps for end-to-end tests."""

from __future__ import annotations

from bot.usecases.registration import create_invitation
from tests.support.fakes.telegram_api import SentMessage
from tests.support.harness import Bot


async def invite_payload(bot: Bot, unit_code: str) -> str:
    ctx = bot.runtime.ctx
    async with ctx.sessions.begin() as session:
        return await create_invitation(ctx, session, unit_code)


async def register(bot: Bot, user_id: int, unit_code: str) -> list[SentMessage]:
    payload = await invite_payload(bot, unit_code)
    replies = await bot.say(user_id, f"/start {payload}")
    assert "Đăng ký thành công" in replies[-1].body
    return replies


def answer_for(question: str, ratio: tuple[int, int] = (150, 200)) -> str:
    """A valid answer to a report question, read from how the question asks."""
    if "không lớn hơn" in question:
        return str(ratio[0])
    if "ví dụ 150" in question:
        return str(ratio[1])
    if "phần trăm" in question:
        return "90"
    return "5"


async def answer_until_summary(bot: Bot, user_id: int, last: SentMessage) -> SentMessage:
    """Answer every question until the summary (the message with a "Gửi" button)."""
    for _ in range(200):
        if any("Gửi" in label for label, _ in last.buttons()):
            return last
        replies = await bot.say(user_id, answer_for(last.text or ""))
        assert replies, "the bot did not answer"
        last = replies[-1]
    raise AssertionError("no summary after 200 answers")
