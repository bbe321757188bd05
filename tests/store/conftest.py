"""The ``store`` fixture of the conformance suite (each test runs on SQLite and
PostgreSQL), and ``open_store`` for the PostgreSQL-only tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from maia.store.base import Store
from maia.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from maia.store.postgres import PostgresStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        db: Store = SQLiteStore(tmp_path / "maia.db")
    else:
        from maia.store.postgres import PostgresStore

        db = PostgresStore(request.getfixturevalue("postgres_url"))
    yield db
    db.close()


@pytest.fixture
def open_store(postgres_url: str) -> Iterator[Callable[..., PostgresStore]]:
    """Opens PostgreSQL stores (nodes) on one fresh schema; closes them all at the end."""
    from maia.store.postgres import PostgresStore

    opened: list[PostgresStore] = []

    def make(**options: object) -> PostgresStore:
        store = PostgresStore(postgres_url, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
