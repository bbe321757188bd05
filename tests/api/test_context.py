"""``POST /v1/context`` over real HTTP: the contract's checks 28-34, formats, min_score,
working memories, budget defaults and access counting."""

from __future__ import annotations

import itertools
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from maia import Maia, Settings
from maia.models import ContextResponse
from tests.conftest import LiveServer

CONTEXT_KEYS = {
    "content",
    "memories",
    "token_count",
    "token_budget",
    "truncated",
    "zone_stats",
    "query_time",
}
ZONE_KEYS = {
    "critical_used",
    "critical_budget",
    "middle_used",
    "middle_budget",
    "recency_used",
    "recency_budget",
}
MEMORY_KEYS = {"id", "content", "type", "position", "token_count", "truncated"}
GO_DURATION = re.compile(r"^(0s|[0-9]+(\.[0-9]+)?(ns|µs|ms|s))$")
SCORED = re.compile(r"\[relevance: (\d+)%\] ")
FUTURE = (datetime.now(UTC) + timedelta(days=60)).isoformat()  # every memory is old then

FACTS = (
    "Alice drinks green tea every morning before work.",
    "Alice's brother Tomas lives in Toronto and works as a pilot.",
    "The quarterly report for the finance team is due on Friday.",
    "Alice is training for a half marathon in October.",
    "The office wifi password was changed last week.",
    "Alice is allergic to peanuts and avoids satay.",
)


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server (hashing embedder) for the module; tests keep to namespaces of their own.
    (Like conftest's ``running_server``, but yielding the server: one test reads its store.)"""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.upper().startswith("MAIA_"):
                env.delenv(name)
        settings = Settings.load(
            data_dir=tmp_path_factory.mktemp("context"),
            rate_limit_rps=0,
            embedding_provider="hashing",
        )
    maia = Maia.open(settings=settings)
    server = LiveServer(maia).start()
    yield server
    server.stop()
    maia.close()


@pytest.fixture
def client(shared: LiveServer) -> Iterator[httpx.Client]:
    """Overrides the per-test server of conftest with the module's."""
    with httpx.Client(base_url=shared.url, timeout=30) as http:
        yield http


def add(client: httpx.Client, namespace: str, content: str, type: str = "semantic") -> str:
    response = client.post(
        "/v1/memories", json={"namespace": namespace, "content": content, "type": type}
    )
    assert response.status_code == 201, response.text
    memory_id: str = response.json()["id"]
    return memory_id


def add_many(client: httpx.Client, namespace: str, contents: list[str]) -> list[str]:
    response = client.post(
        "/v1/memories/batch",
        json={"memories": [{"namespace": namespace, "content": c} for c in contents]},
    )
    assert response.status_code in (200, 201), response.text
    body = response.json()
    items = body["data"] if isinstance(body, dict) else body
    return [m["id"] for m in items]


def context(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/context", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    result: dict[str, Any] = response.json()
    return result


def filler(i: int) -> str:
    return (
        f"Note {i}: during the planning call the team discussed item {i}, the budget for "
        f"quarter {i % 4 + 1} and who follows up with vendor number {i * 7}."
    )


def check_shape(result: dict[str, Any]) -> None:
    """Checks 28 and 30: keys, types, positions, and per-zone sums."""
    assert set(result) >= CONTEXT_KEYS
    assert isinstance(result["memories"], list)
    assert isinstance(result["query_time"], str)
    assert GO_DURATION.match(result["query_time"]), result["query_time"]
    assert set(result["zone_stats"]) == ZONE_KEYS
    ContextResponse.model_validate(result)
    sums = dict.fromkeys(("critical", "middle", "recency"), 0)
    for memory in result["memories"]:
        assert MEMORY_KEYS <= set(memory) <= MEMORY_KEYS | {"score"}
        assert memory["position"] in sums
        assert type(memory["token_count"]) is int
        assert type(memory["truncated"]) is bool
        assert memory.get("score", 1) != 0  # omitted when 0
        sums[memory["position"]] += memory["token_count"]
    for position, total in sums.items():
        assert result["zone_stats"][f"{position}_used"] == total
    assert result["token_count"] <= result["token_budget"]


# -- the contract checks -------------------------------------------------------------------


def test_response_keys_and_types(client: httpx.Client) -> None:  # check 28
    for fact in FACTS:
        add(client, "default", fact)
    result = context(client, query="What does Alice drink?")
    check_shape(result)
    assert result["memories"]
    assert result["content"]


def test_zone_budgets(client: httpx.Client) -> None:  # check 29
    add(client, "default", FACTS[0])
    result = context(client, query="Alice", token_budget=1000)
    assert result["token_budget"] == 1000
    stats = result["zone_stats"]
    assert (stats["critical_budget"], stats["middle_budget"], stats["recency_budget"]) == (
        150,
        650,
        200,
    )
    result = context(client, query="Alice")
    assert result["token_budget"] == 4000
    stats = result["zone_stats"]
    assert (stats["critical_budget"], stats["middle_budget"], stats["recency_budget"]) == (
        600,
        2600,
        800,
    )


def test_budget_defaults(client: httpx.Client) -> None:
    """Request value if > 0, else the namespace's token_budget if > 0, else 4000."""
    created = client.post("/v1/namespaces", json={"name": "team", "config": {"token_budget": 1500}})
    assert created.status_code == 201, created.text
    client.post("/v1/namespaces", json={"name": "plain"}).raise_for_status()
    add(client, "team", FACTS[0])
    for extra in ({}, {"token_budget": 0}, {"token_budget": -5}, {"token_budget": None}):
        result = context(client, query="Alice", namespace="team", **extra)
        assert result["token_budget"] == 1500, extra
        stats = result["zone_stats"]
        assert (stats["critical_budget"], stats["middle_budget"]) == (225, 975)
    assert context(client, query="Alice", namespace="team", token_budget=800)["token_budget"] == 800
    for namespace in ("default", "plain", "no-such-namespace"):
        for extra in ({}, {"token_budget": 0}, {"token_budget": -1}):
            result = context(client, query="Alice", namespace=namespace, **extra)
            assert result["token_budget"] == 4000, (namespace, extra)
    assert context(client, query="Alice", token_budget=1)["token_budget"] == 1


def test_positions_and_zone_sums(client: httpx.Client) -> None:  # check 30
    add_many(client, "mixed", [filler(i) for i in range(60)])
    add(client, "mixed", "Current task: draft the vendor follow-up emails.", type="working")
    add(client, "mixed", "Alice prefers vendor emails in the morning.", type="episodic")
    for budget, now in ((300, None), (1000, FUTURE), (4000, None), (20000, FUTURE)):
        body: dict[str, Any] = {"query": "vendor budget follow up", "namespace": "mixed"}
        body |= {"token_budget": budget} | ({"now": now} if now else {})
        result = context(client, **body)
        check_shape(result)
        assert result["memories"]
        assert len({m["id"] for m in result["memories"]}) == len(result["memories"])
    small = context(client, query="vendor budget", namespace="mixed", token_budget=300)
    assert small["truncated"]


def test_relevant_memory_is_included_and_other_namespaces_never_are(
    serve: Callable[..., LiveServer],
) -> None:  # check 31, with the real embedding model
    server = serve(embedding_provider="local")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ids = {fact: add(client, "alice", fact) for fact in FACTS}
        foreign = {
            add(client, "bob", "Bob drinks black coffee every morning."),
            add(client, "bob", FACTS[0]),  # the same text, another namespace
            add(client, "alice/archive", "Alice used to drink hot chocolate."),
        }
        for query, wanted in (
            ("What does Alice like to drink?", FACTS[0]),
            ("Where does her brother live?", FACTS[1]),
            ("When is the finance report due?", FACTS[2]),
        ):
            result = context(client, query=query, namespace="alice")
            check_shape(result)
            returned = [m["id"] for m in result["memories"]]
            assert ids[wanted] in returned, (query, result["memories"])
            assert wanted in result["content"]
            assert not foreign & set(returned)
            assert set(returned) <= set(ids.values())
            assert "Bob" not in result["content"]
            assert "hot chocolate" not in result["content"]
        # Ranked by relevance: the matching memory scores highest.
        result = context(client, query="What does Alice like to drink?", namespace="alice")
        best = max(result["memories"], key=lambda m: m.get("score", 0))
        assert best["id"] == ids[FACTS[0]]


def test_scores_prefix_and_system_prompt(client: httpx.Client) -> None:  # check 32
    for fact in FACTS:
        add(client, "prefix", fact)
    system = "You are Alice's assistant. Use these memories:"
    result = context(
        client,
        query="Alice drinks tea",
        namespace="prefix",
        include_scores=True,
        system_prompt=system,
    )
    check_shape(result)
    assert result["content"].startswith(system)
    assert len(SCORED.findall(result["content"])) == len(result["memories"]) > 0
    for memory in result["memories"]:
        match = re.search(SCORED.pattern + re.escape(memory["content"]), result["content"])
        assert match, memory
        percent = int(match.group(1))
        assert 0 <= percent <= 100
        assert abs(percent - min(math.floor(memory.get("score", 0) * 100), 100)) <= 1
    plain = context(client, query="Alice drinks tea", namespace="prefix")
    assert "[relevance:" not in plain["content"]


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "   "},
        {"namespace": "default"},
        {"query": None},
        {"query": "x", "min_score": 2},
        {"query": "x", "format": "yaml"},
    ],
)
def test_invalid_requests_are_400(client: httpx.Client, body: dict[str, Any]) -> None:  # 33
    response = client.post("/v1/context", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "INVALID_INPUT"
    # A missing or empty query is a body failure; other fields name themselves.
    if body.get("query", "") == "":
        assert error["error"] == "invalid request body"
        assert error.get("details")
    else:
        assert error["error"].startswith("invalid ")


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post("/v1/context", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"


def test_unknown_namespace_is_empty_not_404(client: httpx.Client) -> None:  # check 34
    add(client, "default", FACTS[0])
    result = context(client, query="Alice drinks", namespace="nobody-here")
    check_shape(result)
    assert result["memories"] == []
    assert result["content"] == ""
    assert result["truncated"] is False
    assert result["token_count"] == 0


# -- beyond the checklist ------------------------------------------------------------------


def test_query_time_is_a_go_duration(client: httpx.Client) -> None:
    add(client, "default", FACTS[0])
    response = client.post("/v1/context", json={"query": "Alice"})
    value = response.json()["query_time"]
    assert GO_DURATION.match(value), value
    if value.endswith("µs"):
        assert "\u00b5s" in response.content.decode()  # the micro sign, as Go prints it


def test_markdown_and_xml_formats(client: httpx.Client) -> None:
    add(client, "formats", "Alice likes <b>bold</b> fonts & R&D.")
    add(client, "formats", "Alice's line one\nand line two.")
    add(client, "formats", "Current task: pick fonts for Alice.", type="working")
    markdown = context(
        client, query="Alice fonts", namespace="formats", format="markdown", include_scores=True
    )
    check_shape(markdown)
    assert markdown["content"].startswith("## Relevant memories\n\n- ")
    assert "\n  and line two." in markdown["content"]
    assert "*(relevance " in markdown["content"]

    xml = context(
        client, query="Alice fonts", namespace="formats", format="xml", system_prompt="Context:"
    )
    check_shape(xml)
    assert xml["content"].startswith("Context:\n<memories>\n")
    root = ET.fromstring(xml["content"].removeprefix("Context:\n"))
    elements = list(root)
    assert [e.get("id") for e in elements] == [m["id"] for m in xml["memories"]]
    assert [e.get("position") for e in elements] == [m["position"] for m in xml["memories"]]
    assert [e.text for e in elements] == [m["content"] for m in xml["memories"]]
    assert "&lt;b&gt;bold&lt;/b&gt; fonts &amp; R&amp;D." in xml["content"]


def test_dates_on_request(client: httpx.Client) -> None:
    """``include_dates``: the day each memory was written (UTC) before its text, so that
    a model can answer "when"; off, the contract's plain layout."""
    for content, at in (
        ("Caroline went to a support group.", "2023-05-07T22:30:00-04:00"),
        ("Caroline painted a sunrise.", "2023-07-01T09:00:00Z"),
    ):
        response = client.post(
            "/v1/memories", json={"namespace": "dated", "content": content, "created_at": at}
        )
        assert response.status_code == 201, response.text
    dated = context(client, query="Caroline", namespace="dated", include_dates=True)
    check_shape(dated)
    assert "[2023-05-08] Caroline went to a support group." in dated["content"]
    assert "[2023-07-01] Caroline painted a sunrise." in dated["content"]
    for undated in (
        context(client, query="Caroline", namespace="dated"),
        context(client, query="Caroline", namespace="dated", include_dates=None),
    ):
        assert "2023" not in undated["content"]
        assert undated["token_count"] < dated["token_count"]


def test_min_score_is_respected(client: httpx.Client) -> None:
    add_many(client, "scores", [*FACTS, *(filler(i) for i in range(20))])
    everything = context(client, query="Alice drinks green tea", namespace="scores", now=FUTURE)
    scores = sorted(m.get("score", 0.0) for m in everything["memories"])
    assert len(scores) >= 3
    # Between the two scores furthest apart: access counts (a small ranking signal)
    # that change between the calls cannot move a memory across it.
    gap, threshold = max((b - a, (a + b) / 2) for a, b in itertools.pairwise(scores))
    assert gap > 0.05
    some = context(
        client, query="Alice drinks green tea", namespace="scores", now=FUTURE, min_score=threshold
    )
    check_shape(some)
    assert some["memories"]
    assert all(m.get("score", 0) >= threshold for m in some["memories"])
    assert len(some["memories"]) < len(everything["memories"])
    none = context(client, query="Alice drinks green tea", namespace="scores", min_score=1.0)
    assert all(m.get("score", 0) >= 1.0 for m in none["memories"])


def test_unrelated_working_memory_lands_in_recency(client: httpx.Client) -> None:
    task = "Current task: migrate the billing cron job to Kubernetes."
    task_id = add(client, "work", task, type="working")
    add_many(client, "work", [*FACTS, *(filler(i) for i in range(60))])
    for extra in ({}, {"now": FUTURE}, {"token_budget": 500, "now": FUTURE}):
        result = context(client, query="What does Alice drink?", namespace="work", **extra)
        check_shape(result)
        placed = {m["id"]: m for m in result["memories"]}
        assert task_id in placed, extra
        assert placed[task_id]["position"] == "recency"
        assert placed[task_id]["type"] == "working"
        assert task in result["content"]


def test_placed_memories_are_counted_as_accessed(shared: LiveServer) -> None:
    server = shared
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ids = add_many(client, "counted", [*FACTS, *(filler(i) for i in range(80))])
        other = add(client, "elsewhere", FACTS[0])
        result = context(client, query="Alice", namespace="counted", token_budget=400)
        placed = [m["id"] for m in result["memories"]]
        assert placed
        left_out = set(ids) - set(placed)
        assert left_out
        deadline = time.monotonic() + 2.0
        while True:  # counted off the response path: shortly after, not at once
            counts = {m.id: m.access_count for m in server.maia.get_memories([*ids, other])}
            if all(counts[i] >= 1 for i in placed) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert all(counts[i] == 1 for i in placed), counts
        assert all(counts[i] == 0 for i in left_out)
        assert counts[other] == 0
        # Over HTTP too: a GET shows the count before its own access (the context's).
        assert client.get(f"/v1/memories/{placed[0]}").json()["access_count"] == 1
        # Two contexts in a row count two accesses, even within one flush interval.
        for _ in range(2):
            assert context(client, query="Alice", namespace="counted", token_budget=400)
        deadline = time.monotonic() + 2.0
        while True:
            counts = {m.id: m.access_count for m in server.maia.get_memories(placed)}
            if counts[placed[1]] >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert counts[placed[1]] == 3, counts
        assert counts[placed[0]] == 4, counts  # and the GET
