"""Context assembly: scored memories packed into a token budget, placed where models
attend best. Pure: candidates and options in, an ordered block out.

Zones: **critical** first (~15% of the budget; score >= 0.7), **middle** (~65%), and
**recency** last (~20%; working memories, and memories from the last 24 h scoring
>= 0.3), oldest to newest so the newest ends the block. A zone's unused budget flows
to the others. Near-duplicates are dropped; a memory that does not fit whole, even with
the budget other zones left unused, may be cut at a sentence (else word, else token)
boundary and is flagged ``truncated``. The whole output (system prompt, separators,
decoration, escaping) never exceeds the budget.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from maia.retrieval.tokens import TokenCounter, cut_at_sentence, cut_to_fit, splits_at_spaces

SEPARATOR = "\n\n---\n\n"
TRUNCATED_SUFFIX = " [truncated]"


class Zone(StrEnum):
    CRITICAL = "critical"
    MIDDLE = "middle"
    RECENCY = "recency"


class ContextFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    XML = "xml"


@dataclass(frozen=True, slots=True)
class Piece:
    """A candidate memory with its relevance and its stored token count."""

    id: str
    content: str
    type: str
    score: float
    tokens: int
    created_at: datetime
    accessed_at: datetime
    vector: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True)
class PackOptions:
    budget: int
    now: datetime
    system_prompt: str | None = None
    include_scores: bool = False
    # Each memory's creation date (on the calendar of ``now``'s offset): for questions of when.
    include_dates: bool = False
    min_score: float = 0.0
    format: ContextFormat = ContextFormat.TEXT
    critical_share: float = 0.15
    middle_share: float = 0.65
    recency_share: float = 0.20
    critical_score: float = 0.7
    recency_score: float = 0.3
    recency_window: timedelta = timedelta(hours=24)
    duplicate_similarity: float = 0.95
    min_cut_tokens: int = 50

    @property
    def recent_since(self) -> datetime:
        """Start of the recency window. A client may send any reference time: within
        the window of year 1 it is the earliest time there is, not an OverflowError."""
        try:
            return self.now - self.recency_window
        except OverflowError:
            return datetime.min.replace(tzinfo=self.now.tzinfo)


class Placed(NamedTuple):
    """A memory as placed (a named tuple: a context places dozens, at a third of a
    frozen dataclass's cost)."""

    id: str
    content: str
    type: str
    score: float
    position: Zone
    token_count: int
    truncated: bool
    created_at: datetime | None = None  # kept to render its date (``include_dates``)


@dataclass(frozen=True, slots=True)
class ZoneStats:
    critical_used: int
    critical_budget: int
    middle_used: int
    middle_budget: int
    recency_used: int
    recency_budget: int


@dataclass(frozen=True, slots=True)
class Packed:
    content: str
    placed: tuple[Placed, ...]
    token_count: int
    budget: int
    truncated: bool  # a candidate that qualified was left out
    zone_stats: ZoneStats
    duplicates_dropped: int = 0
    budget_too_small: bool = False  # not even the fixed parts left room for a memory


def zone_of(piece: Piece, options: PackOptions) -> Zone:
    """The zone a memory belongs in (``pack`` applies the same rule inline)."""
    if piece.type == "working":
        return Zone.RECENCY
    if piece.score >= options.critical_score:
        return Zone.CRITICAL
    recent = options.recent_since
    if piece.score >= options.recency_score and max(piece.created_at, piece.accessed_at) >= recent:
        return Zone.RECENCY
    return Zone.MIDDLE


def normalised_text(text: str) -> str:
    """Case and spacing folded: the same text typed twice compares equal. (Closer
    paraphrases are caught by the embedding check.)"""
    if text.isascii():  # NFKC leaves ASCII as it is, and casefold is lower
        # Most memories are spaced by single spaces only (ASCII's other whitespace is
        # not printable): then folding needs no list of words.
        if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text.lower()
    else:
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split())


@lru_cache(maxsize=4096)
def _count(counter: Hashable, text: str) -> int:
    """Token counts of decoration strings, which repeat across calls."""
    return cast(TokenCounter, counter).count(text) if text else 0


class _Renderer:
    """Decoration per format, with its token cost (counted once per distinct string)."""

    def __init__(self, options: PackOptions, counter: TokenCounter) -> None:
        self.options = options
        self.counter = counter
        self.xml = options.format is ContextFormat.XML
        # Text and markdown decoration depends only on the percentage shown and the cut
        # (and the date, counted apart): its cost and its strings by percentage, for
        # whole memories and for cut ones.
        self.dates = options.include_dates
        shown = (options.format, options.include_scores)
        self._plain_costs = _PLAIN_COSTS.setdefault((counter.name, *shown), ({}, {}))
        self._plain_parts = _PLAIN_PARTS.setdefault(shown, ({}, {}))
        # An xml memory's tag cost, by (id, zone, cut); the closing tag's and the
        # separator's cost (escaping can add a token or two) is part of it.
        self._tag_costs: dict[tuple[str, Zone, bool], int] = {}
        self._closing = 0
        # Whether an xml tag costs the sum of its parts: '<memory' and each attribute
        # (' id="…"', ' type="…"', …), each starting with a space after a quote.
        self._parted = splits_at_spaces(counter)
        if self.xml:
            self._closing = self.tokens("</memory>") + self.tokens(self.separator) + 2
            self._opening = self.tokens("<memory")
            self._fixed_costs: dict[tuple[Zone, bool], int] = {}
            self._types: dict[str, int] = {}
            self._ids = _ID_TOKENS.setdefault(counter.name, {})
        # A lower bound on any memory's decoration_tokens: memories that cannot fit even
        # so are skipped uncounted. With xml tags counted by parts, without slack: the
        # fixed parts, a token at least for each other attribute, and the id attribute's
        # count where an earlier call took it (``counted_ids``). Otherwise a bare
        # stand-in's, less a token or two of slack.
        self.counted_ids: dict[str, int] = {}
        if self.xml and self._parted:
            fixed = min(self._fixed_tag_cost(zone, cut) for zone in Zone for cut in (False, True))
            self.floor = fixed + 1 + int(options.include_scores) + int(self.dates)
            self.counted_ids = self._ids
        else:
            bare = Placed("", "", "", 0.0, Zone.MIDDLE, 0, False)
            prefix, suffix = self.decoration(bare, Zone.MIDDLE, False)
            self.floor = max(self.tokens(prefix) + self.tokens(suffix) - 2, 0)

    def tokens(self, text: str) -> int:
        return _count(cast(Hashable, self.counter), text)

    @property
    def separator(self) -> str:
        return SEPARATOR if self.options.format is ContextFormat.TEXT else "\n"

    def frame(self) -> tuple[str, str]:
        """Text before the first and after the last memory (system prompt included)."""
        prompt = self.options.system_prompt or ""
        lead = prompt + self.separator if prompt else ""
        if self.options.format is ContextFormat.MARKDOWN:
            return lead + "## Relevant memories\n\n", ""
        if self.options.format is ContextFormat.XML:
            return lead + "<memories>\n", "\n</memories>"
        return lead, ""

    def decoration(self, piece: Piece | Placed, zone: Zone, truncated: bool) -> tuple[str, str]:
        """The text before and after a memory (text and markdown: without its date,
        which ``dated`` puts between the two)."""
        suffix = TRUNCATED_SUFFIX if truncated else ""
        percent = min(int(piece.score * 100), 100)
        if self.options.format is ContextFormat.XML:
            date = self._date_attribute(piece)
            score = _score_attribute(piece.score) if self.options.include_scores else ""
            tag = (
                f"<memory{_id_attribute(piece.id)}{_type_attribute(piece.type)}"
                f"{date}{score}{_POSITIONS[zone, truncated]}"
            )
            return tag, "</memory>"
        if self.options.format is ContextFormat.MARKDOWN:
            score = f" *(relevance {percent}%)*" if self.options.include_scores else ""
            return "- ", suffix + score
        prefix = f"[relevance: {percent}%] " if self.options.include_scores else ""
        return prefix, suffix

    def block(self, item: Placed) -> str:
        """One placed memory as rendered, decoration included."""
        if self.xml:
            tag = self.decoration(item, item.position, item.truncated)[0]
            return tag + html.escape(item.content, quote=False) + "</memory>"
        # Computed even when not shown, as decoration() does (and raises as it does).
        percent = min(int(item.score * 100), 100)
        parts = self._plain_parts[item.truncated]
        found = parts.get(percent)
        if found is None:
            found = parts[percent] = self.decoration(item, item.position, item.truncated)
        return found[0] + self.dated(item) + self.body(item.content) + found[1]

    def dated(self, piece: Piece | Placed) -> str:
        """``[2023-05-08] ``: the date a memory was written, before its text (text and
        markdown formats, ``include_dates``)."""
        if not self.dates or piece.created_at is None:
            return ""
        return f"[{_date(piece.created_at, self.options.now)}] "

    def body(self, content: str) -> str:
        if self.options.format is ContextFormat.XML:
            return html.escape(content, quote=False)
        if self.options.format is ContextFormat.MARKDOWN:
            return content.replace("\n", "\n  ")
        return content

    def body_tokens(self, content: str, tokens: int) -> int:
        """Tokens of ``content`` as rendered: escaping (xml) and indentation (markdown)
        can cost more than the raw text's ``tokens``, so changed text is counted again."""
        fmt = self.options.format
        if fmt is ContextFormat.TEXT:
            return tokens
        if fmt is ContextFormat.XML:
            changed = "&" in content or "<" in content or ">" in content
        else:
            changed = "\n" in content
        return self.counter.count(self.body(content)) if changed else tokens

    def _date_attribute(self, piece: Piece | Placed) -> str:
        if not self.dates or piece.created_at is None:
            return ""
        return f' date="{_date(piece.created_at, self.options.now)}"'

    def _tag_cost(self, piece: Piece, zone: Zone, truncated: bool) -> int:
        """An xml memory's opening tag's tokens, with the closing tag and separator
        (counted once per call). Where the encoding allows, the sum of its parts':
        they repeat (an id across calls, the rest across memories) where the whole
        tag, score included, is new for each memory and query."""
        key = (piece.id, zone, truncated)
        found = self._tag_costs.get(key)
        if found is None:
            if self._parted:
                found = self._fixed_tag_cost(zone, truncated) + self._id_tokens(piece.id)
                found += self._type_tokens(piece.type)
                if self.dates:
                    found += self.tokens(self._date_attribute(piece))
                if self.options.include_scores:
                    found += self.tokens(_score_attribute(piece.score))
            else:
                found = self.tokens(self.decoration(piece, zone, truncated)[0]) + self._closing
            self._tag_costs[key] = found
        return found

    def _fixed_tag_cost(self, zone: Zone, truncated: bool) -> int:
        """The parts of an xml memory that depend only on its zone and cut."""
        found = self._fixed_costs.get((zone, truncated))
        if found is None:
            position = self.tokens(_POSITIONS[zone, truncated])
            found = self._fixed_costs[zone, truncated] = self._opening + position + self._closing
        return found

    def _id_tokens(self, ident: str) -> int:
        """Tokens of an xml tag's id attribute (kept across calls: the same memories
        come back)."""
        found = self._ids.get(ident)
        if found is None:
            if len(self._ids) >= _MAX_IDS:
                self._ids.clear()
            found = self._ids[ident] = self.counter.count(_id_attribute(ident))
        return found

    def _type_tokens(self, kind: str) -> int:
        found = self._types.get(kind)
        if found is None:
            found = self._types[kind] = self.tokens(_type_attribute(kind))
        return found

    def decoration_tokens(self, piece: Piece, zone: Zone, truncated: bool) -> int:
        """Tokens one memory adds besides its text: decoration and separator."""
        if self.xml:  # the tag names the memory: counted once per call
            return self._tag_cost(piece, zone, truncated)
        # The same for every memory with this percentage.
        percent = min(int(piece.score * 100), 100) if self.options.include_scores else 0
        costs = self._plain_costs[truncated]
        found = costs.get(percent)
        if found is None:
            prefix, suffix = self.decoration(piece, zone, truncated)
            found = self.tokens(prefix) + self.tokens(suffix) + self.tokens(self.separator)
            if self.options.format is not ContextFormat.TEXT:
                found += 2  # indentation can add a token or two
            costs[percent] = found
        if self.dates:
            return found + self.tokens(self.dated(piece))
        return found


_ESCAPED = re.compile("[&<>\"']")
# The xml position attribute (and the cut flag), which end every opening tag.
_POSITIONS = {
    (zone, cut): f' position="{zone}"' + (' truncated="true"' if cut else "") + ">"
    for zone in Zone
    for cut in (False, True)
}
# Token counts of ids as xml attribute values, by encoding (emptied when this full).
_ID_TOKENS: dict[str, dict[str, int]] = {}
_MAX_IDS = 100_000


def _date(moment: datetime, now: datetime) -> str:
    """The date of ``moment`` on the caller's calendar: at the UTC offset of ``now``
    (UTC for a naive one; a naive ``moment`` is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(now.tzinfo or UTC)
    except OverflowError:  # at the ends of the calendar: its UTC date
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d}"


def _attribute(value: str) -> str:
    """``value`` escaped for an XML attribute (most need nothing: no copy then)."""
    return html.escape(value) if _ESCAPED.search(value) else value


def _id_attribute(ident: str) -> str:
    return f' id="{_attribute(ident)}"'


def _type_attribute(kind: str) -> str:
    return f' type="{_attribute(kind)}"'


def _score_attribute(score: float) -> str:
    return f' score="{score:.2f}"'


# Decoration of the text and markdown formats, shared across calls (a few hundred entries
# at most): costs by (encoding, format, scores shown), then cut, then percentage; strings
# by (format, scores shown), then cut, then percentage.
_PLAIN_COSTS: dict[Hashable, tuple[dict[int, int], dict[int, int]]] = {}
_PLAIN_PARTS: dict[Hashable, tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]] = {}
_BY_ID = attrgetter("id")
_BY_SCORE = attrgetter("score")
_BY_CREATED = attrgetter("created_at")  # set on every placed memory


@dataclass
class _Fill:
    budget: int
    used: int = 0
    # The first memory that did not fit whole in the zone's share, and the share left
    # for it: it is cut only if the budget other zones leave unused cannot take it whole.
    deferred: Piece | None = None
    reserved: int = 0
    placed: list[Placed] = field(default_factory=list)


def _cut(piece: Piece, max_tokens: int, counter: TokenCounter) -> tuple[str, int]:
    """``cut_to_fit`` of a memory's text, and the cut's tokens."""
    if piece.tokens > max_tokens and splits_at_spaces(counter):
        found = cut_at_sentence(piece.content, piece.tokens, max_tokens, counter)
        if found is not None:
            return found
    content = cut_to_fit(piece.content, max_tokens, counter)
    return content, counter.count(content)


def _queues(candidates: Sequence[Piece], options: PackOptions) -> dict[Zone, list[Piece]]:
    """The qualifying candidates by zone (``zone_of``'s rule, inlined: this loop sees every
    candidate), each zone's best first, ties by id."""
    min_score, critical_score = options.min_score, options.critical_score
    recency_score, recent = options.recency_score, options.recent_since
    critical: list[Piece] = []
    middle: list[Piece] = []
    recency: list[Piece] = []
    for p in candidates:
        score = p.score
        if not score >= min_score:
            continue
        if p.type == "working":
            recency.append(p)
        elif score >= critical_score:
            critical.append(p)
        elif score >= recency_score and (p.created_at >= recent or p.accessed_at >= recent):
            recency.append(p)
        else:
            middle.append(p)
    for queue in (critical, middle, recency):
        # Two stable sorts: cheaper than one on a tuple key. Sorting each zone rather
        # than all candidates first is cheaper again.
        queue.sort(key=_BY_ID)
        queue.sort(key=_BY_SCORE, reverse=True)
    return {Zone.CRITICAL: critical, Zone.MIDDLE: middle, Zone.RECENCY: recency}


def pack(candidates: Sequence[Piece], options: PackOptions, counter: TokenCounter) -> Packed:
    render = _Renderer(options, counter)
    head, tail = render.frame()
    fixed = render.tokens(head) + render.tokens(tail)
    room = options.budget - fixed
    budgets = {
        Zone.CRITICAL: max(int(room * options.critical_share), 0),
        Zone.MIDDLE: max(int(room * options.middle_share), 0),
        Zone.RECENCY: max(int(room * options.recency_share), 0),
    }
    fills = {zone: _Fill(budget) for zone, budget in budgets.items()}
    queues = _queues(candidates, options)

    plain = options.format is ContextFormat.TEXT
    min_cut = options.min_cut_tokens
    # What any memory costs at least: its tokens, the floor, and its id's count if known.
    floor, counted_ids = render.floor, render.counted_ids
    kept_texts: set[str] = set()
    kept = _Vectors()
    placed_ids: set[str] = set()
    duplicates: set[str] = set()

    def repeats(piece: Piece, text: str) -> bool:
        """Whether ``piece`` (folded to ``text``) repeats a placed memory: the same text,
        or a vector at least ``duplicate_similarity`` alike."""
        return text in kept_texts or (
            piece.vector is not None
            and kept.max_similarity(piece.vector) >= options.duplicate_similarity
        )

    def is_duplicate(piece: Piece, *, record: bool = True) -> bool:
        if piece.id in duplicates:
            return True
        same = repeats(piece, normalised_text(piece.content))
        if same and record:
            duplicates.add(piece.id)
        return same

    def keep(
        piece: Piece, zone: Zone, text: str, content: str, tokens: int, cost: int, cut: bool
    ) -> None:
        kept_texts.add(text)
        if piece.vector is not None:
            kept.add(piece.vector)
        placed_ids.add(piece.id)
        fill = fills[zone]
        fill.used += cost
        fill.placed.append(
            Placed(piece.id, content, piece.type, piece.score, zone, tokens, cut, piece.created_at)
        )

    def put(piece: Piece, zone: Zone, limit: int) -> int:
        """Places ``piece`` whole if it fits under ``limit``; returns the tokens used.
        (Callers first skip memories whose text alone exceeds ``limit``.)"""
        cost = piece.tokens if plain else render.body_tokens(piece.content, piece.tokens)
        cost += render.decoration_tokens(piece, zone, False)
        if cost > limit:
            return 0
        text = normalised_text(piece.content)
        if repeats(piece, text):
            duplicates.add(piece.id)
            return 0
        keep(piece, zone, text, piece.content, piece.tokens, cost, False)
        return cost

    def cut(piece: Piece, zone: Zone, limit: int) -> int:
        """Places a cut of ``piece`` within ``limit``; returns the tokens used."""
        if is_duplicate(piece):
            return 0
        overhead = render.decoration_tokens(piece, zone, True)
        text_room = limit - overhead
        for _ in range(3):  # rendering may cost more than the raw cut: cut shorter
            if text_room < min_cut:
                return 0
            content, tokens = _cut(piece, text_room, counter)
            if not content:
                return 0
            if content == piece.content:  # it fits whole after all
                return put(piece, zone, limit) if piece.tokens <= limit else 0
            cost = render.body_tokens(content, tokens) + overhead
            if cost <= limit:
                keep(piece, zone, normalised_text(piece.content), content, tokens, cost, True)
                return cost
            text_room -= cost - limit
        return 0

    if room > 0:
        # 1. Each zone within its own share, whole memories only. The first memory that
        # does not fit, if a cut of it could, keeps the rest of the share reserved.
        for zone in Zone:
            fill = fills[zone]
            left = fill.budget
            for piece in queues[zone]:
                if (  # (the id's count, xml only, after the cheaper test)
                    piece.tokens + floor <= left
                    and piece.tokens + floor + counted_ids.get(piece.id, 0) <= left
                ):
                    taken = put(piece, zone, left)
                    if taken:
                        left -= taken
                        continue
                if (
                    left >= min_cut
                    and left - render.decoration_tokens(piece, zone, True) >= min_cut
                    and not is_duplicate(piece)
                ):
                    fill.deferred, fill.reserved = piece, left
                    break
        # 2. What the zones left unused, in zone order, to whole memories (a deferred one
        # may use its reservation too).
        spare = room - sum(f.used + f.reserved for f in fills.values())
        for zone in Zone:
            fill = fills[zone]
            deferred = fill.deferred
            for piece in queues[zone]:
                if piece is deferred:
                    if piece.id in duplicates:
                        continue
                    limit = spare + fill.reserved
                    least = piece.tokens + floor + counted_ids.get(piece.id, 0)
                    taken = put(piece, zone, limit) if least <= limit else 0
                    if taken:
                        spare = limit - taken
                        fill.deferred, fill.reserved = None, 0
                elif spare <= 0:
                    if fill.deferred is None:  # nothing more can be placed
                        break
                elif (  # (the id's count, xml only, last: the cheaper tests turn most away)
                    piece.tokens + floor <= spare
                    and piece.id not in placed_ids
                    and piece.id not in duplicates
                    and piece.tokens + floor + counted_ids.get(piece.id, 0) <= spare
                ):
                    spare -= put(piece, zone, spare)
        # 3. Then at most one cut per zone: its deferred memory (within its reservation
        # and what is still spare), else its best memory left out.
        for zone in Zone:
            fill = fills[zone]
            limit, fill.reserved = spare + fill.reserved, 0
            target = fill.deferred
            if target is None and limit >= min_cut:
                target = next(
                    (
                        p
                        for p in queues[zone]
                        if p.id not in placed_ids and not is_duplicate(p, record=False)
                    ),
                    None,
                )
            spare = limit - (cut(target, zone, limit) if target is not None else 0)

    ordered = (  # (reverse=True keeps ties in placing order, as a key of -score would)
        sorted(fills[Zone.CRITICAL].placed, key=_BY_SCORE, reverse=True)
        + sorted(fills[Zone.MIDDLE].placed, key=_BY_SCORE, reverse=True)
        + sorted(fills[Zone.RECENCY].placed, key=_BY_CREATED)
    )
    blocks = [render.block(item) for item in ordered]
    body = render.separator.join(blocks)
    if blocks:
        content = head + body + tail
    else:  # no memory: the system prompt alone, if it fits
        prompt = options.system_prompt or ""
        content = prompt if prompt and render.tokens(prompt) <= options.budget else ""
    used = {zone: sum(p.token_count for p in fills[zone].placed) for zone in Zone}
    token_count = fixed + sum(f.used for f in fills.values()) if blocks else render.tokens(content)
    # Left out: a qualifying memory neither placed nor a repeat of a placed one.
    left_out = any(
        p.id not in placed_ids and not is_duplicate(p, record=False)
        for queue in queues.values()
        for p in queue
    )
    return Packed(
        content=content,
        placed=tuple(ordered),
        token_count=token_count,
        budget=options.budget,
        truncated=left_out,
        zone_stats=ZoneStats(
            critical_used=used[Zone.CRITICAL],
            critical_budget=budgets[Zone.CRITICAL],
            middle_used=used[Zone.MIDDLE],
            middle_budget=budgets[Zone.MIDDLE],
            recency_used=used[Zone.RECENCY],
            recency_budget=budgets[Zone.RECENCY],
        ),
        duplicates_dropped=len(duplicates),
        budget_too_small=room < min_cut and not blocks,
    )


class _Vectors:
    """The kept memories' vectors, grown in place for fast similarity checks."""

    def __init__(self) -> None:
        self._matrix: npt.NDArray[np.float32] | None = None
        self._kept: npt.NDArray[np.float32] | None = None  # the filled rows
        self._size = 0
        self._dim = 0

    def add(self, vector: npt.NDArray[np.float32]) -> None:
        if self._matrix is None:
            self._dim = len(vector)
            # Rows past _size are never read: no need to zero them.
            self._matrix = np.empty((64, self._dim), dtype=np.float32)
        elif len(vector) != self._dim:
            return  # another model's vector: not comparable
        elif self._size == len(self._matrix):
            self._matrix = np.concatenate([self._matrix, np.empty_like(self._matrix)])
        self._matrix[self._size] = vector
        self._size += 1
        self._kept = self._matrix[: self._size]

    def max_similarity(self, vector: npt.NDArray[np.float32]) -> float:
        if self._kept is None or len(vector) != self._dim:
            return -1.0
        # The same product and largest value as float((self._kept @ vector).max()), a
        # microsecond sooner per memory placed: dot() skips the ufunc machinery, and
        # argmax() is a C method where max() goes through Python code (NaN: the first).
        similarities = self._kept.dot(vector)
        return float(similarities.item(similarities.argmax()))
