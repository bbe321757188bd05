"""The proxy over real HTTP on both sides: the official OpenAI client talks to MAIA, and
MAIA to local upstreams that record what they were sent."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import openai
import pytest

from maia import Maia
from maia.proxy.inject import CONTEXT_FOOTER, CONTEXT_HEADER
from tests.conftest import LiveServer
from tests.proxy.upstream import TOOL_CALL, USAGE, Upstream

ServeFactory = Callable[..., LiveServer]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream("primary").start()
    yield server
    server.stop()


def provider(name: str, up: Upstream, *models: str, timeout: float = 2.0) -> dict[str, Any]:
    return {
        "name": name,
        "type": "openai",
        "base_url": f"{up.url}/v1",
        "models": list(models),
        "timeout": timeout,
        "max_retries": 0,
    }


def maia_with(serve: ServeFactory, *providers: dict[str, Any], **settings: Any) -> LiveServer:
    return serve(inference_providers=list(providers), **settings)


def client_for(server: LiveServer, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{server.url}/v1", api_key="unused", default_headers=headers, max_retries=0
    )


def sent_text(up: Upstream) -> str:
    return json.dumps(up.requests[-1]["messages"])


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# -- without any upstream ---------------------------------------------------------------------


def test_the_mock_model_works_on_a_fresh_server(serve: ServeFactory) -> None:
    server = serve()
    client = client_for(server)
    reply = client.chat.completions.create(
        model="mock", messages=[{"role": "user", "content": "hello there"}]
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None
    again = client.chat.completions.create(
        model="mock", messages=[{"role": "user", "content": "hello there"}]
    )
    assert again.choices[0].message.content == reply.choices[0].message.content
    models = {m.id for m in client.models.list().data}
    assert "mock" in models


# -- injection ------------------------------------------------------------------------------


@pytest.mark.parametrize("position", ["system", "first_user", "before_last"])
def test_memories_are_injected_at_the_configured_position(
    serve: ServeFactory, upstream: Upstream, position: str
) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"), proxy_context_position=position)
    server.maia.remember("Alice drinks green tea every morning", namespace="alice")
    client = client_for(server, **{"X-MAIA-Namespace": "alice"})
    messages: list[Any] = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What does Alice drink in the morning?"},
    ]
    raw = client.chat.completions.with_raw_response.create(model="up-echo", messages=messages)
    assert raw.headers["x-maia-memories-used"] == "1"
    assert int(raw.headers["x-maia-tokens-injected"]) > 0
    assert raw.headers["x-maia-inference-provider-used"] == "up"
    received = upstream.requests[-1]["messages"]
    block = "[Relevant context from memory]"
    carrying = [i for i, m in enumerate(received) if block in json.dumps(m)]
    assert len(carrying) == 1
    where = carrying[0]
    if position == "system":
        assert where == 0
        assert received[0]["content"].startswith(block)
        assert received[0]["content"].endswith("You are helpful.")
    elif position == "first_user":
        assert received[where]["role"] == "user"
        assert received[where]["content"].endswith("Hi")
    else:
        assert received[where]["role"] == "system"
        assert where == len(received) - 2
    assert "Alice drinks green tea every morning" in json.dumps(received[where])
    # The header counts the tokens of the block as injected.
    text = received[where]["content"]
    start, end = text.index(CONTEXT_HEADER), text.index(CONTEXT_FOOTER) + len(CONTEXT_FOOTER)
    counted = server.maia.engine.tokens.count(text[start:end])
    assert int(raw.headers["x-maia-tokens-injected"]) == counted
    assert raw.parse().choices[0].message.content.startswith("primary saw:")


def test_dates_in_the_injected_block_on_request(serve: ServeFactory, upstream: Upstream) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"), proxy_context_dates=True)
    server.maia.remember(
        "Alice went to Lisbon", namespace="alice", created_at=datetime(2023, 5, 8, 13, tzinfo=UTC)
    )
    client = client_for(server, **{"X-MAIA-Namespace": "alice"})
    client.chat.completions.create(
        model="up-echo", messages=[{"role": "user", "content": "When did Alice go to Lisbon?"}]
    )
    assert "[2023-05-08] Alice went to Lisbon" in sent_text(upstream)


def test_a_failing_token_count_leaves_the_answer_and_only_its_header_out(
    serve: ServeFactory, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"))
    server.maia.remember("Alice drinks green tea every morning", namespace="alice")
    tokens = server.maia.engine.tokens
    count = tokens.count

    def failing(text: str) -> int:
        if CONTEXT_HEADER in text:  # the injected block's count only, not packing's
            raise RuntimeError("no count")
        return count(text)

    monkeypatch.setattr(tokens, "count", failing)
    client = client_for(server, **{"X-MAIA-Namespace": "alice"})
    raw = client.chat.completions.with_raw_response.create(
        model="up-echo", messages=[{"role": "user", "content": "What does Alice drink?"}]
    )
    assert raw.headers["x-maia-memories-used"] == "1"
    assert "x-maia-tokens-injected" not in raw.headers
    assert "green tea" in sent_text(upstream)
    assert raw.parse().choices[0].message.content.startswith("primary saw:")


def test_skip_memory_and_nothing_relevant_inject_nothing(
    serve: ServeFactory, upstream: Upstream
) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"))
    server.maia.remember("Alice drinks green tea every morning")
    client = client_for(server, **{"X-MAIA-Skip-Memory": "true"})
    raw = client.chat.completions.with_raw_response.create(
        model="up-echo", messages=[{"role": "user", "content": "What does Alice drink?"}]
    )
    assert "x-maia-memories-used" not in raw.headers
    assert "Relevant context" not in sent_text(upstream)


# -- pass-through ----------------------------------------------------------------------------


def test_tool_calls_usage_and_unknown_fields_pass_through(
    serve: ServeFactory, upstream: Upstream
) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"))
    client = client_for(server)
    tools: list[Any] = [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": {"type": "object"}},
        }
    ]
    reply = client.chat.completions.create(
        model="up-tool",
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=tools,
        extra_body={"custom_field": {"kept": True}},
    )
    call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.id == TOOL_CALL["id"]
    assert call.function.arguments == TOOL_CALL["function"]["arguments"]  # type: ignore[attr-defined,index]
    assert reply.usage is not None
    assert reply.usage.total_tokens == USAGE["total_tokens"]
    assert upstream.requests[-1]["tools"] == tools
    assert upstream.requests[-1]["custom_field"] == {"kept": True}


def test_streaming_chunks_arrive_in_order_and_unchanged(
    serve: ServeFactory, upstream: Upstream
) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"))
    client = client_for(server)
    stream = client.chat.completions.create(
        model="up-reply:one two three four",
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    assert pieces == ["one", "two", "three", "four"]
    assert usage is not None
    assert usage.total_tokens == USAGE["total_tokens"]
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={
            "model": "up-reply:a b",
            "messages": [{"role": "user", "content": "x"}],
            "stream": True,
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)


# -- errors ------------------------------------------------------------------------------------


def test_upstream_4xx_passes_through_with_its_body(serve: ServeFactory, upstream: Upstream) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"))
    with pytest.raises(openai.BadRequestError) as caught:
        client_for(server).chat.completions.create(
            model="up-bad", messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "message": "bad things",
        "type": "invalid_request_error",
        "code": "x",
    }
    assert len(upstream.requests) == 1, "no failover and no retry on a 4xx"


def test_upstream_timeout_is_504_in_openai_format(serve: ServeFactory, upstream: Upstream) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*", timeout=0.5))
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "up-slow", "messages": [{"role": "user", "content": "x"}]},
        timeout=30,
    )
    assert response.status_code == 504
    assert response.json() == {
        "error": {"message": "Request to backend timed out", "type": "timeout"}
    }


def test_failover_when_an_upstream_stops(serve: ServeFactory, upstream: Upstream) -> None:
    backup = Upstream("backup").start()
    try:
        server = maia_with(
            serve, provider("first", upstream, "up-*"), provider("second", backup, "up-*")
        )
        client = client_for(server)
        messages: list[Any] = [{"role": "user", "content": "hello"}]
        first = client.chat.completions.with_raw_response.create(model="up-echo", messages=messages)
        assert first.headers["x-maia-inference-provider-used"] == "first"
        upstream.stop()
        second = client.chat.completions.with_raw_response.create(
            model="up-echo", messages=messages
        )
        assert second.headers["x-maia-inference-provider-used"] == "second"
        assert second.parse().choices[0].message.content.startswith("backup saw:")
    finally:
        backup.stop()


def test_identical_temperature_zero_requests_hit_the_cache(
    serve: ServeFactory, upstream: Upstream
) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"), inference_cache_enabled=True)
    client = client_for(server, **{"X-MAIA-Skip-Memory": "true"})
    ask = {"model": "up-echo", "messages": [{"role": "user", "content": "cache me"}]}
    first = client.chat.completions.create(temperature=0, **ask)  # type: ignore[call-overload]
    second = client.chat.completions.create(temperature=0, **ask)  # type: ignore[call-overload]
    assert second.choices[0].message.content == first.choices[0].message.content
    assert len(upstream.requests) == 1
    stats = httpx.get(f"{server.url}/v1/inference/cache/stats").json()
    assert stats["hits"] == 1


def test_bad_requests_answer_in_openai_format(serve: ServeFactory) -> None:
    server = serve()
    for body in ({}, {"model": "mock"}, {"model": "mock", "messages": "hi"}, []):
        response = httpx.post(f"{server.url}/v1/chat/completions", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["type"] == "invalid_request"  # contract 6.1
    deep = httpx.post(f"{server.url}/v1/chat/completions", content=b"[" * 100_000)
    assert deep.status_code == 400
    assert deep.json()["error"]["type"] == "invalid_request"
    unknown = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "gpt-nothing", "messages": [{"role": "user", "content": "x"}]},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"


# -- learning ---------------------------------------------------------------------------------


def test_a_conversation_is_learned_once_and_never_from_injected_text(
    serve: ServeFactory, upstream: Upstream
) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"))
    maia: Maia = server.maia
    maia.remember("The user's favourite colour is teal", namespace="bob")
    client = client_for(server, **{"X-MAIA-Namespace": "bob"})
    turns = ["I live in Paris and I work as a nurse.", "I prefer tea over coffee."]
    history: list[Any] = []
    for text in turns * 2:  # the same conversation twice
        history.append({"role": "user", "content": text})
        reply = client.chat.completions.create(model="up-reply:Noted.", messages=history)
        history.append({"role": "assistant", "content": reply.choices[0].message.content})

    def learned() -> list[str]:
        return [m.content for m in maia.list_memories() if m.source.value == "extracted"]

    wait_for(lambda: len(learned()) >= 2)
    time.sleep(0.5)  # the repeated turns' learning has run too
    contents = learned()
    assert len(contents) == len(set(contents)), "no duplicates"
    text = " ".join(contents).lower()
    assert "paris" in text
    assert "tea" in text
    assert "teal" not in text, "the injected memory was not learned again"
    extracted = [m for m in maia.list_memories() if m.source.value == "extracted"]
    assert all(m.namespace == "bob" for m in extracted)
    assert all(m.metadata and m.metadata.get("extraction_category") for m in extracted)


def test_skip_extract(serve: ServeFactory, upstream: Upstream) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"))
    client = client_for(server, **{"X-MAIA-Skip-Extract": "1"})
    client.chat.completions.create(
        model="up-reply:ok", messages=[{"role": "user", "content": "I live in Rome."}]
    )
    time.sleep(0.5)
    assert server.maia.count_memories() == 0


# -- other wire formats behind the proxy --------------------------------------------------


@pytest.mark.parametrize("wire", ["anthropic", "ollama"])
def test_anthropic_and_ollama_upstreams_through_the_openai_client(
    serve: ServeFactory, wire: str
) -> None:
    from tests.inference.upstreams import Upstream as WireUpstream

    up = WireUpstream(wire).start()  # type: ignore[arg-type]
    try:
        server = serve(
            inference_providers=[
                {"name": wire, "type": wire, "base_url": up.base_url, "models": ["m-*"]}
            ],
            proxy_auto_remember=False,
        )
        server.maia.remember("Carol's cat is called Miso", namespace="carol")
        client = client_for(server, **{"X-MAIA-Namespace": "carol"})
        messages: list[Any] = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is Carol's cat called?"},
        ]
        reply = client.chat.completions.create(model="m-1", messages=messages)
        assert reply.choices[0].message.content
        assert reply.usage is not None
        sent = json.dumps(up.bodies[-1])
        assert "Carol's cat is called Miso" in sent, "context injected into the translated request"
        if wire == "anthropic":
            assert "Be brief." in json.dumps(up.bodies[-1]["system"])
        pieces = [
            chunk.choices[0].delta.content
            for chunk in client.chat.completions.create(model="m-1", messages=messages, stream=True)
            if chunk.choices and chunk.choices[0].delta.content
        ]
        assert "".join(pieces).endswith("hi"), pieces  # the fake upstreams stream "… hi"
        assert "Carol's cat is called Miso" in json.dumps(up.bodies[-1])
    finally:
        up.stop()


def test_injection_never_crosses_tenants(serve: ServeFactory, upstream: Upstream) -> None:
    server = maia_with(serve, provider("up", upstream, "up-*"), api_key="root-key")
    root = {"X-API-Key": "root-key"}
    keys = {}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for name, fact in (("a", "The launch code is AMBER-7"), ("b", "The launch code is BLUE-9")):
            tenant = http.post("/admin/tenants", json={"name": name}, headers=root).json()
            keys[name] = http.post(
                f"/admin/tenants/{tenant['id']}/apikeys", json={"name": "k"}, headers=root
            ).json()["key"]
            created = http.post(
                "/v1/memories",
                json={"namespace": "shared", "content": fact},
                headers={"X-API-Key": keys[name]},
            )
            assert created.status_code == 201
    for name, mine, theirs in (("a", "AMBER-7", "BLUE-9"), ("b", "BLUE-9", "AMBER-7")):
        client = openai.OpenAI(
            base_url=f"{server.url}/v1",
            api_key=keys[name],  # the OpenAI client's key is the MAIA key
            default_headers={"X-MAIA-Namespace": "shared", "X-MAIA-Skip-Extract": "1"},
            max_retries=0,
        )
        client.chat.completions.create(
            model="up-echo", messages=[{"role": "user", "content": "What is the launch code?"}]
        )
        assert mine in sent_text(upstream)
        assert theirs not in sent_text(upstream)
