"""Exact vector search over in-memory blocks, one block per (tenant, namespace).

A scan reads a half-precision copy of each block (half the memory traffic of the f32
rows, and SIMD dot products from ``simsimd``), then re-scores, in f32, every row whose
approximate score is within ``MARGIN`` of the k-th best: the result is the exact top k,
with exact scores."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt
import simsimd

from maia.retrieval.embed.base import Vectors

Keys = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]

# simsimd's AVX-512 FP16 kernels ("sapphire") add the products up in f16: errors near
# 0.01 on long vectors. The others convert to f32 first: the error of a dot product of
# unit vectors is then the inputs' rounding, at most 2**-10 (Cauchy-Schwarz), whatever
# the length. (A process-wide choice; MAIA makes no other use of simsimd.)
HALF_SUM_KERNELS = bool(simsimd.get_capabilities().get("sapphire"))  # this CPU has them
with contextlib.suppress(Exception):
    simsimd.disable_capability("sapphire")

# Far above that error: every row that could be in the exact top k is re-scored.
MARGIN = 0.01
# Re-scoring more than this share of the rows costs more than an f32 scan of them all.
RESCORE_SHARE = 0.25
# The margin holds for vectors of (about) unit length; a block holding a longer one (an
# imported vector, never normalised) is scanned in f32 alone.
UNIT_SQUARED = 1.02


@dataclass(eq=False)  # compared and hashed as itself: a set of blocks is cheap
class Block:
    """A growable matrix of unit vectors and their keys; removal swaps in the last row.
    ``half`` holds the same rows in f16, for scans; ``peak`` is the largest squared
    length a row ever had. ``home`` is the (tenant, namespace) it holds, if any."""

    dim: int
    home: tuple[str, str] = ("", "")
    keys: Keys = field(init=False)
    matrix: Vectors = field(init=False)
    half: npt.NDArray[np.float16] = field(init=False)
    size: int = 0
    rows: dict[int, int] = field(default_factory=dict)
    peak: float = 0.0

    def __post_init__(self) -> None:
        self.keys = np.zeros(16, dtype=np.int64)
        self.matrix = np.zeros((16, self.dim), dtype=np.float32)
        self.half = np.zeros((16, self.dim), dtype=np.float16)

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
        self.half[row] = vector
        self.peak = max(self.peak, float(np.dot(vector, vector)))

    def _grow(self) -> None:
        capacity = len(self.keys) * 2
        keys = np.zeros(capacity, dtype=np.int64)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        half = np.zeros((capacity, self.dim), dtype=np.float16)
        keys[: self.size] = self.keys[: self.size]
        matrix[: self.size] = self.matrix[: self.size]
        half[: self.size] = self.half[: self.size]
        self.keys, self.matrix, self.half = keys, matrix, half

    def remove(self, key: int) -> bool:
        row = self.rows.pop(key, None)
        if row is None:
            return False
        last = self.size - 1
        if row != last:
            moved = int(self.keys[last])
            self.keys[row] = moved
            self.matrix[row] = self.matrix[last]
            self.half[row] = self.half[last]
            self.rows[moved] = row
        self.size = last
        return True

    def vector(self, key: int) -> npt.NDArray[np.float32] | None:
        row = self.rows.get(key)
        return None if row is None else self.matrix[row]

    def approximate(self, query: npt.NDArray[np.float16]) -> Scores:
        """Every row's dot product with ``query``, from the f16 copy (within ``MARGIN``)."""
        if not self.size:
            return np.empty(0, np.float32)
        found = simsimd.cdist(query[None, :], self.half[: self.size], metric="dot", threads=1)
        return np.asarray(found, dtype=np.float32).reshape(-1)

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
    half = query.astype(np.float16)
    unit = float(np.dot(query, query)) <= UNIT_SQUARED
    parts: list[tuple[Keys, Scores]] = []
    for block in blocks:
        rows = np.arange(block.size, dtype=np.intp)
        if allowed is not None:
            rows = rows[np.isin(block.keys[: block.size], allowed, assume_unique=True)]
        if len(rows) > k and unit and block.peak <= UNIT_SQUARED and _half_is_close(block.dim):
            # Only rows that may beat the k-th best (approximately) are measured exactly.
            approx = block.approximate(half)[rows]
            kth = float(np.partition(approx, len(approx) - k)[len(approx) - k])
            close = approx >= kth - MARGIN
            if int(np.count_nonzero(close)) <= RESCORE_SHARE * len(rows):
                rows = rows[close]
        parts.append(block.rescore(rows, query))
    return top_k(parts, k)


@cache
def _half_is_close(dim: int) -> bool:
    """Whether this machine's f16 dot products of ``dim``-d unit vectors stay within a
    quarter of ``MARGIN``, measured where an f16 accumulator errs most (vectors of
    positive, slowly varying components, whose partial sums only grow). Otherwise scans
    stay in f32."""
    index = np.arange(dim)
    query = np.full(dim, 1 / np.sqrt(dim), dtype=np.float32)
    rows = np.array(
        [
            1 + amplitude * wave
            for amplitude in (0.0, 0.5, 0.95)
            for period in (2, 64, dim)
            for wave in (
                np.cos(2 * np.pi * index / period),
                ((index // max(1, period // 2)) % 2) * 2 - 1,  # a square wave
            )
        ],
        dtype=np.float32,
    )
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    found = simsimd.cdist(query.astype(np.float16)[None, :], rows.astype(np.float16), metric="dot")
    error = np.abs(np.asarray(found, dtype=np.float64).reshape(-1) - rows @ query)
    return bool(error.max() <= MARGIN / 4)


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
