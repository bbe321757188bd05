"""The Maia façade: memory operations, all-or-nothing batches, namespace rules."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import pytest

from maia import InvalidInput, Maia, NotFound, QuotaExceeded, Settings
from maia.models import (
    MemoryCreate,
    MemoryFilter,
    MemoryType,
    MemoryUpdate,
    NamespaceConfig,
    NamespaceCreate,
    Page,
    SearchRequest,
)
from maia.store.base import StoredText


def test_remember_recall_forget(maia: Maia) -> None:
    tea = maia.remember("Alice prefers green tea", namespace="alice", tags=["preference"])
    maia.remember("Bob rides his bike to work", namespace="alice")
    maia.remember("Alice's green tea is elsewhere", namespace="other")
    hits = maia.recall("green tea", namespace="alice")
    assert [h.memory.id for h in hits] == [tea.id]
    assert hits[0].score == 1.0
    maia.forget(tea.id)
    with pytest.raises(NotFound, match=f"memory not found: {tea.id}"):
        maia.get_memory(tea.id)


def test_default_namespace_exists_and_is_used(maia: Maia) -> None:
    default = maia.get_namespace("default")
    assert default.config.token_budget == 4000
    assert maia.remember("no namespace given").namespace == "default"


def test_explicit_created_at_imports_history(maia: Maia) -> None:
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    mem = maia.remember("an old conversation turn", created_at=when)
    assert mem.created_at == mem.updated_at == mem.accessed_at == when


def test_get_counts_access_after_returning(maia: Maia) -> None:
    mem = maia.remember("counted")
    assert maia.get_memory(mem.id, count_access=True).access_count == 0
    assert maia.get_memory(mem.id, count_access=True).access_count == 1
    assert maia.get_memory(mem.id).access_count == 2


def test_update_replaces_given_fields_only(maia: Maia, settings: Settings) -> None:
    mem = maia.remember("v1", tags=["a"], metadata={"k": 1}, confidence=0.5)
    updated = maia.update_memory(mem.id, MemoryUpdate(content="v2", tags=[]))
    assert (updated.content, updated.tags, updated.metadata) == ("v2", [], {"k": 1})
    assert updated.confidence == 0.5
    assert updated.updated_at >= mem.updated_at
    assert (updated.created_at, updated.type, updated.namespace) == (
        mem.created_at,
        mem.type,
        mem.namespace,
    )
    assert maia.recall("v2")[0].memory.id == mem.id
    with pytest.raises(NotFound):
        maia.update_memory("nope", MemoryUpdate(content="x"))


def test_an_update_racing_a_delete_leaves_the_memory_in_no_index(
    maia: Maia, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The indexes held in memory change in the order the store committed: a delete that
    comes while an update of the same memory is being indexed is applied after it."""
    mem = maia.remember("Bob: the sky over Lisbon was green tonight.", namespace="race")
    engine = maia.engine
    assert engine.texts is not None
    assert engine.order is not None
    indexing, deleted = threading.Event(), threading.Event()
    add = engine.texts.add

    def add_slowly(documents: Iterable[StoredText]) -> None:
        indexing.set()
        deleted.wait(0.5)  # the delete cannot come in the meantime: it waits for this
        add(documents)

    monkeypatch.setattr(engine.texts, "add", add_slowly)
    update = MemoryUpdate(content="Bob: the sky over Lisbon was blue tonight.")
    updater = threading.Thread(target=maia.update_memory, args=(mem.id, update))
    updater.start()
    assert indexing.wait(10)
    maia.forget(mem.id)
    deleted.set()
    updater.join(10)
    assert not updater.is_alive()
    assert (len(engine.texts), len(engine.order), len(engine.index)) == (0, 0, 0)
    assert maia.recall("sky over Lisbon", namespace="race") == []


def test_content_limit_is_configurable(make_settings: Callable[..., Settings]) -> None:
    with Maia.open(settings=make_settings(max_content_chars=10)) as small:
        small.remember("0123456789")
        with pytest.raises(InvalidInput, match="at most 10 characters"):
            small.remember("0123456789!")
        mem = small.remember("short")
        with pytest.raises(InvalidInput, match="at most 10 characters"):
            small.update_memory(mem.id, MemoryUpdate(content="x" * 11))
        assert small.count_memories() == 2


def test_batch_create_is_all_or_nothing(maia: Maia) -> None:
    good = [MemoryCreate(namespace="b", content=f"item {i}") for i in range(5)]
    created = maia.create_memories(good)
    assert [m.content for m in created] == [f"item {i}" for i in range(5)]
    maia.create_namespace(NamespaceCreate(name="q", config=NamespaceConfig(max_memories=3)))
    with pytest.raises(QuotaExceeded):
        maia.create_memories(
            [MemoryCreate(namespace="b", content="fine")]
            + [MemoryCreate(namespace="q", content=str(i)) for i in range(4)]
        )
    assert maia.count_memories() == 5


def test_batch_delete_is_all_or_nothing(maia: Maia) -> None:
    a, b = maia.remember("a"), maia.remember("b")
    with pytest.raises(NotFound, match="missing-id"):
        maia.delete_memories([a.id, "missing-id"])
    assert maia.count_memories() == 2
    assert maia.delete_memories([a.id, b.id, a.id]) == 2
    assert maia.count_memories() == 0


def test_max_memories_is_enforced_exactly(maia: Maia) -> None:
    maia.create_namespace(NamespaceCreate(name="capped", config=NamespaceConfig(max_memories=3)))
    for i in range(3):
        maia.remember(f"m{i}", namespace="capped")
    with pytest.raises(QuotaExceeded) as caught:
        maia.remember("one too many", namespace="capped")
    assert (caught.value.limit, caught.value.current) == (3, 3)
    assert "capped" in caught.value.message


def test_max_memories_holds_under_concurrency(maia: Maia) -> None:
    maia.create_namespace(NamespaceCreate(name="race", config=NamespaceConfig(max_memories=25)))
    outcomes: list[str] = []

    def writer() -> None:
        for i in range(10):
            try:
                maia.remember(f"r{i}", namespace="race")
                outcomes.append("ok")
            except QuotaExceeded:
                outcomes.append("quota")

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 25
    assert maia.count_memories("race") == 25


def test_allowed_types_are_enforced(maia: Maia) -> None:
    maia.create_namespace(
        NamespaceCreate(name="scratch", config=NamespaceConfig(allowed_types=["working"]))
    )
    maia.remember("ok", namespace="scratch", type="working")
    with pytest.raises(InvalidInput, match="allows only working"):
        maia.remember("not ok", namespace="scratch", type="semantic")


def test_inherited_rules_apply_to_children(maia: Maia) -> None:
    maia.create_namespace(
        NamespaceCreate(name="org", config=NamespaceConfig(allowed_types=["episodic"]))
    )
    maia.create_namespace(
        NamespaceCreate(name="org/alice", config=NamespaceConfig(inherit_from_parent=True))
    )
    maia.create_namespace(NamespaceCreate(name="org/bob"))
    with pytest.raises(InvalidInput):
        maia.remember("x", namespace="org/alice", type="semantic")
    maia.remember("x", namespace="org/bob", type="semantic")  # bob does not inherit


def test_concurrent_writes_are_all_kept(maia: Maia) -> None:
    """8 threads x 500 writes: every write present, counts exact."""
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(500):
                maia.remember(f"worker {worker} item {i}", namespace=f"w{worker}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert maia.count_memories() == 4000
    for worker in range(8):
        contents = [
            m.content
            for m in maia.list_memories(MemoryFilter(namespace=f"w{worker}"), Page(limit=1000))
        ]
        assert contents == [f"worker {worker} item {i}" for i in range(500)]


def test_search_without_query_lists_oldest_first(maia: Maia) -> None:
    first = maia.remember("first", namespace="s")
    second = maia.remember("second", namespace="s", type="working")
    results, page = maia.search(SearchRequest(namespace="s"))
    assert [r.memory.id for r in results] == [first.id, second.id]
    assert {r.score for r in results} == {1.0}
    assert page.limit == 100
    results, _ = maia.search(SearchRequest(namespace="s", types=[MemoryType.WORKING]))
    assert [r.memory.id for r in results] == [second.id]


def test_search_ranks_and_pages(maia: Maia) -> None:
    for i in range(30):
        maia.remember(f"filler note number {i} about gardening", namespace="p")
    target = maia.remember("the zeppelin hangar key is under the mat", namespace="p")
    results, _ = maia.search(SearchRequest(query="zeppelin", namespace="p"))
    assert results[0].memory.id == target.id
    results, page = maia.search(SearchRequest(query="gardening note", namespace="p", limit=10))
    scores = [r.score for r in results]
    assert len(results) == 10
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    rest, page = maia.search(
        SearchRequest(query="gardening note", namespace="p", limit=10, offset=25)
    )
    assert page.offset == 25
    assert len(rest) == 5


def test_for_tenant_isolates_data(maia: Maia) -> None:
    other = maia.for_tenant("acme")
    mine = maia.remember("private to the default tenant", namespace="n")
    other.remember("private to acme", namespace="n")
    assert [h.memory.id for h in maia.recall("private", namespace="n")] == [mine.id]
    with pytest.raises(NotFound):
        other.get_memory(mine.id)
    assert other.stats().total_memories == 1
    other.close()  # a view does not close the shared store
    assert maia.count_memories() == 1


def test_timestamps_use_the_injected_clock(make_settings: Callable[..., Settings]) -> None:
    fixed = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with Maia.open(settings=make_settings(), clock=lambda: fixed) as m:
        mem = m.remember("clocked")
        assert mem.created_at == fixed
        assert m.update_memory(mem.id, MemoryUpdate()).updated_at == fixed
        assert m.purge_expired(fixed + timedelta(days=1)) == 0


def test_listing_newest_first(maia: Maia) -> None:
    made = [
        maia.remember(f"note {i}", namespace="log", created_at=datetime(2025, 1, 1 + i, tzinfo=UTC))
        for i in range(5)
    ]
    oldest = maia.list_memories(MemoryFilter(namespace="log"), Page(limit=2))
    newest = maia.list_memories(MemoryFilter(namespace="log"), Page(limit=2), newest_first=True)
    assert [m.id for m in oldest] == [made[0].id, made[1].id]
    assert [m.id for m in newest] == [made[4].id, made[3].id]


def test_a_context_offers_the_newest_working_memories_however_many_there_are(
    maia: Maia,
) -> None:
    # More working memories than any one read would take: the newest are the ones
    # offered to the recency zone, not the newest of the oldest thousand.
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for first in (0, 600):  # two batches (a batch holds at most 1,000)
        maia.create_memories(
            [
                MemoryCreate(
                    content=f"step {i} of the task is done",
                    namespace="task",
                    type=MemoryType.WORKING,
                    created_at=start + timedelta(minutes=i),
                )
                for i in range(first, first + 600)
            ]
        )
    found = maia.context("anything", namespace="task", token_budget=4000)
    steps = [int(m.content.split()[1]) for m in found.memories if m.position == "recency"]
    assert set(range(1180, 1200)) <= set(steps)  # the newest twenty
    assert steps[-1] == 1199  # the newest ends the block
