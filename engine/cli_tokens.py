"""`rukun token`: API tokens, made (the secret printed once), listed and revoked."""

from __future__ import annotations

from typing import Any

import click

from engine.cli_base import emit, json_option, rukun_app

AS_HELP = "The user asking (checked: the token's user or an admin); none: the command line."


@click.group()
def token() -> None:
    """API tokens (Authorization: Bearer) that act in a user's name."""


@token.command("create")
@click.argument("user")
@click.option("--name", default=None, help="What the token is for (default: api).")
@click.option(
    "--expires",
    "days",
    type=int,
    default=None,
    metavar="DAYS",
    help="Days until it stops working (1-3650; default 90).",
)
@click.option("--no-expiry", is_flag=True, help="Valid until revoked.")
@click.option("--as", "by", default=None, help=AS_HELP)
@json_option
def token_create(
    user: str, name: str | None, days: int | None, no_expiry: bool, by: str | None, as_json: bool
) -> None:
    """Make a token for USER and print its secret: this once, never again."""
    from engine.runtime.tokens import DEFAULT_DAYS

    if no_expiry and days is not None:
        raise click.UsageError("--expires and --no-expiry exclude each other")
    lifetime = None if no_expiry else (DEFAULT_DAYS if days is None else days)
    result = rukun_app().tokens.create(user, name, lifetime, by)
    emit(
        result,
        as_json,
        lambda: [
            result["token"],
            f"token {result['id']} ({result['name']}) for {user}, "
            + (f"expires {result['expires_at']}" if result["expires_at"] else "no expiry")
            + ": store it now, it is not shown again",
        ],
    )


@token.command("list")
@click.argument("user", required=False)
@click.option("--as", "by", default=None, help=AS_HELP)
@json_option
def token_list(user: str | None, by: str | None, as_json: bool) -> None:
    """List the tokens of USER (default: everyone's), newest first, without secrets."""
    rows = rukun_app().tokens.list(user, by)
    emit(rows, as_json, lambda: [_line(r) for r in rows] or ["no tokens"])


@token.command("revoke")
@click.argument("token_id", type=int)
@click.option("--as", "by", default=None, help=AS_HELP)
@json_option
def token_revoke(token_id: int, by: str | None, as_json: bool) -> None:
    """Revoke token TOKEN_ID: requests with it are refused from now on."""
    result = rukun_app().tokens.revoke(token_id, by)
    emit(result, as_json, lambda: [f"revoked: {_line(result)}"])


def _line(row: dict[str, Any]) -> str:
    used = row["last_used_at"] or "never"
    expires = row["expires_at"] or "no expiry"
    return (
        f"{row['id']:>4}  {row['prefix']}…  {row['user']}  {row['name']}  {row['status']}"
        f"  expires {expires}  last used {used}"
    )
