"""LoCoMo turn-level evidence recall, following the protocol in the data's README.

One namespace per conversation; every turn is one memory (``{speaker} said, "{text}"``
plus `` [shares {caption}]``), created at its session's time through the ``Maia``
façade; every question is asked through ``recall`` at the last session's time.
Reports recall@5/10/25/50 overall and per category, ingest throughput and query
latency, for the default fusion and for BM25-only and dense-only rankings.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maia.models import MemoryCreate, NamespaceConfig, NamespaceCreate, NamespaceUpdate
from maia.retrieval.fusion import SIGNALS
from maia.service import Maia

KS = (5, 10, 25, 50)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
_SESSION = re.compile(r"^session_(\d+)$")


def only(signal: str) -> dict[str, float]:
    return {name: (1.0 if name == signal else 0.0) for name in SIGNALS}


# Rankings compared in one run: the product's default, and each retriever alone.
MODES: dict[str, dict[str, float] | None] = {
    "maia (fused)": None,
    "bm25 only": only("text"),
    "dense only": only("vector"),
}


def parse_session_time(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware UTC datetime."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


@dataclass
class Turn:
    dia_id: str
    text: str
    at: datetime


@dataclass
class Question:
    text: str
    category: int
    evidence: list[str]


@dataclass
class Conversation:
    sample_id: str
    turns: list[Turn]
    questions: list[Question]
    asked_at: datetime
    skipped: int = 0


def turn_text(turn: dict[str, Any]) -> str:
    text = f'{turn["speaker"]} said, "{turn["text"]}"'
    if turn.get("blip_caption"):
        text += f" [shares {turn['blip_caption']}]"
    return text


def load(path: Path) -> list[Conversation]:
    conversations = []
    for sample in json.loads(path.read_text()):
        convo = sample["conversation"]
        sessions = sorted((int(m.group(1)), key) for key in convo if (m := _SESSION.match(key)))
        turns: list[Turn] = []
        last_time = None
        for number, key in sessions:
            at = parse_session_time(convo[f"session_{number}_date_time"])
            last_time = at
            turns.extend(Turn(t["dia_id"], turn_text(t), at) for t in convo[key])
        known = {t.dia_id for t in turns}
        questions, skipped = [], 0
        for qa in sample["qa"]:
            evidence = [e for e in qa.get("evidence", []) if e in known]
            if not evidence:
                skipped += 1
                continue
            questions.append(Question(qa["question"], int(qa["category"]), evidence))
        assert last_time is not None
        conversations.append(
            Conversation(sample["sample_id"], turns, questions, last_time, skipped)
        )
    return conversations


@dataclass
class ModeResult:
    recalls: dict[int, list[list[float]]] = field(default_factory=lambda: defaultdict(list))
    latencies: list[float] = field(default_factory=list)

    def mean(self, k: int, category: int | None = None) -> float:
        index = KS.index(k)
        rows = (
            [r for rows in self.recalls.values() for r in rows]
            if category is None
            else self.recalls.get(category, [])
        )
        return statistics.fmean(r[index] for r in rows) if rows else 0.0

    def count(self, category: int | None = None) -> int:
        if category is None:
            return sum(len(rows) for rows in self.recalls.values())
        return len(self.recalls.get(category, []))


@dataclass
class Report:
    turns: int
    questions: int
    skipped: int
    ingest_seconds: float
    modes: dict[str, ModeResult]
    model_id: str

    @property
    def ingest_rate(self) -> float:
        return self.turns / self.ingest_seconds if self.ingest_seconds else 0.0


def _namespace(sample_id: str) -> str:
    return f"locomo/{sample_id}"


def ingest(maia: Maia, conversations: Sequence[Conversation]) -> tuple[dict[str, str], float]:
    """Writes every turn; returns memory id -> dia_id and the seconds it took."""
    dia_of: dict[str, str] = {}
    started = time.perf_counter()
    for convo in conversations:
        namespace = _namespace(convo.sample_id)
        maia.create_namespace(NamespaceCreate(name=namespace))
        for batch in _batches(convo.turns, 200):
            created = maia.create_memories(
                [
                    MemoryCreate(
                        namespace=namespace,
                        content=t.text,
                        type="episodic",
                        created_at=t.at,
                        metadata={"dia_id": t.dia_id},
                    )
                    for t in batch
                ]
            )
            dia_of.update((m.id, t.dia_id) for m, t in zip(created, batch, strict=True))
    return dia_of, time.perf_counter() - started


def _batches(items: Sequence[Turn], size: int) -> Iterator[Sequence[Turn]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def evaluate(
    maia: Maia,
    conversations: Sequence[Conversation],
    dia_of: dict[str, str],
    weights: dict[str, float] | None,
) -> ModeResult:
    result = ModeResult()
    for convo in conversations:
        namespace = _namespace(convo.sample_id)
        maia.update_namespace(
            namespace, NamespaceUpdate(config=NamespaceConfig(custom_scoring=weights or {}))
        )
        for question in convo.questions:
            started = time.perf_counter()
            hits = maia.recall(
                question.text, namespace=namespace, limit=max(KS), now=convo.asked_at
            )
            result.latencies.append(time.perf_counter() - started)
            ranked = [dia_of.get(h.memory.id) for h in hits]
            wanted = set(question.evidence)
            result.recalls[question.category].append(
                [len(wanted & set(ranked[:k])) / len(wanted) for k in KS]
            )
    return result


def run(
    data: Path,
    *,
    settings_overrides: dict[str, Any] | None = None,
    modes: Sequence[str] = tuple(MODES),
    limit_conversations: int | None = None,
    progress: Callable[[str], None] | None = None,
    database_url: str | None = None,
) -> Report:
    """``database_url``: run on that (empty) PostgreSQL database instead of a temporary
    SQLite store."""
    conversations = load(data)[:limit_conversations]
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="maia-locomo-") as tmp:
        overrides = {"sqlite_synchronous": "normal", **(settings_overrides or {})}
        with Maia.open(database_url or tmp, **overrides) as maia:
            say(f"ingesting {sum(len(c.turns) for c in conversations)} turns")
            dia_of, seconds = ingest(maia, conversations)
            results = {}
            for mode in modes:
                say(f"asking {sum(len(c.questions) for c in conversations)} questions ({mode})")
                results[mode] = evaluate(maia, conversations, dia_of, MODES[mode])
            model_id = maia.engine.embedder.model_id
    return Report(
        turns=sum(len(c.turns) for c in conversations),
        questions=sum(len(c.questions) for c in conversations),
        skipped=sum(c.skipped for c in conversations),
        ingest_seconds=seconds,
        modes=results,
        model_id=model_id,
    )


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def markdown(report: Report) -> str:
    """The report as markdown tables (what docs/benchmarks.md records)."""
    lines = [
        f"Turns: {report.turns}; questions: {report.questions} "
        f"(skipped without valid evidence: {report.skipped}); model: {report.model_id}.",
        f"Ingest: {report.ingest_rate:.0f} turns/s ({report.ingest_seconds:.1f} s).",
        "",
        "| ranking | R@5 | R@10 | R@25 | R@50 | query p50 ms | query p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in report.modes.items():
        recalls = " | ".join(f"{result.mean(k):.3f}" for k in KS)
        p50 = percentile(result.latencies, 50) * 1000
        p99 = percentile(result.latencies, 99) * 1000
        lines.append(f"| {name} | {recalls} | {p50:.1f} | {p99:.1f} |")
    lines += [
        "",
        "| ranking | category | n | R@5 | R@10 | R@25 | R@50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in report.modes.items():
        for category, label in CATEGORIES.items():
            recalls = " | ".join(f"{result.mean(k, category):.3f}" for k in KS)
            lines.append(f"| {name} | {category} {label} | {result.count(category)} | {recalls} |")
    return "\n".join(lines)
