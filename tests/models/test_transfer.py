"""The export format's records: parsing, validation messages, filters."""

from __future__ import annotations

import base64
import json
import struct

import pytest

from maia.models.transfer import (
    EmbeddingRecord,
    ExportFilter,
    MemoryRecord,
    RecordError,
    RelationRecord,
    decode,
    encode,
)

MEMORY = {
    "kind": "memory",
    "id": "m1",
    "namespace": "acme/team",
    "content": "Alice prefers green tea",
    "type": "semantic",
    "created_at": "2026-01-05T09:30:00Z",
    "updated_at": "2026-01-05T09:30:00Z",
    "accessed_at": "2026-01-05T09:30:00Z",
}


def line(**changes: object) -> str:
    return json.dumps(MEMORY | changes)


def test_a_memory_record_parses_with_defaults() -> None:
    record = decode(line())
    assert isinstance(record, MemoryRecord)
    memory = record.to_memory(token_count=5)
    assert (memory.access_count, memory.confidence, memory.tags, memory.metadata) == (
        0,
        1.0,
        [],
        None,
    )
    assert memory.token_count == 5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"content": "   "}, "memory.content: must not be blank"),
        ({"confidence": -0.1}, "memory.confidence: Input should be greater than or equal to 0"),
        ({"access_count": -1}, "memory.access_count: Input should be greater than or equal to 0"),
        ({"type": "dream"}, "memory.type: Input should be 'semantic'"),
        ({"tags": [""]}, "memory.tags.0: tags must not be empty strings"),
        ({"namespace": "a\x00b"}, "memory.namespace: must not contain control characters"),
        ({"created_at": "yesterday"}, "memory.created_at: Input should be a valid datetime"),
        ({"id": ""}, "memory.id: String should have at least 1 character"),
        (
            {"relations": [{"target_id": "x", "type": "related_to"}]},
            "memory.relations: relations are records of their own",
        ),
        ({"colour": "blue"}, "memory.colour: Extra inputs are not permitted"),
    ],
)
def test_memory_rules_name_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match="^" + message.replace(".", r"\.").replace("(", r"\(")):
        decode(line(**changes))


def test_missing_fields_are_counted() -> None:
    with pytest.raises(RecordError, match=r"memory\.id: Field required \(and 1 more\)"):
        decode(json.dumps({k: v for k, v in MEMORY.items() if k not in ("id", "content")}))


def test_relation_to_itself_is_refused() -> None:
    relation = {
        "kind": "relation",
        "source_id": "a",
        "target_id": "a",
        "type": "related_to",
        "weight": 1.0,
        "created_at": "2026-01-05T09:30:00Z",
    }
    with pytest.raises(RecordError, match="cannot relate to itself"):
        decode(json.dumps(relation))
    record = decode(json.dumps(relation | {"target_id": "b", "metadata": {}}))
    assert isinstance(record, RelationRecord)
    assert record.to_edge().metadata is None
    with pytest.raises(RecordError, match=r"relation\.weight: Input should be greater than 0"):
        decode(json.dumps(relation | {"target_id": "b", "weight": 0}))


def test_embedding_must_decode_to_dim_finite_values() -> None:
    raw = struct.pack("<3f", 0.5, 0.5, 0.5)
    vector = base64.b64encode(raw).decode()
    assert EmbeddingRecord(model="m", dim=3, vector=vector).raw() == raw
    with pytest.raises(RecordError, match="vector holds 3 values, dim says 4"):
        decode(line(embedding={"model": "m", "dim": 4, "vector": vector}))
    nan = base64.b64encode(struct.pack("<3f", 0.5, float("nan"), 0.5)).decode()
    with pytest.raises(RecordError, match="not finite"):
        decode(line(embedding={"model": "m", "dim": 3, "vector": nan}))


def test_encode_keeps_a_record_on_one_line() -> None:
    text = encode({"content": "a\nb\r\u2028c\u2029d\x00"})
    assert text.count("\n") == 1
    assert text.endswith("\n")
    assert json.loads(text) == {"content": "a\nb\r\u2028c\u2029d\x00"}


def test_filter_covers_names() -> None:
    assert ExportFilter().covers("anything")
    only = ExportFilter(namespace="acme")
    assert only.covers("acme")
    assert not only.covers("acme/team")
    below = ExportFilter(namespace="acme/", include_descendants=True)
    assert below.covers("acme/team/alice")
    assert not below.covers("acmeco")
    assert ExportFilter(namespace="").namespace is None
