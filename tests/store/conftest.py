"""The ``store`` fixture of the conformance suite: each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maia.store.base import Store
from maia.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        db: Store = SQLiteStore(tmp_path / "maia.db")
    else:
        from maia.store.postgres import PostgresStore

        db = PostgresStore(request.getfixturevalue("postgres_url"))
    yield db
    db.close()
