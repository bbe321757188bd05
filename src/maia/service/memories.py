"""Memory operations: create (single and batch), read, update, delete, touch, list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from maia.errors import InvalidInput, NotFound, QuotaExceeded, Unavailable
from maia.models import (
    Memory,
    MemoryCreate,
    MemoryFilter,
    MemorySource,
    MemoryType,
    MemoryUpdate,
    Page,
    Relation,
)
from maia.service.base import new_id
from maia.service.namespaces import NamespaceOps
from maia.store.base import StoreWriter, stored_size

MAX_BATCH = 1000


class MemoryOps(NamespaceOps):
    def remember(
        self,
        content: str,
        *,
        namespace: str | None = None,
        type: MemoryType | str = MemoryType.SEMANTIC,
        tags: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        confidence: float | None = None,
        source: MemorySource | str = MemorySource.USER,
        created_at: datetime | None = None,
    ) -> Memory:
        """Stores one memory; ``namespace`` defaults to the configured default namespace."""
        data = MemoryCreate.model_validate(
            {
                "namespace": namespace or self._settings.default_namespace,
                "content": content,
                "type": type,
                "tags": list(tags) if tags is not None else None,
                "metadata": metadata,
                "confidence": confidence,
                "source": source,
                "created_at": created_at,
            }
        )
        return self.create_memory(data)

    def create_memory(self, data: MemoryCreate) -> Memory:
        return self.create_memories([data])[0]

    def create_memories(self, items: Sequence[MemoryCreate]) -> list[Memory]:
        """Creates all or none: any invalid item or exceeded limit writes nothing."""
        if not items:
            return []
        if len(items) > MAX_BATCH:
            raise InvalidInput(
                f"invalid memories: at most {MAX_BATCH} per batch, got {len(items)}",
                field="memories",
            )
        for data in items:
            self._authorize(data.namespace)
        now = self._clock()
        memories = [self._new_memory(i, data, now) for i, data in enumerate(items)]
        # Embedding is the slow part: done before taking the write lock.
        vectors = self._embed([m.content for m in memories])
        with self._engine.updating():
            with self._write() as tx:
                self._enforce_tenant_quota(tx, memories)
                self._enforce_namespace_rules(tx, memories)
                seqs = tx.insert_memories(self._tenant, memories)
                tx.put_vectors(self._engine.vector_rows(seqs, vectors))
            self._engine.indexed(
                [(seq, self._tenant, m.namespace) for seq, m in zip(seqs, memories, strict=True)],
                vectors,
            )
            self._engine.written(self._tenant, zip(seqs, memories, strict=True))
        for memory in memories:
            self._record("memory.create", memory.id, namespace=memory.namespace)
        return memories

    def _new_memory(self, index: int, data: MemoryCreate, now: datetime) -> Memory:
        self._check_length(data.content, f"memories[{index}].content" if index else "content")
        created = data.created_at or now
        return Memory(
            id=new_id(),
            namespace=data.namespace,
            content=data.content,
            type=data.type,
            metadata=data.metadata or None,
            tags=data.tags or [],
            created_at=created,
            updated_at=created,
            accessed_at=created,
            access_count=0,
            confidence=data.confidence,
            source=data.source,
            token_count=self._engine.tokens.count(data.content),
        )

    def _check_length(self, content: str, field: str) -> None:
        limit = self._settings.max_content_chars
        if len(content) > limit:
            raise InvalidInput(
                f"invalid content: must be at most {limit} characters, got {len(content)}",
                field=field,
            )

    def _enforce_tenant_quota(self, tx: StoreWriter, memories: Sequence[Memory]) -> None:
        """The tenant's plan limits, checked inside the write transaction (so concurrent
        writers cannot both take the last slot)."""
        tenant = tx.get_tenant(self._tenant)
        if tenant is None:
            return
        quotas = tenant.quotas
        if not (quotas.max_memories or quotas.max_storage_bytes):
            return
        count, size = tx.tenant_usage(self._tenant)
        if quotas.max_memories and count + len(memories) > quotas.max_memories:
            raise QuotaExceeded(
                "memory quota exceeded",
                limit=quotas.max_memories,
                current=count,
                details=f"tenant {self._tenant!r} holds {count} of {quotas.max_memories} "
                f"memories, cannot add {len(memories)}",
            )
        self._check_storage(quotas.max_storage_bytes, size, sum(stored_size(m) for m in memories))

    def _check_storage(self, limit: int, size: int, adding: int) -> None:
        """``QuotaExceeded`` when ``adding`` bytes to ``size`` would pass ``limit`` (0: none)."""
        if limit and adding > 0 and size + adding > limit:
            raise QuotaExceeded(
                "storage quota exceeded",
                limit=limit,
                current=size,
                details=f"tenant {self._tenant!r} stores {size} of {limit} bytes, "
                f"cannot add {adding}",
            )

    def _enforce_namespace_rules(self, tx: StoreWriter, memories: Sequence[Memory]) -> None:
        for name, adding in Counter(m.namespace for m in memories).items():
            config = self._effective_config(tx, name)
            if config.allowed_types:
                allowed = {t.value for t in config.allowed_types}
                for memory in memories:
                    if memory.namespace == name and memory.type.value not in allowed:
                        raise InvalidInput(
                            f"invalid type: namespace {name!r} allows only "
                            f"{', '.join(sorted(allowed))}, got {memory.type.value}",
                            field="type",
                        )
            if config.max_memories:
                current = tx.count_memories(self._tenant, name)
                if current + adding > config.max_memories:
                    raise QuotaExceeded(
                        f"namespace quota exceeded: {name!r} holds {current} of "
                        f"{config.max_memories} memories (max_memories), cannot add {adding}",
                        limit=config.max_memories,
                        current=current,
                    )

    def get_memory(self, memory_id: str, *, count_access: bool = False) -> Memory:
        """The memory as stored. With ``count_access`` the read is counted afterwards
        (the returned object shows the state before this access, as the contract says)."""
        with self._store.read() as tx:
            memory = tx.get_memory(self._tenant, memory_id)
            edges = [] if memory is None else tx.edges(self._tenant, [memory_id])
        if memory is None:
            raise NotFound(f"memory not found: {memory_id}")
        self._authorize(memory.namespace)
        if edges:
            memory = memory.model_copy(
                update={
                    "relations": [
                        Relation(
                            target_id=e.target_id, type=e.type, weight=e.weight, metadata=e.metadata
                        )
                        for e in edges
                    ]
                }
            )
        if count_access:
            try:
                self.touch([memory_id])
            except Unavailable:  # the store is busy: counted later, the read still answers
                self._access.record(self._tenant, [memory_id])
        return memory

    def get_memories(self, memory_ids: Sequence[str]) -> list[Memory]:
        """The memories that exist among ``memory_ids``, in the order asked."""
        with self._store.read() as tx:
            found = tx.get_memories(self._tenant, memory_ids)
        return [m for m in found if self._principal.may_use(m.namespace)]

    def update_memory(self, memory_id: str, data: MemoryUpdate) -> Memory:
        if data.content is not None:
            self._check_length(data.content, "content")
        vectors = None if data.content is None else self._embed([data.content])
        with self._engine.updating():
            with self._write() as tx:
                current = tx.get_memory(self._tenant, memory_id)
                if current is None:
                    raise NotFound(f"memory not found: {memory_id}")
                self._authorize(current.namespace)
                changes: dict[str, Any] = {"updated_at": self._clock()}
                if data.content is not None:
                    changes["content"] = data.content
                    changes["token_count"] = self._engine.tokens.count(data.content)
                if data.metadata is not None:
                    changes["metadata"] = data.metadata or None
                if data.tags is not None:
                    changes["tags"] = data.tags
                if data.confidence is not None:
                    changes["confidence"] = data.confidence
                updated = current.model_copy(update=changes)
                self._enforce_storage_growth(tx, stored_size(updated) - stored_size(current))
                seq = tx.update_memory(self._tenant, updated)
                if vectors is not None and seq is not None:
                    tx.put_vectors(self._engine.vector_rows([seq], vectors))
            if seq is not None:
                if vectors is not None:
                    self._engine.indexed([(seq, self._tenant, updated.namespace)], vectors)
                if data.content is not None or data.tags is not None:
                    self._engine.written(self._tenant, [(seq, updated)])
        self._record(
            "memory.update",
            memory_id,
            namespace=updated.namespace,
            fields=sorted(data.model_dump(exclude_none=True)),
        )
        return updated

    def _enforce_storage_growth(self, tx: StoreWriter, growth: int) -> None:
        """Growth of what the tenant stores (an update's content, metadata and tags, or a
        relation's metadata, as the usage counter counts them) against its storage quota."""
        if growth <= 0:
            return
        tenant = tx.get_tenant(self._tenant)
        if tenant is not None and tenant.quotas.max_storage_bytes:
            _, size = tx.tenant_usage(self._tenant)
            self._check_storage(tenant.quotas.max_storage_bytes, size, growth)

    def forget(self, memory_id: str) -> None:
        """Deletes one memory; ``NotFound`` if it does not exist."""
        self.delete_memories([memory_id])

    delete_memory = forget

    def delete_memories(self, memory_ids: Sequence[str]) -> int:
        """Deletes all or none: if any id is unknown nothing is deleted."""
        ids = list(dict.fromkeys(memory_ids))
        if not ids:
            return 0
        if len(ids) > MAX_BATCH:
            raise InvalidInput(
                f"invalid ids: at most {MAX_BATCH} per batch, got {len(ids)}", field="ids"
            )
        with self._engine.updating():
            with self._write() as tx:
                found = {m.id: m.namespace for m in tx.get_memories(self._tenant, ids)}
                missing = [i for i in ids if i not in found]
                if missing:
                    raise NotFound(f"memory not found: {', '.join(missing)}")
                for namespace in set(found.values()):
                    self._authorize(namespace)
                seqs = tx.delete_memories(self._tenant, ids)
            self._engine.forget(seqs)
        if len(ids) == 1:
            self._record("memory.delete", ids[0], namespace=found[ids[0]])
        else:
            self._record("memory.bulk_delete", count=len(ids), ids=ids)
        return len(seqs)

    def touch(self, memory_ids: Sequence[str]) -> int:
        """Counts one access of each memory; returns how many exist."""
        ids = list(dict.fromkeys(memory_ids))
        if self._principal.restricted:
            ids = [m.id for m in self.get_memories(ids)]
        if not ids:
            return 0
        with self._write() as tx:
            return tx.touch_memories(self._tenant, ids, self._clock())

    def list_memories(
        self,
        flt: MemoryFilter | None = None,
        page: Page | None = None,
        *,
        newest_first: bool = False,
    ) -> list[Memory]:
        """Memories matching ``flt``, oldest first (newest first with ``newest_first``)."""
        flt = self._scoped_filter(flt or MemoryFilter())
        with self._store.read() as tx:
            return tx.list_memories(self._tenant, flt, page or Page(), newest_first=newest_first)

    def count_memories(self, namespace: str | None = None) -> int:
        namespace = self._scoped_namespace(namespace)
        with self._store.read() as tx:
            return tx.count_memories(self._tenant, namespace)

    def _scoped_filter(self, flt: MemoryFilter) -> MemoryFilter:
        namespace = self._scoped_namespace(flt.namespace)
        if namespace == flt.namespace:
            return flt
        return flt.model_copy(update={"namespace": namespace})
