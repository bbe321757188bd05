"""When PostgreSQL's HNSW indexes get built: empty with a dimension's first vector, once
at the end of a bulk load, beside the writes (never inside one) when vectors are
stored without their index, and again when a concurrent build left an invalid one."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import pytest

from maia.store.base import VectorRow
from maia.store.migrate import copy_store, tally
from maia.store.postgres import PostgresStore
from maia.store.postgres.schema import HNSW_LOCK_CLASS
from maia.store.postgres.session import PostgresSession
from maia.store.postgres.vector_sql import build_hnsw
from maia.store.sqlite import SQLiteStore
from tests.store.builders import memory
from tests.store.test_migrate import fill

pytestmark = pytest.mark.postgres

INDEX = "memory_vectors_hnsw_384"


@pytest.fixture
def store(open_store: Callable[[], PostgresStore]) -> PostgresStore:
    return open_store()


def _raw(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


def _state(url: str, name: str = INDEX) -> bool | None:
    """None: no such index; else whether it is valid."""
    with _raw(url) as conn:
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)
        ).fetchone()
    return None if row is None else bool(row[0])


def _analyzed(url: str, table: str) -> bool:
    with _raw(url) as conn:
        row = conn.execute(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname = %s AND schemaname = current_schema()",
            (table,),
        ).fetchone()
    return bool(row and row[0])


def _wait_for_valid(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while _state(url) is not True:
        assert time.monotonic() < deadline, "the index was not built"
        time.sleep(0.05)


def _write_vectors(store: PostgresStore, count: int, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    with store.write() as tx:
        seqs = tx.insert_memories("t", [memory(f"m{i}") for i in range(count)])
        tx.put_vectors(
            [VectorRow(s, "m", rng.standard_normal(384).astype(np.float32).tobytes()) for s in seqs]
        )
    return seqs


def _interrupted_bulk_load(store: PostgresStore, count: int) -> list[int]:
    """Writes ``count`` vectors in a bulk load that is then interrupted."""
    seqs: list[int] = []

    def load() -> None:
        with store.bulk_load():
            seqs.extend(_write_vectors(store, count))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load()
    return seqs


def _nearest_is_itself(store: PostgresStore, seq: int) -> None:
    with store.read() as tx:
        stored = tx.vectors_by_seq([seq], "m")[seq]
    assert store.search_vectors("t", stored, None, False, 1, None, "m")[0][0] == seq


def test_a_bulk_load_builds_the_index_once_at_its_end(
    store: PostgresStore, postgres_url: str
) -> None:
    with store.bulk_load():
        seqs = _write_vectors(store, 200) + _write_vectors(store, 200, seed=2)
        assert _state(postgres_url) is None  # not kept up to date vector by vector
        _nearest_is_itself(store, seqs[7])  # searches work meanwhile (by a scan)
    assert _state(postgres_url) is True
    assert _analyzed(postgres_url, "memory_vectors")
    assert _analyzed(postgres_url, "memories")
    _nearest_is_itself(store, seqs[300])
    # The store knows the index now: a later write goes into it.
    with store.write() as tx:
        assert isinstance(tx, PostgresSession)
        tx.put_vectors([VectorRow(seqs[0], "m", np.ones(384, np.float32).tobytes())])
        assert tx.pending_builds == set()


def test_a_failed_bulk_load_builds_nothing_and_the_next_write_builds_it_beside(
    store: PostgresStore, postgres_url: str
) -> None:
    seqs = _interrupted_bulk_load(store, 300)
    assert _state(postgres_url) is None
    assert not _analyzed(postgres_url, "memory_vectors")
    with store.write() as tx:  # a normal write meets stored vectors without their index
        assert isinstance(tx, PostgresSession)
        tx.put_vectors([VectorRow(seqs[0], "m", np.ones(384, np.float32).tobytes())])
    # It did not build it inside its transaction, but asked for a build beside it.
    assert tx.created_indexes == set()
    assert tx.pending_builds == {384}
    _wait_for_valid(postgres_url)
    _nearest_is_itself(store, seqs[5])


def test_the_first_vector_of_a_dimension_creates_its_index_in_its_write(
    store: PostgresStore, postgres_url: str
) -> None:
    with store.write() as tx:
        assert isinstance(tx, PostgresSession)
        seq = tx.insert_memories("t", [memory("first")])[0]
        tx.put_vectors([VectorRow(seq, "m", np.ones(384, np.float32).tobytes())])
        assert tx.created_indexes == {384}
        assert tx.pending_builds == set()
    assert _state(postgres_url) is True


def test_an_invalid_index_is_rebuilt(
    open_store: Callable[[], PostgresStore], postgres_url: str
) -> None:
    first = open_store()
    seqs = _write_vectors(first, 100)
    assert _state(postgres_url) is True
    with _raw(postgres_url) as conn:  # what a build killed half-way leaves behind
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", (INDEX,)
        )
    assert _state(postgres_url) is False
    node = open_store()  # a node that has not seen the index yet
    with node.write() as tx:
        tx.put_vectors([VectorRow(seqs[0], "m", np.ones(384, np.float32).tobytes())])
    _wait_for_valid(postgres_url)
    _nearest_is_itself(node, seqs[3])


def test_one_build_at_a_time_across_nodes(store: PostgresStore, postgres_url: str) -> None:
    with store.bulk_load():
        pass  # nothing stored: nothing to build
    seqs = _interrupted_bulk_load(store, 50)
    with _raw(postgres_url) as other, _raw(postgres_url) as conn:
        other.execute("SELECT pg_advisory_lock(%s, %s)", (HNSW_LOCK_CLASS, 384))
        # Another node is building it: this one does not start a second build.
        assert build_hnsw(conn, store._indexes, 384) is False  # type: ignore[arg-type]
        assert _state(postgres_url) is None
        other.execute("SELECT pg_advisory_unlock(%s, %s)", (HNSW_LOCK_CLASS, 384))
        assert build_hnsw(conn, store._indexes, 384) is True  # type: ignore[arg-type]
    assert _state(postgres_url) is True
    _nearest_is_itself(store, seqs[1])


def test_a_migration_builds_the_index_after_copying(
    store: PostgresStore, postgres_url: str, tmp_path: Path
) -> None:
    source = SQLiteStore(tmp_path / "source.db")
    try:
        fill(source, memories=300)
        stages: list[str] = []
        copy_store(source, store, progress=lambda what, _n: stages.append(what))
        assert stages[-1] == "indexes"
        assert _state(postgres_url, "memory_vectors_hnsw_8") is True
        assert _analyzed(postgres_url, "memories")
        assert tally(source).differences(tally(store)) == []
    finally:
        source.close()


def test_search_settings_are_local_to_the_transaction(store: PostgresStore) -> None:
    seqs = _write_vectors(store, 20)
    query = np.ones(384, np.float32)

    def setting(tx: PostgresSession, name: str) -> str:
        row = tx._conn.execute(f"SHOW {name}").fetchone()
        return str(row[0]) if row else ""

    with store.read() as tx:
        assert isinstance(tx, PostgresSession)
        assert tx.search_vectors("t", query, None, False, 1, None, "m", ef_search=7)
        assert setting(tx, "hnsw.ef_search") == "7"
        assert setting(tx, "hnsw.iterative_scan") == "relaxed_order"
        found = tx.search_vectors("t", query, None, False, 3, None, "m")  # the store's 100
        assert setting(tx, "hnsw.ef_search") == "100"
        assert {seq for seq, _ in found} <= set(seqs)
        assert tx.search_vectors("t", query, None, False, 300, None, "m")  # ef >= k
        assert setting(tx, "hnsw.ef_search") == "300"
    with store.read() as tx:  # the next transaction on the connection starts afresh
        assert isinstance(tx, PostgresSession)
        assert setting(tx, "hnsw.ef_search") == "40"  # pgvector's default
