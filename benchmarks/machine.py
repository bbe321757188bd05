"""What the benchmark scripts print about the machine and the source tree they ran on."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from pathlib import Path


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def revision() -> str:
    """The source tree's commit (``-dirty`` with uncommitted changes), if it is a git tree."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def steadiness(runs: int = 200) -> str:
    """How steady this machine's CPU is: p50 and p99 of a fixed pure-Python workload
    (about 5 ms a run). On a quiet dedicated core p99 is within a few percent of p50; on
    a shared virtual machine their ratio is the noise floor of every p99 measured here."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        total = 0
        for i in range(100_000):
            total += i * i
        times.append(time.perf_counter() - started)
    times.sort()
    p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]
    return f"fixed work p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms ({p99 / p50:.1f}x)"
