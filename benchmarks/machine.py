"""What the benchmark scripts print about the machine and the source tree they ran on."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
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
