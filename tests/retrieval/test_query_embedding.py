"""The query is embedded beside the full-text search, without the names of speakers it
mentions. On the embedded store the speaker index knows them before the search; without
one (PostgreSQL) the embedding starts from a guess, and a wrong guess is embedded again,
so results never depend on the guess."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

import pytest

from maia import Maia, Settings
from maia.models import MemoryCreate, MemoryFilter, SearchRequest
from maia.retrieval.embed.base import Vectors

TURNS = [
    'Alice said, "I adopted a greyhound called Pixel last spring."',
    'Bruno said, "My sister lives in Porto and teaches chemistry."',
    'Alice said, "Pixel hates the rain but loves the beach."',
    'Bruno said, "I am training for a marathon in October."',
]


class Recording:
    """Wraps the instance's embedder: which texts it embedded, from which threads."""

    def __init__(self, maia: Maia) -> None:
        self.engine = maia._engine
        self.inner = self.engine.embedder
        self.texts: list[str] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            self.texts.extend(texts)
            self.threads.add(threading.current_thread().name)
        return self.inner.embed(texts)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.fixture
def maia(make_settings: Callable[..., Settings]) -> Iterator[Maia]:
    with Maia.open(settings=make_settings()) as instance:
        instance.create_memories([MemoryCreate(namespace="chat", content=t) for t in TURNS])
        yield instance


def _ids(maia: Maia, query: str, namespace: str = "chat") -> list[str]:
    results, _ = maia.search(SearchRequest(query=query, namespace=namespace, limit=4))
    return [r.memory.id for r in results]


def test_speakers_are_known_before_the_first_search(maia: Maia) -> None:
    recording = Recording(maia)
    maia._engine.embedder = recording  # type: ignore[assignment]
    first = _ids(maia, "What does Alice say about Pixel?")
    assert recording.texts == ["What does say about Pixel?"]
    assert [t.startswith("maia-query-embed") for t in recording.threads] == [True]
    recording.texts.clear()
    assert _ids(maia, "What does Alice say about Pixel?") == first
    assert recording.texts == ["What does say about Pixel?"]


def test_only_the_searched_namespaces_speakers_count(maia: Maia) -> None:
    maia.remember("Dinner with Alice and Pixel at the beach.", namespace="diary")
    recording = Recording(maia)
    maia._engine.embedder = recording  # type: ignore[assignment]
    _ids(maia, "What does Alice say about Pixel?", namespace="diary")
    assert recording.texts == ["What does Alice say about Pixel?"]


def test_the_speakers_follow_the_writes(maia: Maia) -> None:
    recording = Recording(maia)
    maia._engine.embedder = recording  # type: ignore[assignment]
    lines = maia.list_memories(MemoryFilter(namespace="chat"))
    maia.delete_memories([m.id for m in lines if m.content.startswith("Alice")])
    _ids(maia, "What does Alice say about Pixel?")
    assert recording.texts == ["What does Alice say about Pixel?"]


@pytest.fixture
def guessing(maia: Maia) -> Maia:
    """The instance as on a store without a speaker index."""
    maia._engine.speakers = None
    return maia


def test_a_wrong_guess_is_embedded_again_with_the_same_results(guessing: Maia) -> None:
    maia = guessing
    recording = Recording(maia)
    maia._engine.embedder = recording  # type: ignore[assignment]
    first = _ids(maia, "What does Alice say about Pixel?")
    # Nothing known yet: the guess keeps "Alice" (it may be cancelled before it runs);
    # the text matches show she is a speaker, so the query is embedded without her name.
    assert recording.texts[-1] == "What does say about Pixel?"
    assert set(recording.texts) <= {
        "What does Alice say about Pixel?",
        "What does say about Pixel?",
    }
    recording.texts.clear()
    recording.threads.clear()
    second = _ids(maia, "What does Alice say about Pixel?")
    # Now the namespace's speakers are known: one embedding, the right one, in the
    # background thread.
    assert recording.texts == ["What does say about Pixel?"]
    assert [t.startswith("maia-query-embed") for t in recording.threads] == [True]
    assert second == first


def test_speakers_are_remembered_per_namespace(guessing: Maia) -> None:
    maia = guessing
    _ids(maia, "What does Alice say about Pixel?")
    maia.create_memories([MemoryCreate(namespace="other", content=t) for t in TURNS])
    known = maia._engine._speakers
    assert [scope[1] for scope in known] == ["chat"]
    assert known[next(iter(known))] == {"alice"}
    _ids(maia, "What does Alice say about Pixel?", namespace="other")
    assert sorted(scope[1] or "" for scope in known) == ["chat", "other"]


def test_a_query_without_speakers_is_embedded_once(maia: Maia) -> None:
    recording = Recording(maia)
    maia._engine.embedder = recording  # type: ignore[assignment]
    assert _ids(maia, "marathon training")
    assert recording.texts == ["marathon training"]
