"""State shared by the façade's parts: the store, settings, tenant and clock."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from maia.errors import Forbidden
from maia.models import utcnow
from maia.retrieval.embed.base import Vectors
from maia.retrieval.engine import RetrievalEngine
from maia.security.audit import AuditLog
from maia.security.principal import Principal
from maia.service.access import AccessRecorder
from maia.settings import Settings
from maia.store.base import Store, StoreWriter

DEFAULT_TENANT = "system"

Clock = Callable[[], datetime]


def new_id() -> str:
    return str(uuid.uuid4())


T = TypeVar("T")


class Timings:
    """Where the service reports how long its expensive steps took (embedding, search,
    context assembly, write transactions); transports attach listeners (metrics)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str, float], None]] = []

    @contextlib.contextmanager
    def listening(self, listener: Callable[[str, float], None]) -> Iterator[None]:
        """Reports to ``listener`` while the block runs (an app's lifetime)."""
        self._listeners.append(listener)
        try:
            yield
        finally:
            self._listeners.remove(listener)

    @contextlib.contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        if not self._listeners:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            for listener in self._listeners:
                listener(operation, elapsed)


class StripedLocks:
    """Locks picked by a key's hash: callers with one key exclude each other (callers
    with other keys only when they share a stripe), in memory bounded whatever the
    number of keys."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    def __call__(self, *key: Hashable) -> threading.Lock:
        return self._locks[hash(key) % len(self._locks)]


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
        principal: Principal | None = None,
        audit: AuditLog | None = None,
        timings: Timings | None = None,
        locks: StripedLocks | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._engine = engine
        self._principal = principal or Principal(tenant, "library")
        self._tenant = self._principal.tenant_id
        self._clock = clock
        self._access = access or AccessRecorder(self._touch_batch)
        self._audit = audit
        self._timings = timings or Timings()
        # Shared by every view of one instance: what must not run twice at once.
        self._locks = locks or StripedLocks()

    @property
    def timings(self) -> Timings:
        return self._timings

    @contextlib.contextmanager
    def _write(self) -> Iterator[StoreWriter]:
        """A write transaction of the store, timed."""
        with self._timings.timed("store_write"), self._store.write() as tx:
            yield tx

    def _embed(self, contents: Sequence[str]) -> Vectors:
        with self._timings.timed("embed"):
            return self._engine.embed_contents(contents)

    def _authorize(self, namespace: str) -> None:
        """Raises ``Forbidden`` when the caller's key may not use ``namespace``."""
        if not self._principal.may_use(namespace):
            raise Forbidden(f"access denied for namespace: {namespace}")

    def _scoped_namespace(self, namespace: str | None) -> str | None:
        """The namespace an operation without one runs in: none (all of the tenant's)
        for an unrestricted caller; the key's default namespace for a restricted one."""
        if namespace is not None:
            self._authorize(namespace)
            return namespace
        if not self._principal.restricted:
            return None
        default = self._principal.default_namespace
        if default is None:
            raise Forbidden(
                "access denied for namespace: this key is limited to "
                f"{', '.join(self._principal.namespaces)}; name a namespace"
            )
        self._authorize(default)
        return default

    def _record(self, action: str, target: str | None = None, **details: Any) -> None:
        """Writes an audit event for a change made by this view's caller."""
        if self._audit is not None:
            key_hash = self._principal.key_hash
            if key_hash is not None:
                details["key_id"] = key_hash[:12]  # the key's name need not be unique
            self._audit.record(
                action,
                tenant_id=self._tenant,
                actor=self._principal.name,
                target=target,
                **details,
            )

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

    def now(self) -> datetime:
        """The current time by this instance's clock."""
        return self._clock()

    @property
    def audit(self) -> AuditLog | None:
        return self._audit

    @property
    def principal(self) -> Principal:
        return self._principal
