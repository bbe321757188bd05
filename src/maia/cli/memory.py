"""``maia memory`` (aliases ``mem``, ``m``): memories on a running server, through the SDK."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from maia.cli import output
from maia.cli.aliases import alias_group
from maia.cli.main import app
from maia.cli.remote import (
    ApiKeyOption,
    JsonOption,
    Mode,
    ServerOption,
    connect,
    print_json,
    reporting,
    usage_error,
)

if TYPE_CHECKING:
    from rich.text import Text

    from maia.client import Memory

memory_app = typer.Typer(
    help="Create, list, show, change, delete and search memories (aliases: mem, m).",
    no_args_is_help=True,
    cls=alias_group({"ls": "list", "rm": "delete"}),
)
app.add_typer(memory_app, name="memory")  # aliases: see ROOT_ALIASES in main.py

MemoryIdArgument = Annotated[str, typer.Argument(help="Memory id")]
TypeHelp = "semantic, episodic or working"


def split_tags(tags: str) -> list[str]:
    """``a, b,,c`` -> ``["a", "b", "c"]``; ``""`` -> ``[]``."""
    return [tag.strip() for tag in tags.split(",") if tag.strip()]


def title(value: str) -> str:
    return value[:1].upper() + value[1:]


@memory_app.command("create")
def create(
    content: Annotated[str, typer.Option("--content", "-c", help="The memory's text")],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace")] = "default",
    memory_type: Annotated[str, typer.Option("--type", "-t", help=TypeHelp)] = "semantic",
    tags: Annotated[str | None, typer.Option("--tags", help="Comma-separated tags: a,b")] = None,
    confidence: Annotated[float, typer.Option("--confidence", help="0 to 1")] = 1.0,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a memory (POST /v1/memories)."""
    with connect(server, api_key) as client, reporting("create memory"):
        memory = client.create_memory(
            namespace,
            content,
            type=memory_type,
            tags=split_tags(tags) if tags is not None else None,
            confidence=confidence,
        )
    if as_json:
        print_json(memory.model_dump(mode="json"))
        return
    out = output.console()
    out.print(output.cell(f"Created memory: {memory.id}"))
    rows = [("Namespace", memory.namespace), ("Type", title(memory.type.value))]
    output.key_values(out, [*rows, ("Content", memory.content)], indent="  ")


@memory_app.command("list")
def list_memories(
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace")] = "default",
    memory_type: Annotated[
        str | None, typer.Option("--type", "-t", help=f"Only this type: {TypeHelp}")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-l", help="At most this many")] = 20,
    offset: Annotated[int, typer.Option("--offset", "-o", help="Skip this many")] = 0,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a namespace's memories, oldest first (GET /v1/memories) (alias: ls)."""
    with connect(server, api_key) as client, reporting("list memories"):
        page = client.list_memories(
            namespace,
            types=[memory_type] if memory_type else None,
            limit=limit,
            offset=offset,
        )
    if as_json:
        print_json(page.model_dump(mode="json"))
        return
    out = output.console()
    if not page.data:
        out.print(output.cell(f"No memories in namespace {namespace}."))
        return
    grid = output.table("ID", "TYPE", "CONTENT", "CONFIDENCE", "CREATED", flexible="CONTENT")
    for memory in page.data:
        grid.add_row(*memory_row(memory), output.minute(memory.created_at))
    out.print(grid)
    if page.count >= page.limit:
        out.print(
            output.cell(
                f"Showing {page.count} memories from offset {page.offset}; "
                f"see more with --offset {page.offset + page.count}."
            )
        )


def memory_row(memory: Memory) -> tuple[str, str, Text, str]:
    return (
        output.short_id(memory.id) if Mode.maiactl else memory.id,  # maia: to copy
        memory.type.value,
        output.cell(output.clip(memory.content, 40)),
        f"{memory.confidence:.2f}",
    )


@memory_app.command("get")
def get(
    memory_id: MemoryIdArgument,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a memory (GET /v1/memories/{id}; counts an access)."""
    with connect(server, api_key) as client, reporting("get memory"):
        memory = client.get_memory(memory_id)
    if as_json:
        print_json(memory.model_dump(mode="json"))
        return
    out = output.console()
    rows: list[tuple[str, object]] = [
        ("ID", memory.id),
        ("Namespace", memory.namespace),
        ("Type", title(memory.type.value)),
        ("Source", memory.source.value),
        ("Confidence", f"{memory.confidence:.2f}"),
        ("Tags", ", ".join(memory.tags) or "-"),
        ("Created", output.second(memory.created_at)),
        ("Updated", output.second(memory.updated_at)),
        ("Accessed", output.second(memory.accessed_at)),
        ("Access count", memory.access_count),
    ]
    if memory.metadata:
        rows.append(("Metadata", json.dumps(memory.metadata, ensure_ascii=False)))
    if memory.relations:
        relations = ", ".join(f"{r.type.value} {r.target_id}" for r in memory.relations)
        rows.append(("Relations", relations))
    output.key_values(out, rows)
    out.print()
    out.print("Content:")
    out.print(memory.content, markup=False, emoji=False, soft_wrap=True)


@memory_app.command("update")
def update(
    memory_id: MemoryIdArgument,
    content: Annotated[str | None, typer.Option("--content", "-c", help="New text")] = None,
    tags: Annotated[
        str | None, typer.Option("--tags", help='New tags, comma-separated ("" clears them)')
    ] = None,
    confidence: Annotated[
        float | None, typer.Option("--confidence", help="0 to 1 (a negative value: unchanged)")
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a memory's content, tags or confidence (PUT /v1/memories/{id})."""
    if confidence is not None and confidence < 0:  # maiactl's -1 = unset
        confidence = None
    if content is None and tags is None and confidence is None:
        usage_error("no updates specified: give --content, --tags or --confidence")
    with connect(server, api_key) as client, reporting("update memory"):
        memory = client.update_memory(
            memory_id,
            content=content,
            tags=split_tags(tags) if tags is not None else None,
            confidence=confidence,
        )
    if as_json:
        print_json(memory.model_dump(mode="json"))
        return
    output.console().print(output.cell(f"Updated memory: {memory.id}"))


@memory_app.command("delete")
def delete(
    memory_id: MemoryIdArgument,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a memory (DELETE /v1/memories/{id}) (alias: rm)."""
    with connect(server, api_key) as client, reporting("delete memory"):
        client.delete_memory(memory_id)
    if as_json:
        print_json({"deleted": True})
        return
    output.console().print(output.cell(f"Deleted memory: {memory_id}"))


@memory_app.command("search")
def search(
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="What to look for (ranks the results)")
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Only this namespace (default: all)")
    ] = "",
    memory_type: Annotated[
        str | None, typer.Option("--type", "-t", help=f"Only this type: {TypeHelp}")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-l", help="At most this many")] = 20,
    offset: Annotated[int, typer.Option("--offset", "-o", help="Skip this many")] = 0,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search memories, most relevant first (POST /v1/memories/search)."""
    with connect(server, api_key) as client, reporting("search memories"):
        results = client.search_memories(
            query or None,
            namespace=namespace or None,
            types=[memory_type] if memory_type else None,
            limit=limit,
            offset=offset,
        )
    if as_json:
        print_json(results.model_dump(mode="json"))
        return
    out = output.console()
    if not results.data:
        out.print("No memories found.")
        return
    grid = output.table("ID", "TYPE", "SCORE", "CONTENT", "CONFIDENCE", flexible="CONTENT")
    for hit in results.data:
        memory_id, memory_type_, content, confidence_ = memory_row(hit.memory)
        grid.add_row(memory_id, memory_type_, f"{hit.score:.2f}", content, confidence_)
    out.print(grid)
