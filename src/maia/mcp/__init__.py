"""The MCP server: MAIA's tools, resources and prompts on the official ``mcp`` SDK.

``create_mcp_server(maia)`` builds the server; ``maia mcp`` runs it over stdio and
``create_app`` mounts it at ``/mcp`` (streamable HTTP) next to the REST routes.
"""

from maia.mcp.http import McpHttpEndpoint
from maia.mcp.server import MaiaMCPServer, create_mcp_server

__all__ = ["MaiaMCPServer", "McpHttpEndpoint", "create_mcp_server"]
