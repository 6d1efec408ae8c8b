"""`rukun documents gc`: remove stored files that no case refers to."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from engine.cli_base import emit, json_option, rukun_app

#: engine.runtime.documents.GRACE, in minutes (not imported: the CLI starts without the runtime)
GRACE_MINUTES = 60


@click.group()
def documents() -> None:
    """Stored documents (files under RUKUN_STORAGE)."""


@documents.command("gc")
@click.option(
    "--grace-minutes",
    type=click.IntRange(min=0),
    default=GRACE_MINUTES,
    show_default=True,
    help="Keep files written less than this long ago (a transition may still be committing).",
)
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@json_option
def documents_gc(grace_minutes: int, dry_run: bool, as_json: bool) -> None:
    """Remove the stored files that no documents row and no history record names (left by a
    transition whose commit failed, or by a crash), and temporary files a crash left. A
    file any history record names is never removed."""
    result = rukun_app().documents.gc(dt.timedelta(minutes=grace_minutes), dry_run)

    def lines() -> list[str]:
        verb = "would remove" if dry_run else "removed"
        return [
            f"{verb} {len(result['removed'])} unreferenced document(s) and "
            f"{len(result['temporary'])} temporary file(s), {_size(result['bytes'])}",
            f"kept {result['kept']} referenced document(s); "
            f"{result['recent']} file(s) written in the last {grace_minutes} min left alone",
            *(f"  {name}" for name in result["removed"] + result["temporary"]),
        ]

    emit(result, as_json, lines)


def _size(count: Any) -> str:
    return f"{count / 1024 / 1024:.1f} MiB" if count >= 1024 * 1024 else f"{count} bytes"
