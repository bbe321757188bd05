"""The in-memory writing order: the same answers as the store's ``predecessors`` and
``neighbors``, after loads, writes, moves and removals, and through the service."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maia import Maia, Settings
from maia.models import MemoryCreate, MemoryUpdate
from maia.retrieval.index.order import OrderIndex
from maia.store.base import Store, StoredText
from maia.store.sqlite import SQLiteStore
from tests.store.builders import T0, memory

TENANTS = ("t", "u")
NAMESPACES = ("a", "a/b", "c")


def random_memories(rng: random.Random, count: int) -> list[tuple[str, object]]:
    """(tenant, memory) pairs over few instants, so that many share a created_at."""
    return [
        (
            rng.choice(TENANTS),
            memory(
                f"memory {i}",
                namespace=rng.choice(NAMESPACES),
                at=T0 + timedelta(minutes=rng.randint(0, 12), microseconds=rng.choice((0, 1))),
            ),
        )
        for i in range(count)
    ]


def insert_all(store: Store, pairs: list[tuple[str, object]]) -> list[tuple[str, int]]:
    keys = []
    with store.write() as tx:
        for tenant, item in pairs:
            (seq,) = tx.insert_memories(tenant, [item])  # type: ignore[list-item]
            keys.append((tenant, seq))
    return keys


def texts(store: Store) -> list[StoredText]:
    with store.read() as tx:
        return list(tx.iter_texts())


def assert_same_as_store(index: OrderIndex, store: Store, keys: list[int]) -> None:
    asked = [*keys, 10**9]  # and one that does not exist
    with store.read() as tx:
        for tenant in (*TENANTS, "nobody"):
            # No reach in time, and reaches about the memories' spacing (minutes apart,
            # some a microsecond apart).
            for within in (None, 0, 1, 60_000_000, 180_000_000):
                assert index.predecessors(tenant, asked, within) == tx.predecessors(
                    tenant, asked, within
                )
                for radius in (0, 1, 2, 5):
                    assert index.neighbors(tenant, asked, radius, within) == tx.neighbors(
                        tenant, asked, radius, within
                    )


@pytest.mark.parametrize("seed", range(4))
def test_answers_are_the_stores_through_adds_and_removals(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    store = SQLiteStore(tmp_path / "maia.db")
    try:
        keys = [seq for _, seq in insert_all(store, random_memories(rng, 120))]
        index = OrderIndex()
        assert list(index.loading(texts(store))) == texts(store)  # passed through
        assert len(index) == 120
        assert_same_as_store(index, store, keys)

        # Removals (by tenant, as the service deletes), then more writes, some earlier
        # than memories already held.
        gone = rng.sample(keys, 40)
        with store.read() as tx:
            owner = {seq: t for t in TENANTS for seq in tx.rank_rows(t, gone)}
        with store.write() as tx:
            for tenant in TENANTS:
                ids = [tx.memories_by_seq(tenant, [s])[s].id for s in gone if owner[s] == tenant]
                tx.delete_memories(tenant, ids)
        index.remove(gone)
        index.remove([10**9])  # unknown: nothing happens
        more = insert_all(store, random_memories(rng, 60))
        index.add(d for d in texts(store) if d.seq in {seq for _, seq in more})
        keys = [k for k in keys if k not in gone] + [seq for _, seq in more]
        assert len(index) == len(keys)
        assert_same_as_store(index, store, keys)

        # A memory held again (a changed one) is moved, not doubled.
        index.add(texts(store)[:10])
        assert len(index) == len(keys)
        assert_same_as_store(index, store, keys)
    finally:
        store.close()


def test_a_memory_moved_to_another_time_or_namespace_leaves_its_old_place() -> None:
    index = OrderIndex()
    first, second, third = (
        StoredText(s, "t", "ns", "", (), T0 + timedelta(minutes=s)) for s in (1, 2, 3)
    )
    index.add([first, second, third])
    assert index.neighbors("t", [2], 1) == {2: [(1, 1), (3, 1)]}
    index.add([StoredText(1, "t", "ns", "", (), T0 + timedelta(minutes=9))])  # now last
    assert index.predecessors("t", [1, 2, 3]) == {3: 2, 1: 3}
    index.add([StoredText(3, "t", "other", "", (), T0)])
    assert index.predecessors("t", [1, 2, 3]) == {1: 2}
    assert index.neighbors("t", [3], 2) == {3: []}
    index.remove([1, 2, 3])
    assert len(index) == 0
    assert index.neighbors("t", [1, 2, 3], 2) == {}


def test_service_writes_reach_the_order(make_settings: Callable[..., Settings]) -> None:
    """Creates, a batch sharing one instant, imports of older memories, updates and
    deletes: the engine's order answers as the store does, also after reopening."""

    def check(maia: Maia) -> None:
        assert maia.engine.order is not None
        with maia.store.read() as tx:
            keys = [d.seq for d in tx.iter_texts()]
        assert len(maia.engine.order) == len(keys)
        assert_same_as_store(maia.engine.order, maia.store, keys)

    with Maia.open(settings=make_settings()) as maia:
        made = [
            maia.create_memories([MemoryCreate(namespace="a", content=f"one {i}")])
            for i in range(5)
        ]
        maia.create_memories([MemoryCreate(namespace="a", content=f"batch {i}") for i in range(4)])
        maia.create_memories([MemoryCreate(namespace="c", content="elsewhere")])
        # Imports: a memory moved back in time (overwritten), and one from the past.
        lines = []
        for line in maia.export_lines():
            record = json.loads(line) if line.strip() else {}
            if record.get("content") == "one 1":
                record["created_at"] = "2020-01-01T00:00:00Z"
                line = json.dumps(record)
            elif record.get("kind") == "end":
                line = json.dumps({**record, "memories": record["memories"] + 1})
            elif record.get("content") == "one 4":
                lines.append(
                    json.dumps({**record, "id": "a-new-one", "created_at": "2021-06-01T00:00:00Z"})
                )
            lines.append(line)
        maia.import_records(lines, on_conflict="overwrite")
        maia.update_memory(made[2][0].id, MemoryUpdate(content="one, changed"))
        maia.forget(made[3][0].id)
        check(maia)
    with Maia.open(settings=make_settings()) as reopened:
        check(reopened)


def test_the_first_and_last_instants_and_large_keys_keep_their_order() -> None:
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    times = {7: first, 2**62: first, 3: T0, 5: last, 1: last}
    index = OrderIndex()
    index.add(StoredText(seq, "t", "ns", "", (), at) for seq, at in times.items())
    assert index.neighbors("t", [3], 5) == {3: [(2**62, 1), (7, 2), (1, 1), (5, 2)]}
