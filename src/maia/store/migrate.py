"""Copying every record from one store to another (SQLite to PostgreSQL and back).

Store to store, through the Store protocol: tenants, API keys (hashes), namespaces,
memories with their embeddings, and relations. Records already in the target (same
id) are skipped, so an interrupted copy is resumed by running it again. ``verify``
compares counts and a checksum of every tenant's memories and embeddings on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from maia.errors import Conflict
from maia.models import ZERO_TIME, ApiKey, Memory, MemoryFilter, Page, Tenant
from maia.store.base import Store, StoreReader, VectorRow, batched, chunked, every

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

BATCH = 500
PAGE = 1000
T = TypeVar("T")

# (what, how many more) after each batch; ("indexes", 0) when the copying is done
# and the target builds its indexes.
Progress = Callable[[str, int], None]


@dataclass
class CopyReport:
    tenants: int = 0
    api_keys: int = 0
    namespaces: int = 0
    memories: int = 0
    vectors: int = 0
    relations: int = 0
    skipped: int = 0  # records the target already had

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Tally:
    """What one store holds, per tenant: counts and a checksum of memories + embeddings."""

    tenants: int
    api_keys: int
    namespaces: dict[str, int] = field(default_factory=dict)
    memories: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    # Per tenant, a checksum of its own record, its keys and its namespaces.
    records: dict[str, str] = field(default_factory=dict)

    def differences(self, other: Tally) -> list[str]:
        found: list[str] = []
        for name in ("tenants", "api_keys", "namespaces", "memories", "checksums", "records"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                found.append(f"{name}: source {mine} != target {theirs}")
        return found


def _pages(store: Store, fetch: Callable[[StoreReader, Page], list[T]]) -> Iterator[list[T]]:
    """Every page of a listing, 1,000 records at a time, each page in its own read."""
    offset = 0
    while True:
        with store.read() as tx:
            page = fetch(tx, Page(limit=PAGE, offset=offset))
        yield page
        if len(page) < PAGE:
            return
        offset += len(page)


def _tenants(store: Store) -> Iterator[Tenant]:
    for page in _pages(store, lambda tx, page: tx.list_tenants(page)):
        yield from page


def total_memories(store: Store) -> int:
    with store.read() as tx:
        return tx.total_memories()


def copy_store(source: Store, target: Store, progress: Progress | None = None) -> CopyReport:
    """Copies what ``target`` lacks of ``source``; safe to run again after a failure."""
    report = CopyReport()
    tick = progress or (lambda _what, _n: None)
    with target.bulk_load():
        for tenant in _tenants(source):
            _copy_tenant(source, target, tenant, report, tick)
        tick("indexes", 0)  # the target builds what it deferred as the block ends
    return report


def _copy_tenant(
    source: Store, target: Store, tenant: Tenant, report: CopyReport, tick: Progress
) -> None:
    with target.write() as tx:
        held = tx.get_tenant(tenant.id)
        if held is None:
            tx.insert_tenant(tenant)
            report.tenants += 1
        elif held != tenant:  # quotas, config: a server on the target made its own
            tx.update_tenant(tenant)
            report.tenants += 1
        else:
            report.skipped += 1
    _copy_keys(source, target, tenant.id, report)
    _copy_namespaces(source, target, tenant.id, report)
    _copy_memories(source, target, tenant.id, report, tick)


def _copy_keys(source: Store, target: Store, tenant: str, report: CopyReport) -> None:
    with source.read() as tx:
        keys = tx.list_api_keys(tenant)
    with target.write() as tx:
        for key in keys:
            held = tx.get_api_key(key.key)
            if held is not None:
                if key.revoked_at is not None and held.revoked_at is None:
                    tx.revoke_api_key(key.key, key.revoked_at)  # since the last copy
                    report.api_keys += 1
                else:
                    report.skipped += 1
                continue
            tx.insert_api_key(key)
            if key.revoked_at is not None:
                tx.revoke_api_key(key.key, key.revoked_at)
            report.api_keys += 1
        used = {k.key: k.last_used_at for k in keys if k.last_used_at != ZERO_TIME}
        if used:
            tx.set_keys_last_used(used)


def _copy_namespaces(source: Store, target: Store, tenant: str, report: CopyReport) -> None:
    for page in _pages(source, lambda tx, page: tx.list_namespaces(tenant, page)):
        with target.write() as tx:
            for namespace in page:
                held = tx.get_namespace_by_name(tenant, namespace.name)
                if held is not None and held.id == namespace.id:
                    if held != namespace:  # its config changed since the last copy
                        tx.update_namespace(tenant, namespace)
                        report.namespaces += 1
                    else:
                        report.skipped += 1
                    continue
                if held is not None:
                    # A server started on the target made its own (``default``): while
                    # it holds nothing, the source's takes its place.
                    if tx.count_memories(tenant, namespace.name):
                        raise Conflict(
                            f"namespace {namespace.name!r} of tenant {tenant!r} exists in the "
                            "target under another id and holds memories: migrate into a "
                            "store without it"
                        )
                    tx.delete_namespace(tenant, held.id)
                tx.insert_namespace(tenant, namespace)
                report.namespaces += 1


def _copy_memories(
    source: Store, target: Store, tenant: str, report: CopyReport, tick: Progress
) -> None:
    # One snapshot of the source, streamed in batches; each batch is one target
    # transaction (memories, then their embeddings under the target's keys).
    ids: list[str] = []
    with source.read() as reader:
        for batch in batched(reader.iter_memories(tenant, MemoryFilter()), BATCH):
            _write_batch(reader, target, tenant, batch, report)
            ids += [m.id for m in batch]
            tick("memories", len(batch))
        # Relations last: both ends exist by now. Those the target has are skipped.
        for chunk in chunked(ids):
            edges = reader.edges(tenant, chunk, direction="out")
            if not edges:
                continue
            with target.write() as tx:
                have = {
                    (e.source_id, e.target_id, e.type)
                    for e in tx.edges(tenant, chunk, direction="out")
                }
                new = [e for e in edges if (e.source_id, e.target_id, e.type) not in have]
                for edge in new:
                    tx.put_edge(tenant, edge)
            report.relations += len(new)


def _write_batch(
    reader: StoreReader, target: Store, tenant: str, batch: list[Memory], report: CopyReport
) -> None:
    vectors = reader.vectors_of(tenant, [m.id for m in batch])
    with target.write() as tx:
        existing = tx.memory_owners([m.id for m in batch])
        taken = sorted(i for i, owner in existing.items() if owner != tenant)
        if taken:  # ids are unique across tenants: its relations would cross over
            raise Conflict(
                f"memory {taken[0]} of tenant {tenant!r} belongs to another tenant in the "
                f"target ({len(taken)} such ids in this batch)"
            )
        new = [m for m in batch if m.id not in existing]
        report.skipped += len(batch) - len(new)
        if not new:
            return
        seqs = tx.insert_memories(tenant, new)
        rows = [
            VectorRow(seq, vectors[m.id].model_id, vectors[m.id].vector)
            for seq, m in zip(seqs, new, strict=True)
            if m.id in vectors
        ]
        if rows:
            tx.put_vectors(rows)
        report.memories += len(new)
        report.vectors += len(rows)


def tally(store: Store) -> Tally:
    """Counts and per-tenant checksums (memories oldest first, with their embeddings,
    then their relations)."""
    namespaces: dict[str, int] = {}
    memories: dict[str, int] = {}
    checksums: dict[str, str] = {}
    records: dict[str, str] = {}
    keys = 0
    tenants = list(_tenants(store))
    with store.read() as tx:
        for tenant in tenants:
            api_keys = tx.list_api_keys(tenant.id)
            keys += len(api_keys)
            namespaces[tenant.id] = tx.count_namespaces(tenant.id)
            records[tenant.id] = _records_digest(tx, tenant, api_keys)
            digest = hashlib.sha256()
            count = 0
            ids: list[str] = []
            for batch in batched(tx.iter_memories(tenant.id, MemoryFilter()), BATCH):
                count += _digest(tx, tenant.id, batch, digest)
                ids += [m.id for m in batch]
            memories[tenant.id] = count
            edges = [
                edge
                for chunk in chunked(sorted(ids))
                for edge in tx.edges(tenant.id, chunk, direction="out")
            ]
            for edge in sorted(edges, key=lambda e: (e.source_id, e.target_id, e.type)):
                digest.update(edge.model_dump_json().encode())
            checksums[tenant.id] = digest.hexdigest()
    return Tally(len(tenants), keys, namespaces, memories, checksums, records)


def _records_digest(reader: StoreReader, tenant: Tenant, keys: list[ApiKey]) -> str:
    """The tenant's record, its keys and its namespaces, each in a fixed order."""
    digest = hashlib.sha256(tenant.model_dump_json().encode())
    for key in sorted(keys, key=lambda k: k.key):
        digest.update(key.model_dump_json().encode())
    held = every(lambda page: reader.list_namespaces(tenant.id, page), PAGE)
    for namespace in sorted(held, key=lambda n: n.id):
        digest.update(namespace.model_dump_json().encode())
    return digest.hexdigest()


def _digest(reader: StoreReader, tenant: str, batch: list[Memory], digest: Hash) -> int:
    vectors = reader.vectors_of(tenant, [m.id for m in batch])
    for memory in batch:
        digest.update(memory.model_dump_json(exclude={"relations"}).encode())
        stored = vectors.get(memory.id)
        if stored is not None:
            digest.update(stored.model_id.encode() + stored.vector)
    return len(batch)
