"""Provider health: a small state machine per provider, fed by health checks and by the
outcome of real requests.

- ``unknown`` until the first observation; a success then makes it ``healthy`` at once.
- ``unhealthy_threshold`` failures in a row make it ``unhealthy``;
  ``healthy_threshold`` successes in a row make it ``healthy`` again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from maia.inference.cache import rfc3339

HEALTHY, UNHEALTHY, UNKNOWN = "healthy", "unhealthy", "unknown"


@dataclass(slots=True)
class ProviderHealth:
    status: str = UNKNOWN
    last_check: datetime | None = None
    last_error: str | None = None
    consecutive_errors: int = 0
    consecutive_ok: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The contract's ProviderHealth object."""
        result: dict[str, Any] = {"status": self.status}
        if self.last_check is not None:
            result["last_check"] = rfc3339(self.last_check)
        if self.last_error:
            result["last_error"] = self.last_error
        result["consecutive_errors"] = self.consecutive_errors
        result["consecutive_ok"] = self.consecutive_ok
        return result


class HealthTracker:
    """Thread-safe health records of a fixed set of providers."""

    def __init__(
        self,
        names: Iterable[str],
        *,
        unhealthy_threshold: int = 3,
        healthy_threshold: int = 2,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._records = {name: ProviderHealth() for name in names}
        self.unhealthy_threshold = unhealthy_threshold
        self.healthy_threshold = healthy_threshold
        self._clock = clock
        self._lock = threading.Lock()

    def success(self, name: str) -> None:
        with self._lock:
            record = self._records[name]
            record.last_check = self._clock()
            record.consecutive_ok += 1
            record.consecutive_errors = 0
            record.last_error = None
            if record.status == UNKNOWN or record.consecutive_ok >= self.healthy_threshold:
                record.status = HEALTHY

    def failure(self, name: str, error: str) -> None:
        with self._lock:
            record = self._records[name]
            record.last_check = self._clock()
            record.consecutive_errors += 1
            record.consecutive_ok = 0
            record.last_error = error
            if record.consecutive_errors >= self.unhealthy_threshold:
                record.status = UNHEALTHY

    def status(self, name: str) -> str:
        with self._lock:
            return self._records[name].status

    def snapshot(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._records[name].as_dict()

    def snapshots(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: record.as_dict() for name, record in self._records.items()}
