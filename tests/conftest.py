from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.harness import Bot, FakeClock, new_test, postgres_test_url, running_bot

PG_ONLY = Path(__file__).parent / "pg"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/pg need PostgreSQL: the SQLite pass leaves them out unless they are named on the
    command line (tests/pg/conftest.py then says what is missing)."""
    if collection_path != PG_ONLY or postgres_test_url() is not None:
        return None
    base = config.invocation_params.dir
    named = [(base / arg.split("::")[0]).resolve() for arg in config.args]
    return not any(path == PG_ONLY or PG_ONLY in path.parents for path in named)


@pytest.fixture(autouse=True)
def _fresh_database() -> None:
    """Every test starts on an empty database (see ``tests.support.harness.database_url``)."""
    new_test()


@pytest.fixture
def clock() -> FakeClock:
    # Friday 20/11/2026, 09:00 in Long Phú: inside Q4/2026 (15/09–14/12, due before 15/12).
    return FakeClock(datetime(2026, 11, 20, 9, 0))


@pytest.fixture
async def bot(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, clock) as running:
        yield running
