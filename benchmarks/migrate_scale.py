"""``maia migrate`` into PostgreSQL: how long a copy of N memories with 384-d embeddings
takes, with the vector index built once at the end (what a migration does into a
database that has no index yet) or kept up to date row by row (``--live``: a target
whose index already exists, as every copy did before bulk loads deferred it).

The source is a SQLite data directory of ``--memories`` memories (one tenant, the
memories of ``postgres_scale.py``) with clustered unit vectors (as ``vector_scale.py
--data clustered``), written straight through the store. The target is a new database on the bundled
PostgreSQL of ``postgres_scale.py`` (same settings). The copy is ``copy_store``, what
``maia migrate`` runs; the verification is its ``tally`` on both sides.

Run: ``.venv/bin/python benchmarks/migrate_scale.py [--memories 20000] [--live]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg

from maia.models import Plan, Tenant, TenantConfig, TenantQuotas, TenantStatus
from maia.store.base import VectorRow
from maia.store.migrate import copy_store, tally
from maia.store.postgres import PostgresStore
from maia.store.sqlite import SQLiteStore
from postgres_scale import MODEL_ID, TENANT, Postgres, err, memories, server_settings
from postgres_scale import parse_args as parse_pg_args
from vector_scale import VectorSource

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fill(store: SQLiteStore, count: int, seed: int) -> None:
    vectors_of = VectorSource(seed, "clustered")
    rng = random.Random(seed)
    with store.write() as tx:
        tx.insert_tenant(
            Tenant(
                id=TENANT,
                name=TENANT,
                plan=Plan.FREE,
                status=TenantStatus.ACTIVE,
                config=TenantConfig(),
                quotas=TenantQuotas(),
                created_at=T0,
                updated_at=T0,
            )
        )
    for first, vectors in vectors_of.chunks(count):
        with store.write() as tx:
            seqs = tx.insert_memories(TENANT, memories(first, len(vectors), rng))
            tx.put_vectors(
                [VectorRow(s, MODEL_ID, v.tobytes()) for s, v in zip(seqs, vectors, strict=True)]
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memories", type=int, default=20_000)
    parser.add_argument("--live", action="store_true", help="the target's index exists first")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = server_settings(parse_pg_args([]))  # postgres_scale.py's defaults
    with tempfile.TemporaryDirectory(prefix="maia-migrate-") as tmp:
        source = SQLiteStore(Path(tmp) / "maia.db")
        err.print(f"filling a SQLite store with {args.memories:,} memories and vectors")
        fill(source, args.memories, args.seed)
        pg = Postgres(settings)
        try:
            target = PostgresStore(pg.create_database("migrate"))
            if args.live:  # the index exists before the copy starts
                with target.write() as tx:
                    seq = tx.insert_memories("other", memories(0, 1, random.Random(0)))[0]
                    tx.put_vectors([VectorRow(seq, MODEL_ID, np.ones(384, "<f4").tobytes())])
            marks: dict[str, float] = {}
            start = time.perf_counter()
            cpu = pg.cpu_seconds()

            def tick(what: str, _n: int) -> None:
                if what == "indexes":
                    marks["copied"] = time.perf_counter()

            copy_store(source, target, tick)
            total = time.perf_counter() - start
            cpu = pg.cpu_seconds() - cpu
            copied = marks["copied"] - start
            start = time.perf_counter()
            same = tally(source).differences(tally(target)) == []
            verify = time.perf_counter() - start
            with psycopg.connect(pg.url("migrate"), autocommit=True) as conn:
                valid = conn.execute(
                    "SELECT indisvalid FROM pg_index "
                    "WHERE indexrelid = to_regclass('memory_vectors_hnsw_384')"
                ).fetchone()
            target.close()
        finally:
            pg.close()
            source.close()
    mode = "live index" if args.live else "index built at the end"
    ok = "yes" if same and valid and valid[0] else "NO"
    print(
        "| memories | vector index | copy | index + ANALYZE | total | memories/s "
        "| PostgreSQL CPU | verify | verified, index valid |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {args.memories:,} | {mode} | {copied:.1f} s | {total - copied:.1f} s "
        f"| {total:.1f} s | {args.memories / total:,.0f} | {cpu:.1f} s | {verify:.1f} s | {ok} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
