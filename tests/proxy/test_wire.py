"""The proxy's wire contract (CONTRACT 6) on a live server, with fake OpenAI, Anthropic
and Ollama upstreams: injection that never fails a call, bad fields refused at the edge
in OpenAI's error shape, streamed usage as OpenAI sends it, ``n``, ``Retry-After``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from maia.api.routes.proxy import error_response
from maia.errors import MaiaError, NotFound, RateLimited, Unauthorized, Unavailable
from maia.inference import HealthCheckFailed
from tests.conftest import LiveServer
from tests.inference.upstreams import Reply, Upstream, free_port_url

ServeFactory = Callable[..., LiveServer]
MODELS = {"openai": "gpt-x", "anthropic": "claude-x", "ollama": "llama3", "mock": "mock"}
QUIET = {"X-MAIA-Skip-Extract": "1"}


@pytest.fixture(scope="module")
def _upstreams() -> Iterator[dict[str, Upstream]]:
    ups = {wire: Upstream(wire).start() for wire in ("openai", "anthropic", "ollama")}
    yield ups
    for up in ups.values():
        up.stop()


@pytest.fixture
def ups(_upstreams: dict[str, Upstream]) -> dict[str, Upstream]:
    for up in _upstreams.values():
        up.reset()
    return _upstreams


def providers(ups: dict[str, Upstream], **extra: Any) -> list[dict[str, Any]]:
    patterns = {"openai": "gpt-*", "anthropic": "claude-*", "ollama": "llama*"}
    return [
        {
            "name": wire,
            "type": wire,
            "base_url": up.base_url,
            "models": [patterns[wire]],
            "max_retries": 0,
            "timeout": 5,
            **extra.get(wire, {}),
        }
        for wire, up in ups.items()
    ]


def chat(server: LiveServer, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/chat/completions", json=body, headers={**QUIET, **headers}, timeout=30
    )


def events(response: httpx.Response) -> list[Any]:
    """The ``data:`` payloads of an SSE answer (``[DONE]`` as the string)."""
    found = []
    for block in response.text.split("\n\n"):
        if block.startswith("data: "):
            data = block.removeprefix("data: ")
            found.append(data if data == "[DONE]" else json.loads(data))
    return found


def hello(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hello there"}], **extra}


# -- injection is best effort ---------------------------------------------------------------


def test_a_failing_embedder_skips_injection_not_the_answer(
    serve: ServeFactory, ups: dict[str, Upstream], caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(
        inference_providers=providers(ups),
        embedding_provider="openai",
        embedding_base_url=free_port_url() + "/v1",  # refused: context assembly fails
        embedding_dim=8,
        embedding_api_key="unused",
    )
    with caplog.at_level(logging.WARNING, logger="maia.api.routes.proxy"):
        plain = chat(server, hello("gpt-x"))
        streamed = chat(server, hello("gpt-x", stream=True))
    assert plain.status_code == 200, plain.text
    assert plain.json()["choices"][0]["message"]["content"] == "openai saw: hello there"
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert events(streamed)[-1] == "[DONE]"
    for response in (plain, streamed):
        assert "x-maia-memories-used" not in response.headers
        assert response.headers["x-maia-inference-provider-used"] == "openai"
    assert [b["messages"] for b in ups["openai"].bodies] == [hello("x")["messages"]] * 2
    assert any("context injection skipped" in r.getMessage() for r in caplog.records)


# -- bad fields: 400 at the edge, in OpenAI's shape ---------------------------------------------

BAD_FIELDS = [
    ({"stop": 5}, "stop", "stop must be a string or an array of strings"),
    (
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what?"},
                        {"type": "image_url", "image_url": "data:image/png;base64,AAAA"},
                    ],
                }
            ]
        },
        "messages[0].content[1].image_url",
        "must be an object",
    ),
    (
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "tool_calls": [{"id": "x", "function": None}]},
                {"role": "tool", "tool_call_id": "x", "content": "r"},
            ]
        },
        "messages[1].tool_calls[0].function",
        "must be an object",
    ),
    ({"messages": [{"content": "no role"}]}, "messages[0].role", "must be a string"),
    ({"temperature": "hot"}, "temperature", "must be a number"),
    ({"max_tokens": 1.5}, "max_tokens", "must be an integer"),
    ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage", "a boolean"),
    ({"tools": [{"type": "function", "function": None}]}, "tools[0].function", "an object"),
    ({"n": 0}, "n", "n must be at least 1"),
]


@pytest.mark.parametrize(("bad", "param", "message"), BAD_FIELDS)
def test_bad_fields_are_400_before_any_upstream(
    serve: ServeFactory, ups: dict[str, Upstream], bad: dict[str, Any], param: str, message: str
) -> None:
    server = serve(inference_providers=providers(ups), proxy_auto_context=False)
    for model in MODELS.values():
        for stream in (False, True):
            response = chat(server, {**hello(model, stream=stream), **bad})
            assert response.status_code == 400, (model, response.text)
            error = response.json()["error"]
            assert error["type"] == "invalid_request"
            assert error["param"] == param
            assert message in error["message"]
    assert all(up.received == [] for up in ups.values())


def test_unknown_fields_are_still_forwarded(serve: ServeFactory, ups: dict[str, Upstream]) -> None:
    server = serve(inference_providers=providers(ups), proxy_auto_context=False)
    body = hello("gpt-x", custom={"kept": [1, 2]}, stop=["END"], n=2)
    assert chat(server, body).status_code == 200
    sent = ups["openai"].bodies[-1]
    assert (sent["custom"], sent["stop"], sent["n"]) == ({"kept": [1, 2]}, ["END"], 2)


@pytest.mark.parametrize("wire", ["anthropic", "ollama", "mock"])
def test_several_choices_from_a_one_choice_provider_are_400(
    serve: ServeFactory, ups: dict[str, Upstream], wire: str
) -> None:
    server = serve(inference_providers=providers(ups), proxy_auto_context=False)
    response = chat(server, hello(MODELS[wire], n=3))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert error["param"] == "n"
    assert f"n=3 is not supported by inference provider '{wire}'" in error["message"]
    assert all(up.received == [] for up in ups.values())


# -- errors keep their own body ---------------------------------------------------------------


def test_errors_in_their_own_openai_shape(serve: ServeFactory, ups: dict[str, Upstream]) -> None:
    server = serve(inference_providers=providers(ups), proxy_auto_context=False)
    bad_json = httpx.post(f"{server.url}/v1/chat/completions", content=b"{not json")
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["type"] == "invalid_request"
    no_model = chat(server, {"messages": [{"role": "user", "content": "x"}]})
    assert no_model.json() == {
        "error": {"message": "model is required", "type": "invalid_request", "param": "model"}
    }
    unknown_provider = chat(server, hello("mock"), **{"X-MAIA-Inference-Provider": "nope"})
    assert unknown_provider.status_code == 404
    assert unknown_provider.json() == {
        "error": {
            "message": "inference provider not found: nope",
            "type": "invalid_request_error",
            "code": "provider_not_found",
        }
    }
    unknown_model = chat(server, hello("nothing-serves-this"))
    assert unknown_model.status_code == 404
    error = unknown_model.json()["error"]
    assert (error["code"], error["param"]) == ("model_not_found", "model")


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (Unavailable("embedding endpoint unreachable"), 503, "server_error"),
        (Unauthorized("invalid API key"), 401, "authentication_error"),
        (NotFound("namespace not found: x"), 404, "invalid_request_error"),
        (HealthCheckFailed("health check failed"), 500, "server_error"),
        (MaiaError("something else"), 500, "server_error"),
    ],
)
def test_any_maia_error_answers_in_openai_shape(exc: MaiaError, status: int, kind: str) -> None:
    response = error_response(exc)
    assert response.status_code == status
    error = json.loads(bytes(response.body))["error"]
    assert error["message"] == exc.message
    assert error["type"] == kind
    assert set(error) <= {"message", "type", "code", "param"}


def test_rate_limited_maia_error_carries_retry_after() -> None:
    response = error_response(RateLimited("too many requests", retry_after=1.2))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert json.loads(bytes(response.body))["error"]["type"] == "rate_limit_error"


# -- 429: Retry-After -------------------------------------------------------------------------


def test_429_answers_carry_retry_after(serve: ServeFactory, ups: dict[str, Upstream]) -> None:
    limited = {"anthropic": {"rate_limit_rps": 0.01}}  # one request, then ~100 s to wait
    server = serve(inference_providers=providers(ups, **limited), proxy_auto_context=False)
    slow_down = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    for header, expected in (({"Retry-After": "7"}, "7"), ({"retry-after-ms": "2100"}, "3")):
        ups["openai"].then(Reply(429, slow_down, headers=header))
        response = chat(server, hello("gpt-x"))
        assert response.status_code == 429
        assert response.json() == slow_down
        assert response.headers["retry-after"] == expected
    ups["openai"].then(Reply(429, slow_down))  # no Retry-After upstream: none invented
    assert "retry-after" not in chat(server, hello("gpt-x")).headers
    assert chat(server, hello("claude-x")).status_code == 200
    for stream in (False, True):
        refused = chat(server, hello("claude-x", stream=stream))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert 90 <= int(refused.headers["retry-after"]) <= 100


# -- streamed usage ---------------------------------------------------------------------------


@pytest.mark.parametrize("wire", ["mock", "anthropic", "ollama", "openai"])
def test_streamed_usage_as_openai_sends_it(
    serve: ServeFactory, ups: dict[str, Upstream], wire: str
) -> None:
    server = serve(inference_providers=providers(ups), proxy_auto_context=False)
    without = events(chat(server, hello(MODELS[wire], stream=True)))
    assert without[-1] == "[DONE]"
    assert all("usage" not in e for e in without[:-1]), "no usage unless asked"
    assert without[-2]["choices"][0]["finish_reason"] == "stop"
    asked = hello(MODELS[wire], stream=True, stream_options={"include_usage": True})
    with_usage = events(chat(server, asked))
    *chunks, usage_chunk, done = with_usage
    assert done == "[DONE]"
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert set(usage_chunk) == {"id", "object", "created", "model", "choices", "usage"}
    assert usage_chunk["object"] == "chat.completion.chunk"
    assert usage_chunk["id"] == chunks[0]["id"]
    assert usage_chunk["choices"] == []
    counts = usage_chunk["usage"]
    assert counts["total_tokens"] == counts["prompt_tokens"] + counts["completion_tokens"] > 0
    if wire == "openai":
        assert ups["openai"].bodies[-1]["stream_options"] == {"include_usage": True}


def test_a_key_that_may_only_call_models_neither_reads_nor_writes_memories(
    serve: ServeFactory,
) -> None:
    server = serve(api_key="root-key", auth_cache_seconds=0)
    root = {"X-API-Key": "root-key"}

    def key(*scopes: str) -> dict[str, str]:
        created = httpx.post(
            f"{server.url}/admin/tenants/system/apikeys",
            json={"name": "-".join(scopes), "scopes": list(scopes)},
            headers=root,
        )
        assert created.status_code == 201, created.text
        return {"X-API-Key": created.json()["key"]}

    secret = "The launch code of project falcon is 7781."
    assert httpx.post(
        f"{server.url}/v1/memories", json={"namespace": "default", "content": secret}, headers=root
    ).is_success

    def ask(headers: dict[str, str], name: str) -> httpx.Response:
        question = f"My name is {name}. What is the launch code of falcon?"
        body = {"model": "mock", "messages": [{"role": "user", "content": question}]}
        url = f"{server.url}/v1/chat/completions"
        return httpx.post(url, json=body, headers=headers, timeout=30)

    def learned() -> list[str]:
        listed = httpx.get(
            f"{server.url}/v1/memories", params={"namespace": "default"}, headers=root
        ).json()
        return [m["content"] for m in listed["data"] if m["source"] == "extracted"]

    only_models = ask(key("inference"), "Mallory")
    assert only_models.status_code == 200, only_models.text
    assert "x-maia-memories-used" not in only_models.headers
    full = ask(key("inference", "read", "write"), "Trent")  # the same request, a wider key
    assert full.headers["x-maia-memories-used"] == "1"
    deadline = time.monotonic() + 5
    while not learned() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the first turn, had it learned anything, has by now
    assert any("Trent" in text for text in learned())
    assert not any("Mallory" in text for text in learned())
