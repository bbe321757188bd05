"""The proxy's added latency: a chat completion through MAIA against the same upstream
called directly.

Starts a minimal OpenAI-compatible upstream in this process (a constant answer, so its
own time is near zero) and a real ``maia serve`` whose only provider is that upstream,
holding ``--memories`` memories in one namespace (written with ``POST
/v1/memories/batch``). Then, sequentially, ``--requests`` chat completions of realistic
questions:

* directly to the upstream;
* through MAIA with ``X-MAIA-Skip-Memory: true`` (routing and forwarding only);
* through MAIA with injection (context assembly over the namespace, then forwarding).

Learning runs as by default (in the background, after each answer). Prints p50/p99 and
the p50 added over the direct call.

Run: ``.venv/bin/python benchmarks/proxy.py [--memories 10000] [--requests 200]
[--embedding local|hashing]`` (prints a markdown table).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from context import question
from crud import maia_server, memory_payloads
from machine import cpu_model, load_average, revision

NAMESPACE = "bench"
BATCH = 500
REPLY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1,
    "model": "up-bench",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "OK."}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


async def chat(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse(REPLY)


def start_upstream() -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def timed(call: Callable[[], httpx.Response], count: int) -> list[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        call().raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)


def p(sorted_ms: list[float], pct: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, round(pct / 100 * (len(sorted_ms) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--embedding", choices=("local", "hashing"), default="local")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    upstream, up_server, up_thread = start_upstream()
    provider = {
        "name": "up",
        "type": "openai",
        "base_url": f"{upstream}/v1",
        "models": ["up-*"],
        "max_retries": 0,
    }
    settings = {
        "MAIA_RATE_LIMIT_RPS": "0",
        "MAIA_LOG_LEVEL": "warning",
        "MAIA_EMBEDDING_PROVIDER": args.embedding,
        "MAIA_INFERENCE_PROVIDERS": json.dumps([provider]),
    }
    questions = [question(rng) for _ in range(args.requests + 20)]
    rows: list[tuple[str, list[float]]] = []
    with maia_server(settings) as server, httpx.Client(timeout=120) as http:
        print(f"writing {args.memories:,} memories", file=sys.stderr)
        payloads = memory_payloads(rng, args.memories, [NAMESPACE])
        started = time.perf_counter()
        for i in range(0, len(payloads), BATCH):
            http.post(
                f"{server.base_url}/v1/memories/batch", json={"memories": payloads[i : i + BATCH]}
            ).raise_for_status()
        ingest = time.perf_counter() - started

        def ask(url: str, headers: dict[str, str]) -> Callable[[], httpx.Response]:
            pending = iter(questions * 3)

            def call() -> httpx.Response:
                body = {
                    "model": "up-bench",
                    "messages": [{"role": "user", "content": next(pending)}],
                }
                return http.post(url, json=body, headers=headers)

            return call

        direct = f"{upstream}/v1/chat/completions"
        proxied = f"{server.base_url}/v1/chat/completions"
        ns = {"X-MAIA-Namespace": NAMESPACE}
        for label, url, headers in (
            ("upstream directly", direct, {}),
            ("through MAIA, no injection", proxied, {**ns, "X-MAIA-Skip-Memory": "true"}),
            ("through MAIA, with injection", proxied, ns),
        ):
            timed(ask(url, headers), 20)  # warm-up: connections, first-query costs
            rows.append((label, timed(ask(url, headers), args.requests)))
    up_server.should_exit = True
    up_thread.join(timeout=10)

    base = statistics.median(rows[0][1])
    header = (
        f"{datetime.now(UTC):%Y-%m-%d} · {cpu_model()}, {platform.python_version()} · MAIA "
        f"{revision()} · load {load_average()} · memories={args.memories:,} "
        f"(ingest {ingest:.0f} s), requests={args.requests}, embedding={args.embedding}"
    )
    print(header)
    print()
    print("| path | p50 ms | p99 ms | added p50 ms |")
    print("|---|---:|---:|---:|")
    for label, ms in rows:
        added = statistics.median(ms) - base
        print(f"| {label} | {statistics.median(ms):.2f} | {p(ms, 99):.2f} | {added:.2f} |")


if __name__ == "__main__":
    main()
