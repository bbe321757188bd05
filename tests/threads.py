"""Running calls on threads released at the same moment (races on purpose)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


def run_together(calls: Sequence[Callable[[], object]], timeout: float = 60) -> list[BaseException]:
    """Runs each call on a thread of its own, all released at once by a barrier, waits
    for them, and returns what they raised (empty when all returned)."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait(timeout)
            call()
        except BaseException as exc:  # returned to the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return failures
