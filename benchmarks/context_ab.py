"""``POST /v1/context`` of two source trees side by side, for a fair comparison on a
noisy machine: two ``maia serve`` processes (each with its own ``src`` on PYTHONPATH,
the project's interpreter and dependencies) hold the same memories; every question goes
to both, in random order, and each side's client latency is reported.

Run: ``.venv/bin/python benchmarks/context_ab.py OLD_SRC NEW_SRC [--memories 10000]
[--queries 300]``, e.g. with ``git worktree add --detach /tmp/old REV`` and
``/tmp/old/src src``.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import time

import httpx

from context import BATCH_SIZE, BUDGET, NAMESPACE, maia_server, memory_text, question
from machine import load_average, steadiness


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs=2, metavar="SRC")
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = [memory_text(rng) for _ in range(args.memories)]
    kinds = [rng.choice(("semantic", "episodic")) for _ in texts]
    asked = [question(rng) for _ in range(args.queries + 20)]
    print(f"load {load_average()} · {steadiness()}", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(
                httpx.Client(base_url=stack.enter_context(maia_server(src)), timeout=300)
            )
            for src in args.sources
        ]
        for i in range(0, len(texts), BATCH_SIZE):
            batch = [
                {"namespace": NAMESPACE, "content": t, "type": k}
                for t, k in zip(texts[i : i + BATCH_SIZE], kinds[i : i + BATCH_SIZE], strict=True)
            ]
            for client in clients:
                client.post("/v1/memories/batch", json={"memories": batch}).raise_for_status()
        times: list[list[float]] = [[] for _ in clients]
        for n, q in enumerate(asked):
            for side in rng.sample(range(len(clients)), len(clients)):
                body = {"query": q, "namespace": NAMESPACE, "token_budget": BUDGET}
                started = time.perf_counter()
                clients[side].post("/v1/context", json=body).raise_for_status()
                if n >= 20:  # the first 20 warm up connections and caches
                    times[side].append((time.perf_counter() - started) * 1000)
    print("| source | p50 ms | p90 ms | p99 ms | min ms |\n|---|---:|---:|---:|---:|")
    for src, values in zip(args.sources, times, strict=True):
        values.sort()
        p90, p99 = values[int(len(values) * 0.9)], values[int(len(values) * 0.99)]
        p50 = statistics.median(values)
        print(f"| {src} | {p50:.1f} | {p90:.1f} | {p99:.1f} | {values[0]:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
