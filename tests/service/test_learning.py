"""Learning from conversations through the library: extract, then ``Maia.learn``, on a
real SQLite store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from maia import Maia, Settings
from maia.models import MemorySource, NamespaceConfig, NamespaceCreate, SearchRequest
from maia.proxy.extract import Extracted, extract
from maia.proxy.inject import context_block, inject
from maia.security.principal import Principal
from maia.service.learning import LearnResult, content_words, is_duplicate
from tests.threads import run_together

NS = "sam"

CONVERSATION = [
    ("Hi, I'm Sam. I live in Paris and I work as a nurse.", "Nice to meet you, Sam!"),
    ("I prefer tea over coffee.", "Got it, you prefer tea over coffee."),
    ("Always answer in British English.", "Understood."),
    ("My daughter's name is Lea. What should we cook tonight?", "How about a risotto?"),
    ("If I lived by the sea I would eat fish every day.", "Sounds lovely."),
]
EXPECTED = {
    "The user's name is Sam.": ("identity", "episodic"),
    "The user lives in Paris.": ("user_declaration", "episodic"),
    "The user works as a nurse.": ("user_declaration", "episodic"),
    "The user prefers tea over coffee.": ("preference", "semantic"),
    "The user wants the assistant to always answer in British English.": (
        "instruction",
        "semantic",
    ),
    "The user's daughter's name is Lea.": ("user_declaration", "episodic"),
}


def converse(maia: Maia, turns: list[tuple[str, str]], **learn: Any) -> list[LearnResult]:
    """Runs the turns as the proxy would: the whole history sent each time, the reply
    learned along with it."""
    history: list[dict[str, Any]] = []
    results = []
    for user, reply in turns:
        history.append({"role": "user", "content": user})
        results.append(maia.learn(extract(history, reply), namespace=NS, **learn))
        history.append({"role": "assistant", "content": reply})
    return results


def learned(maia: Maia) -> dict[str, Any]:
    return {m.content: m for m in maia.list_memories() if m.source is MemorySource.EXTRACTED}


def test_a_conversation_becomes_memories(maia: Maia) -> None:
    converse(maia, CONVERSATION, conversation_id="c-1")
    memories = learned(maia)
    assert set(memories) == set(EXPECTED)
    for content, (category, type_) in EXPECTED.items():
        memory = memories[content]
        assert memory.namespace == NS
        assert memory.type.value == type_
        assert memory.confidence == pytest.approx(0.7)
        assert memory.metadata == {
            "extraction_category": category,
            "extraction_source": "user_message",
            "conversation_id": "c-1",
        }


def test_the_same_conversation_again_touches_instead_of_duplicating(maia: Maia) -> None:
    first = converse(maia, CONVERSATION)
    before = learned(maia)
    again = converse(maia, CONVERSATION)
    after = learned(maia)
    assert set(after) == set(before)
    assert len(maia.list_memories()) == len(before)
    assert all(not r.created for r in again)
    assert sorted(i for r in again for i in r.touched) == sorted(
        i for r in first for i in r.created
    )
    assert all(m.access_count >= 1 for m in after.values())
    assert all(m.metadata and "conversation_id" not in m.metadata for m in after.values())


def test_injected_context_yields_nothing(maia: Maia) -> None:
    block = context_block("The user lives in Rome.\nI live in Rome. My name is Carla.")
    for position in ("system", "first_user", "before_last"):
        messages = inject([{"role": "user", "content": "What's the weather?"}], block, position)
        found = extract(messages, f"{block}\n\nSunny.")
        assert found == []
        assert maia.learn(found, namespace=NS) == LearnResult()
    assert maia.count_memories(NS) == 0


def live(maia: Maia) -> list[str]:
    return [r.memory.content for r in maia.recall("where does the user live", namespace=NS)]


def test_a_correction_supersedes_the_fact_it_corrects(maia: Maia) -> None:
    converse(maia, [("I live in Paris and I like jazz.", "Nice.")])
    paris = learned(maia)["The user lives in Paris."]
    (result,) = converse(maia, [("Actually, I moved to Berlin.", "Noted.")])
    berlin = learned(maia)["The user lives in Berlin."]
    assert result.created == [berlin.id]
    assert result.superseded == [(berlin.id, paris.id)]
    (edge,) = maia.relations(berlin.id, direction="out")
    assert (edge.target_id, edge.type.value) == (paris.id, "supersedes")
    assert edge.metadata == {"reason": "correction", "replaces": "where the user lives"}
    hits = live(maia)
    assert "The user lives in Berlin." in hits
    assert "The user lives in Paris." not in hits
    assert "The user likes jazz." in [
        r.memory.content for r in maia.recall("jazz music", namespace=NS)
    ]  # the other fact of the first turn stays
    everything, _ = maia.search(
        SearchRequest(query="where does the user live", namespace=NS, include_superseded=True)
    )
    assert "The user lives in Paris." in [r.memory.content for r in everything]


def test_a_replayed_correction_changes_nothing(maia: Maia) -> None:
    turns = [("I live in Paris.", "Nice."), ("Actually, I moved to Berlin.", "Noted.")]
    converse(maia, turns)
    relations_before = sum(len(maia.relations(m.id)) for m in maia.list_memories())
    again = converse(maia, turns)
    assert all(not r.created and not r.superseded for r in again)
    assert sum(len(maia.relations(m.id)) for m in maia.list_memories()) == relations_before
    assert "The user lives in Paris." not in live(maia)
    assert "The user lives in Berlin." in live(maia)


def test_moving_back_revives_the_old_fact(maia: Maia) -> None:
    converse(
        maia,
        [
            ("I live in Paris.", "Nice."),
            ("Actually, I moved to Berlin.", "Noted."),
            ("Actually, I moved back to Paris.", "Welcome back."),
        ],
    )
    assert set(learned(maia)) == {"The user lives in Paris.", "The user lives in Berlin."}
    hits = live(maia)
    assert "The user lives in Paris." in hits
    assert "The user lives in Berlin." not in hits


def test_a_no_longer_correction_supersedes_the_exact_fact(maia: Maia) -> None:
    converse(maia, [("I'm a teacher.", "Great."), ("I love hiking.", "Nice.")])
    (result,) = converse(maia, [("I'm not a teacher anymore, now I'm a developer.", "Cool.")])
    memories = learned(maia)
    assert result.superseded == [
        (memories["The user is a developer."].id, memories["The user is a teacher."].id)
    ]


def test_a_correction_with_nothing_to_correct_supersedes_nothing(maia: Maia) -> None:
    converse(maia, [("I like green tea.", "Nice."), ("I work at Acme.", "Cool.")])
    (result,) = converse(maia, [("Actually, I moved to Berlin.", "Noted.")])
    assert len(result.created) == 1
    assert result.superseded == []


def test_repeats_within_one_batch_are_stored_once(maia: Maia) -> None:
    items = [
        Extracted("The user likes tea.", "preference", "user_message", "semantic"),
        Extracted("the user likes  tea", "preference", "assistant_response", "semantic"),
        Extracted("   ", "preference", "user_message", "semantic"),
    ]
    result = maia.learn(items, namespace=NS)
    assert len(result.created) == 1
    assert maia.count_memories(NS) == 1
    assert maia.learn([], namespace=NS) == LearnResult()


def test_concurrent_learning_of_one_conversation_stores_each_fact_once(maia: Maia) -> None:
    """Replies to one conversation arrive together (the proxy learns from each in its
    own thread, and every request repeats the history): still one memory per fact."""
    found = [
        item
        for user, reply in CONVERSATION
        for item in extract([{"role": "user", "content": user}], reply)
    ]
    failures = run_together([lambda: maia.learn(found, namespace=NS)] * 8)
    assert failures == []
    stored = [m.content for m in maia.list_memories() if m.source is MemorySource.EXTRACTED]
    assert sorted(stored) == sorted(EXPECTED)


def test_one_refused_item_does_not_stop_the_others(maia: Maia) -> None:
    maia.create_namespace(
        NamespaceCreate(name=NS, config=NamespaceConfig(allowed_types=["semantic"]))
    )
    items = extract([{"role": "user", "content": "I live in Oslo. I prefer tea."}], None)
    result = maia.learn(items, namespace=NS)
    assert [m.content for m in maia.list_memories()] == ["The user prefers tea."]
    assert result.failed == ["The user lives in Oslo."]
    assert len(result.created) == 1


def test_a_forbidden_namespace_stores_nothing_and_does_not_raise(maia: Maia) -> None:
    view = maia.for_principal(Principal("system", "k", namespaces=("other",)))
    items = extract([{"role": "user", "content": "I live in Oslo."}], None)
    result = view.learn(items, namespace=NS)
    assert result.failed == ["The user lives in Oslo."]
    assert maia.count_memories() == 0


def test_duplicates_need_agreeing_words_and_polarity() -> None:
    assert is_duplicate("The user likes tea.", "the user likes tea", 0.0)
    assert is_duplicate("The user works at Google.", "The user works for Google.", 0.97)
    assert not is_duplicate("The user lives in Berlin.", "The user works in Berlin.", 0.91)
    assert not is_duplicate("The user has two kids.", "The user has three kids.", 0.95)
    assert not is_duplicate("The user likes tea.", "The user doesn't like tea.", 0.95)
    assert content_words("The user prefers teas.") == content_words("the user prefer tea")


@pytest.fixture
def semantic_maia(make_settings: Callable[..., Settings]) -> Iterator[Maia]:
    with Maia.open(settings=make_settings(embedding_provider="local")) as instance:
        yield instance


def test_near_duplicates_by_meaning_are_touched(semantic_maia: Maia) -> None:
    maia = semantic_maia
    (first,) = converse(maia, [("I prefer tea over coffee.", "Noted.")])
    (second,) = converse(maia, [("I prefer tea to coffee.", "Noted.")])
    assert second.created == []
    assert second.touched == first.created
    (third,) = converse(maia, [("I work in Berlin.", "Nice.")])
    assert len(third.created) == 1  # close in meaning to nothing stored


def test_corrections_by_meaning(semantic_maia: Maia) -> None:
    maia = semantic_maia
    converse(
        maia,
        [
            ("I live in Paris and I work at Google.", "Nice."),
            ("My sister lives in Madrid. My name is Sam.", "Cool."),
        ],
    )
    (result,) = converse(maia, [("Actually, I moved to Berlin.", "Noted.")])
    memories = learned(maia)
    assert result.superseded == [
        (memories["The user lives in Berlin."].id, memories["The user lives in Paris."].id)
    ]
    hits = live(maia)
    assert hits[0] == "The user lives in Berlin."
    assert "The user lives in Paris." not in hits
