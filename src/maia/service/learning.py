"""Learning from conversations: memories extracted from a chat turn are stored once
(a repeat touches the memory it repeats), and a correction supersedes the fact it
corrects. The OpenAI-compatible proxy calls ``learn`` off the response path."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from maia.errors import MaiaError
from maia.models import (
    Memory,
    MemoryCreate,
    MemoryFilter,
    MemorySource,
    RelationCreate,
    RelationType,
    SearchRequest,
)
from maia.models.search import MAX_QUERY_CHARS
from maia.retrieval.index.vectors import Scope, Vector
from maia.retrieval.text import STOP_WORDS, normalise_for_dedupe
from maia.service.relations import RelationOps

log = logging.getLogger(__name__)

EXTRACTED_CONFIDENCE = 0.7
# Cosine similarity from which two texts may be the same memory (then their words must
# agree too: "lives in Berlin" and "works in Berlin" are 0.91 apart with MiniLM).
DUPLICATE_SIMILARITY = 0.9
# Cosine similarity between a correction's description of the old fact ("where the user
# lives") and a memory, from which that memory is the fact corrected. With MiniLM the
# right fact scores 0.6-0.8 and the nearest wrong ones 0.45-0.57.
SUPERSEDE_SIMILARITY = 0.6
NEIGHBOURS = 5  # stored memories compared with each new one
SUPERSEDE_CANDIDATES = 10  # memories ranked for each correction

_NEGATION = re.compile(r"\b(?:not|no|never|nor|neither|no longer)\b|n't\b", re.IGNORECASE)
_NOT_CONTENT = STOP_WORDS | {"user", "users"}


class Learnable(Protocol):
    """What ``learn`` needs of an extracted memory (``maia.proxy.extract.Extracted``)."""

    @property
    def content(self) -> str: ...

    @property
    def category(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def replaces(self) -> str | None: ...


@dataclass
class LearnResult:
    """What one ``learn`` call did: memories created, existing memories touched
    (repeats), ``(new, old)`` supersedes relations, and contents not stored."""

    created: list[str] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)
    superseded: list[tuple[str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def content_words(text: str) -> frozenset[str]:
    """The words that carry a memory's meaning: no function words, no "user", a plural
    or third-person "s" dropped ("prefers tea" and "prefer teas" agree)."""
    found: set[str] = set()
    for word in re.findall(r"[\w']+", text.lower()):
        word = word.removesuffix("'s").strip("'")
        if not word or word in _NOT_CONTENT:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return frozenset(found)


def is_duplicate(a: str, b: str, similarity: float) -> bool:
    """Whether two memory texts say the same thing: the same normalised text, or at
    least ``DUPLICATE_SIMILARITY`` alike with the same polarity and one's content words
    within the other's ("works at Google" / "works for Google"; not "has two kids" /
    "has three kids", nor "likes tea" / "doesn't like tea")."""
    if normalise_for_dedupe(a) == normalise_for_dedupe(b):
        return True
    if similarity < DUPLICATE_SIMILARITY:
        return False
    if bool(_NEGATION.search(a)) != bool(_NEGATION.search(b)):
        return False
    words_a, words_b = content_words(a), content_words(b)
    return words_a <= words_b or words_b <= words_a


@dataclass
class _Item:
    """One extracted memory on its way: its vector, and the memory that holds it."""

    extracted: Learnable
    vector: Vector
    memory_id: str | None = None
    repeated: bool = False  # the memory existed already
    applied: bool = False  # a repeated correction whose memory supersedes something already
    superseded_by: list[str] = field(default_factory=list)  # what hides the memory repeated
    data: MemoryCreate | None = None


class LearningOps(RelationOps):
    def learn(
        self,
        extracted: Sequence[Learnable],
        *,
        namespace: str,
        conversation_id: str | None = None,
    ) -> LearnResult:
        """Stores what was extracted from a conversation in ``namespace``.

        A memory that repeats one already stored (or one earlier in the batch) touches it
        instead of being stored again; a correction supersedes the fact it corrects. A
        bad item is logged and skipped: this never raises for one item.
        """
        result = LearnResult()
        unique: dict[str, Learnable] = {}
        for item in extracted:
            if item.content.strip():
                unique.setdefault(normalise_for_dedupe(item.content), item)
        if not unique:
            return result
        try:
            self._authorize(namespace)
            vectors = self._embed([e.content for e in unique.values()])
        except MaiaError as exc:
            log.warning("learning: nothing stored in %r: %s", namespace, exc)
            result.failed = [e.content for e in unique.values()]
            return result
        items = _distinct([_Item(e, v) for e, v in zip(unique.values(), vectors, strict=True)])
        # Looking for repeats and storing what is new are one step per namespace: two
        # replies of one conversation learned at once must not both store a fact.
        with self._locks("learn", self._tenant, namespace):
            self._find_repeats(items, namespace)
            repeats = list(dict.fromkeys(i.memory_id for i in items if i.memory_id is not None))
            if repeats:
                try:
                    self.touch(repeats)
                    result.touched = repeats
                except MaiaError as exc:
                    log.warning("learning: could not touch %d memories: %s", len(repeats), exc)
            self._store_new(items, namespace, conversation_id, result)
            self._supersede(items, namespace, result)
        return result

    def _find_repeats(self, items: Sequence[_Item], namespace: str) -> None:
        """Marks the items an existing memory already says. Superseded memories count
        too: a conversation replayed repeats facts it corrected later."""
        flt = MemoryFilter(namespace=namespace)
        scope = Scope(self._tenant, (namespace,))
        with self._store.read() as tx:
            for item in items:
                content = item.extracted.content
                near = self._engine.index.search(item.vector, scope, NEIGHBOURS)
                stored = tx.memories_by_seq(self._tenant, [seq for seq, _ in near], flt)
                candidates = [(stored[seq], sim) for seq, sim in near if seq in stored]
                # The same words under another model's vectors still count as a repeat.
                candidates += [
                    (hit.memory, 0.0) for hit in tx.search_text(self._tenant, content, flt, 10)
                ]
                for memory, similarity in candidates:
                    if is_duplicate(content, memory.content, similarity):
                        item.memory_id, item.repeated = memory.id, True
                        break
                if item.repeated and item.extracted.replaces and item.memory_id:
                    edges = tx.edges(
                        self._tenant,
                        [item.memory_id],
                        types=[RelationType.SUPERSEDES],
                        direction="both",
                    )
                    item.applied = any(e.source_id == item.memory_id for e in edges)
                    item.superseded_by = [
                        e.source_id for e in edges if e.target_id == item.memory_id
                    ]

    def _store_new(
        self,
        items: Sequence[_Item],
        namespace: str,
        conversation_id: str | None,
        result: LearnResult,
    ) -> None:
        """Creates the new memories through the normal path (quotas, grants, audit): all
        in one transaction, or one by one when the batch is refused."""
        new: list[_Item] = []
        for item in items:
            if item.repeated:
                continue
            try:
                item.data = _memory_create(item.extracted, namespace, conversation_id)
            except ValueError as exc:  # pydantic's ValidationError
                log.warning("learning: invalid extracted memory skipped: %s", exc)
                result.failed.append(item.extracted.content)
                continue
            new.append(item)
        if not new:
            return
        try:
            created = self.create_memories([i.data for i in new if i.data is not None])
        except MaiaError as exc:
            log.info("learning: batch of %d refused (%s); storing one by one", len(new), exc)
            created = []
            for item in new:
                try:
                    created += self.create_memories([item.data] if item.data else [])
                except MaiaError as one:
                    log.warning("learning: an extracted memory was not stored: %s", one)
                    result.failed.append(item.extracted.content)
                    item.data = None
        stored = iter(created)
        for item in new:
            if item.data is not None:
                item.memory_id = next(stored).id
                result.created.append(item.memory_id)

    def _supersede(self, items: Sequence[_Item], namespace: str, result: LearnResult) -> None:
        """Relates each correction to the fact it corrects: ``new -[supersedes]-> old``,
        which hides the old fact from search."""
        corrections = [i for i in items if i.extracted.replaces and i.memory_id is not None]
        if not corrections:
            return
        learned = {i.memory_id for i in items if i.memory_id is not None}
        try:
            descriptions = self._embed([i.extracted.replaces or "" for i in corrections])
        except MaiaError as exc:
            log.warning("learning: corrections not applied: %s", exc)
            return
        for item, description in zip(corrections, descriptions, strict=True):
            if item.applied:
                continue  # a correction repeated: the fact it corrected is hidden already
            try:
                self._revive(item)
                old = self._corrected(item, description, namespace, learned)
                if old is None:
                    continue
                self.relate(
                    item.memory_id or "",
                    RelationCreate(
                        target_id=old.id,
                        type=RelationType.SUPERSEDES,
                        metadata={"reason": "correction", "replaces": item.extracted.replaces},
                    ),
                )
                result.superseded.append((item.memory_id or "", old.id))
            except MaiaError as exc:
                log.warning("learning: a correction was not applied: %s", exc)

    def _corrected(
        self, item: _Item, description: Vector, namespace: str, learned: set[str]
    ) -> Memory | None:
        """The memory a correction corrects: the best match of its description and new
        content that is similar enough to the description, shares its words, is not
        superseded and was not learned in this same call."""
        replaces = item.extracted.replaces or ""
        query = f"{replaces} {item.extracted.content}"[:MAX_QUERY_CHARS]
        ranked = self._rank(
            SearchRequest(query=query, namespace=namespace, limit=SUPERSEDE_CANDIDATES),
            SUPERSEDE_CANDIDATES,
        )
        ranked = [r for r in ranked if r.memory.id not in learned]
        vectors = self._engine.index.vectors(r.key for r in ranked)
        wanted = content_words(replaces)
        best: tuple[float, Memory] | None = None
        for candidate in ranked:
            vector = vectors.get(candidate.key)
            if vector is None:
                continue
            similarity = float(vector @ description)
            content_similarity = float(vector @ item.vector)
            memory = candidate.memory
            if (
                similarity < SUPERSEDE_SIMILARITY
                or (wanted and not wanted & content_words(memory.content))
                or is_duplicate(item.extracted.content, memory.content, content_similarity)
            ):
                continue
            if best is None or similarity > best[0]:
                best = (similarity, memory)
        return None if best is None else best[1]

    def _revive(self, item: _Item) -> None:
        """A correction that restates a superseded fact ("actually, I moved back to
        Paris") makes it current again: what superseded it no longer does."""
        for newer in item.superseded_by:
            self.unrelate(newer, item.memory_id or "", [RelationType.SUPERSEDES])


def _distinct(items: list[_Item]) -> list[_Item]:
    """The batch without items that repeat an earlier one of the same batch."""
    kept: list[_Item] = []
    for item in items:
        if not any(
            is_duplicate(item.extracted.content, k.extracted.content, float(item.vector @ k.vector))
            for k in kept
        ):
            kept.append(item)
    return kept


def _memory_create(
    extracted: Learnable, namespace: str, conversation_id: str | None
) -> MemoryCreate:
    metadata: dict[str, Any] = {
        "extraction_category": extracted.category,
        "extraction_source": extracted.source,
    }
    if conversation_id:
        metadata["conversation_id"] = conversation_id
    return MemoryCreate.model_validate(
        {
            "namespace": namespace,
            "content": extracted.content,
            "type": extracted.type,
            "metadata": metadata,
            "confidence": EXTRACTED_CONFIDENCE,
            "source": MemorySource.EXTRACTED,
        }
    )
