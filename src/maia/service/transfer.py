"""Export and import of a tenant's namespaces, memories and relations (JSON Lines),
and backup of the whole store. The format is in ``maia.models.transfer``."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from maia._version import __version__
from maia.errors import Forbidden, InvalidInput
from maia.models import Memory, MemoryFilter, Namespace, Page
from maia.models.transfer import (
    FORMAT_VERSION,
    MAX_PROBLEMS,
    ConflictPolicy,
    EndRecord,
    ExportFilter,
    HeaderRecord,
    ImportSummary,
    KindSummary,
    MemoryRecord,
    NamespaceRecord,
    Progress,
    RecordError,
    RelationRecord,
    check_lines,
    decode,
    encode,
)
from maia.service.admin import AdminOps
from maia.store.base import StoreReader, StoreWriter
from maia.store.sqlite.backup import restore_database

EXPORT_BATCH = 500  # memories whose embeddings are read together
IMPORT_BATCH = 256  # records written per transaction (and embedded together)

Lines = Callable[[], Iterator[tuple[int, str]]]
Vector = npt.NDArray[np.float32]
R = TypeVar("R")  # a record type of the import file


class TransferOps(AdminOps):
    # -- export --------------------------------------------------------------------------

    def export_lines(self, flt: ExportFilter | None = None) -> Generator[str, None, None]:
        """This tenant's records as JSON Lines (docs/export.md), each line ending in
        ``\\n``, from one consistent snapshot.

        The generator holds a read transaction until it is exhausted or closed: consume
        it in one thread.
        """
        self._require_whole_tenant("export")
        flt = flt or ExportFilter()
        self._record("data.export", filter=flt.model_dump(mode="json", exclude_none=True))
        return self._export(flt)

    def _export(self, flt: ExportFilter) -> Generator[str, None, None]:
        embedder = self._engine.embedder
        header = HeaderRecord(
            format_version=FORMAT_VERSION,
            maia_version=__version__,
            tenant=self._tenant,
            embedding_model=embedder.model_id,
            embedding_dim=embedder.dim,
            exported_at=self._clock(),
            filters=flt,
        )
        yield encode(header.model_dump(mode="json"))
        memories = MemoryFilter(
            namespace=flt.namespace,
            include_descendants=flt.include_descendants,
            created_after=flt.created_after,
            created_before=flt.created_before,
        )
        exported: list[str] = []
        with self._store.read() as tx:
            namespaces = self._namespaces_to_export(tx, flt)
            for namespace in namespaces:
                yield encode({"kind": "namespace", **namespace.model_dump(mode="json")})
            batch: list[Memory] = []
            for memory in tx.iter_memories(self._tenant, memories):
                batch.append(memory)
                if len(batch) == EXPORT_BATCH:
                    yield from self._memory_lines(tx, batch, flt.with_embeddings)
                    exported.extend(m.id for m in batch)
                    batch = []
            yield from self._memory_lines(tx, batch, flt.with_embeddings)
            exported.extend(m.id for m in batch)
            # Relations between exported memories; the store's order is per chunk of ids.
            inside = set(exported)
            edges = [e for e in tx.edges(self._tenant, exported) if e.target_id in inside]
        edges.sort(key=lambda e: (e.created_at, e.source_id, e.target_id, e.type.value))
        for edge in edges:
            yield encode({"kind": "relation", **edge.model_dump(mode="json")})
        end = EndRecord(
            kind="end", namespaces=len(namespaces), memories=len(exported), relations=len(edges)
        )
        yield encode(end.model_dump(mode="json"))

    def _namespaces_to_export(self, tx: StoreReader, flt: ExportFilter) -> list[Namespace]:
        found: list[Namespace] = []
        offset = 0
        while True:
            page = tx.list_namespaces(
                self._tenant, Page(limit=1000, offset=offset), prefix=flt.namespace
            )
            found.extend(n for n in page if flt.covers(n.name))
            if len(page) < 1000:
                return found
            offset += 1000

    def _memory_lines(
        self, tx: StoreReader, batch: Sequence[Memory], with_embeddings: bool
    ) -> Iterator[str]:
        vectors = tx.vectors_of(self._tenant, [m.id for m in batch]) if with_embeddings else {}
        for memory in batch:
            record: dict[str, Any] = {
                "kind": "memory",
                **memory.model_dump(mode="json", exclude={"relations"}),
            }
            row = vectors.get(memory.id)
            if row is not None:
                record["embedding"] = {
                    "model": row.model_id,
                    "dim": len(row.vector) // 4,
                    "vector": base64.b64encode(row.vector).decode("ascii"),
                }
            yield encode(record)

    # -- import --------------------------------------------------------------------------

    def import_records(
        self,
        source: str | os.PathLike[str] | Sequence[str],
        *,
        on_conflict: ConflictPolicy | str = ConflictPolicy.SKIP,
        dry_run: bool = False,
        new_ids: bool = False,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Imports an export into this tenant: ``source`` is a file path or the lines.

        The whole file is validated first; any bad line raises ``InvalidInput`` naming
        the line and field, and nothing is written. Then records are written in batches
        (one transaction each), keeping ids, timestamps and access counts. A record
        whose id exists is left alone when identical (``unchanged``), else skipped or
        overwritten per ``on_conflict``. Memories are re-embedded unless the file
        carries an embedding of this server's model. Namespace rules (``allowed_types``,
        ``max_memories``) and ``max_content_chars`` are not applied: this restores
        what was stored. ``dry_run`` reports what would happen and writes nothing.

        ``new_ids`` gives namespaces, memories and relations ids of this tenant's own
        instead of the file's (ids are unique across tenants): a copy of another
        tenant's export. A new id is derived from this tenant and the file's id, so
        importing the file again finds what the first import wrote.
        """
        try:
            policy = ConflictPolicy(on_conflict)
        except ValueError:
            raise InvalidInput(
                f"invalid on_conflict: must be skip or overwrite, got {on_conflict!r}",
                field="on_conflict",
            ) from None
        self._require_whole_tenant("import")
        lines = _numbered_lines(source)
        total, problems = check_lines(lines(), progress)
        if problems:
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise InvalidInput(
                f"invalid import: {problems[0]}{more}; nothing was imported",
                field="source",
                details="; ".join(problems),
            )
        importer = _Importer(
            self, ImportSummary(dry_run=dry_run, on_conflict=policy, new_ids=new_ids)
        )
        done = 0
        if progress is not None:
            progress("importing", 0, total)
        renamed = _Renamer(self._tenant) if new_ids else None
        for kind, batch in _batches(lines()):
            if renamed is not None:
                batch = [(number, renamed(record)) for number, record in batch]
            if kind == "namespace":
                importer.namespaces(batch)
            elif kind == "memory":
                importer.memories(batch)
            else:
                importer.relations(batch)
            done += len(batch)
            if progress is not None:
                progress("importing", done, total)
        if not dry_run:
            self._record(
                "data.import",
                on_conflict=policy.value,
                new_ids=new_ids,
                records=total,
                failed=importer.summary.failed,
            )
        return importer.summary

    def _require_whole_tenant(self, action: str) -> None:
        if self._principal.restricted:
            raise Forbidden(f"access denied: {action} needs a key for every namespace")

    # -- backup --------------------------------------------------------------------------

    def backup(self, dest: str | os.PathLike[str]) -> None:
        """Writes a consistent copy of the whole store (every tenant) to the file
        ``dest`` while it keeps serving; ``maia restore`` puts it back."""
        self._store.backup(Path(dest))
        self._record("data.backup", file=Path(dest).name)

    @staticmethod
    def restore(
        source: str | os.PathLike[str], data_dir: str | os.PathLike[str], *, force: bool = False
    ) -> Path:
        """Makes the backup ``source`` (checked first with ``PRAGMA integrity_check``) the
        database of ``data_dir``; returns its path. A non-empty ``data_dir`` is refused
        unless ``force``. No store may be open on ``data_dir`` meanwhile."""
        return restore_database(Path(source), Path(data_dir), force=force)


def _numbered_lines(source: str | os.PathLike[str] | Sequence[str]) -> Lines:
    """A way to read the source twice (validate, then write), as (line number, text)."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise InvalidInput(f"invalid source: file not found: {path}", field="source")

        def read_file() -> Iterator[tuple[int, str]]:
            # Only "\n" ends a line: U+2028 and friends may appear inside JSON strings.
            with path.open(encoding="utf-8-sig", newline="\n") as handle:
                try:
                    yield from enumerate(handle, start=1)
                except UnicodeDecodeError as exc:
                    raise InvalidInput(
                        f"invalid import: {path} is not UTF-8 text: {exc}", field="source"
                    ) from exc

        return read_file
    lines = list(source)
    return lambda: iter(enumerate(lines, start=1))


def _batches(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[str, list[tuple[int, Any]]]]:
    """Consecutive records of one kind, at most IMPORT_BATCH at a time (header and end
    left out). Lines were validated, so decoding succeeds unless the file changed."""
    kind = ""
    batch: list[tuple[int, Any]] = []
    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = decode(line)
        except RecordError as exc:
            raise InvalidInput(
                f"invalid import: line {number}: {exc} (the file changed while importing)",
                field="source",
            ) from exc
        if record.kind in ("header", "end"):
            continue
        if batch and (record.kind != kind or len(batch) == IMPORT_BATCH):
            yield kind, batch
            batch = []
        kind = record.kind
        batch.append((number, record))
    if batch:
        yield kind, batch


class _Renamer:
    """The ids a tenant gives copied records: a UUID derived from the tenant and the
    file's id (the same file gives the same ids; another tenant, other ids)."""

    def __init__(self, tenant: str) -> None:
        self._base = uuid.uuid5(_COPIED_IDS, tenant)

    def id(self, old: str) -> str:
        return str(uuid.uuid5(self._base, old))

    def __call__(self, record: Any) -> Any:
        if isinstance(record, RelationRecord):
            ends = {"source_id": self.id(record.source_id), "target_id": self.id(record.target_id)}
            return record.model_copy(update=ends)
        return record.model_copy(update={"id": self.id(record.id)})


_COPIED_IDS = uuid.UUID("6d616961-0000-5000-8000-636f70696573")  # "maia", "copies"


@dataclass
class _MemoryPlan:
    number: int
    record: MemoryRecord
    action: str  # a KindSummary field: created, overwritten, unchanged, skipped, failed
    vector: Vector | None = None


@dataclass
class _Importer:
    """Applies validated batches for one tenant, counting what happens."""

    ops: TransferOps
    summary: ImportSummary
    # Memory ids that exist once the memories are in (or would, in a dry run).
    present: set[str] = field(default_factory=set)

    @property
    def tenant(self) -> str:
        return self.ops.tenant

    def _count(self, counts: KindSummary, action: str, number: int, why: str = "") -> None:
        setattr(counts, action, getattr(counts, action) + 1)
        if why and len(self.summary.problems) < MAX_PROBLEMS:
            self.summary.problems.append(f"line {number}: {why}")

    # -- namespaces ----------------------------------------------------------------------

    def namespaces(self, batch: list[tuple[int, NamespaceRecord]]) -> None:
        self._in_transaction(self._namespaces, batch)

    def _in_transaction(
        self,
        step: Callable[[StoreReader, StoreWriter | None, list[tuple[int, R]]], None],
        batch: list[tuple[int, R]],
    ) -> None:
        """Runs ``step`` in a write transaction, or a read one (no writer) in a dry run."""
        if self.summary.dry_run:
            with self.ops.store.read() as reader:
                step(reader, None, batch)
        else:
            with self.ops.store.write() as writer:
                step(writer, writer, batch)

    def _namespaces(
        self,
        reader: StoreReader,
        writer: StoreWriter | None,
        batch: list[tuple[int, NamespaceRecord]],
    ) -> None:
        owners = reader.namespace_owners([r.id for _, r in batch])
        for number, record in batch:
            owner = owners.get(record.id)
            if owner not in (None, self.tenant):
                why = f"namespace id {record.id} belongs to another tenant"
                self._count(self.summary.namespaces, "failed", number, why)
                continue
            wanted = record.to_namespace()
            matches = [
                reader.get_namespace(self.tenant, record.id) if owner is not None else None,
                reader.get_namespace_by_name(self.tenant, record.name),
            ]
            found = {n.id: n for n in matches if n is not None}
            if not found:
                action = "created"
            elif list(found.values()) == [wanted]:
                action = "unchanged"
            elif self.summary.on_conflict is ConflictPolicy.SKIP:
                action = "skipped"
            else:
                action = "overwritten"
            if writer is not None and action in ("created", "overwritten"):
                # The record's id and name both win: drop what holds either, then insert.
                for existing in found.values():
                    writer.delete_namespace(self.tenant, existing.id)
                writer.insert_namespace(self.tenant, wanted)
            self._count(self.summary.namespaces, action, number)

    # -- memories ------------------------------------------------------------------------

    def memories(self, batch: list[tuple[int, MemoryRecord]]) -> None:
        with self.ops.store.read() as reader:
            plans = self._plan_memories(reader, batch)
        if not self.summary.dry_run:
            self._embed(plans)
            with self.ops.engine.updating():
                with self.ops.store.write() as writer:
                    # Decided again under the write lock; what changed since is rare, and
                    # a memory that now needs a vector gets one here.
                    plans = self._plan_memories(writer, batch, previous=plans)
                    self._embed(plans)
                    written = self._write_memories(writer, plans)
                if written:
                    self.ops.engine.indexed(
                        [(seq, self.tenant, memory.namespace) for seq, memory, _ in written],
                        np.vstack([vector for _, _, vector in written]),
                    )
                    self.ops.engine.written(self.tenant, [(seq, m) for seq, m, _ in written])
        for plan in plans:
            why = (
                f"memory id {plan.record.id} belongs to another tenant"
                if plan.action == "failed"
                else ""
            )
            self._count(self.summary.memories, plan.action, plan.number, why)
            if plan.action != "failed":
                self.present.add(plan.record.id)
            if plan.action in ("created", "overwritten"):
                if _usable(plan.record, self.ops):
                    self.summary.reused_embeddings += 1
                else:
                    self.summary.embedded += 1

    def _plan_memories(
        self,
        reader: StoreReader,
        batch: list[tuple[int, MemoryRecord]],
        previous: list[_MemoryPlan] | None = None,
    ) -> list[_MemoryPlan]:
        ids = [r.id for _, r in batch]
        owners = reader.memory_owners(ids)
        current = {m.id: m for m in reader.get_memories(self.tenant, ids)}
        plans: list[_MemoryPlan] = []
        for i, (number, record) in enumerate(batch):
            owner = owners.get(record.id)
            if owner not in (None, self.tenant):
                action = "failed"
            elif record.id not in current:
                action = "created"
            elif _same(current[record.id], record):
                action = "unchanged"
            elif self.summary.on_conflict is ConflictPolicy.SKIP:
                action = "skipped"
            else:
                action = "overwritten"
            vector = previous[i].vector if previous is not None else None
            plans.append(_MemoryPlan(number, record, action, vector))
        return plans

    def _embed(self, plans: list[_MemoryPlan]) -> None:
        """Gives every memory to be written its vector: the file's, or a new one."""
        todo: list[_MemoryPlan] = []
        for plan in plans:
            if plan.action not in ("created", "overwritten") or plan.vector is not None:
                continue
            if _usable(plan.record, self.ops) and plan.record.embedding is not None:
                raw = plan.record.embedding.raw()
                plan.vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
            else:
                todo.append(plan)
        if todo:
            vectors = self.ops.engine.embed_contents([p.record.content for p in todo])
            for plan, vector in zip(todo, vectors, strict=True):
                plan.vector = vector.astype(np.float32)

    def _write_memories(
        self, writer: StoreWriter, plans: list[_MemoryPlan]
    ) -> list[tuple[int, Memory, Vector]]:
        """Inserts created and replaces overwritten memories, with their embeddings."""
        tokens = self.ops.engine.tokens
        written: list[tuple[int, Memory, Vector]] = []
        created = [p for p in plans if p.action == "created"]
        memories = [p.record.to_memory(tokens.count(p.record.content)) for p in created]
        seqs = writer.insert_memories(self.tenant, memories)
        for seq, memory, plan in zip(seqs, memories, created, strict=True):
            written.append((seq, memory, _vector(plan)))
        for plan in plans:
            if plan.action == "overwritten":
                memory = plan.record.to_memory(tokens.count(plan.record.content))
                replaced = writer.replace_memory(self.tenant, memory)
                if replaced is not None:
                    written.append((replaced, memory, _vector(plan)))
        if written:
            writer.put_vectors(
                self.ops.engine.vector_rows(
                    [seq for seq, _, _ in written], np.vstack([v for _, _, v in written])
                )
            )
        return written

    # -- relations -----------------------------------------------------------------------

    def relations(self, batch: list[tuple[int, RelationRecord]]) -> None:
        self._in_transaction(self._relations, batch)

    def _relations(
        self,
        reader: StoreReader,
        writer: StoreWriter | None,
        batch: list[tuple[int, RelationRecord]],
    ) -> None:
        ends = list(dict.fromkeys(i for _, r in batch for i in (r.source_id, r.target_id)))
        unknown = [i for i in ends if i not in self.present]
        present = self.present | {m.id for m in reader.get_memories(self.tenant, unknown)}
        sources = list(dict.fromkeys(r.source_id for _, r in batch))
        existing = {
            (e.source_id, e.target_id, e.type): e for e in reader.edges(self.tenant, sources)
        }
        for number, record in batch:
            missing = [i for i in (record.source_id, record.target_id) if i not in present]
            if missing:
                why = f"relation {record.source_id} -> {record.target_id}: memory not found: "
                self._count(self.summary.relations, "failed", number, why + missing[0])
                continue
            edge = record.to_edge()
            current = existing.get((edge.source_id, edge.target_id, edge.type))
            if current is None:
                action = "created"
            elif current == edge:
                action = "unchanged"
            elif self.summary.on_conflict is ConflictPolicy.SKIP:
                action = "skipped"
            else:
                action = "overwritten"
            if writer is not None and action in ("created", "overwritten"):
                writer.put_edge(self.tenant, edge)
            self._count(self.summary.relations, action, number)


def _same(stored: Memory, record: MemoryRecord) -> bool:
    """Whether the record says exactly what is stored (relations and counts of tokens
    aside: they are kept elsewhere or derived)."""
    return stored.model_dump(exclude={"relations"}) == record.to_memory(None).model_dump(
        exclude={"relations"}
    )


def _usable(record: MemoryRecord, ops: TransferOps) -> bool:
    """Whether the record carries an embedding of this server's model and dimension."""
    embedder = ops.engine.embedder
    embedding = record.embedding
    return (
        embedding is not None
        and embedding.model == embedder.model_id
        and embedding.dim == embedder.dim
    )


def _vector(plan: _MemoryPlan) -> Vector:
    if plan.vector is None:  # _embed gave every memory to be written a vector
        raise RuntimeError(f"no vector for memory {plan.record.id}")
    return plan.vector
