"""What an upgrade of either store must do to data written before it."""

from __future__ import annotations

from collections.abc import Callable

from maia.store.base import Store, relation_size, stored_size
from tests.store.builders import edge, memory


def check_relation_metadata_counted_once_upgraded(
    open_store: Callable[[], Store], downgrade: Callable[[int], None]
) -> None:
    """Writes two memories and a relation with metadata, has ``downgrade`` put the
    database back as the version before relation metadata counted (given the bytes that
    version counted), reopens it, and checks that the usage counts the metadata, and
    keeps counting it."""
    a, b = memory("a"), memory("b")
    relation = edge(a.id, b.id, metadata={"note": "é" * 50})
    store = open_store()
    with store.write() as tx:
        tx.insert_memories("t", [a, b])
        tx.put_edge("t", relation)
    store.close()
    memories = stored_size(a) + stored_size(b)
    downgrade(memories)
    store = open_store()
    with store.read() as tx:
        assert tx.tenant_usage("t") == (2, memories + relation_size(relation))
    with store.write() as tx:
        tx.delete_edges("t", a.id, b.id)
    with store.read() as tx:
        assert tx.tenant_usage("t") == (2, memories)
    store.close()
