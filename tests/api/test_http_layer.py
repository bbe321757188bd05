"""The HTTP layer over real HTTP: health/ready/metrics, headers, CORS, OPTIONS, unknown
routes, API keys, rate limiting, body size limits, inference status, OpenAPI, stats."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from maia.service import Maia
from tests.conftest import LiveServer, running_server

JSON_TYPE = "application/json; charset=utf-8"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "x-xss-protection": "1; mode=block",
    "referrer-policy": "strict-origin-when-cross-origin",
}
NO_KEY = {"error": "unauthorized", "message": "API key is required"}
BAD_KEY = {"error": "unauthorized", "message": "invalid API key"}
RATE_LIMITED = {"error": "rate_limit_exceeded", "message": "too many requests, please slow down"}

ServeFactory = Callable[..., LiveServer]


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One default server for tests that do not depend on the store's contents."""
    with running_server(tmp_path_factory.mktemp("http")) as http:
        yield http


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server that requires the API key ``secret``."""
    with running_server(tmp_path_factory.mktemp("keyed"), api_key="secret") as http:
        yield http


def client_for(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert response.headers.get("x-request-id"), response.status_code


def create_memory(http: httpx.Client, namespace: str = "default", **fields: Any) -> dict[str, Any]:
    response = http.post(
        "/v1/memories", json={"namespace": namespace, "content": "a memory", **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# -- health, ready, metrics --------------------------------------------------------------


def test_health_exact_body(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"status": "healthy", "service": "maia"}


def test_ready(api: httpx.Client) -> None:
    response = api.get("/ready")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"status": "ready"}


def test_ready_reports_a_broken_store(server: LiveServer) -> None:
    server.maia.store.close()
    with client_for(server) as http:
        response = http.get("/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == JSON_TYPE
        body = response.json()
        assert set(body) == {"status", "error"}
        assert body["status"] == "not ready"
        assert isinstance(body["error"], str)
        assert body["error"]
        assert http.get("/health").status_code == 200, "liveness does not depend on the store"


def metric_lines(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_metrics_use_route_templates(api: httpx.Client) -> None:
    memory = create_memory(api)
    api.get(f"/v1/memories/{memory['id']}").raise_for_status()
    missing = str(uuid.uuid4())
    assert api.get(f"/v1/memories/{missing}").status_code == 404
    api.get("/v1/namespaces/default").raise_for_status()
    assert api.get(f"/no/such/route/{missing}").status_code == 404

    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    requests = metric_lines(text, "maia_http_requests_total")
    assert requests, text

    def counted(method: str, route: str, status: str) -> bool:
        labels = {f'method="{method}"', f'path="{route}"', f'status="{status}"'}
        return any(all(label in line for label in labels) for line in requests)

    assert counted("GET", "/v1/memories/{memory_id}", "2xx")
    assert counted("GET", "/v1/memories/{memory_id}", "4xx")
    assert counted("POST", "/v1/memories", "2xx")
    assert counted("GET", "/v1/namespaces/{ns}", "2xx")
    assert memory["id"] not in text, "raw ids never become label values"
    assert missing not in text
    assert "/no/such/route" not in text
    assert metric_lines(text, "maia_http_request_duration_seconds_bucket")
    assert re.search(r"^maia_http_requests_in_flight \d", text, re.MULTILINE)


def test_metrics_count_requests(api: httpx.Client) -> None:
    def health_count() -> float:
        text = api.get("/metrics").text
        for line in metric_lines(text, "maia_http_requests_total"):
            if 'path="/health"' in line and 'method="GET"' in line and 'status="2xx"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = health_count()
    for _ in range(3):
        api.get("/health").raise_for_status()
    assert health_count() == before + 3


# -- request ids and security headers -----------------------------------------------------


def test_request_id_is_generated(api: httpx.Client) -> None:
    first = api.get("/health").headers.get("x-request-id")
    second = api.get("/health").headers.get("x-request-id")
    assert first
    assert second
    assert first != second


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/health"), ("GET", "/v1/stats"), ("GET", "/nope"), ("POST", "/v1/memories")],
)
def test_request_id_is_echoed(api: httpx.Client, method: str, url: str) -> None:
    request_id = f"test-{uuid.uuid4()}"
    response = api.request(method, url, headers={"X-Request-ID": request_id}, content=b"{}")
    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("GET", "/health", None, 200),
        ("GET", "/ready", None, 200),
        ("GET", "/metrics", None, 200),
        ("GET", "/v1/stats", None, 200),
        ("GET", "/v1/namespaces", None, 200),
        ("POST", "/v1/memories/search", b"{}", 200),
        ("GET", "/v1/memories/0a4e1c7e-9c0e-4c77-9f5f-3d1f1d9e6a11", None, 404),
        ("POST", "/v1/memories", b"{", 400),
        ("POST", "/v1/namespaces", b'{"name": "default"}', 409),
        ("GET", "/definitely/not/here", None, 404),
        ("DELETE", "/v1/stats", None, None),
        ("OPTIONS", "/v1/memories", None, 204),
        ("POST", "/v1/inference/cache/clear", None, 404),
    ],
)
def test_security_headers_on_every_response(
    api: httpx.Client, method: str, url: str, body: bytes | None, status: int | None
) -> None:
    response = api.request(method, url, content=body)
    if status is not None:
        assert response.status_code == status
    assert response.status_code < 500
    assert_security_headers(response)


# -- OPTIONS and CORS --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/health",
        "/v1/memories",
        "/v1/memories/search",
        "/v1/memories/some-id",
        "/v1/namespaces/acme%2Fteam/memories",
        "/nowhere/at/all",
    ],
)
def test_options_on_any_path_is_204_empty(api: httpx.Client, url: str) -> None:
    response = api.options(url)
    assert response.status_code == 204
    assert response.content == b""
    assert_security_headers(response)


def test_preflight_is_answered_with_cors_headers(api: httpx.Client) -> None:
    response = api.options(
        "/v1/memories",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-api-key",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert response.headers["access-control-allow-methods"] == "GET, POST, PUT, DELETE, OPTIONS"
    assert response.headers["access-control-max-age"] == "86400"


def allowed_headers(response: httpx.Response) -> set[str]:
    value = response.headers["access-control-allow-headers"]
    return {item.strip().lower() for item in value.split(",")}


@pytest.mark.parametrize(("method", "url"), [("GET", "/health"), ("GET", "/nope")])
def test_cors_echoes_any_origin_by_default(api: httpx.Client, method: str, url: str) -> None:
    origin = "https://anything.example:8443"
    response = api.request(method, url, headers={"Origin": origin})
    assert response.headers["access-control-allow-origin"] == origin, "echoed, not *"
    assert response.headers["access-control-allow-methods"] == "GET, POST, PUT, DELETE, OPTIONS"
    assert {"content-type", "authorization", "x-api-key"} <= allowed_headers(response)
    assert {"x-request-id", "accept"} <= allowed_headers(response)
    assert response.headers["access-control-max-age"] == "86400"


def test_no_cors_headers_without_origin(api: httpx.Client) -> None:
    for response in (api.get("/health"), api.options("/v1/memories")):
        assert "access-control-allow-origin" not in response.headers


def test_cors_with_an_origin_list(serve: ServeFactory) -> None:
    server = serve(cors_origins=["https://a.example", "https://c.example"])
    with client_for(server) as http:
        allowed = http.get("/health", headers={"Origin": "https://a.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://a.example"
        other = http.get("/health", headers={"Origin": "https://c.example"})
        assert other.headers["access-control-allow-origin"] == "https://c.example"

        denied = http.get("/health", headers={"Origin": "https://b.example"})
        assert denied.status_code == 200
        assert "access-control-allow-origin" not in denied.headers
        assert "access-control-allow-methods" not in denied.headers

        preflight = http.options("/v1/memories", headers={"Origin": "https://b.example"})
        assert preflight.status_code == 204
        assert "access-control-allow-origin" not in preflight.headers

        assert "access-control-allow-origin" not in http.get("/health").headers


# -- unknown routes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/nope", "/v1/nope", "/v1/memories/a/b/c", "/v2/memories", "/v1/search"]
)
def test_unknown_route_is_404_json(api: httpx.Client, url: str) -> None:
    response = api.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["error"] == "not found"
    assert body["code"] == "NOT_FOUND"
    assert set(body) <= {"error", "code", "details"}


@pytest.mark.parametrize(
    ("method", "url"), [("DELETE", "/v1/stats"), ("PUT", "/health"), ("PATCH", "/v1/memories")]
)
def test_wrong_method_is_a_json_4xx(api: httpx.Client, method: str, url: str) -> None:
    response = api.request(method, url)
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert isinstance(body["error"], str)
    assert isinstance(body["code"], str)


# -- API key -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/v1/stats"),
        ("POST", "/v1/memories"),
        ("POST", "/v1/memories/search"),
        ("GET", "/v1/namespaces"),
        ("GET", "/v1/namespaces/default/memories"),
        ("GET", "/v1/inference/health"),
    ],
)
def test_api_key_required(keyed: httpx.Client, method: str, url: str) -> None:
    response = keyed.request(method, url, json={"namespace": "default", "content": "x"})
    assert response.status_code == 401
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == NO_KEY
    assert_security_headers(response)


def test_api_key_missing_writes_nothing(serve: ServeFactory) -> None:
    server = serve(api_key="secret")
    with client_for(server) as http:
        response = http.post("/v1/memories", json={"namespace": "default", "content": "x"})
        assert response.status_code == 401
    assert server.maia.stats().total_memories == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "wrong"},
        {"X-API-Key": "secretx"},
        {"X-API-Key": "SECRET"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic c2VjcmV0"},
    ],
)
def test_wrong_api_key(keyed: httpx.Client, headers: dict[str, str]) -> None:
    response = keyed.get("/v1/stats", headers=headers)
    assert response.status_code == 401
    assert response.json() == BAD_KEY


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "secret"},
        {"Authorization": "Bearer secret"},
        {"Authorization": "secret"},
    ],
)
def test_api_key_accepted(keyed: httpx.Client, headers: dict[str, str]) -> None:
    assert keyed.get("/v1/stats", headers=headers).status_code == 200
    created = keyed.post(
        "/v1/memories", json={"namespace": "default", "content": "authorised"}, headers=headers
    )
    assert created.status_code == 201
    fetched = keyed.get(f"/v1/memories/{created.json()['id']}", headers=headers)
    assert fetched.status_code == 200


def test_x_api_key_wins_over_authorization(keyed: httpx.Client) -> None:
    good_first = {"X-API-Key": "secret", "Authorization": "Bearer wrong"}
    assert keyed.get("/v1/stats", headers=good_first).status_code == 200
    bad_first = {"X-API-Key": "wrong", "Authorization": "Bearer secret"}
    assert keyed.get("/v1/stats", headers=bad_first).json() == BAD_KEY


def test_api_key_query_parameter_is_off_by_default(keyed: httpx.Client) -> None:
    response = keyed.get("/v1/stats", params={"api_key": "secret"})
    assert response.status_code == 401
    assert response.json() == NO_KEY


def test_api_key_query_parameter_when_enabled(serve: ServeFactory) -> None:
    with client_for(serve(api_key="secret", api_key_query_param=True)) as http:
        assert http.get("/v1/stats", params={"api_key": "secret"}).status_code == 200
        wrong = http.get("/v1/stats", params={"api_key": "nope"})
        assert wrong.status_code == 401
        assert wrong.json() == BAD_KEY
        assert http.get("/v1/stats").json() == NO_KEY
        assert http.get("/v1/stats", headers={"X-API-Key": "secret"}).status_code == 200


@pytest.mark.parametrize("url", ["/health", "/ready", "/metrics"])
def test_probes_need_no_api_key(keyed: httpx.Client, url: str) -> None:
    assert keyed.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/healthz", "/ready/now", "/metrics/extra"])
def test_probe_prefixes_are_exempt(keyed: httpx.Client, url: str) -> None:
    # Contract §2.1: any path *starting with* a probe path skips the key check.
    response = keyed.get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_options_needs_no_api_key(keyed: httpx.Client) -> None:
    response = keyed.options("/v1/memories", headers={"Origin": "https://x.example"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://x.example"


def test_no_auth_by_default(api: httpx.Client) -> None:
    assert api.get("/v1/stats").status_code == 200


# -- rate limiting -----------------------------------------------------------------------


def test_rate_limit_rejects_bursts(serve: ServeFactory) -> None:
    with client_for(serve(rate_limit_rps=2)) as http:
        responses = [http.get("/health") for _ in range(20)]
        statuses = [r.status_code for r in responses]
        assert statuses[:4] == [200] * 4, "burst is twice the rate"
        assert 429 in statuses
        assert set(statuses) <= {200, 429}
        limited = next(r for r in responses if r.status_code == 429)
        assert limited.headers["content-type"] == JSON_TYPE
        assert limited.json() == RATE_LIMITED
        assert int(limited.headers["retry-after"]) >= 1
        assert_security_headers(limited)

        assert http.get("/v1/stats").status_code == 429, "every path is limited"
        assert http.options("/v1/stats").status_code == 204, "OPTIONS comes first"


def test_rate_limit_comes_before_authentication(serve: ServeFactory) -> None:
    with client_for(serve(rate_limit_rps=1, api_key="secret")) as http:
        statuses = [http.get("/v1/stats").status_code for _ in range(10)]
        assert statuses[:2] == [401, 401]
        assert 429 in statuses
        assert set(statuses) <= {401, 429}


def test_rate_limit_zero_disables_it(api: httpx.Client) -> None:
    statuses = {api.get("/health").status_code for _ in range(250)}
    assert statuses == {200}


# -- body size -----------------------------------------------------------------------------


def test_request_body_over_the_limit_is_413(serve: ServeFactory) -> None:
    server = serve(max_request_bytes=2048)
    with client_for(server) as http:
        memory = create_memory(http, content="small")
        big = {"namespace": "default", "content": "x" * 3000}

        response = http.post("/v1/memories", json=big)
        assert response.status_code == 413
        assert response.headers["content-type"] == JSON_TYPE
        body = response.json()
        assert body["code"] == "PAYLOAD_TOO_LARGE"
        assert isinstance(body["error"], str)
        assert_security_headers(response)

        response = http.put(f"/v1/memories/{memory['id']}", json={"content": "y" * 3000})
        assert response.status_code == 413
        assert http.get(f"/v1/memories/{memory['id']}").json()["content"] == "small"

        under = http.post("/v1/memories", json={"namespace": "default", "content": "x" * 1500})
        assert under.status_code == 201
    assert server.maia.stats().total_memories == 2


def test_streamed_body_over_the_limit_is_413(serve: ServeFactory) -> None:
    server = serve(max_request_bytes=2048)

    def chunks() -> Iterator[bytes]:
        yield b'{"namespace": "default", "content": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    with client_for(server) as http:
        response = http.post("/v1/memories", content=chunks())
        assert response.status_code == 413, response.text
        # The same body as for a declared length.
        assert response.json() == {
            "error": "request body too large",
            "code": "PAYLOAD_TOO_LARGE",
            "details": "limit is 2048 bytes",
        }
    assert server.maia.stats().total_memories == 0


def test_an_unexpected_error_is_a_500_with_every_header(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(cors_origins=["https://app.example"])

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Maia, "stats", broken)
    with client_for(server) as http:
        response = http.get(
            "/v1/stats", headers={"X-Request-ID": "rid-500", "Origin": "https://app.example"}
        )
        assert response.status_code == 500
        assert response.json() == {"error": "internal server error", "code": "INTERNAL_ERROR"}
        assert response.headers["content-type"] == JSON_TYPE
        assert response.headers["x-request-id"] == "rid-500"
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        assert_security_headers(response)
        assert "disk on fire" not in response.text
        assert http.get("/health").status_code == 200  # the server carries on


# -- inference status ------------------------------------------------------------------


def test_inference_health_when_disabled(api: httpx.Client) -> None:
    response = api.get("/v1/inference/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"enabled": False}


def test_inference_cache_stats_when_disabled(api: httpx.Client) -> None:
    response = api.get("/v1/inference/cache/stats")
    assert response.status_code == 200
    assert response.json() == {"enabled": False, "hits": 0, "misses": 0, "evictions": 0, "size": 0}


def test_inference_cache_clear_when_disabled(api: httpx.Client) -> None:
    response = api.post("/v1/inference/cache/clear")
    assert response.status_code == 404
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"error": "cache not enabled", "code": "CACHE_DISABLED"}


@pytest.mark.parametrize("name", ["ollama", "openrouter", "x"])
def test_inference_provider_check_when_disabled(api: httpx.Client, name: str) -> None:
    response = api.post(f"/v1/inference/health/{name}")
    assert response.status_code == 404
    assert response.json() == {"error": "inference not enabled", "code": "INFERENCE_DISABLED"}


def test_proxy_routes_are_always_mounted(api: httpx.Client) -> None:
    # Unlike the original (mounted only with a backend), the built-in mock model answers.
    bad = api.post("/v1/chat/completions", json={})
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request"  # contract 6.1
    assert "mock" in {m["id"] for m in api.get("/v1/models").json()["data"]}


# -- OpenAPI -----------------------------------------------------------------------------


EXPECTED_ROUTES = {
    "/health": {"get"},
    "/ready": {"get"},
    "/metrics": {"get"},
    "/v1/memories": {"get", "post"},
    "/v1/memories/{memory_id}": {"get", "put", "delete"},
    "/v1/memories/search": {"post"},
    "/v1/memories/batch": {"post"},
    "/v1/memories/batch/delete": {"post"},
    "/v1/memories/touch": {"post"},
    "/v1/namespaces": {"get", "post"},
    "/v1/namespaces/{ns}": {"get", "put", "delete"},
    "/v1/namespaces/{ns}/memories": {"get"},
    "/v1/namespaces/{ns}/children": {"get"},
    "/v1/namespaces/{ns}/effective-config": {"get"},
    "/v1/stats": {"get"},
    "/v1/inference/health": {"get"},
    "/v1/inference/health/{name}": {"post"},
    "/v1/inference/cache/stats": {"get"},
    "/v1/inference/cache/clear": {"post"},
    "/v1/chat/completions": {"post"},
    "/v1/models": {"get"},
    "/proxy/v1/chat/completions": {"post"},
    "/proxy/v1/models": {"get"},
}


def test_openapi_lists_every_route(api: httpx.Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for route, methods in EXPECTED_ROUTES.items():
        assert route in paths, route
        assert methods <= set(paths[route]), (route, set(paths[route]))


def test_openapi_is_public_with_an_api_key(keyed: httpx.Client) -> None:
    assert keyed.get("/openapi.json").status_code == 200


# -- stats -------------------------------------------------------------------------------


def test_stats_on_a_fresh_server(client: httpx.Client) -> None:
    response = client.get("/v1/stats")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    stats = response.json()
    assert set(stats) == {
        "total_memories",
        "total_namespaces",
        "storage_size_bytes",
        "last_compaction",
    }
    assert stats["total_memories"] == 0
    assert stats["total_namespaces"] == 1, "the default namespace"
    assert isinstance(stats["storage_size_bytes"], int)
    assert stats["storage_size_bytes"] >= 0
    assert stats["last_compaction"].endswith("Z")
    datetime.fromisoformat(stats["last_compaction"])


def test_stats_count_right(client: httpx.Client) -> None:
    def counts() -> tuple[int, int]:
        stats = client.get("/v1/stats").json()
        return stats["total_memories"], stats["total_namespaces"]

    first = create_memory(client)
    create_memory(client)
    create_memory(client, "no-record-for-this-one")
    assert counts() == (3, 1), "memories without a namespace record count too"

    client.post("/v1/namespaces", json={"name": "team"}).raise_for_status()
    create_memory(client, "team")
    assert counts() == (4, 2)

    client.delete(f"/v1/memories/{first['id']}").raise_for_status()
    assert counts() == (3, 2)

    client.delete("/v1/namespaces/team").raise_for_status()
    assert counts() == (3, 1), "deleting a namespace keeps its memories"

    batch = [{"namespace": "default", "content": f"b{i}"} for i in range(5)]
    client.post("/v1/memories/batch", json={"memories": batch}).raise_for_status()
    assert counts() == (8, 1)
    assert client.get("/v1/stats").json()["storage_size_bytes"] > 0
