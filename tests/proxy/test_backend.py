"""``proxy_backend`` (``MAIA_PROXY_BACKEND``), the original's one upstream (CONTRACT 6.1):
every chat completion not routed elsewhere goes to it, with the client's own
``Authorization`` header, never MAIA's key; a fake OpenAI upstream records what it got."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from maia import InvalidInput, Settings
from tests.conftest import LiveServer
from tests.inference.upstreams import Reply, Upstream, free_port_url

ServeFactory = Callable[..., LiveServer]
QUIET = {"X-MAIA-Skip-Extract": "1"}
CLIENT_KEY = "Bearer sk-client-own-key"


@pytest.fixture(scope="module")
def _upstream() -> Iterator[Upstream]:
    up = Upstream("openai", label="backend").start()
    yield up
    up.stop()


@pytest.fixture
def up(_upstream: Upstream) -> Upstream:
    _upstream.reset()
    return _upstream


def chat(server: LiveServer, headers: dict[str, str], **extra: Any) -> httpx.Response:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}], **extra}
    return httpx.post(
        f"{server.url}/v1/chat/completions", json=body, headers={**QUIET, **headers}, timeout=30
    )


def authorizations(up: Upstream) -> list[str | None]:
    return [r.headers.get("authorization") for r in up.received]


def test_completions_go_to_the_backend_with_the_clients_own_key(
    serve: ServeFactory, up: Upstream
) -> None:
    server = serve(proxy_backend=up.base_url)
    plain = chat(server, {"Authorization": CLIENT_KEY})
    streamed = chat(server, {"Authorization": CLIENT_KEY}, stream=True)
    anonymous = chat(server, {})
    for response in (plain, streamed, anonymous):
        assert response.status_code == 200, response.text
        assert response.headers["x-maia-inference-provider-used"] == "backend"
    assert plain.json()["choices"][0]["message"]["content"] == "backend saw: hello"
    assert streamed.text.endswith("data: [DONE]\n\n")
    assert [r.path for r in up.received] == ["/v1/chat/completions"] * 3
    assert authorizations(up) == [CLIENT_KEY, CLIENT_KEY, None]
    # The built-in mock stays reachable by its name.
    mocked = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "mock", "messages": [{"role": "user", "content": "hi"}]},
        headers=QUIET,
        timeout=30,
    )
    assert mocked.headers["x-maia-inference-provider-used"] == "mock"
    assert len(up.received) == 3


def test_models_are_listed_from_the_backend_with_the_clients_key(
    serve: ServeFactory, up: Upstream
) -> None:
    server = serve(proxy_backend=up.base_url)
    for path in ("/v1/models", "/proxy/v1/models"):
        response = httpx.get(f"{server.url}{path}", headers={"Authorization": CLIENT_KEY})
        assert response.status_code == 200, response.text
        assert "backend-model" in {m["id"] for m in response.json()["data"]}
    assert [r.path for r in up.received] == ["/v1/models"] * 2
    assert authorizations(up) == [CLIENT_KEY] * 2


def test_models_fail_as_the_backend_fails(serve: ServeFactory, up: Upstream) -> None:
    """The client's key reaches the backend, so its refusal is the answer (not a list
    without the backend's models); an unreachable backend is a 502 (contract 6.5)."""
    error = {
        "message": "Incorrect API key provided",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
    up.then(
        Reply(401, {"error": error}), Reply(401, {"error": error}), Reply(401, {"error": error})
    )
    server = serve(proxy_backend=up.base_url)
    # Without a key of the client's, the backend's refusal is no answer for the client:
    # the other providers' models are (as MCP's maia_list_models asks, with no client).
    keyless = httpx.get(f"{server.url}/v1/models")
    assert keyless.status_code == 200
    assert "mock" in {m["id"] for m in keyless.json()["data"]}
    refused = httpx.get(f"{server.url}/v1/models", headers={"Authorization": "Bearer bad"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=f"{server.url}/v1", api_key="bad").models.list()
    gone = serve(proxy_backend=free_port_url())
    unreachable = httpx.get(f"{gone.url}/v1/models", headers={"Authorization": CLIENT_KEY})
    assert unreachable.status_code == 502
    assert unreachable.json()["error"]["type"] == "backend_error"


def test_maias_own_key_is_never_forwarded(serve: ServeFactory, up: Upstream) -> None:
    server = serve(proxy_backend=up.base_url, api_key="maia-secret-key")
    as_maia_key = chat(server, {"Authorization": "Bearer maia-secret-key"})
    both = chat(server, {"X-API-Key": "maia-secret-key", "Authorization": CLIENT_KEY})
    # An empty X-API-Key (an unset variable): MAIA's key is read from Authorization.
    empty = chat(server, {"X-API-Key": "", "Authorization": "Bearer maia-secret-key"})
    assert as_maia_key.status_code == both.status_code == empty.status_code == 200
    assert authorizations(up) == [None, CLIENT_KEY, None]
    refused = chat(server, {"Authorization": CLIENT_KEY})  # not MAIA's key: 401
    assert refused.status_code == 401
    assert len(up.received) == 3


def test_answers_paid_with_a_clients_key_are_not_cached(serve: ServeFactory, up: Upstream) -> None:
    server = serve(proxy_backend=up.base_url, inference_cache_enabled=True)
    for _ in range(2):
        assert chat(server, {"Authorization": CLIENT_KEY}, temperature=0).status_code == 200
    assert len(up.received) == 2
    for _ in range(2):  # without a client key the backend's answers are shared
        assert chat(server, {}, temperature=0).status_code == 200
    assert len(up.received) == 3
    stats = httpx.get(f"{server.url}/v1/inference/cache/stats").json()
    assert stats["hits"] == 1  # the repeat without a client key


def test_backend_settings(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(proxy_backend=" https://api.openai.com/v1 ")
    assert settings.proxy_backend == "https://api.openai.com/v1"
    assert settings.inference_default_provider == "backend"
    (backend,) = settings.inference_providers
    assert (backend.name, backend.type, backend.url) == (
        "backend",
        "openai",
        "https://api.openai.com/v1",
    )
    assert backend.forward_authorization
    assert make_settings(proxy_backend="").proxy_backend is None
    kept = make_settings(proxy_backend="http://127.0.0.1:9/v1", inference_default_provider="mock")
    assert kept.inference_default_provider == "mock"
    routed = make_settings(
        proxy_backend="http://127.0.0.1:9/v1", inference_routes={"gpt-*": "backend"}
    )
    assert routed.inference_routes == {"gpt-*": "backend"}
    with pytest.raises(InvalidInput, match="must be an http:// or https:// URL"):
        make_settings(proxy_backend="api.openai.com/v1")
    with pytest.raises(InvalidInput, match="defines the provider 'backend'"):
        make_settings(
            proxy_backend="http://127.0.0.1:9/v1",
            inference_providers=[{"name": "backend", "type": "ollama"}],
        )


def test_the_official_client_pays_with_its_own_key(serve: ServeFactory, up: Upstream) -> None:
    server = serve(proxy_backend=up.base_url)
    client = OpenAI(base_url=f"{server.url}/v1", api_key="sk-from-the-app", max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hello"}],
        extra_headers=QUIET,
    )
    assert reply.choices[0].message.content == "backend saw: hello"
    assert authorizations(up) == ["Bearer sk-from-the-app"]
