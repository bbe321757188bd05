"""Ranked search through the façade with the real local model (MiniLM), plus the REST
route's paging and ``maia reindex`` after a model change."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from maia import Maia, Settings
from maia.cli import app
from maia.models import (
    MemoryCreate,
    MemorySource,
    MemoryType,
    RelationCreate,
    RelationType,
    SearchRequest,
    SearchResult,
)
from maia.retrieval.analyzer import analyze
from maia.retrieval.embed.minilm import MODEL_ID
from maia.retrieval.fusion import SIGNALS
from tests.conftest import LiveServer

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)

UNRELATED = [
    "The quarterly report is due on Friday",
    "Bob plays the cello in an orchestra",
    "The server room needs better cooling",
    "Our cat Mittens sleeps on the windowsill",
    "The train to Lyon leaves at seven",
    "We repainted the kitchen walls blue",
]


@pytest.fixture
def maia(make_settings: Callable[..., Settings]) -> Iterator[Maia]:
    """A store searched with the real local model (overrides the hashing default)."""
    with Maia.open(settings=make_settings(embedding_provider="local")) as instance:
        yield instance


def search(maia: Maia, query: str | None, **fields: Any) -> list[SearchResult]:
    return maia.search(SearchRequest.model_validate({"query": query, **fields}))[0]


def contents(results: list[SearchResult]) -> list[str]:
    return [r.memory.content for r in results]


def remember_all(maia: Maia, texts: list[str], namespace: str = "notes") -> None:
    maia.create_memories([MemoryCreate(namespace=namespace, content=t) for t in texts])


# -- relevance -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What does Alice like to drink?", "Alice prefers green tea"),
        ("hot beverage", "Alice prefers green tea"),
        ("musical instrument", "Bob plays the cello in an orchestra"),
        ("pets at home", "Our cat Mittens sleeps on the windowsill"),
        ("air conditioning for the computers", "The server room needs better cooling"),
    ],
)
def test_semantic_match_without_shared_words(maia: Maia, query: str, expected: str) -> None:
    remember_all(
        maia,
        [
            "Alice prefers green tea",
            "Alice fixed her bicycle chain on Sunday",
            "Alice works as a nurse in a hospital",
            *UNRELATED,
        ],
    )
    results = search(maia, query, namespace="notes", explain=True)
    assert results[0].memory.content == expected
    assert all(r.score < results[0].score for r in results[1:])
    signals = results[0].signals
    assert signals is not None
    # Near the best similarity: a later line's two-line window (ending at it) may score
    # a little higher than the line alone.
    assert signals["vector"] > 0.9
    if "Alice" not in query:
        assert signals["text"] == 0.0  # no word in common: the embedding found it


def test_a_distinctive_word_ranks_its_memory_first(maia: Maia) -> None:
    remember_all(
        maia,
        [
            *UNRELATED,
            "The guest wifi password is quxbarnel-7731",
            "We saw a zeppelin over the harbour",
            "The office wifi is slow in the afternoon",
        ],
    )
    assert contents(search(maia, "quxbarnel", namespace="notes"))[0].endswith("quxbarnel-7731")
    assert contents(search(maia, "zeppelin", namespace="notes"))[0] == (
        "We saw a zeppelin over the harbour"
    )
    # Case and stemming do not matter to the word match.
    assert contents(search(maia, "Zeppelins?", namespace="notes"))[0].startswith("We saw a")


def test_a_speaker_named_in_the_query_is_matched_as_a_field_not_a_word(maia: Maia) -> None:
    remember_all(
        maia,
        [
            *UNRELATED,
            'Alice said, "The weather was lovely today"',
            'Bob said, "My sister collects old maps"',
            'Alice said, "I started pottery classes last month"',
        ],
        namespace="chat",
    )
    results = search(maia, "Does Alice enjoy pottery?", namespace="chat", explain=True)
    by_content = {r.memory.content: r.signals or {} for r in results}
    assert contents(results)[0] == 'Alice said, "I started pottery classes last month"'
    weather = by_content['Alice said, "The weather was lovely today"']
    assert weather["entity"] == 1.0  # spoken by Alice
    assert weather["text"] == 0.0  # but "Alice" is no word match: the topic is pottery
    # A query of nothing but the name still matches it as a word.
    assert {
        r.signals["text"] > 0
        for r in search(maia, "Alice", namespace="chat", explain=True)
        if r.signals and r.memory.content.startswith("Alice")
    } == {True}


def test_a_question_ranks_below_what_answers_it(maia: Maia) -> None:
    # The question shares the query's words and form; the answer after it shares
    # neither, but is what was asked for (and is found through the question).
    remember_all(
        maia,
        [
            *UNRELATED,
            "What time does the dentist appointment start, do you know?",
            "The dentist booked me in at 9:30 on Tuesday.",
            "The dentist is on Oak Street.",
        ],
    )
    results = search(maia, "What time does the dentist appointment start?", namespace="notes")
    assert contents(results)[:2] == [
        "The dentist booked me in at 9:30 on Tuesday.",
        "What time does the dentist appointment start, do you know?",
    ]


# -- scope and filters ---------------------------------------------------------------------


def test_only_memories_written_close_in_time_lend_each_other_meaning(maia: Maia) -> None:
    """A reply is read with the line before it ("Three times a week." answers how often);
    a note written a day after another is not: it inherits none of its relevance."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    timeline = [
        ("How often do you go running these days?", start),
        ("Three times a week, usually before work.", start + timedelta(seconds=20)),
        ("Sam has a golden retriever named Biscuit.", start + timedelta(days=3)),
        ("Sam went grocery shopping.", start + timedelta(days=4)),
        ("Sam called his sister.", start + timedelta(days=5)),
        ("The quarterly report is due on Friday.", start + timedelta(days=6)),
    ]
    maia.create_memories(
        [MemoryCreate(namespace="life", content=text, created_at=at) for text, at in timeline]
    )
    reply = search(maia, "how often does he go jogging", namespace="life", explain=True)
    assert "Three times a week, usually before work." in contents(reply)[:2]
    found = search(maia, "dog", namespace="life", explain=True)
    assert contents(found)[0] == "Sam has a golden retriever named Biscuit."
    grocery = next(r for r in found if r.memory.content == "Sam went grocery shopping.")
    assert grocery.signals is not None
    assert grocery.signals["context"] == 0.0


def test_namespace_isolation_and_descendants(maia: Maia) -> None:
    places = ["proj", "proj/sub", "proj/sub/deep", "projx", "other"]
    for place in places:
        maia.remember(f"Green tea notes kept in {place}", namespace=place)
    maia.for_tenant("acme").remember("Green tea notes of another tenant", namespace="proj")

    def found(**fields: Any) -> set[str]:
        return {r.memory.namespace for r in search(maia, "green tea", **fields)}

    assert found(namespace="proj") == {"proj"}
    assert found(namespace="proj", include_descendants=True) == {
        "proj",
        "proj/sub",
        "proj/sub/deep",
    }
    assert found(namespace="proj/sub", include_descendants=True) == {"proj/sub", "proj/sub/deep"}
    assert found(namespace="projx") == {"projx"}
    assert found() == set(places)  # no namespace: the whole tenant
    assert all(
        "another tenant" not in r.memory.content for r in search(maia, "green tea", limit=50)
    )
    other = maia.for_tenant("acme")
    assert contents(search(other, "green tea")) == ["Green tea notes of another tenant"]
    assert search(maia, "green tea", namespace="nowhere") == []
    assert search(maia, "green tea", namespace="pro") == []
    assert maia.recall("green tea", namespace="nowhere") == []


def test_filters_types_tags_confidence_and_created_range(maia: Maia) -> None:
    day = timedelta(days=1)
    specs: list[dict[str, Any]] = [
        {"type": "semantic", "tags": ["drink"], "confidence": 1.0, "created_at": NOW - 30 * day},
        {"type": "episodic", "tags": ["drink", "morning"], "confidence": 0.9},
        {"type": "episodic", "tags": ["morning"], "confidence": 0.4, "created_at": NOW - 3 * day},
        {"type": "working", "tags": [], "confidence": 0.2, "created_at": NOW - day},
        {"type": "semantic", "tags": ["drink"], "confidence": 0.6, "source": "inferred"},
    ]
    created = maia.create_memories(
        [
            MemoryCreate.model_validate(
                {
                    "namespace": "tea",
                    "content": f"Tea note number {i}: green tea with lemon",
                    "created_at": NOW - 10 * day,
                    **spec,
                }
            )
            for i, spec in enumerate(specs)
        ]
    )

    def found(**fields: Any) -> set[int]:
        results = search(maia, "green tea", namespace="tea", **fields)
        return {int(r.memory.content.split()[3].rstrip(":")) for r in results}

    assert found() == {0, 1, 2, 3, 4}
    assert found(types=["episodic"]) == {1, 2}
    assert found(types=["semantic", "working"]) == {0, 3, 4}
    assert found(tags=["drink"]) == {0, 1, 4}
    assert found(tags=["drink", "morning"]) == {1}  # every tag must be present
    assert found(min_confidence=0.6) == {0, 1, 4}
    assert found(sources=["inferred"]) == {4}
    assert found(created_after=NOW - 5 * day) == {2, 3}
    assert found(created_before=NOW - 5 * day) == {0, 1, 4}
    assert found(created_after=NOW - 11 * day, created_before=NOW - 2 * day) == {1, 2, 4}
    assert found(types=["episodic"], min_confidence=0.5, tags=["drink"]) == {1}
    assert found(types=["working"], tags=["drink"]) == set()
    assert created[4].source is MemorySource.INFERRED
    assert created[1].type is MemoryType.EPISODIC


def test_superseded_memories_are_hidden_unless_asked_for(maia: Maia) -> None:
    old = maia.remember("Alice drinks black coffee every morning", namespace="alice")
    new = maia.remember("Alice switched from coffee to green tea", namespace="alice")
    maia.remember("Alice cycles to work", namespace="alice")
    maia.relate(new.id, RelationCreate(target_id=old.id, type=RelationType.SUPERSEDES))

    def ids(**fields: Any) -> list[str]:
        return [r.memory.id for r in search(maia, "Alice coffee", namespace="alice", **fields)]

    assert old.id not in ids()
    assert new.id in ids()
    assert old.id in ids(include_superseded=True)
    # Listing without a query hides it as well.
    listed = [r.memory.id for r in search(maia, None, namespace="alice")]
    assert old.id not in listed
    assert len(listed) == 2
    # Another relation type hides nothing; removing the supersedes edge shows it again.
    maia.relate(new.id, RelationCreate(target_id=old.id, type=RelationType.RELATED_TO))
    assert old.id not in ids()
    maia.unrelate(new.id, old.id, [RelationType.SUPERSEDES])
    assert old.id in ids()


def test_explain_returns_every_signal_in_unit_range(maia: Maia) -> None:
    remember_all(maia, ["Alice prefers green tea", "Green tea is grown in Japan", *UNRELATED])
    maia.touch([maia.list_memories()[0].id])
    results = search(maia, "Which tea does Alice prefer?", namespace="notes", explain=True)
    assert results
    for result in results:
        assert result.signals is not None
        assert set(result.signals) == set(SIGNALS)
        assert all(0.0 <= value <= 1.0 for value in result.signals.values())
        assert 0.0 <= result.score <= 1.0
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert results[0].memory.content == "Alice prefers green tea"
    # "Alice" is an entity of the query: only memories naming her have that signal.
    for result in results:
        assert result.signals is not None
        assert (result.signals["entity"] > 0) == ("Alice" in result.memory.content)
    plain = search(maia, "Which tea does Alice prefer?", namespace="notes")
    assert all(r.signals is None for r in plain)
    assert [r.score for r in plain] == [r.score for r in results]
    # RRF fusion ranks the same best memory first, with scores in [0, 1] too.
    rrf = search(maia, "Which tea does Alice prefer?", namespace="notes", fusion="rrf")
    assert rrf[0].memory.content == "Alice prefers green tea"
    assert all(0.0 <= r.score <= 1.0 for r in rrf)


# -- time ----------------------------------------------------------------------------------

YESTERDAY = NOW - timedelta(hours=17)
LAST_YEAR = datetime(2024, 6, 14, 19, 0, tzinfo=UTC)
# Neither shares a word with "what happened yesterday", and both are less similar to it
# than min_similarity (0.2): only the time range makes them answers.
DIARY = ["Dinner with the team at the harbour restaurant", "Went hiking in the mountains with Sam"]


@pytest.fixture
def diary(maia: Maia) -> Maia:
    """The same two events yesterday and last year, plus an older unrelated note."""
    for when in (LAST_YEAR, YESTERDAY):
        for text in DIARY:
            maia.remember(text, namespace="diary", created_at=when)
    maia.remember(
        "The printer on floor two is jammed",
        namespace="diary",
        created_at=NOW - 40 * timedelta(days=1),
    )
    return maia


def days_of(results: list[SearchResult]) -> list[str]:
    return [r.memory.created_at.date().isoformat() for r in results]


def test_a_time_expression_boosts_memories_of_that_period(diary: Maia) -> None:
    results = search(diary, "what happened yesterday", namespace="diary", now=NOW, explain=True)
    assert days_of(results)[:2] == ["2025-06-14", "2025-06-14"]
    assert {r.memory.content for r in results[:2]} == set(DIARY)
    for result in results:
        assert result.signals is not None
        assert result.signals["time"] == (1.0 if result.memory.created_at == YESTERDAY else 0.0)
    # The same words, another period: last year's copy now wins, against recency.
    dinner = search(diary, "dinner with the team last year", namespace="diary", now=NOW)
    assert days_of(dinner)[0] == "2024-06-14"
    assert dinner[0].memory.content == DIARY[0]
    dinner = search(diary, "dinner with the team yesterday", namespace="diary", now=NOW)
    assert days_of(dinner)[0] == "2025-06-14"
    assert dinner[0].memory.content == DIARY[0]


def test_a_question_about_a_period_itself_ranks_that_period_first(maia: Maia) -> None:
    """ "What did I do yesterday": the period is the whole question, so being in it
    counts as much as meaning does (a boost alone left yesterday's entry behind)."""
    rng = random.Random(1)
    activities = [
        "went for a run along the river", "cooked a mushroom risotto", "met Dana for coffee",
        "worked late on the quarterly report", "watched a movie at home", "called mom",
        "went to the climbing gym", "visited the farmers market", "did yoga in the morning",
        "fixed the leaking kitchen tap", "went to a jazz concert", "baked sourdough bread",
    ]  # fmt: skip
    start = NOW - timedelta(days=90)
    maia.create_memories(
        [
            MemoryCreate(
                namespace="days",
                content=f"I {rng.choice(activities)}.",
                created_at=start + timedelta(days=day, hours=7),
            )
            for day in range(90)
        ]
    )
    for query in ("what did I do yesterday", "what did I do on Friday"):
        period = analyze(query, NOW).time
        assert period is not None
        results = search(maia, query, namespace="days", now=NOW, limit=3)
        assert period.contains(results[0].memory.created_at), (query, contents(results))
    assert analyze("what did I do last weekend", NOW).time_led
    assert analyze("what happened in October", NOW).time_led
    assert not analyze("what did I eat for dinner yesterday", NOW).time_led
    assert not analyze("what did I do", NOW).time_led


def test_a_period_is_the_callers_at_the_offset_of_now(maia: Maia) -> None:
    """Friday 21:00 in San Francisco is Saturday 05:00 in UTC: "yesterday" is the
    caller's Thursday, not UTC's Friday."""
    zone = timezone(timedelta(hours=-8))
    maia.create_memories(
        [
            MemoryCreate(
                namespace="sf", content=text, created_at=datetime(2024, 3, day, hour, tzinfo=zone)
            )
            for text, day, hour in (
                ("Had ramen with Dana downtown.", 14, 19),  # Thursday evening
                ("Swam forty lengths at the pool.", 15, 7),  # Friday morning
            )
        ]
    )
    results = search(
        maia,
        "what did I do yesterday",
        namespace="sf",
        now="2024-03-15T21:00:00-08:00",
        time_filter=True,
    )
    assert contents(results) == ["Had ramen with Dana downtown."]


def test_a_period_is_found_in_a_larger_store(maia: Maia) -> None:
    """Yesterday's two entries among 300 older ones: more than the vector candidates a
    search considers by similarity alone (search_candidates, 60)."""
    activities = [
        "went to the cinema",
        "cooked pasta for dinner",
        "walked the dog in the park",
        "read a novel on the balcony",
        "called my sister",
        "cleaned the garage",
    ]
    start = NOW - timedelta(days=400)
    maia.create_memories(
        [
            MemoryCreate(
                namespace="diary",
                content=f"Day {i}: {activities[i % len(activities)]}",
                created_at=start + timedelta(days=i),
            )
            for i in range(300)
        ]
    )
    for text in DIARY:
        maia.remember(text, namespace="diary", created_at=YESTERDAY)
    # Far down by similarity (about 250th of 302), yet candidates: the period counts.
    results = search(
        maia, "what happened yesterday", namespace="diary", now=NOW, limit=1000, explain=True
    )
    found = [r for r in results if r.memory.created_at == YESTERDAY]
    assert sorted(contents(found)) == sorted(DIARY)
    assert all(r.signals is not None and r.signals["time"] == 1.0 for r in found)
    filtered = search(maia, "what happened yesterday", namespace="diary", now=NOW, time_filter=True)
    assert sorted(contents(filtered)) == sorted(DIARY)


def test_time_filter_keeps_only_that_period(diary: Maia) -> None:
    results = search(diary, "what happened yesterday", namespace="diary", now=NOW, time_filter=True)
    assert sorted(contents(results)) == sorted(DIARY)
    assert set(days_of(results)) == {"2025-06-14"}
    results = search(diary, "hiking last year", namespace="diary", now=NOW, time_filter=True)
    assert set(days_of(results)) == {"2024-06-14"}
    assert contents(results)[0] == DIARY[1]
    # The range meets an explicit created range: both apply.
    assert (
        search(
            diary,
            "hiking last year",
            namespace="diary",
            now=NOW,
            time_filter=True,
            created_after=NOW - timedelta(days=30),
        )
        == []
    )
    # No time expression: time_filter changes nothing.
    plain = search(diary, "hiking in the mountains", namespace="diary", now=NOW)
    assert contents(
        search(diary, "hiking in the mountains", namespace="diary", now=NOW, time_filter=True)
    ) == contents(plain)


# -- odd queries ---------------------------------------------------------------------------


ODD_QUERIES = [
    "東京で何を食べましたか",
    "Что любит пить Алиса?",
    "ماذا تحب أليس أن تشرب؟",
    "🍵",
    "🍵🚲🎻",
    '"AND OR (',
    "NEAR(",
    "NEAR(tea bike, 2)",
    "*",
    "tea*",
    "content:tea",
    "^tea",
    "tea AND NOT bike",
    '"',
    "''",
    "-",
    "(((",
    "\u200b",
    "what happened on 2023-02-30?",  # not a date
    "tea since 1999 NEAR(",
    "x" * 4096,
]


def test_any_query_text_is_searched_without_error(maia: Maia) -> None:
    remember_all(
        maia,
        [
            "Alice prefers green tea",
            "Алиса любит зелёный чай",
            "東京で寿司を食べた",
            "أليس تحب الشاي الأخضر",
            "🍵 time",
            *UNRELATED,
        ],
    )
    variants: list[dict[str, Any]] = [
        {"namespace": "notes", "explain": True},
        {"now": NOW, "time_filter": True},
        {"namespace": "notes", "fusion": "rrf", "tags": ["none"]},
    ]
    for query in ODD_QUERIES:
        for fields in variants:
            results = search(maia, query, **fields)
            assert all(0.0 <= r.score <= 1.0 for r in results), (query, fields)


def test_words_of_other_scripts_are_matched(maia: Maia) -> None:
    remember_all(maia, ["Алиса любит зелёный чай", "أليس تحب الشاي الأخضر", *UNRELATED])
    assert contents(search(maia, "Алиса", namespace="notes"))[0] == "Алиса любит зелёный чай"
    assert contents(search(maia, "الشاي", namespace="notes"))[0] == "أليس تحب الشاي الأخضر"


# -- paging --------------------------------------------------------------------------------


def test_limit_and_offset_page_through_the_same_ranking(maia: Maia) -> None:
    remember_all(maia, [f"Green tea tasting, session {i}" for i in range(12)] + UNRELATED)
    everything = [r.memory.id for r in search(maia, "green tea tasting", namespace="notes")]
    assert len(everything) >= 12
    pages = [
        [
            r.memory.id
            for r in search(maia, "green tea tasting", namespace="notes", limit=5, offset=o)
        ]
        for o in (0, 5, 10)
    ]
    assert (
        pages[0] + pages[1] + pages[2][: len(everything) - 10] == everything[: 10 + len(pages[2])]
    )
    assert [len(p) for p in pages[:2]] == [5, 5]
    _, page = maia.search(SearchRequest(query="green tea", limit=0, offset=-3))
    assert (page.limit, page.offset) == (100, 0)
    _, page = maia.search(SearchRequest(query="green tea", limit=5000))
    assert page.limit == 1000
    assert search(maia, "green tea tasting", namespace="notes", offset=10_000) == []
    assert search(maia, "green tea tasting", namespace="notes", offset=2**62) == []
    assert len(maia.recall("green tea tasting", namespace="notes", limit=3)) == 3


def test_limit_and_offset_over_rest(serve: Callable[..., LiveServer]) -> None:
    server = serve(embedding_provider="local")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        batch = [{"namespace": "drinks", "content": f"Green tea, cup {i}"} for i in range(8)]
        assert http.post("/v1/memories/batch", json={"memories": batch}).status_code == 201

        def page(**body: Any) -> dict[str, Any]:
            response = http.post("/v1/memories/search", json={"query": "green tea", **body})
            assert response.status_code == 200
            data: dict[str, Any] = response.json()
            return data

        full = page(namespace="drinks")
        assert (full["count"], full["offset"], full["limit"]) == (8, 0, 100)
        ids = [hit["memory"]["id"] for hit in full["data"]]
        second = page(namespace="drinks", limit=3, offset=3)
        assert (second["count"], second["offset"], second["limit"]) == (3, 3, 3)
        assert [hit["memory"]["id"] for hit in second["data"]] == ids[3:6]
        assert page(namespace="drinks", limit=5000)["limit"] == 1000
        assert page(namespace="drinks", limit=0)["limit"] == 100
        assert page(namespace="drinks", limit=-7)["limit"] == 100
        clamped = page(namespace="drinks", offset=-4, limit=2)
        assert (clamped["offset"], clamped["count"]) == (0, 2)
        far = page(namespace="drinks", offset=10**12)
        assert (far["offset"], far["count"], far["data"]) == (10**12, 0, [])
        assert page(namespace="unknown")["data"] == []
        explained = page(namespace="drinks", explain=True, limit=1)["data"][0]
        assert set(explained["signals"]) == set(SIGNALS)
        assert "signals" not in full["data"][0]
        for query in ["東京", "🍵", '"AND OR (', "NEAR(", "*"]:
            response = http.post("/v1/memories/search", json={"query": query})
            assert response.status_code == 200, response.text


# -- how similar is similar enough -----------------------------------------------------------


def test_min_similarity_drops_unrelated_memories(
    maia: Maia, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    remember_all(maia, ["Alice prefers green tea", *UNRELATED])
    assert search(maia, "quantum chromodynamics on a lattice", namespace="notes") == []
    # A word match is kept whatever the similarity.
    assert contents(search(maia, "quantum cello", namespace="notes"))[0] == (
        "Bob plays the cello in an orchestra"
    )
    lenient = make_settings(
        embedding_provider="local", min_similarity=-1.0, data_dir=tmp_path / "lenient"
    )
    with Maia.open(settings=lenient) as again:
        remember_all(again, ["Alice prefers green tea", *UNRELATED])
        found = search(again, "quantum chromodynamics on a lattice", namespace="notes")
        assert len(found) == 1 + len(UNRELATED)


# -- a model change and reindex ------------------------------------------------------------

SEMANTIC_STORE = ["Alice prefers green tea", "Bob plays the cello in an orchestra", *UNRELATED]


def write_with_hashing(make_settings: Callable[..., Settings]) -> Settings:
    settings = make_settings()  # the hashing embedder
    with Maia.open(settings=settings) as maia:
        remember_all(maia, SEMANTIC_STORE)
        maia.for_tenant("acme").remember("Acme keeps its tea in the cupboard", namespace="a")
    return settings


def test_reindex_after_a_model_change(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    write_with_hashing(make_settings)
    total = len(SEMANTIC_STORE) + 1
    local = make_settings(embedding_provider="local")
    with caplog.at_level(logging.WARNING), Maia.open(settings=local) as maia:
        assert f"hashing-384-v1: {total}" in caplog.text
        assert "run `maia reindex`" in caplog.text
        assert len(maia.engine.index) == 0  # vectors of another model are never compared
        calls: list[tuple[int, int]] = []
        assert maia.reindex(lambda done, of: calls.append((done, of)), batch=4) == total
        assert calls == [(4, total), (8, total), (total, total)]
        assert len(maia.engine.index) == total
        assert contents(search(maia, "hot beverage", namespace="notes"))[0] == (
            "Alice prefers green tea"
        )
        assert contents(search(maia.for_tenant("acme"), "kitchen storage for drinks")) == [
            "Acme keeps its tea in the cupboard"
        ]
        assert maia.reindex() == 0  # nothing left to do
        with maia.store.read() as tx:
            assert tx.vector_counts() == {MODEL_ID: total}
    caplog.clear()
    with caplog.at_level(logging.WARNING), Maia.open(settings=local) as maia:
        assert len(maia.engine.index) == total
        assert contents(search(maia, "musical instrument", namespace="notes"))[0] == (
            "Bob plays the cello in an orchestra"
        )
    assert "another model" not in caplog.text
    assert "rebuilding" not in caplog.text


def test_cli_reindex(make_settings: Callable[..., Settings]) -> None:
    settings = write_with_hashing(make_settings)
    result = CliRunner().invoke(app, ["reindex", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 0, result.output
    assert f"re-embedded {len(SEMANTIC_STORE) + 1} memories with {MODEL_ID}" in result.stdout
    again = CliRunner().invoke(app, ["reindex", "--data-dir", str(settings.data_dir)])
    assert again.exit_code == 0, again.output
    assert f"re-embedded 0 memories with {MODEL_ID}" in again.stdout
    with Maia.open(settings=make_settings(embedding_provider="local")) as maia:
        assert len(maia.engine.index) == len(SEMANTIC_STORE) + 1
        assert contents(search(maia, "hot beverage", namespace="notes"))[0] == (
            "Alice prefers green tea"
        )
