"""The context packer (``maia.context.pack``), pure: properties over random candidate sets
and the edge cases, all counted with the real cl100k_base tokenizer."""

from __future__ import annotations

import html
import random
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maia.context import (
    SEPARATOR,
    TRUNCATED_SUFFIX,
    ContextFormat,
    Packed,
    PackOptions,
    Piece,
    Zone,
    _Renderer,
    _Vectors,
    normalised_text,
    pack,
)
from maia.retrieval.tokens import SENTENCE_END, cut_at_sentence, token_counter

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=10)
DIM = 32  # random unit vectors this wide are never near-duplicates by chance
ZONE_ORDER = {Zone.CRITICAL: 0, Zone.MIDDLE: 1, Zone.RECENCY: 2}

# No deadline: a loaded machine must not turn slowness into failures.
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = (
    "the", "user", "prefers", "dark", "mode", "and", "short", "answers.", "Meeting",
    "moved", "to", "Tuesday!", "Is", "it", "done?", "Lisbon,", "2026-03-01", "42", "x=1;",
    "a<b", "R&D", "<tag>", "&amp;", "\"quoted\"", "(parens)", "naïve", "café", "Ωμέγα",
    "記憶は大切です。", "東京に住んでいる", "我喜欢喝茶！", "한국어", "🙂", "👩‍💻", "🇵🇹",
    "שלום", "עולם.", "مرحبا", "بالعالم؟", "\u200f", "…", "e\u0301", "\t", "\n", "\n\n",
)  # fmt: skip
CODE_BLOCK = (
    "```python\ndef pick(xs: list[int]) -> int:\n    return max(x for x in xs if x < 10 and x"
    " & 1)\n```"
)


COUNTER = token_counter()  # the real cl100k_base tokenizer


# -- building candidates -------------------------------------------------------------------


def unit(rng: random.Random, dim: int = DIM) -> npt.NDArray[np.float32]:
    v = np.array([rng.gauss(0, 1) for _ in range(dim)], dtype=np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32)


def nudge(rng: random.Random, vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A vector with cosine ~0.99 to ``vector``: a near duplicate."""
    v = vector + np.float32(0.1 / np.sqrt(2)) * unit(rng)
    out: npt.NDArray[np.float32] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def random_text(rng: random.Random) -> str:
    size = rng.choice((rng.randint(1, 12), rng.randint(5, 120), rng.randint(100, 900)))
    words = [rng.choice(WORDS) for _ in range(size)]
    if rng.random() < 0.15:
        words.insert(rng.randint(0, len(words)), CODE_BLOCK)
    return " ".join(words)


def respell(rng: random.Random, text: str) -> str:
    """The same text retyped: other case, other spacing (an exact duplicate)."""
    words = text.split()
    spaced = rng.choice(("  ", " ", "\n", " \t ")).join(words)
    return (" " + spaced.upper() + "  ") if rng.random() < 0.5 else spaced.swapcase()


def piece(
    id: str,
    content: str,
    score: float,
    *,
    type: str = "semantic",
    at: datetime = OLD,
    accessed: datetime | None = None,
    vector: npt.NDArray[np.float32] | None = None,
) -> Piece:
    return Piece(
        id=id,
        content=content,
        type=type,
        score=score,
        tokens=COUNTER.count(content),
        created_at=at,
        accessed_at=accessed or at,
        vector=vector,
    )


def random_pieces(rng: random.Random, n: int, wild: Sequence[str]) -> list[Piece]:
    pieces: list[Piece] = []
    for i in range(n):
        roll = rng.random()
        vector: npt.NDArray[np.float32] | None = unit(rng) if rng.random() < 0.7 else None
        if pieces and roll < 0.1:  # exact duplicate, retyped
            source = rng.choice(pieces)
            content = respell(rng, source.content)
            vector = source.vector if rng.random() < 0.5 else vector
        elif pieces and roll < 0.2:  # near duplicate: other words, nearly the same vector
            source = rng.choice(pieces)
            content = source.content + " (again)"
            vector = nudge(rng, source.vector) if source.vector is not None else unit(rng)
        elif wild and roll < 0.3:
            content = rng.choice(wild)
        else:
            content = random_text(rng)
        score = rng.choice((rng.random(), rng.random(), 0.7, 0.3, 0.0, 1.0, 0.6999))
        created = NOW - timedelta(hours=rng.uniform(0, 72))
        accessed = created + (NOW - created) * rng.random()
        kind = rng.choice(("semantic", "semantic", "episodic", "working"))
        pieces.append(
            Piece(
                id=f"m{i:03d}",
                content=content,
                type=kind,
                score=score,
                tokens=COUNTER.count(content),
                created_at=created,
                accessed_at=accessed,
                vector=vector,
            )
        )
    return pieces


@dataclass(frozen=True)
class Scenario:
    pieces: list[Piece]
    options: PackOptions

    def __repr__(self) -> str:  # short: hypothesis prints it on failure
        o = self.options
        return (
            f"Scenario({len(self.pieces)} pieces, budget={o.budget}, format={o.format.value}, "
            f"system={o.system_prompt!r:.60}, scores={o.include_scores}, "
            f"dates={o.include_dates}, min={o.min_score})"
        )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n = draw(st.integers(0, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    wild = draw(st.lists(st.text(min_size=1, max_size=300), max_size=4))
    budget = draw(st.integers(0, 20_000) | st.integers(0, 400))
    system = draw(
        st.none()
        | st.just("You are a helpful assistant. Use the memories below.")
        | st.text(min_size=1, max_size=400)
    )
    min_score = draw(st.sampled_from((0.0, 0.0, 0.3, 0.7)) | st.floats(0, 1))
    options = PackOptions(
        budget=budget,
        now=NOW,
        system_prompt=system,
        include_scores=draw(st.booleans()),
        include_dates=draw(st.booleans()),
        min_score=min_score,
        format=draw(st.sampled_from(list(ContextFormat))),
    )
    return Scenario(random_pieces(random.Random(seed), n, wild), options)


# -- oracles -------------------------------------------------------------------------------


def folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def duplicates(a: Piece, b: Piece) -> bool:
    if folded(a.content) == folded(b.content):
        return True
    if a.vector is None or b.vector is None:
        return False
    return float(np.dot(a.vector, b.vector)) >= 0.95


def expected_zone(p: Piece, options: PackOptions) -> Zone:
    if p.type == "working":
        return Zone.RECENCY
    if p.score >= 0.7:
        return Zone.CRITICAL
    if p.score >= 0.3 and max(p.created_at, p.accessed_at) >= options.now - timedelta(hours=24):
        return Zone.RECENCY
    return Zone.MIDDLE


def words_in_order(cut: str, original: str) -> bool:
    at = 0
    for word in cut.split():
        found = original.find(word, at)
        if found < 0:
            return False
        at = found + len(word)
    return True


def rendered(content: str, fmt: ContextFormat) -> str:
    if fmt is ContextFormat.XML:
        return html.escape(content, quote=False)
    if fmt is ContextFormat.MARKDOWN:
        return content.replace("\n", "\n  ")
    return content


def check_invariants(pieces: Sequence[Piece], options: PackOptions, packed: Packed) -> None:
    by_id = {p.id: p for p in pieces}
    placed = packed.placed

    # The budget holds, counted for real on the whole output.
    assert COUNTER.count(packed.content) <= options.budget
    assert packed.token_count <= options.budget
    assert packed.budget == options.budget

    # Each memory at most once, in zone order, in the zone its score and age call for.
    ids = [p.id for p in placed]
    assert len(ids) == len(set(ids))
    ranks = [ZONE_ORDER[p.position] for p in placed]
    assert ranks == sorted(ranks)
    for item in placed:
        assert item.position is expected_zone(by_id[item.id], options)
        assert item.score >= options.min_score
    recency = [by_id[p.id].created_at for p in placed if p.position is Zone.RECENCY]
    assert recency == sorted(recency)
    for zone in (Zone.CRITICAL, Zone.MIDDLE):
        scores = [p.score for p in placed if p.position is zone]
        assert scores == sorted(scores, reverse=True)

    # Zone statistics add up.
    stats = packed.zone_stats
    for zone, used in (
        (Zone.CRITICAL, stats.critical_used),
        (Zone.MIDDLE, stats.middle_used),
        (Zone.RECENCY, stats.recency_used),
    ):
        assert used == sum(p.token_count for p in placed if p.position is zone)

    # Placed text: whole and unflagged, or a flagged cut of the original.
    for item in placed:
        original = by_id[item.id].content
        assert item.token_count == COUNTER.count(item.content)
        if item.truncated:
            assert item.content
            assert len(item.content) < len(original)
            assert words_in_order(item.content, original)
            assert "\ufffd" not in item.content or "\ufffd" in original
        else:
            assert item.content == original
        assert rendered(item.content, options.format) in packed.content
        if options.include_dates:
            date = f"{by_id[item.id].created_at.astimezone(UTC):%Y-%m-%d}"
            if options.format is ContextFormat.XML:
                assert f'date="{date}"' in packed.content
            else:
                assert f"[{date}] {rendered(item.content, options.format)}" in packed.content

    # No two placed memories are duplicates of each other.
    chosen = [by_id[i] for i in ids]
    for i, a in enumerate(chosen):
        for b in chosen[i + 1 :]:
            assert not duplicates(a, b), (a.id, b.id)

    # ``truncated``: some qualifying candidate that is no duplicate of a placed one was
    # left out.
    left_out = [p for p in pieces if p.score >= options.min_score and p.id not in set(ids)]
    missing = [p for p in left_out if not any(duplicates(p, c) for c in chosen)]
    assert packed.truncated == bool(missing)

    if options.system_prompt and placed:
        assert packed.content.startswith(options.system_prompt)
    if not placed:
        assert packed.content in ("", options.system_prompt)


# -- properties ----------------------------------------------------------------------------


@quick
@given(scenarios())
def test_random_candidate_sets_keep_every_invariant(scenario: Scenario) -> None:
    packed = pack(scenario.pieces, scenario.options, COUNTER)
    check_invariants(scenario.pieces, scenario.options, packed)


@settings(max_examples=40, deadline=None)
@given(
    budget=st.integers(0, 3000),
    fmt=st.sampled_from(list(ContextFormat)),
    scores=st.booleans(),
    text=st.text(min_size=1, max_size=2000),
)
def test_one_random_unicode_memory(
    budget: int, fmt: ContextFormat, scores: bool, text: str
) -> None:
    pieces = [piece("only", text, 0.5)]
    options = PackOptions(budget=budget, now=NOW, format=fmt, include_scores=scores)
    check_invariants(pieces, options, pack(pieces, options, COUNTER))


@settings(max_examples=25, deadline=None)
@given(
    budget=st.integers(60, 2000),
    fmt=st.sampled_from(list(ContextFormat)),
    char=st.sampled_from(("<", "&", ">", "\n", "\n\n", "<&>", "😀", "語")),
    repeat=st.integers(1, 3000),
)
def test_text_that_grows_when_rendered_stays_within_budget(
    budget: int, fmt: ContextFormat, char: str, repeat: int
) -> None:
    """Escaping (xml) and indentation (markdown) can cost more tokens than the raw text."""
    pieces = [
        piece("a", f"note {char * repeat} end", 0.8),
        piece("b", f"{char} x " * (repeat // 3 + 1), 0.5),
    ]
    options = PackOptions(budget=budget, now=NOW, format=fmt)
    check_invariants(pieces, options, pack(pieces, options, COUNTER))


# -- edge cases ----------------------------------------------------------------------------


def sentence_memory(i: int, sentences: int = 6) -> str:
    return " ".join(
        f"Fact {i}.{j}: the user mentioned topic {i * 31 + j} while planning a trip."
        for j in range(sentences)
    )


@pytest.mark.parametrize("fmt", list(ContextFormat))
def test_budget_smaller_than_the_system_prompt(fmt: ContextFormat) -> None:
    prompt = "You are a careful assistant. " * 20
    pieces = [piece(f"m{i}", sentence_memory(i), 0.9) for i in range(3)]
    budget = COUNTER.count(prompt) - 5
    packed = pack(
        pieces, PackOptions(budget=budget, now=NOW, system_prompt=prompt, format=fmt), COUNTER
    )
    assert packed.content == ""
    assert packed.placed == ()
    assert packed.budget_too_small
    assert packed.token_count == 0
    assert packed.truncated


def test_zero_budget_and_no_candidates() -> None:
    empty = pack([], PackOptions(budget=4000, now=NOW), COUNTER)
    assert (empty.content, empty.placed, empty.truncated, empty.token_count) == ("", (), False, 0)
    zero = pack([piece("a", "hello", 0.9)], PackOptions(budget=0, now=NOW), COUNTER)
    assert zero.content == ""
    assert zero.placed == ()
    assert zero.truncated
    assert zero.budget_too_small


def test_system_prompt_alone_when_no_memory_qualifies() -> None:
    prompt = "Be brief."
    packed = pack(
        [piece("a", "hello there", 0.2)],
        PackOptions(budget=100, now=NOW, system_prompt=prompt, min_score=0.5),
        COUNTER,
    )
    assert packed.content == prompt
    assert packed.placed == ()
    assert not packed.truncated


@pytest.mark.parametrize("fmt", list(ContextFormat))
@pytest.mark.parametrize("score", [0.9, 0.5])
def test_one_huge_memory_is_cut_and_flagged(fmt: ContextFormat, score: float) -> None:
    huge = " ".join(sentence_memory(i) for i in range(300))  # ~25k tokens
    pieces = [piece("huge", huge, score)]
    options = PackOptions(budget=1000, now=NOW, format=fmt, include_scores=True)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    (item,) = packed.placed
    assert item.truncated
    assert huge.startswith(item.content)
    assert item.content.endswith(".")  # cut at a sentence boundary
    assert item.token_count >= 100
    assert "truncated" in packed.content
    assert not packed.truncated  # included, though cut: not "left out"


@pytest.mark.parametrize(
    ("zone", "score", "kind", "at"),
    [
        (Zone.CRITICAL, 0.9, "semantic", OLD),
        (Zone.MIDDLE, 0.5, "episodic", OLD),
        (Zone.RECENCY, 0.5, "episodic", NOW - timedelta(hours=1)),
        (Zone.RECENCY, 0.1, "working", OLD),
    ],
)
def test_unused_budget_flows_to_the_only_zone_with_memories(
    zone: Zone, score: float, kind: str, at: datetime
) -> None:
    pieces = [
        piece(
            f"m{i:02d}",
            sentence_memory(i, 3),
            score - i / 1000,
            type=kind,
            at=at + timedelta(minutes=i),
        )
        for i in range(40)
    ]
    options = PackOptions(budget=2000, now=NOW)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert {p.position for p in packed.placed} == {zone}
    used = sum(p.token_count for p in packed.placed)
    share = {Zone.CRITICAL: 300, Zone.MIDDLE: 1300, Zone.RECENCY: 400}[zone]
    assert used > 1.3 * share if zone is not Zone.MIDDLE else used > share
    assert COUNTER.count(packed.content) > 2000 - 2 * max(p.tokens for p in pieces) - 20
    assert packed.truncated


def test_nothing_is_cut_when_everything_fits() -> None:
    """A zone's share is smaller than its memories, but the whole budget holds them all:
    none may be cut (the flow of unused budget comes before any cut)."""
    pieces = [piece(f"m{i}", sentence_memory(i, 6), 0.95 - i / 100) for i in range(10)]
    total = sum(p.tokens for p in pieces)
    options = PackOptions(budget=total + 200, now=NOW)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert [p.id for p in packed.placed] == [p.id for p in pieces]
    assert not any(p.truncated for p in packed.placed)
    assert not packed.truncated


def test_a_cut_keeps_its_zone_share_when_other_zones_are_full() -> None:
    """One long critical memory and plenty of middle ones: the critical memory is cut to
    (at least) its zone's share, the middle zone fills its own."""
    long = piece("long", " ".join(sentence_memory(i) for i in range(40)), 0.9)
    middle = [piece(f"m{i:02d}", sentence_memory(i, 2), 0.5 - i / 1000) for i in range(80)]
    options = PackOptions(budget=2000, now=NOW)
    packed = pack([long, *middle], options, COUNTER)
    check_invariants([long, *middle], options, packed)
    first = packed.placed[0]
    assert (first.id, first.position, first.truncated) == ("long", Zone.CRITICAL, True)
    assert packed.zone_stats.critical_used >= packed.zone_stats.critical_budget - 20
    assert packed.zone_stats.middle_used >= packed.zone_stats.middle_budget - 60


@pytest.mark.parametrize("better_first", [True, False])
def test_exact_duplicates_keep_the_better_scored(better_first: bool) -> None:
    better = piece("better", "The user prefers dark mode.", 0.8)
    worse = piece("worse", "  the USER prefers\n dark   MODE. ", 0.75)
    other = piece("other", "The user lives in Lisbon.", 0.5)
    pieces = [better, worse, other] if better_first else [other, worse, better]
    options = PackOptions(budget=1000, now=NOW)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert [p.id for p in packed.placed] == ["better", "other"]
    assert packed.duplicates_dropped == 1
    assert not packed.truncated


def test_near_duplicates_by_vector_keep_the_better_scored() -> None:
    rng = random.Random(7)
    base = unit(rng)
    ortho = unit(rng)
    ortho = ortho - float(ortho @ base) * base
    ortho /= np.linalg.norm(ortho)

    def at_cosine(cos: float) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = (cos * base + (1 - cos**2) ** 0.5 * ortho).astype(np.float32)
        return out

    pieces = [
        piece("best", "Alice moved to Berlin in May.", 0.6, vector=base),
        piece("close", "In May, Alice relocated to Berlin.", 0.65 - 0.1, vector=at_cosine(0.97)),
        piece("edge", "Alice's move to Berlin happened in May.", 0.5, vector=at_cosine(0.951)),
        piece("apart", "Alice visited Berlin once.", 0.4, vector=at_cosine(0.9)),
        piece("novector", "Alice moved to Berlin in May!", 0.3),
    ]
    options = PackOptions(budget=1000, now=NOW)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert [p.id for p in packed.placed] == ["best", "apart", "novector"]
    assert packed.duplicates_dropped == 2
    assert not packed.truncated


def test_a_duplicate_left_out_for_room_does_not_mark_truncation() -> None:
    """A retyped copy of a placed memory that also did not fit is not a lost memory."""
    kept = piece("kept", "Short fact about the user.", 0.9)
    copy = piece("copy", "SHORT FACT ABOUT THE USER." + " " * 4000, 0.8)  # huge whitespace
    options = PackOptions(budget=kept.tokens + 30, now=NOW)
    packed = pack([kept, copy], options, COUNTER)
    check_invariants([kept, copy], options, packed)
    assert [p.id for p in packed.placed] == ["kept"]
    assert not packed.truncated


def test_unicode_and_code_blocks_survive_whole_and_cut() -> None:
    texts = {
        "cjk": "ユーザーは東京に住んでいて、毎朝緑茶を飲みます。週末は京都へ行きます。",
        "emoji": "Loves 🙂🎉 and 👩‍💻 emoji; flag 🇵🇹 for Portugal.",
        "rtl": "הלקוח אמר: שלום עולם. العميل قال: مرحبا بالعالم.",
        "code": "Snippet:\n" + CODE_BLOCK + "\nUse it for filtering.",
    }
    pieces = [piece(k, v, 0.5 + i / 100) for i, (k, v) in enumerate(texts.items())]
    for fmt in ContextFormat:
        options = PackOptions(budget=2000, now=NOW, format=fmt)
        packed = pack(pieces, options, COUNTER)
        check_invariants(pieces, options, packed)
        assert len(packed.placed) == 4
        for text in texts.values():
            assert rendered(text, fmt) in packed.content
    long_cjk = piece("long", "記憶は大切です。私は東京に住んでいる。🙂" * 400, 0.9)
    options = PackOptions(budget=300, now=NOW)
    packed = pack([long_cjk], options, COUNTER)
    check_invariants([long_cjk], options, packed)
    (item,) = packed.placed
    assert item.truncated
    assert "\ufffd" not in packed.content
    assert item.content.endswith(("。", "🙂"))


def test_xml_escapes_and_parses() -> None:
    pieces = [
        piece("a", "if a < b && c > d then <script>alert('x')</script>", 0.9),
        piece("b", 'R&D budget: 5 < 7 & "quoted"', 0.5),
        piece("c", "current task", 0.1, type="working"),
    ]
    options = PackOptions(budget=1000, now=NOW, format=ContextFormat.XML, include_scores=True)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert "<script>" not in packed.content
    assert "a &lt; b &amp;&amp; c &gt; d" in packed.content
    root = ET.fromstring(packed.content)
    assert root.tag == "memories"
    memories = list(root)
    assert [m.get("id") for m in memories] == ["a", "b", "c"]
    assert [m.get("position") for m in memories] == ["critical", "middle", "recency"]
    assert [m.text for m in memories] == [p.content for p in pieces]
    assert memories[0].get("score") == "0.90"


def test_markdown_layout() -> None:
    pieces = [piece("a", "line one\nline two", 0.9), piece("b", "another", 0.5)]
    options = PackOptions(
        budget=500, now=NOW, format=ContextFormat.MARKDOWN, include_scores=True, system_prompt="Hi."
    )
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert packed.content == (
        "Hi.\n## Relevant memories\n\n"
        "- line one\n  line two *(relevance 90%)*\n"
        "- another *(relevance 50%)*"
    )


def test_text_layout_with_scores_and_system_prompt() -> None:
    pieces = [
        piece("w", "Working on the quarterly report.", 0.2, type="working"),
        piece("c", "Prefers metric units.", 0.91),
        piece("m", "Visited Kyoto in 2019.", 0.42),
    ]
    options = PackOptions(budget=500, now=NOW, system_prompt="System.", include_scores=True)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert packed.content == SEPARATOR.join(
        [
            "System.",
            "[relevance: 91%] Prefers metric units.",
            "[relevance: 42%] Visited Kyoto in 2019.",
            "[relevance: 20%] Working on the quarterly report.",
        ]
    )
    assert [p.position for p in packed.placed] == [Zone.CRITICAL, Zone.MIDDLE, Zone.RECENCY]
    assert not packed.content.endswith(TRUNCATED_SUFFIX)


@pytest.mark.parametrize("fmt", list(ContextFormat))
def test_dates_come_before_each_memory_in_utc(fmt: ContextFormat) -> None:
    """``include_dates``: the day each memory was written, so that a model can answer
    "when" (a time late on May 7th in New York is May 8th in UTC)."""
    new_york = timezone(timedelta(hours=-4))
    pieces = [
        piece(
            "a",
            "I went to a support group yesterday.",
            0.9,
            at=datetime(2023, 5, 7, 22, 30, tzinfo=new_york),
        ),
        piece("b", "Painted a sunrise.", 0.5, at=datetime(2023, 7, 1, 9, tzinfo=UTC)),
    ]
    options = PackOptions(budget=500, now=NOW, format=fmt, include_dates=True, include_scores=True)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    if fmt is ContextFormat.XML:
        memories = list(ET.fromstring(packed.content))
        assert [m.get("date") for m in memories] == ["2023-05-08", "2023-07-01"]
    elif fmt is ContextFormat.MARKDOWN:
        assert (
            "- [2023-05-08] I went to a support group yesterday. *(relevance 90%)*"
            in packed.content
        )
    else:
        assert packed.content == SEPARATOR.join(
            [
                "[relevance: 90%] [2023-05-08] I went to a support group yesterday.",
                "[relevance: 50%] [2023-07-01] Painted a sunrise.",
            ]
        )
    undated = pack(pieces, replace(options, include_dates=False), COUNTER)
    assert "2023" not in undated.content
    assert undated.token_count < packed.token_count
    # Asked from New York (``now`` at its offset), the dates are New York's.
    local = pack(pieces, replace(options, now=NOW.astimezone(new_york)), COUNTER)
    assert "2023-05-07" in local.content
    assert "2023-05-08" not in local.content


def test_working_memories_always_land_in_recency_oldest_first() -> None:
    pieces = [
        piece(
            "w-new", "Step 3: write the summary.", 0.99, type="working", at=OLD + timedelta(hours=3)
        ),
        piece("w-old", "Step 1: collect the numbers.", 0.95, type="working", at=OLD),
        piece(
            "w-mid", "Step 2: check the totals.", 0.05, type="working", at=OLD + timedelta(hours=1)
        ),
        piece("fact", "The user is an accountant.", 0.95),
        piece("recent", "Yesterday the user asked about taxes.", 0.4, at=NOW - timedelta(hours=2)),
    ]
    options = PackOptions(budget=1000, now=NOW)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert [(p.id, p.position.value) for p in packed.placed] == [
        ("fact", "critical"),
        ("w-old", "recency"),
        ("w-mid", "recency"),
        ("w-new", "recency"),
        ("recent", "recency"),
    ]


def test_min_score_excludes_lower_scores() -> None:
    pieces = [piece(f"m{i}", f"memory number {i}", i / 10) for i in range(11)]
    options = PackOptions(budget=1000, now=NOW, min_score=0.55)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    assert {p.id for p in packed.placed} == {f"m{i}" for i in range(6, 11)}
    assert not packed.truncated


def test_a_reference_time_at_the_start_of_the_calendar() -> None:
    # Found by fuzzing POST /v1/context with "now": "0001-01-01T00:00:00Z": the recency
    # window reached before year 1 and the packer raised OverflowError (a 500).
    start = datetime.min.replace(tzinfo=UTC)
    pieces = [piece("old", "The first memory.", 0.5, at=start), piece("fact", "A fact.", 0.9)]
    packed = pack(pieces, PackOptions(budget=1000, now=start), COUNTER)
    assert {p.id: p.position for p in packed.placed} == {
        "fact": Zone.CRITICAL,
        "old": Zone.RECENCY,
    }


def test_ties_in_score_are_placed_by_id() -> None:
    pieces = [piece(f"m{i}", f"Fact number {i}.", 0.9) for i in (3, 1, 2)]
    pieces += [piece(f"n{i}", f"Other fact {i}.", 0.5) for i in (2, 3, 1)]
    packed = pack(pieces, PackOptions(budget=1000, now=NOW), COUNTER)
    assert [p.id for p in packed.placed] == ["m1", "m2", "m3", "n1", "n2", "n3"]


@settings(max_examples=300, deadline=None)
@given(
    ident=st.one_of(
        st.uuids().map(str),
        st.from_regex(r"[0-9A-Za-z].{0,40}", fullmatch=True),
        st.text(min_size=1, max_size=40),
    ),
    kind=st.one_of(st.sampled_from(["semantic", "episodic", "working"]), st.text(max_size=12)),
    score=st.floats(-2, 2, allow_nan=False),
    zone=st.sampled_from(list(Zone)),
    cut=st.booleans(),
    scores=st.booleans(),
    at=st.datetimes(timezones=st.just(UTC)),
    dates=st.booleans(),
)
def test_xml_tags_counted_by_parts_cost_what_the_whole_tag_does(
    ident: str,
    kind: str,
    score: float,
    zone: Zone,
    cut: bool,
    scores: bool,
    at: datetime,
    dates: bool,
) -> None:
    """cl100k_base ends a piece before each ' name="…"' of a tag: the id attribute's
    count, kept across calls, plus the other parts' is the whole tag's count."""
    options = PackOptions(
        budget=1000, now=NOW, format=ContextFormat.XML, include_scores=scores, include_dates=dates
    )
    memory = piece(ident, "A fact.", score, type=kind, at=at)
    render = _Renderer(options, COUNTER)
    tag, closing = render.decoration(memory, zone, cut)
    whole = COUNTER.count(tag) + COUNTER.count(closing) + COUNTER.count("\n") + 2
    assert render.decoration_tokens(memory, zone, cut) == whole
    # Counted again by a later call (the id's count comes from the first), whose lower
    # bound for the memory holds.
    again = _Renderer(options, COUNTER)
    assert again.floor + again.counted_ids.get(ident, 0) <= whole
    assert again.decoration_tokens(memory, zone, cut) == whole


SENTENCE_ENDS = (". ", "! ", "? ", "… ", '." ', ".) ", ".\n", ".  ", "。", ", ")


@settings(max_examples=200, deadline=None)
@given(
    sentences=st.lists(
        st.tuples(
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join),
            st.one_of(st.sampled_from(SENTENCE_ENDS[:4]), st.sampled_from(SENTENCE_ENDS)),
        ),
        min_size=1,
        max_size=12,
    ),
    share=st.floats(0.05, 1.2),
)
def test_a_cut_counted_sentence_by_sentence_is_the_longest_that_fits(
    sentences: list[tuple[str, str]], share: float
) -> None:
    text = "".join(words + end for words, end in sentences) + "The end"
    tokens = COUNTER.count(text)
    room = max(int(tokens * share), 1)
    found = cut_at_sentence(text, tokens, room, COUNTER)
    # What it should be, counted whole: every sentence end, the longest prefix that fits.
    ends = [m.end() for m in SENTENCE_END.finditer(text)]
    if any(text[end - 1] != " " for end in ends) or not ends:
        assert found is None
        return
    fitting = [text[: end - 1] for end in ends if COUNTER.count(text[: end - 1]) <= room]
    best = max(fitting, key=len, default="")
    if COUNTER.count(best) * 2 < room:
        assert found is None
    else:
        assert found == (best, COUNTER.count(best))


def test_xml_escapes_attributes() -> None:
    pieces = [piece("a\"b&<c>'", "A fact.", 0.9, type="semantic")]
    options = PackOptions(budget=200, now=NOW, format=ContextFormat.XML)
    packed = pack(pieces, options, COUNTER)
    check_invariants(pieces, options, packed)
    (memory,) = ET.fromstring(packed.content)
    assert memory.get("id") == "a\"b&<c>'"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=" \t\n\x0b\x1c\x00\x7fAbz.'É\u00a0\u2003ﬁＡß", max_size=40))
def test_normalised_text_folds_case_and_spacing(text: str) -> None:
    assert normalised_text(text) == folded(text)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 150), odd=st.booleans())
def test_vector_similarity_is_the_largest_dot_product(seed: int, n: int, odd: bool) -> None:
    """The near-duplicate check's similarity: the largest dot product with a kept vector,
    NaN if any product is (repeated rows, NaN and another model's vectors when ``odd``)."""
    gen = np.random.default_rng(seed)
    rows = gen.standard_normal((n, DIM)).astype(np.float32)
    if odd:
        rows[gen.integers(n, size=3)] = rows[0]
        rows[gen.integers(n)] = np.nan
    kept = _Vectors()
    for i, row in enumerate(rows):
        kept.add(row)
        kept.add(np.ones(DIM // 2, dtype=np.float32))  # another model's: never kept
        probe = gen.standard_normal(DIM).astype(np.float32)
        expected = float((rows[: i + 1] @ probe).max())
        assert repr(kept.max_similarity(probe)) == repr(expected)
    assert kept.max_similarity(np.ones(DIM // 2, dtype=np.float32)) == -1.0
