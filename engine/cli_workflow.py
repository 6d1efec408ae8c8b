"""`rukun validate` and `rukun workflow …`: checking, publishing and inspecting workflow
definitions, and the studio's diff, simulation, impact and migration of running cases."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from engine.cli_base import emit, json_option, parse_pairs, rukun_app
from engine.errors import DefinitionError, InvalidData


def read_definition_text(path: Path) -> str:
    """The definition file's text, or a :class:`DefinitionError` at its line 1."""
    # the language package loads the YAML parser and the guard library: imported when a
    # command reads a definition, not for `rukun --help`
    from engine.language import loader

    return loader.read_definition_text(path)


# --------------------------------------------------------------------------- validate


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--strict",
    is_flag=True,
    help="Also check beyond syntax (fields no form fills, states where nobody can act, guards"
    " that can never hold, escalations to roles that cannot act); exit 1 on any warning.",
)
@json_option
def validate(paths: tuple[Path, ...], strict: bool, as_json: bool) -> None:
    """Check workflow definition files; print `OK <path>` or `path:line:col: message` lines."""
    from engine.language import parse_definition
    from engine.studio.checks import lint

    results: list[dict[str, Any]] = []
    for path in paths:
        result: dict[str, Any] = {"path": str(path), "ok": True, "problems": []}
        try:
            text = read_definition_text(path)
            parse_definition(text, str(path))
            if strict:
                result["warnings"] = [
                    {"path": w.path, "line": w.line, "col": w.col, "message": w.message}
                    for w in lint(text, str(path))
                ]
                result["ok"] = not result["warnings"]
        except DefinitionError as error:
            result.update(ok=False, problems=error.to_json()["problems"])
        results.append(result)
    failed = any(not r["ok"] for r in results)

    def human() -> Iterable[str]:
        for result in results:
            if result["ok"]:
                yield f"OK {result['path']}"
            for p in result["problems"]:
                yield f"{p['path']}:{p['line']}:{p['col']}: {p['message']}"
            for w in result.get("warnings", []):
                yield f"{w['path']}:{w['line']}:{w['col']}: warning: {w['message']}"

    emit(results, as_json, human)
    if failed:
        raise SystemExit(1)


# --------------------------------------------------------------------------- workflow


@click.group()
def workflow() -> None:
    """Publish and inspect workflow definitions."""


@workflow.command("publish")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "actor",
    default=None,
    help="Publishing user (program_officer or admin whose grant covers the program's regions);"
    " without it the installation itself publishes (deployment, the demo).",
)
@click.option("--note", default=None, help="Why this version: shown with it and in the log.")
@json_option
def workflow_publish(path: Path, actor: str | None, note: str | None, as_json: bool) -> None:
    """Validate PATH and publish it as a new version if its content changed; running
    cases stay on their version."""
    app = rukun_app()
    if actor is None:
        result = app.definitions.publish(path, "cli", note)
    else:
        result = app.studio.publish_text(read_definition_text(path), str(path), actor, note)
    emit(
        result.to_json(),
        as_json,
        lambda: [
            f"published {result.program} version {result.version} ({result.sha256[:12]})"
            if result.created
            else f"{result.program} unchanged: version {result.version} is current"
        ],
    )


@workflow.command("diff")
@click.argument("program")
@click.option(
    "--from", "from_version", type=int, default=None, help="Default: the published version."
)
@click.option("--to", "to_version", type=int, default=None, help="Default: the newest version.")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Compare with this file instead of a stored version.",
)
@click.option("--text", "show_text", is_flag=True, help="Also print the text diff of the YAML.")
@json_option
def workflow_diff(
    program: str,
    from_version: int | None,
    to_version: int | None,
    path: Path | None,
    show_text: bool,
    as_json: bool,
) -> None:
    """What changed between two versions of PROGRAM (or a version and a file): states,
    transitions, fields, params, guards, roles, labels, deadlines."""
    from engine.studio.diff import summary_lines

    if path is not None and to_version is not None:
        raise click.UsageError("give --to or --file, not both")
    text = read_definition_text(path) if path is not None else None
    result = rukun_app().studio.diff(program, from_version, to_version, text, str(path))
    structural = result["structural"]

    def human() -> Iterable[str]:
        yield f"{program}: version {result['from']} -> {result['to']}"
        yield from summary_lines(structural) or ["no changes"]
        if show_text:
            yield from result["text"]

    emit(structural, as_json, human)


@workflow.command("simulate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--subject", required=True, help="Region code of the imagined case's subject.")
@click.option(
    "--steps",
    "steps_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML list of {trigger, role, set: {field: value}, attach: [field]}.",
)
@click.option("--year", type=int, default=2026, show_default=True)
@json_option
def workflow_simulate(path: Path, subject: str, steps_path: Path, year: int, as_json: bool) -> None:
    """Try the definition at PATH on an imagined case: each step's result and every guard's
    outcome. Nothing is stored. Exit 0 if every step passes, 1 at the first refusal."""
    import yaml

    from engine.studio.simulation import parse_steps

    try:
        raw = yaml.safe_load(steps_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidData(f"{steps_path}: cannot read steps: {exc}") from exc
    steps = parse_steps(raw)
    results = rukun_app().studio.simulate(
        read_definition_text(path), subject, steps, year, source=str(path)
    )

    def human() -> Iterable[str]:
        for r in results:
            mark = "ok     " if r["ok"] else "REFUSED"
            move = f"{r['source']} -> {r['dest'] or '?'}"
            yield f"{r['step']:>2}. {mark} {r['trigger']} as {r['role']}: {move}"
            for g in r["guards"]:
                held = {True: "held", False: "FAILED", None: "waiting"}[g["ok"]]
                message = f" — {g['message']['en']}" if g.get("message") else ""
                yield f"      {g['guard']}: {held}{message}"
            if r["error"]:
                yield f"      {r['error']}"

    emit(results, as_json, human)
    if not results or not results[-1]["ok"] or len(results) < len(steps):
        raise SystemExit(1)


@workflow.command("impact")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def workflow_impact(path: Path, as_json: bool) -> None:
    """Running cases of the program that the definition at PATH would strand (their state is
    gone or final there, or only a "*" transition leaves it), with a proposed mapping."""
    result = rukun_app().studio.impact(read_definition_text(path), str(path))

    def human() -> Iterable[str]:
        stranded = result["stranded"]
        yield f"{result['program']}: {result['running']} running, {len(stranded)} stranded"
        for case in stranded:
            where = f"case {case['case_id']} v{case['version']} {case['state']}"
            yield f"  {where}: {case['problem']}; map to {case['proposed'] or '(choose a state)'}"

    emit(result, as_json, human)


@workflow.command("migrate")
@click.argument("program")
@click.option("--to", "to_version", type=int, required=True, help="Target version.")
@click.option("--from", "from_version", type=int, default=None, help="Only cases on this version.")
@click.option("--case", "case_ids", type=int, multiple=True, help="Only these cases (repeatable).")
@click.option("--state", "states", multiple=True, help="Only cases in these states (repeatable).")
@click.option("--region", default=None, help="Only cases within this region.")
@click.option("--map", "pairs", multiple=True, help="OLD=NEW state mapping (repeatable).")
@click.option("--dry-run", is_flag=True, help="Only say where each case would land.")
@click.option("--note", default="", help="Why the cases move (kept in each case's history).")
@click.option("--as", "actor", required=True, help="Migrating user (program_officer or admin).")
@json_option
def workflow_migrate(
    program: str,
    to_version: int,
    from_version: int | None,
    case_ids: tuple[int, ...],
    states: tuple[str, ...],
    region: str | None,
    pairs: tuple[str, ...],
    dry_run: bool,
    note: str,
    actor: str,
    as_json: bool,
) -> None:
    """Move running cases of PROGRAM to version --to. Every selected case is checked first;
    if one cannot move, nothing changes (exit 1). Each moved case gets a migration record."""
    from engine.studio.migration import Selection

    mapping = {old: new.strip() for old, new in parse_pairs(pairs, "--map", "OLD=NEW").items()}
    selection = Selection(from_version, case_ids, states, region)

    def progress(done: int, total: int) -> None:
        if total >= 50 and not as_json and (done % 50 == 0 or done == total):
            click.echo(f"migrated {done}/{total}", err=True)

    plan = rukun_app().studio.migrate(
        program, to_version, actor, selection, mapping, note, dry_run, progress
    )
    rows = [
        {
            k: r[k]
            for k in (
                "case_id",
                "ok",
                "from_version",
                "to_version",
                "from_state",
                "to_state",
                "error",
            )
        }
        for r in plan.rows
    ]

    def human() -> Iterable[str]:
        for r in rows:
            move = f"v{r['from_version']} {r['from_state']} -> v{r['to_version']} {r['to_state']}"
            if not r["ok"]:
                error = r["error"].removeprefix(f"case {r['case_id']} ")
                yield f"case {r['case_id']}: {error}"
            elif not plan.valid:
                yield f"case {r['case_id']}: could move {move}, but not alone"
            else:
                yield f"case {r['case_id']}: {'would move' if dry_run else 'moved'} {move}"
        if not plan.valid:
            yield "nothing was changed"

    emit(rows, as_json, human)
    if not all(r["ok"] for r in rows):
        raise SystemExit(1)


@workflow.command("list")
@json_option
def workflow_list(as_json: bool) -> None:
    """List every stored definition version."""
    rows = rukun_app().definitions.list()
    emit(
        rows,
        as_json,
        lambda: (
            [
                f"{r['program']:<14} v{r['version']:<3} {r['status']:<9} {r['sha256'][:12]}  "
                f"{r['published_at'] or '-'}  {r['published_by'] or '-'}"
                for r in rows
            ]
            or ["no workflows published"]
        ),
    )


@workflow.command("show")
@click.argument("program")
@click.option(
    "--version", "version", type=int, default=None, help="A specific version (default: published)."
)
@click.option("--source", is_flag=True, help="Print the YAML source as published.")
@json_option
def workflow_show(program: str, version: int | None, source: bool, as_json: bool) -> None:
    """Show a program's states and transitions (or its YAML source)."""
    from engine.runtime.definitions import version_json

    row, definition = rukun_app().definitions.get(program, version)
    if source and not as_json:
        click.echo(row.source, nl=False)
        return
    data = version_json(row, definition)
    data["transitions"] = [
        {
            "trigger": t.trigger,
            "source": list(t.sources),
            "dest": t.dest,
            "roles": list(t.roles),
            "form": list(t.form_fields),
            "guards": [g.name for g in t.guards],
        }
        for t in definition.transitions
    ]
    if source:
        data["source"] = row.source

    def human() -> Iterable[str]:
        yield f"{definition.title.en} — {program} v{row.version}"
        yield f"status: {row.status}, sha256 {row.sha256}"
        yield "states:"
        for s in definition.states:
            flag = " (initial)" if s.initial else " (final)" if s.final else ""
            yield f"  {s.name}{flag} — {s.label.en}"
        yield "transitions:"
        for t in definition.transitions:
            src = "*" if t.any_source else ",".join(t.sources)
            yield f"  {t.trigger}: {src} -> {t.dest}  [{', '.join(t.roles)}]"

    emit(data, as_json, human)
