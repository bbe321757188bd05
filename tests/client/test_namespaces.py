"""Namespaces and relations through the SDK (both clients) against a live server."""

from __future__ import annotations

from typing import Any

import pytest

from maia.client import Edge, MemoryType, Namespace, NamespaceConfig, NotFoundError, RelationType


def test_create_get_update_delete(api: Any, ns: str) -> None:
    created = api.create_namespace(
        ns,
        template="notes",
        config={"token_budget": 2000, "allowed_types": ["semantic"], "inherit_from_parent": True},
    )
    assert isinstance(created, Namespace)
    assert created.name == ns
    assert created.template == "notes"
    assert created.config.token_budget == 2000
    assert created.config.allowed_types == [MemoryType.SEMANTIC]
    assert api.get_namespace(ns).id == created.id
    assert api.get_namespace(created.id).name == ns  # by id too
    updated = api.update_namespace(ns, NamespaceConfig(max_memories=5))
    assert updated.config.max_memories == 5
    assert updated.config.token_budget == 0  # replaced as a whole
    by_id = api.update_namespace(created.id, {"token_budget": 100})
    assert by_id.config.token_budget == 100
    cleared = api.update_namespace(ns, None)
    assert cleared.config == NamespaceConfig()
    assert api.delete_namespace(ns) is None
    with pytest.raises(NotFoundError):
        api.get_namespace(ns)


def test_names_with_slashes(api: Any, ns: str) -> None:
    parent = api.create_namespace(ns, config=NamespaceConfig(token_budget=1234))
    child = api.create_namespace(f"{ns}/team", config={"inherit_from_parent": True})
    explicit = api.create_namespace(f"{ns}-other", parent=ns)
    api.create_namespace(f"{ns}/team/memories")  # looks like a sub-route when not encoded
    assert api.get_namespace(f"{ns}/team").id == child.id
    assert api.get_namespace(f"{ns}/team/memories").name == f"{ns}/team/memories"
    children = api.list_children(ns)
    assert [c.name for c in children] == [child.name, explicit.name]
    assert explicit.parent == parent.name
    effective = api.get_effective_config(f"{ns}/team")
    assert effective.token_budget == 1234
    assert effective.inherit_from_parent is True
    api.update_namespace(f"{ns}/team", {"token_budget": 10})
    assert api.get_namespace(f"{ns}/team").config.token_budget == 10
    api.delete_namespace(f"{ns}/team")
    with pytest.raises(NotFoundError):
        api.get_namespace(f"{ns}/team")
    assert api.get_namespace(f"{ns}/team/memories").name == f"{ns}/team/memories"


def test_dot_names(api: Any, ns: str) -> None:
    """``.`` and ``..`` are names like any other, not dot segments of the URL."""
    api.create_memory(f"{ns}-other", "elsewhere")
    for name in (".", ".."):
        created = api.create_namespace(name)
        assert api.get_namespace(name).id == created.id
        api.create_memory(name, f"in {name}")
        # (not every namespace's, as "/v1/namespaces/../memories" would read)
        assert {m.content for m in api.list_namespace_memories(name).data} == {f"in {name}"}
        assert api.delete_namespace(name) is None
        with pytest.raises(NotFoundError):
            api.get_namespace(name)


def test_list(api: Any, ns: str) -> None:
    for suffix in ("a", "b", "c"):
        api.create_namespace(f"{ns}-{suffix}")
    listed = api.list_namespaces(prefix=ns)
    assert [n.name for n in listed.data] == [f"{ns}-a", f"{ns}-b", f"{ns}-c"]
    page = api.list_namespaces(prefix=ns, limit=1, offset=2)
    assert ([n.name for n in page.data], page.count, page.limit, page.offset) == (
        [f"{ns}-c"],
        1,
        1,
        2,
    )
    everything = api.list_namespaces()
    assert everything.data[0].name == "default"  # oldest first


def test_relations(api: Any, ns: str) -> None:
    old = api.create_memory(ns, "Alice lives in Porto")
    new = api.create_memory(ns, "Alice moved to Lisbon")
    part = api.create_memory(ns, "Lisbon trip notes")
    edge = api.create_relation(new.id, old.id, type="supersedes", metadata={"why": "moved"})
    assert isinstance(edge, Edge)
    assert (edge.source_id, edge.target_id, edge.type) == (new.id, old.id, RelationType.SUPERSEDES)
    assert edge.weight == 1.0
    api.create_relation(part.id, new.id, type=RelationType.PART_OF, weight=0.5)
    out = api.list_relations(new.id, direction="out")
    assert [(e.target_id, e.type) for e in out] == [(old.id, RelationType.SUPERSEDES)]
    both = api.list_relations(new.id)
    assert {e.source_id for e in both} == {new.id, part.id}
    related = api.list_related(part.id, depth=2)
    assert [(r.memory.id, r.depth) for r in related] == [(new.id, 1), (old.id, 2)]
    assert api.list_related(part.id, depth=2, types=["part_of"])[0].memory.id == new.id
    assert api.list_related(part.id, min_weight=0.9) == []
    with pytest.raises(NotFoundError):  # only that type: there is none
        api.delete_relation(new.id, old.id, types=["related_to"])
    assert api.delete_relation(new.id, old.id) == 1
    assert api.list_relations(new.id, direction="out") == []
