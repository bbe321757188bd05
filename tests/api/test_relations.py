"""Relations over real HTTP: create, list, delete, traverse, and how ``supersedes``
hides memories from search."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import httpx
import pytest

EDGE_KEYS = {"source_id", "target_id", "type", "weight", "created_at"}


def create(client: httpx.Client, content: str, namespace: str = "rel") -> str:
    response = client.post("/v1/memories", json={"namespace": namespace, "content": content})
    assert response.status_code == 201, response.text
    memory_id: str = response.json()["id"]
    return memory_id


def relate(client: httpx.Client, source: str, target: str, **fields: Any) -> httpx.Response:
    return client.post(f"/v1/memories/{source}/relations", json={"target_id": target, **fields})


def related(client: httpx.Client, memory_id: str, **params: Any) -> list[tuple[str, int]]:
    response = client.get(f"/v1/memories/{memory_id}/related", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    return [(item["memory"]["id"], item["depth"]) for item in body["data"]]


def edges(client: httpx.Client, memory_id: str, direction: str | None = None) -> list[Any]:
    params = {} if direction is None else {"direction": direction}
    response = client.get(f"/v1/memories/{memory_id}/relations", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "count", "offset", "limit"}
    assert body["count"] == len(body["data"])
    data: list[Any] = body["data"]
    return data


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    text = f"{body['error']} {body.get('details', '')}"
    for word in words:
        assert word in text, text


# -- create ----------------------------------------------------------------------------------


def test_create_relation_returns_the_edge(client: httpx.Client) -> None:
    a, b = create(client, "Alice prefers green tea"), create(client, "Alice drinks tea daily")
    response = relate(client, a, b, type="derived_from", weight=0.5, metadata={"by": "test"})
    assert response.status_code == 201
    edge = response.json()
    assert set(edge) == EDGE_KEYS | {"metadata"}
    assert (edge["source_id"], edge["target_id"]) == (a, b)
    assert (edge["type"], edge["weight"], edge["metadata"]) == ("derived_from", 0.5, {"by": "test"})
    assert datetime.fromisoformat(edge["created_at"].replace("Z", "+00:00")).tzinfo is not None
    # Defaults: related_to with weight 1; empty metadata is omitted.
    plain = relate(client, b, a, metadata={})
    assert plain.status_code == 201
    assert set(plain.json()) == EDGE_KEYS
    assert (plain.json()["type"], plain.json()["weight"]) == ("related_to", 1.0)
    # The same (source, target, type) again replaces the edge.
    again = relate(client, a, b, type="derived_from", weight=0.25)
    assert again.status_code == 201
    out = edges(client, a, "out")
    assert [(e["target_id"], e["type"], e["weight"]) for e in out] == [(b, "derived_from", 0.25)]
    # Another type is another edge.
    assert relate(client, a, b, type="part_of").status_code == 201
    assert sorted(e["type"] for e in edges(client, a, "out")) == ["derived_from", "part_of"]


def test_create_relation_unknown_memories_are_404(client: httpx.Client) -> None:
    a = create(client, "a memory")
    assert_error(relate(client, "no-such-id", a), 404, "NOT_FOUND", "memory not found: no-such-id")
    assert_error(relate(client, a, "missing-target"), 404, "NOT_FOUND", "missing-target")
    assert edges(client, a) == []


BAD_BODIES: list[tuple[dict[str, Any], list[str]]] = [
    ({"type": "friend_of"}, ["type"]),
    ({"type": ""}, ["type"]),
    ({"weight": 0}, ["weight"]),
    ({"weight": -0.5}, ["weight"]),
    ({"weight": 1.0001}, ["weight"]),
    ({"weight": "heavy"}, ["weight"]),
    ({"target_id": ""}, ["target_id"]),
    ({"target_id": None}, []),
    ({"metadata": [1, 2]}, ["metadata"]),
]


def test_create_relation_bad_input_is_400(client: httpx.Client) -> None:
    a, b = create(client, "one"), create(client, "two")
    for body, words in BAD_BODIES:
        response = client.post(f"/v1/memories/{a}/relations", json={"target_id": b, **body})
        assert_error(response, 400, "INVALID_INPUT", *words)
    assert edges(client, a) == []


def test_self_relation_and_bad_bodies_are_400(client: httpx.Client) -> None:
    a = create(client, "lonely")
    assert_error(relate(client, a, a), 400, "INVALID_INPUT", "itself")
    assert_error(
        client.post(f"/v1/memories/{a}/relations", content=b"{not json"), 400, "INVALID_INPUT"
    )
    assert_error(client.post(f"/v1/memories/{a}/relations", json={}), 400, "INVALID_INPUT")
    assert edges(client, a) == []
    # The boundary weight is allowed.
    b = create(client, "friend")
    assert relate(client, a, b, weight=1.0).status_code == 201
    assert relate(client, b, a, weight=1e-9).status_code == 201


# -- read and delete -----------------------------------------------------------------------


def test_list_relations_by_direction_and_in_the_memory(client: httpx.Client) -> None:
    a, b, c = create(client, "a"), create(client, "b"), create(client, "c")
    assert relate(client, a, b, type="part_of", weight=0.7).status_code == 201
    assert relate(client, c, a, type="contradicts").status_code == 201

    def pairs(items: list[Any]) -> set[tuple[str, str, str]]:
        return {(e["source_id"], e["target_id"], e["type"]) for e in items}

    assert pairs(edges(client, a, "out")) == {(a, b, "part_of")}
    assert pairs(edges(client, a, "in")) == {(c, a, "contradicts")}
    assert pairs(edges(client, a, "both")) == {(a, b, "part_of"), (c, a, "contradicts")}
    assert pairs(edges(client, a)) == pairs(edges(client, a, "both"))
    assert pairs(edges(client, b, "out")) == set()
    assert_error(
        client.get(f"/v1/memories/{a}/relations", params={"direction": "sideways"}),
        400,
        "INVALID_INPUT",
        "direction",
    )
    assert_error(client.get("/v1/memories/nope/relations"), 404, "NOT_FOUND", "nope")
    # A memory shows its outgoing relations; none means no "relations" key.
    memory = client.get(f"/v1/memories/{a}").json()
    assert memory["relations"] == [{"target_id": b, "type": "part_of", "weight": 0.7}]
    assert "relations" not in client.get(f"/v1/memories/{b}").json()


def test_delete_relations(client: httpx.Client) -> None:
    a, b = create(client, "a"), create(client, "b")
    for kind in ("related_to", "part_of", "contradicts"):
        assert relate(client, a, b, type=kind).status_code == 201
    assert relate(client, b, a).status_code == 201
    response = client.delete(f"/v1/memories/{a}/relations/{b}", params={"type": "part_of"})
    assert response.status_code == 200
    assert response.json() == {"deleted": 1}
    assert sorted(e["type"] for e in edges(client, a, "out")) == ["contradicts", "related_to"]
    response = client.delete(f"/v1/memories/{a}/relations/{b}")
    assert response.json() == {"deleted": 2}
    assert edges(client, a, "out") == []
    assert len(edges(client, a, "in")) == 1  # b -> a is another relation
    assert_error(client.delete(f"/v1/memories/{a}/relations/{b}"), 404, "NOT_FOUND", "relation")
    assert_error(
        client.delete(f"/v1/memories/{b}/relations/{a}", params={"type": "supersedes"}),
        404,
        "NOT_FOUND",
    )
    assert_error(
        client.delete(f"/v1/memories/{b}/relations/{a}", params={"type": "bogus"}),
        400,
        "INVALID_INPUT",
    )
    assert client.delete(f"/v1/memories/{b}/relations/{a}").json() == {"deleted": 1}


def test_relations_disappear_with_their_memory(client: httpx.Client) -> None:
    a, b, c = create(client, "a"), create(client, "b"), create(client, "c")
    assert relate(client, a, b).status_code == 201
    assert relate(client, b, c).status_code == 201
    assert relate(client, c, a).status_code == 201
    assert client.delete(f"/v1/memories/{b}").status_code == 200
    assert [(e["source_id"], e["target_id"]) for e in edges(client, a)] == [(c, a)]
    assert [(e["source_id"], e["target_id"]) for e in edges(client, c)] == [(c, a)]
    assert "relations" not in client.get(f"/v1/memories/{a}").json()
    assert related(client, a, depth=5) == [(c, 1)]
    assert_error(relate(client, a, b), 404, "NOT_FOUND", b)
    # Batch deletion as well.
    response = client.post("/v1/memories/batch/delete", json={"ids": [c]})
    assert response.status_code == 200
    assert edges(client, a) == []


# -- traversal -----------------------------------------------------------------------------


@pytest.fixture
def chain(client: httpx.Client) -> list[str]:
    """m0 - m1 - ... - m6, each edge from the earlier to the later memory."""
    ids = [create(client, f"link {i}") for i in range(7)]
    for source, target in itertools.pairwise(ids):
        assert relate(client, source, target, type="part_of").status_code == 201
    return ids


def test_related_walks_breadth_first_up_to_depth(client: httpx.Client, chain: list[str]) -> None:
    m = chain
    assert related(client, m[0]) == [(m[1], 1)]  # depth 1 by default
    for depth in range(1, 6):
        assert related(client, m[0], depth=depth) == [(m[i], i) for i in range(1, depth + 1)]
    # Either direction: from the middle, both neighbours are one hop away.
    assert sorted(related(client, m[3], depth=1)) == sorted([(m[2], 1), (m[4], 1)])
    assert {d for _, d in related(client, m[3], depth=5)} == {1, 2, 3}
    assert len(related(client, m[3], depth=5)) == 6
    # Each result carries the edge that led to it.
    body = client.get(f"/v1/memories/{m[0]}/related", params={"depth": 2}).json()
    first, second = body["data"]
    assert (first["relation"]["source_id"], first["relation"]["target_id"]) == (m[0], m[1])
    assert (second["relation"]["source_id"], second["relation"]["target_id"]) == (m[1], m[2])
    assert second["memory"]["content"] == "link 2"
    assert set(first["relation"]) >= EDGE_KEYS


def test_related_depth_out_of_range_is_400(client: httpx.Client, chain: list[str]) -> None:
    for depth in (6, 0, -1, "x"):
        response = client.get(f"/v1/memories/{chain[0]}/related", params={"depth": depth})
        assert_error(response, 400, "INVALID_INPUT", "depth")


def test_related_bad_or_unknown(client: httpx.Client, chain: list[str]) -> None:
    assert_error(client.get("/v1/memories/nope/related"), 404, "NOT_FOUND", "nope")
    for weight in (-0.1, 1.5):
        response = client.get(f"/v1/memories/{chain[0]}/related", params={"min_weight": weight})
        assert_error(response, 400, "INVALID_INPUT", "min_weight")
    response = client.get(f"/v1/memories/{chain[0]}/related", params={"types": "cousin_of"})
    assert_error(response, 400, "INVALID_INPUT", "types")
    lonely = create(client, "no relations")
    assert related(client, lonely, depth=5) == []


def test_related_filters_by_type_and_weight(client: httpx.Client) -> None:
    hub = create(client, "hub")
    spokes = {
        kind: create(client, kind)
        for kind in ("related_to", "contradicts", "derived_from", "part_of")
    }
    weights = {"related_to": 0.2, "contradicts": 0.5, "derived_from": 0.8, "part_of": 1.0}
    for kind, target in spokes.items():
        assert relate(client, hub, target, type=kind, weight=weights[kind]).status_code == 201
    far = create(client, "beyond the part")
    assert relate(client, spokes["part_of"], far, type="related_to", weight=0.9).status_code == 201

    def ids(**params: Any) -> set[str]:
        return {memory_id for memory_id, _ in related(client, hub, **params)}

    assert ids() == set(spokes.values())
    assert ids(types=["part_of", "derived_from"]) == {spokes["part_of"], spokes["derived_from"]}
    assert ids(types=["part_of"], depth=2) == {spokes["part_of"]}  # the next hop is related_to
    assert ids(types=["part_of", "related_to"], depth=2) == {
        spokes["part_of"],
        spokes["related_to"],
        far,
    }
    assert ids(min_weight=0.5) == {spokes[k] for k in ("contradicts", "derived_from", "part_of")}
    assert ids(min_weight=0.95, depth=2) == {spokes["part_of"]}  # 0.9 to "far" is too weak
    assert ids(min_weight=0.85, depth=2) == {spokes["part_of"], far}
    assert ids(min_weight=1.0) == {spokes["part_of"]}
    assert ids(types=["supersedes"]) == set()


def test_related_is_safe_on_cycles(client: httpx.Client) -> None:
    a, b, c = create(client, "a"), create(client, "b"), create(client, "c")
    for source, target in ((a, b), (b, c), (c, a)):
        assert relate(client, source, target).status_code == 201
    assert relate(client, b, a, type="contradicts").status_code == 201  # a second path
    found = related(client, a, depth=5)
    assert sorted(found) == sorted([(b, 1), (c, 1)])
    assert len({memory_id for memory_id, _ in found}) == len(found)
    assert a not in {memory_id for memory_id, _ in found}


# -- supersedes and search -----------------------------------------------------------------


def test_superseded_memory_is_hidden_from_search(client: httpx.Client) -> None:
    old = create(client, "Alice drinks black coffee every morning", "alice")
    new = create(client, "Alice switched from coffee to green tea", "alice")

    def found(**body: Any) -> list[str]:
        response = client.post(
            "/v1/memories/search", json={"query": "Alice coffee", "namespace": "alice", **body}
        )
        assert response.status_code == 200, response.text
        return [hit["memory"]["id"] for hit in response.json()["data"]]

    assert set(found()) == {old, new}
    assert relate(client, new, old, type="supersedes").status_code == 201
    assert found() == [new]
    assert set(found(include_superseded=True)) == {old, new}
    assert set(found(query="")) == {new}  # listing without a query, too
    # Still readable directly, with its incoming relation listed.
    assert client.get(f"/v1/memories/{old}").status_code == 200
    assert [e["type"] for e in edges(client, old, "in")] == ["supersedes"]
    # supersedes is not followed for relevance, but it is a relation to traverse.
    assert related(client, new, types=["supersedes"]) == [(old, 1)]
    # Deleting the relation (or the newer memory) shows the old one again.
    assert client.delete(
        f"/v1/memories/{new}/relations/{old}", params={"type": "supersedes"}
    ).json() == {"deleted": 1}
    assert set(found()) == {old, new}
    assert relate(client, new, old, type="supersedes").status_code == 201
    assert client.delete(f"/v1/memories/{new}").status_code == 200
    assert found() == [old]
