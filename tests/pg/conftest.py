"""Tests that need PostgreSQL (several bot processes on one database).

They run in the PostgreSQL pass of the suite (``CCHC_TEST_DATABASE_URL=postgresql+asyncpg://…
python -m pytest``); the plain SQLite pass leaves this folder out (``tests/conftest.py``).
Run here without a PostgreSQL URL, they refuse loudly instead of passing without testing."""

from __future__ import annotations

import pytest

from tests.support.harness import TEST_DATABASE_ENV, postgres_test_url

if postgres_test_url() is None:
    raise pytest.UsageError(
        f"tests/pg need PostgreSQL: set {TEST_DATABASE_ENV}="
        "postgresql+asyncpg://USER:PASSWORD@127.0.0.1:5432/DATABASE (see the README: Run the tests)"
    )
