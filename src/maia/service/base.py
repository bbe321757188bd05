"""State shared by the façade's parts: the store, settings, tenant and clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from maia.models import utcnow
from maia.retrieval.engine import RetrievalEngine
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
    ) -> None:
        self._store = store
        self._settings = settings
        self._engine = engine
        self._tenant = tenant
        self._clock = clock

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
