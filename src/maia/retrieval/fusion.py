"""Fusion of retrieval signals into one score in [0, 1]. Pure functions, no I/O.

Each candidate carries raw signals; each signal is normalised to [0, 1] over the
candidate set, then combined by a weighted mean (``weighted``) or by weighted
reciprocal ranks (``rrf``). Weights come from defaults, overridden per namespace by
its ``custom_scoring`` config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from maia.models.namespace import SCORING_SIGNALS

SIGNALS = SCORING_SIGNALS

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "vector": 0.5,
    "text": 0.5,
    "recency": 0.05,
    "frequency": 0.02,
    "confidence": 0.03,
    "graph": 0.05,
    "entity": 0.3,
    "time": 0.15,
    "context": 0.2,
}
DEFAULT_HALF_LIFE_DAYS = 30.0
QUESTION_MATCH = 0.5  # of its similarity and BM25 a question keeps
RRF_K = 60.0


class FusionMode(StrEnum):
    WEIGHTED = "weighted"
    RRF = "rrf"


@dataclass(slots=True)
class Candidate:
    """Raw evidence for one memory. ``None`` means the signal did not see it."""

    key: int
    vector: float | None = None  # cosine similarity to the query
    text: float | None = None  # BM25 relevance
    age_days: float = 0.0
    access_count: int = 0
    confidence: float = 1.0
    graph: float = 0.0  # proximity to strong candidates through relations, 0..1
    entity: float = 0.0  # share of the query's entities the memory mentions, 0..1
    time: float = 0.0  # 1 when inside the query's time range
    context: float = 0.0  # written next to a strong candidate (same namespace), 0..1
    asks: float = 0.0  # share of its sentences that are questions, 0..1
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scored:
    key: int
    score: float
    signals: dict[str, float]


def weights_for(custom: Mapping[str, float] | None) -> dict[str, float]:
    """Default weights with a namespace's overrides applied."""
    weights = dict(DEFAULT_WEIGHTS)
    for name, value in (custom or {}).items():
        if name in weights:
            weights[name] = float(value)
    return weights


def _scaled(values: npt.NDArray[np.float64], floor: float) -> npt.NDArray[np.float64]:
    """Scales so the best value is 1 and ``floor`` (or anything below it) is 0; NaN (a
    signal that did not see the candidate) is 0.

    Unlike min-max over the candidates, a fixed floor keeps a small candidate set from
    stretching a tiny difference into the whole [0, 1] range."""
    present = ~np.isnan(values)
    if not present.any():
        return np.zeros_like(values)
    high = float(values[present].max())
    span = high - floor
    if span <= 1e-12:
        return np.where(present & (values >= high), 1.0, 0.0)
    return np.where(present, np.clip((values - floor) / span, 0.0, 1.0), 0.0)


_RAW = (
    "vector",
    "text",
    "age_days",
    "access_count",
    "confidence",
    "graph",
    "entity",
    "time",
    "context",
    "asks",
)


@dataclass(slots=True)
class SignalTable:
    """Raw evidence for many memories, a list per signal (a search's candidates: one
    append each, and a column converts to an array at once). ``None`` in ``vector`` or
    ``text`` means the signal did not see the memory."""

    keys: list[int] = field(default_factory=list)
    vector: list[float | None] = field(default_factory=list)
    text: list[float | None] = field(default_factory=list)
    age_days: list[float] = field(default_factory=list)
    access_count: list[int] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    graph: list[float] = field(default_factory=list)
    entity: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    context: list[float] = field(default_factory=list)
    asks: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def of(cls, candidates: Sequence[Candidate]) -> SignalTable:
        table = cls(keys=[c.key for c in candidates])
        for name in _RAW:
            setattr(table, name, [getattr(c, name) for c in candidates])
        return table

    def columns(self) -> dict[str, npt.NDArray[np.float64]]:
        """Each raw signal as an array (None becomes NaN in a float array)."""
        return {name: np.array(getattr(self, name), dtype=np.float64) for name in _RAW}


def signal_matrix(
    candidates: Sequence[Candidate] | SignalTable,
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    vector_floor: float = 0.0,
) -> npt.NDArray[np.float64]:
    """Every candidate's signals in [0, 1], one row each, columns in ``SIGNALS`` order.
    BM25 is scaled by the best one; similarity from ``vector_floor`` (an unrelated
    memory's similarity) to the best.

    A question asks rather than tells: it shares the query's topic, and as a question
    its form, but holds no answer. Each sentence of a memory that is a question keeps
    only ``QUESTION_MATCH`` of its similarity and BM25."""
    table = candidates if isinstance(candidates, SignalTable) else SignalTable.of(candidates)
    raw = table.columns()
    telling = 1.0 - (1.0 - QUESTION_MATCH) * np.clip(raw["asks"], 0.0, 1.0)
    columns: dict[str, npt.NDArray[np.float64]] = {
        "vector": _scaled(raw["vector"], vector_floor) * telling,
        "text": _scaled(raw["text"], 0.0) * telling,
    }
    decay = math.log(2) / max(half_life_days, 1e-9)
    columns["recency"] = np.exp(-decay * np.maximum(raw["age_days"], 0.0))
    used = raw["access_count"]
    most_used = float(used.max()) if len(used) else 0.0
    # Both logs from numpy, so the most used candidate scores exactly 1.
    columns["frequency"] = (
        np.clip(np.log1p(np.maximum(used, 0.0)) / np.log1p(most_used), 0.0, 1.0)
        if most_used > 0
        else np.zeros(len(table))
    )
    for name in ("confidence", "graph", "entity", "time", "context"):
        columns[name] = np.clip(raw[name], 0.0, 1.0)
    return np.stack([columns[name] for name in SIGNALS], axis=1).reshape(-1, len(SIGNALS))


def normalise(
    candidates: Sequence[Candidate],
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    vector_floor: float = 0.0,
) -> None:
    """Fills each candidate's ``signals`` with its values of ``signal_matrix``."""
    matrix = signal_matrix(candidates, half_life_days=half_life_days, vector_floor=vector_floor)
    for c, row in zip(candidates, matrix.tolist(), strict=True):
        c.signals = dict(zip(SIGNALS, row, strict=True))


def fuse(
    candidates: Sequence[Candidate] | SignalTable,
    weights: Mapping[str, float],
    *,
    mode: FusionMode = FusionMode.WEIGHTED,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    vector_floor: float = 0.0,
    top: int | None = None,
) -> list[Scored]:
    """Scores in [0, 1], best first (ties broken by key, so results are stable); the
    best ``top`` only, when given (given candidates, their signals are recorded on them)."""
    if not len(candidates):
        return []
    table = candidates if isinstance(candidates, SignalTable) else SignalTable.of(candidates)
    matrix = signal_matrix(table, half_life_days=half_life_days, vector_floor=vector_floor)
    active = {name: w for name, w in weights.items() if w > 0 and name in SIGNALS}
    if not active:
        active = {"vector": 1.0, "text": 1.0}
    # A signal nobody has (no entities in the query, no time range) does not dilute.
    seen = [bool(v) for v in np.any(matrix > 0, axis=0)]
    active = {name: w for name, w in active.items() if seen[_COLUMN[name]]} or active
    # Only relative weights matter: scaled so the largest is 1, a tiny (subnormal) weight
    # cannot underflow a divisor to zero, nor huge ones overflow the total.
    peak = max(active.values())
    active = {name: w / peak for name, w in active.items()}
    total = sum(active.values())
    if mode is FusionMode.RRF:
        scores = _rrf(matrix, active)
    else:
        vector = np.zeros(len(SIGNALS))
        for name, w in active.items():
            vector[_COLUMN[name]] = w
        scores = (matrix @ vector) / total
    # Rounded before sorting, so equal reported scores are ordered by key.
    clipped = np.clip(scores, 0.0, 1.0)
    keys = np.array(table.keys, dtype=np.int64)
    order = np.lexsort((keys, -np.round(clipped, 6)))
    if top is not None:
        order = order[: max(top, 0)]
    ranked: list[Scored] = []
    for i, row in zip(order.tolist(), matrix[order].tolist(), strict=True):
        signals = dict(zip(SIGNALS, row, strict=True))
        if not isinstance(candidates, SignalTable):
            candidates[i].signals = signals
        ranked.append(Scored(table.keys[i], round(float(clipped[i]), 6), signals))
    return ranked


_COLUMN = {name: i for i, name in enumerate(SIGNALS)}


def _rrf(matrix: npt.NDArray[np.float64], weights: Mapping[str, float]) -> npt.NDArray[np.float64]:
    """Weighted reciprocal-rank fusion, scaled so a candidate first everywhere scores 1."""
    scores = np.zeros(len(matrix))
    for name, weight in weights.items():
        values = matrix[:, _COLUMN[name]]
        # Tied values share a rank (how many are strictly better), so the input order
        # of equal candidates does not change their scores.
        rank = np.searchsorted(np.sort(-values), -values, side="left")
        scores += np.where(values > 0, weight / (RRF_K + rank + 1), 0.0)
    best = sum(weights.values()) / (RRF_K + 1)
    return scores / best
