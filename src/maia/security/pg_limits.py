"""A ``limits`` storage in PostgreSQL, so rate limits hold across MAIA nodes.

Importing this module registers the ``postgresql://`` and ``postgres://`` schemes with
``limits.storage.storage_from_string``. ``RequestLimiter`` uses the moving-window
strategy, which this storage implements exactly (as ``memory://`` does, per key):

* ``rate_limit_events`` holds one row per counted hit (key, time), ``rate_limit_windows``
  one row per key: how many hits are stored (``n``), the window length, and when the
  newest hit leaves the window. With the count kept there a hit never scans the window,
  so a limit of 100000 a day costs what a limit of 10 a minute does.
* A hit is one transaction holding ``pg_advisory_xact_lock(LOCK_CLASS, hashtext(key))``:
  one statement (read after the lock, so it sees every earlier hit's commit) deletes the
  key's hits that left the window, counts what is left, and stores the new hit only if
  it fits. Two nodes hitting one key serialise on the lock; different keys do not wait
  for each other (unless their hashes collide, which only costs a wait).
* Times come from the database's clock (``clock_timestamp()``), so nodes with skewed
  clocks agree on the window; times handed back to ``limits`` are moved onto the local
  clock.
* Keys idle for longer than their window are swept (rows and all) at most once a minute
  per node, under the same per-key locks.
* The fixed-window operations of ``limits.storage.Storage`` (``incr``, ``get``,
  ``get_expiry``) use ``rate_limit_counters``: one atomic ``INSERT .. ON CONFLICT DO
  UPDATE .. RETURNING`` a hit.

The tables are created on first use (``CREATE .. IF NOT EXISTS`` under an advisory
lock, so nodes starting together do not race) in the first schema of the connection's
``search_path``; they are ``UNLOGGED``: no WAL for a write per request, at the price of
the counters starting over after a crash of the database (and not being readable on a
streaming replica).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from limits.storage import MovingWindowSupport, Storage
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from maia.errors import Unavailable
from maia.store.postgres.store import redact

log = logging.getLogger(__name__)

# pg_advisory_xact_lock(LOCK_CLASS, hashtext(key)) serialises one key's hits; the
# one-argument DDL_LOCK guards table creation. (maia.store.postgres.schema uses
# 0x6D616961_0001 and the class 0x6D616962.)
LOCK_CLASS = 0x6D616963  # "maic"
DDL_LOCK = 0x6D616961_0002
SWEEP_SECONDS = 60.0
SWEEP_BATCH = 1000

_DDL = """
CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_windows (
    key        text COLLATE "C" PRIMARY KEY,
    n          bigint NOT NULL,
    expiry     double precision NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limit_windows_by_expiry ON rate_limit_windows (expires_at);
CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_events (
    key text COLLATE "C" NOT NULL,
    at  double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limit_events_by_key ON rate_limit_events (key, at);
CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_counters (
    key        text COLLATE "C" PRIMARY KEY,
    count      bigint NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limit_counters_by_expiry ON rate_limit_counters (expires_at);
"""

_LOCK = "SELECT pg_advisory_xact_lock(%s::int4, hashtext(%s))"

# Run under the key's lock. Every subquery reads the snapshot taken when the statement
# starts (after the lock), so "stored minus expired" is the count in the window.
_ACQUIRE = """
WITH now AS MATERIALIZED (SELECT extract(epoch FROM clock_timestamp())::float8 AS t),
expired AS (
    DELETE FROM rate_limit_events e USING now
    WHERE e.key = %(key)s AND e.at <= now.t - %(expiry)s
    RETURNING 1
),
live AS MATERIALIZED (
    SELECT now.t,
           coalesce((SELECT w.n FROM rate_limit_windows w WHERE w.key = %(key)s), 0)
               - (SELECT count(*) FROM expired) AS n,
           (SELECT min(e.at) FROM rate_limit_events e
             WHERE e.key = %(key)s AND e.at > now.t - %(expiry)s) AS oldest
    FROM now
),
decided AS MATERIALIZED (
    SELECT t, n, oldest, n + %(amount)s <= %(limit)s AS ok FROM live
),
added AS (
    INSERT INTO rate_limit_events (key, at)
    SELECT %(key)s, d.t FROM decided d, generate_series(1, %(amount)s) WHERE d.ok
),
saved AS (
    INSERT INTO rate_limit_windows AS w (key, n, expiry, expires_at)
    SELECT %(key)s,
           d.n + CASE WHEN d.ok THEN %(amount)s ELSE 0 END,
           %(expiry)s,
           CASE WHEN d.ok THEN d.t + %(expiry)s ELSE 0 END
    FROM decided d
    ON CONFLICT (key) DO UPDATE SET
        n = EXCLUDED.n,
        expiry = EXCLUDED.expiry,
        expires_at = greatest(w.expires_at, EXCLUDED.expires_at)
)
SELECT d.ok, d.n + CASE WHEN d.ok THEN %(amount)s ELSE 0 END, coalesce(d.oldest, d.t), d.t
FROM decided d
"""

_WINDOW = """
WITH now AS MATERIALIZED (SELECT extract(epoch FROM clock_timestamp())::float8 AS t)
SELECT now.t,
       coalesce((SELECT w.n FROM rate_limit_windows w WHERE w.key = %(key)s), 0)
           - (SELECT count(*) FROM rate_limit_events e
               WHERE e.key = %(key)s AND e.at <= now.t - %(expiry)s),
       (SELECT min(e.at) FROM rate_limit_events e
         WHERE e.key = %(key)s AND e.at > now.t - %(expiry)s)
FROM now
"""

_INCR = """
WITH now AS MATERIALIZED (SELECT extract(epoch FROM clock_timestamp())::float8 AS t)
INSERT INTO rate_limit_counters AS c (key, count, expires_at)
SELECT %(key)s, %(amount)s, now.t + %(expiry)s FROM now
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.expires_at <= EXCLUDED.expires_at - %(expiry)s
                 THEN EXCLUDED.count ELSE c.count + EXCLUDED.count END,
    expires_at = CASE WHEN c.expires_at <= EXCLUDED.expires_at - %(expiry)s
                      THEN EXCLUDED.expires_at ELSE c.expires_at END
RETURNING count
"""

# Idle keys: their newest hit has left the window. Locked without waiting (a key being
# hit right now is skipped), then deleted by a second statement that sees every commit.
_STALE = """
SELECT key FROM (
    SELECT key FROM rate_limit_windows
    WHERE expires_at <= extract(epoch FROM clock_timestamp())::float8
    ORDER BY expires_at LIMIT %(batch)s
) stale
WHERE pg_try_advisory_xact_lock(%(lock_class)s::int4, hashtext(key))
"""
_DROP_STALE = """
WITH gone AS (
    DELETE FROM rate_limit_windows
    WHERE key = ANY(%(keys)s) AND expires_at <= extract(epoch FROM clock_timestamp())::float8
    RETURNING key
)
DELETE FROM rate_limit_events WHERE key IN (SELECT key FROM gone)
"""


class PostgresStorage(Storage, MovingWindowSupport):
    """Rate-limit counters in PostgreSQL (``postgresql://user:pass@host/db``)."""

    STORAGE_SCHEME = ["postgresql", "postgres"]  # noqa: RUF012 - read by limits' registry

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        max_connections: int = 4,
        timeout: float = 5.0,
        **options: float | str | bool,
    ) -> None:
        if not uri:
            raise ValueError("a postgresql:// URL is required")
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._location = redact(uri)
        self._timeout = timeout
        self._sweep_lock = threading.Lock()
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        connect_timeout = max(1, round(timeout))
        try:
            with (
                psycopg.connect(uri, autocommit=True, connect_timeout=connect_timeout) as conn,
                conn.transaction(),
            ):
                conn.execute("SELECT pg_advisory_xact_lock(%s::int8)", (DDL_LOCK,))
                conn.execute(_DDL.encode())
        except psycopg.Error as exc:
            raise Unavailable(
                f"cannot open rate-limit storage {self._location}: {str(exc).strip()}"
            ) from exc
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            uri,
            min_size=1,
            max_size=max(1, int(max_connections)),
            kwargs={"autocommit": True, "connect_timeout": connect_timeout},
            timeout=timeout,
            name="maia-rate-limits",
            open=True,
        )

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return psycopg.Error

    @property
    def location(self) -> str:
        """The database URL without its password."""
        return self._location

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[TupleRow]]:
        with self._pool.connection(timeout=self._timeout) as conn:
            yield conn

    @staticmethod
    def _local(db_time: float, db_now: float) -> float:
        """A time of the database's clock on this process's ``time.time()`` clock."""
        return time.time() + (db_time - db_now)

    # -- moving window ---------------------------------------------------------------

    def acquire_with_window(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> tuple[bool, float, int]:
        """Counts ``amount`` hits if they fit in ``limit`` per ``expiry`` seconds; returns
        whether they did, the start of the window (its oldest hit) and the hits in it.
        One transaction: ``acquire_entry`` and ``get_moving_window`` in one."""
        params: dict[str, Any] = {
            "key": key,
            "limit": limit,
            "expiry": float(expiry),
            "amount": max(0, amount),
        }
        for attempt in (1, 2):
            try:
                with self._connection() as conn:
                    # Pipelined: BEGIN, the lock, the statement and COMMIT go out together.
                    with conn.pipeline():
                        with conn.transaction():
                            conn.execute(_LOCK, (LOCK_CLASS, key))
                            cursor = conn.execute(_ACQUIRE, params)
                        row = cursor.fetchone()
                    self._maybe_sweep(conn)
                break
            except psycopg.OperationalError:
                # Pooled connections are not probed before use (a round trip a hit): one
                # the server dropped (restart, failover) fails once, leaves the pool, and
                # the hit is tried again on another.
                if attempt == 2:
                    raise
        assert row is not None
        ok, count, oldest, now = bool(row[0]), int(row[1]), float(row[2]), float(row[3])
        return ok and amount <= limit, self._local(oldest, now), count

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        return self.acquire_with_window(key, limit, expiry, amount)[0]

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        with self._connection() as conn:
            row = conn.execute(_WINDOW, {"key": key, "expiry": float(expiry)}).fetchone()
        assert row is not None
        now, count = float(row[0]), max(0, int(row[1]))
        oldest = float(row[2]) if row[2] is not None else now
        return self._local(oldest, now), count

    # -- fixed window (limits.storage.Storage) ---------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._connection() as conn:
            row = conn.execute(
                _INCR, {"key": key, "expiry": float(expiry), "amount": amount}
            ).fetchone()
        assert row is not None
        return int(row[0])

    def get(self, key: str) -> int:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT count FROM rate_limit_counters"
                " WHERE key = %s AND expires_at > extract(epoch FROM clock_timestamp())::float8",
                (key,),
            ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT now.t, (SELECT expires_at FROM rate_limit_counters"
                " WHERE key = %s AND expires_at > now.t)"
                " FROM (SELECT extract(epoch FROM clock_timestamp())::float8 AS t) now",
                (key,),
            ).fetchone()
        assert row is not None
        return self._local(float(row[1]), float(row[0])) if row[1] is not None else time.time()

    # -- maintenance -----------------------------------------------------------------

    def check(self) -> bool:
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def clear(self, key: str) -> None:
        with self._connection() as conn, conn.transaction():
            conn.execute(_LOCK, (LOCK_CLASS, key))
            conn.execute("DELETE FROM rate_limit_events WHERE key = %s", (key,))
            conn.execute("DELETE FROM rate_limit_windows WHERE key = %s", (key,))
            conn.execute("DELETE FROM rate_limit_counters WHERE key = %s", (key,))

    def reset(self) -> int | None:
        """Forgets every counter (of every node sharing the database)."""
        with self._connection() as conn, conn.transaction():
            windows = conn.execute("DELETE FROM rate_limit_windows").rowcount
            conn.execute("DELETE FROM rate_limit_events")
            counters = conn.execute("DELETE FROM rate_limit_counters").rowcount
        return max(0, windows) + max(0, counters)

    def sweep(self) -> int:
        """Deletes idle keys (rows and all) and expired fixed-window counters; returns
        how many keys went."""
        with self._connection() as conn:
            return self._sweep(conn)

    def _maybe_sweep(self, conn: psycopg.Connection[TupleRow]) -> None:
        if time.monotonic() < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            self._sweep(conn)
        except psycopg.Error:
            log.warning("rate-limit sweep failed", exc_info=True)
        finally:
            self._sweep_lock.release()

    @staticmethod
    def _sweep(conn: psycopg.Connection[TupleRow]) -> int:
        with conn.transaction():
            found = conn.execute(_STALE, {"lock_class": LOCK_CLASS, "batch": SWEEP_BATCH})
            keys = [str(row[0]) for row in found.fetchall()]
            if keys:
                conn.execute(_DROP_STALE, {"keys": keys})
            conn.execute(
                "DELETE FROM rate_limit_counters"
                " WHERE expires_at <= extract(epoch FROM clock_timestamp())::float8"
            )
        return len(keys)
