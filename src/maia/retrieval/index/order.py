"""The writing order of each namespace, in memory.

Derived data, like the full-text index: built from the stored memories at start-up and
kept in step by the service's writes. It answers the engine's questions about what was
written just before or after a memory in the same namespace (a reply's question, an
exchange around a good match), which the store would otherwise answer with two index
seeks per memory on every search.

The order is the store's: by ``created_at`` (to the microsecond), then by key.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from maia.store.base import StoredText

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_KEY_BITS = 64  # keys are positive and below 2**63 (SQLite rowids, bigserials)
_KEY_MASK = (1 << _KEY_BITS) - 1
_NO_LIMIT_US = 1 << 63  # a reach in time wider than any two positions apart


def _position(document: StoredText) -> int:
    """A memory's position in its namespace's order, (created_at, key) as one integer:
    one comparison per step of a binary search, where a tuple takes two or three.
    The time is exact, as the store keeps it (a float timestamp can round two apart)."""
    micros = (document.created_at - _EPOCH) // _MICROSECOND
    return (micros << _KEY_BITS) | document.seq


class OrderIndex:
    """Thread-safe: one lock guards changes and lookups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Per (tenant, namespace): its memories' positions, sorted.
        self._orders: dict[tuple[str, str], list[int]] = {}
        self._where: dict[int, tuple[tuple[str, str], int]] = {}  # key -> place
        # key -> the key just before it in its namespace's order: the question every
        # search asks for a few hundred keys, answered without a binary search each.
        self._previous: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._where)

    # -- changes -------------------------------------------------------------------------

    def loading(self, documents: Iterable[StoredText]) -> Iterator[StoredText]:
        """Passes ``documents`` through, then holds exactly them (so one reading of the
        store can fill this index and another)."""
        orders: dict[tuple[str, str], list[int]] = {}
        where: dict[int, tuple[tuple[str, str], int]] = {}
        for document in documents:
            place = (document.tenant, document.namespace)
            position = _position(document)
            orders.setdefault(place, []).append(position)
            where[document.seq] = (place, position)
            yield document
        previous: dict[int, int] = {}
        for order in orders.values():
            order.sort()
            keys = [position & _KEY_MASK for position in order]
            previous.update(zip(keys[1:], keys, strict=False))
        with self._lock:
            self._orders, self._where, self._previous = orders, where, previous

    def add(self, documents: Iterable[StoredText]) -> None:
        """Adds memories, or moves those whose key is already indexed."""
        with self._lock:
            for document in documents:
                self._forget(document.seq)
                place = (document.tenant, document.namespace)
                position = _position(document)
                order = self._orders.setdefault(place, [])
                if not order or order[-1] < position:
                    at = len(order)
                    order.append(position)  # the usual case: written last
                else:
                    at = bisect_left(order, position)
                    order.insert(at, position)
                    self._previous[order[at + 1] & _KEY_MASK] = document.seq
                if at:
                    self._previous[document.seq] = order[at - 1] & _KEY_MASK
                self._where[document.seq] = (place, position)

    def remove(self, keys: Iterable[int]) -> None:
        with self._lock:
            for key in keys:
                self._forget(key)

    def _forget(self, key: int) -> None:
        found = self._where.pop(key, None)
        if found is None:
            return
        place, position = found
        order = self._orders[place]
        at = bisect_left(order, position)
        before = self._previous.pop(key, None)
        if at + 1 < len(order):  # what came next now follows what came before
            after = order[at + 1] & _KEY_MASK
            if before is None:
                del self._previous[after]
            else:
                self._previous[after] = before
        del order[at]
        if not order:
            del self._orders[place]

    # -- lookups -------------------------------------------------------------------------

    def predecessors(
        self, tenant: str, keys: Sequence[int], within_us: int | None = None
    ) -> dict[int, int]:
        """For each of ``keys`` (of ``tenant``) that has one, the memory written just
        before it in the same namespace (at most ``within_us`` microseconds before)."""
        reach = _NO_LIMIT_US if within_us is None else within_us
        with self._lock:
            where, previous = self._where, self._previous
            return {
                key: before
                for key in keys
                if (before := previous.get(key)) is not None
                and where[key][0][0] == tenant
                and (where[key][1] >> _KEY_BITS) - (where[before][1] >> _KEY_BITS) <= reach
            }

    def neighbors(
        self, tenant: str, keys: Sequence[int], radius: int, within_us: int | None = None
    ) -> dict[int, list[tuple[int, int]]]:
        """For each of ``keys`` (of ``tenant``), the memories written just before and
        after it in the same namespace: ``(key, distance)``, distance 1..``radius``,
        the earlier side first (only those at most ``within_us`` microseconds apart)."""
        found: dict[int, list[tuple[int, int]]] = {}
        with self._lock:
            for key, order, at in self._located(tenant, keys):
                near = [(order[at - d] & _KEY_MASK, d) for d in range(1, min(radius, at) + 1)]
                after = min(radius, len(order) - at - 1)
                near += [(order[at + d] & _KEY_MASK, d) for d in range(1, after + 1)]
                if within_us is not None:
                    when = order[at] >> _KEY_BITS
                    near = [
                        (n, d)
                        for n, d in near
                        if abs((self._where[n][1] >> _KEY_BITS) - when) <= within_us
                    ]
                found[key] = near
        return found

    def _located(self, tenant: str, keys: Sequence[int]) -> Iterator[tuple[int, list[int], int]]:
        """Each of ``keys`` of ``tenant`` that is held, its namespace's order and its
        place in it (the caller holds the lock)."""
        for key in keys:
            located = self._where.get(key)
            if located is None or located[0][0] != tenant:
                continue
            place, position = located
            order = self._orders[place]
            yield key, order, bisect_left(order, position)
