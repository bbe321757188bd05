"""Exact vector search over in-memory blocks, one block per (tenant, namespace).

A scan reads an int8 copy of each block (a quarter of the memory traffic of the f32
rows, and integer SIMD dot products from ``simsimd``), bounds each row's error, then
re-scores, in f32, every row that could be among the k best: the result is the exact
top k, with exact scores.

Each row (and the query) is stored as ``scale * codes``, ``codes`` in [-127, 127] and
``scale`` its largest magnitude over 127, so each component errs by at most half a
scale. For a query ``q`` and a row ``x``, the approximation ``q_scale * x_scale *
(q_codes . x_codes)`` then differs from ``q . x`` by at most

    x_scale / 2 * |q|_1  +  q_scale / 2 * |x|_1  +  dim * q_scale * x_scale / 4

(plus the rounding of the codes' division and of the f32 exact scores, down to
subnormal products; a row whose f32 score could overflow is always re-scored): a bound
that holds for any finite vectors, of any length, on any CPU. A row is re-scored when its
approximation plus its bound reaches the k-th best lower bound (approximation minus
bound).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import simsimd

from maia.retrieval.embed.base import Vectors

Keys = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]

CODE_MAX = 127
# A component's error, in scales: half a code, and the f32 division that found the code.
HALF_CODE = 0.5 + 2.0**-16
# Re-scoring more than this share of the rows costs more than an f32 scan of them all.
RESCORE_SHARE = 0.25
# Rounding beyond the codes' error: the f32 sums of the exact scores (at most dim units
# in the last place of the sum of magnitudes), taken twice over; and, for products too
# small for f32's normal range, an absolute error per product (twice the smallest
# subnormal).
ROUNDING_PER_DIM = 2.0**-22
UNDERFLOW_PER_DIM = 2.0**-148
# A row whose products could sum to this much may overflow f32 (its exact score is then
# infinite, and ties with others that are): such a row is always re-scored.
OVERFLOW = 2.0**120


def _codes(vector: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], float, float]:
    """A vector's int8 codes, scale and L1 norm. A vector with a non-finite component
    gets no codes (zero) and an infinite norm: it is always re-scored."""
    peak = float(np.max(np.abs(vector))) if len(vector) else 0.0
    if not math.isfinite(peak):
        return np.zeros(len(vector), np.int8), 0.0, math.inf
    if peak == 0.0:
        return np.zeros(len(vector), np.int8), 0.0, 0.0
    scale = peak / CODE_MAX
    # Divided in f64: in f32 the scale of a tiny vector would itself be subnormal.
    codes = np.rint(vector.astype(np.float64) / scale)
    codes = np.clip(codes, -CODE_MAX, CODE_MAX).astype(np.int8)
    return codes, scale, float(np.sum(np.abs(vector), dtype=np.float64))


@dataclass(eq=False)  # compared and hashed as itself: a set of blocks is cheap
class Block:
    """A growable matrix of vectors and their keys; removal swaps in the last row.
    ``codes``, ``scales`` and ``norms`` hold each row's int8 copy, its scale and its L1
    norm, for scans. ``home`` is the (tenant, namespace) it holds, if any."""

    dim: int
    home: tuple[str, str] = ("", "")
    keys: Keys = field(init=False)
    matrix: Vectors = field(init=False)
    codes: npt.NDArray[np.int8] = field(init=False)
    scales: npt.NDArray[np.float64] = field(init=False)
    norms: npt.NDArray[np.float64] = field(init=False)
    size: int = 0
    rows: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._allocate(16)

    def _allocate(self, capacity: int) -> None:
        self.keys = np.zeros(capacity, dtype=np.int64)
        self.matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        self.codes = np.zeros((capacity, self.dim), dtype=np.int8)
        self.scales = np.zeros(capacity, dtype=np.float64)
        self.norms = np.zeros(capacity, dtype=np.float64)

    def _columns(self) -> tuple[npt.NDArray[np.generic], ...]:
        return self.keys, self.matrix, self.codes, self.scales, self.norms

    def add(self, key: int, vector: npt.NDArray[np.float32]) -> None:
        row = self.rows.get(key)
        if row is None:
            if self.size == len(self.keys):
                self._grow()
            row = self.size
            self.size += 1
            self.rows[key] = row
            self.keys[row] = key
        self.matrix[row] = vector
        self.codes[row], self.scales[row], self.norms[row] = _codes(self.matrix[row])

    def _grow(self) -> None:
        old = self._columns()
        self._allocate(len(self.keys) * 2)
        for column, previous in zip(self._columns(), old, strict=True):
            column[: self.size] = previous[: self.size]

    def remove(self, key: int) -> bool:
        row = self.rows.pop(key, None)
        if row is None:
            return False
        last = self.size - 1
        if row != last:
            moved = int(self.keys[last])
            for column in self._columns():
                column[row] = column[last]
            self.rows[moved] = row
        self.size = last
        return True

    def vector(self, key: int) -> npt.NDArray[np.float32] | None:
        row = self.rows.get(key)
        return None if row is None else self.matrix[row]

    def approximate(
        self, query: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        """Every row's approximate dot product with ``query`` and the bound of its error
        (see the module); None when the query has no codes (zero or not finite)."""
        return self._estimate(_codes(query))

    def _estimate(
        self, coded: tuple[npt.NDArray[np.int8], float, float]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        """``approximate`` for a query already coded (``_codes``)."""
        codes, scale, norm = coded
        if scale == 0.0 or not math.isfinite(norm):
            return None
        n = self.size
        found = simsimd.cdist(codes[None, :], self.codes[:n], metric="dot", threads=1)
        scales, norms = self.scales[:n], self.norms[:n]
        approx = np.asarray(found, dtype=np.float64).reshape(-1) * (scale * scales)
        peak = scale * CODE_MAX
        bound = (
            scales * HALF_CODE * (norm + self.dim * HALF_CODE * scale)
            + norms * (HALF_CODE * scale + self.dim * ROUNDING_PER_DIM * peak)
            + self.dim * UNDERFLOW_PER_DIM
        )
        bound[norms * peak >= OVERFLOW] = math.inf
        return approx, bound

    def rescore(
        self, rows: Sequence[int] | npt.NDArray[np.intp], query: Vectors
    ) -> tuple[Keys, Scores]:
        """The keys and exact f32 scores of some rows."""
        picked = np.asarray(rows, dtype=np.intp)
        # einsum, not BLAS: OpenBLAS splits a matrix-vector product over threads that
        # spin while waiting, which made a 10K scan 10x slower on a busy 2-core machine.
        return self.keys[picked], np.einsum("ij,j->i", self.matrix[picked], query)


def scan(
    blocks: Sequence[Block], query: npt.NDArray[np.float32], k: int, allowed: Keys | None = None
) -> list[tuple[int, float]]:
    """The exact ``k`` best (key, score) pairs over whole blocks, best first; ``allowed``
    (keys) restricts the candidates."""
    if k <= 0:
        return []
    parts: list[tuple[Keys, Scores]] = []
    coded = None  # the query's codes, once for every block
    for block in blocks:
        rows = np.arange(block.size, dtype=np.intp)
        if allowed is not None:
            rows = rows[np.isin(block.keys[: block.size], allowed, assume_unique=True)]
        estimate = None
        if len(rows) > k:
            coded = coded or _codes(query)
            estimate = block._estimate(coded)
        if estimate is not None:
            # Only rows whose best case reaches the k-th best worst case can be among
            # the k best: they alone are measured exactly.
            approx, bound = estimate[0][rows], estimate[1][rows]
            lower = approx - bound
            kth = float(np.partition(lower, len(lower) - k)[len(lower) - k])
            close = approx + bound >= kth
            if int(np.count_nonzero(close)) <= RESCORE_SHARE * len(rows):
                rows = rows[close]
        parts.append(block.rescore(rows, query))
    return top_k(parts, k)


def top_k(parts: Sequence[tuple[Keys, Scores]], k: int) -> list[tuple[int, float]]:
    """The ``k`` best (key, score) pairs over several blocks' scores, best first."""
    if not parts or k <= 0:
        return []
    keys = np.concatenate([keys for keys, _ in parts])
    scores = np.concatenate([scores for _, scores in parts])
    if len(keys) > k:
        # Everything tied with the k-th best stays, so that ties are cut by key below.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        best = scores >= kth
        keys, scores = keys[best], scores[best]
    order = np.lexsort((keys, -scores))[:k]
    return [(int(keys[i]), float(scores[i])) for i in order]
