"""The response cache: LRU with a time to live, for repeatable requests only.

A request is cached when it is not streamed and asks for ``temperature`` 0 (absent means
the upstream's default, usually 1, so it is not cached). The key is the SHA-256 of the
request as canonical JSON (sorted keys, no whitespace) without ``stream``,
``stream_options`` and ``user`` (they do not change the answer), together with the
provider asked for explicitly, if any.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

IGNORED_FIELDS = frozenset({"stream", "stream_options", "user"})


def rfc3339(moment: datetime) -> str:
    """Second precision, UTC, with ``Z`` (the contract's time format)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cacheable(request: dict[str, Any]) -> bool:
    temperature = request.get("temperature")
    return (
        not request.get("stream")
        and isinstance(temperature, int | float)
        and not isinstance(temperature, bool)
        and temperature == 0
    )


def cache_key(request: dict[str, Any], provider: str | None) -> str:
    kept = {k: v for k, v in request.items() if k not in IGNORED_FIELDS}
    canonical = json.dumps(
        {"provider": provider, "request": kept},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """Thread-safe LRU + TTL map of cache keys to ``(response, provider name)``."""

    def __init__(
        self,
        *,
        enabled: bool,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, dict[str, Any], str]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0
        self.last_access: datetime | None = None

    def get(self, key: str) -> tuple[dict[str, Any], str] | None:
        """A copy of the cached answer, or ``None`` (counted as a miss)."""
        with self._lock:
            self.last_access = datetime.now(UTC)
            entry = self._entries.get(key)
            if entry is not None and self._clock() >= entry[0]:
                del self._entries[key]
                self.evictions += 1
                entry = None
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return copy.deepcopy(entry[1]), entry[2]

    def put(self, key: str, response: dict[str, Any], provider: str) -> None:
        with self._lock:
            expires = self._clock() + self.ttl_seconds
            self._entries[key] = (expires, copy.deepcopy(response), provider)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
                self.evictions += 1

    def clear(self) -> None:
        """Drops every entry; the counters keep counting."""
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, Any]:
        """``{enabled, hits, misses, evictions, size, last_access?}`` (contract 5.6)."""
        if not self.enabled:
            return {"enabled": False, "hits": 0, "misses": 0, "evictions": 0, "size": 0}
        with self._lock:
            stats: dict[str, Any] = {
                "enabled": True,
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
                "size": len(self._entries),
            }
            if self.last_access is not None:
                stats["last_access"] = rfc3339(self.last_access)
            return stats
