"""The exact scan: approximate (int8) scores and their error bounds choose what is
re-scored in f32, and the result is still the exact top k with exact scores, ties
ordered by key."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from maia.retrieval.index import exact
from maia.retrieval.index.exact import Block, scan

Matrix = npt.NDArray[np.float32]


def unit(vectors: Matrix) -> Matrix:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def block_of(vectors: Matrix, first_key: int = 1) -> Block:
    block = Block(vectors.shape[1])
    for i, vector in enumerate(vectors):
        block.add(first_key + i, vector)
    return block


def reference(
    vectors: Matrix, query: Matrix, k: int, keys: list[int] | None = None
) -> list[tuple[int, float]]:
    """Every row scored in f32, best first, ties by key."""
    keys = keys if keys is not None else list(range(1, len(vectors) + 1))
    scores = np.einsum("ij,j->i", vectors, query)
    ranked = sorted(zip(keys, scores.tolist(), strict=True), key=lambda p: (-p[1], p[0]))
    return [(key, score) for key, score in ranked[:k]]


@pytest.mark.parametrize("k", [1, 10, 100, 999, 1000, 5000])
def test_scan_is_the_exact_top_k(k: int) -> None:
    rng = np.random.default_rng(3)
    vectors = unit(rng.standard_normal((1000, 384)).astype(np.float32))
    block = block_of(vectors)
    for query in unit(rng.standard_normal((5, 384)).astype(np.float32)):
        found = scan([block], query, k)
        expected = reference(vectors, query, k)
        assert [key for key, _ in found] == [key for key, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-6)


def test_near_ties_finer_than_the_codes_are_ranked_exactly() -> None:
    # Scores apart by ~1e-5: the int8 copy cannot tell them apart, the f32 rows can.
    rng = np.random.default_rng(4)
    base = unit(rng.standard_normal((1, 384)).astype(np.float32))[0]
    vectors = unit(base + 1e-3 * rng.standard_normal((3000, 384)).astype(np.float32))
    block = block_of(vectors)
    query = base
    found = scan([block], query, 50)
    assert [key for key, _ in found] == [key for key, _ in reference(vectors, query, 50)]


def test_equal_vectors_are_ordered_by_key() -> None:
    vectors = unit(np.ones((500, 16), dtype=np.float32))
    found = scan([block_of(vectors, first_key=10)], vectors[0], 20)
    assert [key for key, _ in found] == list(range(10, 30))


def test_only_rows_near_the_kth_best_are_rescored(monkeypatch: pytest.MonkeyPatch) -> None:
    rescored: list[int] = []
    original = Block.rescore

    def counting(self: Block, rows: npt.NDArray[np.intp], query: Matrix) -> object:
        rescored.append(len(rows))
        return original(self, rows, query)

    monkeypatch.setattr(Block, "rescore", counting)
    rng = np.random.default_rng(5)
    vectors = unit(rng.standard_normal((10_000, 384)).astype(np.float32))
    query = unit(rng.standard_normal((1, 384)).astype(np.float32))[0]
    found = scan([block_of(vectors)], query, 100)
    assert [key for key, _ in found] == [key for key, _ in reference(vectors, query, 100)]
    assert 100 <= rescored[0] <= exact.RESCORE_SHARE * 10_000


def test_allowed_keys_and_several_blocks() -> None:
    rng = np.random.default_rng(6)
    a = unit(rng.standard_normal((800, 64)).astype(np.float32))
    b = unit(rng.standard_normal((700, 64)).astype(np.float32))
    blocks = [block_of(a, first_key=1), block_of(b, first_key=1001)]
    allowed = np.array(sorted(rng.choice(np.arange(1, 1701), 600, replace=False)), np.int64)
    every = np.concatenate([a, b])
    keys = list(range(1, 801)) + list(range(1001, 1701))
    for query in unit(rng.standard_normal((5, 64)).astype(np.float32)):
        found = scan(blocks, query, 30)
        assert [key for key, _ in found] == [key for key, _ in reference(every, query, 30, keys)]
        kept = [i for i, key in enumerate(keys) if key in set(allowed.tolist())]
        expected = reference(every[kept], query, 30, [keys[i] for i in kept])
        found = scan(blocks, query, 30, allowed)
        assert [key for key, _ in found] == [key for key, _ in expected]


def test_removals_and_replacements_keep_the_codes_in_step() -> None:
    rng = np.random.default_rng(7)
    vectors = unit(rng.standard_normal((2000, 32)).astype(np.float32))
    block = block_of(vectors)
    alive = dict(enumerate(vectors, start=1))
    for key in rng.choice(np.arange(1, 2001), 700, replace=False).tolist():
        assert block.remove(key)
        del alive[key]
    for key in list(alive)[:300]:  # new vectors under existing keys
        alive[key] = unit(rng.standard_normal((1, 32)).astype(np.float32))[0]
        block.add(key, alive[key])
    keys = sorted(alive)
    matrix = np.stack([alive[key] for key in keys])
    for query in unit(rng.standard_normal((5, 32)).astype(np.float32)):
        found = scan([block], query, 40)
        assert [key for key, _ in found] == [key for key, _ in reference(matrix, query, 40, keys)]


def test_vectors_far_from_unit_length_are_ranked_exactly() -> None:
    # An imported vector is stored as given, of any length: each row has its own scale.
    rng = np.random.default_rng(8)
    vectors = unit(rng.standard_normal((1000, 64)).astype(np.float32))
    vectors[10] *= 1e5
    vectors[20:500] *= 1e-4
    block = block_of(vectors)
    for query in unit(rng.standard_normal((3, 64)).astype(np.float32)):
        for scaled in (query, query * 3e4):
            found = scan([block], scaled, 50)
            expected = reference(vectors, scaled, 50)
            assert [key for key, _ in found] == [key for key, _ in expected]


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_every_rows_error_is_within_its_bound(scale: float) -> None:
    rng = np.random.default_rng(9)
    vectors = scale * unit(rng.standard_normal((3000, 384)).astype(np.float32))
    vectors[:1000] = np.abs(vectors[:1000])  # positive components: errors add up
    vectors[1000:1100] *= rng.uniform(0.0, 3.0, (100, 1)).astype(np.float32)
    vectors[1100, :] = 0.0
    block = block_of(vectors)
    for query in [*unit(rng.standard_normal((5, 384)).astype(np.float32)), vectors[5] / scale]:
        estimate = block.approximate(query)
        assert estimate is not None
        approx, bound = estimate
        error = np.abs(approx - vectors.astype(np.float64) @ query.astype(np.float64))
        assert np.all(error <= bound)
        lengths = np.linalg.norm(vectors.astype(np.float64), axis=1)
        assert np.all(bound <= 0.05 * lengths + 1e-40)  # and close enough to choose few rows
    assert block.approximate(np.zeros(384, np.float32)) is None  # no codes: rescore all
    assert scan([block], np.zeros(384, np.float32), 3)[0][1] == 0.0


def test_long_vectors_of_positive_components_are_ranked_exactly() -> None:
    # Where a low-precision sum errs most: long vectors of positive, smoothly varying
    # components, all close to the query.
    dim = 3072
    index = np.arange(dim)
    periods = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1536, 3072)
    amplitudes = np.linspace(0, 0.95, 40)
    rows = [
        1 + amplitude * np.cos(2 * np.pi * (index / period + phase))
        for amplitude in amplitudes
        for period in periods
        for phase in (0, 0.25, 0.5)
    ] + [
        1 + amplitude * (((index // max(1, period // 2)) % 2) * 2 - 1)  # square waves
        for amplitude in amplitudes
        for period in periods
    ]
    vectors = unit(np.array(rows, dtype=np.float32))
    query = unit(np.ones((1, dim), dtype=np.float32))[0]
    for k in (1, 5, 50):
        found = scan([block_of(vectors)], query, k)
        assert [key for key, _ in found] == [key for key, _ in reference(vectors, query, k)]


def brute(block: Block, query: Matrix, k: int) -> list[tuple[int, float]]:
    return exact.top_k([block.rescore(np.arange(block.size), query)], k)


def test_scores_that_overflow_tie_and_are_ordered_by_key() -> None:
    # Finite rows whose f32 scores are infinite: they tie, the lowest keys first.
    block = Block(384)
    for key in range(1, 21):
        block.add(key, np.full(384, 1e37 * key, np.float32))
    query = unit(np.ones((1, 384), np.float32))[0]
    with np.errstate(over="ignore"):
        found = scan([block], query, 3)
        assert found == brute(block, query, 3)
    assert [key for key, _ in found] == [2, 3, 4]  # key 1's score is finite


def test_subnormal_vectors_are_coded_and_ranked_exactly() -> None:
    tiny = np.float32(1.401298464324817e-45)  # the smallest subnormal
    block = Block(1)
    block.add(1, np.array([tiny], np.float32))
    block.add(2, np.array([2 * tiny], np.float32))  # both score tiny once rounded
    for key in range(3, 11):
        block.add(key, np.zeros(1, np.float32))
    query = np.array([0.6], np.float32)
    assert scan([block], query, 1) == brute(block, query, 1) == [(1, float(tiny))]
    assert block.codes[:2].tolist() == [[127], [127]]  # each row at its own scale
