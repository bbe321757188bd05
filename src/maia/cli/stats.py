"""``maia stats``: a running server's counts, through the SDK."""

from __future__ import annotations

from maia.cli import output
from maia.cli.main import app
from maia.cli.remote import ApiKeyOption, JsonOption, ServerOption, connect, print_json, reporting


@app.command("stats")
def stats(
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the server's memory and namespace counts and storage size (GET /v1/stats)."""
    with connect(server, api_key) as client, reporting("get stats"):
        result = client.stats()
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    rows = [
        ("Memories", result.total_memories),
        ("Namespaces", result.total_namespaces),
        ("Storage", output.human_bytes(result.storage_size_bytes)),
    ]
    output.key_values(output.console(), rows)
