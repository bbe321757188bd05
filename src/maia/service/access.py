"""Access counting off the response path: ids are queued and written in batches."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


class AccessRecorder:
    """Collects (tenant, memory id) accesses and flushes them from a daemon thread."""

    def __init__(
        self, flush: Callable[[str, Sequence[str]], None], *, interval: float = 0.5
    ) -> None:
        self._flush = flush
        self._interval = interval
        self._pending: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maia-access", daemon=True)
        self._thread.start()

    def record(self, tenant: str, memory_ids: Sequence[str]) -> None:
        if memory_ids:
            with self._lock:
                self._pending[tenant].extend(memory_ids)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(list)
        for tenant, ids in pending.items():
            try:
                self._flush(tenant, ids)
            except Exception:  # access counts are best effort; never break a request
                log.exception("could not record %d accesses", len(ids))

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._interval)
            self.flush()

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()
