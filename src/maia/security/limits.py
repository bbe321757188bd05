"""Request limits on the `limits` library: per client IP, per API key, per tenant.

Counters live in ``rate_limit_storage`` (``memory://`` in one process; a shared store
such as ``redis://host`` makes the limits hold across nodes).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from maia.errors import InvalidInput, RateLimited


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
        try:
            storage = storage_from_string(storage_uri)
        except Exception as exc:  # the library raises several types for bad URIs
            raise InvalidInput(
                f"invalid rate_limit_storage: {exc}", field="rate_limit_storage"
            ) from exc
        self._limiter = MovingWindowRateLimiter(storage)
        self._ip = RateLimitItemPerSecond(max(1, math.ceil(2 * ip_rps)), 2) if ip_rps > 0 else None
        self._key = RateLimitItemPerMinute(key_per_minute) if key_per_minute > 0 else None

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
        allowed = self._limiter.hit(item, kind, ident)
        stats = self._limiter.get_window_stats(item, kind, ident)
        window = Window(item.amount, stats.remaining, stats.reset_time - time.time())
        if not allowed:
            raise RateLimited(
                "rate_limit_exceeded",
                retry_after=max(window.reset_after, 1.0),
                details=f"{kind} limit of {item.amount} per {item.get_expiry()} s reached",
                headers=window.headers(),
            )
        return window
