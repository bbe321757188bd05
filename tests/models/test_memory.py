"""Model validation: the wire shape round-trips and bad values name their field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from maia.models import (
    Memory,
    MemoryCreate,
    MemorySource,
    MemoryType,
    MemoryUpdate,
    Namespace,
    NamespaceConfig,
)

text = st.text(min_size=1, max_size=200).filter(lambda s: s.strip() != "")
tag = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs")), min_size=1, max_size=20
).filter(lambda s: s.strip() != "")
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20)
)
metadata = st.dictionaries(st.text(max_size=10), json_scalar, max_size=5)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(
    content=text,
    kind=st.sampled_from(list(MemoryType)),
    source=st.sampled_from(list(MemorySource)),
    tags=st.lists(tag, max_size=5),
    meta=metadata,
    confidence=st.floats(min_value=0.0, max_value=1.0),
    created=timestamps,
    accesses=st.integers(0, 10_000),
)
def test_memory_json_round_trip(
    content: str,
    kind: MemoryType,
    source: MemorySource,
    tags: list[str],
    meta: dict[str, object],
    confidence: float,
    created: datetime,
    accesses: int,
) -> None:
    memory = Memory(
        id="6b0e4f1e-2f7a-4b8e-9d0c-1c1f5f0a9e21",
        namespace="acme/team",
        content=content,
        type=kind,
        metadata=meta or None,
        tags=tags,
        created_at=created,
        updated_at=created,
        accessed_at=created,
        access_count=accesses,
        confidence=confidence,
        source=source,
    )
    wire = json.loads(memory.model_dump_json())
    assert Memory.model_validate(wire) == memory
    for key in ("created_at", "updated_at", "accessed_at"):
        assert wire[key].endswith("Z")
    # Omitted-when-empty fields are absent, never null.
    assert ("tags" in wire) == bool(tags)
    assert ("metadata" in wire) == bool(meta)
    assert "relations" not in wire
    assert None not in wire.values()


@given(
    content=text,
    kind=st.sampled_from(["semantic", "episodic", "working", "", None]),
    source=st.sampled_from(["user", "extracted", "inferred", "imported", "", None]),
    tags=st.lists(tag, max_size=5),
    confidence=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
)
def test_create_input_defaults(
    content: str, kind: str | None, source: str | None, tags: list[str], confidence: float | None
) -> None:
    data = MemoryCreate.model_validate(
        {
            "namespace": "n",
            "content": content,
            "type": kind,
            "source": source,
            "tags": tags,
            "confidence": confidence,
        }
    )
    assert data.type == (MemoryType(kind) if kind else MemoryType.SEMANTIC)
    assert data.source == (MemorySource(source) if source else MemorySource.USER)
    assert data.confidence == (confidence if confidence else 1.0)
    assert data.tags == list(dict.fromkeys(tags))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"content": "x"}, "namespace"),
        ({"namespace": "n"}, "content"),
        ({"namespace": "n", "content": ""}, "content"),
        ({"namespace": "n", "content": "   "}, "content"),
        ({"namespace": "", "content": "x"}, "namespace"),
        ({"namespace": "a\x00b", "content": "x"}, "namespace"),
        ({"namespace": "a" * 256, "content": "x"}, "namespace"),
        ({"namespace": "n", "content": "x", "type": "procedural"}, "type"),
        ({"namespace": "n", "content": "x", "source": "system"}, "source"),
        ({"namespace": "n", "content": "x", "confidence": 1.5}, "confidence"),
        ({"namespace": "n", "content": "x", "confidence": -0.1}, "confidence"),
        ({"namespace": "n", "content": "x", "confidence": float("nan")}, "confidence"),
        ({"namespace": "n", "content": "x", "tags": [""]}, "tags"),
        ({"namespace": "n", "content": "x", "tags": "x"}, "tags"),
        ({"namespace": "n", "content": "x", "metadata": []}, "metadata"),
    ],
)
def test_create_input_rejects(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MemoryCreate.model_validate(payload)
    assert caught.value.errors()[0]["loc"][0] == field


def test_namespace_names_allow_the_contract_characters() -> None:
    for name in ("acme/team/alice", "Project_X.v2", "UPPER", "ünïcødé/名前"):
        assert MemoryCreate(namespace=name, content="x").namespace == name


def test_update_accepts_zero_confidence_and_rejects_blank_content() -> None:
    assert MemoryUpdate(confidence=0).confidence == 0
    with pytest.raises(ValidationError):
        MemoryUpdate(content="")
    with pytest.raises(ValidationError):
        MemoryUpdate(confidence=2)


def test_namespace_config_wire_shape() -> None:
    assert NamespaceConfig().model_dump(mode="json") == {"inherit_from_parent": False}
    config = NamespaceConfig(token_budget=2000, allowed_types=["working"])
    assert config.model_dump(mode="json") == {
        "token_budget": 2000,
        "allowed_types": ["working"],
        "inherit_from_parent": False,
    }
    with pytest.raises(ValidationError):
        NamespaceConfig.model_validate({"allowed_types": ["procedural"]})
    with pytest.raises(ValidationError):
        NamespaceConfig.model_validate({"custom_scoring": {"recency": -1}})
    with pytest.raises(ValidationError):
        NamespaceConfig.model_validate({"max_memories": -1})


def test_config_overlay_takes_unset_fields_from_parent() -> None:
    parent = NamespaceConfig(token_budget=1000, max_memories=5, custom_scoring={"a": 1, "b": 1})
    child = NamespaceConfig(max_memories=9, inherit_from_parent=True, custom_scoring={"b": 2})
    merged = child.overlay(parent)
    assert merged.token_budget == 1000
    assert merged.max_memories == 9
    assert merged.custom_scoring == {"a": 1, "b": 2}
    assert merged.inherit_from_parent is True


@given(name=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != ""))
def test_namespace_round_trip(name: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    namespace = Namespace(id="i", name=name, created_at=now, updated_at=now)
    wire = json.loads(namespace.model_dump_json())
    assert wire["config"] == {"inherit_from_parent": False}
    assert "parent" not in wire
    assert "template" not in wire
    assert Namespace.model_validate(wire) == namespace
