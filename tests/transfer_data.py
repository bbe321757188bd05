"""A store's worth of varied records for the export, import and backup tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from maia import Maia
from maia.models import (
    MemoryCreate,
    MemorySource,
    MemoryType,
    MemoryUpdate,
    NamespaceConfig,
    NamespaceCreate,
    RelationCreate,
    RelationType,
)

T0 = datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=UTC)
# Text that must survive byte for byte: accents, emoji, right-to-left, CJK, a line and
# a paragraph separator (not line ends in JSON Lines), quotes, backslashes, controls.
ODD_TEXT = 'Zoë said “ok” 👍 — שלום 你好 \u2028 next\u2029 "q" \\ tab\tend\r\nline'


def populate(maia: Maia) -> dict[str, str]:
    """Namespaces (nested, with config), memories of every type and source with tags,
    metadata and unicode, same-instant batches, touched and updated memories, and
    relations of several types. Returns ids by name."""
    maia.create_namespace(
        NamespaceCreate(
            name="acme",
            config=NamespaceConfig(token_budget=900, custom_scoring={"vector": 2.0}),
        )
    )
    maia.create_namespace(
        NamespaceCreate(
            name="acme/team",
            config=NamespaceConfig(
                inherit_from_parent=True,
                allowed_types=[MemoryType.SEMANTIC, MemoryType.EPISODIC, MemoryType.WORKING],
            ),
        )
    )
    maia.create_namespace(NamespaceCreate(name="other", parent="acme", template="notes"))
    ids: dict[str, str] = {}
    ids["tea"] = maia.remember(
        "Alice prefers green tea",
        namespace="acme",
        tags=["preference", "drink"],
        metadata={"speaker": "Alice", "nested": {"list": [1, 2.5, None, True]}},
        created_at=T0,
    ).id
    ids["odd"] = maia.remember(
        ODD_TEXT,
        namespace="acme/team",
        type=MemoryType.EPISODIC,
        tags=["ünïcode", "emoji 👍"],
        confidence=0.42,
        source=MemorySource.EXTRACTED,
        created_at=T0 + timedelta(minutes=1),
    ).id
    # One batch: every memory has the same created_at; order comes from insertion.
    batch = maia.create_memories(
        [
            MemoryCreate(
                namespace="acme/team",
                content=f"Standup note {i}: shipped the exporter",
                type=MemoryType.WORKING,
                source=MemorySource.INFERRED,
                created_at=T0 + timedelta(hours=1),
            )
            for i in range(3)
        ]
    )
    ids.update({f"note{i}": m.id for i, m in enumerate(batch)})
    ids["imported"] = maia.remember(
        "Bob lives in Lisbon",
        namespace="other",
        source=MemorySource.IMPORTED,
        created_at=T0 + timedelta(days=1),
    ).id
    ids["orphan"] = maia.remember(
        "A memory whose namespace has no record", namespace="loose/ends"
    ).id
    ids["newer"] = maia.remember("Alice now prefers mint tea", namespace="acme").id
    maia.update_memory(ids["tea"], MemoryUpdate(tags=["preference"], confidence=0.9))
    maia.touch([ids["tea"], ids["odd"]])
    maia.touch([ids["tea"]])
    maia.relate(ids["newer"], RelationCreate(target_id=ids["tea"], type=RelationType.SUPERSEDES))
    maia.relate(
        ids["note0"],
        RelationCreate(
            target_id=ids["odd"], type=RelationType.PART_OF, weight=0.3, metadata={"why": "é"}
        ),
    )
    maia.relate(ids["note0"], RelationCreate(target_id=ids["odd"], type=RelationType.RELATED_TO))
    maia.relate(ids["imported"], RelationCreate(target_id=ids["tea"]))
    return ids


def comparable(lines: list[str]) -> list[str]:
    """An export without the header's ``exported_at``, the one field two exports of the
    same records may differ in."""
    header = json.loads(lines[0])
    header.pop("exported_at")
    return [json.dumps(header), *lines[1:]]


def records(lines: list[str], kind: str) -> list[dict[str, object]]:
    found = [json.loads(line) for line in lines]
    return [r for r in found if r["kind"] == kind]
