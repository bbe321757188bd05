"""The export format: JSON Lines, one record per line, each with a ``kind``.

A file is a ``header``, then ``namespace``, ``memory`` and ``relation`` records in that
order, then an ``end`` record with the counts (a missing one means a truncated file).
Records reuse the API's objects (a memory record is the API's Memory with ``kind``), so
new fields travel without a format change. Parsing (``decode``) and the whole-file
checks (``check_lines``) are pure. See docs/export.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maia.models.common import (
    UNPAIRED_SURROGATES,
    NamespaceName,
    OptionalUtcDatetime,
    Tags,
    UtcDatetime,
    has_lone_surrogate,
)
from maia.models.memory import Edge, Memory
from maia.models.namespace import Namespace, NamespaceConfig

FORMAT_VERSION = 1
MEDIA_TYPE = "application/x-ndjson"
KINDS = ("header", "namespace", "memory", "relation", "end")
MAX_INVALID = 20  # a file with this many bad lines is not read further
MAX_PROBLEMS = 100  # failed records listed in an import summary

# progress(phase, done, total): phase "validating" (total None) or "importing".
Progress = Callable[[str, int, int | None], None]


class ConflictPolicy(StrEnum):
    """What an import does with a record whose id already exists (and differs)."""

    SKIP = "skip"
    OVERWRITE = "overwrite"


class ExportFilter(BaseModel):
    """Which records an export holds. Dates apply to memories (and so to relations);
    namespace records are selected by name only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    namespace: str | None = None
    include_descendants: bool = False
    created_after: OptionalUtcDatetime = None
    created_before: OptionalUtcDatetime = None
    with_embeddings: bool = False

    @field_validator("namespace")
    @classmethod
    def _empty_is_all(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("created_after", "created_before", mode="before")
    @classmethod
    def _timestamp_text(cls, value: Any) -> Any:
        # Pydantic would read a number as Unix seconds; the contract's timestamps are text.
        if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
            raise ValueError("must be an ISO 8601 timestamp such as 2026-02-01T10:00:00Z")
        return value

    def covers(self, name: str) -> bool:
        """Whether the namespace ``name`` is selected."""
        if self.namespace is None or name == self.namespace:
            return True
        return self.include_descendants and name.startswith(self.namespace.rstrip("/") + "/")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Record(BaseModel):
    # Unknown fields are refused: a newer MAIA's field must not be dropped silently.
    model_config = ConfigDict(extra="forbid")


class HeaderRecord(BaseModel):
    """First line: what wrote the file, and with which embedding model."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["header"] = "header"
    format_version: int = Field(ge=1)
    maia_version: str
    tenant: str
    embedding_model: str
    embedding_dim: int = Field(ge=1)
    exported_at: UtcDatetime
    filters: ExportFilter = Field(default_factory=ExportFilter)

    @field_validator("format_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > FORMAT_VERSION:
            raise ValueError(
                f"format version {value} is newer than this MAIA reads ({FORMAT_VERSION}); "
                "upgrade MAIA"
            )
        return value


class _RecordConfig(NamespaceConfig):
    # The API's config ignores unknown fields; a record's must not drop them either.
    model_config = ConfigDict(extra="forbid")


class NamespaceRecord(_Record, Namespace):
    kind: Literal["namespace"]
    id: str = Field(min_length=1)
    name: NamespaceName
    config: _RecordConfig = Field(default_factory=_RecordConfig)

    def to_namespace(self) -> Namespace:
        fields = {f: getattr(self, f) for f in Namespace.model_fields}
        # Back to the API's class: models of different classes never compare equal.
        fields["config"] = NamespaceConfig.model_construct(
            **{f: getattr(self.config, f) for f in NamespaceConfig.model_fields}
        )
        return Namespace.model_construct(**fields)


class EmbeddingRecord(_Record):
    """A stored embedding: base64 of ``dim`` little-endian float32 values."""

    model: str = Field(min_length=1)
    dim: int = Field(ge=1, le=16384)
    vector: str

    @model_validator(mode="after")
    def _decodes(self) -> EmbeddingRecord:
        raw = self.raw()
        if len(raw) != 4 * self.dim:
            raise ValueError(f"vector holds {len(raw) // 4} values, dim says {self.dim}")
        if not all(math.isfinite(x) for x in struct.unpack(f"<{self.dim}f", raw)):
            raise ValueError("vector holds a value that is not finite")
        return self

    def raw(self) -> bytes:
        try:
            return base64.b64decode(self.vector, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"vector is not base64: {exc}") from exc


class MemoryRecord(_Record, Memory):
    kind: Literal["memory"]
    id: str = Field(min_length=1)
    namespace: NamespaceName
    tags: Tags = Field(default_factory=list)
    access_count: int = Field(0, ge=0, le=2**63 - 1)  # what a store's integer holds
    confidence: float = Field(1.0, ge=0.0, le=1.0)
    embedding: EmbeddingRecord | None = None

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("relations")
    @classmethod
    def _no_relations(cls, value: list[Any]) -> list[Any]:
        if value:
            raise ValueError("relations are records of their own (kind: relation)")
        return value

    def to_memory(self, token_count: int | None) -> Memory:
        fields = {f: getattr(self, f) for f in Memory.model_fields}
        fields.update(metadata=self.metadata or None, relations=[], token_count=token_count)
        return Memory.model_construct(**fields)


class RelationRecord(_Record, Edge):
    kind: Literal["relation"]
    source_id: str = Field(min_length=1)
    target_id: str = Field(min_length=1)
    weight: float = Field(gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _not_to_itself(self) -> RelationRecord:
        if self.source_id == self.target_id:
            raise ValueError("a memory cannot relate to itself")
        return self

    def to_edge(self) -> Edge:
        fields = {f: getattr(self, f) for f in Edge.model_fields}
        return Edge.model_construct(**{**fields, "metadata": self.metadata or None})


class EndRecord(_Record):
    """Last line: how many records of each kind came before it."""

    kind: Literal["end"]
    namespaces: int = Field(ge=0)
    memories: int = Field(ge=0)
    relations: int = Field(ge=0)


Record = HeaderRecord | NamespaceRecord | MemoryRecord | RelationRecord | EndRecord
_MODELS: dict[str, type[BaseModel]] = {
    "header": HeaderRecord,
    "namespace": NamespaceRecord,
    "memory": MemoryRecord,
    "relation": RelationRecord,
    "end": EndRecord,
}


class RecordError(ValueError):
    """A line that is not a valid record; the message names the field and the rule."""


def encode(record: dict[str, Any]) -> str:
    """One line of the file (compact JSON, UTF-8 text as is, ``\\n`` at the end).
    Control characters are escaped, so a record never spans lines."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def decode(line: str) -> Record:
    """Parses and validates one line; raises ``RecordError``."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"malformed JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise RecordError("a record must be a JSON object")
    if "\\u" in line and has_lone_surrogate(data):  # JSON can spell "\ud800"
        raise RecordError(UNPAIRED_SURROGATES)
    kind = data.get("kind")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise RecordError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    try:
        record: Record = model.model_validate(data)  # type: ignore[assignment]
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        text = f"{kind}.{where}: {message}" if where else f"{kind}: {message}"
        raise RecordError(text + more) from exc
    return record


def check_lines(
    lines: Iterable[tuple[int, str]], progress: Progress | None = None
) -> tuple[int, list[str]]:
    """Checks a whole file, given as (line number, text): every record, the order, ids
    given twice, the end record and its counts. Returns how many namespace, memory and
    relation records it holds, and the problems found (``line N: ...``; reading stops
    after MAX_INVALID)."""
    problems: list[str] = []
    counts = dict.fromkeys(KINDS, 0)
    seen: dict[str, set[Any]] = {k: set() for k in ("ns_id", "ns_name", "memory", "relation")}
    stage = -1
    last = 0
    end: EndRecord | None = None
    for number, line in lines:
        if not line.strip():
            continue
        last = number
        if progress is not None and number % 1000 == 0:
            progress("validating", number, None)
        if end is not None:
            problems.append(f"line {number}: a record after the end record")
            break
        try:
            record = decode(line)
        except RecordError as exc:
            problems.append(f"line {number}: {exc}")
            if stage < 0:
                break  # no header: nothing else is worth reading
            if len(problems) >= MAX_INVALID:
                break
            continue
        position = KINDS.index(record.kind)
        if stage < 0 and record.kind != "header":
            problems.append(f"line {number}: the first record must be the header")
            break
        if position < stage or (record.kind == "header" and stage >= 0):
            problems.append(
                f"line {number}: a {record.kind} record out of order (the order is "
                "header, namespaces, memories, relations, end)"
            )
        stage = max(stage, position)
        counts[record.kind] += 1
        duplicate = _duplicate(record, seen)
        if duplicate:
            problems.append(f"line {number}: {duplicate}")
        if isinstance(record, EndRecord):
            end = record
            found = (counts["namespace"], counts["memory"], counts["relation"])
            said = (end.namespaces, end.memories, end.relations)
            if found != said:
                problems.append(
                    f"line {number}: end: the file holds {found[0]} namespaces, {found[1]} "
                    f"memories and {found[2]} relations, the end record says {said[0]}, "
                    f"{said[1]} and {said[2]}"
                )
        if len(problems) >= MAX_INVALID:
            break
    if stage < 0 and not problems:
        problems.append("line 1: the file is empty (expected the header record)")
    elif end is None and not problems:
        problems.append(f"line {last + 1}: the file ends without its end record (is it truncated?)")
    return counts["namespace"] + counts["memory"] + counts["relation"], problems


def _duplicate(record: Record, seen: dict[str, set[Any]]) -> str | None:
    keys: list[tuple[str, Any, str]] = []
    if isinstance(record, NamespaceRecord):
        keys = [("ns_id", record.id, "namespace id"), ("ns_name", record.name, "namespace")]
    elif isinstance(record, MemoryRecord):
        keys = [("memory", record.id, "memory id")]
    elif isinstance(record, RelationRecord):
        key = (record.source_id, record.target_id, record.type.value)
        keys = [("relation", key, "relation")]
    for bucket, key, label in keys:
        if key in seen[bucket]:
            shown = f"{key[0]} -[{key[2]}]-> {key[1]}" if bucket == "relation" else key
            return f"{label} {shown} appears twice"
        seen[bucket].add(key)
    return None


class KindSummary(BaseModel):
    """What an import did (or, in a dry run, would do) with one kind of record."""

    created: int = 0
    overwritten: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0


class ImportSummary(BaseModel):
    dry_run: bool
    on_conflict: ConflictPolicy
    new_ids: bool = False
    namespaces: KindSummary = Field(default_factory=KindSummary)
    memories: KindSummary = Field(default_factory=KindSummary)
    relations: KindSummary = Field(default_factory=KindSummary)
    # Memories embedded by this server (no embedding in the file, or another model's).
    embedded: int = 0
    # Memories whose embedding came from the file (same model and dimension).
    reused_embeddings: int = 0
    # Why records failed, ``line N: reason``; at most MAX_PROBLEMS.
    problems: list[str] = Field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.namespaces.failed + self.memories.failed + self.relations.failed
