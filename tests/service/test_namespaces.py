"""Namespaces through the façade: CRUD, hierarchy, inheritance, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maia import AlreadyExists, Maia, NotFound
from maia.models import NamespaceConfig, NamespaceCreate, NamespaceUpdate, Page


def test_crud_by_id_or_name(maia: Maia) -> None:
    ns = maia.create_namespace(NamespaceCreate(name="acme/team", parent="acme", template="t"))
    assert maia.get_namespace(ns.id) == maia.get_namespace("acme/team") == ns
    with pytest.raises(AlreadyExists, match="namespace already exists: acme/team"):
        maia.create_namespace(NamespaceCreate(name="acme/team"))
    updated = maia.update_namespace(
        "acme/team", NamespaceUpdate(config=NamespaceConfig(max_memories=7))
    )
    assert updated.config == NamespaceConfig(max_memories=7)
    replaced = maia.update_namespace(ns.id, NamespaceUpdate(config=NamespaceConfig(token_budget=9)))
    assert replaced.config == NamespaceConfig(token_budget=9)  # wholesale: max_memories gone
    maia.delete_namespace("acme/team")
    with pytest.raises(NotFound, match="namespace not found: acme/team"):
        maia.get_namespace("acme/team")
    maia.create_namespace(NamespaceCreate(name="acme/team"))  # the name can be reused


def test_delete_keeps_memories(maia: Maia) -> None:
    maia.create_namespace(NamespaceCreate(name="gone"))
    mem = maia.remember("survivor", namespace="gone")
    maia.delete_namespace("gone")
    assert maia.get_memory(mem.id).content == "survivor"
    assert maia.stats().total_memories == 1


def test_list_is_oldest_first_with_prefix(maia: Maia) -> None:
    for name in ("b", "a/x", "a/y"):
        maia.create_namespace(NamespaceCreate(name=name))
    assert [n.name for n in maia.list_namespaces()] == ["default", "b", "a/x", "a/y"]
    assert [n.name for n in maia.list_namespaces(prefix="a/")] == ["a/x", "a/y"]
    assert [n.name for n in maia.list_namespaces(Page(limit=2, offset=1))] == ["b", "a/x"]


def test_children(maia: Maia) -> None:
    for name in ("org", "org/a", "org/a/deep", "org/b"):
        maia.create_namespace(NamespaceCreate(name=name))
    assert [n.name for n in maia.namespace_children("org")] == ["org/a", "org/b"]
    with pytest.raises(NotFound):
        maia.namespace_children("missing")


def test_effective_config_walks_the_chain(maia: Maia) -> None:
    maia.create_namespace(
        NamespaceCreate(name="org", config=NamespaceConfig(token_budget=1000, retention_days=30))
    )
    maia.create_namespace(
        NamespaceCreate(
            name="org/team",
            config=NamespaceConfig(max_memories=50, inherit_from_parent=True),
        )
    )
    maia.create_namespace(
        NamespaceCreate(
            name="org/team/alice",
            config=NamespaceConfig(token_budget=200, inherit_from_parent=True),
        )
    )
    config = maia.effective_config("org/team/alice")
    assert (config.token_budget, config.max_memories, config.retention_days) == (200, 50, 30)
    assert maia.effective_config("unknown") == NamespaceConfig()


def test_inheritance_cycle_terminates(maia: Maia) -> None:
    maia.create_namespace(
        NamespaceCreate(name="x", parent="y", config=NamespaceConfig(inherit_from_parent=True))
    )
    maia.create_namespace(
        NamespaceCreate(
            name="y",
            parent="x",
            config=NamespaceConfig(token_budget=5, inherit_from_parent=True),
        )
    )
    assert maia.effective_config("x").token_budget == 5


def test_retention_purges_expired_memories(maia: Maia) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    maia.create_namespace(NamespaceCreate(name="short", config=NamespaceConfig(retention_days=7)))
    maia.create_namespace(
        NamespaceCreate(name="short/child", config=NamespaceConfig(inherit_from_parent=True))
    )
    old = maia.remember("old", namespace="short", created_at=now - timedelta(days=8))
    fresh = maia.remember("fresh", namespace="short", created_at=now - timedelta(days=6))
    inherited = maia.remember(
        "old too", namespace="short/child", created_at=now - timedelta(days=9)
    )
    kept = maia.remember(
        "no retention here", namespace="keep", created_at=now - timedelta(days=900)
    )
    assert maia.purge_expired(now) == 2
    remaining = {m.id for m in maia.get_memories([old.id, fresh.id, inherited.id, kept.id])}
    assert remaining == {fresh.id, kept.id}
