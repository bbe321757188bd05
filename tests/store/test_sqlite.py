"""What only the SQLite store has: the schema file, WAL, FTS5 queries, reader threads.

Everything the Store protocol promises is checked on every store by the conformance
suite (``test_conformance*.py``).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from maia import Maia
from maia.errors import Unavailable
from maia.store.sqlite import SQLiteStore
from maia.store.sqlite import store as store_module
from maia.store.sqlite.schema import SCHEMA_VERSION
from maia.store.sqlite.session import fts_query
from maia.store.sqlite.store import DATABASE_FILE
from tests.store.upgrades import check_relation_metadata_counted_once_upgraded


def test_fresh_database_is_migrated_once(tmp_path: Path) -> None:
    path = tmp_path / "maia.db"
    SQLiteStore(path).close()
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert journal == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "maia.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(Unavailable, match="newer than this MAIA"):
        SQLiteStore(path)


def test_an_upgraded_database_counts_its_relations_metadata(tmp_path: Path) -> None:
    """Version 6 counts relation metadata in the storage usage."""
    path = tmp_path / "maia.db"

    def downgrade(counted: int) -> None:  # as version 5 left it
        with sqlite3.connect(path) as conn:
            for name in ("insert", "delete", "update"):
                conn.execute(f"DROP TRIGGER tenant_usage_relation_{name}")
            conn.execute(
                "UPDATE tenant_usage SET storage_bytes = ? WHERE tenant_id = 't'", (counted,)
            )
            conn.execute("DELETE FROM schema_version WHERE version = 6")

    check_relation_metadata_counted_once_upgraded(lambda: SQLiteStore(path), downgrade)


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('say "hi" OR bye') == '"say" OR "hi" OR "or" OR "bye"'
    assert fts_query("🙂 !!") is None
    assert fts_query("東京 に 行く") == '"東京" OR "に" OR "行く"'


def test_size_is_the_files_on_disk(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "maia.db")
    try:
        files = [tmp_path / name for name in ("maia.db", "maia.db-wal", "maia.db-shm")]
        assert store.size_bytes() == sum(f.stat().st_size for f in files if f.exists())
        assert store.location == str(tmp_path / "maia.db")
    finally:
        store.close()


def test_readers_of_finished_threads_are_closed(tmp_path: Path) -> None:
    store = SQLiteStore.in_dir(tmp_path)

    def read_once() -> None:
        with store.read() as tx:
            tx.count_memories("system")

    for _ in range(20):
        thread = threading.Thread(target=read_once)
        thread.start()
        thread.join()
    read_once()  # a new reader prunes the connections of ended threads
    assert len(store._readers) <= 2
    store.close()


def test_a_database_locked_by_another_process_is_unavailable_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes wait for another process's lock, then fail as ``Unavailable`` (a 503); a
    read that counts its access still answers, and the access is counted later."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)
    with Maia.open(tmp_path / "data", embedding_provider="hashing") as maia:
        memory = maia.remember("Alice drinks green tea", namespace="locked")
        other = sqlite3.connect(tmp_path / "data" / DATABASE_FILE, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(Unavailable, match="the database is busy"):
                maia.remember("Bob drinks coffee", namespace="locked")
            read = maia.get_memory(memory.id, count_access=True)
            assert read.access_count == 0
        finally:
            other.execute("ROLLBACK")
            other.close()
        maia._access.flush()
        assert maia.get_memory(memory.id).access_count == 1
        assert maia.count_memories("locked") == 1


def test_a_data_directory_that_cannot_be_created_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(Unavailable, match="cannot create the data directory"):
        SQLiteStore(tmp_path / "a-file" / "data" / DATABASE_FILE)
