"""The MCP resources: read-only JSON views of namespaces, memories and statistics.

Timestamps are second precision (``YYYY-MM-DDThh:mm:ssZ``); an unknown memory is a
JSON-RPC error (the SDK's "resource not found", invalid params).
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import ResourceSecurity
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp_types import ResourceTemplate

from maia.errors import NotFound
from maia.mcp.facade import MemoryFacade
from maia.mcp.render import cut, resource_json, second_precision
from maia.mcp.server import MaiaMCPServer
from maia.models import MemoryFilter, Page

JSON = "application/json"
NAMESPACES_LISTED = 100
MEMORIES_LISTED = 50
# Names and ids are not file paths: ".." or a leading "/" are plain characters there.
NOT_PATHS = ResourceSecurity(
    reject_path_traversal=False, reject_absolute_paths=False, reject_null_bytes=True
)


def register(server: MaiaMCPServer, maia: MemoryFacade) -> None:
    @server.resource(
        "maia://namespaces",
        name="Namespaces",
        description=f"The namespaces (up to {NAMESPACES_LISTED}): id, name, parent, created_at",
        mime_type=JSON,
    )
    def namespaces() -> str:
        items: list[dict[str, Any]] = []
        for ns in server.caller().list_namespaces(Page(limit=NAMESPACES_LISTED)):
            item: dict[str, Any] = {"id": ns.id, "name": ns.name}
            if ns.parent:
                item["parent"] = ns.parent
            item["created_at"] = second_precision(ns.created_at)
            items.append(item)
        return resource_json(items)

    @server.resource(
        "maia://namespace/{namespace}/memories",
        name="Namespace Memories",
        description=(
            f"The first {MEMORIES_LISTED} memories of a namespace, content cut to 200 "
            "characters (percent-encode a '/' in the name as %2F)"
        ),
        mime_type=JSON,
        security=NOT_PATHS,
    )
    def namespace_memories(namespace: str) -> str:
        items: list[dict[str, Any]] = []
        memories = server.caller().list_memories(
            MemoryFilter(namespace=namespace), Page(limit=MEMORIES_LISTED)
        )
        for memory in memories:
            item: dict[str, Any] = {
                "id": memory.id,
                "content": cut(memory.content, 200),
                "type": memory.type.value,
            }
            if memory.tags:
                item["tags"] = memory.tags
            item["created_at"] = second_precision(memory.created_at)
            item["accessed_at"] = second_precision(memory.accessed_at)
            items.append(item)
        return resource_json(items)

    @server.resource(
        "maia://memory/{id}",
        name="Memory",
        description="One memory, the full Memory object",
        mime_type=JSON,
        security=NOT_PATHS,
    )
    def memory(id: str) -> str:
        try:
            return resource_json(server.caller().get_memory(id))
        except NotFound as exc:
            raise ResourceNotFoundError(exc.message) from exc

    @server.resource(
        "maia://stats",
        name="Statistics",
        description="Totals of memories and namespaces, storage size",
        mime_type=JSON,
    )
    def stats() -> str:
        return resource_json(server.caller().stats())

    # The contract registers every resource as a template; these two are also concrete.
    for uri, name, description in (
        ("maia://namespaces", "Namespaces", "The namespaces"),
        ("maia://stats", "Statistics", "Totals of memories and namespaces, storage size"),
    ):
        server.list_as_template(
            ResourceTemplate(uri_template=uri, name=name, description=description, mime_type=JSON)
        )
