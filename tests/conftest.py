from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.harness import Bot, FakeClock, new_test, running_bot


@pytest.fixture(autouse=True)
def _fresh_database() -> None:
    """Every test starts on an empty database (see ``tests.harness.database_url``)."""
    new_test()


@pytest.fixture
def clock() -> FakeClock:
    # Friday 20/11/2026, 09:00 in Long Phú: inside Q4/2026 (15/09–14/12, due before 15/12).
    return FakeClock(datetime(2026, 11, 20, 9, 0))


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, clock) as running:
        yield running
