"""The in-memory full-text index: FTS5's words and BM25 scores, scopes, changes, and
staying in step with the store through the service's writes."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from maia import Maia, Settings
from maia.models import MemoryCreate, MemoryUpdate, SearchRequest
from maia.retrieval.index import fulltext
from maia.retrieval.index.fulltext import Terms, TextIndex
from maia.retrieval.index.vectors import Scope
from maia.store.base import StoredText

T0 = datetime(2025, 1, 1, tzinfo=UTC)
VOCABULARY = (
    "running runs ran city cities moved moving travel travelling garden gardens bake "
    "baking bread coffee morning evening music concert guitar painting painted lake "
    "mountain hiking hiked book books reading sister brother friend friends dog walk"
).split()
TAGS = ("work", "family", "hobby", "travel", "health")


def doc(
    seq: int,
    content: str,
    namespace: str = "notes",
    tenant: str = "acme",
    tags: tuple[str, ...] = (),
) -> StoredText:
    return StoredText(seq, tenant, namespace, content, tags, T0 + timedelta(minutes=seq))


def random_docs(rng: random.Random, count: int, first: int = 1) -> list[StoredText]:
    return [
        doc(
            seq,
            " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 30))),
            tags=tuple(rng.sample(TAGS, rng.randint(0, 2))),
        )
        for seq in range(first, first + count)
    ]


def fts5_ranking(docs: list[StoredText], query: str) -> list[tuple[int, float]]:
    """What SQLite's FTS5 answers, as MAIA's schema declares the table."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE f USING fts5 (content, tags, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    db.executemany(
        "INSERT INTO f (rowid, content, tags) VALUES (?, ?, ?)",
        [(d.seq, d.content, " ".join(d.tags)) for d in docs],
    )
    match = " OR ".join(f'"{word}"' for word in dict.fromkeys(query.lower().split()))
    rows = db.execute(
        "SELECT rowid, -bm25(f, 1.0, 0.5) AS r FROM f WHERE f MATCH ? ORDER BY r DESC, rowid",
        (match,),
    ).fetchall()
    return [(seq, score) for seq, score in rows]


def indexed(docs: list[StoredText]) -> TextIndex:
    index = TextIndex()
    index.load(docs)
    return index


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dense", [0, 10**9], ids=["sorted", "counted"])
def test_scores_and_order_are_those_of_fts5(
    seed: int, dense: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fulltext, "DENSE", dense)  # both ways of summing matches per slot
    rng = random.Random(seed)
    docs = random_docs(rng, 300)
    index = indexed(docs)
    for _ in range(10):
        query = " ".join(rng.sample(VOCABULARY + list(TAGS), rng.randint(1, 4)))
        expected = fts5_ranking(docs, query)
        found = index.search(query, Scope("acme"), 1000)
        assert len(found) == len(expected), query
        scores = dict(expected)
        assert np.allclose([s for _, s in found], [scores[seq] for seq, _ in found], rtol=1e-9)
        assert found == sorted(found, key=lambda hit: (-hit[1], hit[0]))  # ties: oldest first


def test_terms_fold_case_and_diacritics_and_stem_like_fts5() -> None:
    terms = Terms()
    assert terms("Café RUNNING Naïve") == ["cafe", "run", "naiv"]
    assert terms("as is us") == ["as", "is", "us"]  # short words are left alone
    assert terms("snake_case 3rd") == ["snake", "case", "3rd"]
    assert terms('"AND OR (') == ["and", "or"]
    assert terms("🎉 !!") == []
    assert terms("東京 в Москве") == ["東京", "в", "москве"]


def test_a_page_is_the_best_first_and_ties_go_to_the_oldest() -> None:
    index = indexed([doc(3, "garden"), doc(1, "garden"), doc(2, "garden lake"), doc(4, "lake")])
    assert [seq for seq, _ in index.search("garden", Scope("acme"), 10)] == [1, 3, 2]
    assert [seq for seq, _ in index.search("garden", Scope("acme"), 2)] == [1, 3]
    assert index.search("garden", Scope("acme"), 0) == []
    assert index.search("", Scope("acme"), 10) == []
    assert index.search("unknown words", Scope("acme"), 10) == []


def test_scope_namespaces_descendants_and_tenants() -> None:
    index = indexed(
        [
            doc(1, "garden", "team"),
            doc(2, "garden", "team/alice"),
            doc(3, "garden", "teammates"),
            doc(4, "garden", "team", tenant="other"),
        ]
    )

    def keys(scope: Scope) -> set[int]:
        return {seq for seq, _ in index.search("garden", scope, 10)}

    assert keys(Scope("acme")) == {1, 2, 3}
    assert keys(Scope("acme", ("team",))) == {1}
    assert keys(Scope("acme", ("team",), descendants=True)) == {1, 2}
    assert keys(Scope("other")) == {4}
    assert keys(Scope("nobody")) == set()
    assert keys(Scope("acme", ("elsewhere",))) == set()  # matches, none in scope
    allowed = np.array([2, 3], dtype=np.int64)
    assert {seq for seq, _ in index.search("garden", Scope("acme"), 10, allowed=allowed)} == {
        2,
        3,
    }


def test_another_tenants_memories_do_not_move_scores() -> None:
    rng = random.Random(7)
    mine = random_docs(rng, 50)
    alone = indexed(mine).search("garden coffee", Scope("acme"), 50)
    crowded = indexed(mine)
    crowded.add(doc(1000 + i, "garden garden", tenant="other") for i in range(200))
    assert crowded.search("garden coffee", Scope("acme"), 50) == alone


def test_a_changed_memory_is_found_by_its_new_words_only() -> None:
    index = indexed([doc(1, "garden", tags=("work",)), doc(2, "coffee")])
    index.add([doc(1, "concert", "elsewhere", tags=("family",))])
    assert index.search("garden", Scope("acme"), 10) == []
    assert index.search("work", Scope("acme"), 10) == []
    assert [
        seq for seq, _ in index.search("concert family", Scope("acme", ("elsewhere",)), 10)
    ] == [1]
    assert len(index) == 2


def test_removal_and_compaction_give_what_a_fresh_index_gives() -> None:
    rng = random.Random(3)
    docs = random_docs(rng, 3000)
    index = indexed(docs)
    gone = set(rng.sample(range(1, 3001), 2200))  # enough to compact
    index.remove(sorted(gone))
    index.remove([999_999])  # unknown keys are ignored
    kept = [d for d in docs if d.seq not in gone]
    fresh = indexed(kept)
    assert len(index) == len(kept)
    for query in ("garden", "coffee morning travel", "books dog family"):
        assert index.search(query, Scope("acme"), 100) == fresh.search(query, Scope("acme"), 100)
    index.add(random_docs(rng, 10, first=5000))  # still takes writes after compacting
    assert {seq for seq, _ in index.search("garden", Scope("acme"), 10_000)} >= {
        d.seq for d in kept if "garden" in d.content.split()
    }


def test_replacing_memories_again_and_again_keeps_the_index_compact() -> None:
    index = indexed([doc(1, "garden"), doc(2, "coffee")])
    for round_ in range(3000):
        index.add([doc(1, f"garden round{round_}")])
    assert index._removed <= 1024 + len(index)  # compacted along the way
    assert [seq for seq, _ in index.search("garden coffee", Scope("acme"), 10)] == [2, 1]
    assert [seq for seq, _ in index.search("round2999", Scope("acme"), 10)] == [1]
    assert index.search("round0", Scope("acme"), 10) == []


# -- in step with the store, through the service ------------------------------------------


@pytest.fixture
def maia(make_settings: Callable[..., Settings]) -> Iterator[Maia]:
    with Maia.open(settings=make_settings()) as instance:
        yield instance


def found(maia: Maia, query: str) -> list[str]:
    results, _ = maia.search(SearchRequest(query=query, namespace="notes", min_similarity=0.99))
    return [r.memory.content for r in results]


def test_writes_updates_and_deletes_reach_the_index(
    maia: Maia, make_settings: Callable[..., Settings]
) -> None:
    created = maia.create_memories(
        [
            MemoryCreate(namespace="notes", content="The zeppelin lands at noon"),
            MemoryCreate(namespace="notes", content="Buy oat milk", tags=["errands"]),
        ]
    )
    assert found(maia, "zeppelin") == ["The zeppelin lands at noon"]
    maia.update_memory(created[1].id, MemoryUpdate(tags=["groceries"]))  # tags only
    assert found(maia, "groceries") == ["Buy oat milk"]
    assert found(maia, "errands") == []
    maia.update_memory(created[0].id, MemoryUpdate(content="The airship lands at noon"))
    assert found(maia, "zeppelin") == []
    assert found(maia, "airship") == ["The airship lands at noon"]
    maia.forget(created[0].id)
    assert found(maia, "airship") == []
    maia.close()
    with Maia.open(settings=make_settings()) as reopened:  # rebuilt from the store
        assert found(reopened, "groceries") == ["Buy oat milk"]
        assert found(reopened, "airship") == []
