"""Fusion of retrieval signals into one score in [0, 1]. Pure functions, no I/O.

Each candidate carries raw signals; each signal is normalised to [0, 1] over the
candidate set, then combined by a weighted mean (``weighted``) or by weighted
reciprocal ranks (``rrf``). Weights come from defaults, overridden per namespace by
its ``custom_scoring`` config.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from maia.models.namespace import SCORING_SIGNALS

SIGNALS = SCORING_SIGNALS

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "vector": 0.5,
    "text": 0.5,
    "recency": 0.05,
    "frequency": 0.02,
    "confidence": 0.03,
    "graph": 0.05,
    "entity": 0.2,
    "time": 0.15,
    "context": 0.2,
}
DEFAULT_HALF_LIFE_DAYS = 30.0
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


def _scaled(values: Sequence[float | None], floor: float) -> list[float]:
    """Scales so the best value is 1 and ``floor`` (or anything below it) is 0.

    Unlike min-max over the candidates, a fixed floor keeps a small candidate set from
    stretching a tiny difference into the whole [0, 1] range."""
    present = [v for v in values if v is not None]
    if not present:
        return [0.0 for _ in values]
    high = max(present)
    span = high - floor
    if span <= 1e-12:
        return [0.0 if v is None or v < high else 1.0 for v in values]
    return [0.0 if v is None else min(max((v - floor) / span, 0.0), 1.0) for v in values]


def normalise(
    candidates: Sequence[Candidate],
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    vector_floor: float = 0.0,
) -> None:
    """Fills each candidate's ``signals`` with values in [0, 1]. BM25 is scaled by the best
    one; similarity from ``vector_floor`` (an unrelated memory's similarity) to the best."""
    vector = _scaled([c.vector for c in candidates], vector_floor)
    text = _scaled([c.text for c in candidates], 0.0)
    most_used = max((c.access_count for c in candidates), default=0)
    decay = math.log(2) / max(half_life_days, 1e-9)
    for i, c in enumerate(candidates):
        c.signals = {
            "vector": vector[i],
            "text": text[i],
            "recency": math.exp(-decay * max(c.age_days, 0.0)),
            "frequency": math.log1p(c.access_count) / math.log1p(most_used) if most_used else 0.0,
            "confidence": min(max(c.confidence, 0.0), 1.0),
            "graph": min(max(c.graph, 0.0), 1.0),
            "entity": min(max(c.entity, 0.0), 1.0),
            "time": min(max(c.time, 0.0), 1.0),
            "context": min(max(c.context, 0.0), 1.0),
        }


def fuse(
    candidates: Sequence[Candidate],
    weights: Mapping[str, float],
    *,
    mode: FusionMode = FusionMode.WEIGHTED,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    vector_floor: float = 0.0,
) -> list[Scored]:
    """Scores in [0, 1], best first (ties broken by key, so results are stable)."""
    if not candidates:
        return []
    normalise(candidates, half_life_days=half_life_days, vector_floor=vector_floor)
    active = {name: w for name, w in weights.items() if w > 0 and name in SIGNALS}
    if not active:
        active = {"vector": 1.0, "text": 1.0}
    # A signal nobody has (no entities in the query, no time range) does not dilute.
    active = {
        name: w for name, w in active.items() if any(c.signals[name] > 0 for c in candidates)
    } or active
    # Only relative weights matter: scaled so the largest is 1, a tiny (subnormal) weight
    # cannot underflow a divisor to zero, nor huge ones overflow the total.
    peak = max(active.values())
    active = {name: w / peak for name, w in active.items()}
    total = sum(active.values())
    if mode is FusionMode.RRF:
        scores = _rrf(candidates, active)
    else:
        scores = [sum(w * c.signals[n] for n, w in active.items()) / total for c in candidates]
    # Rounded before sorting, so equal reported scores are ordered by key.
    rounded = [round(min(max(s, 0.0), 1.0), 6) for s in scores]
    ranked = sorted(zip(candidates, rounded, strict=True), key=lambda p: (-p[1], p[0].key))
    return [Scored(c.key, s, c.signals) for c, s in ranked]


def _rrf(candidates: Sequence[Candidate], weights: Mapping[str, float]) -> list[float]:
    """Weighted reciprocal-rank fusion, scaled so a candidate first everywhere scores 1."""
    scores = [0.0] * len(candidates)
    for name, weight in weights.items():
        # Tied values share a rank (how many are strictly better), so the input order
        # of equal candidates does not change their scores.
        descending = sorted(-c.signals[name] for c in candidates)
        for i, c in enumerate(candidates):
            if c.signals[name] > 0:
                rank = bisect_left(descending, -c.signals[name])
                scores[i] += weight / (RRF_K + rank + 1)
    best = sum(weights.values()) / (RRF_K + 1)
    return [s / best for s in scores]
