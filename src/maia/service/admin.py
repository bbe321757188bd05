"""Operations on the instance as a whole: stats, readiness, retention."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from maia.models import SYSTEM_TENANT, Stats
from maia.service.relations import RelationOps
from maia.store.base import every

log = logging.getLogger(__name__)


class AdminOps(RelationOps):
    def stats(self) -> Stats:
        if self._principal.restricted:
            return self._granted_stats()
        with self._store.read() as tx:
            memories = tx.count_memories(self._tenant)
            namespaces = tx.count_namespaces(self._tenant)
            # The store's size is every tenant's: others see their own usage only.
            own = tx.tenant_usage(self._tenant)[1] if self._tenant != SYSTEM_TENANT else None
        return Stats(
            total_memories=memories,
            total_namespaces=namespaces,
            storage_size_bytes=self._store.size_bytes() if own is None else own,
        )

    def _granted_stats(self) -> Stats:
        """A key limited to some namespaces sees what they hold, not the tenant's totals
        (which would tell of namespaces it may not see)."""
        with self._store.read() as tx:
            names = [n for n in tx.memory_namespaces(self._tenant) if self._principal.may_use(n)]
            memories, size = tx.namespace_usage(self._tenant, names)
        return Stats(
            total_memories=memories,
            total_namespaces=sum(1 for _ in every(self.list_namespaces)),
            storage_size_bytes=size,
        )

    def check_ready(self) -> None:
        """Raises ``Unavailable`` when the store cannot serve requests."""
        self._store.check()

    def purge_expired(self, now: datetime | None = None) -> int:
        """Deletes this tenant's memories older than their namespace's ``retention_days``.
        A namespace that fails is logged and skipped: the others are still purged."""
        now = now or self._clock()
        purged = 0
        for namespace in every(self.list_namespaces):
            try:
                purged += self._purge_namespace(namespace.name, now)
            except Exception:
                log.exception(
                    "retention sweep failed for namespace %r (tenant %s)",
                    namespace.name,
                    self._tenant,
                )
        if purged:
            log.info("retention purged %d memories (tenant %s)", purged, self._tenant)
        return purged

    def _purge_namespace(self, name: str, now: datetime) -> int:
        days = self.effective_config(name).retention_days
        if not days:
            return 0
        try:
            cutoff = now - timedelta(days=days)
        except OverflowError:  # a retention longer than the calendar: nothing is that old
            return 0
        with self._engine.updating():
            with self._write() as tx:
                seqs = tx.delete_memories_before(self._tenant, name, cutoff)
            self._engine.forget(seqs)
        return len(seqs)

    def reindex(self, progress: Callable[[int, int], None] | None = None, batch: int = 256) -> int:
        """Embeds every memory (all tenants) lacking an embedding of the current model and
        drops embeddings of other models. ``progress(done, total)`` is called per batch."""
        model = self._engine.embedder.model_id
        with self._write() as tx:
            tx.delete_vectors_except(model)
        with self._store.read() as tx:
            total = tx.total_memories() - tx.vector_counts().get(model, 0)
        done, after = 0, 0
        with self._store.bulk_load():
            while True:
                with self._store.read() as tx:
                    rows = tx.memories_without_vector(model, after, batch)
                if not rows:
                    break
                vectors = self._embed([content for *_, content in rows])
                seqs = [seq for seq, *_ in rows]
                with self._engine.updating():
                    with self._write() as tx:
                        tx.put_vectors(self._engine.vector_rows(seqs, vectors))
                    self._engine.indexed(
                        [(seq, tenant, ns) for seq, tenant, ns, _ in rows], vectors
                    )
                done += len(rows)
                after = seqs[-1]
                if progress is not None:
                    progress(done, max(total, done))
        return done
