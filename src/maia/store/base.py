"""The Store protocol: everything the service needs from a database, nothing more.

Reads happen in ``store.read()``, writes in ``store.write()``; one ``write()`` block
is one transaction, so a service operation (check a quota, then insert a batch) is
all or nothing. Every method takes the tenant id and filters by it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

from maia.models import ApiKey, Edge, Memory, MemoryFilter, Namespace, Page, RelationType, Tenant

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TextHit:
    """A full-text match: the memory, its key and its BM25 relevance (higher is better)."""

    seq: int
    memory: Memory
    bm25: float


class RankRow(NamedTuple):
    """What ranking reads of a memory: less than a ``Memory`` (no metadata or tags to
    decode), since a search weighs a few hundred candidates to return a page. (A named
    tuple: a search builds a few hundred, at a third of a frozen dataclass's cost.)"""

    seq: int
    id: str
    content: str
    created_us: int  # microseconds since the Unix epoch (UTC), as accessed_us
    access_count: int
    confidence: float
    type: str
    token_count: int | None
    accessed_us: int


@dataclass(frozen=True, slots=True)
class StoredVector:
    """An embedding as stored: the memory's key, where it lives, and the raw float32 bytes."""

    seq: int
    tenant: str
    namespace: str
    vector: bytes


@dataclass(frozen=True, slots=True)
class StoredText:
    """A memory's words as the full-text index keeps them: key, place, text and time."""

    seq: int
    tenant: str
    namespace: str
    content: str
    tags: Sequence[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VectorRow:
    """An embedding to write for the memory with key ``seq``."""

    seq: int
    model_id: str
    vector: bytes


class StoreReader(Protocol):
    def get_memory(self, tenant: str, memory_id: str) -> Memory | None: ...

    def get_memories(self, tenant: str, memory_ids: Sequence[str]) -> list[Memory]: ...

    def list_memories(
        self, tenant: str, flt: MemoryFilter, page: Page, *, newest_first: bool = False
    ) -> list[Memory]:
        """Memories matching ``flt``, oldest first (created_at, then insertion order), or
        in the reverse order with ``newest_first``."""
        ...

    def count_memories(self, tenant: str, namespace: str | None = None) -> int: ...

    def memory_namespaces(self, tenant: str) -> list[str]:
        """The namespaces holding memories (with or without a namespace record)."""
        ...

    def namespace_usage(self, tenant: str, namespaces: Sequence[str]) -> tuple[int, int]:
        """(memory count, bytes) of ``namespaces``: the memories' ``stored_size`` and the
        metadata of the relations from them (as ``tenant_usage`` counts them)."""
        ...

    def memories_by_seq(
        self, tenant: str, seqs: Sequence[int], flt: MemoryFilter | None = None
    ) -> dict[int, Memory]:
        """The memories with these keys that also match ``flt``."""
        ...

    def rank_rows(
        self, tenant: str, seqs: Sequence[int], flt: MemoryFilter | None = None
    ) -> dict[int, RankRow]:
        """``memories_by_seq`` with only the fields ranking needs."""
        ...

    def neighbors(
        self, tenant: str, seqs: Sequence[int], radius: int, within_us: int | None = None
    ) -> dict[int, list[tuple[int, int]]]:
        """For each key, the memories written just before and after it in the same
        namespace (by created_at, then key): ``(key, distance)`` with distance 1..radius;
        with ``within_us``, only those created at most that many microseconds from it."""
        ...

    def predecessors(
        self, tenant: str, seqs: Sequence[int], within_us: int | None = None
    ) -> dict[int, int]:
        """For each key that has one, the memory written just before it in the same
        namespace (by created_at, then key): ``neighbors`` at distance 1, earlier side."""
        ...

    def seqs_matching(self, tenant: str, flt: MemoryFilter) -> set[int]:
        """Keys of every memory matching ``flt`` (for filtered vector search)."""
        ...

    def search_text(self, tenant: str, query: str, flt: MemoryFilter, limit: int) -> list[TextHit]:
        """BM25 matches of any query word, best first. Never fails on query syntax."""
        ...

    def text_matches(
        self, tenant: str, query: str, flt: MemoryFilter, limit: int
    ) -> list[tuple[int, float]]:
        """``search_text`` as (key, relevance) pairs, without reading the memories."""
        ...

    def get_namespace(self, tenant: str, id_or_name: str) -> Namespace | None:
        """Looks up by id first, then by name (for ``{ns}`` path parameters)."""
        ...

    def get_namespace_by_name(self, tenant: str, name: str) -> Namespace | None:
        """Looks up by name only: a memory's ``namespace`` and a record's ``parent``
        are names, never ids."""
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

    def iter_vectors(self, model_id: str) -> Iterator[StoredVector]:
        """Every stored embedding of ``model_id``, all tenants (to build the index)."""
        ...

    def iter_texts(self) -> Iterator[StoredText]:
        """Every memory's content and tags, all tenants (to build the full-text index)."""
        ...

    def vector_counts(self) -> dict[str, int]:
        """How many embeddings each model id has."""
        ...

    def vector_generation(self) -> int:
        """A counter bumped by every embedding change."""
        ...

    def memories_without_vector(
        self, model_id: str, after_seq: int, limit: int
    ) -> list[tuple[int, str, str, str]]:
        """(key, tenant, namespace, content) of memories lacking a ``model_id``
        embedding, all tenants, by key after ``after_seq``."""
        ...

    def total_memories(self) -> int:
        """Memories of all tenants."""
        ...

    # -- export and import -----------------------------------------------------------

    def iter_memories(self, tenant: str, flt: MemoryFilter) -> Iterator[Memory]:
        """Every memory matching ``flt``, oldest first (created_at, then insertion order),
        streamed: one query however many there are."""
        ...

    def vectors_of(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, VectorRow]:
        """The stored embedding of each of these memories that has one, by memory id."""
        ...

    def memory_owners(self, memory_ids: Sequence[str]) -> dict[str, str]:
        """The tenant of each of these memory ids that exists, all tenants (ids are
        unique across tenants, so an import must not reuse another tenant's)."""
        ...

    def namespace_owners(self, namespace_ids: Sequence[str]) -> dict[str, str]:
        """The tenant of each of these namespace ids that exists, all tenants."""
        ...

    def edges(
        self,
        tenant: str,
        memory_ids: Sequence[str],
        *,
        types: Sequence[RelationType] = (),
        direction: str = "out",
    ) -> list[Edge]:
        """Relations leaving (``out``), entering (``in``) or touching (``both``) memories."""
        ...

    # -- tenants and API keys (they define tenants, so they are not tenant-filtered) --

    def get_tenant(self, tenant_id: str) -> Tenant | None: ...

    def list_tenants(
        self, page: Page, *, status: str | None = None, plan: str | None = None
    ) -> list[Tenant]: ...

    def count_tenants(self, *, status: str | None = None, plan: str | None = None) -> int: ...

    def tenant_usage(self, tenant_id: str) -> tuple[int, int]:
        """(memory count, storage bytes), kept up to date by every memory and relation write."""
        ...

    def get_api_key(self, key_hash: str) -> ApiKey | None: ...

    def list_api_keys(self, tenant_id: str) -> list[ApiKey]: ...

    def count_usable_api_keys(self, now: datetime) -> int:
        """Keys neither revoked nor expired at ``now``, all tenants."""
        ...


class StoreWriter(StoreReader, Protocol):
    def insert_memories(self, tenant: str, memories: Sequence[Memory]) -> list[int]:
        """Inserts and returns the new memories' keys, in order."""
        ...

    def update_memory(self, tenant: str, memory: Memory) -> int | None:
        """Replaces content, metadata, tags, confidence and timestamps of ``memory.id``;
        returns its key, or None if it does not exist."""
        ...

    def replace_memory(self, tenant: str, memory: Memory) -> int | None:
        """Replaces every stored field of ``memory.id`` (namespace, type, source and
        created_at included; an import's overwrite); returns its key, or None."""
        ...

    def delete_memories(self, tenant: str, memory_ids: Sequence[str]) -> list[int]:
        """Deletes and returns the keys of the memories that existed."""
        ...

    def put_vectors(self, rows: Sequence[VectorRow]) -> None:
        """Sets (replaces) the embedding of each memory key."""
        ...

    def delete_vectors_except(self, model_id: str) -> int:
        """Drops embeddings of every other model (after a model change)."""
        ...

    def put_edge(self, tenant: str, edge: Edge) -> None:
        """Creates or replaces the relation (source, target, type)."""
        ...

    def delete_edges(
        self, tenant: str, source_id: str, target_id: str, types: Sequence[RelationType] = ()
    ) -> int: ...

    def touch_memories(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> int:
        """Adds one to access_count and sets accessed_at; returns how many were found."""
        ...

    def delete_memories_before(self, tenant: str, namespace: str, before: datetime) -> list[int]:
        """Retention: deletes the namespace's memories last updated before ``before``."""
        ...

    def insert_namespace(self, tenant: str, namespace: Namespace) -> None:
        """Raises ``AlreadyExists`` when the name is taken."""
        ...

    def update_namespace(self, tenant: str, namespace: Namespace) -> None: ...

    def delete_namespace(self, tenant: str, namespace_id: str) -> None: ...

    def insert_tenant(self, tenant: Tenant) -> None:
        """Raises ``AlreadyExists`` when the id or name is taken."""
        ...

    def update_tenant(self, tenant: Tenant) -> None: ...

    def delete_tenant(self, tenant_id: str) -> list[int]:
        """Deletes the tenant with its keys and data; returns the deleted memory keys."""
        ...

    def insert_api_key(self, key: ApiKey) -> None: ...

    def revoke_api_key(self, key_hash: str, at: datetime) -> bool:
        """False when the key is unknown or already revoked."""
        ...

    def set_keys_last_used(self, used: Mapping[str, datetime]) -> None: ...


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

    def backup(self, dest: Path) -> None:
        """Writes a consistent copy of the whole database (every tenant) to ``dest``
        while it keeps serving."""
        ...

    def bulk_load(self) -> AbstractContextManager[None]:
        """A block of many writes (a migration, a re-embedding): the store may build
        derived structures (a vector index, planner statistics) once at its end rather
        than row by row. Reads and writes work as usual inside it."""
        ...

    def close(self) -> None: ...


def stored_size(memory: Memory) -> int:
    """The bytes a memory counts against a storage quota: UTF-8 content plus its
    metadata and tags as compact JSON (what ``tenant_usage`` sums)."""
    return len(memory.content.encode()) + _json_size(memory.metadata) + _json_size(memory.tags)


def relation_size(edge: Edge) -> int:
    """The bytes a relation counts against a storage quota: its metadata as compact JSON."""
    return _json_size(edge.metadata)


def _json_size(value: object) -> int:
    """Bytes of ``value`` as the stores write it (compact JSON; nothing when empty)."""
    if not value:
        return 0
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """A stream in lists of ``size`` (the last one shorter), read as they are used."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def every(fetch: Callable[[Page], Sequence[T]], size: int = 1000) -> Iterator[T]:
    """Every item of a paged listing, fetched ``size`` at a time."""
    offset = 0
    while True:
        page = fetch(Page(limit=size, offset=offset))
        yield from page
        if len(page) < size:
            return
        offset += size


def chunked(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Splits long id lists so a query stays under the database's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
