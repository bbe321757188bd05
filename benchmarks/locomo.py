"""LoCoMo turn-level recall benchmark (see src/maia/bench/locomo.py for the protocol).

    .venv/bin/python benchmarks/locomo.py [--data ../shared/bench/locomo10.json]

Same as ``maia bench locomo --data PATH``. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maia.bench.locomo import MODES, markdown, run

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "locomo10.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--mode", action="append", choices=list(MODES))
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--embedding-provider", default="local")
    parser.add_argument(
        "--database-url", default=None, help="an empty PostgreSQL database instead of SQLite"
    )
    args = parser.parse_args()
    report = run(
        args.data,
        settings_overrides={"embedding_provider": args.embedding_provider},
        modes=args.mode or list(MODES),
        limit_conversations=args.conversations,
        progress=lambda message: print(message, file=sys.stderr),
        database_url=args.database_url,
    )
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
