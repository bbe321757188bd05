"""Export and import through the façade, on real SQLite files."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from maia import InvalidInput, Maia, Settings
from maia.models import (
    Memory,
    MemoryCreate,
    MemoryFilter,
    NamespaceCreate,
    Page,
    RelationCreate,
)
from maia.models.transfer import ExportFilter
from tests.transfer_data import ODD_TEXT, T0, comparable, populate, records

OpenStore = Callable[[str], Maia]


@pytest.fixture
def open_store(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[OpenStore]:
    """Opens more stores next to the ``maia`` fixture's, closed at the end."""
    opened: list[Maia] = []

    def open_(name: str) -> Maia:
        opened.append(Maia.open(settings=make_settings(data_dir=tmp_path / name)))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def everything(maia: Maia) -> list[Memory]:
    return maia.list_memories(MemoryFilter(), Page(limit=1000))


def test_round_trip_into_an_empty_store_is_byte_identical(
    maia: Maia, open_store: OpenStore
) -> None:
    populate(maia)
    first = list(maia.export_lines())
    copy = open_store("copy")
    summary = copy.import_records(first, on_conflict="overwrite")
    assert comparable(list(copy.export_lines())) == comparable(first)
    assert (summary.memories.created, summary.relations.created) == (8, 4)
    # The fresh store's own default namespace is replaced by the exported one.
    assert (summary.namespaces.created, summary.namespaces.overwritten) == (3, 1)
    assert summary.failed == 0
    assert summary.problems == []


def test_export_keeps_every_field(maia: Maia) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines())
    header = json.loads(lines[0])
    assert header["kind"] == "header"
    assert header["format_version"] == 1
    assert (header["embedding_model"], header["embedding_dim"]) == ("hashing-384-v1", 384)
    assert header["tenant"] == "system"
    memories = {r["id"]: r for r in records(lines, "memory")}
    tea = memories[ids["tea"]]
    assert tea["access_count"] == 2
    assert tea["confidence"] == 0.9
    assert tea["tags"] == ["preference"]
    assert tea["metadata"] == {"speaker": "Alice", "nested": {"list": [1, 2.5, None, True]}}
    assert tea["created_at"] == "2026-01-05T09:30:00.123456Z"
    assert tea["updated_at"] != tea["created_at"]
    assert memories[ids["odd"]]["content"] == ODD_TEXT
    assert memories[ids["odd"]]["source"] == "extracted"
    assert {r["type"] for r in memories.values()} == {"semantic", "episodic", "working"}
    assert all("embedding" not in r for r in memories.values())
    # Each record is exactly one line, even with U+2028 and CR LF in the content.
    assert all(line.count("\n") == 1 and line.endswith("\n") for line in lines)
    assert json.loads(lines[-1]) == {"kind": "end", "namespaces": 4, "memories": 8, "relations": 4}


def test_export_order_is_namespaces_memories_relations(maia: Maia) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines())
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds == ["header"] + ["namespace"] * 4 + ["memory"] * 8 + ["relation"] * 4 + ["end"]
    names = [r["name"] for r in records(lines, "namespace")]
    assert names == ["default", "acme", "acme/team", "other"]
    memory_ids = [r["id"] for r in records(lines, "memory")]
    # Oldest first; the batch's shared instant keeps its insertion order.
    assert memory_ids[:5] == [ids["tea"], ids["odd"], ids["note0"], ids["note1"], ids["note2"]]
    edges = records(lines, "relation")
    assert [(e["created_at"], e["source_id"]) for e in edges] == sorted(
        (e["created_at"], e["source_id"]) for e in edges
    )


def test_export_filters(maia: Maia) -> None:
    ids = populate(maia)

    def exported(**filters: object) -> tuple[list[object], list[object]]:
        lines = list(maia.export_lines(ExportFilter.model_validate(filters)))
        names = [r["name"] for r in records(lines, "namespace")]
        return names, [r["id"] for r in records(lines, "memory")]

    names, memory_ids = exported(namespace="acme")
    assert names == ["acme"]
    assert set(memory_ids) == {ids["tea"], ids["newer"]}
    names, memory_ids = exported(namespace="acme", include_descendants=True)
    assert names == ["acme", "acme/team"]
    assert len(memory_ids) == 6
    _, memory_ids = exported(
        created_after=T0 + timedelta(minutes=1), created_before=T0 + timedelta(days=1)
    )
    assert memory_ids == [ids["odd"], ids["note0"], ids["note1"], ids["note2"]]
    # Relations travel only when both ends are exported.
    lines = list(maia.export_lines(ExportFilter(namespace="acme")))
    assert [(r["source_id"], r["type"]) for r in records(lines, "relation")] == [
        (ids["newer"], "supersedes")
    ]
    assert json.loads(lines[-1])["relations"] == 1


def test_import_twice_changes_nothing(maia: Maia, open_store: OpenStore) -> None:
    populate(maia)
    lines = list(maia.export_lines())
    copy = open_store("copy")
    copy.import_records(lines, on_conflict="overwrite")
    before = [m.model_dump() for m in everything(copy)]
    for policy in ("skip", "overwrite"):
        again = copy.import_records(lines, on_conflict=policy)
        assert again.namespaces.unchanged == 4
        assert again.memories.unchanged == 8
        assert again.relations.unchanged == 4
        assert again.namespaces.created == again.namespaces.overwritten == 0
        assert again.memories.created == again.memories.overwritten == 0
        assert again.embedded == 0
    assert [m.model_dump() for m in everything(copy)] == before


def test_dry_run_writes_nothing(maia: Maia, open_store: OpenStore) -> None:
    populate(maia)
    lines = list(maia.export_lines())
    copy = open_store("copy")
    before = copy.export_lines()
    baseline = comparable(list(before))
    summary = copy.import_records(lines, dry_run=True, on_conflict="overwrite")
    assert summary.dry_run
    assert (summary.memories.created, summary.relations.created) == (8, 4)
    assert summary.embedded == 8
    assert comparable(list(copy.export_lines())) == baseline
    assert copy.count_memories() == 0
    assert len(copy.engine.index) == 0


def test_skip_keeps_and_overwrite_replaces(maia: Maia, open_store: OpenStore) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines())
    copy = open_store("copy")
    copy.import_records(lines)
    # The file says something else about one memory: words, namespace, access count.
    edited = []
    for line in lines:
        record = json.loads(line)
        if record.get("id") == ids["imported"]:
            record.update(content="Bob moved to Porto", namespace="moved", access_count=7)
        edited.append(json.dumps(record, ensure_ascii=False) + "\n")
    skipped = copy.import_records(edited, on_conflict="skip")
    assert (skipped.memories.skipped, skipped.memories.unchanged) == (1, 7)
    assert copy.get_memory(ids["imported"]).content == "Bob lives in Lisbon"
    replaced = copy.import_records(edited, on_conflict="overwrite")
    assert (replaced.memories.overwritten, replaced.embedded) == (1, 1)
    memory = copy.get_memory(ids["imported"])
    assert (memory.content, memory.namespace, memory.access_count) == (
        "Bob moved to Porto",
        "moved",
        7,
    )
    # Found by its new words in its new namespace, and its relations are kept.
    assert copy.recall("Porto", namespace="moved")[0].memory.id == ids["imported"]
    assert copy.recall("Lisbon", namespace="other") == []
    assert [e.target_id for e in copy.relations(ids["imported"])] == [ids["tea"]]


def test_bad_line_rejects_the_whole_import(maia: Maia, open_store: OpenStore) -> None:
    populate(maia)
    lines = list(maia.export_lines())
    broken = json.loads(lines[7])
    broken["confidence"] = 1.5
    bad = [*lines[:7], json.dumps(broken) + "\n", *lines[8:]]
    copy = open_store("copy")
    with pytest.raises(InvalidInput, match=r"line 8: memory\.confidence: .*less than or equal"):
        copy.import_records(bad)
    assert copy.count_memories() == 0
    assert copy.list_namespaces() == [copy.get_namespace("default")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # Valid JSON that no store can hold: refused with the rest, nothing written.
        ("content", "half a pair \ud800", r"line 8: text must be valid Unicode"),
        ("tags", ["ok", "\udfff"], r"line 8: text must be valid Unicode"),
        ("access_count", 2**70, r"line 8: memory\.access_count: .*less than or equal"),
    ],
)
def test_values_a_store_cannot_hold_reject_the_whole_import(
    maia: Maia, open_store: OpenStore, field: str, value: object, message: str
) -> None:
    populate(maia)
    lines = list(maia.export_lines())
    broken = json.loads(lines[7])
    broken[field] = value
    bad = [*lines[:7], json.dumps(broken) + "\n", *lines[8:]]
    copy = open_store("copy")
    with pytest.raises(InvalidInput, match=message):
        copy.import_records(bad)
    assert copy.count_memories() == 0
    assert copy.list_namespaces() == [copy.get_namespace("default")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ls: [*ls[:3], "{not json\n", *ls[3:]], r"line 4: malformed JSON"),
        (lambda ls: [*ls[:3], '{"kind": "memo"}\n', *ls[3:]], r"line 4: kind: must be one of"),
        (lambda ls: [*ls[:3], "[1, 2]\n", *ls[3:]], r"line 4: a record must be a JSON object"),
        (lambda ls: ls[1:], r"line 1: the first record must be the header"),
        (lambda ls: ls[:-1], r"line 18: the file ends without its end record"),
        (lambda ls: [*ls, ls[-1]], r"line 19: a record after the end record"),
        (lambda ls: [*ls[:6], ls[5], *ls[6:]], r"line 7: memory id \S+ appears twice"),
        (lambda ls: [ls[0], ls[6], *ls[1:6], *ls[7:]], r"line 3: a namespace record out of order"),
        (
            lambda ls: [*ls[:-1], '{"kind":"end","namespaces":4,"memories":9,"relations":4}\n'],
            r"line 18: end: the file holds 4 namespaces, 8 memories",
        ),
        (lambda ls: [], r"line 1: the file is empty"),
    ],
)
def test_malformed_files_name_the_line(
    maia: Maia,
    open_store: OpenStore,
    change: Callable[[list[str]], list[str]],
    message: str,
) -> None:
    populate(maia)
    lines = list(maia.export_lines())
    copy = open_store("copy")
    with pytest.raises(InvalidInput, match=message):
        copy.import_records(change(lines))
    assert copy.count_memories() == 0


def test_unknown_fields_and_newer_formats_are_refused(maia: Maia, open_store: OpenStore) -> None:
    maia.remember("x")
    lines = list(maia.export_lines())
    memory = json.loads(lines[2])
    memory["expires_at"] = "2030-01-01T00:00:00Z"
    copy = open_store("copy")
    with pytest.raises(InvalidInput, match=r"line 3: memory\.expires_at: Extra inputs"):
        copy.import_records([*lines[:2], json.dumps(memory), *lines[3:]])
    header = json.loads(lines[0]) | {"format_version": 2}
    with pytest.raises(InvalidInput, match="format version 2 is newer"):
        copy.import_records([json.dumps(header), *lines[1:]])


def test_unknown_config_fields_of_a_namespace_are_refused(
    maia: Maia, open_store: OpenStore
) -> None:
    lines = list(maia.export_lines())
    namespace = json.loads(lines[1])
    namespace["config"]["future_field"] = 7
    copy = open_store("copy")
    with pytest.raises(InvalidInput, match=r"line 2: namespace\.config\.future_field: Extra"):
        copy.import_records([lines[0], json.dumps(namespace), *lines[2:]])


def test_an_imported_namespace_is_matched_by_name_not_by_id(
    maia: Maia, open_store: OpenStore
) -> None:
    copy = open_store("copy")
    bystander = copy.create_namespace(NamespaceCreate(name="bystander"))
    # A record named like the bystander's id: a new namespace, not a conflict with it.
    maia.create_namespace(NamespaceCreate(name=bystander.id))
    summary = copy.import_records(list(maia.export_lines()), on_conflict="overwrite")
    assert summary.namespaces.failed == 0
    assert copy.get_namespace("bystander") == bystander
    assert copy.find_namespace(bystander.id) == bystander  # by id first, as paths are
    assert bystander.id in {n.name for n in copy.list_namespaces()}


def test_reads_a_file_with_crlf_and_blank_lines(
    maia: Maia, open_store: OpenStore, tmp_path: Path
) -> None:
    populate(maia)
    lines = list(maia.export_lines())
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\r\n".join(line.rstrip("\n").encode() for line in lines) + b"\r\n\r\n")
    copy = open_store("copy")
    assert copy.import_records(path).memories.created == 8
    assert copy.get_memories([json.loads(lines[6])["id"]])[0].content == ODD_TEXT
    with pytest.raises(InvalidInput, match="file not found"):
        copy.import_records(tmp_path / "missing.jsonl")
    with pytest.raises(InvalidInput, match="on_conflict"):
        copy.import_records(path, on_conflict="merge")


def test_embeddings_are_reused_when_the_model_matches(maia: Maia, open_store: OpenStore) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines(ExportFilter(with_embeddings=True)))
    embedded = records(lines, "memory")
    assert all(r["embedding"]["model"] == "hashing-384-v1" for r in embedded)  # type: ignore[index]
    copy = open_store("copy")
    summary = copy.import_records(lines, on_conflict="overwrite")
    assert (summary.reused_embeddings, summary.embedded) == (8, 0)
    again = list(copy.export_lines(ExportFilter(with_embeddings=True)))
    assert comparable(again) == comparable(lines)
    assert copy.recall("green tea", namespace="acme")[0].memory.id in {ids["tea"], ids["newer"]}


def test_other_models_embeddings_are_replaced(maia: Maia, open_store: OpenStore) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines())
    foreign = []
    for line in lines:
        record = json.loads(line)
        if record["kind"] == "header":
            record.update(embedding_model="text-embedding-3-small", embedding_dim=8)
        if record["kind"] == "memory":
            vector = (np.ones(8) / np.sqrt(8)).astype("<f4")
            record["embedding"] = {
                "model": "text-embedding-3-small",
                "dim": 8,
                "vector": base64.b64encode(vector.tobytes()).decode(),
            }
        foreign.append(json.dumps(record, ensure_ascii=False) + "\n")
    copy = open_store("copy")
    summary = copy.import_records(foreign)
    assert (summary.embedded, summary.reused_embeddings) == (8, 0)
    with copy.store.read() as tx:
        assert tx.vector_counts() == {"hashing-384-v1": 8}
    assert len(copy.engine.index) == 8
    hits = copy.recall("Lisbon", namespace="other")
    assert hits[0].memory.id == ids["imported"]
    assert copy.recall("shipped the exporter", namespace="acme/team")[0].memory.content.startswith(
        "Standup note"
    )


def test_bad_embedding_is_a_validation_error(maia: Maia, open_store: OpenStore) -> None:
    maia.remember("x")
    lines = list(maia.export_lines(ExportFilter(with_embeddings=True)))
    memory = json.loads(lines[2])
    memory["embedding"]["dim"] = 5
    copy = open_store("copy")
    with pytest.raises(InvalidInput, match=r"line 3: memory\.embedding: .*dim says 5"):
        copy.import_records([*lines[:2], json.dumps(memory), *lines[3:]])
    memory["embedding"].update(dim=384, vector="***")
    with pytest.raises(InvalidInput, match=r"line 3: memory\.embedding: .*not base64"):
        copy.import_records([*lines[:2], json.dumps(memory), *lines[3:]])


def test_ids_of_another_tenant_fail_and_are_reported(maia: Maia) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines())
    summary = maia.for_tenant("acme-corp").import_records(lines)
    # Ids are unique across tenants: nothing of the source's can be taken over.
    assert summary.memories.failed == 8
    assert summary.relations.failed == 4
    assert summary.namespaces.failed == 4
    assert any(ids["tea"] in p and "another tenant" in p for p in summary.problems)
    assert maia.for_tenant("acme-corp").count_memories() == 0


def test_new_ids_copy_another_tenants_export(maia: Maia) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines(ExportFilter(with_embeddings=True)))
    acme = maia.for_tenant("acme-corp")
    summary = acme.import_records(lines, new_ids=True)
    assert summary.new_ids
    assert summary.failed == 0, summary.problems
    assert (summary.memories.created, summary.relations.created) == (8, 4)
    assert summary.reused_embeddings == 8  # the file's vectors, under the new ids
    copied = everything(acme)
    assert len(copied) == 8
    assert not {m.id for m in copied} & set(ids.values())
    # Relations join the copies, not the originals.
    by_content = {m.content: m for m in copied}
    tea = by_content[maia.get_memory(ids["tea"]).content]
    related = acme.related(tea.id)
    assert related
    assert {r.memory.id for r in related} <= {m.id for m in copied}
    # Searches find the copies as they find the originals; the source keeps its own.
    found = acme.recall(tea.content, namespace=tea.namespace)
    original = maia.recall(tea.content, namespace=tea.namespace)
    assert found
    assert {r.memory.id for r in found} <= {m.id for m in copied}
    assert [r.memory.content for r in found] == [r.memory.content for r in original]
    assert {m.id for m in everything(maia)} >= set(ids.values())
    # The same file again finds what the first import wrote.
    again = acme.import_records(lines, new_ids=True)
    assert (again.memories.unchanged, again.relations.unchanged) == (8, 4)
    assert acme.count_memories() == 8
    # Another tenant gets ids of its own.
    other = maia.for_tenant("globex").import_records(lines, new_ids=True)
    assert other.failed == 0
    assert not {m.id for m in everything(maia.for_tenant("globex"))} & {m.id for m in copied}


def test_relations_need_both_memories(maia: Maia, open_store: OpenStore) -> None:
    ids = populate(maia)
    lines = list(maia.export_lines())
    without_tea = [line for line in lines if json.loads(line).get("id") != ids["tea"]]
    end = json.loads(without_tea[-1]) | {"memories": 7}
    copy = open_store("copy")
    summary = copy.import_records([*without_tea[:-1], json.dumps(end)])
    assert (summary.relations.created, summary.relations.failed) == (2, 2)
    assert all(f"memory not found: {ids['tea']}" in p for p in summary.problems)
    # A second import that brings the memory completes the relations.
    assert copy.import_records(lines).relations.created == 2


def test_export_is_a_snapshot(maia: Maia) -> None:
    populate(maia)
    lines = maia.export_lines()
    head = [next(lines) for _ in range(3)]  # inside the read transaction now
    maia.remember("written during the export")
    rest = list(lines)
    assert json.loads(rest[-1])["memories"] == 8
    assert len(head) == 3


def test_many_records_cross_batch_boundaries(maia: Maia, open_store: OpenStore) -> None:
    created = maia.create_memories(
        [MemoryCreate(namespace="bulk", content=f"bulk memory number {i}") for i in range(700)]
    )
    for a, b in zip(created[::50], created[25::50], strict=True):
        maia.relate(a.id, RelationCreate(target_id=b.id))
    lines = list(maia.export_lines(ExportFilter(with_embeddings=True)))
    copy = open_store("copy")
    steps: list[tuple[str, int, int | None]] = []
    summary = copy.import_records(
        lines, on_conflict="overwrite", progress=lambda *step: steps.append(step)
    )
    assert (summary.memories.created, summary.relations.created) == (700, 14)
    assert steps[-1] == ("importing", 715, 715)
    assert len([s for s in steps if s[0] == "importing"]) > 3
    assert comparable(list(copy.export_lines(ExportFilter(with_embeddings=True)))) == comparable(
        lines
    )
