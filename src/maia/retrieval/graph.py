"""The relations graph: breadth-first traversal and proximity boosts. Pure functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from maia.models import Edge


@dataclass(frozen=True, slots=True)
class Reached:
    """A memory found by traversal: how far from the start, and the edge that led there."""

    memory_id: str
    depth: int
    edge: Edge


def traverse(
    start: str,
    edges_of: Callable[[Sequence[str]], Sequence[Edge]],
    *,
    depth: int = 1,
    min_weight: float = 0.0,
) -> list[Reached]:
    """Memories within ``depth`` hops of ``start`` (either direction), nearest first.

    ``edges_of(ids)`` returns the edges touching any of ``ids``; visiting each memory
    once makes the walk safe on cycles.
    """
    seen = {start}
    frontier = [start]
    reached: list[Reached] = []
    for level in range(1, depth + 1):
        if not frontier:
            break
        current = set(frontier)
        next_frontier: list[str] = []
        for edge in edges_of(frontier):
            if edge.weight < min_weight:
                continue
            for here, there in ((edge.source_id, edge.target_id), (edge.target_id, edge.source_id)):
                if here in current and there not in seen:
                    seen.add(there)
                    next_frontier.append(there)
                    reached.append(Reached(there, level, edge))
        frontier = next_frontier
    return reached


def proximity(seeds: Mapping[str, float], edges: Sequence[Edge]) -> dict[str, float]:
    """Each memory's strongest link to a seed: seed score x edge weight (seeds included)."""
    boosts: dict[str, float] = {}
    for edge in edges:
        for seed, other in ((edge.source_id, edge.target_id), (edge.target_id, edge.source_id)):
            if seed in seeds:
                boosts[other] = max(boosts.get(other, 0.0), seeds[seed] * edge.weight)
    return boosts
