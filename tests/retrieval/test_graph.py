"""The relations graph: breadth-first traversal and proximity boosts."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from maia.models import Edge, RelationType
from maia.retrieval.graph import Reached, proximity, traverse

CREATED = datetime(2025, 1, 1, tzinfo=UTC)
quick = settings(max_examples=50, deadline=None)


def edge(source: str, target: str, weight: float = 1.0) -> Edge:
    return Edge(
        source_id=source,
        target_id=target,
        type=RelationType.RELATED_TO,
        weight=weight,
        created_at=CREATED,
    )


class Graph:
    """An in-memory ``edges_of`` that records what it was asked."""

    def __init__(self, edges: Sequence[Edge]) -> None:
        self.edges = list(edges)
        self.calls: list[list[str]] = []

    def __call__(self, ids: Sequence[str]) -> list[Edge]:
        self.calls.append(list(ids))
        wanted = set(ids)
        return [e for e in self.edges if e.source_id in wanted or e.target_id in wanted]


def found(reached: list[Reached]) -> list[tuple[str, int]]:
    return [(r.memory_id, r.depth) for r in reached]


CHAIN = [edge("A", "B"), edge("B", "C"), edge("C", "D")]


def test_depth_limits_the_walk() -> None:
    assert found(traverse("A", Graph(CHAIN), depth=1)) == [("B", 1)]
    assert found(traverse("A", Graph(CHAIN), depth=2)) == [("B", 1), ("C", 2)]
    assert found(traverse("A", Graph(CHAIN), depth=3)) == [("B", 1), ("C", 2), ("D", 3)]


def test_default_depth_is_one() -> None:
    assert found(traverse("B", Graph(CHAIN))) == [("A", 1), ("C", 1)]


def test_depth_zero_asks_for_nothing() -> None:
    graph = Graph(CHAIN)
    assert traverse("A", graph, depth=0) == []
    assert graph.calls == []


def test_stops_when_nothing_is_left_to_visit() -> None:
    graph = Graph(CHAIN)
    assert len(traverse("A", graph, depth=50)) == 3
    # One query per level that had a frontier: A, B, C, D (D finds nothing new).
    assert graph.calls == [["A"], ["B"], ["C"], ["D"]]


def test_edges_are_followed_in_both_directions() -> None:
    graph = Graph([edge("X", "A"), edge("A", "Y"), edge("Z", "X")])
    assert found(traverse("A", graph, depth=2)) == [("X", 1), ("Y", 1), ("Z", 2)]
    # Starting from the end of the arrows walks them backwards.
    assert found(traverse("Z", graph, depth=3)) == [("X", 1), ("A", 2), ("Y", 3)]


def test_reached_records_the_edge_that_led_there() -> None:
    graph = Graph(CHAIN)
    reached = traverse("A", graph, depth=3)
    assert [r.edge for r in reached] == CHAIN
    assert isinstance(reached[0], Reached)


def test_min_weight_drops_weak_edges_and_what_lies_beyond() -> None:
    graph = Graph([edge("A", "B", 0.9), edge("A", "C", 0.2), edge("C", "D", 1.0)])
    assert found(traverse("A", graph, depth=3, min_weight=0.5)) == [("B", 1)]
    # The bound itself is kept.
    assert found(traverse("A", graph, depth=3, min_weight=0.2)) == [("B", 1), ("C", 1), ("D", 2)]
    assert found(traverse("A", graph, depth=3)) == [("B", 1), ("C", 1), ("D", 2)]


def test_cycles_terminate_and_visit_each_memory_once() -> None:
    graph = Graph([edge("A", "B"), edge("B", "C"), edge("C", "A")])
    reached = traverse("A", graph, depth=100)
    # B and C are both one hop from A (A->B, C->A); A itself is never "reached".
    assert found(reached) == [("B", 1), ("C", 1)]
    longer = Graph([edge("A", "B"), edge("B", "C"), edge("C", "D"), edge("D", "A")])
    assert found(traverse("A", longer, depth=100)) == [("B", 1), ("D", 1), ("C", 2)]
    assert len(longer.calls) <= 3


def test_self_loops_and_parallel_edges() -> None:
    graph = Graph([edge("A", "A"), edge("A", "B", 0.3), edge("B", "A", 0.8), edge("A", "B")])
    reached = traverse("A", graph, depth=5)
    assert found(reached) == [("B", 1)]
    assert reached[0].edge.weight == 0.3  # the first edge found wins


def test_unknown_start_finds_nothing() -> None:
    assert traverse("nowhere", Graph(CHAIN), depth=3) == []


def test_nearest_first_order_on_a_diamond() -> None:
    # A - B - D and A - C - D - E: D is two hops away whichever way.
    graph = Graph([edge("A", "B"), edge("A", "C"), edge("B", "D"), edge("C", "D"), edge("D", "E")])
    reached = traverse("A", graph, depth=5)
    assert found(reached) == [("B", 1), ("C", 1), ("D", 2), ("E", 3)]


def _distances(start: str, edges: Sequence[Edge], min_weight: float) -> dict[str, int]:
    """Reference BFS: hop distance from ``start`` over edges at least ``min_weight``."""
    neighbours: dict[str, set[str]] = {}
    for e in edges:
        if e.weight >= min_weight:
            neighbours.setdefault(e.source_id, set()).add(e.target_id)
            neighbours.setdefault(e.target_id, set()).add(e.source_id)
    distance = {start: 0}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for there in neighbours.get(here, ()):
            if there not in distance:
                distance[there] = distance[here] + 1
                queue.append(there)
    return distance


nodes = st.sampled_from("ABCDEFGH")
random_edges = st.lists(
    st.builds(edge, nodes, nodes, st.sampled_from([0.1, 0.5, 1.0])), max_size=20
)


@quick
@given(edges=random_edges, depth=st.integers(0, 6), min_weight=st.sampled_from([0.0, 0.5]))
def test_traversal_matches_a_reference_bfs(
    edges: list[Edge], depth: int, min_weight: float
) -> None:
    reached = traverse("A", Graph(edges), depth=depth, min_weight=min_weight)
    ids = [r.memory_id for r in reached]
    assert len(ids) == len(set(ids))  # each memory once
    assert "A" not in ids
    assert [r.depth for r in reached] == sorted(r.depth for r in reached)  # nearest first
    expected = {n: k for n, k in _distances("A", edges, min_weight).items() if 0 < k <= depth}
    assert {r.memory_id: r.depth for r in reached} == expected
    by_id = {r.memory_id: r for r in reached}
    for r in reached:
        assert r.edge.weight >= min_weight
        assert r.memory_id in (r.edge.source_id, r.edge.target_id)
        other = r.edge.target_id if r.memory_id == r.edge.source_id else r.edge.source_id
        previous = 0 if other == "A" else by_id[other].depth
        assert previous == r.depth - 1


# Proximity.


def test_proximity_takes_the_strongest_link() -> None:
    seeds = {"A": 0.8, "B": 0.5}
    edges = [edge("A", "X", 0.5), edge("B", "X", 1.0), edge("A", "Y", 0.25)]
    assert proximity(seeds, edges) == {"X": 0.5, "Y": 0.2}


def test_proximity_in_both_directions() -> None:
    assert proximity({"A": 1.0}, [edge("X", "A", 0.4), edge("A", "Y", 0.6)]) == {
        "X": 0.4,
        "Y": 0.6,
    }


def test_proximity_boosts_seeds_linked_to_other_seeds() -> None:
    assert proximity({"A": 0.8, "B": 0.5}, [edge("A", "B", 0.5)]) == {"B": 0.4, "A": 0.25}


def test_proximity_ignores_links_between_non_seeds() -> None:
    assert proximity({"A": 1.0}, [edge("X", "Y", 1.0)]) == {}
    assert proximity({}, CHAIN) == {}
    assert proximity({"A": 1.0}, []) == {}


@quick
@given(
    seeds=st.dictionaries(nodes, st.floats(0.0, 1.0), max_size=4),
    edges=st.lists(st.builds(edge, nodes, nodes, st.floats(0.0, 1.0)), max_size=15),
)
def test_proximity_is_the_best_seed_times_weight(
    seeds: dict[str, float], edges: list[Edge]
) -> None:
    boosts = proximity(seeds, edges)
    for node in "ABCDEFGH":
        links = [
            seeds[far] * e.weight
            for e in edges
            for near, far in ((e.source_id, e.target_id), (e.target_id, e.source_id))
            if near == node and far in seeds
        ]
        if links:
            assert boosts[node] == max(links)
            assert 0.0 <= boosts[node] <= 1.0
        else:
            assert node not in boosts
