"""The Store protocol on every store (SQLite and PostgreSQL, see ``conftest.store``):
memories, filters, paging, full text, transactions and tenant isolation.

Namespaces, relations, vectors, tenants and keys are in ``test_conformance_records``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maia.errors import AlreadyExists, Unavailable
from maia.models import (
    Edge,
    Memory,
    MemoryFilter,
    MemorySource,
    MemoryType,
    Page,
    RelationType,
)
from maia.store.base import RankRow, Store, VectorRow
from maia.store.timestamps import to_micros
from tests.store.builders import T0, memory, namespace, vector


def ids(memories: list[Memory]) -> list[str]:
    return [m.id for m in memories]


def insert(store: Store, tenant: str, *memories: Memory) -> list[int]:
    with store.write() as tx:
        return tx.insert_memories(tenant, list(memories))


# -- memories: writes and reads --------------------------------------------------------


def test_inserted_memories_read_back_exactly(store: Store) -> None:
    item = memory(
        "Ünïcödé content — 東京 🙂 with \"quotes\" and 'apostrophes' \\ backslash",
        namespace="team/alice",
        tags=["x", "ü tag"],
        kind=MemoryType.EPISODIC,
        at=datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        confidence=0.25,
        source=MemorySource.EXTRACTED,
        metadata={"z": 1, "a": [1, 2, {"é": None}], "nested": {"b": True}},
        token_count=17,
    )
    edge_of_time = memory("the first instant", at=datetime(1, 1, 1, tzinfo=UTC))
    end_of_time = memory("the last instant", at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    seqs = insert(store, "t", item, edge_of_time, end_of_time)
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3
    with store.read() as tx:
        stored = tx.get_memory("t", item.id)
        assert stored == item
        assert stored is not None
        assert list(stored.metadata or {}) == ["z", "a", "nested"]
        assert stored.token_count == 17
        assert tx.get_memory("t", edge_of_time.id) == edge_of_time
        assert tx.get_memory("t", end_of_time.id) == end_of_time
        assert tx.get_memory("t", "missing") is None
        assert tx.get_memory("other", item.id) is None
        assert tx.total_memories() == 3


def test_insert_nothing_returns_no_keys(store: Store) -> None:
    assert insert(store, "t") == []


def test_get_memories_keeps_the_order_asked_and_skips_missing(store: Store) -> None:
    a, b, c = memory("a"), memory("b"), memory("c")
    insert(store, "t", a, b, c)
    with store.read() as tx:
        assert ids(tx.get_memories("t", [c.id, "missing", a.id])) == [c.id, a.id]
        assert ids(tx.get_memories("t", [b.id, b.id])) == [b.id, b.id]
        assert tx.get_memories("t", []) == []
        assert tx.get_memories("u", [a.id]) == []


def test_listing_is_oldest_first_then_insertion_order(store: Store) -> None:
    late = memory("late", at=T0 + timedelta(hours=2))
    tie_1, tie_2 = memory("tie one", at=T0), memory("tie two", at=T0)
    early = memory("early", at=T0 - timedelta(days=1))
    insert(store, "t", late, tie_1, tie_2, early)
    with store.read() as tx:
        listed = ids(tx.list_memories("t", MemoryFilter(), Page()))
        streamed = ids(list(tx.iter_memories("t", MemoryFilter())))
    assert listed == streamed == [early.id, tie_1.id, tie_2.id, late.id]
    with store.read() as tx:
        newest = ids(tx.list_memories("t", MemoryFilter(), Page(limit=3), newest_first=True))
        rest = ids(tx.list_memories("t", MemoryFilter(), Page(offset=3), newest_first=True))
    assert newest + rest == [late.id, tie_2.id, tie_1.id, early.id]


def test_paging(store: Store) -> None:
    items = [memory(f"item {i}", at=T0 + timedelta(minutes=i)) for i in range(7)]
    insert(store, "t", *items)
    with store.read() as tx:
        pages = [
            ids(tx.list_memories("t", MemoryFilter(), Page(limit=3, offset=offset)))
            for offset in (0, 3, 6, 9)
        ]
    assert pages == [ids(items[0:3]), ids(items[3:6]), ids(items[6:7]), []]


def test_filters(store: Store) -> None:
    a = memory("one", namespace="acme", tags=["x", "y"], at=T0)
    b = memory(
        "two",
        namespace="acme/team",
        tags=["x"],
        kind=MemoryType.WORKING,
        at=T0 + timedelta(1),
        source=MemorySource.INFERRED,
    )
    c = memory("three", namespace="acme_other", tags=["y"], confidence=0.2, at=T0 + timedelta(2))
    d = memory("four", namespace="acme/team/deep", at=T0 + timedelta(3), confidence=0.5)
    insert(store, "t", a, b, c, d)

    def found(**kwargs: object) -> list[str]:
        flt = MemoryFilter(**kwargs)  # type: ignore[arg-type]
        with store.read() as tx:
            listed = ids(tx.list_memories("t", flt, Page()))
            assert ids(list(tx.iter_memories("t", flt))) == listed
            seqs = tx.seqs_matching("t", flt)
            assert {m.id for m in tx.memories_by_seq("t", list(seqs)).values()} == set(listed)
            return listed

    assert found() == [a.id, b.id, c.id, d.id]
    assert found(namespace="acme") == [a.id]
    assert found(namespace="acme", include_descendants=True) == [a.id, b.id, d.id]
    assert found(namespace="acme/", include_descendants=True) == [b.id, d.id]
    assert found(namespace="acme/team", include_descendants=True) == [b.id, d.id]
    assert found(namespace="acme_", include_descendants=True) == []  # "_" is no wildcard
    assert found(namespace="acm%", include_descendants=True) == []  # nor "%"
    assert found(namespace="nowhere") == []
    assert found(tags=("x", "y")) == [a.id]
    assert found(tags=("x",)) == [a.id, b.id]
    assert found(tags=("X",)) == []
    assert found(types=(MemoryType.WORKING, MemoryType.EPISODIC)) == [b.id]
    assert found(sources=(MemorySource.INFERRED,)) == [b.id]
    assert found(sources=(MemorySource.USER, MemorySource.IMPORTED)) == [a.id, c.id, d.id]
    assert found(min_confidence=0.5) == [a.id, b.id, d.id]
    assert found(created_after=T0 + timedelta(1)) == [b.id, c.id, d.id]
    assert found(created_before=T0 + timedelta(1)) == [a.id]
    assert found(created_after=T0 + timedelta(1), created_before=T0 + timedelta(3)) == [
        b.id,
        c.id,
    ]
    assert found(namespace="acme", include_descendants=True, tags=("x",), min_confidence=0.9) == [
        a.id,
        b.id,
    ]


def test_namespace_prefixes_are_case_sensitive(store: Store) -> None:
    """Namespace names are case-sensitive everywhere (exact match, the vector index's
    scope); a descendant filter and a namespace prefix must be, too."""
    insert(store, "t", memory("lower", namespace="acme/team"))
    with store.write() as tx:
        tx.insert_namespace("t", namespace("acme/team"))
    with store.read() as tx:
        flt = MemoryFilter(namespace="ACME", include_descendants=True)
        assert tx.list_memories("t", flt, Page()) == []
        assert tx.list_namespaces("t", Page(), prefix="ACME") == []
        found = tx.list_memories(
            "t", MemoryFilter(namespace="acme", include_descendants=True), Page()
        )
        assert [m.content for m in found] == ["lower"]
        assert [n.name for n in tx.list_namespaces("t", Page(), prefix="acme/")] == ["acme/team"]


def test_superseded_memories_can_be_excluded(store: Store) -> None:
    old, new, other = memory("old fact"), memory("new fact"), memory("other fact")
    insert(store, "t", old, new, other)
    with store.write() as tx:
        tx.put_edge("t", _edge(new.id, old.id, RelationType.SUPERSEDES))
        tx.put_edge("t", _edge(other.id, new.id, RelationType.RELATED_TO))
    with store.read() as tx:
        kept = tx.list_memories("t", MemoryFilter(exclude_superseded=True), Page())
    assert ids(kept) == [new.id, other.id]


def test_counts(store: Store) -> None:
    insert(store, "t", memory("a"), memory("b", namespace="x"), memory("c", namespace="x/y"))
    insert(store, "u", memory("d"))
    with store.read() as tx:
        assert tx.count_memories("t") == 3
        assert tx.count_memories("t", "x") == 1
        assert tx.count_memories("t", "nowhere") == 0
        assert tx.count_memories("nobody") == 0
        assert tx.total_memories() == 4
    with store.write() as tx:  # also inside a write
        assert tx.count_memories("t", "ns") == 1


def test_memories_by_seq_and_rank_rows(store: Store) -> None:
    a = memory("alpha", namespace="a", at=T0 + timedelta(seconds=1), confidence=0.5)
    b = memory("beta", namespace="b")
    seq_a, seq_b = insert(store, "t", a, b)
    with store.write() as tx:
        tx.touch_memories("t", [a.id], T0 + timedelta(days=1))
    with store.read() as tx:
        assert set(tx.memories_by_seq("t", [seq_a, seq_b, 999])) == {seq_a, seq_b}
        assert list(tx.memories_by_seq("t", [seq_a, seq_b], MemoryFilter(namespace="b"))) == [seq_b]
        assert tx.memories_by_seq("t", []) == {}
        assert tx.memories_by_seq("u", [seq_a]) == {}
        rows = tx.rank_rows("t", [seq_a, seq_b])
        assert rows[seq_a] == RankRow(
            seq_a,
            a.id,
            "alpha",
            to_micros(a.created_at),
            1,
            0.5,
            a.type.value,
            a.token_count,
            to_micros(T0 + timedelta(days=1)),
        )
        assert set(tx.rank_rows("t", [seq_a, seq_b], MemoryFilter(namespace="a"))) == {seq_a}
        assert tx.rank_rows("u", [seq_a]) == {}


def timeline(store: Store, steps: int) -> tuple[list[Memory], Memory, Memory, dict[str, int]]:
    """``steps`` memories a minute apart, one more in the same minute as step 2 (inserted
    after them: a larger key), one at that minute in another namespace; and each one's key
    by id."""
    line = [memory(f"step {i}", at=T0 + timedelta(minutes=i)) for i in range(steps)]
    tie = memory("same minute as step 2", at=T0 + timedelta(minutes=2))
    elsewhere = memory("other namespace", namespace="other", at=T0 + timedelta(minutes=2))
    seqs = insert(store, "t", *line, tie, elsewhere)
    return (
        line,
        tie,
        elsewhere,
        dict(zip([m.id for m in [*line, tie, elsewhere]], seqs, strict=True)),
    )


def test_neighbors_are_the_nearest_in_time_of_the_same_namespace(store: Store) -> None:
    line, tie, elsewhere, s = timeline(store, 6)
    with store.read() as tx:
        near = tx.neighbors("t", [s[line[2].id], s[line[0].id], 999, s[elsewhere.id]], 2)
        assert tx.neighbors("u", [s[line[2].id]], 2) == {}
        assert tx.neighbors("t", [s[line[2].id]], 0) == {s[line[2].id]: []}
        assert tx.neighbors("t", [], 2) == {}
    # step 2 and its tie share created_at: the tie comes after (larger key).
    assert near[s[line[2].id]] == [
        (s[line[1].id], 1),
        (s[line[0].id], 2),
        (s[tie.id], 1),
        (s[line[3].id], 2),
    ]
    assert near[s[line[0].id]] == [(s[line[1].id], 1), (s[line[2].id], 2)]
    assert near[s[elsewhere.id]] == []
    assert 999 not in near


def test_predecessors_are_the_nearest_earlier_of_the_same_namespace(store: Store) -> None:
    line, tie, elsewhere, s = timeline(store, 4)
    with store.read() as tx:
        before = tx.predecessors("t", [s[m.id] for m in [*line, tie, elsewhere]] + [999])
        assert tx.predecessors("u", [s[line[2].id]]) == {}
        assert tx.predecessors("t", []) == {}
    # The same order as ``neighbors``: the tie (same created_at, larger key) follows step 2.
    assert before == {
        s[line[1].id]: s[line[0].id],
        s[line[2].id]: s[line[1].id],
        s[tie.id]: s[line[2].id],
        s[line[3].id]: s[tie.id],
    }


def test_neighbors_and_predecessors_within_a_reach_in_time(store: Store) -> None:
    """``within_us``: only memories written at most that long before or after count (a
    conversation's turns follow closely; notes days apart are no context)."""
    line, tie, _, s = timeline(store, 6)
    minute = 60_000_000
    with store.read() as tx:
        close = tx.predecessors("t", [s[m.id] for m in [*line, tie]], minute - 1)
        all_before = tx.predecessors("t", [s[m.id] for m in [*line, tie]], minute)
        near = tx.neighbors("t", [s[line[2].id]], 2, minute)
        same_instant = tx.neighbors("t", [s[line[2].id]], 2, 0)
    assert close == {s[tie.id]: s[line[2].id]}  # the same instant only
    assert all_before == tx_predecessors_without_reach(store, s, [*line, tie])
    assert near[s[line[2].id]] == [(s[line[1].id], 1), (s[tie.id], 1), (s[line[3].id], 2)]
    assert same_instant[s[line[2].id]] == [(s[tie.id], 1)]


def tx_predecessors_without_reach(
    store: Store, s: dict[str, int], items: list[Memory]
) -> dict[int, int]:
    with store.read() as tx:
        return tx.predecessors("t", [s[m.id] for m in items])


def test_order_in_time_within_one_instant(store: Store) -> None:
    """A batch shares one created_at: its memories follow each other by key."""
    first = memory("before the batch", at=T0)
    batch = [memory(f"batch {i}", at=T0 + timedelta(minutes=1)) for i in range(5)]
    last = memory("after the batch", at=T0 + timedelta(minutes=2))
    seqs = insert(store, "t", first, *batch, last)
    with store.read() as tx:
        before = tx.predecessors("t", seqs)
        near = tx.neighbors("t", [seqs[1], seqs[3], seqs[5]], 2)
    assert before == {seqs[i]: seqs[i - 1] for i in range(1, len(seqs))}
    assert near[seqs[1]] == [(seqs[0], 1), (seqs[2], 1), (seqs[3], 2)]
    assert near[seqs[3]] == [(seqs[2], 1), (seqs[1], 2), (seqs[4], 1), (seqs[5], 2)]
    assert near[seqs[5]] == [(seqs[4], 1), (seqs[3], 2), (seqs[6], 1)]


def test_update_changes_content_not_identity(store: Store) -> None:
    item = memory("before", tags=["old"], metadata={"v": 1}, token_count=1)
    (seq,) = insert(store, "t", item)
    later = T0 + timedelta(hours=1)
    changed = item.model_copy(
        update={
            "content": "after",
            "tags": ["new", "more"],
            "metadata": {"v": 2},
            "confidence": 0.5,
            "updated_at": later,
            "accessed_at": later,
            "access_count": 3,
            "token_count": 2,
            # Not updatable: kept as stored.
            "namespace": "elsewhere",
            "type": MemoryType.WORKING,
            "source": MemorySource.IMPORTED,
            "created_at": later,
        }
    )
    with store.write() as tx:
        assert tx.update_memory("t", changed) == seq
        assert tx.update_memory("u", changed) is None
        assert tx.update_memory("t", memory("never stored")) is None
    with store.read() as tx:
        stored = tx.get_memory("t", item.id)
        assert ids(tx.list_memories("t", MemoryFilter(tags=("old",)), Page())) == []
        assert ids(tx.list_memories("t", MemoryFilter(tags=("more",)), Page())) == [item.id]
    assert stored == changed.model_copy(
        update={
            "namespace": item.namespace,
            "type": item.type,
            "source": item.source,
            "created_at": item.created_at,
        }
    )


def test_replace_changes_every_field(store: Store) -> None:
    item = memory("before", tags=["old"])
    (seq,) = insert(store, "t", item)
    later = T0 + timedelta(days=3)
    replacement = memory(
        "after",
        namespace="moved",
        tags=["new"],
        kind=MemoryType.WORKING,
        at=later,
        confidence=0.3,
        source=MemorySource.IMPORTED,
        metadata={"k": "v"},
        token_count=9,
    ).model_copy(update={"id": item.id, "access_count": 4})
    with store.write() as tx:
        assert tx.replace_memory("t", replacement) == seq
        assert tx.replace_memory("u", replacement) is None
        assert tx.replace_memory("t", memory("never stored")) is None
    with store.read() as tx:
        assert tx.get_memory("t", item.id) == replacement
        assert tx.count_memories("t", "moved") == 1
        assert ids(tx.list_memories("t", MemoryFilter(tags=("new",)), Page())) == [item.id]


def test_delete_returns_the_keys_that_existed(store: Store) -> None:
    a, b = memory("a"), memory("b")
    seq_a, _ = insert(store, "t", a, b)
    with store.write() as tx:
        tx.put_vectors([VectorRow(seq_a, "m", vector(1, 0))])
        tx.put_edge("t", _edge(a.id, b.id))
        assert tx.delete_memories("u", [a.id]) == []
        assert tx.delete_memories("t", [a.id, "missing", a.id]) == [seq_a]
        assert tx.delete_memories("t", []) == []
    with store.read() as tx:
        assert ids(tx.list_memories("t", MemoryFilter(), Page())) == [b.id]
        assert tx.vector_counts() == {}
        assert tx.edges("t", [b.id], direction="both") == []


def test_touch_counts_accesses(store: Store) -> None:
    item = memory("touch me")
    later = T0 + timedelta(hours=1)
    insert(store, "t", item)
    with store.write() as tx:
        assert tx.touch_memories("t", [item.id, item.id, "missing"], later) == 1
        assert tx.touch_memories("u", [item.id], later) == 0
        assert tx.touch_memories("t", [], later) == 0
    with store.write() as tx:
        assert tx.touch_memories("t", [item.id], later + timedelta(1)) == 1
    with store.read() as tx:
        stored = tx.get_memory("t", item.id)
    assert stored is not None
    assert stored.access_count == 2
    assert stored.accessed_at == later + timedelta(1)
    assert stored.updated_at == item.updated_at


def test_retention_deletes_only_older_memories_of_the_namespace(store: Store) -> None:
    old, new, other = (
        memory("old", at=T0),
        memory("new", at=T0 + timedelta(10)),
        memory("other ns", namespace="x", at=T0),
    )
    seq_old, _, _ = insert(store, "t", old, new, other)
    insert(store, "u", memory("their old one", at=T0))
    with store.write() as tx:
        assert tx.delete_memories_before("t", "ns", T0 + timedelta(5)) == [seq_old]
        assert tx.delete_memories_before("t", "ns", T0 + timedelta(5)) == []
    with store.read() as tx:
        assert ids(tx.get_memories("t", [old.id, new.id, other.id])) == [new.id, other.id]
        assert tx.count_memories("u") == 1


def test_iter_memories_streams_in_batches_beside_other_queries(store: Store) -> None:
    items = [memory(f"note {i}", at=T0 + timedelta(seconds=i % 7)) for i in range(1200)]
    seqs = insert(store, "t", *items)
    with store.write() as tx:
        tx.put_vectors([VectorRow(seq, "m", vector(seq, 1)) for seq in seqs[::100]])
    order = sorted(range(len(items)), key=lambda i: (items[i].created_at, seqs[i]))
    expected = [items[i] for i in order]
    streamed: list[str] = []
    with_vectors = 0
    with store.read() as tx:
        stream = tx.iter_memories("t", MemoryFilter())
        batch: list[str] = []
        for item in stream:  # other queries run while the stream is open
            batch.append(item.id)
            if len(batch) == 100:
                with_vectors += len(tx.vectors_of("t", batch))
                streamed += batch
                batch = []
        streamed += batch
    assert streamed == ids(expected)
    assert with_vectors == 12


def test_an_abandoned_stream_leaves_the_store_usable(store: Store) -> None:
    insert(store, "t", *[memory(f"note {i}") for i in range(1100)])
    for _ in range(3):
        with store.read() as tx:
            stream = tx.iter_memories("t", MemoryFilter())
            assert next(stream).content == "note 0"
            vectors = tx.iter_vectors("m")
            assert list(vectors) == []
    with store.write() as tx:
        assert tx.count_memories("t") == 1100


def test_iter_texts_gives_every_tenants_words_in_key_order(store: Store) -> None:
    a = memory("Café au lait", tags=["drinks", "morning"], at=T0)
    b = memory("no tags", namespace="other/sub", at=T0 + timedelta(hours=1))
    c = memory("someone else's", at=T0 + timedelta(days=2))
    seq_a, seq_b = insert(store, "t", a, b)
    (seq_c,) = insert(store, "u", c)
    with store.read() as tx:
        texts = list(tx.iter_texts())
    assert [(x.seq, x.tenant, x.namespace, x.content, list(x.tags)) for x in texts] == [
        (seq_a, "t", "ns", "Café au lait", ["drinks", "morning"]),
        (seq_b, "t", "other/sub", "no tags", []),
        (seq_c, "u", "ns", "someone else's", []),
    ]
    assert [x.created_at for x in texts] == [a.created_at, b.created_at, c.created_at]


def test_vectors_of_and_owners(store: Store) -> None:
    a, b, c = memory("a"), memory("b"), memory("c")
    seq_a, seq_b = insert(store, "t", a, b)
    insert(store, "u", c)
    ns_t, ns_u = namespace("shared"), namespace("shared")
    with store.write() as tx:
        tx.put_vectors([VectorRow(seq_a, "m", vector(1, 2, 3))])
        tx.insert_namespace("t", ns_t)
        tx.insert_namespace("u", ns_u)
    with store.read() as tx:
        assert tx.vectors_of("t", [a.id, b.id, c.id, "missing"]) == {
            a.id: VectorRow(seq_a, "m", vector(1, 2, 3))
        }
        assert tx.vectors_of("u", [a.id]) == {}
        assert tx.vectors_of("t", []) == {}
        assert tx.memory_owners([a.id, c.id, "missing"]) == {a.id: "t", c.id: "u"}
        assert tx.memory_owners([]) == {}
        assert tx.namespace_owners([ns_t.id, ns_u.id, "missing"]) == {ns_t.id: "t", ns_u.id: "u"}
    assert seq_b > seq_a


# -- full text -------------------------------------------------------------------------


def _found(store: Store, query: str, flt: MemoryFilter | None = None, limit: int = 10) -> list[str]:
    with store.read() as tx:
        hits = tx.search_text("t", query, flt or MemoryFilter(), limit)
        matches = tx.text_matches("t", query, flt or MemoryFilter(), limit)
    assert [(h.seq, h.bm25) for h in hits] == matches
    assert all(h.bm25 > 0 for h in hits)
    return [h.memory.id for h in hits]


def test_full_text_follows_insert_update_delete(store: Store) -> None:
    item = memory("The heron fishes at dawn", tags=["birds"])
    insert(store, "t", item)
    assert _found(store, "heron") == [item.id]
    assert _found(store, "bird") == [item.id]  # tags are searched, and stemmed
    changed = item.model_copy(update={"content": "The owl hunts at night", "tags": ["night"]})
    with store.write() as tx:
        tx.update_memory("t", changed)
    assert _found(store, "heron") == []
    assert _found(store, "birds", MemoryFilter(tags=("birds",))) == []
    assert _found(store, "owls hunting", MemoryFilter(tags=("night",))) == [item.id]
    replaced = changed.model_copy(update={"content": "A fox in the snow", "tags": []})
    with store.write() as tx:
        tx.replace_memory("t", replaced)
    assert _found(store, "owl") == []
    assert _found(store, "foxes") == [item.id]
    with store.write() as tx:
        assert len(tx.delete_memories("t", [item.id])) == 1
    assert _found(store, "fox") == []


def test_full_text_matches_any_word_best_first(store: Store) -> None:
    both = memory("the heron and the owl share the marsh", at=T0 + timedelta(1))
    heron = memory("a heron waits in the marsh reeds today", at=T0)
    owl = memory("an owl sleeps in the old barn all day", at=T0 + timedelta(2))
    neither = memory("a fox crosses the frozen field at dusk")
    insert(store, "t", heron, both, owl, neither)
    found = _found(store, "heron owl")
    assert found[0] == both.id
    assert set(found) == {both.id, heron.id, owl.id}
    assert _found(store, "heron owl", limit=1) == [both.id]
    assert _found(store, "heron owl", limit=0) == []
    assert _found(store, "heron", MemoryFilter(created_after=T0 + timedelta(1))) == [both.id]
    assert _found(store, "zebra") == []


def test_full_text_weighs_a_rare_word_over_a_common_one(store: Store) -> None:
    # BM25's inverse document frequency: a memory with the query's rare word beats one
    # that repeats its common word (without IDF, every word would count the same).
    common = [memory(f"notes about apples number {i}") for i in range(20)]
    repeats = memory("apples, apples, apples")
    rare = memory("a zebra was seen walking slowly near the old wooden fence by the river")
    insert(store, "t", *common, repeats, rare)
    assert _found(store, "apples zebra")[0] == rare.id


def test_full_text_ignores_case_diacritics_and_punctuation(store: Store) -> None:
    cafe = memory("Meet at the Café Überweg, see example.com/menu or call 555-0199")
    kanji = memory("東京 に 行く")
    insert(store, "t", cafe, kanji)
    for query in ("cafe", "CAFÉ", "uberweg", "example", "menu", "0199", "café's"):
        assert _found(store, query) == [cafe.id], query
    assert _found(store, "東京") == [kanji.id]


@pytest.mark.parametrize(
    "query",
    [
        '"AND OR (',
        "NEAR(a b)",
        "NEAR(",
        "a* OR -b",
        "*",
        "col:x",
        "'",
        "\\",
        "'; DROP TABLE memories; --",
        "a & b | !c <-> d:*",
        "🙂",
        "東京",
        "",
        "   ",
        "\x00 table",
        "x" * 5000,
        " ".join(f"w{i}" for i in range(5000)),
    ],
)
def test_query_syntax_never_errors(store: Store, query: str) -> None:
    insert(store, "t", memory("and or near col x a b drop table w3"))
    with store.read() as tx:
        tx.search_text("t", query, MemoryFilter(), 10)
        tx.text_matches("t", query, MemoryFilter(), 10)
        assert tx.count_memories("t") == 1  # the transaction is still usable


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=40))
def test_any_text_is_a_query(store: Store, query: str) -> None:
    with store.read() as tx:
        assert tx.search_text("t", query, MemoryFilter(), 5) == []
        assert tx.count_memories("t") == 0  # still usable


def test_user_syntax_is_taken_as_words(store: Store) -> None:
    item = memory("the heron is near the table")
    insert(store, "t", item)
    assert _found(store, '"heron" OR (owl') == [item.id]
    assert _found(store, "NEAR(heron* -table)") == [item.id]


# -- transactions ----------------------------------------------------------------------


def test_failed_write_block_rolls_back(store: Store) -> None:
    kept = memory("kept")
    (seq,) = insert(store, "t", kept)
    with store.read() as tx:
        usage, generation = tx.tenant_usage("t"), tx.vector_generation()

    def failing_write() -> None:
        with store.write() as tx:
            (new_seq,) = tx.insert_memories("t", [memory("kept only if committed")])
            tx.put_vectors([VectorRow(new_seq, "m", vector(1, 1))])
            tx.insert_namespace("t", namespace("rolled back"))
            tx.delete_memories("t", [kept.id])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_write()
    with store.read() as tx:
        assert ids(tx.list_memories("t", MemoryFilter(), Page())) == [kept.id]
        assert tx.count_namespaces("t") == 0
        assert tx.tenant_usage("t") == usage
        assert tx.vector_generation() == generation
        assert tx.vector_counts() == {}
    assert seq > 0


def test_a_write_sees_its_own_changes(store: Store) -> None:
    item = memory("fresh")
    with store.write() as tx:
        tx.insert_memories("t", [item])
        assert tx.get_memory("t", item.id) == item
        assert tx.count_memories("t") == 1
        assert _ids_of(tx.search_text("t", "fresh", MemoryFilter(), 5)) == [item.id]


def _ids_of(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.memory.id for h in hits]


def test_a_read_block_sees_one_snapshot(store: Store) -> None:
    insert(store, "t", memory("first"))

    def write_another() -> None:
        insert(store, "t", memory("second"))

    with store.read() as tx:
        assert tx.count_memories("t") == 1
        writer = threading.Thread(target=write_another)
        writer.start()
        writer.join()
        assert tx.count_memories("t") == 1
        assert [m.content for m in tx.list_memories("t", MemoryFilter(), Page())] == ["first"]
    with store.read() as tx:
        assert tx.count_memories("t") == 2


def test_reads_nest(store: Store) -> None:
    insert(store, "t", memory("one"))
    with store.read() as outer:
        with store.read() as inner:
            assert inner.count_memories("t") == 1
        assert outer.count_memories("t") == 1
    with store.read() as tx:
        assert tx.count_memories("t") == 1


def test_readers_in_other_threads_see_commits(store: Store) -> None:
    item = memory("cross-thread")
    insert(store, "t", item)
    seen: list[Memory | None] = []

    def read() -> None:
        with store.read() as tx:
            seen.append(tx.get_memory("t", item.id))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [item] * 4


def test_an_error_inside_a_write_keeps_the_transaction_usable(store: Store) -> None:
    with store.write() as tx:
        tx.insert_namespace("t", namespace("taken"))
        with pytest.raises(AlreadyExists, match="namespace already exists: taken"):
            tx.insert_namespace("t", namespace("taken"))
        tx.insert_namespace("t", namespace("next"))
    with store.read() as tx:
        assert [n.name for n in tx.list_namespaces("t", Page())] == ["taken", "next"]


def test_store_basics_and_close(store: Store) -> None:
    assert isinstance(store.location, str)
    assert store.location
    store.check()
    assert store.size_bytes() > 0
    store.close()
    store.close()  # idempotent
    with pytest.raises(Unavailable), store.write():
        pass


def test_a_closed_store_refuses_reads(store: Store) -> None:
    with store.read() as tx:  # this thread has a reader (SQLite keeps one per thread)
        tx.count_memories("t")
    store.close()
    with pytest.raises(Unavailable), store.read():
        pass


# -- tenant isolation ------------------------------------------------------------------


def test_tenants_never_see_each_other(store: Store) -> None:
    """Every tenant-scoped method, from tenant "a", with tenant "b" holding the same."""
    mine, theirs = memory("shared words here"), memory("shared words here")
    mine_2, theirs_2 = memory("second shared note"), memory("second shared note")
    ns_mine, ns_theirs = namespace("ns"), namespace("ns")
    child_theirs = namespace("ns/child")
    with store.write() as tx:
        seq_mine, seq_mine_2 = tx.insert_memories("a", [mine, mine_2])
        seq_theirs, _ = tx.insert_memories("b", [theirs, theirs_2])
        tx.put_vectors(
            [VectorRow(s, "m", vector(1, 0)) for s in (seq_mine, seq_mine_2, seq_theirs)]
        )
        tx.insert_namespace("a", ns_mine)
        tx.insert_namespace("b", ns_theirs)  # same name, other tenant: allowed
        tx.insert_namespace("b", child_theirs)
        tx.put_edge("a", _edge(mine.id, mine_2.id))
        tx.put_edge("b", _edge(theirs.id, theirs_2.id))
    everything = MemoryFilter()
    with store.read() as tx:
        assert tx.get_memory("a", theirs.id) is None
        assert ids(tx.get_memories("a", [theirs.id, mine.id])) == [mine.id]
        assert ids(tx.list_memories("a", everything, Page())) == [mine.id, mine_2.id]
        assert ids(list(tx.iter_memories("a", everything))) == [mine.id, mine_2.id]
        assert tx.count_memories("a") == 2
        assert set(tx.memories_by_seq("a", [seq_theirs, seq_mine])) == {seq_mine}
        assert set(tx.rank_rows("a", [seq_theirs, seq_mine])) == {seq_mine}
        assert tx.neighbors("a", [seq_theirs], 3) == {}
        assert tx.neighbors("a", [seq_mine], 3) == {seq_mine: [(seq_mine_2, 1)]}
        assert tx.predecessors("a", [seq_theirs, seq_mine, seq_mine_2]) == {seq_mine_2: seq_mine}
        assert tx.seqs_matching("a", everything) == {seq_mine, seq_mine_2}
        assert _ids_of(tx.search_text("a", "shared", everything, 10)) == [mine.id, mine_2.id]
        assert {s for s, _ in tx.text_matches("a", "shared", everything, 10)} == {
            seq_mine,
            seq_mine_2,
        }
        assert set(tx.vectors_of("a", [mine.id, theirs.id])) == {mine.id}
        assert [e.target_id for e in tx.edges("a", [mine.id, theirs.id], direction="both")] == [
            mine_2.id
        ]
        assert tx.get_namespace("a", ns_theirs.id) is None
        assert tx.get_namespace("a", "ns") == ns_mine
        assert tx.get_namespace("a", "ns/child") is None
        assert tx.list_namespaces("a", Page()) == [ns_mine]
        assert tx.namespace_children("a", "ns") == []
        assert tx.count_namespaces("a") == 1
        assert tx.tenant_usage("a")[0] == 2
    with store.write() as tx:
        assert tx.update_memory("a", theirs) is None
        assert tx.replace_memory("a", theirs) is None
        assert tx.delete_memories("a", [theirs.id]) == []
        assert tx.touch_memories("a", [theirs.id], T0) == 0
        assert tx.delete_memories_before("a", "ns", T0 + timedelta(days=1)) == [
            seq_mine,
            seq_mine_2,
        ]
        assert tx.delete_edges("a", theirs.id, theirs_2.id) == 0
        tx.update_namespace(
            "a", ns_theirs.model_copy(update={"updated_at": T0 + timedelta(days=1)})
        )
        tx.delete_namespace("a", child_theirs.id)
    with store.read() as tx:
        assert ids(tx.list_memories("b", everything, Page())) == [theirs.id, theirs_2.id]
        assert tx.get_memory("b", theirs.id) == theirs
        assert tx.get_namespace("b", ns_theirs.id) == ns_theirs
        assert tx.count_namespaces("b") == 2
        assert len(tx.edges("b", [theirs.id])) == 1
        assert tx.vector_counts() == {"m": 1}


def _edge(
    source: str, target: str, kind: RelationType = RelationType.RELATED_TO, **extra: object
) -> Edge:
    return Edge(source_id=source, target_id=target, type=kind, weight=1.0, created_at=T0, **extra)  # type: ignore[arg-type]
