"""State shared by the façade's parts: the store, settings, tenant and clock."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from maia.models import utcnow
from maia.retrieval.engine import RetrievalEngine
from maia.service.access import AccessRecorder
from maia.settings import Settings
from maia.store.base import Store

DEFAULT_TENANT = "system"

Clock = Callable[[], datetime]


def new_id() -> str:
    return str(uuid.uuid4())


class ServiceBase:
    """Holds what every operation needs; subclasses add operations by concern."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        engine: RetrievalEngine,
        *,
        tenant: str = DEFAULT_TENANT,
        clock: Clock = utcnow,
        access: AccessRecorder | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._engine = engine
        self._tenant = tenant
        self._clock = clock
        self._access = access or AccessRecorder(self._touch_batch)

    def _touch_batch(self, tenant: str, memory_ids: Sequence[str]) -> None:
        """Counts every access queued: a memory queued n times (n contexts within one
        flush interval) is touched in n rounds, not once."""
        times = Counter(memory_ids)
        at = self._clock()
        with self._store.write() as tx:
            for level in range(1, max(times.values(), default=0) + 1):
                tx.touch_memories(tenant, [i for i, n in times.items() if n >= level], at)

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def store(self) -> Store:
        return self._store

    @property
    def engine(self) -> RetrievalEngine:
        return self._engine

    @property
    def tenant(self) -> str:
        return self._tenant
