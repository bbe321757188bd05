"""Namespaces through the façade: CRUD, hierarchy, inheritance, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maia import AlreadyExists, Maia, NotFound
from maia.errors import Forbidden, InvalidInput, QuotaExceeded
from maia.models import NamespaceConfig, NamespaceCreate, NamespaceUpdate, Page, TenantCreate
from maia.security.principal import Principal


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


def test_retention_sweep_purges_every_tenant(maia: Maia) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    other = maia.for_tenant(maia.create_tenant(TenantCreate(name="acme")).id)
    old = {}
    for view in (maia, other):
        view.create_namespace(
            NamespaceCreate(name="short", config=NamespaceConfig(retention_days=7))
        )
        old[view.tenant] = view.remember(
            "old", namespace="short", created_at=now - timedelta(days=8)
        ).id
    assert maia.purge_expired_all_tenants(now) == 2
    assert maia.get_memories([old[maia.tenant]]) == []
    assert other.get_memories([old[other.tenant]]) == []


def test_retention_longer_than_the_calendar_purges_nothing(maia: Maia) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    for name, days in (("forever", 1_000_000), ("beyond", 10**12), ("short", 1)):
        maia.create_namespace(
            NamespaceCreate(name=name, config=NamespaceConfig(retention_days=days))
        )
    kept = maia.remember("ancient", namespace="forever", created_at=datetime(1, 1, 2, tzinfo=UTC))
    maia.remember("old", namespace="short", created_at=now - timedelta(days=2))
    assert maia.purge_expired(now) == 1  # "short" is still purged
    assert [m.id for m in maia.get_memories([kept.id])] == [kept.id]


def test_one_failing_namespace_does_not_stop_the_sweep(
    maia: Maia, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    for name in ("broken", "short"):
        maia.create_namespace(NamespaceCreate(name=name, config=NamespaceConfig(retention_days=1)))
        maia.remember("old", namespace=name, created_at=now - timedelta(days=2))
    purge = maia._purge_namespace

    def failing(name: str, at: datetime) -> int:
        if name == "broken":
            raise RuntimeError("store hiccup")
        return purge(name, at)

    monkeypatch.setattr(maia, "_purge_namespace", failing)
    assert maia.purge_expired(now) == 1
    assert "retention sweep failed for namespace 'broken'" in caplog.text


def test_memory_namespace_is_a_name_never_an_id(maia: Maia) -> None:
    strict = maia.create_namespace(
        NamespaceCreate(
            name="strict",
            config=NamespaceConfig(
                allowed_types=["semantic"],  # type: ignore[list-item]
                max_memories=1,
                token_budget=77,
            ),
        )
    )
    # A namespace named like strict's id has no record: none of strict's rules apply.
    maia.remember("one", namespace=strict.id, type="episodic")
    maia.remember("two", namespace=strict.id)
    assert maia.context("one", namespace=strict.id).token_budget == maia.settings.token_budget
    assert maia.effective_config(strict.id) == NamespaceConfig()
    with pytest.raises(InvalidInput, match="allows only semantic"):
        maia.remember("x", namespace="strict", type="episodic")
    maia.remember("one", namespace="strict")
    with pytest.raises(QuotaExceeded):
        maia.remember("two", namespace="strict")
    assert maia.context("one", namespace="strict").token_budget == 77


def test_explicit_parent_is_a_name_never_an_id(maia: Maia) -> None:
    parent = maia.create_namespace(
        NamespaceCreate(name="p", config=NamespaceConfig(token_budget=777))
    )
    inherit = NamespaceConfig(inherit_from_parent=True)
    maia.create_namespace(NamespaceCreate(name="by-id", parent=parent.id, config=inherit))
    maia.create_namespace(NamespaceCreate(name="by-name", parent="p", config=inherit))
    assert maia.effective_config("by-id").token_budget == 0
    assert maia.effective_config("by-name").token_budget == 777


def test_a_limited_key_may_not_name_or_inherit_from_a_parent_outside_its_grant(
    maia: Maia,
) -> None:
    secret = NamespaceConfig(token_budget=1234, custom_scoring={"secret_weight": 3.0})
    maia.create_namespace(NamespaceCreate(name="secret", config=secret))
    inherit = NamespaceConfig(inherit_from_parent=True)
    # Made by an unlimited key: a granted namespace whose parent is not granted.
    maia.create_namespace(NamespaceCreate(name="acme/linked", parent="secret", config=inherit))
    limited = maia.for_principal(Principal("system", "k", namespaces=("acme",)))
    with pytest.raises(Forbidden, match="access denied for namespace: secret"):
        limited.create_namespace(NamespaceCreate(name="acme/spy", parent="secret", config=inherit))
    with pytest.raises(Forbidden, match="access denied for namespace: secret"):
        limited.update_namespace("acme/linked", NamespaceUpdate(config=inherit))
    # What the limited key is shown stops at the ungranted parent; the rules do not.
    assert limited.effective_config("acme/linked", granted_only=True) == inherit
    assert limited.effective_config("acme/linked").token_budget == 1234
    assert maia.effective_config("acme/linked").token_budget == 1234  # unlimited: inherits
    # A granted parent is fine, by explicit parent or by the name's hierarchy.
    maia.create_namespace(NamespaceCreate(name="acme", config=NamespaceConfig(token_budget=5)))
    limited.create_namespace(NamespaceCreate(name="acme/a", parent="acme", config=inherit))
    limited.create_namespace(NamespaceCreate(name="acme/b", config=inherit))
    assert limited.effective_config("acme/a").token_budget == 5
    assert limited.effective_config("acme/b").token_budget == 5
    # A key granted only acme/* does not read acme's config through acme/x.
    below = maia.for_principal(Principal("system", "k", namespaces=("acme/*",)))
    assert below.effective_config("acme/b", granted_only=True).token_budget == 0
    assert below.effective_config("acme/b").token_budget == 5  # acme's rules still hold
