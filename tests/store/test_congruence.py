"""Both stores given the same data answer alike: the same vectors, the same exact
neighbours, an HNSW search close to exact, and full-text results that agree.

2,000 memories with seeded random unit 384-d vectors in a few namespaces of two tenants
go into a SQLite and a PostgreSQL store once for the module. SQLite's vectors are
searched in numpy by the retrieval engine; PostgreSQL searches them in SQL. The vectors
are drawn around 50 random centres, as embeddings of real text cluster by topic (on
uniformly random directions, which have no near neighbours, an HNSW graph with these
settings finds about 96% of the top ten).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pytest

from maia.models import Memory, MemoryFilter
from maia.store.base import Store, VectorRow
from maia.store.postgres import PostgresStore
from maia.store.postgres.session import PostgresSession
from maia.store.sqlite import SQLiteStore
from tests import pg_server
from tests.conftest import REQUIRE_POSTGRES
from tests.store.builders import T0, memory

pytestmark = pytest.mark.postgres

DIM = 384
COUNT = 2000
NAMESPACES = ("notes", "notes/work", "notes/work/deep", "chat", "chat-log")
# Words no stemmer changes (they end in a digit), so both stores match the same ones.
VOCABULARY = [f"{stem}{i}" for i, stem in enumerate(["kiwo", "tamu", "rello", "bask"] * 40)]


@dataclass
class Loaded:
    sqlite: SQLiteStore
    postgres: PostgresStore
    memories: list[Memory]
    tenants: list[str]
    vectors: npt.NDArray[np.float32]  # row i: memories[i]'s unit vector
    centres: npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def loaded(
    postgres_server: pg_server.PostgresServer | str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    server = pg_server.usable(postgres_server, required=REQUIRE_POSTGRES)
    rng = np.random.default_rng(2024)
    centres = rng.standard_normal((50, DIM), dtype=np.float32)
    vectors = centres[rng.integers(50, size=COUNT)] + rng.standard_normal(
        (COUNT, DIM), dtype=np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    memories: list[Memory] = []
    tenants: list[str] = []
    for i in range(COUNT):
        words = rng.choice(len(VOCABULARY), size=int(rng.integers(3, 12)))
        memories.append(
            memory(
                " ".join(VOCABULARY[w] for w in words),
                namespace=NAMESPACES[int(rng.integers(len(NAMESPACES)))],
                at=T0 + timedelta(seconds=int(rng.integers(0, 10_000))),
            )
        )
        tenants.append("t" if i % 10 else "u")
    with server.database() as url:
        sqlite = SQLiteStore(tmp_path_factory.mktemp("congruence") / "maia.db")
        postgres = PostgresStore(url)
        for store in (sqlite, postgres):
            with store.write() as tx:
                rows: list[VectorRow] = []
                for i, item in enumerate(memories):
                    (seq,) = tx.insert_memories(tenants[i], [item])
                    rows.append(VectorRow(seq, "minilm", vectors[i].tobytes()))
                tx.put_vectors(rows)
        try:
            yield Loaded(sqlite, postgres, memories, tenants, vectors, centres)
        finally:
            sqlite.close()
            postgres.close()


def _seq_to_id(store: Store, tenant: str) -> dict[int, str]:
    with store.read() as tx:
        return {
            seq: m.id
            for seq, m in tx.memories_by_seq(
                tenant, sorted(tx.seqs_matching(tenant, MemoryFilter()))
            ).items()
        }


def test_both_stores_hold_the_same_vectors(loaded: Loaded) -> None:
    with loaded.sqlite.read() as a, loaded.postgres.read() as b:
        assert list(a.iter_vectors("minilm")) == list(b.iter_vectors("minilm"))
        assert a.vector_counts() == b.vector_counts() == {"minilm": COUNT}
        for tenant in ("t", "u"):
            assert a.tenant_usage(tenant) == b.tenant_usage(tenant)


@pytest.fixture(scope="module")
def sqlite_vectors(loaded: Loaded) -> dict[str, list[tuple[str, str, npt.NDArray[np.float32]]]]:
    """SQLite's embeddings by tenant: (memory id, namespace, vector)."""
    found: dict[str, list[tuple[str, str, npt.NDArray[np.float32]]]] = {}
    with loaded.sqlite.read() as tx:
        stored = list(tx.iter_vectors("minilm"))
    for tenant in ("t", "u"):
        ids = _seq_to_id(loaded.sqlite, tenant)
        found[tenant] = [
            (ids[v.seq], v.namespace, np.frombuffer(v.vector, np.float32))
            for v in stored
            if v.tenant == tenant
        ]
    return found


def _numpy_top(
    stored: list[tuple[str, str, npt.NDArray[np.float32]]],
    query: npt.NDArray[np.float32],
    k: int,
    scope: tuple[str, ...] | None = None,
    descendants: bool = False,
) -> list[tuple[str, float]]:
    """What the engine does with SQLite's vectors: exact cosine top k in numpy."""

    def covered(namespace: str) -> bool:
        if scope is None:
            return True
        return any(
            namespace == n or (descendants and namespace.startswith(n.rstrip("/") + "/"))
            for n in scope
        )

    kept = [(memory_id, v) for memory_id, namespace, v in stored if covered(namespace)]
    matrix = np.stack([v for _, v in kept])
    sims = matrix @ (query / np.linalg.norm(query))
    order = np.argsort(-sims, kind="stable")[:k]
    return [(kept[i][0], float(sims[i])) for i in order]


def _queries(loaded: Loaded, count: int) -> list[npt.NDArray[np.float32]]:
    """Half near stored vectors (a question about a stored fact), half new points
    around the same centres."""
    rng = np.random.default_rng(99)
    queries = []
    for i in range(count):
        if i % 2:
            base = loaded.vectors[int(rng.integers(COUNT))]
            q = base + rng.standard_normal(DIM, dtype=np.float32) * 0.02
        else:
            base = loaded.centres[int(rng.integers(len(loaded.centres)))]
            q = base + rng.standard_normal(DIM, dtype=np.float32)
        queries.append((q / np.linalg.norm(q)).astype(np.float32))
    return queries


@pytest.mark.parametrize(
    ("scope", "descendants"),
    [(None, False), (("notes",), True), (("notes/work", "chat"), False)],
    ids=["tenant", "with descendants", "two namespaces"],
)
def test_exact_search_in_sql_matches_numpy(
    loaded: Loaded,
    sqlite_vectors: dict[str, list[tuple[str, str, npt.NDArray[np.float32]]]],
    scope: tuple[str, ...] | None,
    descendants: bool,
) -> None:
    ids = _seq_to_id(loaded.postgres, "t")
    for query in _queries(loaded, 50):
        expected = _numpy_top(sqlite_vectors["t"], query, 11, scope, descendants)
        found = loaded.postgres.search_vectors(
            "t", query, scope, descendants, 10, None, "minilm", exact=True
        )
        assert len(found) == 10
        got = [(ids[seq], sim) for seq, sim in found]
        # The same ids in the same order, unless two similarities tie within float error.
        tenth, eleventh = expected[9][1], expected[10][1]
        if tenth - eleventh > 1e-5:
            assert {i for i, _ in got} == {i for i, _ in expected[:10]}
        for (got_id, got_sim), (want_id, want_sim) in zip(got, expected, strict=False):
            assert got_sim == pytest.approx(want_sim, abs=1e-5)
            if got_id != want_id:
                assert abs(got_sim - want_sim) < 1e-5


def _hnsw_search(loaded: Loaded, query: npt.NDArray[np.float32], **scope: object) -> list[int]:
    """An ANN search that must use the HNSW index (the planner would scan 2,000 rows)."""
    with loaded.postgres.read() as tx:
        assert isinstance(tx, PostgresSession)
        tx._conn.execute("SET LOCAL enable_seqscan = off")
        tx._conn.execute("SET LOCAL enable_sort = off")
        found = tx.search_vectors(
            "t",
            query,
            scope.get("namespaces"),  # type: ignore[arg-type]
            bool(scope.get("descendants", False)),
            10,
            scope.get("allowed"),  # type: ignore[arg-type]
            "minilm",
        )
    return [seq for seq, _ in found]


def test_hnsw_recall_at_10(loaded: Loaded) -> None:
    recalls: dict[str, list[float]] = {"all": [], "namespace": [], "allowed": []}
    with loaded.postgres.read() as tx:
        allowed = sorted(
            tx.seqs_matching("t", MemoryFilter(created_after=T0 + timedelta(seconds=5000)))
        )
    for query in _queries(loaded, 50):
        cases: dict[str, dict[str, object]] = {
            "all": {},
            "namespace": {"namespaces": ("notes",), "descendants": True},
            "allowed": {"allowed": allowed},
        }
        for name, scope in cases.items():
            exact = loaded.postgres.search_vectors(
                "t",
                query,
                scope.get("namespaces"),  # type: ignore[arg-type]
                bool(scope.get("descendants", False)),
                10,
                scope.get("allowed"),  # type: ignore[arg-type]
                "minilm",
                exact=True,
            )
            approximate = _hnsw_search(loaded, query, **scope)
            truth = {seq for seq, _ in exact}
            recalls[name].append(len(truth & set(approximate)) / len(truth))
    means = {name: float(np.mean(values)) for name, values in recalls.items()}
    assert means["all"] >= 0.95, means  # all 1.0 when written
    assert means["namespace"] >= 0.95, means
    assert means["allowed"] >= 0.95, means


def test_full_text_agrees(loaded: Loaded) -> None:
    """Both stores match exactly the memories holding a query word; their rankings
    (BM25, ts_rank) differ in detail but agree on most of the top ten."""
    rng = np.random.default_rng(5)
    overlaps: list[float] = []
    for n in range(30):
        words = [VOCABULARY[int(w)] for w in rng.choice(len(VOCABULARY), size=1 + n % 3)]
        query = " ".join(words)
        found: list[list[str]] = []
        for store in (loaded.sqlite, loaded.postgres):
            with store.read() as tx:
                hits = tx.search_text("t", query, MemoryFilter(), COUNT)
            assert hits, query
            assert any(w in hits[0].memory.content.split() for w in words)
            found.append([h.memory.id for h in hits])
        sqlite_ids, postgres_ids = found
        assert set(sqlite_ids) == set(postgres_ids), query
        overlaps.append(len(set(sqlite_ids[:10]) & set(postgres_ids[:10])) / 10)
    assert float(np.mean(overlaps)) >= 0.6, overlaps  # 0.88 when written
