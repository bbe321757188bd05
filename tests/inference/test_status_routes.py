"""The inference status routes of a live MAIA server with providers configured (the
disabled state is covered in tests/api/test_http_layer.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx

from tests.conftest import LiveServer
from tests.inference.conftest import provider
from tests.inference.upstreams import Upstream, free_port_url

JSON_TYPE = "application/json; charset=utf-8"


def test_health_and_forced_checks(
    serve: Callable[..., LiveServer], openai_up: Upstream, anthropic_up: Upstream
) -> None:
    providers = [
        provider("openai", openai_up, "gpt-*"),
        provider("claude", anthropic_up, "claude-*"),
        provider("down", free_port_url() + "/v1"),
    ]
    server = serve(inference_providers=providers)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.get("/v1/inference/health")
        assert response.status_code == 200
        assert response.headers["content-type"] == JSON_TYPE
        unknown = {"status": "unknown", "consecutive_errors": 0, "consecutive_ok": 0}
        assert response.json() == {
            "enabled": True,
            "providers": {"openai": unknown, "claude": unknown, "down": unknown, "mock": unknown},
        }

        checked = http.post("/v1/inference/health/claude")
        assert checked.status_code == 200
        body = checked.json()
        assert body["status"] == "healthy"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["last_check"])
        assert anthropic_up.received[-1].path == "/v1/models"

        failed = http.post("/v1/inference/health/down")
        assert failed.status_code == 500
        assert failed.headers["content-type"] == JSON_TYPE
        body = failed.json()
        assert body["error"] == "health check failed"
        assert body["code"] == "HEALTH_CHECK_FAILED"
        assert "down" in body["details"]  # the check's reason: provider 'down' failed: …

        providers_now = http.get("/v1/inference/health").json()["providers"]
        assert providers_now["claude"]["status"] == "healthy"
        assert providers_now["down"]["consecutive_errors"] == 1, "the failure is recorded"
        assert providers_now["down"]["last_error"] == body["details"]

        missing = http.post("/v1/inference/health/nope")
        assert missing.status_code == 404
        assert missing.json() == {"error": "provider not found", "code": "PROVIDER_NOT_FOUND"}


def test_cache_routes(serve: Callable[..., LiveServer], openai_up: Upstream) -> None:
    server = serve(
        inference_providers=[provider("openai", openai_up)], inference_cache_enabled=True
    )
    with httpx.Client(base_url=server.url, timeout=30) as http:
        stats = http.get("/v1/inference/cache/stats")
        assert stats.status_code == 200
        assert stats.json() == {"enabled": True, "hits": 0, "misses": 0, "evictions": 0, "size": 0}
        cleared = http.post("/v1/inference/cache/clear")
        assert cleared.status_code == 200
        assert cleared.json() == {"message": "cache cleared"}


def test_cache_disabled_with_providers(
    serve: Callable[..., LiveServer], openai_up: Upstream
) -> None:
    server = serve(inference_providers=[provider("openai", openai_up)])
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/v1/inference/cache/stats").json()["enabled"] is False
        cleared = http.post("/v1/inference/cache/clear")
        assert cleared.status_code == 404
        assert cleared.json() == {"error": "cache not enabled", "code": "CACHE_DISABLED"}


def test_periodic_checks_run_in_the_server(
    serve: Callable[..., LiveServer], openai_up: Upstream
) -> None:
    server = serve(
        inference_providers=[provider("openai", openai_up)],
        inference_health_enabled=True,
        inference_health_interval_seconds=0.05,
    )
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(200):
            health = http.get("/v1/inference/health").json()["providers"]["openai"]
            if health["consecutive_ok"] >= 2:
                break
            time.sleep(0.02)
        assert health["status"] == "healthy"
        assert health["consecutive_ok"] >= 2
