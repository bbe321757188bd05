"""A token bucket per provider: ``rate`` requests a second on average, bursts of
``max(1, rate)``. In memory and synchronous (no ``await`` between test and take), so
it is safe on one event loop and, with its lock, across threads. The ``limits`` library
has no token-bucket strategy, and these limits are per process by nature."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 if a request may go now (a token is taken), else seconds until it may."""
        with self._lock:
            moment = self._clock()
            self._tokens = min(self.capacity, self._tokens + (moment - self._updated) * self.rate)
            self._updated = moment
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate
