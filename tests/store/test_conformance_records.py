"""The Store protocol on every store (see ``conftest.store``): namespaces, relations,
vectors, tenants, API keys and usage counters."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from maia.errors import AlreadyExists
from maia.models import (
    ZERO_TIME,
    NamespaceConfig,
    Page,
    Plan,
    RelationType,
    TenantQuotas,
    TenantStatus,
)
from maia.store.base import Store, StoredVector, VectorRow, relation_size, stored_size
from tests.store.builders import T0, api_key, edge, memory, namespace, tenant, vector

# -- namespaces ------------------------------------------------------------------------


def test_namespace_names_are_unique_per_tenant(store: Store) -> None:
    with store.write() as tx:
        tx.insert_namespace("t", namespace("dup"))
        tx.insert_namespace("u", namespace("dup"))
    with pytest.raises(AlreadyExists, match="namespace already exists: dup"), store.write() as tx:
        tx.insert_namespace("t", namespace("dup"))
    with store.read() as tx:
        assert tx.count_namespaces("t") == 1
        assert tx.count_namespaces("u") == 1


def test_namespace_round_trips_and_is_found_by_id_then_name(store: Store) -> None:
    config = NamespaceConfig(
        token_budget=5,
        max_memories=10,
        retention_days=3,
        allowed_types=["working"],  # type: ignore[list-item]
        inherit_from_parent=True,
        custom_scoring={"vector": 0.5, "recency": 2.0},
    )
    ns = namespace("cfg/é", parent="cfg", config=config).model_copy(update={"template": "chat"})
    # A namespace named like another's id: the id wins.
    impostor = namespace(ns.id)
    with store.write() as tx:
        tx.insert_namespace("t", ns)
        tx.insert_namespace("t", impostor)
    with store.read() as tx:
        assert tx.get_namespace("t", "cfg/é") == ns
        assert tx.get_namespace("t", ns.id) == ns
        assert tx.get_namespace("t", impostor.id) == impostor
        assert tx.get_namespace("t", "missing") is None
        assert tx.get_namespace("u", ns.id) is None


def test_namespace_by_name_never_matches_an_id(store: Store) -> None:
    ns = namespace("real")
    impostor = namespace(ns.id)  # named like the other's id
    with store.write() as tx:
        tx.insert_namespace("t", ns)
        assert tx.get_namespace_by_name("t", "real") == ns  # in a write transaction too
    with store.read() as tx:
        assert tx.get_namespace_by_name("t", "real") == ns
        assert tx.get_namespace_by_name("t", ns.id) is None
        assert tx.get_namespace_by_name("u", "real") is None
    with store.write() as tx:
        tx.insert_namespace("t", impostor)
    with store.read() as tx:
        assert tx.get_namespace_by_name("t", ns.id) == impostor
        assert tx.get_namespace_by_name("t", impostor.id) is None


def test_list_namespaces_oldest_first_paged_with_prefix(store: Store) -> None:
    names = ["b", "a/x", "a_b", "a", "a%c", "ab/y"]
    created = [namespace(n, at=T0 + timedelta(minutes=i)) for i, n in enumerate(names)]
    with store.write() as tx:
        for ns in created:
            tx.insert_namespace("t", ns)

    def listed(page: Page = Page(), prefix: str | None = None) -> list[str]:  # noqa: B008
        with store.read() as tx:
            return [n.name for n in tx.list_namespaces("t", page, prefix=prefix)]

    assert listed() == names
    assert listed(Page(limit=2, offset=1)) == ["a/x", "a_b"]
    assert listed(Page(limit=2, offset=6)) == []
    assert listed(prefix="a") == ["a/x", "a_b", "a", "a%c", "ab/y"]
    assert listed(prefix="a/") == ["a/x"]
    assert listed(prefix="a_") == ["a_b"]  # "_" is no wildcard
    assert listed(prefix="a%") == ["a%c"]  # nor "%"
    assert listed(prefix="") == names
    assert listed(prefix="zzz") == []
    with store.read() as tx:
        assert tx.count_namespaces("t") == 6


def test_children_explicit_parent_and_hierarchical_names(store: Store) -> None:
    with store.write() as tx:
        for i, ns in enumerate(
            (
                namespace("acme"),
                namespace("acme/team"),
                namespace("acme/team/alice"),
                namespace("acmeish"),
                namespace("elsewhere", parent="acme"),
                namespace("acme/adopted", parent="other"),
                namespace("acme/z"),
            )
        ):
            tx.insert_namespace("t", ns.model_copy(update={"created_at": T0 + timedelta(i)}))
    with store.read() as tx:
        assert [n.name for n in tx.namespace_children("t", "acme")] == [
            "acme/team",
            "elsewhere",
            "acme/z",
        ]
        assert [n.name for n in tx.namespace_children("t", "acme/")] == ["acme/team", "acme/z"]
        assert [n.name for n in tx.namespace_children("t", "acme/team")] == ["acme/team/alice"]
        assert [n.name for n in tx.namespace_children("t", "other")] == ["acme/adopted"]
        assert tx.namespace_children("t", "nothing") == []
        assert tx.namespace_children("u", "acme") == []


def test_update_and_delete_namespace(store: Store) -> None:
    ns = namespace("n")
    with store.write() as tx:
        tx.insert_namespace("t", ns)
    changed = ns.model_copy(
        update={
            "config": NamespaceConfig(token_budget=42),
            "updated_at": T0 + timedelta(1),
            "name": "ignored",  # only config and updated_at change
        }
    )
    with store.write() as tx:
        tx.update_namespace("t", changed)
    with store.read() as tx:
        assert tx.get_namespace("t", ns.id) == changed.model_copy(update={"name": "n"})
    with store.write() as tx:
        tx.delete_namespace("t", ns.id)
        tx.delete_namespace("t", "missing")
        tx.insert_namespace("t", namespace("n"))  # the name is free again
    with store.read() as tx:
        assert tx.get_namespace("t", ns.id) is None
        assert tx.count_namespaces("t") == 1


# -- relations -------------------------------------------------------------------------


def test_edges_by_direction_and_type(store: Store) -> None:
    a, b, c = memory("a"), memory("b"), memory("c")
    with store.write() as tx:
        tx.insert_memories("t", [a, b, c])
        ab = edge(a.id, b.id, metadata={"why": "é"})
        ac = edge(a.id, c.id, RelationType.SUPERSEDES, weight=0.5, at_days=1)
        ca = edge(c.id, a.id, RelationType.PART_OF, at_days=2)
        for relation in (ca, ac, ab):
            tx.put_edge("t", relation)
    with store.read() as tx:
        assert tx.edges("t", [a.id]) == [ab, ac]
        assert tx.edges("t", [a.id], direction="in") == [ca]
        assert tx.edges("t", [a.id], direction="both") == [ab, ac, ca]
        assert tx.edges("t", [a.id, c.id]) == [ab, ac, ca]
        assert tx.edges("t", [a.id], types=[RelationType.SUPERSEDES]) == [ac]
        assert tx.edges(
            "t", [a.id], types=[RelationType.SUPERSEDES, RelationType.PART_OF], direction="both"
        ) == [ac, ca]
        assert tx.edges("t", [b.id]) == []
        assert tx.edges("t", []) == []
        assert tx.edges("u", [a.id], direction="both") == []


def test_put_edge_replaces_and_delete_edges(store: Store) -> None:
    a, b = memory("a"), memory("b")
    with store.write() as tx:
        tx.insert_memories("t", [a, b])
        tx.put_edge("t", edge(a.id, b.id))
        tx.put_edge("t", edge(a.id, b.id, RelationType.CONTRADICTS))
        replaced = edge(a.id, b.id, weight=0.25, at_days=5, metadata={"v": 2})
        tx.put_edge("t", replaced)
    with store.read() as tx:
        assert tx.edges("t", [a.id], types=[RelationType.RELATED_TO]) == [replaced]
    with store.write() as tx:
        assert tx.delete_edges("t", a.id, b.id, [RelationType.CONTRADICTS]) == 1
        assert tx.delete_edges("t", a.id, b.id, [RelationType.CONTRADICTS]) == 0
        assert tx.delete_edges("u", a.id, b.id) == 0
        assert tx.delete_edges("t", b.id, a.id) == 0
        assert tx.delete_edges("t", a.id, b.id) == 1
    with store.read() as tx:
        assert tx.edges("t", [a.id, b.id], direction="both") == []


def test_edges_go_with_their_memories(store: Store) -> None:
    a, b = memory("a"), memory("b")
    with store.write() as tx:
        tx.insert_memories("t", [a, b])
        tx.put_edge("t", edge(a.id, b.id))
        tx.put_edge("t", edge(b.id, a.id))
        tx.delete_memories("t", [b.id])
    with store.read() as tx:
        assert tx.edges("t", [a.id], direction="both") == []


# -- vectors ---------------------------------------------------------------------------


def _vectors(store: Store, model: str = "m") -> list[StoredVector]:
    with store.read() as tx:
        return list(tx.iter_vectors(model))


def _generation(store: Store) -> int:
    with store.read() as tx:
        return tx.vector_generation()


def test_vectors_put_replace_iterate(store: Store) -> None:
    a, b, c = memory("a"), memory("b", namespace="team/x"), memory("c")
    with store.write() as tx:
        seq_a, seq_b = tx.insert_memories("t", [a, b])
        (seq_c,) = tx.insert_memories("u", [c])
    start = _generation(store)
    rng = np.random.default_rng(7)
    va, vb = rng.standard_normal(384, dtype=np.float32), rng.standard_normal(384, dtype=np.float32)
    special = np.array([0.0, -0.0, 1e-38, -3.4e38, np.pi, 1 / 3], dtype=np.float32)
    with store.write() as tx:
        tx.put_vectors([VectorRow(seq_b, "m", vb.tobytes()), VectorRow(seq_a, "m", va.tobytes())])
        tx.put_vectors([VectorRow(seq_c, "m", special.tobytes())])  # another dimension
        tx.put_vectors([])
    after_put = _generation(store)
    assert after_put > start
    assert _vectors(store) == [
        StoredVector(seq_a, "t", "ns", va.tobytes()),
        StoredVector(seq_b, "t", "team/x", vb.tobytes()),
        StoredVector(seq_c, "u", "ns", special.tobytes()),
    ]
    with store.write() as tx:
        tx.put_vectors([VectorRow(seq_a, "other", vector(1, 2, 3))])  # replaces, new model
    assert _generation(store) > after_put
    with store.read() as tx:
        assert tx.vector_counts() == {"m": 2, "other": 1}
        assert tx.vectors_of("t", [a.id]) == {a.id: VectorRow(seq_a, "other", vector(1, 2, 3))}
    assert [v.seq for v in _vectors(store)] == [seq_b, seq_c]
    assert _vectors(store, "missing") == []


def test_vector_generation_moves_with_vectors_only(store: Store) -> None:
    a, b = memory("a"), memory("b")
    with store.write() as tx:
        seq_a, seq_b = tx.insert_memories("t", [a, b])
    steps = [_generation(store)]
    with store.write() as tx:
        tx.insert_memories("t", [memory("no vector")])
        tx.touch_memories("t", [a.id], T0)
        tx.insert_namespace("t", namespace("n"))
    assert _generation(store) == steps[-1]  # no embedding changed
    with store.write() as tx:
        tx.put_vectors([VectorRow(seq_a, "m", vector(1, 0)), VectorRow(seq_b, "m", vector(0, 1))])
    steps.append(_generation(store))
    with store.write() as tx:
        tx.delete_memories("t", [b.id])  # its vector goes with it
    steps.append(_generation(store))
    with store.write() as tx:
        assert tx.delete_vectors_except("m") == 0
    steps.append(_generation(store))
    with store.write() as tx:
        assert tx.delete_vectors_except("new model") == 1
    steps.append(_generation(store))
    assert steps[0] < steps[1] < steps[2] == steps[3] < steps[4]
    with store.read() as tx:
        assert tx.vector_counts() == {}


def test_memories_without_vector(store: Store) -> None:
    items = [memory(f"m{i}", namespace=f"n{i % 2}") for i in range(5)]
    with store.write() as tx:
        seqs = tx.insert_memories("t", items[:3]) + tx.insert_memories("u", items[3:])
        tx.put_vectors([VectorRow(seqs[1], "m", vector(1)), VectorRow(seqs[3], "old", vector(1))])
    with store.read() as tx:
        missing = tx.memories_without_vector("m", 0, 10)
        assert missing == [
            (seqs[0], "t", "n0", "m0"),
            (seqs[2], "t", "n0", "m2"),
            (seqs[3], "u", "n1", "m3"),
            (seqs[4], "u", "n0", "m4"),
        ]
        assert tx.memories_without_vector("m", seqs[2], 2) == missing[2:4]
        assert tx.memories_without_vector("m", seqs[4], 10) == []
        assert [s for s, *_ in tx.memories_without_vector("old", 0, 10)] == [
            seqs[0],
            seqs[1],
            seqs[2],
            seqs[4],
        ]


# -- tenants, keys and usage -----------------------------------------------------------


def test_tenants_round_trip_list_count_update(store: Store) -> None:
    acme = tenant("acme", plan=Plan.STANDARD, metadata={"region": "eu", "é": [1]})
    beta = tenant(
        "beta",
        status=TenantStatus.SUSPENDED,
        at=T0 + timedelta(1),
        quotas=TenantQuotas(max_memories=5, max_storage_bytes=100),
    )
    gamma = tenant("gamma", at=T0 - timedelta(1))
    with store.write() as tx:
        for t in (acme, beta, gamma):
            tx.insert_tenant(t)
    with store.read() as tx:
        assert tx.get_tenant("acme") == acme
        assert tx.get_tenant("beta") == beta
        assert tx.get_tenant("missing") is None
        assert [t.id for t in tx.list_tenants(Page())] == ["gamma", "acme", "beta"]
        assert [t.id for t in tx.list_tenants(Page(limit=1, offset=1))] == ["acme"]
        assert [t.id for t in tx.list_tenants(Page(), status="suspended")] == ["beta"]
        assert [t.id for t in tx.list_tenants(Page(), plan="free")] == ["gamma", "beta"]
        assert tx.list_tenants(Page(), status="active", plan="premium") == []
        assert tx.count_tenants() == 3
        assert tx.count_tenants(status="active") == 2
        assert tx.count_tenants(plan="standard", status="active") == 1
    renamed = acme.model_copy(
        update={"name": "Acme GmbH", "plan": Plan.PREMIUM, "updated_at": T0 + timedelta(2)}
    )
    with store.write() as tx:
        tx.update_tenant(renamed)
    with store.read() as tx:
        assert tx.get_tenant("acme") == renamed


def test_tenant_ids_and_names_are_unique(store: Store) -> None:
    with store.write() as tx:
        tx.insert_tenant(tenant("a", name="Alpha"))
        tx.insert_tenant(tenant("b", name="Beta"))
        with pytest.raises(AlreadyExists, match="tenant already exists"):
            tx.insert_tenant(tenant("a", name="Other"))
        with pytest.raises(AlreadyExists, match="tenant already exists"):
            tx.insert_tenant(tenant("c", name="Alpha"))
        with pytest.raises(AlreadyExists, match="tenant already exists"):
            tx.update_tenant(tenant("b", name="Alpha"))
        tx.insert_tenant(tenant("c", name="Gamma"))  # the transaction goes on
    with store.read() as tx:
        assert [(t.id, t.name) for t in tx.list_tenants(Page())] == [
            ("a", "Alpha"),
            ("b", "Beta"),
            ("c", "Gamma"),
        ]


def test_delete_tenant_removes_everything_of_it(store: Store) -> None:
    mine = [memory("one"), memory("two", namespace="x")]
    theirs = memory("kept")
    with store.write() as tx:
        tx.insert_tenant(tenant("gone"))
        tx.insert_tenant(tenant("kept"))
        seqs = tx.insert_memories("gone", mine)
        (kept_seq,) = tx.insert_memories("kept", [theirs])
        tx.put_vectors([VectorRow(s, "m", vector(1)) for s in [*seqs, kept_seq]])
        tx.put_edge("gone", edge(mine[0].id, mine[1].id))
        tx.insert_namespace("gone", namespace("x"))
        tx.insert_api_key(api_key("k1", "gone"))
        tx.insert_api_key(api_key("k2", "kept"))
    with store.write() as tx:
        assert sorted(tx.delete_tenant("gone")) == sorted(seqs)
        assert tx.delete_tenant("never existed") == []
    with store.read() as tx:
        assert tx.get_tenant("gone") is None
        assert tx.count_memories("gone") == 0
        assert tx.count_namespaces("gone") == 0
        assert tx.list_api_keys("gone") == []
        assert tx.get_api_key("k1") is None
        assert tx.tenant_usage("gone") == (0, 0)
        assert tx.vector_counts() == {"m": 1}
        assert tx.edges("gone", [m.id for m in mine], direction="both") == []
        assert tx.get_tenant("kept") is not None
        assert tx.get_memory("kept", theirs.id) == theirs
        assert tx.get_api_key("k2") is not None


def test_api_keys(store: Store) -> None:
    never = api_key("h1", "t")
    later = api_key("h2", "t", at=T0 + timedelta(1), expires_at=T0 + timedelta(10))
    other = api_key("h0", "u")
    with store.write() as tx:
        for key in (later, never, other):
            tx.insert_api_key(key)
    with store.read() as tx:
        assert tx.get_api_key("h1") == never
        assert never.expires_at == ZERO_TIME
        assert never.last_used_at == ZERO_TIME
        assert tx.get_api_key("h2") == later
        assert tx.get_api_key("missing") is None
        assert tx.list_api_keys("t") == [never, later]
        assert tx.list_api_keys("nobody") == []
        assert tx.count_usable_api_keys(T0 + timedelta(5)) == 3
        assert tx.count_usable_api_keys(T0 + timedelta(10)) == 2  # h2 expired
    revoked_at = T0 + timedelta(2)
    with store.write() as tx:
        assert tx.revoke_api_key("h1", revoked_at) is True
        assert tx.revoke_api_key("h1", revoked_at + timedelta(1)) is False
        assert tx.revoke_api_key("missing", revoked_at) is False
        tx.set_keys_last_used({"h2": T0 + timedelta(3), "h0": T0 + timedelta(1)})
        tx.set_keys_last_used({"h2": T0 + timedelta(2), "missing": T0})  # never goes back
        tx.set_keys_last_used({})
    with store.read() as tx:
        stored = tx.get_api_key("h1")
        assert stored is not None
        assert stored.revoked_at == revoked_at
        assert tx.count_usable_api_keys(T0 + timedelta(5)) == 2
        h2 = tx.get_api_key("h2")
        assert h2 is not None
        assert h2.last_used_at == T0 + timedelta(3)
        h0 = tx.get_api_key("h0")
        assert h0 is not None
        assert h0.last_used_at == T0 + timedelta(1)


def test_usage_follows_every_memory_write(store: Store) -> None:
    """The counters equal memory count and ``stored_size`` bytes, on every store."""
    plain = memory("plain ascii")
    rich = memory("Ünïcödé 東京 🙂", tags=["ä", "b"], metadata={"k": "é", "n": [1, 2]})
    theirs = memory("other tenant's")

    def usage(tenant_id: str) -> tuple[int, int]:
        with store.read() as tx:
            return tx.tenant_usage(tenant_id)

    assert usage("t") == (0, 0)
    with store.write() as tx:
        tx.insert_memories("t", [plain, rich])
        tx.insert_memories("u", [theirs])
        assert tx.tenant_usage("t") == (2, stored_size(plain) + stored_size(rich))
    assert usage("t") == (2, stored_size(plain) + stored_size(rich))
    assert usage("u") == (1, stored_size(theirs))

    grown = rich.model_copy(update={"content": "much longer content " * 5, "tags": []})
    with store.write() as tx:
        tx.update_memory("t", grown)
        tx.touch_memories("t", [plain.id], T0)  # no size change
    assert usage("t") == (2, stored_size(plain) + stored_size(grown))

    replaced = plain.model_copy(update={"content": "x", "metadata": {"a": "b"}, "tags": ["t"]})
    with store.write() as tx:
        tx.replace_memory("t", replaced)
    assert usage("t") == (2, stored_size(replaced) + stored_size(grown))

    with store.write() as tx:
        tx.delete_memories("t", [grown.id])
    assert usage("t") == (1, stored_size(replaced))
    with store.write() as tx:
        tx.delete_memories_before("t", "ns", T0 + timedelta(1))
    assert usage("t") == (0, 0)
    assert usage("u") == (1, stored_size(theirs))


def test_usage_counts_relation_metadata(store: Store) -> None:
    """A relation's metadata is its tenant's data: created, replaced, deleted, and gone
    with a deleted memory (by cascade), the counters follow, on every store."""
    a, b, c = memory("a"), memory("b"), memory("c")
    theirs = memory("other tenant's")

    def bytes_of(tenant_id: str) -> int:
        with store.read() as tx:
            return tx.tenant_usage(tenant_id)[1]

    with store.write() as tx:
        tx.insert_memories("t", [a, b, c])
        tx.insert_memories("u", [theirs])
    memories = sum(stored_size(m) for m in (a, b, c))
    ab = edge(a.id, b.id, metadata={"note": "Ünïcödé 東京 🙂", "n": [1, 2]})
    bc = edge(b.id, c.id, metadata={"why": "x" * 100})
    with store.write() as tx:
        tx.put_edge("t", ab)
        tx.put_edge("t", bc)
        tx.put_edge("t", edge(a.id, c.id))
    assert relation_size(ab) == len('{"note":"Ünïcödé 東京 🙂","n":[1,2]}'.encode())
    assert bytes_of("t") == memories + relation_size(ab) + relation_size(bc)

    bigger = edge(a.id, b.id, metadata={"note": "y" * 300})
    with store.write() as tx:
        tx.put_edge("t", bigger)  # the same relation, replaced
    assert bytes_of("t") == memories + relation_size(bigger) + relation_size(bc)
    with store.write() as tx:
        tx.put_edge("t", edge(a.id, b.id))
    assert bytes_of("t") == memories + relation_size(bc)

    with store.write() as tx:
        tx.put_edge("t", bigger)
        assert tx.delete_edges("t", a.id, b.id) == 1
    assert bytes_of("t") == memories + relation_size(bc)
    with store.write() as tx:
        tx.put_edge("t", bigger)
        tx.delete_memories("t", [b.id])  # both of b's relations go with it
    assert bytes_of("t") == stored_size(a) + stored_size(c)
    assert bytes_of("u") == stored_size(theirs)


def test_namespace_usage_counts_what_some_namespaces_hold(store: Store) -> None:
    a1, a2 = memory("one", namespace="a"), memory("Ünïcödé", namespace="a", tags=["t"])
    b = memory("b's", namespace="a/b", metadata={"k": 1})
    relation = edge(a1.id, b.id, metadata={"why": "é"})
    with store.write() as tx:
        tx.insert_memories("t", [a1, a2, b])
        tx.insert_memories("u", [memory("theirs", namespace="c")])
        tx.put_edge("t", relation)
    with store.read() as tx:
        assert sorted(tx.memory_namespaces("t")) == ["a", "a/b"]
        assert tx.memory_namespaces("nobody") == []
        # A relation counts with its source's namespace.
        a = stored_size(a1) + stored_size(a2) + relation_size(relation)
        assert tx.namespace_usage("t", ["a"]) == (2, a)
        assert tx.namespace_usage("t", ["a/b"]) == (1, stored_size(b))
        assert tx.namespace_usage("t", ["a", "a/b"]) == tx.tenant_usage("t")
        assert tx.namespace_usage("t", ["c", "missing"]) == (0, 0)
        assert tx.namespace_usage("t", []) == (0, 0)
