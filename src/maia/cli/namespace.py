"""``maia namespace`` (alias ``ns``): namespaces on a running server, through the SDK."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from maia.cli import output
from maia.cli.aliases import alias_group
from maia.cli.main import app
from maia.cli.remote import (
    ApiKeyOption,
    JsonOption,
    ServerOption,
    connect,
    print_json,
    reporting,
    usage_error,
)

namespace_app = typer.Typer(
    help="Create, list, show, change and delete namespaces (alias: ns).",
    no_args_is_help=True,
    cls=alias_group({"ls": "list", "rm": "delete"}),
)
app.add_typer(namespace_app, name="namespace")  # aliases: see ROOT_ALIASES in main.py

NameArgument = Annotated[str, typer.Argument(help="Namespace name or id")]


@namespace_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Namespace name (may contain /)")],
    parent: Annotated[str | None, typer.Option("--parent", help="Explicit parent name")] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="Template name (stored only)")
    ] = None,
    token_budget: Annotated[
        int, typer.Option("--token-budget", help="Default context budget, in tokens")
    ] = 4000,
    inherit: Annotated[
        bool, typer.Option("--inherit", help="Fill unset config from the parent")
    ] = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a namespace (POST /v1/namespaces)."""
    config = {"token_budget": token_budget, "inherit_from_parent": inherit}
    with connect(server, api_key) as client, reporting("create namespace"):
        namespace = client.create_namespace(
            name, parent=parent or None, template=template or None, config=config
        )
    if as_json:
        print_json(namespace.model_dump(mode="json"))
        return
    out = output.console()
    out.print(output.cell(f"Created namespace: {namespace.name}"))
    rows = [
        ("ID", namespace.id),
        ("Token Budget", namespace.config.token_budget),
        ("Parent", namespace.parent or "-"),
    ]
    output.key_values(out, rows, indent="  ")


@namespace_app.command("list")
def list_namespaces(
    limit: Annotated[int, typer.Option("--limit", "-l", help="At most this many")] = 100,
    offset: Annotated[int, typer.Option("--offset", "-o", help="Skip this many")] = 0,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """List namespaces, oldest first (GET /v1/namespaces) (alias: ls)."""
    with connect(server, api_key) as client, reporting("list namespaces"):
        page = client.list_namespaces(limit=limit, offset=offset)
    if as_json:
        print_json(page.model_dump(mode="json"))
        return
    out = output.console()
    if not page.data:
        out.print("No namespaces.")
        return
    grid = output.table("NAME", "ID", "PARENT", "TOKEN BUDGET", "CREATED", flexible="NAME")
    for namespace in page.data:
        grid.add_row(
            output.cell(namespace.name),
            namespace.id,
            output.cell(namespace.parent or "-"),
            str(namespace.config.token_budget or "-"),
            output.minute(namespace.created_at),
        )
    out.print(grid)
    if page.count >= page.limit:
        out.print(
            output.cell(
                f"Showing {page.count} namespaces from offset {page.offset}; "
                f"see more with --offset {page.offset + page.count}."
            )
        )


@namespace_app.command("get")
def get(
    name: NameArgument,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a namespace and its config (GET /v1/namespaces/{ns})."""
    with connect(server, api_key) as client, reporting("get namespace"):
        namespace = client.get_namespace(name)
    if as_json:
        print_json(namespace.model_dump(mode="json"))
        return
    config = namespace.config
    rows: list[tuple[str, object]] = [
        ("Name", namespace.name),
        ("ID", namespace.id),
        ("Parent", namespace.parent or "-"),
        ("Template", namespace.template or "-"),
        ("Token Budget", config.token_budget or "-"),
        ("Max Memories", config.max_memories or "-"),
        ("Retention Days", config.retention_days or "-"),
        ("Allowed Types", ", ".join(t.value for t in config.allowed_types) or "-"),
        ("Inherit", "yes" if config.inherit_from_parent else "no"),
        ("Scoring", json.dumps(config.custom_scoring) if config.custom_scoring else "-"),
        ("Created", output.second(namespace.created_at)),
        ("Updated", output.second(namespace.updated_at)),
    ]
    output.key_values(output.console(), rows)


@namespace_app.command("update")
def update(
    name: NameArgument,
    token_budget: Annotated[
        int | None, typer.Option("--token-budget", help="Default context budget, in tokens")
    ] = None,
    inherit: Annotated[
        bool | None,
        typer.Option("--inherit/--no-inherit", help="Fill unset config from the parent"),
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a namespace's token budget or inheritance; the rest of its config is kept
    (GET, then PUT /v1/namespaces/{ns})."""
    changes: dict[str, object] = {}
    if token_budget is not None:
        changes["token_budget"] = token_budget
    if inherit is not None:
        changes["inherit_from_parent"] = inherit
    if not changes:
        usage_error("no updates specified: give --token-budget or --inherit/--no-inherit")
    with connect(server, api_key) as client, reporting("update namespace"):
        # The API replaces the config as a whole: send the current one with the changes.
        current = client.get_namespace(name).config
        namespace = client.update_namespace(name, current.model_copy(update=changes))
    if as_json:
        print_json(namespace.model_dump(mode="json"))
        return
    output.console().print(output.cell(f"Updated namespace: {namespace.name}"))


@namespace_app.command("delete")
def delete(
    name: NameArgument,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a namespace record; its memories stay (DELETE /v1/namespaces/{ns}) (alias: rm)."""
    with connect(server, api_key) as client, reporting("delete namespace"):
        client.delete_namespace(name)
    if as_json:
        print_json({"deleted": True})
        return
    output.console().print(output.cell(f"Deleted namespace: {name}"))
