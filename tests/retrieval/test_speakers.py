"""The speaker index: who opens transcript lines in each namespace, kept in step with
the writes."""

from __future__ import annotations

from datetime import UTC, datetime

from maia.retrieval.index.speakers import SpeakerIndex, speaker_of
from maia.retrieval.index.vectors import Scope
from maia.store.base import StoredText

WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def doc(seq: int, content: str, namespace: str = "chat", tenant: str = "t1") -> StoredText:
    return StoredText(seq, tenant, namespace, content, [], WHEN)


def test_a_speaker_is_the_name_a_line_opens_with() -> None:
    assert speaker_of('Alice said, "I adopted a dog."') == "alice"
    assert speaker_of("Bruno Costa: see you in Porto") == "bruno costa"
    assert speaker_of("Note: buy milk") is None  # a label, not a speaker
    assert speaker_of("I met Alice today.") is None


def test_loading_passes_the_documents_through_and_keeps_their_speakers() -> None:
    index = SpeakerIndex()
    documents = [doc(1, "Alice: hi"), doc(2, "no speaker here"), doc(3, "Bo: hello", "other")]
    assert list(index.loading(iter(documents))) == documents
    assert index.speakers(Scope("t1", ("chat",))) == {"alice"}
    assert index.speakers(Scope("t1")) == {"alice", "bo"}
    assert len(index) == 2


def test_scopes_cover_namespaces_descendants_and_tenants() -> None:
    index = SpeakerIndex()
    index.add(
        [
            doc(1, "Alice: hi", "team"),
            doc(2, "Bo: hi", "team/bo"),
            doc(3, "Cy: hi", "teammates"),
            doc(4, "Dee: hi", "team", tenant="t2"),
        ]
    )
    assert index.speakers(Scope("t1", ("team",))) == {"alice"}
    assert index.speakers(Scope("t1", ("team",), descendants=True)) == {"alice", "bo"}
    assert index.speakers(Scope("t1", ("team", "teammates"))) == {"alice", "cy"}
    assert index.speakers(Scope("t2")) == {"dee"}
    assert index.speakers(Scope("t3")) == frozenset()


def test_a_speaker_stays_while_any_of_their_lines_does() -> None:
    index = SpeakerIndex()
    index.add([doc(1, "Alice: hi"), doc(2, "Alice: bye"), doc(3, "Bo: yo")])
    index.remove([1])
    assert index.speakers(Scope("t1", ("chat",))) == {"alice", "bo"}
    index.remove([2, 99])  # an unknown key is no error
    assert index.speakers(Scope("t1", ("chat",))) == {"bo"}
    index.add([doc(3, "Bo's line, rewritten without a speaker")])  # replaced
    assert index.speakers(Scope("t1", ("chat",))) == frozenset()
    assert len(index) == 0
    index.add([doc(3, "Cy: moved", "elsewhere")])
    assert index.speakers(Scope("t1")) == {"cy"}
