"""`rukun user`: users, their grants and passwords, and the sign-in log."""

from __future__ import annotations

import sys
from typing import Any

import click

from engine.cli_base import emit, json_option, rukun_app


@click.group()
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
@click.option("--email", default=None, help="Where the user's notification e-mails go.")
@json_option
def user_add(
    name: str,
    role: str,
    regions: tuple[str, ...],
    password_stdin: bool,
    email: str | None,
    as_json: bool,
) -> None:
    """Create a user with a role, optionally limited to regions."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    result = rukun_app().users.add(name, role, regions, password, email=email)
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


@user.command("email")
@click.argument("name")
@click.argument("address")
@json_option
def user_email(name: str, address: str, as_json: bool) -> None:
    """Set the address NAME's notification e-mails go to ("" removes it: the bell only)."""
    result = rukun_app().users.set_email(name, address)
    emit(
        result,
        as_json,
        lambda: [
            f"e-mail of {name}: {result['email']}" if result["email"] else f"{name} has no e-mail"
        ],
    )


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
            + (f" <{u['email']}>" if u["email"] else "")
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
