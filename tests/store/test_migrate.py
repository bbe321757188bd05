"""Store to store copies (``maia migrate``): everything arrives, a rerun copies nothing,
an interrupted copy resumes, and the tallies of both sides agree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from maia.errors import Conflict
from maia.models import Edge, MemoryFilter, NamespaceConfig, Page, RelationType
from maia.store.base import Store, VectorRow
from maia.store.migrate import copy_store, tally
from maia.store.sqlite import SQLiteStore
from tests.store.builders import T0, api_key, memory, namespace, tenant


def fill(store: Store, memories: int = 1200) -> None:
    """Two tenants; keys (one revoked, one used); namespaces with config; memories with
    tags, metadata, access counts and embeddings (some without); relations."""
    rng = np.random.default_rng(3)
    with store.write() as tx:
        for tid in ("acme", "globex"):
            tx.insert_tenant(tenant(tid))
            tx.insert_namespace(tid, namespace("ns", config=NamespaceConfig(token_budget=900)))
            tx.insert_namespace(tid, namespace("team/a", at=T0 + timedelta(seconds=1)))
            tx.insert_api_key(api_key(f"{tid}-k1", tid))
            tx.insert_api_key(api_key(f"{tid}-k2", tid))
        tx.revoke_api_key("acme-k2", T0 + timedelta(days=1))
        tx.set_keys_last_used({"acme-k1": T0 + timedelta(days=2)})
    for tid, count in (("acme", memories), ("globex", 7)):
        items = [
            memory(
                f"{tid} memory {i} äöü 🦉",
                namespace="ns" if i % 3 else "team/a",
                tags=["t", f"n{i % 5}"] if i % 2 else [],
                metadata={"i": i} if i % 4 == 0 else None,
                at=T0 + timedelta(minutes=i),
            )
            for i in range(count)
        ]
        for i, item in enumerate(items):
            item.access_count = i % 7
        with store.write() as tx:
            seqs = tx.insert_memories(tid, items)
            vectors = rng.standard_normal((len(items), 8)).astype(np.float32)
            tx.put_vectors(
                [
                    VectorRow(seq, "model-x", vectors[i].tobytes())
                    for i, seq in enumerate(seqs)
                    if i % 10  # some memories have no embedding
                ]
            )
            for a, b in zip(items[:-1:50], items[1::50], strict=False):
                tx.put_edge(
                    tid,
                    Edge(
                        source_id=a.id,
                        target_id=b.id,
                        type=RelationType.RELATED_TO,
                        weight=0.5,
                        created_at=T0,
                    ),
                )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []

    def open_() -> Store:
        if request.param == "sqlite":
            store: Store = SQLiteStore(tmp_path / "target.db")
        else:
            from maia.store.postgres import PostgresStore

            store = PostgresStore(request.getfixturevalue("postgres_url"))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Store]:
    store = SQLiteStore(tmp_path / "source.db")
    fill(store)
    yield store
    store.close()


def test_copy_is_complete_and_verified(source: Store, open_target: Callable[[], Store]) -> None:
    target = open_target()
    seen: list[int] = []
    report = copy_store(source, target, progress=lambda _what, n: seen.append(n))
    assert report.tenants == 2
    assert report.api_keys == 4
    assert report.namespaces == 4
    assert report.memories == 1207
    assert report.vectors == 1080 + 6
    assert report.relations == 24 + 1
    assert sum(seen) == 1207
    assert tally(source).differences(tally(target)) == []
    with target.read() as tx:
        keys = {k.key: k for k in tx.list_api_keys("acme")}
        assert keys["acme-k2"].revoked_at == T0 + timedelta(days=1)
        assert keys["acme-k1"].last_used_at == T0 + timedelta(days=2)
        assert tx.tenant_usage("acme") == _usage(source, "acme")


def _usage(store: Store, tenant_id: str) -> tuple[int, int]:
    with store.read() as tx:
        return tx.tenant_usage(tenant_id)


def test_a_rerun_copies_nothing(source: Store, open_target: Callable[[], Store]) -> None:
    target = open_target()
    copy_store(source, target)
    again = copy_store(source, target)
    assert (again.memories, again.tenants, again.namespaces, again.api_keys) == (0, 0, 0, 0)
    assert again.skipped == 1207 + 2 + 4 + 4
    assert tally(source).differences(tally(target)) == []


def test_an_interrupted_copy_resumes(source: Store, open_target: Callable[[], Store]) -> None:
    target = open_target()

    def stop_after_two_batches(_what: str, _n: int, calls: list[int] = []) -> None:  # noqa: B006
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_store(source, target, progress=stop_after_two_batches)
    assert tally(source).differences(tally(target))  # half done
    resumed = copy_store(source, target)
    assert resumed.memories == 1207 - 1000
    assert tally(source).differences(tally(target)) == []


def test_round_trip_back_to_sqlite(
    source: Store, open_target: Callable[[], Store], tmp_path: Path
) -> None:
    middle = open_target()
    copy_store(source, middle)
    back = SQLiteStore(tmp_path / "back.db")
    try:
        copy_store(middle, back)
        assert tally(source).differences(tally(back)) == []
    finally:
        back.close()


def test_tallies_see_a_changed_memory(source: Store, open_target: Callable[[], Store]) -> None:
    target = open_target()
    copy_store(source, target)
    with target.write() as tx:
        (first,) = tx.list_memories("globex", MemoryFilter(), Page(limit=1))
        first.content = "changed"
        tx.update_memory("globex", first)
    differences = tally(source).differences(tally(target))
    assert len(differences) == 1
    assert differences[0].startswith("checksums")


def test_an_empty_namespace_a_server_made_on_the_target_gives_way(
    source: Store, open_target: Callable[[], Store]
) -> None:
    """A server started on the target once made its own ``ns`` (another id, nothing in
    it): the source's replaces it, config included."""
    target = open_target()
    with target.write() as tx:
        tx.insert_tenant(tenant("acme"))
        tx.insert_namespace("acme", namespace("ns"))
    report = copy_store(source, target)
    assert report.namespaces == 4
    assert tally(source).differences(tally(target)) == []
    with source.read() as tx:
        wanted = tx.get_namespace_by_name("acme", "ns")
    with target.read() as tx:
        assert tx.get_namespace_by_name("acme", "ns") == wanted
        assert wanted is not None
        assert wanted.config.token_budget == 900


def test_a_namespace_of_the_same_name_holding_memories_is_a_conflict(
    source: Store, open_target: Callable[[], Store]
) -> None:
    target = open_target()
    with target.write() as tx:
        tx.insert_tenant(tenant("acme"))
        tx.insert_namespace("acme", namespace("ns"))
        tx.insert_memories("acme", [memory("the target's own", namespace="ns")])
    with pytest.raises(Conflict, match="namespace 'ns' of tenant 'acme' exists in the target"):
        copy_store(source, target)
    with target.read() as tx:  # what it held is kept
        assert [m.content for m in tx.list_memories("acme", MemoryFilter(), Page())] == [
            "the target's own"
        ]


def test_a_memory_id_another_tenant_holds_on_the_target_is_a_conflict(
    source: Store, open_target: Callable[[], Store]
) -> None:
    """Ids are unique across tenants: copying on would hang globex's relations on a
    memory of another tenant."""
    with source.read() as tx:
        (theirs,) = tx.list_memories("globex", MemoryFilter(), Page(limit=1))
    target = open_target()
    with target.write() as tx:
        tx.insert_tenant(tenant("initech"))
        tx.insert_memories("initech", [theirs])
    with pytest.raises(Conflict, match=f"memory {theirs.id} of tenant 'globex' belongs to"):
        copy_store(source, target)
    with target.read() as tx:
        assert tx.edges("globex", [theirs.id], direction="both") == []
        assert tx.memory_owners([theirs.id]) == {theirs.id: "initech"}


def test_records_the_target_holds_in_another_state_are_brought_up_to_date(
    source: Store, open_target: Callable[[], Store]
) -> None:
    """The tenant a server started on the target made (default quotas), and, on a
    second run, a key revoked and a namespace's config changed on the source since the
    first: copied over, and the verification compares them."""
    target = open_target()
    with target.write() as tx:
        tx.insert_tenant(tenant("acme", metadata={"made": "by the target's server"}))
    copy_store(source, target)
    with target.read() as tx:
        assert tx.get_tenant("acme") == tenant("acme")
    assert tally(source).differences(tally(target)) == []

    with source.write() as tx:
        tx.revoke_api_key("acme-k1", T0 + timedelta(days=3))
        ns = tx.get_namespace_by_name("acme", "ns")
        assert ns is not None
        changed = ns.model_copy(update={"config": NamespaceConfig(token_budget=123)})
        tx.update_namespace("acme", changed)
    assert [d.split(":")[0] for d in tally(source).differences(tally(target))] == ["records"]
    again = copy_store(source, target)
    assert (again.api_keys, again.namespaces) == (1, 1)
    with target.read() as tx:
        key = tx.get_api_key("acme-k1")
        assert key is not None
        assert key.revoked_at == T0 + timedelta(days=3)
        assert tx.get_namespace_by_name("acme", "ns") == changed
    assert tally(source).differences(tally(target)) == []
