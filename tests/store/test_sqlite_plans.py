"""Query plans of the SQLite store: lookups by key or id must use the key, not scan a tenant.

Without table statistics SQLite would rather walk a ``(tenant_id, ...)`` index than look
up a list of keys: correct, but a search over a large tenant then reads every row.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maia.models import Memory, MemoryFilter, MemoryType
from maia.store.sqlite import SQLiteStore
from maia.store.sqlite.session import SQLiteSession

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _memories(n: int) -> list[Memory]:
    return [
        Memory(
            id=str(uuid.uuid4()),
            namespace="ns",
            content=f"memory number {i} about herons",
            type=MemoryType.SEMANTIC,
            created_at=T0 + timedelta(minutes=i),
            updated_at=T0,
            accessed_at=T0,
        )
        for i in range(n)
    ]


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[tuple[SQLiteStore, list[Memory], list[int]]]:
    store = SQLiteStore(tmp_path / "maia.db")
    items = _memories(300)
    with store.write() as tx:
        seqs = tx.insert_memories("t", items)
    yield store, items, seqs
    store.close()


def _plans(conn: sqlite3.Connection, call: Callable[[SQLiteSession], object]) -> list[str]:
    """The query plan of every statement ``call`` runs on ``conn``."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        call(SQLiteSession(conn))
    finally:
        conn.set_trace_callback(None)
    plans: list[str] = []
    for sql in statements:
        # Skipped: trigger bodies ("-- ...") and the full-text index's own statements.
        if sql.split()[0].upper() in ("SELECT", "UPDATE", "DELETE") and "_fts" not in sql:
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            plans.append(" | ".join(row[3] for row in rows))
    return plans


@pytest.mark.parametrize(
    "operation",
    [
        "get_memories",
        "memories_by_seq",
        "rank_rows",
        "neighbors",
        "predecessors",
        "touch_memories",
        "delete_memories",
        "vectors_of",
    ],
)
def test_key_lookups_use_the_key(
    filled: tuple[SQLiteStore, list[Memory], list[int]], operation: str
) -> None:
    store, items, seqs = filled
    ids = [m.id for m in items[:40]]
    flt = MemoryFilter(namespace="ns")
    calls: dict[str, Callable[[SQLiteSession], object]] = {
        "get_memories": lambda s: s.get_memories("t", ids),
        "memories_by_seq": lambda s: s.memories_by_seq("t", seqs[:40], flt),
        "rank_rows": lambda s: s.rank_rows("t", seqs[:40], flt),
        "neighbors": lambda s: s.neighbors("t", seqs[:10], 2),
        "predecessors": lambda s: s.predecessors("t", seqs[:40]),
        "touch_memories": lambda s: s.touch_memories("t", ids, T0),
        "delete_memories": lambda s: s.delete_memories("t", ids),
        "vectors_of": lambda s: s.vectors_of("t", ids),
    }
    conn = sqlite3.connect(store.location, isolation_level=None)
    try:
        conn.execute("BEGIN")
        plans = _plans(conn, calls[operation])
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert plans
    for plan in plans:
        lines = plan.split(" | ")
        memories = [line for line in lines if " m " in f" {line} " or "memories " in line]
        assert memories, plan
        for line in memories:
            # The key (rowid), the id index, or the (tenant, namespace, created_at) range
            # of a neighbour: never the whole tenant, never a scan.
            assert not line.startswith("SCAN"), plan
            assert not line.endswith("(tenant_id=?)"), plan
            assert "(tenant_id=? AND namespace=?)" not in line, plan


def test_new_databases_have_no_statistics_to_rescue_a_plan(tmp_path: Path) -> None:
    # The hints above matter because nothing runs ANALYZE: check the premise.
    store = SQLiteStore(tmp_path / "maia.db")
    try:
        with sqlite3.connect(store.location) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "sqlite_stat1" not in names
    finally:
        store.close()


def test_neighbours_in_one_instant_are_sought_not_walked(tmp_path: Path) -> None:
    """Memories of one batch share created_at: finding a neighbour among them must seek
    by key, not walk the instant (300 memories here, thousands in a large import)."""
    store = SQLiteStore(tmp_path / "maia.db")
    try:
        items = [m.model_copy(update={"created_at": T0}) for m in _memories(300)]
        with store.write() as tx:
            seqs = tx.insert_memories("t", items)
        conn = sqlite3.connect(store.location, isolation_level=None)
        try:
            for call in (
                lambda s: s.predecessors("t", seqs[100:140]),
                lambda s: s.neighbors("t", seqs[100:110], 2),
            ):
                plans = " | ".join(_plans(conn, call))
                assert "created_at=? AND seq<?" in plans, plans
                assert "created_at<?" in plans, plans
        finally:
            conn.close()
    finally:
        store.close()
