"""``maia migrate SOURCE TARGET``: every record from one store into another."""

from __future__ import annotations

from typing import Annotated

import typer

from maia.cli.main import ConfigOption, app, err_console, fail
from maia.errors import Conflict, MaiaError


@app.command("migrate")
def migrate_command(
    source: Annotated[str, typer.Argument(help="Data directory or postgresql:// URL to copy")],
    target: Annotated[str, typer.Argument(help="Data directory or postgresql:// URL to fill")],
    config: ConfigOption = None,
    verify_only: Annotated[
        bool, typer.Option("--verify-only", help="Only compare counts and checksums")
    ] = False,
) -> None:
    """Copy tenants, keys, namespaces, memories, embeddings and relations from SOURCE to
    TARGET (SQLite to PostgreSQL or back), then verify counts and checksums. Records the
    target already has are skipped: run it again to resume an interrupted copy. Stop
    the servers writing to SOURCE first."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from maia.service.stores import open_location
    from maia.settings import Settings
    from maia.store.migrate import copy_store, tally, total_memories

    try:
        settings = Settings.load(config)
        source_store = open_location(source, settings)
        try:
            target_store = open_location(target, settings)
        except BaseException:
            source_store.close()
            raise
    except MaiaError as exc:
        fail(exc)
    try:
        if not verify_only:
            columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
            with Progress(*columns, TimeRemainingColumn(), console=err_console) as progress:
                task = progress.add_task("memories", total=total_memories(source_store))

                def advance(what: str, n: int) -> None:
                    if what == "indexes":
                        progress.update(task, description="building indexes")
                    else:
                        progress.advance(task, n)

                report = copy_store(source_store, target_store, advance)
            copied = ", ".join(f"{n} {name}" for name, n in report.as_dict().items())
            err_console.print(f"copied: {copied}")
        differences = tally(source_store).differences(tally(target_store))
        if differences:
            fail(Conflict("verification failed: " + "; ".join(differences)))
        typer.echo(f"verified: {source_store.location} and {target_store.location} agree")
    except MaiaError as exc:
        fail(exc)
    finally:
        source_store.close()
        target_store.close()
