"""``Maia`` on PostgreSQL: opened by URL, searching with the database's own vector index,
and two instances over one database (two nodes) seeing each other's writes at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from maia import Maia, Settings
from maia.errors import InvalidInput, QuotaExceeded
from maia.models import (
    ContextRequest,
    MemoryCreate,
    MemoryUpdate,
    RelationCreate,
    RelationType,
    SearchRequest,
    TenantCreate,
    TenantQuotas,
)
from maia.retrieval.index.database import DatabaseVectorIndex

pytestmark = pytest.mark.postgres

FACTS = [
    "Alice adopted a greyhound called Pixel last spring",
    "The quarterly report is due on Friday",
    "Bruno is training for the Lisbon marathon in October",
    "Our cat Mittens sleeps on the windowsill",
]


@pytest.fixture
def nodes(postgres_url: str, make_settings: Callable[..., Settings]) -> Iterator[tuple[Maia, Maia]]:
    settings = make_settings(embedding_provider="local")
    with (
        Maia.open(postgres_url, settings=settings) as one,
        Maia.open(postgres_url, settings=settings) as two,
    ):
        yield one, two


def _search(maia: Maia, query: str, namespace: str = "notes") -> list[str]:
    results, _ = maia.search(SearchRequest(query=query, namespace=namespace, limit=3))
    return [r.memory.content for r in results]


def test_opened_by_url_with_the_database_as_vector_index(nodes: tuple[Maia, Maia]) -> None:
    one, _ = nodes
    assert isinstance(one.engine.index, DatabaseVectorIndex)
    assert one.store.location.startswith("postgresql://")
    one.create_memories([MemoryCreate(namespace="notes", content=f) for f in FACTS])
    assert _search(one, "which dog did Alice get?")[0] == FACTS[0]
    assert _search(one, "running race training")[0] == FACTS[2]
    assert len(one.engine.index) == len(FACTS)
    context = one.assemble_context(ContextRequest(query="Alice's pet", namespace="notes"))
    assert FACTS[0] in context.content


def test_one_pooled_connection_is_enough_to_search(
    postgres_url: str, make_settings: Callable[..., Settings]
) -> None:
    """A search reads in one transaction, the database's vector search included (from
    another thread it would wait for a second connection of a pool of one)."""
    settings = make_settings(embedding_provider="local", postgres_pool_min=1, postgres_pool_max=1)
    with Maia.open(postgres_url, settings=settings) as maia:
        maia.create_memories([MemoryCreate(namespace="notes", content=f) for f in FACTS])
        assert _search(maia, "which dog did Alice get?")[0] == FACTS[0]
        context = maia.assemble_context(ContextRequest(query="Alice's pet", namespace="notes"))
        assert FACTS[0] in context.content


def test_a_write_on_one_node_is_found_on_the_other_at_once(nodes: tuple[Maia, Maia]) -> None:
    one, two = nodes
    (memory,) = one.create_memories([MemoryCreate(namespace="notes", content=FACTS[0])])
    assert _search(two, "Alice's greyhound") == [FACTS[0]]
    two.update_memory(memory.id, MemoryUpdate(content="Alice adopted a whippet called Pixel"))
    assert _search(one, "Alice's whippet") == ["Alice adopted a whippet called Pixel"]
    (other,) = two.create_memories([MemoryCreate(namespace="notes", content=FACTS[3])])
    one.relate(memory.id, RelationCreate(target_id=other.id, type=RelationType.RELATED_TO))
    assert [r.memory.id for r in two.related(memory.id)] == [other.id]
    one.delete_memories([memory.id])
    assert "Alice adopted a whippet called Pixel" not in _search(two, "Alice's whippet")


def test_a_quota_holds_across_nodes(nodes: tuple[Maia, Maia]) -> None:
    one, two = nodes
    tenant = one.create_tenant(TenantCreate(name="small", quotas=TenantQuotas(max_memories=10)))
    views = [one.for_tenant(tenant.id), two.for_tenant(tenant.id)]
    stored: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()

    def writer(view: Maia, n: int) -> None:
        for i in range(n):
            try:
                view.create_memories([MemoryCreate(namespace="q", content=f"note {i}")])
            except QuotaExceeded:
                with lock:
                    refused.append(i)
            else:
                with lock:
                    stored.append(i)

    threads = [threading.Thread(target=writer, args=(views[i % 2], 5)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stored) == 10
    assert len(refused) == 20
    assert views[0].count_memories() == 10


def test_a_bad_url_scheme_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(InvalidInput, match="postgresql://"):
        Maia.open("mysql://user@host/db", settings=make_settings())
