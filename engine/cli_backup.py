"""``rukun db backup`` and ``rukun db restore``: the database and the documents in one
archive, and back, checked on the way in (the archive against its manifest before anything
is touched, then the restored database by the full history verification). The work is in
:mod:`engine.store.backup`, imported when a command runs. Exit codes as everywhere: 0 done
(and, after a restore, verified intact), 1 a damaged or refused archive or a problem the
verification found (each named), 4 the target holds data or the archive exists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from engine.cli_base import emit, json_option, rukun_app
from engine.errors import RukunError


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@json_option
def db_backup(path: Path, as_json: bool) -> None:
    """Back up the database and every document into one archive at PATH (a .tar.gz file;
    a directory: a dated archive in it). Safe while the app runs. SQLite: a consistent copy
    by the online backup API; PostgreSQL: pg_dump (as the tables' owner, see
    docs/deploy.md). The archive's manifest holds each file's sha256."""
    from engine.store.backup import backup

    app = rukun_app(check=False)
    target, manifest = backup(
        app.engine, app.context.settings.storage_dir, path, dt.datetime.now(dt.UTC)
    )
    shown = manifest.to_json()
    documents = shown["documents"]
    tables = manifest.tables
    emit(
        {"archive": str(target), "manifest": shown},
        as_json,
        lambda: [
            f"backup {target}",
            f"{manifest.dialect} database at revision {manifest.alembic_revision}: "
            f"{tables.get('cases', 0)} case(s), {tables.get('transition_records', 0)} "
            f"history record(s); {documents['count']} document(s), {documents['bytes']} bytes",
            f"check it with `rukun db restore {target}` into an empty database: it is then "
            "verified like `rukun audit verify`",
        ],
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="SQLite: replace a database that holds data (a copy of it is kept beside it).",
)
@click.option(
    "--app-role",
    metavar="ROLE",
    default=None,
    help="PostgreSQL: then give ROLE the app's rights, as `rukun db grant-app-role ROLE`.",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Verify every history, case row and document of the restored database.",
)
@json_option
def db_restore(path: Path, force: bool, app_role: str | None, verify: bool, as_json: bool) -> None:
    """Restore a `rukun db backup` archive into RUKUN_DATABASE_URL and RUKUN_STORAGE. The
    whole archive is checked against its manifest first; the database must be empty (a new
    file or PostgreSQL database). Stop the app while restoring. Then the restored database
    is verified (exit 1 on any problem)."""
    from engine.store.backup import restore, restored_counts
    from engine.store.db import alembic_config

    app = rukun_app(check=False)
    restored = restore(app.engine, app.context.settings.storage_dir, path, force)
    manifest = restored.manifest
    differences = restored_counts(app.engine, manifest)
    if differences:
        raise RukunError("the restored database differs from the backup: " + "; ".join(differences))
    if app_role:
        from engine.store.privileges import grant_app_role

        grant_app_role(app.engine, app_role)
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    current = manifest.alembic_revision == head
    result: dict[str, Any] = {**restored.to_json(), "verification": None}
    problems: list[str] = []
    summary: list[str] = []
    if verify and current:
        verifier = app.audit.verifier()
        problems = [str(finding) for finding in verifier.run()]
        summary = verifier.summary.lines()
        result["verification"] = {"problems": problems, "summary": verifier.summary.to_json()}

    def human() -> Iterable[str]:
        tables = manifest.tables
        yield (
            f"restored {path} (made {manifest.created_at}): {tables.get('cases', 0)} case(s), "
            f"{tables.get('transition_records', 0)} history record(s); documents: "
            f"{restored.documents_written} written, {restored.documents_present} already there"
        )
        if restored.kept is not None:
            yield f"the database it replaced is kept as {restored.kept}"
        if app_role:
            yield f"granted {app_role} the app's rights"
        elif manifest.dialect == "postgresql":
            yield "next: `rukun db grant-app-role ROLE` for the role the app signs in as"
        if not current:
            yield (
                f"the backup's schema is at revision {manifest.alembic_revision}: run "
                "`rukun db upgrade`, then `rukun audit verify`"
            )
        elif result["verification"] is None:
            yield "not verified (--no-verify): run `rukun audit verify`"
        else:
            yield from problems
            yield from summary

    emit(result, as_json, human)
    if problems:
        raise SystemExit(1)
