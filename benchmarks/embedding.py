"""Local embedding (all-MiniLM-L6-v2 int8 on onnxruntime) and end-to-end batch ingest.

Embedder configurations: ``threads`` (onnxruntime intra-op threads per run),
``workers`` (runs in parallel, one per worker thread: one text each with the default
int8 graph, 32 texts with the float graph; a single query is one run, so it always
stays on ``threads`` threads), and the graph (the default int8 one, or the packaged
float graph, ``embedding_quantized = false``).

* Query: ``--questions`` (500) short questions embedded one at a time, as a search does,
  with ``MiniLMEmbedder(threads=1)`` and threads=2.
* Batch: ``--turns`` (2,000) synthetic conversational turns (``Alice said, "…"``, one to
  four sentences) embedded in batches of ``--batch`` (200) as the engine embeds them
  (the speaker attribution stripped first): threads=1 (one intra-op thread), threads=2,
  and threads=1 with 2 workers: texts/s.
* Ingest: ``Maia.open(tmp, embedding_provider="local", sqlite_synchronous="normal")``
  and ``create_memories`` of the same turns in batches of 200: turns/s, with the
  settings' default embedder and with the others. Then, with the defaults, the same
  turns once more (another namespace), the pipeline called part by part -- memory
  models, ``engine.embed_contents``, one SQLite transaction (``insert_memories`` +
  ``put_vectors``), ``engine.index.add`` -- to show where the time goes.

Run: ``.venv/bin/python benchmarks/embedding.py [--quick] [--json]``
(about 2-3 minutes on an idle 2-core machine; ``--quick`` about half a minute).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# onnxruntime must be loaded before usearch: importing usearch first makes the import of
# onnxruntime's extension crash (SIGSEGV) with usearch 2.26 + onnxruntime 1.32.
import onnxruntime  # noqa: F401  (imported for its load order only)
from tokenizers import Tokenizer

from maia.models import Memory, MemoryCreate, MemoryType, utcnow
from maia.retrieval.embed.base import Vectors
from maia.retrieval.embed.minilm import MODEL_ID, MiniLMEmbedder, model_files
from maia.retrieval.engine import embedding_text
from maia.service.maia import Maia
from maia.settings import Settings

# The timer, percentiles and report tables are vector_scale.py's (same folder, which is
# on sys.path when a script in it is run).
from vector_scale import (
    LATENCY_COLUMNS,
    Check,
    Latency,
    Report,
    Section,
    Timed,
    base_environment,
    clocks,
    emit,
    err,
    latency_cells,
    percentile,
    time_each,
)


@dataclass(frozen=True)
class Config:
    """An embedder configuration: intra-op threads per run, parallel runs (workers), and
    the graph (int8 activations, the default, or the packaged float graph)."""

    threads: int
    workers: int
    quantized: bool = True

    @property
    def label(self) -> str:
        graph = "" if self.quantized else ", float graph"
        return f"threads={self.threads}, workers={self.workers}{graph}"


# The settings' defaults, not Settings(): that would read MAIA_ environment variables.
DEFAULT = Config(
    Settings.model_fields["embedding_threads"].default,
    Settings.model_fields["embedding_workers"].default,
)
CONFIGS = tuple(
    dict.fromkeys(
        (
            Config(1, 1),
            Config(2, 1),
            Config(1, 2),
            DEFAULT,
            Config(1, 1, False),
            Config(1, 2, False),
        )
    )
)
WARMUP = 5

# -- synthetic texts -----------------------------------------------------------------------

PEOPLE = (
    "Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Gustav", "Hana", "Ivan", "Jun",
    "Keira", "Luis", "Maya", "Nikolai", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tomas",
)  # fmt: skip
PLACES = (
    "Lisbon", "Kyoto", "Nairobi", "Toronto", "Berlin", "Oaxaca", "Reykjavik", "Melbourne",
    "the lake house", "my sister's place", "the climbing gym", "the farmers market",
    "the new office", "the library downtown", "the coast", "the mountains",
)  # fmt: skip
ACTIVITIES = (
    "hiking", "swimming", "rock climbing", "baking sourdough", "playing chess",
    "learning Portuguese", "training for a half marathon", "painting watercolours",
    "birdwatching", "playing the cello", "gardening", "kayaking", "writing poetry",
    "volunteering at the shelter", "restoring an old bike", "pottery", "photography",
)  # fmt: skip
THINGS = (
    "a new job", "the adoption papers", "my thesis", "the charity run", "our wedding",
    "a road trip", "the kids' school play", "a pottery class", "the art exhibition",
    "my first marathon", "the support group", "a camping trip", "the job interview",
    "a family reunion", "the book club", "my grandmother's recipe book",
)  # fmt: skip
FEELINGS = (
    "so proud", "really nervous", "a bit overwhelmed", "super excited", "grateful",
    "exhausted but happy", "relieved", "inspired", "kind of lonely", "hopeful",
)  # fmt: skip
WHEN = (
    "last week", "yesterday", "last summer", "a few days ago", "this morning",
    "two years ago", "over the weekend", "back in May", "on Friday", "last month",
)  # fmt: skip
SENTENCES = (
    "I went {a} in {pl} {w} and it was amazing.",
    "{w} I finally signed up for {t}.",
    "I've been {a} a lot lately, it really helps me clear my head.",
    "Honestly I feel {f} about {t}.",
    "My friend {q} convinced me to try {a} {w}.",
    "We spent the whole afternoon at {pl} talking about {t}.",
    "It's been a rough few weeks, but {t} kept me going.",
    "Do you remember when we talked about {a}? I actually started doing it.",
    "I can't believe how much has changed since {t}.",
    "{q} and I are planning to visit {pl} after {t}.",
    "That sounds wonderful, I'm {f} for you!",
    "Thanks for asking, I'm {f} right now.",
    "I'm thinking about taking up {a} again, I used to love it as a kid.",
    "The best part was seeing everyone at {pl} {w}.",
    "What made you decide to start {a}?",
    "I took some photos at {pl}, I'll show you next time.",
    "It reminded me of {t}, which means a lot to me.",
    "I've been reading about {a} and want to give it a real try this year.",
    "My mom called {w} to tell me about {t}.",
    "Wow, {a} in {pl} sounds like an adventure!",
    "We should totally go {a} together sometime.",
    "I'm {f} because {t} is finally happening.",
)  # fmt: skip
OPENERS = ("", "", "", "Oh wow, ", "Hey! ", "Yeah, ", "Honestly, ", "Haha, ", "Aw, ")
QUESTIONS = (
    "What did {p} do in {pl}?",
    "When did {p} go {a}?",
    "How does {p} feel about {t}?",
    "Who convinced {p} to try {a}?",
    "What is {p} planning after {t}?",
    "Where did {p} and {q} meet?",
    "Why did {p} start {a}?",
    "What did {p} tell {q} about {t}?",
    "Has {p} been to {pl}?",
    "What hobby did {p} pick up {w}?",
)  # fmt: skip


def fill(rng: random.Random, template: str) -> str:
    person, other = rng.sample(PEOPLE, 2)
    return template.format(
        p=person,
        q=other,
        pl=rng.choice(PLACES),
        a=rng.choice(ACTIVITIES),
        t=rng.choice(THINGS),
        f=rng.choice(FEELINGS),
        w=rng.choice(WHEN),
    )


def turn(rng: random.Random) -> str:
    """One conversational turn: a speaker and one to four sentences (mostly one or two)."""
    count = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
    body = " ".join(fill(rng, rng.choice(SENTENCES)) for _ in range(count))
    opener = rng.choice(OPENERS)
    body = opener + (body[0].lower() + body[1:] if opener else body)
    return f'{rng.choice(PEOPLE)} said, "{body}"'


def question(rng: random.Random) -> str:
    return fill(rng, rng.choice(QUESTIONS))


# -- cases ---------------------------------------------------------------------------------


def batches(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def token_stats(tokenizer: Tokenizer, texts: Sequence[str]) -> str:
    counts = sorted(len(encoding.ids) for encoding in tokenizer.encode_batch(list(texts)))
    mean = sum(counts) / len(counts)
    return f"{mean:.0f} mean / {percentile(counts, 50)} p50 / {counts[-1]} max"


def bench_embedder(
    questions: Sequence[str], turns: Sequence[str], batch: int, tokenizer: Tokenizer
) -> tuple[list[Section], list[Check]]:
    """Query latency and batch throughput of ``MiniLMEmbedder`` in each configuration."""
    query = Section(
        f"Query embedding: {len(questions):,} short questions, one per call",
        ("embedder", "tokens", *LATENCY_COLUMNS, "texts/s"),
    )
    texts = [embedding_text(text) for text in turns]  # what the engine embeds
    batched = Section(
        f"Batch embedding: {len(turns):,} conversational turns (speaker stripped, as the "
        f"engine embeds them) in batches of {batch}",
        ("embedder", "tokens", "batches", "p50 batch ms", "max batch ms", *RATE_COLUMNS),
    )
    singles = [[text] for text in questions]
    groups = batches(texts, batch)
    checks: list[Check] = []
    for config in CONFIGS:
        embedder = MiniLMEmbedder(
            threads=config.threads, workers=config.workers, quantized=config.quantized
        )
        name = f"MiniLM, {config.label}"
        if config.workers == 1:  # a query is one run: workers would not change it
            timings, _ = time_each(embedder.embed, singles, warmup=WARMUP)
            latency = Latency.of(timings)
            err.print(f"  {name}: query p50 {latency.p50_ms} ms, p99 {latency.p99_ms} ms")
            query.rows.append(
                (name, token_stats(tokenizer, questions), *latency_cells(latency), latency.rate())
            )
            if config.threads == 1 and config.quantized:
                checks.append(Check("query embedding p50, 1 thread", latency.p50_ms, 10.0, "ms"))
        timings, _ = time_each(embedder.embed, groups, warmup=1)
        latency = Latency.of(timings)
        err.print(f"  {name}: batch {latency.rate(len(texts))} texts/s")
        batched.rows.append(
            (
                name,
                token_stats(tokenizer, texts),
                latency.count,
                latency.p50_ms,
                latency.max_ms,
                *rate_cells(latency, len(texts)),
            )
        )
        del embedder
    query.notes.append("tokens: WordPiece tokens per text, [CLS] and [SEP] included.")
    batched.notes.append(
        "per CPU s: texts per second of this process's CPU time (all its threads); on a "
        "busy machine it stays near the uncontended rate while wall time grows."
    )
    return [query, batched], checks


RATE_COLUMNS = ("per s", "per CPU s")


def rate_cells(latency: Latency, units: int) -> tuple[float, float]:
    return latency.rate(units), round(units / latency.cpu_total_s, 1)


def memory_batches(turns: Sequence[str], batch: int, namespace: str) -> list[list[MemoryCreate]]:
    items = [
        MemoryCreate(namespace=namespace, content=text, type=MemoryType.EPISODIC) for text in turns
    ]
    return [items[i : i + batch] for i in range(0, len(items), batch)]


def new_memory(data: MemoryCreate) -> Memory:
    """What ``create_memories`` builds from each input (ids and timestamps)."""
    now = utcnow()
    return Memory(
        id=str(uuid.uuid4()),
        namespace=data.namespace,
        content=data.content,
        type=data.type,
        tags=data.tags or [],
        created_at=now,
        updated_at=now,
        accessed_at=now,
        source=data.source,
    )


@dataclass(frozen=True)
class Stage:
    name: str
    timings: list[Timed]


def pipeline_stages(maia: Maia, groups: Sequence[list[MemoryCreate]]) -> list[Stage]:
    """``create_memories`` taken apart: each part called on its own, batch by batch."""
    engine, tenant = maia.engine, maia.tenant
    build, memories = time_each(lambda group: [new_memory(item) for item in group], groups)
    embed, vectors = time_each(
        lambda group: engine.embed_contents([m.content for m in group]), memories
    )

    def write(part: tuple[list[Memory], Vectors]) -> list[int]:
        with maia.store.write() as tx:
            seqs = tx.insert_memories(tenant, part[0])
            tx.put_vectors(engine.vector_rows(seqs, part[1]))
        return seqs

    stored, seqs = time_each(write, list(zip(memories, vectors, strict=True)))

    def add(part: tuple[list[Memory], list[int], Vectors]) -> None:
        group, keys, matrix = part
        items = [(key, tenant, m.namespace) for key, m in zip(keys, group, strict=True)]
        engine.index.add(items, matrix)

    indexed, _ = time_each(add, list(zip(memories, seqs, vectors, strict=True)))
    return [
        Stage("memory models (ids, timestamps)", build),
        Stage("embedding: engine.embed_contents", embed),
        Stage("SQLite write: insert_memories + put_vectors, 1 tx", stored),
        Stage("index add: engine.index.add (exact block + HNSW)", indexed),
    ]


def run_ingest(
    turns: Sequence[str], batch: int, config: Config, *, take_apart: bool
) -> tuple[Stage, list[Stage]]:
    """``create_memories`` batch by batch into a new store; then, if ``take_apart``,
    the same turns through its parts (into another namespace)."""
    with (
        tempfile.TemporaryDirectory(prefix="maia-bench-ingest-") as tmp,
        Maia.open(
            Path(tmp),
            embedding_provider="local",
            sqlite_synchronous="normal",
            embedding_threads=config.threads,
            embedding_workers=config.workers,
            embedding_quantized=config.quantized,
        ) as maia,
    ):
        timings, _ = time_each(maia.create_memories, memory_batches(turns, batch, "bench/ingest"))
        whole = Stage("create_memories (the whole, as measured above)", timings)
        err.print(f"  create_memories, {config.label}: {Latency.of(timings).rate(len(turns))}/s")
        if not take_apart:
            return whole, []
        return whole, pipeline_stages(maia, memory_batches(turns, batch, "bench/breakdown"))


def bench_ingest(turns: Sequence[str], batch: int) -> tuple[list[Section], list[Check]]:
    count = len(turns)
    ingest = Section(
        f"Ingest: Maia.create_memories, {count:,} turns in batches of {batch} "
        '(embedding_provider="local", sqlite_synchronous="normal")',
        ("embedder", "batches", "p50 batch ms", "max batch ms", *RATE_COLUMNS),
    )
    breakdown = Section(
        f"Ingest breakdown: the same {count:,} turns again (another namespace), "
        f"create_memories' parts called one by one, default embedder ({DEFAULT.label})",
        ("part", "total s", "CPU s", "p50 ms / batch", "share", "turns/s if alone"),
    )
    checks: list[Check] = []
    for config in CONFIGS:
        whole, stages = run_ingest(turns, batch, config, take_apart=config == DEFAULT)
        latency = Latency.of(whole.timings)
        name = f"{config.label}{' (the default)' if config == DEFAULT else ''}"
        ingest.rows.append(
            (name, latency.count, latency.p50_ms, latency.max_ms, *rate_cells(latency, count))
        )
        if config in (Config(1, 1), DEFAULT):
            checks.append(
                Check(f"batch ingest, {name}", latency.rate(count), 100.0, "turns/s", True)
            )
        if not stages:
            continue
        parts = sum(Latency.of(stage.timings).total_s for stage in stages)
        for stage in [*stages, whole]:
            part = Latency.of(stage.timings)
            breakdown.rows.append(
                (
                    stage.name,
                    part.total_s,
                    part.cpu_total_s,
                    part.p50_ms,
                    f"{part.total_s / parts:.0%}",
                    part.rate(count),
                )
            )
        breakdown.notes += [
            f"sum of the parts: {parts:.2f} s = {count / parts:.1f} turns/s; share: of that sum.",
            "create_memories also validates its input, checks namespace rules in its "
            "transaction and builds its models itself: its difference to the sum.",
        ]
    return [ingest, breakdown], checks


# -- main ----------------------------------------------------------------------------------

QUICK = {"questions": 100, "turns": 400}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=500, help="query embeddings timed")
    parser.add_argument("--turns", type=int, default=2_000, help="turns embedded / ingested")
    parser.add_argument("--batch", type=int, default=200, help="texts per batch")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    if args.questions < 1 or args.turns < 1 or not 1 <= args.batch <= 1000:
        parser.error("--questions and --turns must be >= 1, --batch within 1..1000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = {name: getattr(args, name) for name in ("questions", "turns", "batch", "seed")}
    details = {"model": MODEL_ID}
    packages = ("maia", "onnxruntime", "tokenizers")
    report = Report(base_environment(settings, packages, details))
    err.print(f"MAIA embedding benchmark: {report.environment['machine']}")
    started = clocks()
    rng = random.Random(args.seed)
    questions = [question(rng) for _ in range(args.questions)]
    turns = [turn(rng) for _ in range(args.turns)]
    tokenizer = Tokenizer.from_file(str(model_files()[1]))
    tokenizer.no_padding()
    for sections, checks in (
        bench_embedder(questions, turns, args.batch, tokenizer),
        bench_ingest(turns, args.batch),
    ):
        report.sections += sections
        report.checks += checks
    emit(report, started, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
