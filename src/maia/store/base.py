"""The Store protocol: everything the service needs from a database, nothing more.

Reads happen in ``store.read()``, writes in ``store.write()``; one ``write()`` block
is one transaction, so a service operation (check a quota, then insert a batch) is
all or nothing. Every method takes the tenant id and filters by it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from maia.models import Memory, MemoryFilter, Namespace, Page


@dataclass(frozen=True, slots=True)
class TextHit:
    """A full-text match: the memory and its BM25 relevance (higher is better, >= 0)."""

    memory: Memory
    bm25: float


class StoreReader(Protocol):
    def get_memory(self, tenant: str, memory_id: str) -> Memory | None: ...

    def get_memories(self, tenant: str, memory_ids: Sequence[str]) -> list[Memory]: ...

    def list_memories(self, tenant: str, flt: MemoryFilter, page: Page) -> list[Memory]:
        """Memories matching ``flt``, oldest first (created_at, then insertion order)."""
        ...

    def count_memories(self, tenant: str, namespace: str | None = None) -> int: ...

    def search_text(self, tenant: str, query: str, flt: MemoryFilter, limit: int) -> list[TextHit]:
        """BM25 matches of any query word, best first. Never fails on query syntax."""
        ...

    def get_namespace(self, tenant: str, id_or_name: str) -> Namespace | None:
        """Looks up by id first, then by name."""
        ...

    def list_namespaces(
        self, tenant: str, page: Page, *, prefix: str | None = None
    ) -> list[Namespace]:
        """Namespaces oldest first; ``prefix`` keeps names starting with it."""
        ...

    def namespace_children(self, tenant: str, name: str) -> list[Namespace]:
        """Direct children: explicit ``parent == name``, or hierarchical ``name/x``."""
        ...

    def count_namespaces(self, tenant: str) -> int: ...


class StoreWriter(StoreReader, Protocol):
    def insert_memories(self, tenant: str, memories: Sequence[Memory]) -> None: ...

    def update_memory(self, tenant: str, memory: Memory) -> None:
        """Replaces content, metadata, tags, confidence and timestamps of ``memory.id``."""
        ...

    def delete_memories(self, tenant: str, memory_ids: Sequence[str]) -> int: ...

    def touch_memories(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> int:
        """Adds one to access_count and sets accessed_at; returns how many were found."""
        ...

    def delete_memories_before(self, tenant: str, namespace: str, before: datetime) -> int:
        """Retention: deletes the namespace's memories last updated before ``before``."""
        ...

    def insert_namespace(self, tenant: str, namespace: Namespace) -> None:
        """Raises ``AlreadyExists`` when the name is taken."""
        ...

    def update_namespace(self, tenant: str, namespace: Namespace) -> None: ...

    def delete_namespace(self, tenant: str, namespace_id: str) -> None: ...


class Store(Protocol):
    """A database MAIA keeps its records in (SQLite embedded, PostgreSQL scaled out)."""

    @property
    def location(self) -> str: ...

    def read(self) -> AbstractContextManager[StoreReader]: ...

    def write(self) -> AbstractContextManager[StoreWriter]: ...

    def check(self) -> None:
        """Raises ``Unavailable`` when the database cannot serve requests."""
        ...

    def size_bytes(self) -> int: ...

    def close(self) -> None: ...


def chunked(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """Splits long id lists so a query stays under the database's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
