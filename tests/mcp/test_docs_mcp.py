"""docs/mcp.md names every MCP tool (with its arguments), resource and prompt."""

from __future__ import annotations

from pathlib import Path

import anyio

from maia import Maia
from maia.mcp import create_mcp_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"


def test_every_tool_resource_and_prompt_is_documented(maia: Maia) -> None:
    server = create_mcp_server(maia)
    text = DOC.read_text(encoding="utf-8")

    async def names() -> list[str]:
        found = []
        for tool in await server.list_tools():
            found.append(f"`{tool.name}`")
            found += [f"`{arg}`" for arg in tool.input_schema["properties"]]
        for template in await server.list_resource_templates():
            found.append(f"`{template.uri_template}`")
        for prompt in await server.list_prompts():
            found.append(f"`{prompt.name}`")
            found += [f"`{arg.name}`" for arg in prompt.arguments or []]
        return found

    missing = [name for name in anyio.run(names) if name not in text]
    assert not missing, f"missing from docs/mcp.md: {missing}"
