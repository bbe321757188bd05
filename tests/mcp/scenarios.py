"""Scenarios run against any MCP client (stdio or HTTP), so both transports are held to
the same expectations."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from tests.mcp.conftest import call_error, call_ok, text_of

TOOLS_REQUIRED = {
    "remember": ["content"],
    "recall": ["query"],
    "forget": ["confirm"],
    "list_memories": [],
    "get_context": ["query"],
    "relate": ["source_id", "target_id"],
    "update_memory": ["id"],
}
TEMPLATES = {
    "maia://namespaces",
    "maia://namespace/{namespace}/memories",
    "maia://memory/{id}",
    "maia://stats",
}
PROMPTS = {
    "inject_context": {"topic": True, "namespace": False, "max_tokens": False},
    "summarize_memories": {"namespace": True, "focus": False},
    "explore_memories": {"namespace": True, "question": False},
}
SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

TEA = "Alice prefers green tea in the morning"
PILOT = "Alice's brother Tomas lives in Toronto and flies planes as a pilot"
REPORT = "The quarterly finance report is due on Friday"


INFERENCE_TOOLS = {
    "maia_complete": ["messages", "model"],
    "maia_stream": ["messages", "model"],
    "maia_list_models": [],
}


async def check_listing(client: Client, *, inference: bool = True) -> None:
    """Contract check 40's listing part, plus the extra tools. The inference tools are
    served with MAIA's inference router (not by `maia mcp --url`)."""
    info = client.server_info
    assert info is not None
    assert (info.name, info.version) == ("maia", "1.0.0")
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(TOOLS_REQUIRED) <= set(tools)
    expected = {**TOOLS_REQUIRED, **(INFERENCE_TOOLS if inference else {})}
    assert set(tools) == set(expected)
    for name, required in expected.items():
        schema = tools[name].input_schema
        assert sorted(schema.get("required", [])) == sorted(required), name
        assert schema["additionalProperties"] is False, name
        assert tools[name].description, name
        assert tools[name].output_schema is not None, name
        for prop, spec in schema["properties"].items():
            assert spec.get("description"), f"{name}.{prop} has no description"
    templates = {
        t.uri_template for t in (await client.list_resource_templates()).resource_templates
    }
    assert templates >= TEMPLATES
    concrete = {str(r.uri) for r in (await client.list_resources()).resources}
    assert concrete >= {"maia://namespaces", "maia://stats"}
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == set(PROMPTS)
    for name, args in PROMPTS.items():
        got = {a.name: bool(a.required) for a in prompts[name].arguments or []}
        assert got == args, name


async def seed(client: Client, ns: str) -> dict[str, str]:
    ids = {}
    for key, content, extra in (
        ("tea", TEA, {"tags": ["preference", "drink"], "metadata": {"source": "chat"}}),
        ("pilot", PILOT, {"type": "episodic"}),
        ("report", REPORT, {"type": "procedural"}),  # unknown type -> semantic
    ):
        out = await call_ok(client, "remember", {"content": content, "namespace": ns, **extra})
        assert set(out) == {"id", "namespace", "created_at"}
        assert out["namespace"] == ns
        uuid.UUID(out["id"])
        assert out["created_at"].endswith("Z")
        ids[key] = out["id"]
    return ids


async def check_tools(client: Client, ns: str) -> dict[str, str]:
    """Every tool, its text content and structuredContent, and its errors."""
    ids = await seed(client, ns)

    result = await client.call_tool("remember", {"content": "x" * 60, "namespace": ns + "-other"})
    assert text_of(result).startswith("Remembered: " + "x" * 47 + "... (ID: ")
    result = await client.call_tool("remember", {"content": "short one", "namespace": ns + "-x"})
    assert text_of(result).startswith("Remembered: short one (ID: ")
    assert await call_error(client, "remember", {"content": "  "}) == "content is required"

    # recall: ranked, scored, touched, namespaced, filtered
    result = await client.call_tool("recall", {"query": "green tea", "namespace": ns})
    found = result.structured_content
    assert found is not None
    assert found["total_found"] == len(found["memories"]) >= 1
    top = found["memories"][0]
    assert top["id"] == ids["tea"]
    assert set(top) == {"id", "content", "type", "score", "tags", "created_at", "accessed_at"}
    assert top["tags"] == ["preference", "drink"]
    assert 0 < top["score"] <= 1
    assert text_of(result).startswith(
        f"Found {found['total_found']} relevant memories:\n1. [Score: "
    )
    memory = await read_json(client, f"maia://memory/{ids['tea']}")
    assert memory["access_count"] == 1  # recall counted the access
    only_episodic = await call_ok(
        client, "recall", {"query": "Alice", "namespace": ns, "types": ["episodic"]}
    )
    assert [m["id"] for m in only_episodic["memories"]] == [ids["pilot"]]
    tagged = await call_ok(
        client, "recall", {"query": "Alice", "namespace": ns, "tags": ["drink", "preference"]}
    )
    assert [m["id"] for m in tagged["memories"]] == [ids["tea"]]
    empty = await client.call_tool("recall", {"query": "green tea", "namespace": ns + "-none"})
    assert text_of(empty) == "No relevant memories found."
    assert empty.structured_content == {"memories": [], "total_found": 0}
    assert await call_error(client, "recall", {"query": ""}) == "query is required"

    # list_memories
    listed = await client.call_tool("list_memories", {"namespace": ns, "limit": 2})
    out = listed.structured_content
    assert out is not None
    assert out["total"] == 3
    assert [m["id"] for m in out["memories"]] == [ids["tea"], ids["pilot"]]
    assert all(m["score"] == 0 for m in out["memories"])
    assert out["memories"][1]["type"] == "episodic"
    assert text_of(listed).startswith(f"Found 3 memories in namespace '{ns}':\n1. [semantic] ")
    page2 = await call_ok(client, "list_memories", {"namespace": ns, "limit": 2, "offset": 2})
    assert [m["id"] for m in page2["memories"]] == [ids["report"]]
    assert page2["memories"][0]["type"] == "semantic"
    nothing = await client.call_tool("list_memories", {"namespace": ns + "-nobody"})
    assert text_of(nothing) == f"No memories in namespace '{ns}-nobody'"

    # get_context
    ctx = await client.call_tool(
        "get_context",
        {"query": "What does Alice drink?", "namespace": ns, "system_prompt": "You help Alice."},
    )
    out = ctx.structured_content
    assert out is not None
    assert set(out) == {"context", "tokens_used", "memories_used"}
    assert out["context"].startswith("You help Alice.")
    assert TEA in out["context"]
    assert out["memories_used"] >= 1
    assert 0 < out["tokens_used"] <= 4000
    assert text_of(ctx) == out["context"]
    small = await call_ok(
        client, "get_context", {"query": "Alice", "namespace": ns, "token_budget": 20}
    )
    assert small["tokens_used"] <= 20
    dated = await call_ok(
        client, "get_context", {"query": "Alice", "namespace": ns, "include_dates": True}
    )
    assert re.search(r"^\[\d{4}-\d{2}-\d{2}\] ", dated["context"], re.MULTILINE)
    assert await call_error(client, "get_context", {"query": " "}) == "query is required"

    # relate and update_memory
    edge = await call_ok(
        client,
        "relate",
        {"source_id": ids["tea"], "target_id": ids["pilot"], "type": "related_to", "weight": 0.5},
    )
    assert edge["source_id"] == ids["tea"]
    assert edge["target_id"] == ids["pilot"]
    assert edge["type"] == "related_to"
    assert edge["weight"] == 0.5
    missing = str(uuid.uuid4())
    assert await call_error(client, "relate", {"source_id": ids["tea"], "target_id": missing}) == (
        f"memory not found: {missing}"
    )
    updated = await call_ok(
        client,
        "update_memory",
        {"id": ids["report"], "content": "The finance report moved to Monday", "tags": ["work"]},
    )
    assert updated["content"] == "The finance report moved to Monday"
    assert updated["tags"] == ["work"]
    assert updated["namespace"] == ns
    full = await read_json(client, f"maia://memory/{ids['tea']}")
    assert full["relations"] == [{"target_id": ids["pilot"], "type": "related_to", "weight": 0.5}]
    assert await call_error(client, "update_memory", {"id": missing, "content": "x"}) == (
        f"memory not found: {missing}"
    )
    bad = await call_error(client, "update_memory", {"id": ids["tea"], "content": " "})
    assert "content" in bad

    # forget: confirm, by id, by query, errors
    # The contract's order: confirm first, whatever else is given (or missing).
    for unconfirmed in ({"id": ids["report"]}, {"id": missing}, {}):
        refused = await call_error(client, "forget", {"confirm": False, **unconfirmed})
        assert refused == "must set confirm=true to delete memories"
    assert (await call_ok(client, "list_memories", {"namespace": ns}))["total"] == 3
    assert await call_error(client, "forget", {"confirm": True}) == (
        "must provide either id or query"
    )
    assert await call_error(client, "forget", {"confirm": True, "id": missing}) == (
        f"memory not found: {missing}"
    )
    gone = await client.call_tool("forget", {"confirm": True, "id": ids["report"]})
    assert gone.structured_content is not None
    assert gone.structured_content["deleted"] == 1
    assert gone.structured_content["ids"] == [ids["report"]]
    assert text_of(gone) == "Deleted 1 memories"
    assert set(gone.structured_content) == {"deleted", "ids"}
    nothing = await call_ok(
        client, "forget", {"confirm": True, "query": "zebra quantum", "namespace": ns}
    )
    assert nothing == {"deleted": 0, "ids": []}
    assert (await call_ok(client, "list_memories", {"namespace": ns}))["total"] == 2
    by_query = await call_ok(
        client, "forget", {"confirm": True, "query": "Toronto pilot brother", "namespace": ns}
    )
    assert by_query == {"deleted": 1, "ids": [ids["pilot"]]}
    left = await call_ok(client, "list_memories", {"namespace": ns})
    assert [m["id"] for m in left["memories"]] == [ids["tea"]]
    return ids


async def check_schema_violations(client: Client) -> None:
    """Missing required argument, unknown argument, wrong type: JSON-RPC invalid params,
    and the session keeps working."""
    for tool, arguments in (
        ("forget", {"id": "x"}),  # confirm omitted
        ("remember", {}),
        ("recall", {"query": "x", "bogus": 1}),
        ("list_memories", {"limit": "many"}),
        ("recall", {"query": "x", "types": ["procedural"]}),
        # Strictly typed: no string, number or JSON text stands in for another type.
        ("recall", {"query": "x", "limit": "5"}),
        ("list_memories", {"limit": True}),
        ("list_memories", {"limit": 1.5}),
        ("get_context", {"query": "x", "token_budget": "100"}),
        ("remember", {"content": "x", "tags": '["a", "b"]'}),
    ):
        with pytest.raises(MCPError) as caught:
            await client.call_tool(tool, arguments)
        assert caught.value.code == INVALID_PARAMS, (tool, caught.value)
    kept = await call_ok(client, "remember", {"content": "not to be lost", "namespace": "strict"})
    for confirm in ("yes", "true", 1):
        with pytest.raises(MCPError) as caught:
            await client.call_tool("forget", {"confirm": confirm, "id": kept["id"]})
        assert caught.value.code == INVALID_PARAMS
    assert (await call_ok(client, "list_memories", {"namespace": "strict"}))["total"] == 1
    # Page sizes and budgets as REST takes them: 0 or less is the default, at most 1000.
    listed = await call_ok(client, "list_memories", {"namespace": "strict", "limit": 0})
    assert len(listed["memories"]) == 1
    assert await call_ok(client, "list_memories", {"namespace": "strict", "limit": 5000})
    recalled = await call_ok(client, "recall", {"query": "lost", "namespace": "strict", "limit": 0})
    assert recalled["total_found"] == 1
    context = await call_ok(
        client, "get_context", {"query": "lost", "namespace": "strict", "token_budget": 0}
    )
    assert context["memories_used"] == 1
    assert (await call_ok(client, "list_memories", {}))["total"] >= 0


async def read_json(client: Client, uri: str) -> Any:
    result = await client.read_resource(uri)
    [content] = result.contents
    assert content.mime_type == "application/json"
    return json.loads(content.text)  # type: ignore[union-attr]


def assert_seconds(item: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert SECONDS.match(item[key]), (key, item[key])


async def check_resources(client: Client, ns: str) -> None:
    ids = await seed(client, ns)
    namespaces = await read_json(client, "maia://namespaces")
    assert any(n["name"] == "default" for n in namespaces)
    for item in namespaces:
        assert set(item) <= {"id", "name", "parent", "created_at"}
        assert_seconds(item, "created_at")
    memories = await read_json(client, f"maia://namespace/{ns}/memories")
    assert [m["id"] for m in memories] == [ids["tea"], ids["pilot"], ids["report"]]
    assert memories[0]["tags"] == ["preference", "drink"]
    assert "tags" not in memories[1]
    for item in memories:
        assert set(item) <= {"id", "content", "type", "tags", "created_at", "accessed_at"}
        assert_seconds(item, "created_at", "accessed_at")
    # Content up to 200 characters as it is; longer cut to 197 and "...".
    short = "Line one\nline  two"
    await call_ok(client, "remember", {"content": short, "namespace": f"{ns}-text"})
    await call_ok(client, "remember", {"content": "x" * 250, "namespace": f"{ns}-text"})
    texts = await read_json(client, f"maia://namespace/{ns}-text/memories")
    assert [m["content"] for m in texts] == [short, "x" * 197 + "..."]
    memory = await read_json(client, f"maia://memory/{ids['tea']}")
    assert memory["content"] == TEA
    assert memory["namespace"] == ns
    assert memory["metadata"] == {"source": "chat"}
    assert memory["source"] == "user"
    assert memory["confidence"] == 1.0
    assert_seconds(memory, "created_at", "updated_at", "accessed_at")
    stats = await read_json(client, "maia://stats")
    assert stats["total_memories"] >= 3
    assert stats["total_namespaces"] >= 1
    assert_seconds(stats, "last_compaction")
    missing = str(uuid.uuid4())
    with pytest.raises(MCPError) as caught:
        await client.read_resource(f"maia://memory/{missing}")
    assert caught.value.code == INVALID_PARAMS
    assert f"memory not found: {missing}" in caught.value.message
    assert await read_json(client, "maia://namespace/nobody-here/memories") == []
    made = await call_ok(client, "remember", {"content": "team fact", "namespace": f"{ns}/team"})
    nested = await read_json(client, f"maia://namespace/{ns}%2Fteam/memories")
    assert [m["id"] for m in nested] == [made["id"]]


async def check_prompts(client: Client, ns: str) -> None:
    """Expects ``seed`` to have run on ``ns``."""
    result = await client.get_prompt(
        "inject_context", {"topic": "green tea", "namespace": ns, "max_tokens": "500"}
    )
    assert result.description == f"Context for 'green tea' from namespace '{ns}'"
    [message] = result.messages
    assert message.role == "user"
    text = message.content.text  # type: ignore[union-attr]
    assert text.startswith("I have the following context from my memory system:")
    assert text.endswith("Now, regarding: green tea")
    assert "1. " + TEA in text

    result = await client.get_prompt("summarize_memories", {"namespace": ns, "focus": "family"})
    assert result.description is not None
    text = result.messages[0].content.text  # type: ignore[union-attr]
    assert f"namespace '{ns}', focusing on 'family'" in text
    assert f"1. [semantic] {TEA}" in text
    assert f"2. [episodic] {PILOT}" in text

    result = await client.get_prompt("explore_memories", {"namespace": ns})
    text = result.messages[0].content.text  # type: ignore[union-attr]
    assert "Total memories: 3" in text
    assert "semantic: 2, episodic: 1, working: 0" in text
    assert "Please analyze these memories" in text
    result = await client.get_prompt(
        "explore_memories", {"namespace": ns, "question": "Who is Tomas?"}
    )
    text = result.messages[0].content.text  # type: ignore[union-attr]
    assert text.endswith("Question: Who is Tomas?")

    with pytest.raises(MCPError) as caught:
        await client.get_prompt("inject_context", {"topic": "tea", "max_tokens": "lots"})
    assert caught.value.code == INVALID_PARAMS
    assert "max_tokens" in caught.value.message

    for name, arguments in (("inject_context", {}), ("summarize_memories", {"focus": "x"})):
        with pytest.raises(MCPError) as caught:
            await client.get_prompt(name, arguments)
        assert caught.value.code == INVALID_PARAMS
        assert "missing required argument" in caught.value.message


async def check_inference(client: Client) -> None:
    """The inference tools with the built-in mock model, memories injected."""
    await client.call_tool("remember", {"content": "Dana keeps bees", "namespace": "inf"})
    for tool in ("maia_complete", "maia_stream"):
        result = await client.call_tool(
            tool,
            {
                "model": "mock",
                "messages": [{"role": "user", "content": "What does Dana keep?"}],
                "namespace": "inf",
            },
        )
        assert not result.is_error, result
        out = result.structured_content
        assert out is not None
        assert out["content"]
        assert out["provider"] == "mock"
        assert out["memories_used"] == 1
    models = await client.call_tool("maia_list_models", {})
    assert models.structured_content is not None
    assert "mock" in {m["id"] for m in models.structured_content["models"]}
    unknown = await client.call_tool(
        "maia_complete", {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}
    )
    assert unknown.is_error
