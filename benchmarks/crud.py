"""CRUD over HTTP: throughput and latency of a real ``maia serve`` process.

Starts the server on a free loopback port with a temporary data directory (rate limit
off), then measures, over HTTP with one ``httpx.Client`` per worker thread:

* create: single ``POST /v1/memories`` until the store holds ``--memories`` memories
  (the first half at concurrency 1, the rest at ``--concurrency``);
* get: ``GET /v1/memories/{id}`` of random stored memories;
* search: ``POST /v1/memories/search`` with 2-4 vocabulary words, in one namespace and
  across all of them;
* batch create: ``POST /v1/memories/batch`` with 500 memories a request, in its own
  namespace, measured last so that gets and searches run at exactly ``--memories``.

Run: ``.venv/bin/python benchmarks/crud.py [--memories 10000] [--concurrency 4]
[--synchronous full|normal] [--api-key KEY] [--env MAIA_NAME=VALUE ...]
[--json | --markdown]``.
The server gets no MAIA_ variable from the caller's environment, only the benchmark's
own (rate limit off, ``--synchronous``, log level warning) and those given with --env.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.table import Table

from machine import cpu_model, revision

T = TypeVar("T")
Payload = dict[str, Any]

BATCH_SIZE = 500
BATCH_NAMESPACE = "bench/batch"
NAMESPACES = tuple(f"users/u{i:02d}" for i in range(20))
STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 15.0

err = Console(stderr=True, highlight=False)

# -- synthetic memories --------------------------------------------------------------------

PEOPLE = (
    "Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Gustav", "Hana", "Ivan", "Jun",
    "Keira", "Luis", "Maya", "Nikolai", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tomas",
    "Uma", "Viktor", "Wen", "Yara", "Zoe",
)  # fmt: skip
PLACES = (
    "Lisbon", "Kyoto", "Nairobi", "Toronto", "Berlin", "Oaxaca", "Reykjavik", "Melbourne",
    "Marrakesh", "Seoul", "Valparaiso", "Edinburgh", "Hanoi", "Cape Town", "Montreal",
    "the office", "the gym", "the farmers market", "the climbing hall", "the library",
)  # fmt: skip
ACTIVITIES = (
    "hiking", "swimming", "rock climbing", "baking sourdough", "playing chess",
    "learning Portuguese", "running a half marathon", "painting watercolours", "cycling",
    "birdwatching", "playing the cello", "gardening", "kayaking", "writing poetry",
    "practising yoga", "brewing coffee", "restoring furniture", "skiing", "photography",
)  # fmt: skip
FOODS = (
    "green tea", "ramen", "dark chocolate", "oat milk lattes", "spicy tacos", "sushi",
    "lentil soup", "pistachio ice cream", "sparkling water", "espresso", "falafel",
    "mango lassi", "vegan pizza", "miso salmon", "blueberry pancakes", "kimchi",
)  # fmt: skip
PREFERENCES = (
    "short answers", "metric units", "morning meetings", "window seats", "dark mode",
    "email over phone calls", "bullet-point summaries", "quiet restaurants",
    "early flights", "paper books", "formal tone", "examples in Python",
)  # fmt: skip
JOBS = (
    "nurse", "data engineer", "architect", "high-school teacher", "product manager",
    "carpenter", "translator", "pharmacist", "journalist", "pilot", "chef", "lawyer",
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip
TEMPLATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("semantic", "{p} loves {f} and usually orders it in {pl}.", ("food", "preference")),
    ("semantic", "{p} prefers {pr} when talking about {a}.", ("preference",)),
    ("semantic", "{p} works as a {j} in {pl} and enjoys {a} at weekends.", ("work", "hobby")),
    ("semantic", "{p} is allergic to {f} and avoids it at all costs.", ("health", "food")),
    ("episodic", "On {d}, {p} went {a} near {pl} with {q}.", ("event", "hobby")),
    ("episodic", "{p} has a meeting with {q} in {pl} on {d} at {h}:00.", ("event", "work")),
    ("episodic", "On {d}, {p} told {q} that {pr} matter a lot to them.", ("event",)),
    ("semantic", "{p}'s birthday is on {d}; {q} plans to give them {f}.", ("birthday",)),
    ("semantic", "{p} started {a} last {m} and wants to keep doing it.", ("hobby", "goal")),
)
VOCABULARY = tuple(
    sorted(
        {
            word.lower()
            for phrase in PEOPLE + PLACES + ACTIVITIES + FOODS + PREFERENCES + JOBS + MONTHS
            for word in phrase.split()
            if len(word) > 2
        }
    )
)


def memory_payload(rng: random.Random, namespace: str, index: int) -> Payload:
    """One realistic-looking memory: a person, a place, an activity, a preference, a date."""
    kind, template, tags = rng.choice(TEMPLATES)
    person, other = rng.sample(PEOPLE, 2)
    content = template.format(
        p=person,
        q=other,
        pl=rng.choice(PLACES),
        a=rng.choice(ACTIVITIES),
        f=rng.choice(FOODS),
        pr=rng.choice(PREFERENCES),
        j=rng.choice(JOBS),
        m=rng.choice(MONTHS),
        d=f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2019, 2026)}",
        h=rng.randint(8, 18),
    )
    payload: Payload = {
        "namespace": namespace,
        "content": content,
        "type": kind,
        "tags": [*tags, person.lower()],
    }
    if rng.random() < 0.3:
        payload["metadata"] = {"channel": rng.choice(("chat", "email", "voice")), "turn": index}
    return payload


def memory_payloads(rng: random.Random, count: int, namespaces: Sequence[str]) -> list[Payload]:
    return [memory_payload(rng, rng.choice(namespaces), i) for i in range(count)]


def search_payloads(rng: random.Random, count: int, *, filtered: bool) -> list[Payload]:
    return [
        {
            "query": " ".join(rng.sample(VOCABULARY, rng.randint(2, 4))),
            "namespace": rng.choice(NAMESPACES) if filtered else None,
            "limit": 10,
        }
        for _ in range(count)
    ]


# -- the server under test -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Headers every benchmark request sends (the API key, with --api-key).
CLIENT_HEADERS: dict[str, str] = {}


def server_settings(args: argparse.Namespace) -> dict[str, str]:
    """The server's MAIA_ variables: the benchmark's own, then any given with --env."""
    settings = {
        "MAIA_RATE_LIMIT_RPS": "0",
        "MAIA_SQLITE_SYNCHRONOUS": args.synchronous,
        "MAIA_LOG_LEVEL": "warning",
    }
    if args.api_key:
        settings["MAIA_API_KEY"] = args.api_key
    settings.update(item.split("=", 1) for item in args.env)
    return settings


def server_env(settings: dict[str, str]) -> dict[str, str]:
    """The caller's environment without its MAIA_ variables (reproducible), plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MAIA_")}
    return env | settings


def wait_for_health(base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"maia serve exited with {proc.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"maia serve not healthy after {STARTUP_TIMEOUT_S:.0f}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int


@contextlib.contextmanager
def maia_server(settings: dict[str, str]) -> Iterator[Server]:
    """Runs ``maia serve`` for the block and yields it; always stops it."""
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        data_dir, log_path, port = Path(tmp) / "data", Path(tmp) / "server.log", free_port()
        command = [sys.executable, "-m", "maia", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--data-dir", str(data_dir)]
        with log_path.open("wb") as log:
            # Own session: Ctrl-C reaches only this script, which then stops the server.
            proc = subprocess.Popen(
                command, env=server_env(settings), stdout=log, stderr=log, start_new_session=True
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_for_health(base_url, proc, log_path)
            yield Server(base_url, proc.pid)
        finally:
            stop(proc)


# -- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    operation: str
    count: int
    concurrency: int
    ops_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass
class WorkerTimes:
    started: float
    finished: float
    latencies: list[float]


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def run_worker(
    base_url: str, op: Callable[[httpx.Client, T], None], items: Sequence[T], abort: threading.Event
) -> WorkerTimes:
    """One thread's share: its own client, connected (one warm-up call) before timing.
    The first failure sets ``abort``, which stops the other threads too."""
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=base_url, timeout=120.0, headers=CLIENT_HEADERS) as client:
            client.get("/health").raise_for_status()
            started = time.perf_counter()
            for item in items:
                if abort.is_set():
                    break
                t0 = time.perf_counter()
                op(client, item)
                latencies.append(time.perf_counter() - t0)
            return WorkerTimes(started, time.perf_counter(), latencies)
    except BaseException:
        abort.set()
        raise


def measure(
    operation: str,
    base_url: str,
    op: Callable[[httpx.Client, T], None],
    items: Sequence[T],
    concurrency: int,
    *,
    size: Callable[[T], int] | None = None,
) -> Row:
    """Runs ``op`` once per item on ``concurrency`` threads; one row of the table.

    ``count`` and ops/s count calls, or ``size(item)`` per call (memories in a batch);
    latencies are per call."""
    err.print(f"  {operation}: {len(items)} calls, concurrency {concurrency}")
    abort = threading.Event()
    shares = [items[i::concurrency] for i in range(concurrency)]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench") as pool:
        try:
            times = list(pool.map(lambda share: run_worker(base_url, op, share, abort), shares))
        except BaseException:
            abort.set()
            raise
    wall = max(t.finished for t in times) - min(t.started for t in times)
    latencies = sorted(lat for t in times for lat in t.latencies)
    count = sum(map(size, items)) if size else len(items)
    return Row(
        operation=operation,
        count=count,
        concurrency=concurrency,
        ops_per_s=round(count / wall, 1),
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
    )


# -- the operations ------------------------------------------------------------------------


def create_one(collected: list[str]) -> Callable[[httpx.Client, Payload], None]:
    def op(client: httpx.Client, payload: Payload) -> None:
        response = client.post("/v1/memories", json=payload)
        response.raise_for_status()
        collected.append(response.json()["id"])  # list.append is atomic under the GIL

    return op


def create_batch(client: httpx.Client, batch: list[Payload]) -> None:
    client.post("/v1/memories/batch", json={"memories": batch}).raise_for_status()


def get_one(client: httpx.Client, memory_id: str) -> None:
    client.get(f"/v1/memories/{memory_id}").raise_for_status()


def search(client: httpx.Client, body: Payload) -> None:
    client.post("/v1/memories/search", json=body).raise_for_status()


def stored_count(base_url: str) -> int:
    count: int = httpx.get(f"{base_url}/v1/stats", headers=CLIENT_HEADERS).json()["total_memories"]
    return count


def split(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """``items`` in ``parts`` consecutive slices (the last takes the remainder)."""
    size = len(items) // parts
    return [items[i * size : (i + 1) * size if i < parts - 1 else None] for i in range(parts)]


def bench_creates(
    base_url: str, payloads: Sequence[Payload], levels: Sequence[int]
) -> tuple[list[Row], list[str]]:
    """Fills the store, a share of the memories at each concurrency level."""
    ids: list[str] = []
    rows = [
        measure("create", base_url, create_one(ids), share, level)
        for share, level in zip(split(payloads, len(levels)), levels, strict=True)
    ]
    if (held := stored_count(base_url)) != len(payloads):
        raise RuntimeError(f"store holds {held} memories, expected {len(payloads)}")
    return rows, ids


def bench_reads(
    base_url: str, rng: random.Random, ids: Sequence[str], ops: int, levels: Sequence[int]
) -> list[Row]:
    rows = [measure("get by id", base_url, get_one, rng.choices(ids, k=ops), c) for c in levels]
    for filtered, label in ((True, "search (one namespace)"), (False, "search (all)")):
        for level in levels:
            bodies = search_payloads(rng, ops, filtered=filtered)
            rows.append(measure(label, base_url, search, bodies, level))
    return rows


def bench_batches(base_url: str, payloads: Sequence[Payload], levels: Sequence[int]) -> list[Row]:
    batches = [list(payloads[i : i + BATCH_SIZE]) for i in range(0, len(payloads), BATCH_SIZE)]
    label = f"batch create ({BATCH_SIZE}/call)"
    return [
        measure(label, base_url, create_batch, share, level, size=len)
        for share, level in zip(split(batches, len(levels)), levels, strict=True)
    ]


def run_benchmark(base_url: str, args: argparse.Namespace) -> list[Row]:
    rng = random.Random(args.seed)
    levels = sorted({1, args.concurrency})
    memories = memory_payloads(rng, args.memories, NAMESPACES)
    rows, ids = bench_creates(base_url, memories, levels)
    rows += bench_reads(base_url, rng, ids, args.ops, levels)
    # Last, in its own namespace: gets and searches ran at exactly --memories. At least
    # one batch per thread, so that every level really runs at its concurrency.
    count = max(args.memories, BATCH_SIZE * sum(levels))
    rows += bench_batches(base_url, memory_payloads(rng, count, [BATCH_NAMESPACE]), levels)
    return rows


# -- reporting -----------------------------------------------------------------------------


def fsync_ms(samples: int = 200) -> float:
    """Median cost of one 4 KiB write + fsync where the data directory will be (TMPDIR):
    what ``synchronous=full`` adds to every commit, at least."""
    with tempfile.TemporaryFile(prefix="maia-bench-fsync-") as file:
        costs: list[float] = []
        for _ in range(samples):
            file.write(b"x" * 4096)
            file.flush()
            t0 = time.perf_counter()
            os.fsync(file.fileno())
            costs.append(time.perf_counter() - t0)
    return round(percentile(sorted(costs), 50) * 1000, 3)


@dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    machine: float  # busy CPU seconds of the whole machine (steal included)
    ours: float  # this process and the server


def cpu_snapshot(server_pid: int) -> CpuSnapshot | None:
    """CPU seconds so far, from /proc (Linux); ``None`` elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        stat = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    own = os.times()
    return CpuSnapshot(
        wall=time.monotonic(),
        machine=(user + nice + system + irq + softirq + steal) / tick,
        ours=own.user + own.system + (int(stat[11]) + int(stat[12])) / tick,
    )


def other_cpu_pct(before: CpuSnapshot | None, after: CpuSnapshot | None) -> float | None:
    """Share of the machine's CPUs that other processes used during the run: a result
    taken while this is more than a few percent is not comparable with a quiet run."""
    if before is None or after is None:
        return None
    other = (after.machine - before.machine) - (after.ours - before.ours)
    capacity = (after.wall - before.wall) * (os.cpu_count() or 1)
    return round(max(other, 0.0) / capacity * 100, 1)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "fsync_p50_ms": fsync_ms(),
        "python": platform.python_version(),
        "maia": importlib.metadata.version("maia"),
        "revision": revision(),
        "settings": {
            "memories": args.memories,
            "concurrency": args.concurrency,
            "ops": args.ops,
            "seed": args.seed,
        },
        "server_env": server_settings(args),
    }


def header(env: dict[str, Any]) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in env["settings"].items())
    server = " ".join(f"{k}={v}" for k, v in env["server_env"].items())
    other = env.get("other_cpu_pct")
    return (
        f"{env['date']} · {env['machine']} (fsync {env['fsync_p50_ms']} ms"
        f"{'' if other is None else f', other processes {other}% CPU'}) · "
        f"Python {env['python']} · MAIA {env['maia']} ({env['revision']}) · "
        f"{settings} · server: {server}"
    )


COLUMNS = ("operation", "count", "concurrency", "ops/s", "p50 ms", "p99 ms")


def cells(row: Row) -> list[str]:
    return [
        row.operation,
        f"{row.count:,}",
        str(row.concurrency),
        f"{row.ops_per_s:,.0f}",
        f"{row.p50_ms:.2f}",
        f"{row.p99_ms:.2f}",
    ]


def print_table(env: dict[str, Any], rows: Sequence[Row]) -> None:
    table = Table()
    for i, name in enumerate(COLUMNS):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*cells(row))
    console = Console(highlight=False)
    console.print(header(env))
    console.print(table)


def print_markdown(env: dict[str, Any], rows: Sequence[Row]) -> None:
    lines = [header(env), "", "| " + " | ".join(COLUMNS) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|")
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    print("\n".join(lines))


def print_json(env: dict[str, Any], rows: Sequence[Row]) -> None:
    print(json.dumps({**env, "results": [asdict(row) for row in rows]}, indent=2))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=10_000, help="store size (default 10000)")
    parser.add_argument("--concurrency", type=int, default=4, help="threads (default 4)")
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full")
    parser.add_argument("--ops", type=int, default=2_000, help="gets/searches per row")
    parser.add_argument("--seed", type=int, default=42, help="random seed for the data")
    parser.add_argument(
        "--api-key", help="run with authentication on: the server key, sent by every request"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="MAIA_NAME=VALUE",
        help="one more server setting (repeatable); inherited MAIA_ variables are dropped",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    output.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    if args.memories < 2 or args.concurrency < 1 or args.ops < 1:
        parser.error("--memories must be at least 2, --concurrency and --ops at least 1")
    if any(not item.upper().startswith("MAIA_") or "=" not in item for item in args.env):
        parser.error("--env takes MAIA_NAME=VALUE")
    if args.api_key:
        CLIENT_HEADERS["X-API-Key"] = args.api_key
    return args


def exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C, so the server is stopped


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    env = environment(args)
    err.print(f"MAIA CRUD benchmark: {header(env)}")
    try:
        with maia_server(server_settings(args)) as server:
            before = cpu_snapshot(server.pid)
            rows = run_benchmark(server.base_url, args)
            env["other_cpu_pct"] = other_cpu_pct(before, cpu_snapshot(server.pid))
    except KeyboardInterrupt:
        err.print("interrupted; server stopped")
        return 130
    printer = print_json if args.json else print_markdown if args.markdown else print_table
    printer(env, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
