"""Operations on the instance as a whole: stats, readiness, retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from maia.models import Page, Stats
from maia.service.search import SearchOps

log = logging.getLogger(__name__)


class AdminOps(SearchOps):
    def stats(self) -> Stats:
        with self._store.read() as tx:
            memories = tx.count_memories(self._tenant)
            namespaces = tx.count_namespaces(self._tenant)
        return Stats(
            total_memories=memories,
            total_namespaces=namespaces,
            storage_size_bytes=self._store.size_bytes(),
        )

    def check_ready(self) -> None:
        """Raises ``Unavailable`` when the store cannot serve requests."""
        self._store.check()

    def purge_expired(self, now: datetime | None = None) -> int:
        """Deletes memories older than their namespace's ``retention_days``."""
        now = now or self._clock()
        purged = 0
        offset = 0
        while True:
            namespaces = self.list_namespaces(Page(limit=1000, offset=offset))
            for namespace in namespaces:
                days = self.effective_config(namespace.name).retention_days
                if days:
                    with self._store.write() as tx:
                        purged += tx.delete_memories_before(
                            self._tenant, namespace.name, now - timedelta(days=days)
                        )
            if len(namespaces) < 1000:
                break
            offset += 1000
        if purged:
            log.info("retention purged %d memories (tenant %s)", purged, self._tenant)
        return purged
