"""Memories through the SDK (both clients) against a live server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from maia.client import ListResponse, Memory, MemorySource, MemoryType, SearchResult
from tests.conftest import LiveServer


def test_create_and_get(api: Any, ns: str) -> None:
    memory = api.create_memory(
        ns,
        "Alice prefers green tea",
        type="episodic",
        tags=["preference", "drink"],
        metadata={"origin": "chat"},
        confidence=0.8,
        source=MemorySource.EXTRACTED,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert isinstance(memory, Memory)
    assert memory.namespace == ns
    assert memory.type is MemoryType.EPISODIC
    assert memory.tags == ["preference", "drink"]
    assert memory.metadata == {"origin": "chat"}
    assert memory.confidence == 0.8
    assert memory.source is MemorySource.EXTRACTED
    assert memory.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = api.get_memory(memory.id)
    second = api.get_memory(memory.id)
    assert first.content == "Alice prefers green tea"
    assert second.access_count > first.access_count  # get counts an access


def test_defaults(api: Any, ns: str) -> None:
    memory = api.create_memory(ns, "plain")
    assert memory.type is MemoryType.SEMANTIC
    assert memory.source is MemorySource.USER
    assert memory.confidence == 1.0
    assert memory.tags == []
    assert memory.access_count == 0


def test_model_dump_is_the_wire_json(api: Any, ns: str, shared_server: LiveServer) -> None:
    memory = api.create_memory(ns, "exact", tags=["a"], metadata={"k": [1, 2]})
    # The SDK's models are the server's: dumping a result gives the JSON it was sent.
    raw = httpx.get(f"{shared_server.url}/v1/memories", params={"namespace": ns}).json()
    assert api.list_memories(ns).model_dump(mode="json") == raw
    assert raw["data"][0]["id"] == memory.id


def test_update(api: Any, ns: str) -> None:
    memory = api.create_memory(ns, "before", tags=["a"], metadata={"x": 1})
    changed = api.update_memory(memory.id, content="after", tags=["b", "c"], confidence=0.5)
    assert (changed.content, changed.tags, changed.confidence) == ("after", ["b", "c"], 0.5)
    assert changed.metadata == {"x": 1}  # not sent, kept
    assert changed.updated_at >= memory.updated_at
    cleared = api.update_memory(memory.id, metadata={}, tags=[])
    assert cleared.metadata is None
    assert cleared.tags == []
    assert cleared.content == "after"
    touched = api.update_memory(memory.id)  # empty body: only updated_at moves
    assert touched.content == "after"


def test_delete_and_forget(api: Any, ns: str) -> None:
    one = api.create_memory(ns, "one")
    two = api.remember(ns, "two", tags=["t"])
    assert two.tags == ["t"]
    assert api.delete_memory(one.id) is None
    assert api.forget(two.id) is None
    assert api.list_memories(ns).data == []


def test_batch_create_and_delete(api: Any, ns: str) -> None:
    created = api.create_memories(
        [
            {"namespace": ns, "content": "first", "tags": ["x"]},
            {"namespace": ns, "content": "second", "type": "working"},
            {"namespace": ns, "content": "third", "created_at": datetime(2025, 5, 1, tzinfo=UTC)},
        ]
    )
    assert [m.content for m in created] == ["first", "second", "third"]
    assert created[1].type is MemoryType.WORKING
    assert created[2].created_at.year == 2025
    assert api.delete_memories([created[0].id, created[1].id]) == 2
    assert [m.id for m in api.list_memories(ns).data] == [created[2].id]


def test_touch(api: Any, ns: str) -> None:
    memory = api.create_memory(ns, "touch me")
    assert api.touch_memories([memory.id, "00000000-0000-4000-8000-000000000000"]) == 1
    assert api.list_memories(ns).data[0].access_count == 1


def test_search(api: Any, ns: str) -> None:
    api.create_memory(ns, "The quarterly report is due on Friday", tags=["work"])
    api.create_memory(ns, "Alice drinks green tea every morning", tags=["tea", "alice"])
    api.create_memory(ns, "Bob prefers coffee", type="episodic", tags=["coffee"])
    results = api.search_memories("green tea", namespace=ns, limit=5)
    assert isinstance(results, ListResponse)
    assert isinstance(results.data[0], SearchResult)
    assert results.data[0].memory.content == "Alice drinks green tea every morning"
    assert 0 <= results.data[0].score <= 1
    assert results.limit == 5
    episodic = api.search_memories(namespace=ns, types=["episodic"])
    assert [r.memory.content for r in episodic.data] == ["Bob prefers coffee"]
    assert episodic.data[0].score == 1.0
    tagged = api.search_memories(namespace=ns, tags=["tea", "alice"], explain=True)
    assert [r.memory.content for r in tagged.data] == ["Alice drinks green tea every morning"]
    page = api.search_memories(namespace=ns, limit=1, offset=1)
    assert (page.count, page.offset, page.limit) == (1, 1, 1)
    everything = api.search_memories()  # no arguments: an empty body
    assert everything.count >= 3


def test_list_memories_filters(api: Any, ns: str) -> None:
    api.create_memory(ns, "a", type="semantic", tags=["x"])
    api.create_memory(ns, "b", type="working", tags=["x", "y"])
    api.create_memory(f"{ns}/child", "c", type="working")
    assert [m.content for m in api.list_memories(ns).data] == ["a", "b"]
    assert [m.content for m in api.list_memories(ns, types=["working"]).data] == ["b"]
    assert [m.content for m in api.list_memories(ns, tags=["x", "y"]).data] == ["b"]
    nested = api.list_memories(ns, include_descendants=True, types=[MemoryType.WORKING])
    assert [m.content for m in nested.data] == ["b", "c"]
    page = api.list_memories(ns, limit=1, offset=1)
    assert ([m.content for m in page.data], page.limit, page.offset) == (["b"], 1, 1)


def test_namespace_memories_with_slashes(api: Any, ns: str) -> None:
    name = f"{ns}/team/alice"
    api.create_namespace(name)
    api.create_memory(name, "in the deep namespace")
    api.create_memory(f"{name}/memories", "a name that looks like a route")
    listed = api.list_namespace_memories(name)
    assert [m.content for m in listed.data] == ["in the deep namespace"]
    assert api.list_namespace_memories(name, limit=1, offset=1).data == []


def test_recall_and_get_context(api: Any, ns: str) -> None:
    api.create_memory(ns, "Alice drinks green tea every morning")
    api.create_memory(ns, "The quarterly report is due on Friday")
    context = api.recall(
        "What does Alice drink?", namespace=ns, token_budget=300, include_scores=True
    )
    assert "green tea" in context.content
    assert context.content.startswith("[relevance: ")
    assert context.token_budget == 300
    assert context.token_count <= 300
    with_prompt = api.get_context(
        "What does Alice drink?",
        namespace=ns,
        system_prompt="Be brief.",
        format="markdown",
        min_score=0.0,
        now=datetime.now(UTC),
    )
    assert with_prompt.content.startswith("Be brief.")
    assert "## Relevant memories" in with_prompt.content
    assert with_prompt.memories
    assert with_prompt.zone_stats.middle_budget > 0


@pytest.mark.parametrize("content", ["", "   "])
def test_blank_content_is_refused_before_sending(api: Any, ns: str, content: str) -> None:
    from maia.client import ValidationError

    with pytest.raises(ValidationError) as caught:
        api.create_memory(ns, content)
    assert caught.value.field == "content"
