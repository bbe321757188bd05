"""``maia context`` in-process (Typer's runner) against a live server over real HTTP."""

from __future__ import annotations

import itertools
import json
import re
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from maia.cli import app
from maia.context import SEPARATOR
from tests.conftest import LiveServer

FACTS = (
    "Alice drinks green tea every morning before work, and switches to mint tea in the "
    "evening because caffeine after six keeps her awake.",
    "Alice's brother Tomas lives in Toronto and works as a pilot.",
    "The quarterly report for the finance team is due on Friday.",
)
TASK = "Current task: book the team offsite in Lisbon."
ODD = "Alice wrote [/b] and [bold]x[/bold] :smile: in her tea notes."  # not rich markup
QUERY = "What does Alice drink?"


@pytest.fixture
def live(serve: Callable[..., LiveServer]) -> LiveServer:
    server = serve()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for namespace in ("default", "cli"):
            for fact in FACTS:
                body = {"namespace": namespace, "content": fact}
                client.post("/v1/memories", json=body).raise_for_status()
        body = {"namespace": "cli", "content": TASK, "type": "working"}
        client.post("/v1/memories", json=body).raise_for_status()
        client.post("/v1/memories", json={"namespace": "cli", "content": ODD}).raise_for_status()
    return server


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["context", *args])


def blocks(content: str) -> set[str]:
    return set(content.split(SEPARATOR)) if content else set()


def api_context(server: LiveServer, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/v1/context", json=body, timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_table_shows_usage_zones_memories_and_content(live: LiveServer) -> None:
    result = run(QUERY, "--server", live.url, "-n", "cli", "-b", "1000")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Query: {QUERY}" in out
    assert "Tokens: " in out
    assert " / 1000" in out
    assert "Query time: " in out
    lines = out.splitlines()
    for zone, budget in (("critical", 150), ("middle", 650), ("recency", 200)):
        row = next(line for line in lines if zone in line and str(budget) in line)
        assert row.split("│")[1].strip() == zone or zone in row
    data = api_context(live, query=QUERY, namespace="cli", token_budget=1000)
    for memory in data["memories"]:
        assert memory["id"][:8] in out
    # The context itself, verbatim (long lines not wrapped), between two rules.
    assert FACTS[0] in out
    assert TASK in out
    assert ODD in out
    assert ODD[:40] in out  # in the memory table too, brackets and all
    assert out.count("─" * 20) >= 2
    assert result.stderr == ""
    # The SCORE column comes with --scores only (contract 10).
    header = next(line for line in lines if "POSITION" in line)
    assert "SCORE" not in header
    scored = run(QUERY, "--server", live.url, "-n", "cli", "-b", "1000", "--scores")
    assert "SCORE" in next(line for line in scored.stdout.splitlines() if "POSITION" in line)


def test_raw_prints_only_the_content(live: LiveServer) -> None:
    result = run(QUERY, "-s", live.url, "-n", "cli", "--raw", "--system", "Be brief.")
    assert result.exit_code == 0, result.output
    content = result.stdout.removesuffix("\n")
    assert content.startswith("Be brief." + SEPARATOR)
    assert "Query:" not in content
    assert "Tokens:" not in content
    expected = api_context(live, query=QUERY, namespace="cli", system_prompt="Be brief.")
    assert blocks(content) == blocks(expected["content"])  # order may follow new access counts
    assert FACTS[0] in content.splitlines()


def test_json_prints_the_api_response(live: LiveServer) -> None:
    result = run(QUERY, "--server", live.url, "-j", "-b", "1200", "--scores")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {
        "content",
        "memories",
        "token_count",
        "token_budget",
        "truncated",
        "zone_stats",
        "query_time",
    } <= set(data)
    assert data["token_budget"] == 1200
    assert data["zone_stats"]["middle_budget"] == 780
    assert data["memories"]
    assert {m["content"] for m in data["memories"]} <= set(FACTS)  # namespace "default"
    assert data["content"].startswith("[relevance: ")
    assert result.stdout.startswith("{\n  ")  # pretty, 2-space indent


def test_options_reach_the_server(live: LiveServer) -> None:
    xml = run(QUERY, "-s", live.url, "-n", "cli", "--format", "xml", "--raw")
    assert xml.exit_code == 0, xml.output
    assert xml.stdout.startswith("<memories>\n<memory ")
    markdown = run(QUERY, "-s", live.url, "--format", "markdown", "-r", "--scores")
    assert markdown.stdout.startswith("## Relevant memories\n\n- ")
    assert "*(relevance " in markdown.stdout
    dated = run(QUERY, "-s", live.url, "-r", "--dates")
    assert dated.exit_code == 0, dated.output
    dated_blocks = blocks(dated.stdout.rstrip("\n"))
    assert dated_blocks
    assert all(re.match(r"\[\d{4}-\d{2}-\d{2}\] \S", block) for block in dated_blocks)
    everything = json.loads(run(QUERY, "-s", live.url, "-n", "cli", "-j").stdout)
    scores = sorted(m.get("score", 0) for m in everything["memories"])
    assert len(scores) >= 2
    gap, threshold = max((b - a, (a + b) / 2) for a, b in itertools.pairwise(scores))
    assert gap > 0.05
    picky = json.loads(
        run(QUERY, "-s", live.url, "-n", "cli", "-j", "--min-score", f"{threshold:.4f}").stdout
    )
    assert picky["memories"]
    assert all(m.get("score", 0) >= threshold for m in picky["memories"])
    assert len(picky["memories"]) < len(everything["memories"])


def test_server_from_the_environment(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIA_URL", live.url)
    result = run(QUERY, "--raw")
    assert result.exit_code == 0, result.output
    assert FACTS[0] in result.stdout


def test_unreachable_server_is_an_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(QUERY, "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code == 6  # network error
    assert result.stdout == ""
    assert result.stderr.startswith("Error: failed to get context: ")
    assert f"127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize("server", ["not a url", "localhost:8080", "ftp://example.com"])
def test_a_server_that_is_no_url_is_a_bad_option(server: str) -> None:
    result = run(QUERY, "--server", server)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: invalid --server: {server!r}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "invalid query: must not be blank (INVALID_INPUT)"),
        ([QUERY, "--format", "yaml"], "invalid format: "),
        ([QUERY, "--min-score", "7"], "invalid min_score: "),
    ],
)
def test_bad_request_is_an_error(live: LiveServer, args: list[str], message: str) -> None:
    result = run(*args, "--server", live.url)
    assert result.exit_code == 2  # invalid input
    assert result.stdout == ""
    assert result.stderr.startswith("Error: failed to get context: ")
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("(INVALID_INPUT)")


def test_empty_query_is_an_error(live: LiveServer) -> None:
    result = run("", "--server", live.url)
    assert result.exit_code == 2
    assert result.stderr.startswith(  # refused by the SDK, before any request
        "Error: failed to get context: invalid query: must not be empty (INVALID_INPUT)"
    )


def test_api_key(serve: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(api_key="s3cret")
    denied = run(QUERY, "-s", server.url)
    assert denied.exit_code == 4  # authentication
    assert denied.stderr.startswith("Error: failed to get context: unauthorized")
    assert run(QUERY, "-s", server.url, "--api-key", "s3cret", "-j").exit_code == 0
    monkeypatch.setenv("MAIA_API_KEY", "s3cret")
    assert run(QUERY, "-s", server.url, "-r").exit_code == 0
