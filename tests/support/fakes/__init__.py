"""Test doubles for the platforms the bot talks to."""

from tests.support.fakes.telegram_api import (
    FakeTelegram,
    SentMessage,
    TelegramApiError,
    UploadedFile,
)

__all__ = ["FakeTelegram", "SentMessage", "TelegramApiError", "UploadedFile"]
