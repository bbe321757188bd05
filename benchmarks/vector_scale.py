"""Vector index at scale: HNSW build, ANN latency and recall, filtered exact search, inserts.

Every case uses ``maia.retrieval.index.vectors.VectorIndex`` itself, on seeded unit
384-d float32 vectors (``--data random``: uniform on the sphere, the default;
``--data clustered``: around 1,000 random centres, closer to how text embeddings lie):

* ANN: ``--vectors`` (100K) in one namespace, loaded with ``load()`` and indexed with
  ``rebuild_hnsw()`` (all cores). The index is built with ``exact_limit=0``, so every
  search really goes to the HNSW graph. ``--queries`` (1,000) searches for the 10
  nearest, timed one by one; recall@10 against an exact numpy brute force. Then the
  same graph with other ``expansion_search`` values (saved once, re-attached with
  ``attach_hnsw()``), and the exact scan the planner would do with a higher
  ``exact_limit``.
* Insert: single ``add()`` calls into that 100K index (exact block and HNSW graph).
* Filter: ``--filter-vectors`` (1M) spread over ``--namespaces`` (100, so 1% each),
  loaded with ``load()`` into the exact blocks only, searched within one namespace
  (the exact path: 10K candidates <= the default ``exact_limit``); the memory used.
* ``--alternatives``: the same 100K vectors in plain ``usearch`` indexes with other
  dtypes / connectivity / expansion_add: build time, search latency, recall, inserts.

Latency tables show wall time and this process's CPU time: on a shared machine the
first grows with the load, the second much less. numpy's BLAS runs the exact scans;
``OPENBLAS_NUM_THREADS=1`` makes them single-threaded (the header says which).

Run: ``.venv/bin/python benchmarks/vector_scale.py [--quick] [--json] [--data
random|clustered] [--alternatives [DTYPE:M:EF_ADD,...]] [--skip-ann] [--skip-filter]``.
A default run takes about 3 minutes on a 2-core machine (most of it the HNSW
build of 100K random vectors); ``--quick`` (20K / 100K vectors) under half a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import gc
import importlib.metadata
import itertools
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

# onnxruntime must be loaded before usearch (which this script imports directly):
# imported after usearch's extension, onnxruntime's crashes (SIGSEGV); VectorIndex
# imports onnxruntime itself for that reason.
import onnxruntime  # noqa: F401  (imported for its load order only)
from rich.console import Console
from rich.table import Table

from machine import cpu_model, load_average, revision
from maia.retrieval.index.vectors import HnswParams, Scope, VectorIndex

T = TypeVar("T")
R = TypeVar("R")
Matrix = npt.NDArray[np.float32]
KeyMatrix = npt.NDArray[np.int64]
StoredRow = tuple[int, str, str, bytes]

DIM = 384
K = 10
TENANT = "bench"
NAMESPACE = "bench/ann"
MODEL_ID = "bench-vectors"
CHUNK = 50_000  # vectors generated at a time (about 77 MB of float32)
CLUSTERS = 1_000
CLUSTER_NOISE = 1.0  # noise norm relative to the centre: cosine to the centre ~0.71
WARMUP = 10  # searches repeated untimed before timing (page faults, caches)
FILTER_KS = (10, 100)  # 100: a large candidate pool (the default is 60)

err = Console(stderr=True, highlight=False)


# -- timing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timed:
    """One measurement: wall seconds, and this process's CPU seconds (all its threads).
    On a busy machine wall time grows while CPU time stays near the work done."""

    wall: float
    cpu: float


def clocks() -> Timed:
    return Timed(time.perf_counter(), time.process_time())


def elapsed(fn: Callable[[], R]) -> tuple[R, Timed]:
    """``fn()``'s result and its timing: the one timer of the benchmark scripts."""
    start = clocks()
    result = fn()
    end = clocks()
    return result, Timed(end.wall - start.wall, end.cpu - start.cpu)


def time_each(
    fn: Callable[[T], R], items: Sequence[T], *, warmup: int = 0
) -> tuple[list[Timed], list[R]]:
    """Timing and result of ``fn(item)`` for each item. The first ``warmup`` items are
    run once untimed beforehand (pass 0 for writes, which must not repeat)."""
    for item in items[:warmup]:
        fn(item)
    timings: list[Timed] = []
    results: list[R] = []
    for item in items:
        result, took = elapsed(functools.partial(fn, item))
        timings.append(took)
        results.append(result)
    return timings, results


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Latency:
    """Percentiles (from the sorted samples) and totals of a series of timings."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    total_s: float
    cpu_p50_ms: float
    cpu_total_s: float

    @classmethod
    def of(cls, timings: Sequence[Timed]) -> Latency:
        wall = sorted(t.wall for t in timings)
        cpu = sorted(t.cpu for t in timings)
        return cls(
            count=len(wall),
            p50_ms=round(percentile(wall, 50) * 1000, 3),
            p99_ms=round(percentile(wall, 99) * 1000, 3),
            max_ms=round(wall[-1] * 1000, 3),
            total_s=sum(wall),
            cpu_p50_ms=round(percentile(cpu, 50) * 1000, 3),
            cpu_total_s=sum(cpu),
        )

    def rate(self, units: int | None = None) -> float:
        """``units`` (default: one per call) per wall second."""
        return round((self.count if units is None else units) / self.total_s, 1)


LATENCY_COLUMNS = ("p50 ms", "p99 ms", "max ms", "CPU p50 ms")


def latency_cells(latency: Latency) -> tuple[float, ...]:
    return latency.p50_ms, latency.p99_ms, latency.max_ms, latency.cpu_p50_ms


def rss_mb() -> float:
    """This process's resident memory (Linux ``VmRSS``), in MB."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def settled_rss_mb() -> float:
    """RSS after a garbage collection and ``malloc_trim`` (freed heap given back)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb()


# -- report --------------------------------------------------------------------------------


@dataclass
class Section:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        rows = [dict(zip(self.columns, row, strict=True)) for row in self.rows]
        return {"title": self.title, "rows": rows, "notes": self.notes}


@dataclass(frozen=True)
class Check:
    """One target: ``measured`` against ``limit`` (an upper bound unless ``at_least``)."""

    target: str
    measured: float
    limit: float
    unit: str
    at_least: bool = False

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit


@dataclass
class Report:
    environment: dict[str, Any]
    sections: list[Section] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


def cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def print_table(report: Report) -> None:
    console = Console(highlight=False, width=160)
    console.print(header(report.environment), markup=False)
    for section in report.sections:
        console.print(f"\n{section.title}", markup=False, style="bold")
        table = Table()
        for i, name in enumerate(section.columns):
            table.add_column(name, justify="left" if i == 0 else "right")
        for row in section.rows:
            table.add_row(*map(cell, row))
        console.print(table)
        for note in section.notes:
            console.print(f"  {note}", markup=False)
    if not report.checks:
        return
    console.print("\nTargets", style="bold")
    table = Table()
    for i, name in enumerate(("target", "measured", "limit", "met")):
        table.add_column(name, justify="left" if i == 0 else "right")
    for check in report.checks:
        bound = ">=" if check.at_least else "<="
        table.add_row(
            check.target,
            f"{cell(check.measured)} {check.unit}",
            f"{bound} {cell(check.limit)} {check.unit}",
            "yes" if check.met else "NO",
        )
    console.print(table)


def print_json(report: Report) -> None:
    body = {
        "environment": report.environment,
        "sections": [section.as_json() for section in report.sections],
        "targets": [asdict(check) | {"met": check.met} for check in report.checks],
    }
    print(json.dumps(body, indent=2))


# -- data ----------------------------------------------------------------------------------


def unit_rows(matrix: Matrix) -> Matrix:
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


class VectorSource:
    """Seeded unit vectors: uniform on the sphere, or clustered around random centres."""

    def __init__(self, seed: int, kind: str, dim: int = DIM) -> None:
        self._rng = np.random.default_rng(seed)
        self._dim = dim
        self._centres: Matrix | None = None
        if kind == "clustered":
            self._centres = unit_rows(self._rng.standard_normal((CLUSTERS, dim), np.float32))

    def sample(self, count: int) -> Matrix:
        noise = self._rng.standard_normal((count, self._dim), np.float32)
        if self._centres is None:
            return unit_rows(noise)
        centres = self._centres[self._rng.integers(len(self._centres), size=count)]
        return unit_rows(centres + noise * np.float32(CLUSTER_NOISE / math.sqrt(self._dim)))

    def chunks(self, count: int) -> Iterator[tuple[int, Matrix]]:
        """``(first row, vectors)`` chunks of at most ``CHUNK`` rows, generated lazily."""
        for start in range(0, count, CHUNK):
            yield start, self.sample(min(CHUNK, count - start))


def stored_rows(first_key: int, matrix: Matrix, namespaces: Sequence[str]) -> Iterator[StoredRow]:
    """What ``VectorIndex.load`` reads from the store; key ``k`` lies in namespace
    ``k % len(namespaces)``."""
    for offset, vector in enumerate(matrix):
        key = first_key + offset
        yield key, TENANT, namespaces[key % len(namespaces)], vector.tobytes()


def exact_top_k(data: Matrix, queries: Matrix, k: int) -> KeyMatrix:
    """Row numbers of the ``k`` most similar rows of ``data`` per query (numpy brute force)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 100):
        scores = queries[start : start + 100] @ data.T
        out[start : start + 100] = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return out


def recall(found: Sequence[Sequence[int]], truth: KeyMatrix) -> float:
    hits = sum(len(set(keys) & set(row.tolist())) for keys, row in zip(found, truth, strict=True))
    return round(hits / truth.size, 4)


@dataclass
class AnnData:
    vectors: Matrix
    queries: Matrix
    truth: KeyMatrix

    @classmethod
    def make(cls, source: VectorSource, count: int, queries: int) -> AnnData:
        vectors = np.vstack([chunk for _, chunk in source.chunks(count)])
        probes = source.sample(queries)
        return cls(vectors, probes, exact_top_k(vectors, probes, K))

    def rows(self) -> Iterator[StoredRow]:
        return stored_rows(0, self.vectors, (NAMESPACE,))


# -- case 1: ANN over 100K in one namespace ------------------------------------------------


Probe = tuple[Matrix, Scope]


def searcher(index: VectorIndex, k: int) -> Callable[[Probe], list[int]]:
    """``VectorIndex.search`` of a (query, scope) probe, as the keys found."""

    def search(probe: Probe) -> list[int]:
        return [key for key, _ in index.search(probe[0], probe[1], k)]

    return search


def describe(params: HnswParams) -> str:
    return (
        f"{params.dtype}, M={params.connectivity}, ef_add={params.expansion_add}, "
        f"ef_search={params.expansion_search}"
    )


def measure_search(
    label: str, build: str, index: VectorIndex, data: AnnData
) -> tuple[tuple[Any, ...], Latency, float]:
    probes = [(query, Scope(TENANT, (NAMESPACE,))) for query in data.queries]
    timings, found = time_each(searcher(index, K), probes, warmup=WARMUP)
    latency, hits = Latency.of(timings), recall(found, data.truth)
    err.print(f"  {label}: p50 {latency.p50_ms} ms, p99 {latency.p99_ms} ms, recall {hits}")
    row = (label, build, *latency_cells(latency), hits, latency.rate())
    return row, latency, hits


def bench_ann(
    data: AnnData, ef_values: Sequence[int], workdir: Path
) -> tuple[Section, list[Check], VectorIndex]:
    """The default-parameter index (returned, for the insert case), then the same graph
    searched with other ``expansion_search`` values, then the exact scan."""
    count = len(data.vectors)
    section = Section(
        f"ANN: {count:,} vectors in one namespace, k={K}, {len(data.queries):,} queries, "
        "1 search thread",
        ("variant", "build", *LATENCY_COLUMNS, "recall@10", "searches/s"),
    )
    default = HnswParams()
    index = VectorIndex(DIM, exact_limit=0, hnsw=default)
    before = settled_rss_mb()
    index.load(data.rows())
    loaded = settled_rss_mb()
    err.print(f"  building HNSW over {count:,} vectors ({describe(default)}), all cores")
    _, build = elapsed(index.rebuild_hnsw)
    graph_mb = settled_rss_mb() - loaded
    row, latency, hits = measure_search(
        f"HNSW default ({describe(default)})",
        f"{build.wall:.1f} s (CPU {build.cpu:.1f} s)",
        index,
        data,
    )
    section.rows.append(row)
    checks = [
        Check(f"{count:,} ANN search p50", latency.p50_ms, 1.0, "ms"),
        Check(f"{count:,} ANN search p99", latency.p99_ms, 3.0, "ms"),
        Check(f"{count:,} ANN recall@10", hits, 0.95, "", at_least=True),
    ]
    path = workdir / "ann.usearch"
    index.save(path, model_id=MODEL_ID, generation=0)
    for ef in (ef for ef in ef_values if ef != default.expansion_search):
        variant = VectorIndex(DIM, exact_limit=0, hnsw=replace(default, expansion_search=ef))
        variant.load(data.rows())
        if not variant.attach_hnsw(path, model_id=MODEL_ID, generation=0):
            raise RuntimeError("the saved HNSW graph was not re-attached")
        section.rows.append(
            measure_search(f"same graph, ef_search={ef}", "reused", variant, data)[0]
        )
        del variant
        gc.collect()
    exact = VectorIndex(DIM, exact_limit=count)
    exact.load(data.rows())
    section.rows.append(measure_search(f"exact scan (exact_limit={count:,})", "-", exact, data)[0])
    del exact
    gc.collect()
    section.notes += [
        f"build: VectorIndex.load() then rebuild_hnsw(), usearch threads=0 = all "
        f"{os.cpu_count()} cores; RSS +{loaded - before:.0f} MB for the exact blocks, "
        f"+{graph_mb:.0f} MB for the HNSW graph (it keeps its own copy of the vectors).",
        f"searches go through VectorIndex.search (planner, over-fetch {4 * K} for k={K}, "
        "post-filter, exact f32 re-rank of the candidates); recall@10 against numpy brute "
        "force over the same vectors.",
    ]
    return section, checks, index


# -- case 2: single inserts into the 100K index --------------------------------------------


def bench_insert(
    index: VectorIndex, source: VectorSource, count: int
) -> tuple[Section, list[Check]]:
    size = len(index)
    vectors = source.sample(count)
    calls = [([(size + i, TENANT, NAMESPACE)], vectors[i : i + 1]) for i in range(count)]

    def add(call: tuple[list[tuple[int, str, str]], Matrix]) -> None:
        index.add(*call)

    timings, _ = time_each(add, calls)
    latency = Latency.of(timings)
    err.print(f"  single add: p50 {latency.p50_ms} ms, p99 {latency.p99_ms} ms")
    section = Section(
        "Insert: single VectorIndex.add() into the ANN index (exact block + HNSW, 1 thread)",
        ("operation", "index size", "count", *LATENCY_COLUMNS, "inserts/s"),
        [("add 1 vector", size, latency.count, *latency_cells(latency), latency.rate())],
    )
    checks = [
        Check(f"single insert p50 (index of {size:,})", latency.p50_ms, 2.0, "ms"),
        Check(f"single insert p99 (index of {size:,})", latency.p99_ms, 2.0, "ms"),
    ]
    return section, checks


# -- case 3: namespace-filtered exact search over 1M ---------------------------------------


def bench_filter(
    source: VectorSource, count: int, namespace_count: int, query_count: int
) -> tuple[list[Section], list[Check]]:
    namespaces = [f"bench/ns{i:03d}" for i in range(namespace_count)]
    per_namespace = count // namespace_count
    before = settled_rss_mb()
    index = VectorIndex(DIM)
    rows = itertools.chain.from_iterable(
        stored_rows(start, chunk, namespaces) for start, chunk in source.chunks(count)
    )
    err.print(f"  loading {count:,} vectors into {namespace_count} namespaces (exact blocks)")
    _, load = elapsed(lambda: index.load(rows))
    used = settled_rss_mb() - before
    raw_mb = count * DIM * 4 / 2**20
    memory = Section(
        f"Filter: {count:,} vectors in {namespace_count} namespaces, loaded with load()",
        ("vectors", "namespaces", "per namespace", "load s", "RSS MB", "raw f32 MB", "RSS / raw"),
        [(count, namespace_count, per_namespace, load.wall, used, raw_mb, used / raw_mb)],
        [
            "RSS: resident memory added by the loaded index (exact blocks, key maps), "
            "measured after the load returned; raw: vectors x 384 x 4 bytes.",
            "No HNSW graph is built for this case: a one-namespace search has "
            f"{per_namespace:,} candidates <= exact_limit {index.exact_limit:,}, so the "
            "planner scans that namespace's block exactly and never asks the graph.",
        ],
    )
    queries = source.sample(query_count)
    targets = [i % namespace_count for i in range(query_count)]
    probes = [
        (query, Scope(TENANT, (namespaces[t],))) for query, t in zip(queries, targets, strict=True)
    ]
    search = Section(
        f"Filter: search within one namespace ({per_namespace:,} of {count:,} = "
        f"{per_namespace / count:.0%}), exact path, {query_count:,} queries",
        ("query", "candidates", "k", *LATENCY_COLUMNS, "searches/s"),
    )
    checks: list[Check] = []
    for k in FILTER_KS:
        timings, found = time_each(searcher(index, k), probes, warmup=WARMUP)
        for keys, target in zip(found, targets, strict=True):
            if len(keys) != min(k, per_namespace) or any(
                key % namespace_count != target for key in keys
            ):
                raise RuntimeError("a filtered search returned keys outside its namespace")
        latency = Latency.of(timings)
        err.print(f"  filtered k={k}: p50 {latency.p50_ms} ms, p99 {latency.p99_ms} ms")
        search.rows.append(
            ("one namespace", per_namespace, k, *latency_cells(latency), latency.rate())
        )
        checks.append(
            Check(f"1%-of-{count:,} filtered search p50, k={k}", latency.p50_ms, 10.0, "ms")
        )
    return [memory, search], checks


# -- alternatives: plain usearch indexes over the same 100K --------------------------------


@dataclass(frozen=True)
class Alternative:
    dtype: str
    connectivity: int
    expansion_add: int

    @classmethod
    def parse(cls, text: str) -> Alternative:
        dtype, connectivity, expansion_add = text.split(":")
        return cls(dtype, int(connectivity), int(expansion_add))

    @property
    def label(self) -> str:
        return f"{self.dtype}, M={self.connectivity}, ef_add={self.expansion_add}"


def usearch_searcher(hnsw: Any) -> Callable[[Matrix], list[int]]:
    def search(query: Matrix) -> list[int]:
        keys: list[int] = hnsw.search(query, 4 * K, threads=1).keys[:K].tolist()
        return keys

    return search


def bench_alternative(
    alt: Alternative,
    data: AnnData,
    source: VectorSource,
    ef_values: Sequence[int],
    threads: int,
    inserts: int,
) -> tuple[list[tuple[Any, ...]], str]:
    """One plain usearch index: rows per ``expansion_search``, and a note on inserts."""
    from usearch.index import Index

    count = len(data.vectors)
    hnsw: Any = Index(  # typed Any: its stubs call the settable expansion_search read-only
        ndim=DIM,
        metric="cos",
        dtype=alt.dtype,
        connectivity=alt.connectivity,
        expansion_add=alt.expansion_add,
    )
    err.print(f"  building plain usearch {alt.label} ({hnsw.hardware_acceleration})")
    keys = np.arange(count, dtype=np.int64)
    _, build = elapsed(lambda: hnsw.add(keys, data.vectors, threads=threads))
    graph_mb = hnsw.memory_usage / 2**20
    rows: list[tuple[Any, ...]] = []
    for ef in ef_values:
        hnsw.expansion_search = ef
        timings, found = time_each(usearch_searcher(hnsw), list(data.queries), warmup=WARMUP)
        latency, hits = Latency.of(timings), recall(found, data.truth)
        err.print(f"    ef_search={ef}: p50 {latency.p50_ms} ms, recall {hits}")
        rows.append((alt.label, build.wall, build.cpu, graph_mb, ef, *latency_cells(latency), hits))
    new = source.sample(inserts)
    calls = [(count + i, new[i]) for i in range(inserts)]
    timings, _ = time_each(lambda call: hnsw.add(call[0], call[1], threads=1), calls)
    insert = Latency.of(timings)
    note = (
        f"{alt.label} [{hnsw.hardware_acceleration}]: single add p50 {insert.p50_ms} ms "
        f"(CPU {insert.cpu_p50_ms} ms), p99 {insert.p99_ms} ms over {inserts} inserts"
    )
    return rows, note


def bench_alternatives(
    data: AnnData,
    source: VectorSource,
    alternatives: Sequence[Alternative],
    ef_values: Sequence[int],
    threads: int,
    inserts: int,
) -> Section:
    """Plain usearch (no VectorIndex around it): what other index options would give."""
    section = Section(
        f"Alternatives: plain usearch.Index over the same {len(data.vectors):,} vectors "
        f"(build threads={threads or os.cpu_count()}, search/insert 1 thread, "
        f"fetch {4 * K} like the planner)",
        (
            "config",
            "build s",
            "build CPU s",
            "graph MB",
            "ef_search",
            *LATENCY_COLUMNS,
            "recall@10",
        ),
    )
    for alt in alternatives:
        rows, note = bench_alternative(alt, data, source, ef_values, threads, inserts)
        section.rows += rows
        section.notes.append(note)
        gc.collect()
    return section


# -- environment ---------------------------------------------------------------------------


def base_environment(
    settings: dict[str, Any], packages: Sequence[str], details: dict[str, str] | None = None
) -> dict[str, Any]:
    """The machine, versions and settings of a run (shared by the benchmark scripts)."""
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "packages": {name: importlib.metadata.version(name) for name in packages},
        "revision": revision(),
        "details": details or {},
        "load_average_start": load_average(),
        "settings": settings,
    }


def header(env: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    details = "".join(f" · {name}: {value}" for name, value in env["details"].items())
    settings = ", ".join(f"{k}={v}" for k, v in env["settings"].items())
    return (
        f"{env['date']} · {env['machine']} · Python {env['python']} · {packages} "
        f"({env['revision']}){details} · load average (1/5/15 min) at start "
        f"{env['load_average_start']}, at end {env.get('load_average_end', '?')} · "
        f"wall {env.get('wall_s', '?')} s, process CPU {env.get('cpu_s', '?')} s · {settings}"
    )


def emit(report: Report, started: Timed, *, as_json: bool) -> None:
    """Stamps the end of the run (``started``: clocks at its start) on the report and
    prints it."""
    report.environment["load_average_end"] = load_average()
    report.environment["wall_s"] = round(time.perf_counter() - started.wall)
    report.environment["cpu_s"] = round(time.process_time() - started.cpu)
    (print_json if as_json else print_table)(report)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    from usearch.index import Index

    simd = ", ".join(
        f"{dtype} {Index(ndim=DIM, metric='cos', dtype=dtype).hardware_acceleration}"
        for dtype in ("f32", "f16", "i8")
    )
    settings = {
        name: getattr(args, name)
        for name in ("data", "vectors", "queries", "filter_vectors", "namespaces", "inserts")
    }
    settings |= {"ef": ",".join(map(str, args.ef)), "seed": args.seed}
    blas = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    details = {"usearch SIMD": simd, "OpenBLAS threads": blas or "default (all cores)"}
    return base_environment(settings, ("maia", "numpy", "usearch"), details)


# -- main ----------------------------------------------------------------------------------

QUICK = {"vectors": 20_000, "queries": 200, "filter_vectors": 100_000, "inserts": 200}
DEFAULT_ALTERNATIVES = "f32:16:128,f16:16:128,i8:16:128,f32:16:64,i8:32:128"


def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=100_000, help="ANN index size")
    parser.add_argument("--queries", type=int, default=1_000, help="timed searches per row")
    parser.add_argument("--filter-vectors", type=int, default=1_000_000, help="filter case size")
    parser.add_argument("--namespaces", type=int, default=100, help="filter case namespaces")
    parser.add_argument("--inserts", type=int, default=1_000, help="single inserts timed")
    parser.add_argument(
        "--ef", type=int_list, default=[64, 128, 256, 512], help="expansion_search sweep"
    )
    parser.add_argument("--data", choices=("random", "clustered"), default="random")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="small smoke run (20K / 100K)")
    parser.add_argument(
        "--alternatives",
        nargs="?",
        const=DEFAULT_ALTERNATIVES,
        metavar="DTYPE:M:EF_ADD,...",
        help=f"also build plain usearch indexes (default list: {DEFAULT_ALTERNATIVES})",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="build threads of --alternatives (0 = all)"
    )
    parser.add_argument("--skip-ann", action="store_true", help="skip the ANN and insert cases")
    parser.add_argument("--skip-filter", action="store_true", help="skip the 1M filter case")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    if args.vectors < K or args.queries < 1 or args.inserts < 1 or args.namespaces < 1:
        parser.error(f"--vectors must be at least {K}; --queries, --inserts, --namespaces >= 1")
    if args.filter_vectors < args.namespaces:
        parser.error("--filter-vectors must be at least --namespaces")
    return args


def ann_and_insert(
    data: AnnData, source: VectorSource, args: argparse.Namespace
) -> tuple[list[Section], list[Check]]:
    """The ANN case, then single inserts into its index (freed on return)."""
    with tempfile.TemporaryDirectory(prefix="maia-bench-vectors-") as tmp:
        ann, ann_checks, index = bench_ann(data, args.ef, Path(tmp))
    err.print("Insert:")
    insert, insert_checks = bench_insert(index, source, args.inserts)
    return [ann, insert], ann_checks + insert_checks


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report(environment(args))
    err.print(f"MAIA vector scale benchmark: {report.environment['machine']}")
    started = clocks()
    source = VectorSource(args.seed, args.data)
    if not args.skip_ann or args.alternatives:
        err.print(f"ANN: generating {args.vectors:,} {args.data} vectors + exact neighbours")
        data = AnnData.make(source, args.vectors, args.queries)
        if not args.skip_ann:
            sections, checks = ann_and_insert(data, source, args)
            report.sections += sections
            report.checks += checks
            gc.collect()
        if args.alternatives:
            err.print("Alternatives:")
            alternatives = [Alternative.parse(text) for text in args.alternatives.split(",")]
            inserts = max(50, args.inserts // 5)
            report.sections.append(
                bench_alternatives(data, source, alternatives, args.ef, args.threads, inserts)
            )
        del data
        gc.collect()
    if not args.skip_filter:
        err.print("Filter:")
        sections, checks = bench_filter(source, args.filter_vectors, args.namespaces, args.queries)
        report.sections += sections
        report.checks += checks
    emit(report, started, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
