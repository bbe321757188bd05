"""What only the PostgreSQL store has: migrations under an advisory lock, row locks
across nodes, the HNSW index per dimension, SQL vector search, its error mapping."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import numpy as np
import psycopg
import pytest

from maia.errors import AlreadyExists, Conflict, InvalidInput, QuotaExceeded, Unavailable
from maia.models import MemoryFilter, Page
from maia.store.base import VectorRow
from maia.store.postgres import PostgresStore, redact
from maia.store.postgres.schema import SCHEMA_VERSION
from maia.store.postgres.session import MAX_QUERY_WORDS, PostgresSession, ts_query
from tests import pg_server
from tests.conftest import REQUIRE_POSTGRES
from tests.store.builders import T0, edge, memory, namespace, vector
from tests.store.upgrades import check_relation_metadata_counted_once_upgraded
from tests.threads import run_together

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(postgres_server: pg_server.PostgresServer | str) -> pg_server.PostgresServer:
    return pg_server.usable(postgres_server, required=REQUIRE_POSTGRES)


@pytest.fixture
def store(open_store: Callable[..., PostgresStore]) -> PostgresStore:
    return open_store()


def _raw(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


# -- migrations ------------------------------------------------------------------------


def test_fresh_database_is_migrated_once(server: pg_server.PostgresServer) -> None:
    with server.database() as url:
        PostgresStore(url).close()
        PostgresStore(url).close()
        with _raw(url) as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            }
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert {"memories", "memory_vectors", "tenants", "api_keys", "tenant_usage"} <= tables


def test_nodes_starting_together_migrate_once(server: pg_server.PostgresServer) -> None:
    with server.database() as url:
        stores: list[PostgresStore] = []

        def open_node() -> None:
            stores.append(PostgresStore(url, min_connections=1, max_connections=2))

        failures = run_together([open_node] * 4)
        for opened in stores:
            opened.check()
            opened.close()
        with _raw(url) as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
    assert failures == []
    assert len(stores) == 4
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_an_upgraded_database_counts_its_relations_metadata(postgres_url: str) -> None:
    """Version 2 counts relation metadata in the storage usage."""

    def downgrade(counted: int) -> None:  # as version 1 left it
        with _raw(postgres_url) as conn:
            for name in ("insert", "delete", "update"):
                conn.execute(f"DROP TRIGGER tenant_usage_relation_{name} ON relations")
                conn.execute(f"DROP FUNCTION maia_relation_usage_{name}()")
            conn.execute(
                "UPDATE tenant_usage SET storage_bytes = %s WHERE tenant_id = 't'", (counted,)
            )
            conn.execute("DELETE FROM schema_version WHERE version = 2")

    check_relation_metadata_counted_once_upgraded(lambda: PostgresStore(postgres_url), downgrade)


def test_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with _raw(postgres_url) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(Unavailable, match="newer than this MAIA"):
        PostgresStore(postgres_url)


# -- connections, errors, location -----------------------------------------------------


def test_location_hides_the_password() -> None:
    assert redact("postgresql://maia:s3cr%40t@db.example:5432/maia?sslmode=require") == (
        "postgresql://maia:***@db.example:5432/maia?sslmode=require"
    )
    assert redact("postgres://maia@db/maia") == "postgres://maia@db/maia"
    assert redact("postgresql:///maia?host=/run/pg&password=hunter2") == (
        "postgresql:///maia?host=/run/pg&password=***"
    )
    assert redact("host=db user=maia password='a b\\'c' dbname=maia") == (
        "host=db user=maia password=*** dbname=maia"
    )
    assert redact("host=db password=plain dbname=maia") == "host=db password=*** dbname=maia"


def test_store_location_is_redacted(server: pg_server.PostgresServer) -> None:
    with server.database() as url:
        parts = urlsplit(url)
        with_password = url.replace(f"{parts.username}:@", f"{parts.username}:topsecret@", 1)
        store = PostgresStore(with_password)  # trust authentication ignores it
        try:
            assert "topsecret" not in store.location
            assert f"{parts.username}:***@" in store.location
        finally:
            store.close()


def test_unreachable_server_is_unavailable(tmp_path: object) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable, match="cannot open database"):
        PostgresStore("postgresql://maia:pw@/maia?host=/nonexistent/socket/dir", connect_timeout=2)
    assert time.monotonic() - started < 10


def test_a_database_gone_away_is_unavailable(server: pg_server.PostgresServer) -> None:
    with server.database() as url:
        store = PostgresStore(url, connect_timeout=1)
        try:
            store.check()
            assert store.size_bytes() > 1_000_000  # pg_database_size of the database
            server.drop_database(urlsplit(url).path.lstrip("/"))
            with pytest.raises(Unavailable):
                store.check()
            with pytest.raises(Unavailable), store.read() as tx:
                tx.count_memories("t")
        finally:
            store.close()


def test_backup_points_to_pg_dump(store: PostgresStore, tmp_path: object) -> None:
    with pytest.raises(InvalidInput, match="pg_dump"):
        store.backup(tmp_path / "backup.db")  # type: ignore[operator]


def test_nul_characters(store: PostgresStore) -> None:
    item = memory("fine")
    with store.write() as tx:
        tx.insert_memories("t", [item])
        with pytest.raises(InvalidInput, match="NUL"):
            tx.insert_memories("t", [memory("bad \x00 content")])
        with pytest.raises(InvalidInput, match="NUL"):
            tx.update_memory("t", item.model_copy(update={"content": "\x00"}))
        tx.insert_namespace("t", namespace("still usable"))
    with store.read() as tx:
        assert tx.get_memory("t", "id\x00") is None
        assert tx.get_memories("t", ["id\x00", item.id]) == [item]
        assert tx.list_memories("t", MemoryFilter(namespace="ns\x00"), Page()) == []
        assert tx.list_memories("t", MemoryFilter(tags=("x\x00",)), Page()) == []
        assert tx.get_namespace("t", "\x00") is None
        assert tx.get_tenant("\x00") is None
        assert tx.get_api_key("\x00") is None
        assert tx.count_memories("t", "\x00") == 0
        assert tx.search_text("t", "fine\x00", MemoryFilter(), 5)[0].memory == item
        assert tx.count_namespaces("t") == 1


def test_a_stream_cannot_outlive_its_block(store: PostgresStore) -> None:
    with store.write() as tx:
        tx.insert_memories("t", [memory(f"m{i}") for i in range(600)])
    with store.read() as tx:
        stream = tx.iter_memories("t", MemoryFilter())
        next(stream)
    # Its connection is back in the pool (maybe another thread's now): what was fetched
    # can be read, but no more is fetched.
    with pytest.raises(psycopg.InterfaceError, match="closed"):
        list(stream)
    with store.read() as tx:
        assert tx.count_memories("t") == 600


def test_stop_words_only_find_nothing(store: PostgresStore) -> None:
    """English stop words are not indexed (ts_rank has no IDF to discount them)."""
    with store.write() as tx:
        tx.insert_memories("t", [memory("the cat is on the mat")])
    with store.read() as tx:
        assert tx.search_text("t", "the is on", MemoryFilter(), 5) == []
        assert len(tx.search_text("t", "the cats", MemoryFilter(), 5)) == 1


def test_long_queries_keep_their_first_words() -> None:
    query = " ".join(f"w{i}" for i in range(MAX_QUERY_WORDS + 50))
    built = ts_query(query)
    assert built is not None
    assert built.count("|") == MAX_QUERY_WORDS - 1
    assert ts_query("'; -- \\ ( ) & | ! : *") is None


# -- concurrency across nodes ----------------------------------------------------------


def test_no_lost_update_between_nodes(open_store: Callable[..., PostgresStore]) -> None:
    """Two nodes increment one memory's counter by read-modify-write: the second waits
    for the first (the read in a write locks the row) and sees its change."""
    node_a, node_b = open_store(), open_store()
    item = memory("counter")
    with node_a.write() as tx:
        tx.insert_memories("t", [item])
    a_has_read = threading.Event()
    b_read: list[int] = []

    def increment(store: PostgresStore, *, first: bool) -> None:
        if not first:
            assert a_has_read.wait(10)
        with store.write() as tx:
            current = tx.get_memory("t", item.id)
            assert current is not None
            if first:
                a_has_read.set()
                time.sleep(0.3)  # b tries to read meanwhile
            else:
                b_read.append(current.access_count)
            tx.update_memory(
                "t", current.model_copy(update={"access_count": current.access_count + 1})
            )

    threads = [
        threading.Thread(target=increment, args=(node_a,), kwargs={"first": True}),
        threading.Thread(target=increment, args=(node_b,), kwargs={"first": False}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with node_a.read() as tx:
        stored = tx.get_memory("t", item.id)
    assert b_read == [1]
    assert stored is not None
    assert stored.access_count == 2


@pytest.mark.parametrize("existing", [0, 2], ids=["first memory", "usage row exists"])
@pytest.mark.parametrize("check", ["tenant usage", "namespace count"])
def test_quota_checks_serialise_nodes(
    open_store: Callable[..., PostgresStore], existing: int, check: str
) -> None:
    """Check a quota, then insert (as the service does in one write): two nodes racing
    for the last slot cannot both take it, even for a tenant's very first memory."""
    node_a, node_b = open_store(), open_store()
    if existing:
        with node_a.write() as tx:
            tx.insert_memories("t", [memory(f"old {i}") for i in range(existing)])
    limit = existing + 1
    a_has_checked = threading.Event()
    outcomes: dict[str, object] = {}

    def add_one(store: PostgresStore, name: str) -> None:
        if name == "b":
            assert a_has_checked.wait(10)
        try:
            with store.write() as tx:
                if check == "tenant usage":
                    count, _ = tx.tenant_usage("t")
                else:
                    count = tx.count_memories("t", "ns")
                if name == "a":
                    a_has_checked.set()
                    time.sleep(0.3)
                if count + 1 > limit:
                    raise QuotaExceeded("full", limit=limit, current=count)
                tx.insert_memories("t", [memory(f"new from {name}")])
            outcomes[name] = "inserted"
        except QuotaExceeded as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=add_one, args=(s, n)) for s, n in ((node_a, "a"), (node_b, "b"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes["a"] == "inserted"
    assert isinstance(outcomes["b"], QuotaExceeded)
    with node_a.read() as tx:
        assert tx.count_memories("t") == limit
        assert tx.tenant_usage("t")[0] == limit


def test_a_deadlock_is_a_conflict(open_store: Callable[..., PostgresStore]) -> None:
    node_a, node_b = open_store(), open_store()
    x, y = memory("x"), memory("y")
    with node_a.write() as tx:
        tx.insert_memories("t", [x, y])
    both_locked = threading.Barrier(2)
    outcomes: list[object] = []

    def lock_both(store: PostgresStore, first: str, second: str) -> None:
        try:
            with store.write() as tx:
                tx.get_memory("t", first)
                both_locked.wait(10)
                tx.get_memory("t", second)
            outcomes.append("committed")
        except Conflict as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=lock_both, args=(node_a, x.id, y.id)),
        threading.Thread(target=lock_both, args=(node_b, y.id, x.id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(type, outcomes), key=str) == sorted([Conflict, str], key=str)
    with node_a.write() as tx:  # both nodes still work
        assert tx.touch_memories("t", [x.id], T0) == 1
    with node_b.read() as tx:
        assert tx.count_memories("t") == 2


def test_concurrent_namespace_creation_has_one_winner(
    open_store: Callable[..., PostgresStore],
) -> None:
    nodes = [open_store() for _ in range(3)]
    start = threading.Barrier(3)
    outcomes: list[object] = []

    def create(store: PostgresStore) -> None:
        start.wait(10)
        try:
            with store.write() as tx:
                tx.insert_namespace("t", namespace("default"))
            outcomes.append("created")
        except AlreadyExists as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=create, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 1
    assert sum(isinstance(o, AlreadyExists) for o in outcomes) == 2


# -- vectors in SQL --------------------------------------------------------------------


def _indexes(url: str) -> set[str]:
    with _raw(url) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'memory_vectors' "
            "AND schemaname = current_schema() AND indexname LIKE 'memory_vectors_hnsw_%%'"
        ).fetchall()
    return {str(r[0]) for r in rows}


def test_an_hnsw_index_per_dimension_once_committed(
    store: PostgresStore, postgres_url: str
) -> None:
    with store.write() as tx:
        seqs = tx.insert_memories("t", [memory(f"m{i}") for i in range(4)])
    assert _indexes(postgres_url) == set()

    def failing_put() -> None:
        with store.write() as tx:
            tx.put_vectors([VectorRow(seqs[0], "m", vector(1, 2, 3))])
            raise RuntimeError("rolled back, and the index with it")

    with pytest.raises(RuntimeError):
        failing_put()
    assert _indexes(postgres_url) == set()
    with store.write() as tx:
        tx.put_vectors([VectorRow(seqs[0], "m", vector(1, 2, 3))])
        tx.put_vectors([VectorRow(seqs[1], "m", vector(4, 5, 6))])
        tx.put_vectors([VectorRow(seqs[2], "m", np.ones(384, np.float32).tobytes())])
    assert _indexes(postgres_url) == {"memory_vectors_hnsw_3", "memory_vectors_hnsw_384"}
    too_big = np.ones(2001, np.float32).tobytes()  # beyond HNSW's limit: stored, scanned
    with store.write() as tx:
        tx.put_vectors([VectorRow(seqs[3], "m", too_big)])
    with store.read() as tx:
        assert [v.vector for v in tx.iter_vectors("m")][3] == too_big
    assert store.search_vectors("t", np.ones(2001), None, False, 1, None, "m") == [
        (seqs[3], pytest.approx(1.0))
    ]


def _explain(store: PostgresStore, *, exact: bool, **scope: object) -> str:
    with store.read() as tx:
        assert isinstance(tx, PostgresSession)
        query = np.ones(384, np.float32)
        args = {
            "namespaces": None,
            "include_descendants": False,
            "allowed_seqs": None,
            **scope,
        }
        found = tx._vector_query(
            "t",
            query,
            args["namespaces"],  # type: ignore[arg-type]
            bool(args["include_descendants"]),
            10,
            args["allowed_seqs"],  # type: ignore[arg-type]
            "m",
            exact,
        )
        assert found is not None
        sql, params = found
        # A table this small is scanned whatever the index (the planner switches to the
        # index at a few thousand rows): forbid that, to see whether the index can serve.
        tx._conn.execute("SET LOCAL enable_seqscan = off")
        tx._conn.execute("SET LOCAL enable_sort = off")
        rows = tx._conn.execute("EXPLAIN " + sql, params).fetchall()
    return "\n".join(str(r[0]) for r in rows)


@pytest.fixture
def vectors_loaded(store: PostgresStore, postgres_url: str) -> list[int]:
    rng = np.random.default_rng(3)
    with store.write() as tx:
        seqs = tx.insert_memories("t", [memory(f"m{i}", namespace=f"n{i % 3}") for i in range(600)])
        tx.insert_memories("u", [memory("theirs")])
        tx.put_vectors(
            [VectorRow(s, "m", rng.standard_normal(384, dtype=np.float32).tobytes()) for s in seqs]
        )
    with _raw(postgres_url) as conn:
        conn.execute("ANALYZE")
    return seqs


def test_ann_plans_use_the_index_and_exact_plans_do_not(
    store: PostgresStore, vectors_loaded: list[int]
) -> None:
    assert "memory_vectors_hnsw_384" in _explain(store, exact=False)
    assert "memory_vectors_hnsw_384" in _explain(store, exact=False, namespaces=("n1",))
    assert "hnsw" not in _explain(store, exact=True)
    assert "hnsw" not in _explain(store, exact=True, namespaces=("n1",))


def test_search_vectors_scope(store: PostgresStore, vectors_loaded: list[int]) -> None:
    seqs = vectors_loaded
    with store.read() as tx:
        stored = {v.seq: np.frombuffer(v.vector, np.float32) for v in tx.iter_vectors("m")}
        namespaces = {
            m.id: m.namespace for m in tx.list_memories("t", MemoryFilter(), Page(limit=1000))
        }
        by_seq = tx.memories_by_seq("t", seqs)
    keys = np.array(sorted(stored))
    matrix = np.stack([stored[k] for k in keys])
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = matrix[5] + 0.1

    def exact(allowed: set[int]) -> list[int]:
        sims = matrix @ (query / np.linalg.norm(query))
        order = [int(keys[i]) for i in np.argsort(-sims) if int(keys[i]) in allowed]
        return order[:10]

    in_n1 = {s for s in seqs if namespaces[by_seq[s].id] == "n1"}
    for mode in (True, False):
        found = store.search_vectors("t", query, None, False, 10, None, "m", exact=mode)
        assert [s for s, _ in found] == exact(set(seqs))
        assert all(a[1] >= b[1] for a, b in itertools.pairwise(found))
        found = store.search_vectors("t", query, ("n1",), False, 10, None, "m", exact=mode)
        assert [s for s, _ in found] == exact(in_n1)
        subset = set(seqs[::7])
        found = store.search_vectors("t", query, None, False, 10, sorted(subset), "m", exact=mode)
        assert [s for s, _ in found] == exact(subset)
    assert store.search_vectors("u", query, None, False, 10, None, "m") == []
    assert store.search_vectors("t", query, None, False, 10, None, "other model") == []
    assert store.search_vectors("t", query, (), False, 10, None, "m") == []
    assert store.search_vectors("t", query, None, False, 0, None, "m") == []
    assert store.search_vectors("t", query, None, False, 10, [], "m") == []
    assert store.search_vectors("t", query[:3], None, False, 10, None, "m") == []  # other dim
    top = store.search_vectors("t", matrix[5], None, False, 1, None, "m", exact=True)
    assert top == [(int(keys[5]), pytest.approx(1.0, abs=1e-6))]


def test_search_vectors_with_descendants(store: PostgresStore) -> None:
    names = ["team", "team/a", "team/a/b", "teamster", "other"]
    with store.write() as tx:
        seqs = tx.insert_memories("t", [memory(n, namespace=n) for n in names])
        tx.put_vectors([VectorRow(s, "m", vector(1, i + 1)) for i, s in enumerate(seqs)])

    def scoped(namespaces: tuple[str, ...], descendants: bool) -> set[str]:
        found = store.search_vectors("t", [1, 1], namespaces, descendants, 10, None, "m")
        return {names[seqs.index(s)] for s, _ in found}

    assert scoped(("team",), False) == {"team"}
    assert scoped(("team",), True) == {"team", "team/a", "team/a/b"}
    assert scoped(("team/",), True) == {"team/a", "team/a/b"}
    assert scoped(("team/a", "other"), True) == {"team/a", "team/a/b", "other"}
    assert scoped(("TEAM",), True) == set()


def test_store_reads_use_the_session_time_zone_utc(store: PostgresStore) -> None:
    item = memory("when", at=T0 + timedelta(microseconds=123456))
    with store.write() as tx:
        tx.insert_memories("t", [item])
    with store.read() as tx:
        stored = tx.get_memory("t", item.id)
    assert stored is not None
    assert stored.created_at == item.created_at
    assert stored.created_at.utcoffset() == timedelta(0)


def test_the_database_serves_as_the_engines_vector_index(store: PostgresStore) -> None:
    """``DatabaseVectorIndex`` (maia.retrieval.index.database) over this store."""
    from maia.retrieval.index.database import DatabaseVectorIndex
    from maia.retrieval.index.vectors import Scope

    with store.write() as tx:
        seqs = tx.insert_memories("t", [memory(n, namespace=n) for n in ("a", "a/b", "c")])
        (theirs,) = tx.insert_memories("u", [memory("theirs")])
        rows = [VectorRow(s, "m", vector(1, i)) for i, s in enumerate([*seqs, theirs])]
        tx.put_vectors([VectorRow(seqs[2], "old", vector(5, 5))])
        tx.put_vectors(rows)  # replaces the "old" one
    index = DatabaseVectorIndex(store, "m")
    assert len(index) == 4
    assert store.count_vectors("old") == 0
    found = index.vectors([seqs[1], theirs, 999])
    assert set(found) == {seqs[1], theirs}
    assert found[seqs[1]].dtype == np.float32
    assert found[seqs[1]].tolist() == [1.0, 1.0]
    keys, matrix = index.matrix([theirs, 999, seqs[1]])
    assert sorted(keys) == sorted([theirs, seqs[1]])
    assert matrix.dtype == np.float32
    assert matrix.tolist() == [found[k].tolist() for k in keys]
    none, empty = index.matrix([999])
    assert none == []
    assert empty.size == 0
    assert store.vectors_by_seq([], "m") == {}
    hits = index.search(np.array([1, 0], np.float32), Scope("t", ("a",), True), 5)
    assert [s for s, _ in hits] == [seqs[0], seqs[1]]
    assert hits[0][1] == pytest.approx(1.0)
    assert index.search(np.array([1, 0], np.float32), Scope("t"), 5, allowed=[seqs[2]]) == [
        (seqs[2], pytest.approx(1 / np.sqrt(5)))
    ]


def test_deleting_a_tenant_waits_for_a_writer_instead_of_deadlocking(
    store: PostgresStore, postgres_url: str
) -> None:
    """A writer locks memory rows, then the usage row; deleting the tenant must take them
    in the same order (relations first took the usage row first: a deadlock)."""
    a, b = memory("a"), memory("b")
    with store.write() as tx:
        tx.insert_memories("t", [a, b])
        tx.put_edge("t", edge(a.id, b.id, metadata={"k": "v"}))
    rows_locked, outcome = threading.Event(), {}

    def delete() -> None:
        rows_locked.wait()
        try:
            with store.write() as tx:
                tx.delete_tenant("t")
            outcome["delete"] = "ok"
        except Exception as exc:
            outcome["delete"] = repr(exc)

    deleter = threading.Thread(target=delete)
    deleter.start()
    with store.write() as tx:  # as relate and update do
        tx.get_memories("t", [a.id, b.id])
        rows_locked.set()
        with _raw(postgres_url) as watcher:  # until the deleter waits for a lock
            deadline = time.monotonic() + 30
            while not watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the deleter never waited"
                time.sleep(0.01)
        tx.tenant_usage("t")
    deleter.join(30)
    assert outcome == {"delete": "ok"}
    with store.read() as tx:
        assert tx.tenant_usage("t") == (0, 0)
