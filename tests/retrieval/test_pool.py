"""The candidate pool of one search: the two-line window, the text share of the line
before, and names that address someone rather than mention them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maia.models import MemoryFilter
from maia.retrieval.analyzer import analyze, entities
from maia.retrieval.engine import PREVIOUS_TEXT_SHARE, SearchPlan, _Pool
from maia.retrieval.entities import EntityMatcher, entity_matcher
from maia.store.base import RankRow
from maia.store.timestamps import to_micros

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


class Vectors:
    """The one part of a vector index the pool reads: stored vectors by key, as rows."""

    def __init__(self, vectors: dict[int, list[float]]) -> None:
        self._vectors = {k: np.array(v, dtype=np.float32) for k, v in vectors.items()}

    def matrix(self, keys: Iterable[int]) -> tuple[list[int], npt.NDArray[np.float32]]:
        found = list(dict.fromkeys(k for k in keys if k in self._vectors))
        return found, np.array([self._vectors[k] for k in found], dtype=np.float32)


def pool(
    query: str,
    vectors: dict[int, list[float]] | None = None,
    bm25: dict[int, float] | None = None,
    query_vector: list[float] | None = None,
) -> _Pool:
    """A pool over keys 1, 2, 3, ... written in that order (each one's predecessor is
    the key before it)."""
    plan = SearchPlan(
        tenant="t",
        query=query,
        analysis=analyze(query, NOW),
        filter=MemoryFilter(),
        limit=10,
        weights={},
        now=NOW,
    )
    found = _Pool(
        plan,
        Vectors(vectors or {}),  # type: ignore[arg-type]
        bm25 or {},
        lambda seqs: {s: s - 1 for s in seqs if s > 1},
    )
    found.requery(np.array(query_vector or [1.0, 0.0, 0.0], dtype=np.float32))
    return found


def row(seq: int, content: str) -> RankRow:
    return RankRow(seq, f"id-{seq}", content, to_micros(NOW), 0, 1.0, "fact", None, to_micros(NOW))


def rows(*contents: str) -> dict[int, RankRow]:
    return {i: row(i, c) for i, c in enumerate(contents, start=1)}


def by_key(p: _Pool) -> dict[int, tuple[float | None, float | None]]:
    return dict(zip(p.table.keys, zip(p.table.vector, p.table.text, strict=True), strict=True))


def test_a_line_ranks_by_the_window_it_ends_when_that_is_more_similar() -> None:
    # 1 matches the query; 2 alone is unrelated, but ends the window 1+2; 3 follows 2.
    p = pool("q", vectors={1: [1, 0, 0], 2: [0, 1, 0], 3: [0, 0, 1]})
    p.add(rows("asked", "answered", "moved on"), keep=lambda seq, sim: True)
    found = by_key(p)
    assert found[1][0] == pytest.approx(1.0)  # no predecessor: its own similarity
    assert found[2][0] == pytest.approx(1 / math.sqrt(2))  # (v1 + v2) / |v1 + v2| . q
    assert found[3][0] == pytest.approx(0.0)  # its window (2+3) is as unrelated as itself
    # A new query vector measures the windows again.
    p.requery(np.array([0.0, 1.0, 0.0], dtype=np.float32))
    found = by_key(p)
    assert found[1][0] == pytest.approx(0.0)
    assert found[2][0] == pytest.approx(1.0)
    assert found[3][0] == pytest.approx(1 / math.sqrt(2))


def test_whether_a_line_is_similar_enough_to_be_a_result_is_its_own_similarity() -> None:
    p = pool("q", vectors={1: [1, 0, 0], 2: [0, 1, 0]})
    p.add(rows("asked", "answered"), keep=p.relevant)
    assert set(by_key(p)) == {1}  # 2's window is similar, 2 itself is not


def test_a_line_keeps_a_share_of_the_full_text_relevance_of_the_line_before() -> None:
    p = pool("q", vectors={1: [1, 0, 0], 2: [0, 1, 0], 3: [0, 0, 1]}, bm25={1: 4.0, 3: 1.0})
    p.add(rows("asked", "answered", "moved on"), keep=lambda seq, sim: True)
    found = by_key(p)
    assert found[1][1] == 4.0
    assert found[2][1] == PREVIOUS_TEXT_SHARE * 4.0
    assert found[3][1] == 1.0  # its own match; the line before has none


def test_a_line_keeps_its_own_text_relevance_when_that_is_higher() -> None:
    p = pool("q", vectors={1: [1, 0, 0], 2: [0, 1, 0]}, bm25={1: 2.0, 2: 5.0})
    p.add(rows("asked", "answered"), keep=lambda seq, sim: True)
    assert by_key(p)[2][1] == 5.0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('Maria said, "I like jazz."', 1.0),  # said by her
        ('Sam said, "Maria likes jazz."', 0.5),  # about her
        ('Sam said, "I went to the concert with Maria."', 0.5),
        ('Sam said, "Thanks, Maria! See you soon."', 0.0),  # said to her
        ('Sam said, "Hey Maria, how was your week?"', 0.0),
        ('Sam said, "Maria, look at this."', 0.0),
        ('Sam said, "I loved it, Maria."', 0.0),
        ('Sam said, "Thank you Maria!"', 0.0),
        ('Sam said, "Thanks, Maria! Did Maria Lopez call?"', 0.5),  # named again
        ('Sam said, "Sorry, Maria. I told Maria, my aunt, everything."', 0.5),
    ],
)
def test_a_name_that_addresses_someone_is_no_mention(content: str, expected: float) -> None:
    assert entity_matcher(tuple(entities("What does Maria like?"))).score(content) == expected


def test_a_full_name_that_addresses_someone_is_no_mention() -> None:
    score = entity_matcher(tuple(entities("What did John Smith say?"))).score
    assert score('Sam said, "Hey John Smith, good to see you!"') == 0.0
    assert score('Sam said, "I met John Smith today."') == 0.5


TOKENS = ["maria", "MARIA", "Maria's", "john", "Smith", "Jo", "hey", "thanks", "said"]
TOKENS += ["0", "_", "x", "é", "ſ", ",", ".", "!", ":", '"', " ", " ", " "]


@given(
    st.lists(st.sampled_from(TOKENS), max_size=16),
    st.sampled_from(["Maria", "John Smith", "José", "Maria and John", "Jo"]),
)
@settings(max_examples=500)
def test_ascii_text_is_scored_as_the_pattern_scores_it(tokens: list[str], names: str) -> None:
    """The substring search used for ASCII text finds what the pattern finds."""
    content = "".join(tokens)
    matcher = EntityMatcher(tuple(entities(f"What did {names} say?")))
    by_pattern = EntityMatcher(tuple(entities(f"What did {names} say?")))
    by_pattern._ascii_parts = None  # the pattern on every text
    assert matcher.score(content) == by_pattern.score(content)
