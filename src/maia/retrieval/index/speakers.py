"""Who speaks in each namespace, in memory.

Derived data, like the full-text and order indexes: built from the stored memories at
start-up and kept in step by the service's writes. A speaker is the name a transcript
line opens with ("Alice said, ...", "Bob: ..."). A query that names a speaker of the
namespaces it searches is embedded without that name, and its full-text signal leaves
the name out (see the engine): known before the search, the query's embedding can start
at once, on the text it keeps.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator

from maia.retrieval.index.vectors import Scope
from maia.retrieval.text import split_attribution
from maia.store.base import StoredText

Place = tuple[str, str]  # (tenant, namespace)


def speaker_of(content: str) -> str | None:
    """The speaker a memory's content opens with, in lower case (names are matched
    without case)."""
    speaker = split_attribution(content).speaker
    return None if speaker is None else speaker.lower()


class SpeakerIndex:
    """Thread-safe: one lock guards changes and lookups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spoken: dict[int, tuple[Place, str]] = {}  # key -> its place and speaker
        # Per tenant, per namespace: how many memories each speaker opens.
        self._counts: dict[str, dict[str, Counter[str]]] = {}

    def __len__(self) -> int:
        return len(self._spoken)

    def loading(self, documents: Iterable[StoredText]) -> Iterator[StoredText]:
        """Passes ``documents`` through, then holds exactly their speakers (so one
        reading of the store can fill this index and others)."""
        spoken: dict[int, tuple[Place, str]] = {}
        for document in documents:
            speaker = speaker_of(document.content)
            if speaker is not None:
                spoken[document.seq] = ((document.tenant, document.namespace), speaker)
            yield document
        with self._lock:
            self._spoken, self._counts = {}, {}
            for key, (place, speaker) in spoken.items():
                self._count(key, place, speaker)

    def add(self, documents: Iterable[StoredText]) -> None:
        """Adds memories, or replaces those whose key is already indexed."""
        with self._lock:
            for document in documents:
                self._forget(document.seq)
                speaker = speaker_of(document.content)
                if speaker is not None:
                    self._count(document.seq, (document.tenant, document.namespace), speaker)

    def remove(self, keys: Iterable[int]) -> None:
        with self._lock:
            for key in keys:
                self._forget(key)

    def _count(self, key: int, place: Place, speaker: str) -> None:
        self._spoken[key] = (place, speaker)
        tenant, namespace = place
        self._counts.setdefault(tenant, {}).setdefault(namespace, Counter())[speaker] += 1

    def _forget(self, key: int) -> None:
        found = self._spoken.pop(key, None)
        if found is None:
            return
        (tenant, namespace), speaker = found
        namespaces = self._counts[tenant]
        counts = namespaces[namespace]
        counts[speaker] -= 1
        if counts[speaker] <= 0:
            del counts[speaker]
            if not counts:
                del namespaces[namespace]

    def speakers(self, scope: Scope) -> frozenset[str]:
        """The speakers (lower case) of the namespaces ``scope`` covers."""
        with self._lock:
            namespaces = self._counts.get(scope.tenant)
            if not namespaces:
                return frozenset()
            if scope.namespaces is not None and not scope.descendants:
                found = [namespaces.get(name) for name in scope.namespaces]
                return frozenset(s for counts in found if counts for s in counts)
            return frozenset(
                speaker
                for namespace, counts in namespaces.items()
                if scope.covers(namespace)
                for speaker in counts
            )
