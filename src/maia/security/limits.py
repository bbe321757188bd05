"""Request limits on the `limits` library: per client IP, per API key, per tenant.

Counters live where ``rate_limit_storage`` says (``storage_uri``): ``auto`` (the default)
is the store's PostgreSQL database when MAIA runs on one, else ``memory://``;
``database`` is that database or an error; ``memory://`` counts in one process; a shared
store (``postgresql://..``, ``redis://host``) makes the limits hold across nodes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from maia.errors import InvalidInput, MaiaError, RateLimited, Unavailable

AUTO = "auto"
DATABASE = "database"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


def storage_uri(rate_limit_storage: str, database_url: str | None) -> str:
    """The ``limits`` storage URI a ``rate_limit_storage`` setting means: ``auto`` is the
    store's database (``database_url``) when there is one, else ``memory://``;
    ``database`` is the store's database, and an error without one."""
    choice = rate_limit_storage.strip()
    if choice.lower() == AUTO:
        return database_url or "memory://"
    if choice.lower() == DATABASE:
        if not database_url:
            raise InvalidInput(
                "invalid rate_limit_storage: 'database' counts requests in the store's "
                "PostgreSQL database, but database_url is not set (MAIA runs on SQLite); "
                "set database_url, or give a storage URI such as memory:// or "
                "redis://host:6379",
                field="rate_limit_storage",
            )
        return database_url
    return choice


@runtime_checkable
class _CombinedWindow(Protocol):
    """A storage that counts a hit and reads its moving window in one round trip."""

    def acquire_with_window(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> tuple[bool, float, int]: ...


@dataclass(frozen=True, slots=True)
class Window:
    """The tightest limit a request counted against, for ``X-RateLimit-*`` headers."""

    limit: int
    remaining: int
    reset_after: float

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(max(0, math.ceil(self.reset_after))),
        }


class RequestLimiter:
    """Moving-window limits. The per-IP one follows the contract: ``rps`` a second on
    average with bursts of twice that (counted over two seconds)."""

    def __init__(self, storage_uri: str, *, ip_rps: float, key_per_minute: int) -> None:
        if urlsplit(storage_uri).scheme in _POSTGRES_SCHEMES:
            try:  # registers the postgresql:// scheme with limits
                import maia.security.pg_limits  # noqa: F401
            except ImportError as exc:  # the postgres extra is not installed
                raise Unavailable(
                    "rate limits in PostgreSQL need the postgres extra: "
                    "pip install 'maia[postgres]'"
                ) from exc
        try:
            storage = storage_from_string(storage_uri)
        except MaiaError:
            raise
        except Exception as exc:  # the library raises several types for bad URIs
            raise InvalidInput(
                f"invalid rate_limit_storage: {exc}", field="rate_limit_storage"
            ) from exc
        self._storage = storage
        self._combined = storage if isinstance(storage, _CombinedWindow) else None
        self._limiter = MovingWindowRateLimiter(storage)
        self._ip = RateLimitItemPerSecond(max(1, math.ceil(2 * ip_rps)), 2) if ip_rps > 0 else None
        self._key = RateLimitItemPerMinute(key_per_minute) if key_per_minute > 0 else None

    @property
    def storage(self) -> object:
        """The ``limits`` storage the counters live in."""
        return self._storage

    @property
    def remote(self) -> bool:
        """Whether a check makes a round trip (a database, Redis), not a dictionary
        lookup: an async caller then runs it off its event loop."""
        return not isinstance(self._storage, MemoryStorage)

    def close(self) -> None:
        """Releases the storage's connections, if it holds any."""
        close = getattr(self._storage, "close", None)
        if callable(close):
            close()

    def check_ip(self, ip: str) -> Window | None:
        """Counts a request from ``ip``; raises ``RateLimited`` over the limit."""
        if self._ip is None:
            return None
        return self._hit(self._ip, "ip", ip)

    def check_caller(
        self,
        *,
        key_hash: str | None,
        tenant_id: str,
        tenant_per_minute: int,
        tenant_per_day: int,
    ) -> Window | None:
        """Counts an authenticated request against the key's and the tenant's limits."""
        items: list[tuple[RateLimitItem, str, str]] = []
        if self._key is not None and key_hash is not None:
            items.append((self._key, "key", key_hash))
        if tenant_per_minute > 0:
            items.append((RateLimitItemPerMinute(tenant_per_minute), "tenant", tenant_id))
        if tenant_per_day > 0:
            items.append((RateLimitItemPerDay(tenant_per_day), "tenant-day", tenant_id))
        tightest: Window | None = None
        for item, kind, ident in items:
            window = self._hit(item, kind, ident)
            if tightest is None or window.remaining < tightest.remaining:
                tightest = window
        return tightest

    def _hit(self, item: RateLimitItem, kind: str, ident: str) -> Window:
        try:
            if self._combined is not None:  # one round trip to a remote storage, not two
                allowed, start, count = self._combined.acquire_with_window(
                    item.key_for(kind, ident), item.amount, item.get_expiry()
                )
                reset_time, remaining = start + item.get_expiry(), item.amount - count
            else:
                allowed = self._limiter.hit(item, kind, ident)
                stats = self._limiter.get_window_stats(item, kind, ident)
                reset_time, remaining = stats.reset_time, stats.remaining
        except MaiaError:
            raise
        except Exception as exc:  # a shared storage (database, Redis) that cannot answer
            raise Unavailable(f"rate-limit storage is not available: {exc}") from exc
        window = Window(item.amount, remaining, reset_time - time.time())
        if not allowed:
            raise RateLimited(
                "rate_limit_exceeded",
                retry_after=max(window.reset_after, 1.0),
                details=f"{kind} limit of {item.amount} per {item.get_expiry()} s reached",
                headers=window.headers(),
            )
        return window
