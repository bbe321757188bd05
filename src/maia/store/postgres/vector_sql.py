"""The vector half of the PostgreSQL session: embeddings in, nearest neighbours out.

Embeddings of every dimension share one ``vector`` column; each dimension gets its own
partial HNSW index (cosine). The first vector of a dimension creates it in its write's
transaction (an empty index costs nothing), under an advisory lock so nodes never race
for it. Vectors that arrive without an index (a bulk load, which builds it once at its
end; an interrupted one) get it built beside the writes, ``CREATE INDEX CONCURRENTLY``
on a connection of its own, never inside a write. ``search_vectors`` is what
``DatabaseVectorIndex`` calls for the retrieval engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow

from maia.store.base import StoredVector, VectorRow
from maia.store.postgres.schema import HNSW_LOCK_CLASS
from maia.store.postgres.tenants import has_nul
from maia.store.postgres.vectors import HNSW_MAX_DIM, Embedding


@dataclass
class VectorIndexes:
    """HNSW settings and the dimensions whose index is known to exist (shared by the
    sessions of one store; ``pending`` holds those a transaction is creating)."""

    m: int = 16
    ef_construction: int = 128
    ef_search: int = 100
    # pgvector 0.8+: an HNSW scan goes on past ef_search when filters reject results.
    iterative_scan: bool = True
    known: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Bulk loads under way in this process: indexes missing now are built at their end.
    deferred: int = 0

    @staticmethod
    def name(dim: int) -> str:
        return f"memory_vectors_hnsw_{dim}"

    def create_sql(self, dim: int, *, concurrently: bool = False) -> str:
        return (
            f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}{self.name(dim)} "
            f"ON memory_vectors USING hnsw ((embedding::vector({dim})) vector_cosine_ops) "
            f"WITH (m = {int(self.m)}, ef_construction = {int(self.ef_construction)}) "
            f"WHERE dim = {dim}"
        )


def index_state(conn: psycopg.Connection[TupleRow], name: str) -> bool | None:
    """None when the index does not exist, else whether it is valid (an index whose
    concurrent build failed or is still running exists, but is not valid)."""
    row = conn.execute(
        "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)", (name,)
    ).fetchone()
    return None if row is None else bool(row[0])


def build_hnsw(conn: psycopg.Connection[TupleRow], indexes: VectorIndexes, dim: int) -> bool:
    """Builds the HNSW index of ``dim`` over the vectors already stored, without
    blocking writers (``conn`` in autocommit). Serialised across nodes by a session
    advisory lock (the one a first write takes to create an empty index): when another
    session holds it, that one is building and this returns False at once."""
    key = (HNSW_LOCK_CLASS, dim)
    got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()
    if not (got and got[0]):
        return False
    try:
        name = indexes.name(dim)
        state = index_state(conn, name)
        if state is False:  # a concurrent build that failed, or a process killed in one
            conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        if state is not True:
            conn.execute(indexes.create_sql(dim, concurrently=True))
        with indexes.lock:
            indexes.known.add(dim)
        return True
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)


class VectorSQL:
    """Vector methods of ``PostgresSession`` (which provides these attributes)."""

    _conn: psycopg.Connection[TupleRow]
    _indexes: VectorIndexes
    created_indexes: set[int]
    pending_builds: set[int]
    _search_ef: int | None  # the hnsw.ef_search this transaction has set

    _stream: Callable[..., Iterator[TupleRow]]  # a server-side cursor's rows

    def put_vectors(self, rows: Sequence[VectorRow]) -> None:
        if not rows:
            return
        for dim in sorted({len(r.vector) // 4 for r in rows}):
            self._ensure_hnsw(dim)
        with self._conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO memory_vectors (memory_seq, model_id, dim, embedding) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (memory_seq) DO UPDATE SET "
                "model_id = excluded.model_id, dim = excluded.dim, embedding = excluded.embedding",
                [(r.seq, r.model_id, len(r.vector) // 4, Embedding(r.vector)) for r in rows],
            )

    def _ensure_hnsw(self, dim: int) -> None:
        """Sees that the HNSW index of ``dim`` exists. The first vector of a dimension
        creates it, empty, in this transaction, under a transaction-scoped advisory lock
        so two nodes never race to create it (the store records it as known once this
        transaction has committed). When vectors of ``dim`` are already stored without
        it, building it takes minutes: the store builds it beside the writes once this
        transaction has committed (``pending_builds``), and during a bulk load at its end."""
        if not 0 < dim <= HNSW_MAX_DIM or dim in self.created_indexes:
            return
        with self._indexes.lock:
            if dim in self._indexes.known:
                return
        name = VectorIndexes.name(dim)
        state = index_state(self._conn, name)
        if state is None and not self._indexes.deferred and not self._has_vectors(dim):
            self._conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (HNSW_LOCK_CLASS, dim))
            state = index_state(self._conn, name)
            if state is None and not self._has_vectors(dim):
                self._conn.execute(self._indexes.create_sql(dim))
                self.created_indexes.add(dim)
                return
        if state is True:
            with self._indexes.lock:
                self._indexes.known.add(dim)
        elif not self._indexes.deferred:
            self.pending_builds.add(dim)

    def _has_vectors(self, dim: int) -> bool:
        row = self._conn.execute(
            "SELECT EXISTS (SELECT 1 FROM memory_vectors WHERE dim = %s)", (dim,)
        ).fetchone()
        return bool(row and row[0])

    def delete_vectors_except(self, model_id: str) -> int:
        cursor = self._conn.execute("DELETE FROM memory_vectors WHERE model_id <> %s", (model_id,))
        return cursor.rowcount

    def iter_vectors(self, model_id: str) -> Iterator[StoredVector]:
        rows = self._stream(
            "SELECT v.memory_seq, m.tenant_id, m.namespace, v.embedding FROM memory_vectors v "
            "JOIN memories m ON m.seq = v.memory_seq WHERE v.model_id = %s ORDER BY v.memory_seq",
            (model_id,),
            binary=True,
        )
        return (StoredVector(row[0], row[1], row[2], row[3]) for row in rows)

    def vector_counts(self) -> dict[str, int]:
        rows = self._conn.execute("SELECT model_id, count(*) FROM memory_vectors GROUP BY model_id")
        return {row[0]: int(row[1]) for row in rows}

    def vector_generation(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'vector_generation'")
        found = row.fetchone()
        return 0 if found is None else int(found[0])

    def memories_without_vector(
        self, model_id: str, after_seq: int, limit: int
    ) -> list[tuple[int, str, str, str]]:
        rows = self._conn.execute(
            "SELECT m.seq, m.tenant_id, m.namespace, m.content FROM memories m "
            "WHERE m.seq > %s AND NOT EXISTS (SELECT 1 FROM memory_vectors v "
            "WHERE v.memory_seq = m.seq AND v.model_id = %s) ORDER BY m.seq LIMIT %s",
            (after_seq, model_id, max(limit, 0)),
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    def total_memories(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM memories").fetchone()
        return 0 if row is None else int(row[0])

    def vectors_by_seq(
        self, seqs: Sequence[int], model_id: str
    ) -> dict[int, npt.NDArray[np.float32]]:
        """The ``model_id`` embeddings of these keys (all tenants: keys are unique)."""
        if not len(seqs):
            return {}
        with self._conn.cursor(binary=True) as cursor:
            rows = cursor.execute(
                "SELECT memory_seq, embedding FROM memory_vectors "
                "WHERE memory_seq = ANY(%s) AND model_id = %s",
                ([int(s) for s in seqs], model_id),
            ).fetchall()
        return {int(row[0]): np.frombuffer(row[1], "<f4").copy() for row in rows}

    def count_vectors(self, model_id: str) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM memory_vectors WHERE model_id = %s", (model_id,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def search_vectors(
        self,
        tenant: str,
        query: npt.ArrayLike,
        namespaces: tuple[str, ...] | None,
        include_descendants: bool,
        k: int,
        allowed_seqs: npt.ArrayLike | None,
        model_id: str,
        *,
        exact: bool = False,
        ef_search: int | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` embeddings of ``model_id`` nearest to ``query`` by cosine, in the
        tenant's memories of ``namespaces`` (with descendants ``ns/…`` when asked; None:
        all) whose key is in ``allowed_seqs`` (None: any): ``(key, cosine similarity)``,
        best first. Uses the dimension's HNSW index (``ef_search`` candidates, default
        the store's; iterative scans when filters reject many); ``exact`` compares the
        query with every candidate instead."""
        found = self._vector_query(
            tenant, query, namespaces, include_descendants, k, allowed_seqs, model_id, exact
        )
        if found is None:
            return []
        sql, params = found
        ef = min(max(int(ef_search or self._indexes.ef_search), k, 1), 1000)  # pgvector's range
        if not exact and ef != self._search_ef:
            # Local to this transaction (a connection pooler may hand the next one to
            # another server session), set once for all its searches.
            self._conn.execute(
                "SELECT set_config('hnsw.ef_search', %s, true)"
                + (
                    ", set_config('hnsw.iterative_scan', 'relaxed_order', true)"
                    if self._indexes.iterative_scan
                    else ""
                ),
                (str(ef),),
            )
            self._search_ef = ef
        rows = self._conn.execute(sql, params)
        # relaxed_order may return neighbours slightly out of order: sorted here.
        hits = sorted(((int(r[0]), float(r[1])) for r in rows), key=lambda h: (h[1], h[0]))
        return [(seq, 1.0 - distance) for seq, distance in hits]

    def _vector_query(
        self,
        tenant: str,
        query: npt.ArrayLike,
        namespaces: tuple[str, ...] | None,
        include_descendants: bool,
        k: int,
        allowed_seqs: npt.ArrayLike | None,
        model_id: str,
        exact: bool,
    ) -> tuple[str, list[Any]] | None:
        """The SQL of ``search_vectors`` and its parameters; None when nothing can match."""
        vector = Embedding.of(np.ravel(np.asarray(query, dtype=np.float32)))
        dim = vector.dim
        if k <= 0 or dim == 0 or (namespaces is not None and not namespaces):
            return None
        # The dimension is a literal: the partial HNSW index (WHERE dim = N) can only be
        # chosen when the planner sees the value, also in a generic (prepared) plan.
        clauses = [f"v.dim = {int(dim)}", "v.model_id = %s", "m.tenant_id = %s"]
        params: list[Any] = [model_id, tenant]
        if namespaces is not None:
            scope: list[str] = []
            for name in namespaces:
                if include_descendants:
                    scope.append("m.namespace = %s OR starts_with(m.namespace, %s)")
                    params += [name, name.rstrip("/") + "/"]
                else:
                    scope.append("m.namespace = %s")
                    params.append(name)
            clauses.append("(" + " OR ".join(scope) + ")")
        if allowed_seqs is not None:
            allowed = np.asarray(allowed_seqs, dtype=np.int64).ravel().tolist()
            if not allowed:
                return None
            clauses.append("v.memory_seq = ANY(%s)")
            params.append(allowed)
        if any(has_nul(p) for p in params if isinstance(p, str)):
            return None
        # The HNSW index of this dimension is on exactly this expression; "+ 0" makes
        # the order one no index provides: every candidate is compared, then sorted.
        distance = f"(v.embedding::vector({dim}) <=> %s::vector({dim}))"
        order = f"{distance} + 0" if exact else distance
        sql = (
            f"SELECT v.memory_seq, {distance} FROM memory_vectors v "
            f"JOIN memories m ON m.seq = v.memory_seq WHERE {' AND '.join(clauses)} "
            f"ORDER BY {order} LIMIT %s"
        )
        return sql, [vector, *params, vector, int(k)]
