"""Keys, principals and namespace patterns: pure rules, checked exhaustively."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maia.models import Scope
from maia.security import OPEN_PRINCIPAL, Principal, generate_key, hash_key, namespace_allowed
from maia.security.keys import is_key_hash


def test_keys_are_random_prefixed_hex_and_stored_as_sha256() -> None:
    keys = {generate_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert re.fullmatch(r"maia_[0-9a-f]{64}", key)
        digest = hash_key(key)
        assert is_key_hash(digest)
        assert digest != key
    # The FIPS 180-2 test vector: the stored form is plain hex SHA-256 of the key text.
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert not is_key_hash("maia_" + "0" * 64)


@pytest.mark.parametrize(
    ("patterns", "namespace", "allowed"),
    [
        (["acme"], "acme", True),
        (["acme"], "acme/team/alice", True),
        (["acme"], "acmecorp", False),
        (["acme/team"], "acme", False),
        (["*"], "anything/at/all", True),
        (["acme/*/notes"], "acme/x/notes", True),
        (["acme/*/notes"], "acme/x/notes/2024", True),
        (["acme/*/notes"], "acme/x/todo", False),
        (["acme/*"], "acme", False),
        (["acme/*"], "acme/bob", True),
        (["a", "b/c"], "b/c/d", True),
        (["a", "b/c"], "b", False),
        ([], "a", False),
    ],
)
def test_namespace_patterns(patterns: list[str], namespace: str, allowed: bool) -> None:
    assert namespace_allowed(patterns, namespace) is allowed


@given(
    st.lists(st.from_regex(r"[a-z*]{1,3}(/[a-z*]{1,3}){0,2}", fullmatch=True), max_size=3),
    st.from_regex(r"[a-z]{1,3}(/[a-z]{1,3}){0,3}", fullmatch=True),
    st.from_regex(r"[a-z]{1,3}", fullmatch=True),
)
def test_a_granted_namespace_grants_its_descendants(
    patterns: list[str], namespace: str, child: str
) -> None:
    if namespace_allowed(patterns, namespace):
        assert namespace_allowed(patterns, f"{namespace}/{child}")


def test_scopes() -> None:
    everything = Principal("t", "k")
    assert everything.allows([Scope.ADMIN]), "no scopes: everything (the contract's rule)"
    reader = Principal("t", "k", frozenset({Scope.READ}))
    assert reader.allows([Scope.READ, Scope.SEARCH])
    assert not reader.allows([Scope.WRITE])
    star = Principal("t", "k", frozenset({Scope.ALL}))
    assert star.allows([Scope.DELETE])


def test_admin_means_an_admin_key_of_the_system_tenant() -> None:
    assert OPEN_PRINCIPAL.is_admin
    assert Principal("system", "k", frozenset({Scope.ADMIN})).is_admin
    assert not Principal("acme", "k", frozenset({Scope.ADMIN})).is_admin
    acting = Principal("system", "k", frozenset({Scope.ADMIN})).for_tenant("acme")
    assert acting.tenant_id == "acme"
    assert acting.is_admin, "an admin acting in another tenant stays admin"


def test_restricted_principals() -> None:
    open_ = Principal("t", "k")
    assert not open_.restricted
    assert open_.may_use("x/y")
    limited = Principal("t", "k", namespaces=("team",))
    assert limited.restricted
    assert limited.may_use("team/a")
    assert not limited.may_use("other")
    assert not Principal("t", "k", namespaces=("*",)).restricted
