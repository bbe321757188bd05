"""The full-text index: BM25 over stemmed words, in memory.

Derived data, like the vector index: built from the stored memories at start-up and
kept in step by the service's writes. It answers the engine's text searches on the
embedded store. SQLite's FTS5 computes ``bm25()`` row by row for every memory sharing
one word with an any-word query (thousands of rows for a common word); here each query
word's postings are scored at once in numpy, which is a small fraction of that.

Words and scores follow the FTS5 table it stands in for (``porter unicode61
remove_diacritics 2``; ``bm25(memories_fts, 1.0, 0.5)``): Unicode letters and digits,
case and diacritics folded, Porter stems for words of 3 to 64 characters; k1 1.2,
b 0.75, a tag weighing half a word of content, a memory's length counted over content
and tags. The statistics (memory count, average length, how many memories hold a word)
are the tenant's own, so one tenant's memories never move another's scores.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import Stemmer

from maia.retrieval.index.exact import Keys
from maia.retrieval.index.vectors import Scope
from maia.store.base import StoredText

# Matches are summed per slot with counts over the slots' range while that range is at
# most this many times the matches (else by sorting them).
DENSE = 64
K1 = 1.2
B = 0.75
TAG_WEIGHT = 0.5
STEMMED_LENGTHS = range(3, 65)  # FTS5's porter leaves shorter and longer words alone
SCOPE_MASKS = 256  # namespace masks kept for recent scopes
KNOWN_WORDS = 200_000  # words whose term is remembered

_WORD = re.compile(r"[^\W_]+")


class Terms:
    """Text to index terms (not thread-safe: it keeps the terms of words met so far)."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("porter")
        self._known: dict[str, str] = {}

    def __call__(self, text: str, *, distinct: bool = False) -> list[str]:
        """The terms of ``text``; with ``distinct``, of each distinct word (as FTS5 reads
        an any-word query: two words with one stem both count)."""
        text = text.lower()
        if not text.isascii():
            text = "".join(
                c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
            )
        found: list[str] = _WORD.findall(text)
        if distinct:
            found = list(dict.fromkeys(found))
        known = self._known
        new = [word for word in dict.fromkeys(found) if word not in known]
        if new:
            if len(known) > KNOWN_WORDS:
                known.clear()
            for word, stem in zip(new, self._stemmer.stemWords(new), strict=True):
                known[word] = stem if len(word) in STEMMED_LENGTHS else word
        return [known[word] for word in found]


class _Column:
    """A numpy array that grows by doubling (appends are amortised O(1))."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self.data: npt.NDArray[Any] = np.zeros(64, dtype=dtype)
        self.size = 0

    def append(self, value: float) -> None:
        if self.size == len(self.data):
            grown = np.zeros(2 * len(self.data), dtype=self.data.dtype)
            grown[: self.size] = self.data
            self.data = grown
        self.data[self.size] = value
        self.size += 1

    def view(self) -> npt.NDArray[Any]:
        return self.data[: self.size]


class _Postings:
    """One term's memories (slots) and weighted frequencies, in insertion order."""

    __slots__ = ("frequencies", "slots")

    def __init__(self) -> None:
        self.slots = array("i")
        self.frequencies = array("f")


class TextIndex:
    """Thread-safe: one lock guards changes and searches (a search takes well under a
    millisecond on ten thousand memories)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._terms = Terms()
        self._clear()

    def _clear(self) -> None:
        self._slot: dict[int, int] = {}  # key -> slot
        # Per slot: its key (-1 once removed), its (tenant, namespace) and length.
        self._keys = _Column(np.int64)
        self._places = _Column(np.int32)
        self._lengths = _Column(np.float64)
        self._created = _Column(np.float64)
        self._postings: dict[str, _Postings] = {}
        self._place_ids: dict[tuple[str, str], int] = {}
        self._place_tenant = _Column(np.int32)  # place -> tenant id
        self._tenant_ids: dict[str, int] = {}
        self._tenant_stats: dict[int, list[float]] = {}  # tenant -> [memories, words]
        self._scope_masks: dict[Scope, npt.NDArray[np.bool_]] = {}
        self._removed = 0

    def __len__(self) -> int:
        return len(self._slot)

    # -- changes -------------------------------------------------------------------------

    def load(self, documents: Iterable[StoredText]) -> None:
        """Replaces the whole content."""
        with self._lock:
            self._clear()
            for document in documents:
                self._add(document)

    def add(self, documents: Iterable[StoredText]) -> None:
        """Adds memories, or replaces those whose key is already indexed."""
        with self._lock:
            for document in documents:
                self._forget(document.seq)
                self._add(document)
            self._compact_if_sparse()

    def remove(self, keys: Iterable[int]) -> None:
        with self._lock:
            for key in keys:
                self._forget(key)
            self._compact_if_sparse()

    def _compact_if_sparse(self) -> None:
        """Removed and replaced memories leave their slots behind until they outnumber
        the live ones (each compaction is linear in the postings)."""
        if self._removed > max(1024, len(self._slot)):
            self._compact()

    def _place(self, tenant: str, namespace: str) -> int:
        place = self._place_ids.get((tenant, namespace))
        if place is None:
            tenant_id = self._tenant_ids.setdefault(tenant, len(self._tenant_ids))
            place = self._place_ids[(tenant, namespace)] = len(self._place_ids)
            self._place_tenant.append(tenant_id)
            self._scope_masks.clear()  # masks are sized by the number of places
        return place

    def _add(self, document: StoredText) -> None:
        content = self._terms(document.content)
        tags = self._terms(" ".join(document.tags)) if document.tags else []
        frequencies: dict[str, float] = dict(Counter(content))
        for term in tags:
            frequencies[term] = frequencies.get(term, 0.0) + TAG_WEIGHT
        slot = self._keys.size
        place = self._place(document.tenant, document.namespace)
        self._slot[document.seq] = slot
        self._keys.append(document.seq)
        self._places.append(place)
        length = len(content) + len(tags)
        self._lengths.append(length)
        self._created.append(document.created_at.timestamp())
        stats = self._tenant_stats.setdefault(int(self._place_tenant.data[place]), [0.0, 0.0])
        stats[0] += 1
        stats[1] += length
        for term, frequency in frequencies.items():
            postings = self._postings.get(term)
            if postings is None:
                postings = self._postings[term] = _Postings()
            postings.slots.append(slot)
            postings.frequencies.append(frequency)

    def _forget(self, key: int) -> None:
        slot = self._slot.pop(key, None)
        if slot is None:
            return
        self._keys.data[slot] = -1
        tenant = int(self._place_tenant.data[self._places.data[slot]])
        stats = self._tenant_stats[tenant]
        stats[0] -= 1
        stats[1] -= float(self._lengths.data[slot])
        self._removed += 1

    def _compact(self) -> None:
        """Drops removed memories from every column and posting list."""
        keys = self._keys.view()
        alive = keys >= 0
        renumber = np.cumsum(alive, dtype=np.int64) - 1
        for column in (self._keys, self._places, self._lengths, self._created):
            kept = column.view()[alive]
            column.data = np.concatenate([kept, np.zeros(64, dtype=kept.dtype)])
            column.size = len(kept)
        for term in list(self._postings):
            postings = self._postings[term]
            slots = np.frombuffer(postings.slots, dtype=np.int32)
            live = alive[slots]
            if not live.any():
                del self._postings[term]
                continue
            fresh = _Postings()
            fresh.slots.frombytes(renumber[slots[live]].astype(np.int32).tobytes())
            frequencies = np.frombuffer(postings.frequencies, dtype=np.float32)[live]
            fresh.frequencies.frombytes(frequencies.tobytes())
            self._postings[term] = fresh
        self._slot = {int(k): i for i, k in enumerate(self._keys.view().tolist())}
        self._removed = 0

    # -- search --------------------------------------------------------------------------

    def search(
        self, query: str, scope: Scope, limit: int, *, allowed: Keys | None = None
    ) -> list[tuple[int, float]]:
        """Memories in ``scope`` (and ``allowed``) holding any word of ``query``, best
        BM25 first (ties: oldest first)."""
        if limit <= 0:
            return []
        with self._lock:
            terms = Counter(self._terms(query, distinct=True))
            tenant = self._tenant_ids.get(scope.tenant)
            if not terms or tenant is None:
                return []
            count, words = self._tenant_stats[tenant]
            if count <= 0:
                return []
            average = max(words / count, 1e-9)
            in_scope = self._scope_mask(scope)
            keys, places = self._keys.view(), self._places.view()
            place_tenant, lengths = self._place_tenant.view(), self._lengths.view()
            found: list[npt.NDArray[np.int64]] = []
            scores: list[npt.NDArray[np.float64]] = []
            for term, times in terms.items():
                postings = self._postings.get(term)
                if postings is None:
                    continue
                slots = np.frombuffer(postings.slots, dtype=np.int32).astype(np.int64)
                where = places[slots]
                mine = (keys[slots] >= 0) & (place_tenant[where] == tenant)
                holding = int(np.count_nonzero(mine))
                if not holding:
                    continue
                idf = math.log((count - holding + 0.5) / (holding + 0.5))
                idf = idf if idf > 0 else 1e-6  # as FTS5: a very common word still counts
                mine &= in_scope[where]
                slots = slots[mine]
                frequency = np.frombuffer(postings.frequencies, dtype=np.float32)[mine]
                frequency = frequency.astype(np.float64)
                norm = K1 * (1 - B + B * lengths[slots] / average)
                found.append(slots)
                scores.append(times * idf * frequency * (K1 + 1) / (frequency + norm))
            if not found:
                return []
            every, weights = np.concatenate(found), np.concatenate(scores)
            if not len(every):
                return []
            size = int(every.max()) + 1
            if size <= DENSE * len(every):  # counted per slot, which is cheaper than sorting
                slots = np.flatnonzero(np.bincount(every, minlength=size))
                total = np.bincount(every, weights=weights, minlength=size)[slots]
            else:
                slots, inverse = np.unique(every, return_inverse=True)
                total = np.bincount(inverse, weights=weights)
            # Rounded: equal scores summed in another order must still tie.
            total = np.round(total, 9)
            hits = keys[slots]
            if allowed is not None:
                wanted = np.isin(hits, allowed)
                slots, hits, total = slots[wanted], hits[wanted], total[wanted]
            if len(total) > limit:  # only what can make the page is sorted
                cut = np.partition(total, len(total) - limit)[len(total) - limit]
                best = total >= cut
                slots, hits, total = slots[best], hits[best], total[best]
            order = np.lexsort((hits, self._created.view()[slots], -total))[:limit]
            return list(zip(hits[order].tolist(), total[order].tolist(), strict=True))

    def _scope_mask(self, scope: Scope) -> npt.NDArray[np.bool_]:
        """Which places (tenant, namespace) lie in ``scope``."""
        mask = self._scope_masks.get(scope)
        if mask is None:
            if len(self._scope_masks) >= SCOPE_MASKS:
                self._scope_masks.clear()
            mask = np.zeros(len(self._place_ids), dtype=np.bool_)
            for (tenant, namespace), place in self._place_ids.items():
                mask[place] = tenant == scope.tenant and scope.covers(namespace)
            self._scope_masks[scope] = mask
        return mask
