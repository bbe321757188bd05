"""The ``entity`` signal: how much a memory is about the entities a query names.

A memory *spoken by* one of them (first-hand) counts fully, one that only mentions it
counts half. A name that addresses someone ("Thanks, Maria!", "Hey John, ...") is who
the line is said to, not what it is about, so it is no mention.

The same memories come back across searches about the same people, so a matcher is
kept per set of entities, and remembers its scores per memory text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from maia.retrieval.text import ADDRESS_WORDS, split_attribution, words

ADDRESS_LOOKBACK = 40  # characters before a name searched for what opens an address
MATCHERS = 64  # entity sets whose matcher is kept
PATTERNS = 1024  # entity sets whose compiled patterns are kept (small; no score cache)
SCORES = 16384  # memory texts whose score each matcher remembers
ATTRIBUTIONS = 16384  # memories whose speaker split is remembered

# A memory's speaker and words, split once across searches (the same memories come back).
attribution = lru_cache(maxsize=ATTRIBUTIONS)(split_attribution)


class EntityMatcher:
    """Scores memory texts against one query's entities (not thread-safe to build,
    safe to call: the score cache is an ``lru_cache``)."""

    def __init__(self, entities: tuple[str, ...]) -> None:
        self._entities = [(e.lower(), words(e)) for e in entities]
        # The entities' words as one pattern: a text is scanned once, not split into words.
        parts = tuple(sorted({p for _, ps in self._entities for p in ps}, key=len, reverse=True))
        self._mentions, self._address_before, self._address_after = _patterns(parts)
        # For ASCII text, the same matches found by substring search (case folded as
        # the pattern folds ASCII): several times faster than the pattern.
        self._ascii_parts = [p.lower() for p in parts] if all(p.isascii() for p in parts) else None
        self.score = lru_cache(maxsize=SCORES)(self._score)

    def _addressed(self, text: str, start: int, end: int) -> bool:
        """Whether the name at ``text[start:end]`` is a vocative: between an opening
        (start, a punctuation mark, "hey", "thanks", ...) and a punctuation mark or the end."""
        return (
            self._address_after.match(text, end) is not None
            and self._address_before.search(text, max(0, start - ADDRESS_LOOKBACK), start)
            is not None
        )

    def _mentioned(self, text: str) -> set[str]:
        """The entity words ``text`` mentions (lower case), vocatives left out."""
        assert self._mentions is not None
        if self._ascii_parts is not None and text.isascii():
            spans = _ascii_mentions(text.lower(), self._ascii_parts)
        else:
            spans = [(m.group().lower(), m.start(), m.end()) for m in self._mentions.finditer(text)]
        mentioned: set[str] = set()
        for name, start, end in spans:
            if name not in mentioned and not self._addressed(text, start, end):
                mentioned.add(name)
        return mentioned

    def _score(self, content: str) -> float:
        """The share of the entities the memory is about, in [0, 1]."""
        if not self._entities or self._mentions is None:
            return 0.0
        split = attribution(content)
        speaker = (split.speaker or "").lower()
        mentioned: set[str] | None = None
        total = 0.0
        for entity, parts in self._entities:
            if entity == speaker:
                total += 1.0
                continue
            if mentioned is None:
                mentioned = self._mentioned(split.text)
            if parts and all(p in mentioned for p in parts):
                total += 0.5
        return total / len(self._entities)


@lru_cache(maxsize=PATTERNS)
def _patterns(
    parts: tuple[str, ...],
) -> tuple[re.Pattern[str] | None, re.Pattern[str], re.Pattern[str]]:
    """The mention pattern of some entity words, and what opens and closes an address
    around a mention (checked around each mention only: a pattern over the whole text
    would cost more). Kept across matchers: compiling them cost more than a search's
    entity scores when a process meets many sets of names."""
    names = "|".join(map(re.escape, parts))
    address = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ADDRESS_WORDS)
    mentions = re.compile(r"\b(?:" + names + r")\b", re.IGNORECASE) if parts else None
    before = re.compile(
        rf"(?:^|[,;:!?.]|\b(?:{address})\b,?)(?:\s*\b(?:{names})\b)*\s*$", re.IGNORECASE
    )
    after = re.compile(rf"(?:\s+(?:{names})\b)*\s*(?:[,;:!?.]|$)", re.IGNORECASE)
    return mentions, before, after


def _ascii_mentions(lowered: str, parts: list[str]) -> list[tuple[str, int, int]]:
    """Where ``parts`` (lower-case words) stand as whole words in ``lowered`` (ASCII):
    what ``\\b(?:parts)\\b`` finds, as (part, start, end). Two whole words cannot
    overlap, so each part is looked for on its own."""
    found: list[tuple[str, int, int]] = []
    for part in parts:
        start = lowered.find(part)
        while start >= 0:
            end = start + len(part)
            if (start == 0 or not _is_word(lowered[start - 1])) and (
                end == len(lowered) or not _is_word(lowered[end])
            ):
                found.append((part, start, end))
            start = lowered.find(part, start + 1)
    return found


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@lru_cache(maxsize=MATCHERS)
def entity_matcher(entities: tuple[str, ...]) -> EntityMatcher:
    return EntityMatcher(entities)
