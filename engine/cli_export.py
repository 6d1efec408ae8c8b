"""``rukun audit export``, ``bundle`` and ``check-bundle``: the history in scope as JSON
lines, CSV or XLSX; a case's evidence bundle; and checking a bundle offline (no database).
Files are written next to their target and renamed into place once complete, so a refused
or failed export leaves nothing behind. Exit codes as everywhere: 0 done (a bundle intact),
1 a bundle's problems (each named), 2 usage, 3 forbidden, 5 not found."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import click

from engine.audit.vocabulary import FORMATS
from engine.cli_audit import audit
from engine.cli_base import emit, json_option, rukun_app

OUTPUT = click.Path(dir_okay=False, writable=True, path_type=Path)


@contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    """A file that becomes ``path`` when the block succeeds (readable by its owner only:
    exports hold personal data), and is removed when it fails."""
    if not path.parent.is_dir():
        raise click.UsageError(f"cannot write {path}: directory {path.parent} does not exist")
    fd, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="Output format.")
@click.option("--program", default=None, help="Only this program's cases.")
@click.option("--year", type=int, default=None, help="Only cases of this fiscal year.")
@click.option(
    "--region", default=None, metavar="CODE", help="Only cases within this region (any level)."
)
@click.option(
    "--output", type=OUTPUT, default=None, help="Write to this file (default: standard output)."
)
@click.option(
    "--as", "user", required=True, metavar="USER", help="The auditor exporting; scope applies."
)
def audit_export(
    fmt: str,
    program: str | None,
    year: int | None,
    region: str | None,
    output: Path | None,
    user: str,
) -> None:
    """Every history record within USER's region scope, one row per record (case, seq,
    trigger, states, actor, role, time, definition, payload, guards, documents, effects,
    hashes). USER needs role auditor, program_officer or admin; personal data is masked
    unless their roles may see it. XLSX needs --output."""
    from engine.audit.export import Exporter

    exporter = Exporter(rukun_app().context)
    if output is None:
        if fmt == "xlsx":
            raise click.UsageError("--format xlsx needs --output FILE.xlsx")
        exporter.export(user, fmt, sys.stdout.buffer, program, year, region)
        sys.stdout.buffer.flush()
        return
    with _replacing(output) as handle:
        counts = exporter.export(user, fmt, handle, program, year, region)
    click.echo(
        f"exported {counts['records']} record(s) of {counts['cases']} case(s) to {output}"
        + (f"; {counts['masked']} with personal data masked" if counts["masked"] else "")
    )
    if counts.get("truncated_cells"):
        click.echo(
            f"warning: {counts['truncated_cells']} cell(s) were longer than a spreadsheet "
            "cell holds (32767 characters) and were cut off; use --format jsonl for them",
            err=True,
        )


@audit.command("bundle")
@click.argument("case_id", type=int)
@click.option("--as", "user", required=True, metavar="USER", help="The auditor making it.")
@click.option("--output", type=OUTPUT, required=True, help="The zip file to write.")
@json_option
def audit_bundle(case_id: int, user: str, output: Path, as_json: bool) -> None:
    """A case's evidence bundle: its history, every document ever attached, its
    verification and replay, a manifest and SHA256SUMS, in one zip that `rukun audit
    check-bundle` (or `sha256sum -c SHA256SUMS`) re-checks without the database."""
    from engine.audit.export import Exporter

    exporter = Exporter(rukun_app().context)
    with _replacing(output) as handle:
        made = exporter.bundle(user, case_id, handle)
    verdict = made["verification"]["verdict"]
    emit(
        {**made, "output": str(output)},
        as_json,
        lambda: [
            f"bundle of case {case_id} written to {output}: {made['records']} record(s), "
            f"{made['documents']} document(s)"
            + (f", {made['missing_documents']} missing" if made["missing_documents"] else "")
            + f"; verification: {verdict}"
        ],
    )


@audit.command("check-bundle")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def audit_check_bundle(path: Path, as_json: bool) -> None:
    """Check an evidence bundle without the database: checksums, manifest, the hash chain
    of its history, every document against its sha256. Exit 1 with each problem."""
    from engine.audit.bundle_check import inspect_bundle

    check = inspect_bundle(path)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": check.ok,
                    "problems": check.problems,
                    "notes": check.notes,
                    "records": check.records,
                    "documents": check.documents,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for line in [*check.problems, *check.notes]:
            click.echo(line)
        click.echo(
            f"{path}: {check.records} record(s), {check.documents} document(s): "
            + ("intact" if check.ok else f"{len(check.problems)} problem(s)")
        )
    if not check.ok:
        raise SystemExit(1)
