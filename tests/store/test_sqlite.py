"""The SQLite store on real database files: schema, transactions, full text, isolation."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maia.errors import AlreadyExists, Unavailable
from maia.models import Memory, MemoryFilter, MemoryType, Namespace, NamespaceConfig, Page
from maia.store.sqlite import SQLiteStore
from maia.store.sqlite.schema import SCHEMA_VERSION
from maia.store.sqlite.session import fts_query

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def memory(
    content: str,
    *,
    namespace: str = "ns",
    tags: list[str] | None = None,
    kind: MemoryType = MemoryType.SEMANTIC,
    at: datetime = T0,
    confidence: float = 1.0,
) -> Memory:
    return Memory(
        id=str(uuid.uuid4()),
        namespace=namespace,
        content=content,
        type=kind,
        tags=tags or [],
        created_at=at,
        updated_at=at,
        accessed_at=at,
        confidence=confidence,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    db = SQLiteStore(tmp_path / "maia.db")
    yield db
    db.close()


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


def test_failed_write_block_rolls_back(store: SQLiteStore) -> None:
    def failing_write() -> None:
        with store.write() as tx:
            tx.insert_memories("t", [memory("kept only if committed")])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_write()
    with store.read() as tx:
        assert tx.count_memories("t") == 0


def test_full_text_follows_insert_update_delete(store: SQLiteStore) -> None:
    item = memory("The heron fishes at dawn", tags=["birds"])
    with store.write() as tx:
        tx.insert_memories("t", [item])
    with store.read() as tx:
        assert [h.memory.id for h in tx.search_text("t", "heron", MemoryFilter(), 10)] == [item.id]
        assert [h.memory.id for h in tx.search_text("t", "bird", MemoryFilter(), 10)] == [item.id]
    changed = item.model_copy(update={"content": "The owl hunts at night", "tags": ["night"]})
    with store.write() as tx:
        tx.update_memory("t", changed)
    with store.read() as tx:
        assert tx.search_text("t", "heron", MemoryFilter(), 10) == []
        assert tx.search_text("t", "birds", MemoryFilter(tags=("birds",)), 10) == []
        assert len(tx.search_text("t", "owls hunting", MemoryFilter(tags=("night",)), 10)) == 1
    with store.write() as tx:
        assert len(tx.delete_memories("t", [item.id])) == 1
    with store.read() as tx:
        assert tx.search_text("t", "owl", MemoryFilter(), 10) == []


@pytest.mark.parametrize(
    "query", ['"AND OR (', "NEAR(a b)", "a* OR -b", "col:x", "'; DROP TABLE memories; --", "🙂", ""]
)
def test_query_syntax_never_errors(store: SQLiteStore, query: str) -> None:
    with store.write() as tx:
        tx.insert_memories("t", [memory("and or near col x a b drop table")])
    with store.read() as tx:
        tx.search_text("t", query, MemoryFilter(), 10)


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('say "hi" OR bye') == '"say" OR "hi" OR "or" OR "bye"'
    assert fts_query("🙂 !!") is None
    assert fts_query("東京 に 行く") == '"東京" OR "に" OR "行く"'


def test_tenants_never_see_each_other(store: SQLiteStore) -> None:
    mine, theirs = memory("shared words here"), memory("shared words here")
    with store.write() as tx:
        tx.insert_memories("a", [mine])
        tx.insert_memories("b", [theirs])
        tx.insert_namespace("a", _namespace("ns"))
        tx.insert_namespace("b", _namespace("ns"))  # same name, other tenant: allowed
    with store.read() as tx:
        assert tx.get_memory("a", theirs.id) is None
        assert [m.id for m in tx.list_memories("a", MemoryFilter(), Page())] == [mine.id]
        assert [h.memory.id for h in tx.search_text("a", "shared", MemoryFilter(), 10)] == [mine.id]
        assert tx.count_memories("a") == 1
        assert tx.count_namespaces("a") == 1
    with store.write() as tx:
        assert tx.delete_memories("a", [theirs.id]) == []
        assert tx.touch_memories("a", [theirs.id], T0) == 0


def _namespace(name: str, parent: str | None = None) -> Namespace:
    return Namespace(id=str(uuid.uuid4()), name=name, parent=parent, created_at=T0, updated_at=T0)


def test_namespace_names_are_unique_per_tenant(store: SQLiteStore) -> None:
    with store.write() as tx:
        tx.insert_namespace("t", _namespace("dup"))
    with pytest.raises(AlreadyExists, match="namespace already exists: dup"), store.write() as tx:
        tx.insert_namespace("t", _namespace("dup"))


def test_filters(store: SQLiteStore) -> None:
    a = memory("one", namespace="acme", tags=["x", "y"], at=T0)
    b = memory(
        "two", namespace="acme/team", tags=["x"], kind=MemoryType.WORKING, at=T0 + timedelta(1)
    )
    c = memory("three", namespace="acme_other", tags=["y"], confidence=0.2, at=T0 + timedelta(2))
    with store.write() as tx:
        tx.insert_memories("t", [a, b, c])

    def ids(**kwargs: object) -> list[str]:
        with store.read() as tx:
            return [m.id for m in tx.list_memories("t", MemoryFilter(**kwargs), Page())]  # type: ignore[arg-type]

    assert ids(namespace="acme") == [a.id]
    assert ids(namespace="acme", include_descendants=True) == [a.id, b.id]
    assert ids(namespace="acme_", include_descendants=True) == []  # "_" is not a wildcard
    assert ids(tags=("x", "y")) == [a.id]
    assert ids(tags=("x",)) == [a.id, b.id]
    assert ids(types=(MemoryType.WORKING, MemoryType.EPISODIC)) == [b.id]
    assert ids(min_confidence=0.5) == [a.id, b.id]
    assert ids(created_after=T0 + timedelta(1)) == [b.id, c.id]
    assert ids(created_before=T0 + timedelta(1)) == [a.id]


def test_children_explicit_parent_and_hierarchical_names(store: SQLiteStore) -> None:
    with store.write() as tx:
        for ns in (
            _namespace("acme"),
            _namespace("acme/team"),
            _namespace("acme/team/alice"),
            _namespace("acmeish"),
            _namespace("elsewhere", parent="acme"),
            _namespace("acme/adopted", parent="other"),
        ):
            tx.insert_namespace("t", ns)
    with store.read() as tx:
        names = [n.name for n in tx.namespace_children("t", "acme")]
    assert names == ["acme/team", "elsewhere"]


def test_touch_counts_accesses(store: SQLiteStore) -> None:
    item = memory("touch me")
    later = T0 + timedelta(hours=1)
    with store.write() as tx:
        tx.insert_memories("t", [item])
        assert tx.touch_memories("t", [item.id, item.id, "missing"], later) == 1
    with store.read() as tx:
        stored = tx.get_memory("t", item.id)
    assert stored is not None
    assert stored.access_count == 1
    assert stored.accessed_at == later


def test_retention_deletes_only_older_memories_of_the_namespace(store: SQLiteStore) -> None:
    old, new, other = (
        memory("old", at=T0),
        memory("new", at=T0 + timedelta(10)),
        memory("other ns", namespace="x", at=T0),
    )
    with store.write() as tx:
        tx.insert_memories("t", [old, new, other])
        assert len(tx.delete_memories_before("t", "ns", T0 + timedelta(5))) == 1
    with store.read() as tx:
        assert [m.id for m in tx.get_memories("t", [old.id, new.id, other.id])] == [
            new.id,
            other.id,
        ]


def test_namespace_config_round_trips(store: SQLiteStore) -> None:
    ns = _namespace("cfg").model_copy(
        update={"config": NamespaceConfig(token_budget=5, allowed_types=["working"])}
    )
    with store.write() as tx:
        tx.insert_namespace("t", ns)
    with store.read() as tx:
        assert tx.get_namespace("t", "cfg") == ns
        assert tx.get_namespace("t", ns.id) == ns


def test_readers_in_other_threads_see_commits(store: SQLiteStore) -> None:
    item = memory("cross-thread")
    with store.write() as tx:
        tx.insert_memories("t", [item])
    seen: list[Memory | None] = []

    def read() -> None:
        with store.read() as tx:
            seen.append(tx.get_memory("t", item.id))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [item]


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "maia.db")
    assert store.size_bytes() > 0
    store.close()
    store.close()  # idempotent
    with pytest.raises(Unavailable), store.write():
        pass


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
