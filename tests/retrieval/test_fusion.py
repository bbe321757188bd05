"""Signal fusion: normalisation, weights, and the weighted and RRF modes."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maia.retrieval.fusion import (
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_WEIGHTS,
    QUESTION_MATCH,
    SIGNALS,
    Candidate,
    FusionMode,
    Scored,
    SignalTable,
    fuse,
    normalise,
    weights_for,
)

# Enough examples to find edge cases; few enough to keep the folder fast. No deadline:
# a loaded machine must not turn slowness into failures.
quick = settings(max_examples=40, deadline=None)

# Signals read straight from a candidate field of the same name, clamped to [0, 1].
CLAMPED = tuple(s for s in SIGNALS if s not in ("vector", "text", "recency", "frequency"))


@dataclass(frozen=True)
class Spec:
    """The raw inputs of one candidate; ``fuse`` fills ``signals`` in, so build fresh ones."""

    vector: float | None
    text: float | None
    age_days: float
    access_count: int
    clamped: tuple[tuple[str, float], ...] = ()  # (signal, value) for CLAMPED signals

    def build(self, key: int) -> Candidate:
        candidate = Candidate(
            key=key,
            vector=self.vector,
            text=self.text,
            age_days=self.age_days,
            access_count=self.access_count,
        )
        for name, value in self.clamped:
            setattr(candidate, name, value)
        return candidate


def _unit(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats in [low, high], with the ends, 0 and 0.5 drawn often so ties happen."""
    return st.one_of(
        st.sampled_from(sorted({low, max(low, min(0.0, high)), 0.5, high})),
        st.floats(low, high, allow_nan=False),
    )


specs = st.builds(
    Spec,
    vector=st.none() | _unit(-1.0, 1.0),
    text=st.none() | _unit(0.0, 40.0),
    age_days=_unit(-1.0, 3650.0),
    access_count=st.integers(0, 1000),
    # Out-of-range values are clamped.
    clamped=st.tuples(*(st.tuples(st.just(name), _unit(-0.5, 1.5)) for name in CLAMPED)),
)
# Any finite weight >= 0, extremes included (only relative weights should matter).
weight_maps = st.dictionaries(
    st.sampled_from(SIGNALS),
    st.sampled_from([0.0, 1.0, 5e-324, 1e308]) | st.floats(0.0, 10.0),
    max_size=8,
)
modes = st.sampled_from(list(FusionMode))


def build(items: list[Spec], keys: list[int] | None = None) -> list[Candidate]:
    keys = keys if keys is not None else list(range(len(items)))
    return [spec.build(key) for spec, key in zip(items, keys, strict=True)]


def ranking(scored: list[Scored]) -> list[tuple[int, float]]:
    return [(s.key, s.score) for s in scored]


@quick
@given(items=st.lists(specs, max_size=8), weights=weight_maps, mode=modes, data=st.data())
def test_scores_are_bounded_sorted_and_cover_every_candidate(
    items: list[Spec], weights: dict[str, float], mode: FusionMode, data: st.DataObject
) -> None:
    keys = data.draw(
        st.lists(st.integers(-1000, 1000), min_size=len(items), max_size=len(items), unique=True)
    )
    scored = fuse(build(items, keys), weights, mode=mode)
    assert sorted(s.key for s in scored) == sorted(keys)
    for s in scored:
        assert 0.0 <= s.score <= 1.0
        assert set(s.signals) == set(SIGNALS)
        assert all(0.0 <= v <= 1.0 for v in s.signals.values())
    order = [(-s.score, s.key) for s in scored]
    assert order == sorted(order)


@quick
@given(items=st.lists(specs, max_size=10), weights=weight_maps, mode=modes)
def test_input_order_does_not_matter(
    items: list[Spec], weights: dict[str, float], mode: FusionMode
) -> None:
    keys = list(range(len(items)))
    forward = fuse(build(items, keys), weights, mode=mode)
    backward = fuse(build(items[::-1], keys[::-1]), weights, mode=mode)
    assert ranking(forward) == ranking(backward)


@quick
@given(items=st.lists(specs, max_size=10), weights=weight_maps, mode=modes)
def test_a_signal_table_fuses_as_its_candidates_do(
    items: list[Spec], weights: dict[str, float], mode: FusionMode
) -> None:
    """The engine keeps its candidates as columns, one append per candidate."""
    candidates = build(items)
    table = SignalTable()
    for c in build(items):
        table.keys.append(c.key)
        table.vector.append(c.vector)
        table.text.append(c.text)
        table.age_days.append(c.age_days)
        table.access_count.append(c.access_count)
        table.confidence.append(c.confidence)
        table.graph.append(c.graph)
        table.entity.append(c.entity)
        table.time.append(c.time)
        table.context.append(c.context)
        table.asks.append(c.asks)
    assert fuse(table, weights, mode=mode, top=5) == fuse(candidates, weights, mode=mode, top=5)
    assert fuse(SignalTable(), weights) == []


@quick
@given(spec=specs, weights=weight_maps, mode=modes)
def test_identical_candidates_score_the_same(
    spec: Spec, weights: dict[str, float], mode: FusionMode
) -> None:
    scored = fuse(build([spec, spec, spec], [3, 1, 2]), weights, mode=mode)
    assert [s.key for s in scored] == [1, 2, 3]
    assert len({s.score for s in scored}) == 1


@st.composite
def dominating(draw: st.DrawFn, base: Spec) -> Spec:
    """A spec at least as good as ``base`` in every signal."""
    more = st.floats(0.0, 5.0)

    def better(value: float | None) -> float | None:
        if value is None:
            return draw(st.none() | st.floats(-1.0, 40.0))
        return value + draw(more)

    return Spec(
        vector=better(base.vector),
        text=better(base.text),
        age_days=base.age_days - draw(more),
        access_count=base.access_count + draw(st.integers(0, 50)),
        clamped=tuple((name, value + draw(more)) for name, value in base.clamped),
    )


@quick
@given(
    others=st.lists(specs, max_size=8),
    base=specs,
    weights=weight_maps,
    mode=modes,
    data=st.data(),
)
def test_a_dominating_candidate_never_scores_lower(
    others: list[Spec],
    base: Spec,
    weights: dict[str, float],
    mode: FusionMode,
    data: st.DataObject,
) -> None:
    better = data.draw(dominating(base))
    scored = {s.key: s.score for s in fuse(build([base, better, *others]), weights, mode=mode)}
    assert scored[1] >= scored[0]


def _perturb(spec: Spec, signal: str, data: st.DataObject) -> Spec:
    """``spec`` with a new raw value for ``signal`` only."""
    if signal == "vector":
        return replace(spec, vector=data.draw(st.none() | st.floats(-1.0, 1.0)))
    if signal == "text":
        return replace(spec, text=data.draw(st.none() | st.floats(0.0, 40.0)))
    if signal == "recency":
        return replace(spec, age_days=data.draw(st.floats(0.0, 3650.0)))
    if signal == "frequency":
        return replace(spec, access_count=data.draw(st.integers(0, 1000)))
    assert signal in CLAMPED
    clamped = dict(spec.clamped)
    clamped[signal] = data.draw(st.floats(0.0, 1.0))
    return replace(spec, clamped=tuple(clamped.items()))


@quick
@given(
    items=st.lists(specs, min_size=1, max_size=8),
    weights=weight_maps,
    signal=st.sampled_from(SIGNALS),
    mode=modes,
    data=st.data(),
)
def test_a_zero_weight_removes_its_signal(
    items: list[Spec],
    weights: dict[str, float],
    signal: str,
    mode: FusionMode,
    data: st.DataObject,
) -> None:
    # Another signal keeps a positive weight: with every weight at zero, fusion falls
    # back to vector + text (tested below).
    other = data.draw(st.sampled_from([s for s in SIGNALS if s != signal]))
    weights = {**weights, other: data.draw(st.floats(0.01, 10.0)), signal: 0.0}
    changed = [_perturb(spec, signal, data) for spec in items]
    assert ranking(fuse(build(items), weights, mode=mode)) == ranking(
        fuse(build(changed), weights, mode=mode)
    )


def test_a_positive_weight_does_change_scores() -> None:
    # The counterpart of the property above, so it cannot pass vacuously.
    items = [Spec(0.5, None, 0.0, 0), Spec(0.5, None, 0.0, 0, (("time", 1.0),))]
    weights = {"vector": 1.0, "time": 1.0}
    assert ranking(fuse(build(items), weights)) == [(1, 1.0), (0, 0.5)]
    without_time = replace(items[1], clamped=())
    assert ranking(fuse(build([items[0], without_time]), weights)) == [(0, 1.0), (1, 1.0)]


@quick
@given(
    custom=st.dictionaries(
        st.sampled_from(SIGNALS) | st.text(max_size=8),
        st.floats(0.0, 100.0) | st.integers(0, 100),
        max_size=10,
    )
)
def test_weights_for_applies_known_overrides_and_ignores_the_rest(
    custom: dict[str, float],
) -> None:
    before = dict(DEFAULT_WEIGHTS)
    weights = weights_for(custom)
    assert set(weights) == set(DEFAULT_WEIGHTS)
    for name, default in DEFAULT_WEIGHTS.items():
        expected = custom.get(name, default)
        assert weights[name] == expected
        assert type(weights[name]) is float
    assert dict(DEFAULT_WEIGHTS) == before  # the defaults are never mutated


def test_weights_for_without_overrides_is_a_copy_of_the_defaults() -> None:
    assert weights_for(None) == dict(DEFAULT_WEIGHTS)
    assert weights_for({}) == dict(DEFAULT_WEIGHTS)
    weights = weights_for(None)
    weights["vector"] = 99.0
    assert DEFAULT_WEIGHTS["vector"] == 0.5
    assert set(DEFAULT_WEIGHTS) == set(SIGNALS)


def test_weights_for_override_example() -> None:
    weights = weights_for({"time": 0, "recency": 2, "bogus": 5.0})
    assert weights["time"] == 0.0
    assert weights["recency"] == 2.0
    assert "bogus" not in weights
    assert weights["vector"] == DEFAULT_WEIGHTS["vector"]


def _recency(age_days: float, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> float:
    candidate = Candidate(key=0, age_days=age_days)
    normalise([candidate], half_life_days=half_life_days)
    return candidate.signals["recency"]


@quick
@given(half_life=st.floats(0.01, 10_000.0), age=st.floats(0.0, 10_000.0))
def test_recency_halves_every_half_life(half_life: float, age: float) -> None:
    assert _recency(0.0, half_life) == 1.0
    assert _recency(half_life, half_life) == pytest.approx(0.5)
    assert _recency(2 * half_life, half_life) == pytest.approx(0.25)
    assert _recency(age + half_life, half_life) == pytest.approx(
        _recency(age, half_life) / 2, rel=1e-9, abs=1e-300
    )


def test_recency_defaults_and_future_dates() -> None:
    assert _recency(DEFAULT_HALF_LIFE_DAYS) == pytest.approx(0.5)
    assert _recency(-5.0) == 1.0  # a clock skewed into the future is "now"
    assert _recency(1e9) == pytest.approx(0.0)


def test_frequency_is_log_scaled_against_the_most_used() -> None:
    candidates = [Candidate(key=i, access_count=n) for i, n in enumerate([0, 1, 3, 7])]
    normalise(candidates)
    # log(1 + n) / log(1 + 7) = log2(1 + n) / 3.
    assert [c.signals["frequency"] for c in candidates] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    unused = [Candidate(key=0), Candidate(key=1)]
    normalise(unused)
    assert [c.signals["frequency"] for c in unused] == [0.0, 0.0]


@quick
@given(counts=st.lists(st.integers(0, 10**6), min_size=1, max_size=10))
def test_frequency_property(counts: list[int]) -> None:
    candidates = [Candidate(key=i, access_count=n) for i, n in enumerate(counts)]
    normalise(candidates)
    top = max(counts)
    for c in candidates:
        expected = math.log1p(c.access_count) / math.log1p(top) if top else 0.0
        assert c.signals["frequency"] == pytest.approx(expected)


def test_similarity_and_bm25_are_scaled_to_the_best() -> None:
    candidates = [
        Candidate(key=0, vector=0.2, text=None),
        Candidate(key=1, vector=0.6, text=3.0),
        Candidate(key=2, vector=None, text=9.0),
        Candidate(key=3, vector=-0.4, text=0.0),
    ]
    normalise(candidates)
    # BM25 from 0 to the best; similarity from the floor (0 by default) to the best.
    assert [c.signals["text"] for c in candidates] == pytest.approx([0.0, 1 / 3, 1.0, 0.0])
    assert [c.signals["vector"] for c in candidates] == pytest.approx([1 / 3, 1.0, 0.0, 0.0])
    normalise(candidates, vector_floor=0.2)
    assert [c.signals["vector"] for c in candidates] == pytest.approx([0.0, 1.0, 0.0, 0.0])
    equal = [Candidate(key=0, vector=0.3), Candidate(key=1, vector=0.3)]
    normalise(equal)
    assert [c.signals["vector"] for c in equal] == [1.0, 1.0]


def test_a_question_keeps_a_share_of_its_similarity_and_bm25_by_its_questions() -> None:
    telling = Candidate(key=0, vector=0.6, text=3.0)
    asking = Candidate(key=1, vector=0.6, text=3.0, asks=1.0)  # "Where did she go?"
    half = Candidate(key=2, vector=0.6, text=3.0, asks=0.5)  # "Lovely! Where to?"
    normalise([telling, asking, half])
    assert (telling.signals["vector"], telling.signals["text"]) == (1.0, 1.0)
    assert asking.signals["vector"] == asking.signals["text"] == QUESTION_MATCH
    assert half.signals["text"] == pytest.approx(1 - (1 - QUESTION_MATCH) / 2)
    # The other signals are the same for all three: only the match is a question's.
    assert telling.signals["recency"] == asking.signals["recency"]
    ranked = fuse([asking, half, telling], DEFAULT_WEIGHTS)
    assert [s.key for s in ranked] == [0, 2, 1]


def test_clamps_bounded_signals() -> None:
    candidate = Candidate(key=0, confidence=1.7, graph=-2.0, entity=3.0, time=-1.0)
    normalise([candidate])
    assert candidate.signals["confidence"] == 1.0
    assert candidate.signals["graph"] == 0.0
    assert candidate.signals["entity"] == 1.0
    assert candidate.signals["time"] == 0.0


@pytest.mark.parametrize("mode", list(FusionMode))
def test_empty_and_single(mode: FusionMode) -> None:
    assert fuse([], DEFAULT_WEIGHTS, mode=mode) == []
    (only,) = fuse([Candidate(key=7, vector=0.4, text=2.0)], DEFAULT_WEIGHTS, mode=mode)
    assert only.key == 7
    # First in every signal anyone has: a perfect score in both modes.
    assert only.score == 1.0


def test_weighted_mean_example() -> None:
    candidates = [
        Candidate(key=0, vector=1.0, text=0.0),
        Candidate(key=1, vector=0.0, text=5.0),
        Candidate(key=2, vector=0.5, text=2.5),
    ]
    scored = fuse(candidates, {"vector": 3.0, "text": 1.0})
    # vector -> 1, 0, 0.5; text -> 0, 1, 0.5; weighted means 3/4, 1/4, 1/2.
    assert ranking(scored) == [(0, 0.75), (2, 0.5), (1, 0.25)]


def test_signals_nobody_has_do_not_dilute() -> None:
    candidates = [Candidate(key=0, vector=0.8, text=4.0), Candidate(key=1, vector=0.0, text=0.0)]
    # entity, time, graph (and every other clamped signal but confidence) are zero
    # everywhere, frequency too: only vector, text, recency and confidence count, and
    # candidate 0 is best in all of them.
    scored = fuse(candidates, DEFAULT_WEIGHTS)
    assert scored[0].key == 0
    assert scored[0].score == 1.0
    w = DEFAULT_WEIGHTS
    total = w["vector"] + w["text"] + w["recency"] + w["confidence"]
    assert scored[1].score == pytest.approx((w["recency"] + w["confidence"]) / total, abs=1e-6)


def test_all_zero_weights_fall_back_to_vector_and_text() -> None:
    candidates = [
        Candidate(key=0, vector=0.9, text=None, time=1.0),
        Candidate(key=1, vector=0.0, text=5.0),
    ]
    zero = dict.fromkeys(SIGNALS, 0.0)
    assert ranking(fuse(candidates, zero)) == [(0, 0.5), (1, 0.5)]
    assert ranking(fuse(candidates, {"unknown": 4.0, "vector": -1.0})) == [(0, 0.5), (1, 0.5)]


@pytest.mark.parametrize("mode", list(FusionMode))
def test_only_relative_weights_matter(mode: FusionMode) -> None:
    candidates = [
        Candidate(key=0, vector=0.9, text=1.0),
        Candidate(key=1, vector=0.4, text=5.0),
        Candidate(key=2, vector=0.1, text=3.0),
    ]
    expected = ranking(fuse(candidates, {"vector": 2.0, "text": 1.0}, mode=mode))
    for scale in (1e-300, 1e300):
        weights = {"vector": 2.0 * scale, "text": 1.0 * scale}
        assert ranking(fuse(candidates, weights, mode=mode)) == expected
    # A single subnormal weight once divided RRF scores by zero.
    (only,) = fuse([Candidate(key=0, vector=0.5)], {"vector": 5e-324}, mode=mode)
    assert only.score == 1.0
    huge = {"vector": 1e308, "text": 1e308}
    assert ranking(fuse(candidates, huge, mode=mode)) == ranking(
        fuse(candidates, {"vector": 1.0, "text": 1.0}, mode=mode)
    )


def test_negative_and_unknown_weights_are_ignored() -> None:
    candidates = [Candidate(key=0, vector=0.9, text=1.0), Candidate(key=1, vector=0.0, text=5.0)]
    assert ranking(fuse(candidates, {"vector": 1.0, "text": -5.0, "nonsense": 9.0})) == [
        (0, 1.0),
        (1, 0.0),
    ]


def test_rrf_example() -> None:
    candidates = [
        Candidate(key=0, vector=0.8, text=1.0),
        Candidate(key=1, vector=0.4, text=8.0),
        Candidate(key=2, vector=0.0, text=0.0),
    ]
    scored = fuse(candidates, {"vector": 1.0, "text": 1.0}, mode=FusionMode.RRF)
    # Scaled, vector is 1, 0.5, 0 and text 1/8, 1, 0: ranks 0, 1, - and 1, 0, -
    # (a signal normalised to 0 earns no credit).
    k = 60.0
    best = 2 / (k + 1)
    expected = {
        0: (1 / (k + 1) + 1 / (k + 2)) / best,
        1: (1 / (k + 2) + 1 / (k + 1)) / best,
        2: 0.0,
    }
    assert [s.key for s in scored] == [0, 1, 2]  # 0 and 1 tie: key order
    for s in scored:
        assert s.score == pytest.approx(expected[s.key], abs=1e-6)


def test_rrf_ties_share_a_rank() -> None:
    candidates = [Candidate(key=k, vector=0.7, text=2.0) for k in (5, 3, 4)]
    candidates.append(Candidate(key=9, vector=0.0, text=0.0))
    scored = fuse(candidates, {"vector": 1.0, "text": 1.0}, mode=FusionMode.RRF)
    assert ranking(scored) == [(3, 1.0), (4, 1.0), (5, 1.0), (9, 0.0)]


def test_scores_are_rounded_then_ordered_by_key() -> None:
    # Nearly equal similarities round to the same score, so the key decides.
    candidates = [
        Candidate(key=2, vector=0.5 + 1e-12, text=1.0),
        Candidate(key=1, vector=0.5, text=1.0),
        Candidate(key=0, vector=0.0, text=0.0),
    ]
    scored = fuse(candidates, {"vector": 1.0, "text": 1.0})
    assert [s.key for s in scored[:2]] == [1, 2]
    assert scored[0].score == scored[1].score
    for s in scored:
        assert s.score == round(s.score, 6)


def test_fuse_records_the_normalised_signals() -> None:
    candidates = [Candidate(key=0, vector=0.9, age_days=30.0, access_count=2)]
    (scored,) = fuse(candidates, DEFAULT_WEIGHTS, half_life_days=30.0)
    assert scored.signals is candidates[0].signals
    assert scored.signals["recency"] == pytest.approx(0.5)
    assert scored.signals["frequency"] == 1.0


def test_default_weights_cover_every_signal_and_are_non_negative() -> None:
    assert set(DEFAULT_WEIGHTS) == set(SIGNALS)
    assert all(w >= 0 for w in DEFAULT_WEIGHTS.values())
