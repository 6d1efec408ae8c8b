"""The ``rukun`` command line: thin — parse arguments, call the runtime, print. Here: the root
command, the database, `tick`, `demo` and `bench`. Each other group has its own module:
:mod:`engine.cli_regions`, :mod:`engine.cli_users`, :mod:`engine.cli_cases`,
:mod:`engine.cli_reports` (with :mod:`engine.cli_oversight`), :mod:`engine.cli_audit` (with
:mod:`engine.cli_export`), :mod:`engine.cli_documents`, :mod:`engine.cli_workflow`
(definitions and the studio), :mod:`engine.cli_backup`; the plumbing they share is in
:mod:`engine.cli_base`.

Exit codes (every command): 0 done; 1 invalid definition, refused by a guard or invalid
data; 2 usage error; 3 forbidden; 4 conflict; 5 not found.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path

import click

from engine.cli_backup import db_backup, db_restore
from engine.cli_base import RukunGroup, emit, json_option, listen_options, rukun_app

# --------------------------------------------------------------------------- root

#: The commands of the other modules, each imported when the command line names it.
COMMANDS = {
    "validate": "engine.cli_workflow:validate",
    "workflow": "engine.cli_workflow:workflow",
    "region": "engine.cli_regions:region",
    "user": "engine.cli_users:user",
    "token": "engine.cli_tokens:token",
    "notify": "engine.cli_notify:notify",
    "outbox": "engine.cli_outbox:outbox",
    "webhook": "engine.cli_outbox:webhook",
    "case": "engine.cli_cases:case",
    "report": "engine.cli_reports:report",
    # cli_audit's group, with the export, bundle and check-bundle that cli_export adds to it
    "audit": "engine.cli_export:audit",
    "documents": "engine.cli_documents:documents",
}


@click.group(
    cls=RukunGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
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


class CannotListen(click.ClickException):
    """The UI cannot listen where it was asked to: one line naming the address and the
    option that changes it, exit 2 (a usage error), before any line saying it serves."""

    exit_code = 2


def cannot_listen(host: str, port: int, error: OSError) -> CannotListen:
    """What a failed bind of ``host``:``port`` tells the user."""
    if error.errno == errno.EADDRINUSE:
        return CannotListen(
            f"port {port} on {host} is already in use: choose another with --port "
            f"(e.g. --port {port + 1 if port < 65535 else 8000})"
        )
    if error.errno == errno.EACCES:
        return CannotListen(
            f"port {port} on {host} is not open to this user: choose another with --port "
            "(above 1023)"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return CannotListen(
            f"{host} is not an address of this machine: choose another with --host "
            "(e.g. --host 127.0.0.1)"
        )
    return CannotListen(f"cannot listen on {host} port {port}: {error.strerror} (--host, --port)")


def no_such_host(host: str) -> CannotListen:
    return CannotListen(
        f"cannot listen on {host}: no such host; choose another with --host (e.g. --host 127.0.0.1)"
    )


def check_listen(host: str, port: int) -> None:
    """Bind ``host``:``port`` as the server will (every address the host names, with
    SO_REUSEADDR, IPv6 sockets IPv6 only) and let go at once: a taken port is told before
    anything is seeded. The server's own bind may still lose a race; it says the same."""
    import socket

    try:
        addresses = socket.getaddrinfo(
            None if host == "*" else host,
            port,
            socket.AF_UNSPEC,
            socket.SOCK_STREAM,
            socket.IPPROTO_TCP,
            socket.AI_PASSIVE,
        )
    except socket.gaierror:
        raise no_such_host(host) from None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise cannot_listen(host, port, error) from None


@main.command()
@click.option(
    "--year",
    type=int,
    default=None,
    help="Fiscal year of the demo case (default: this year; a demo reused keeps its own).",
)
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Serve the operator UI afterwards (when the web package is installed).",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Also seed N cases with histories of about 10 records across the four programs "
    "(for benchmarks and load tests; nothing again when the database has them).",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Start over: remove the demo's database (a SQLite file it seeded, and the "
    "documents that file lists) first; refused for any other database.",
)
@listen_options
@click.pass_context
def demo(
    ctx: click.Context,
    year: int | None,
    serve: bool,
    scale: int | None,
    reset: bool,
    host: str,
    port: int,
) -> None:
    """Demo on the embedded database: migrate, publish workflows/*.yaml, load the four
    cities with demo RTs, groups and users, run a Probebaya case end to end (a refusal, a
    revision, tranches and LPJs) and print its history; with --scale, seed that many more
    cases; then print new passwords for the demo users and serve the UI.

    Run again, it reuses the database when it holds a complete demo, and starts over by
    itself when an earlier run stopped before it finished (the demo's own SQLite file
    only); --reset starts over in any case. The port is checked before anything is seeded.
    """
    from engine.demo import DemoDatabase, DemoState, demo_passwords, run_demo
    from engine.settings import Settings

    server = main.get_command(ctx, "serve")  # None without the web package
    if serve and server is not None:
        check_listen(host, port)
    database = DemoDatabase(Settings.from_env())
    state = database.prepare(reset, click.echo)
    app = rukun_app(check=False)
    if state is DemoState.EMPTY:
        database.claim(app)
    if scale is not None:
        from engine.demo_scale import run_scaled_demo

        run_scaled_demo(app, year, scale, click.echo)
    elif state is DemoState.EMPTY:
        run_demo(app, year, click.echo)
    else:
        app.upgrade()
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
    if server is None:
        return
    if not serve:
        click.echo("`rukun serve` serves the UI (`rukun demo` again: the same data, new passwords)")
        return
    ctx.invoke(server, host=host, port=port)


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--small",
    is_flag=True,
    help="Shrink every size (RUKUN_BENCH_SCALE=small): proves the bench works in a minute "
    "or two, too small to judge speed.",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def bench(small: bool, pytest_args: tuple[str, ...]) -> None:
    """Run the benchmarks in benchmarks/ (a source checkout with the test extras) on SQLite
    and on PostgreSQL when RUKUN_TEST_DATABASE_URL is set (a schema of their own in it), and
    print one table: each row a ratio of rukun against its floor measured in this run on
    the same database, with its target and whether it is met. See benchmarks/RESULTS.md;
    PYTEST_ARGS go to pytest (e.g. -k verify)."""
    import subprocess

    folder = Path(__file__).resolve().parent.parent / "benchmarks"
    if not folder.is_dir():
        raise click.UsageError(f"no benchmarks at {folder} (run from a source checkout)")
    command = [sys.executable, "-m", "pytest", str(folder), "-p", "no:xdist", "-q"]
    environment = dict(os.environ)
    if small:
        environment["RUKUN_BENCH_SCALE"] = "small"
    done = subprocess.run([*command, *pytest_args], cwd=folder.parent, env=environment)
    raise SystemExit(done.returncode)


if __name__ == "__main__":  # pragma: no cover
    main()
