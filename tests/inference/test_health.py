"""Provider health: forced checks, passive updates from requests, thresholds, periodic
checks, and unhealthy providers left out."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import anyio
import pytest

from maia.inference import (
    HealthCheckFailed,
    UnknownProvider,
    UpstreamError,
    UpstreamUnavailable,
)
from maia.inference.health import HealthTracker
from tests.inference.conftest import RouterFactory, provider, user
from tests.inference.upstreams import Reply, Upstream, free_port_url

pytestmark = pytest.mark.anyio

RFC3339_SECONDS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def test_thresholds() -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    tracker = HealthTracker(["p"], unhealthy_threshold=2, healthy_threshold=2, clock=lambda: moment)
    assert tracker.snapshot("p") == {
        "status": "unknown",
        "consecutive_errors": 0,
        "consecutive_ok": 0,
    }
    tracker.failure("p", "refused")
    assert tracker.snapshot("p") == {
        "status": "unknown",
        "last_check": "2024-05-06T07:08:09Z",
        "last_error": "refused",
        "consecutive_errors": 1,
        "consecutive_ok": 0,
    }
    tracker.failure("p", "refused again")
    assert tracker.status("p") == "unhealthy"
    tracker.success("p")
    assert tracker.status("p") == "unhealthy"  # one success is not enough
    assert "last_error" not in tracker.snapshot("p")
    tracker.success("p")
    assert tracker.status("p") == "healthy"
    tracker.failure("p", "blip")
    assert tracker.status("p") == "healthy"  # one failure is not enough


def test_first_success_decides_unknown() -> None:
    tracker = HealthTracker(["p"], healthy_threshold=5)
    tracker.success("p")
    assert tracker.status("p") == "healthy"


async def test_forced_check(router_with: RouterFactory, openai_up: Upstream) -> None:
    dead = provider("dead", free_port_url() + "/v1")
    async with router_with(provider("live", openai_up), dead) as router:
        assert router.health()["live"] == {
            "status": "unknown",
            "consecutive_errors": 0,
            "consecutive_ok": 0,
        }
        live = await router.check_provider("live")
        assert live["status"] == "healthy"
        assert live["consecutive_ok"] == 1
        assert re.fullmatch(RFC3339_SECONDS, live["last_check"])
        assert openai_up.received[0].path == "/v1/models"
        for count in (1, 2, 3):
            with pytest.raises(HealthCheckFailed) as caught:
                await router.check_provider("dead")
            dead_health = router.health()["dead"]
            assert dead_health["consecutive_errors"] == count
        assert dead_health["status"] == "unhealthy"
        assert "failed" in dead_health["last_error"]
        assert caught.value.details == dead_health["last_error"]
        with pytest.raises(UnknownProvider):
            await router.check_provider("nope")


async def test_check_times_out(router_with: RouterFactory, openai_up: Upstream) -> None:
    openai_up.then(Reply(delay=1.0))
    settings = {"inference_health_timeout_seconds": 0.2}
    async with router_with(provider("slow", openai_up), **settings) as router:
        with pytest.raises(HealthCheckFailed, match="health check failed"):
            await router.check_provider("slow")
        health = router.health()["slow"]
    assert health["last_error"] == "health check timed out after 0.2 s"


async def test_passive_updates_and_recovery(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    failure = Reply(503, {"error": {"message": "down", "type": "server_error"}})
    openai_up.then(failure, failure)
    settings = {"inference_unhealthy_threshold": 2, "inference_healthy_threshold": 2}
    async with router_with(provider("o", openai_up, "gpt-*"), **settings) as router:
        for _ in range(2):
            with pytest.raises(UpstreamError, match="down"):
                await router.complete(user("hi", model="gpt-4o"))
        assert router.health()["o"]["status"] == "unhealthy"
        assert router.health()["o"]["last_error"] == "down"
        # Without periodic checks an unhealthy provider is still tried (last), so a
        # request can see it recover.
        await router.complete(user("hi", model="gpt-4o"))
        assert router.health()["o"]["status"] == "unhealthy"
        await router.complete(user("hi", model="gpt-4o"))
        assert router.health()["o"]["status"] == "healthy"


async def test_unhealthy_providers_are_skipped_while_checks_run(
    router_with: RouterFactory, second_openai: Upstream
) -> None:
    dead = provider("dead", free_port_url() + "/v1", "gpt-*")
    settings = {
        "inference_health_enabled": True,
        "inference_health_interval_seconds": 0.05,
        "inference_unhealthy_threshold": 1,
    }
    async with router_with(dead, provider("live", second_openai, "gpt-*"), **settings) as router:
        with anyio.fail_after(5):
            while router.health()["live"]["consecutive_ok"] < 2:
                await anyio.sleep(0.02)
        assert router.health()["dead"]["status"] == "unhealthy"
        assert router.health()["mock"]["status"] == "healthy"
        _, used = await router.complete(user("hi", model="gpt-4o"))
        assert used == "live"
        models = await router.list_models()
        assert [m["id"] for m in models] == ["second-model", "mock"]
    async with router_with(dead, **settings) as router:
        with anyio.fail_after(5):
            # Failed periodic checks are only recorded: the checks go on.
            while router.health()["dead"]["consecutive_errors"] < 3:
                await anyio.sleep(0.02)
        assert router.health()["dead"]["status"] == "unhealthy"
        with pytest.raises(UpstreamUnavailable, match="no healthy inference provider"):
            await router.complete(user("hi", model="gpt-4o"))


async def test_models_are_merged_by_id(
    router_with: RouterFactory, openai_up: Upstream, second_openai: Upstream
) -> None:
    second_openai.then(
        Reply(200, {"data": [{"id": "openai-model", "object": "model", "owned_by": "dup"}]})
    )
    dead = provider("dead", free_port_url() + "/v1")
    async with router_with(provider("a", openai_up), provider("b", second_openai), dead) as router:
        models = await router.list_models()
        assert [(m["id"], m["owned_by"]) for m in models] == [
            ("openai-model", "x"),
            ("mock", "maia"),
        ]
        assert router.health()["dead"]["consecutive_errors"] == 1
