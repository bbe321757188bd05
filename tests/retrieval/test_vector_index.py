"""The vector index with random unit vectors: exact and HNSW paths, scoping, changes,
threads, and persistence (checksum, generation, model), down to the façade's file."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from maia import Maia, Settings
from maia.models import MemoryCreate, SearchRequest
from maia.retrieval.engine import INDEX_FILE
from maia.retrieval.index.vectors import HnswParams, Scope, VectorIndex

DIM = 32
EXACT = 10**9  # an exact_limit that keeps every search exact
HNSW = 0  # an exact_limit that sends every search to the HNSW graph

Matrix = npt.NDArray[np.float32]


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> Matrix:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def filled(
    exact_limit: int, vectors: Matrix, *, tenant: str = "t", namespace: str = "ns"
) -> VectorIndex:
    index = VectorIndex(vectors.shape[1], exact_limit=exact_limit)
    index.add([(key, tenant, namespace) for key in range(1, len(vectors) + 1)], vectors)
    return index


def brute_force(vectors: Matrix, query: Matrix, k: int) -> list[int]:
    """Keys (1-based rows) of the ``k`` most similar vectors."""
    return [int(i) + 1 for i in np.argsort(-(vectors @ query), kind="stable")[:k]]


def keys(hits: list[tuple[int, float]]) -> list[int]:
    return [key for key, _ in hits]


# -- exact and HNSW agree ------------------------------------------------------------------


def test_exact_and_hnsw_agree_on_top_results() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 1000)
    exact, hnsw = filled(EXACT, vectors), filled(HNSW, vectors)
    scope = Scope("t")
    for query in unit(rng, 25):
        a = exact.search(query, scope, 10)
        b = hnsw.search(query, scope, 10)
        assert keys(a) == brute_force(vectors, query, 10)
        assert b[0][0] == a[0][0]
        assert len(set(keys(a)) & set(keys(b))) >= 9
        # Both report cosine similarity, best first.
        scores = dict(a)
        for key, score in b:
            assert score == pytest.approx(float(vectors[key - 1] @ query), abs=1e-4)
            if key in scores:
                assert score == pytest.approx(scores[key], abs=1e-4)
        assert [s for _, s in b] == sorted((s for _, s in b), reverse=True)
    # A stored vector finds itself first.
    assert hnsw.search(vectors[41], scope, 1)[0][0] == 42
    assert hnsw.search(vectors[41], scope, 1)[0][1] == pytest.approx(1.0, abs=1e-5)


def test_hnsw_recall_at_10_on_5000_vectors() -> None:
    rng = np.random.default_rng(2)
    vectors = unit(rng, 5000)
    index = VectorIndex(DIM, exact_limit=HNSW)
    index.load((key, "t", "ns", vectors[key - 1].tobytes()) for key in range(1, 5001))
    index.rebuild_hnsw()
    assert len(index) == 5000
    found = 0
    queries = unit(rng, 100)
    for query in queries:
        truth = set(brute_force(vectors, query, 10))
        found += len(truth & set(keys(index.search(query, Scope("t"), 10))))
    assert found / (10 * len(queries)) >= 0.95


def test_hnsw_candidates_are_reranked_by_exact_f32_scores() -> None:
    """The graph (f16 by default) only proposes candidates: what the HNSW path returns
    is ordered and scored by the exact f32 cosine, across namespaces and with ``allowed``,
    and on a set small enough for the over-fetch to reach every true neighbour it is
    exactly the exact scan's answer."""
    rng = np.random.default_rng(21)
    vectors = unit(rng, 400)
    items = [(key, "t", f"ns/{key % 3}") for key in range(1, 401)]
    hnsw = VectorIndex(DIM, exact_limit=HNSW, hnsw=HnswParams(expansion_search=400))
    exact = VectorIndex(DIM, exact_limit=EXACT)
    for index in (hnsw, exact):
        index.add(items, vectors)
    assert hnsw._hnsw.dtype.name == "F16"  # type: ignore[attr-defined]
    allowed = np.arange(1, 401, 2, dtype=np.int64)
    probes = [
        (Scope("t"), None),
        (Scope("t", ("ns/0", "ns/2")), None),
        (Scope("t", ("ns",), descendants=True), allowed),
    ]
    for query in unit(rng, 10):
        for scope, keep in probes:
            a = exact.search(query, scope, 10, allowed=keep)
            b = hnsw.search(query, scope, 10, allowed=keep)
            assert keys(b) == keys(a)
            for (key, score), (_, expected) in zip(b, a, strict=True):
                # The f32 cosine (to rounding), not the f16 graph's (off by ~1e-3).
                assert score == pytest.approx(float(vectors[key - 1] @ query), abs=1e-6)
                assert score == pytest.approx(expected, abs=1e-6)


def test_small_k_and_empty_index() -> None:
    rng = np.random.default_rng(3)
    for limit in (EXACT, HNSW):
        index = VectorIndex(DIM, exact_limit=limit)
        query = unit(rng, 1)[0]
        assert index.search(query, Scope("t"), 5) == []
        index.add([(1, "t", "ns")], unit(rng, 1))
        assert index.search(query, Scope("t"), 0) == []
        assert keys(index.search(query, Scope("t"), 5)) == [1]


# -- scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize("exact_limit", [EXACT, HNSW], ids=["exact", "hnsw"])
def test_tenant_and_namespace_scoping(exact_limit: int) -> None:
    rng = np.random.default_rng(4)
    places = [("t1", "a"), ("t1", "a/b"), ("t1", "a/b/c"), ("t1", "ab"), ("t1", "z"), ("t2", "a")]
    per_place = 150
    vectors = unit(rng, per_place * len(places))
    index = VectorIndex(DIM, exact_limit=exact_limit)
    owner: dict[int, tuple[str, str]] = {}
    items = []
    for i in range(len(vectors)):
        owner[i + 1] = places[i // per_place]
        items.append((i + 1, *places[i // per_place]))
    index.add(items, vectors)

    def search(query: Matrix, scope: Scope, k: int = 50) -> list[tuple[str, str]]:
        return [owner[key] for key in keys(index.search(query, scope, k))]

    for query in unit(rng, 10):
        everything = search(query, Scope("t1"))
        assert len(everything) == 50
        assert all(tenant == "t1" for tenant, _ in everything)
        assert set(search(query, Scope("t2"))) == {("t2", "a")}
        assert set(search(query, Scope("t1", ("a",)))) == {("t1", "a")}
        subtree = search(query, Scope("t1", ("a",), descendants=True), k=300)
        assert len(subtree) == 300
        assert set(subtree) <= {("t1", "a"), ("t1", "a/b"), ("t1", "a/b/c")}
        assert {("t1", "a/b"), ("t1", "a/b/c")} & set(subtree)
        # A trailing slash is the same namespace; "ab" is not below "a".
        assert ("t1", "ab") not in search(query, Scope("t1", ("a/",), descendants=True), k=450)
        assert set(search(query, Scope("t1", ("ab", "z")), k=300)) == {("t1", "ab"), ("t1", "z")}
        assert search(query, Scope("t3")) == []
        assert search(query, Scope("t1", ("nowhere",), descendants=True)) == []
        # Asking for more than the scope holds returns all of it, exactly once.
        found = index.search(query, Scope("t2"), 1000)
        assert sorted(keys(found)) == [k for k, place in owner.items() if place == ("t2", "a")]


@pytest.mark.parametrize("exact_limit", [EXACT, HNSW], ids=["exact", "hnsw"])
def test_allowed_restricts_results(exact_limit: int) -> None:
    rng = np.random.default_rng(5)
    vectors = unit(rng, 600)
    index = filled(exact_limit, vectors)
    allowed = np.array(sorted(rng.choice(np.arange(1, 601), 40, replace=False)), dtype=np.int64)
    for query in unit(rng, 10):
        hits = index.search(query, Scope("t"), 10, allowed=allowed)
        assert len(hits) == 10
        assert set(keys(hits)) <= set(allowed.tolist())
        # Among the allowed, the best ones.
        best = sorted(allowed.tolist(), key=lambda k: -float(vectors[k - 1] @ query))[:10]
        assert len(set(keys(hits)) & set(best)) >= 9
    assert index.search(vectors[0], Scope("t"), 10, allowed=np.array([], dtype=np.int64)) == []
    only = index.search(vectors[0], Scope("t"), 10, allowed=np.array([7, 9], dtype=np.int64))
    assert sorted(keys(only)) == [7, 9]


# -- changes -------------------------------------------------------------------------------


@pytest.mark.parametrize("exact_limit", [EXACT, HNSW], ids=["exact", "hnsw"])
def test_remove_then_search(exact_limit: int) -> None:
    rng = np.random.default_rng(6)
    vectors = unit(rng, 500)
    index = filled(exact_limit, vectors)
    removed = set(range(1, 501, 2))  # every odd key
    index.remove(sorted(removed))
    index.remove([1, 3, 10_000])  # already gone or never there: ignored
    assert len(index) == 250
    for key in (1, 3, 99):
        hits = keys(index.search(vectors[key - 1], Scope("t"), 20))
        assert key not in hits
        assert not removed & set(hits)
    assert index.vectors([1, 2]).keys() == {2}
    # Everything removed: nothing found.
    index.remove(range(1, 501))
    assert len(index) == 0
    assert index.search(vectors[1], Scope("t"), 5) == []


def test_matrix_gives_each_indexed_key_once_with_its_vector_as_a_row() -> None:
    rng = np.random.default_rng(8)
    vectors = unit(rng, 6)
    index = filled(EXACT, vectors[:4])  # keys 1..4 in "ns"
    index.add([(5, "t", "other"), (6, "u", "ns")], vectors[4:])
    found, matrix = index.matrix([6, 2, 99, 5, 2, 1])
    # Unknown and repeated keys are left out; grouped by namespace, asked order within.
    assert sorted(found) == [1, 2, 5, 6]
    assert found.index(2) < found.index(1)
    assert matrix.dtype == np.float32
    assert matrix.shape == (4, vectors.shape[1])
    for key, row in zip(found, matrix, strict=True):
        np.testing.assert_array_equal(row, vectors[key - 1])
    assert index.vectors(found).keys() == set(found)
    none, empty = index.matrix([99, 100])
    assert none == []
    assert empty.shape == (0, vectors.shape[1])


@pytest.mark.parametrize("exact_limit", [EXACT, HNSW], ids=["exact", "hnsw"])
def test_adding_a_key_again_replaces_it(exact_limit: int) -> None:
    rng = np.random.default_rng(7)
    vectors = unit(rng, 300)
    index = filled(exact_limit, vectors)
    fresh = unit(rng, 1)
    index.add([(5, "t", "other")], fresh)  # same key, new vector and namespace
    assert len(index) == 300
    hit = index.search(fresh[0], Scope("t"), 1)[0]
    assert hit[0] == 5
    assert hit[1] == pytest.approx(1.0, abs=1e-5)
    assert 5 not in keys(index.search(vectors[4], Scope("t", ("ns",)), 300))
    assert keys(index.search(fresh[0], Scope("t", ("other",)), 10)) == [5]
    np.testing.assert_array_equal(index.vectors([5])[5], fresh[0])
    # Replaced again, back in its namespace, several times: still one row.
    for _ in range(3):
        index.add([(5, "t", "ns")], vectors[4:5])
    assert len(index) == 300
    assert keys(index.search(vectors[4], Scope("t", ("ns",)), 1)) == [5]
    assert index.search(fresh[0], Scope("t", ("other",)), 10) == []


def test_concurrent_adds_and_searches() -> None:
    rng = np.random.default_rng(8)
    writers, per_writer, batch = 4, 300, 20
    vectors = unit(rng, writers * per_writer)
    queries = unit(rng, 50)
    # Crosses from exact to HNSW searches while the threads run.
    index = VectorIndex(DIM, exact_limit=200)
    errors: list[BaseException] = []
    searches: list[int] = []
    done = threading.Event()

    def write(w: int) -> None:
        try:
            for start in range(0, per_writer, batch):
                rows = range(w * per_writer + start, w * per_writer + start + batch)
                index.add([(r + 1, "t", f"ns{w}") for r in rows], vectors[rows.start : rows.stop])
                if start % 100 == 0:  # churn: remove and re-add one key
                    index.remove([rows.start + 1])
                    index.add(
                        [(rows.start + 1, "t", f"ns{w}")], vectors[rows.start : rows.start + 1]
                    )
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            i = 0
            while not done.is_set():
                query = queries[i % len(queries)]
                for hit_key, score in index.search(query, Scope("t"), 10):
                    assert 1 <= hit_key <= len(vectors)
                    assert -1.0001 <= score <= 1.0001
                index.search(query, Scope("t", ("ns1",)), 5)
                index.vectors(range(1, 50))
                i += 1
            searches.append(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers + threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    for thread in readers:
        thread.join(timeout=60)
    assert errors == []
    assert len(searches) == len(readers)
    assert sum(searches) > 0
    assert len(index) == writers * per_writer
    for key in (1, 301, 1200):
        assert index.search(vectors[key - 1], Scope("t"), 10)[0][0] == key


# -- persistence ---------------------------------------------------------------------------


def rows_of(vectors: Matrix) -> list[tuple[int, str, str, bytes]]:
    return [(key, "t", "ns", vectors[key - 1].tobytes()) for key in range(1, len(vectors) + 1)]


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, Matrix, VectorIndex]:
    """An HNSW index over 800 vectors saved as model "m" at generation 7."""
    vectors = unit(np.random.default_rng(9), 800)
    index = filled(HNSW, vectors)
    path = tmp_path / "vectors.usearch"
    index.save(path, model_id="m", generation=7)
    return path, vectors, index


def reloaded(vectors: Matrix) -> VectorIndex:
    index = VectorIndex(DIM, exact_limit=HNSW)
    index.load(rows_of(vectors))
    return index


def test_save_then_attach_gives_the_same_results(
    saved: tuple[Path, Matrix, VectorIndex],
) -> None:
    path, vectors, original = saved
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["model_id"] == "m"
    assert meta["generation"] == 7
    assert meta["count"] == 800
    assert meta["dim"] == DIM
    assert (meta["dtype"], meta["connectivity"]) == ("f16", 16)
    assert not path.with_suffix(".tmp").exists()
    index = reloaded(vectors)
    assert index.attach_hnsw(path, model_id="m", generation=7) is True
    for query in unit(np.random.default_rng(10), 20):
        assert index.search(query, Scope("t"), 10) == original.search(query, Scope("t"), 10)


def test_missing_files_mean_rebuild(saved: tuple[Path, Matrix, VectorIndex]) -> None:
    path, vectors, _ = saved
    sidecar = path.with_suffix(".json")
    sidecar.rename(sidecar.with_suffix(".bak"))
    assert reloaded(vectors).attach_hnsw(path, model_id="m", generation=7) is False
    sidecar.with_suffix(".bak").rename(sidecar)
    path.unlink()
    assert reloaded(vectors).attach_hnsw(path, model_id="m", generation=7) is False
    assert reloaded(vectors).attach_hnsw(path.parent / "nope", model_id="m", generation=7) is False


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "attach", "message"),
    [
        ("flip", {}, "is corrupt (checksum)"),
        ("none", {"generation": 8}, "is stale"),
        ("none", {"model_id": "another-model"}, "is stale"),
        ("fewer-rows", {}, "is stale"),
        ("garbage-with-checksum", {}, "unreadable"),
        ("truncated-with-checksum", {}, "unreadable"),
        ("bad-sidecar", {}, "unreadable"),
    ],
)
def test_damaged_or_stale_files_mean_rebuild(
    saved: tuple[Path, Matrix, VectorIndex],
    caplog: pytest.LogCaptureFixture,
    damage: str,
    attach: dict[str, Any],
    message: str,
) -> None:
    path, vectors, _ = saved
    sidecar = path.with_suffix(".json")
    rows = vectors
    if damage == "flip":
        flip_bytes(path)
    elif damage == "fewer-rows":
        rows = vectors[:-1]
    elif damage in ("garbage-with-checksum", "truncated-with-checksum"):
        # The checksum agrees, the content does not: usearch itself must refuse it.
        data = path.read_bytes()
        data = b"not an index" * 100 if damage.startswith("garbage") else data[: len(data) // 2]
        path.write_bytes(data)
        meta = json.loads(sidecar.read_text())
        meta["sha256"] = hashlib.sha256(data).hexdigest()
        sidecar.write_text(json.dumps(meta))
    elif damage == "bad-sidecar":
        sidecar.write_text("{not json")
    index = VectorIndex(DIM, exact_limit=HNSW)
    index.load(rows_of(rows))
    arguments: dict[str, Any] = {"model_id": "m", "generation": 7, **attach}
    with caplog.at_level(logging.WARNING, logger="maia.retrieval.index.vectors"):
        assert index.attach_hnsw(path, **arguments) is False
    assert message in caplog.text
    # The index still works: rebuilt from its exact rows, it finds the nearest vectors.
    # (A rebuilt graph is another graph: compare with the truth, not the old graph.)
    # HNSW is approximate (and a parallel build is not deterministic): judge it over many
    # queries, as recall, rather than demanding the exact neighbour every time.
    index.rebuild_hnsw()
    queries = unit(np.random.default_rng(11), 20)
    top_hits = overlap = 0
    for query in queries:
        truth = brute_force(rows, query, 5)
        found = keys(index.search(query, Scope("t"), 5))
        top_hits += found[0] == truth[0]
        overlap += len(set(found) & set(truth))
    assert top_hits >= 18
    assert overlap >= 0.9 * 5 * len(queries)


@pytest.mark.parametrize(
    ("saved_with", "meta_change", "message"),
    [
        (HnswParams(dtype="f32"), {}, "is stale"),  # dtype changed in the settings
        (HnswParams(connectivity=8), {}, "is stale"),
        # A file from before dtype and degree were recorded: an f32 graph.
        (HnswParams(dtype="f32"), {"dtype": None, "connectivity": None}, "is stale"),
        # The sidecar says f16, the file holds an f32 graph (usearch would load it as such).
        (HnswParams(dtype="f32"), {"dtype": "f16"}, "does not match its sidecar"),
    ],
)
def test_graph_saved_with_other_options_means_rebuild(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    saved_with: HnswParams,
    meta_change: dict[str, Any],
    message: str,
) -> None:
    vectors = unit(np.random.default_rng(22), 300)
    old = VectorIndex(DIM, exact_limit=HNSW, hnsw=saved_with)
    old.load(rows_of(vectors))
    old.rebuild_hnsw()
    path = tmp_path / "vectors.usearch"
    old.save(path, model_id="m", generation=1)
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    assert (meta["dtype"], meta["connectivity"]) == (saved_with.dtype, saved_with.connectivity)
    for name, value in meta_change.items():
        if value is None:
            del meta[name]
        else:
            meta[name] = value
    sidecar.write_text(json.dumps(meta))
    index = reloaded(vectors)  # the defaults: f16, connectivity 16
    with caplog.at_level(logging.WARNING, logger="maia.retrieval.index.vectors"):
        assert index.attach_hnsw(path, model_id="m", generation=1) is False
    assert message in caplog.text
    index.rebuild_hnsw()
    assert index._hnsw.dtype.name == "F16"  # type: ignore[attr-defined]
    assert keys(index.search(vectors[7], Scope("t"), 1)) == [8]
    # Saved again with the current options, the graph is attached as it is.
    index.save(path, model_id="m", generation=1)
    assert reloaded(vectors).attach_hnsw(path, model_id="m", generation=1) is True


def test_saved_graph_after_removals_and_reuse_of_a_key(tmp_path: Path) -> None:
    """Keys removed before saving stay removed after attaching; reusing one works."""
    rng = np.random.default_rng(12)
    vectors = unit(rng, 400)
    index = filled(HNSW, vectors)
    index.remove(range(1, 101))
    path = tmp_path / INDEX_FILE
    index.save(path, model_id="m", generation=1)
    again = VectorIndex(DIM, exact_limit=HNSW)
    again.load((key, "t", "ns", vectors[key - 1].tobytes()) for key in range(101, 401))
    assert again.attach_hnsw(path, model_id="m", generation=1) is True
    assert 1 not in keys(again.search(vectors[0], Scope("t"), 50))
    fresh = unit(rng, 1)
    again.add([(1, "t", "ns")], fresh)
    assert keys(again.search(fresh[0], Scope("t"), 1)) == [1]
    assert len(again) == 301


# -- through the façade --------------------------------------------------------------------

QUERIES = ["green tea", "bicycle repairs", "quarterly report deadline", "cello orchestra"]
TOPICS = [
    "green tea",
    "bicycle",
    "quarterly report",
    "cello",
    "garden",
    "dentist",
    "train ticket",
    "birthday cake",
]


class Snapshot(list[list[tuple[str, float]]]):
    """Ranked (id, score) lists; equal when the ids match and the scores agree to 1e-5
    (a reloaded index computes distances with a last-digit difference)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list) or len(other) != len(self):
            return False
        for mine, theirs in zip(self, other, strict=True):
            if [i for i, _ in mine] != [i for i, _ in theirs]:
                return False
            if [s for _, s in mine] != pytest.approx([s for _, s in theirs], abs=1e-5):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]


def snapshot(maia: Maia) -> Snapshot:
    results = Snapshot()
    for query in QUERIES:
        hits, _ = maia.search(SearchRequest(query=query, namespace="facts", limit=15))
        results.append([(h.memory.id, h.score) for h in hits])
    return results


@pytest.mark.parametrize("damage", ["intact", "corrupt", "deleted", "sidecar-deleted"])
def test_maia_reopens_with_the_same_results_whatever_happened_to_the_index_file(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    settings = make_settings(vector_exact_limit=0)
    with Maia.open(settings=settings) as maia:
        maia.create_memories(
            [
                MemoryCreate(namespace="facts", content=f"Note {i} about {TOPICS[i % 8]}, item {i}")
                for i in range(240)
            ]
        )
        before = snapshot(maia)
    path = settings.data_dir / INDEX_FILE
    assert path.is_file()
    assert path.with_suffix(".json").is_file()
    if damage == "corrupt":
        flip_bytes(path)
    elif damage == "deleted":
        path.unlink()
    elif damage == "sidecar-deleted":
        path.with_suffix(".json").unlink()
    caplog.clear()
    with caplog.at_level(logging.WARNING), Maia.open(settings=settings) as maia:
        assert len(maia.engine.index) == 240
        assert snapshot(maia) == before
    warned = caplog.text
    if damage == "intact":
        assert "rebuilding" not in warned
    elif damage == "corrupt":
        assert "is corrupt (checksum)" in warned
    elif damage == "sidecar-deleted":
        assert "rebuilding the vector index" in warned
    # Whatever happened, the file is whole again after closing.
    assert path.is_file()
    with caplog.at_level(logging.WARNING), Maia.open(settings=settings) as maia:
        caplog.clear()
        assert snapshot(maia) == before


def test_maia_index_is_stale_after_changes_behind_its_back(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """A file saved before later writes (a crash after them) is not reused."""
    settings = make_settings(vector_exact_limit=0)
    with Maia.open(settings=settings) as maia:
        for i in range(30):
            maia.remember(f"Note {i} about {TOPICS[i % 8]}", namespace="facts")
    path = settings.data_dir / INDEX_FILE
    saved_graph = path.read_bytes()
    saved_meta = path.with_suffix(".json").read_text()
    with Maia.open(settings=settings) as maia:
        gone = maia.list_memories()[1]
        maia.forget(gone.id)
        added = maia.remember("A brand new note about green tea", namespace="facts")
    # Put the old graph back, as if the last close never saved.
    path.write_bytes(saved_graph)
    path.with_suffix(".json").write_text(saved_meta)
    with caplog.at_level(logging.WARNING), Maia.open(settings=settings) as maia:
        ids = [h.memory.id for h in maia.recall("green tea", namespace="facts", limit=30)]
        assert added.id in ids
        assert gone.id not in ids
    assert "is stale" in caplog.text
