"""`rukun notify`: sending the notification e-mails that are due, and reading a user's
notifications (the bell's, on the command line)."""

from __future__ import annotations

import click

from engine.cli_base import emit, json_option, rukun_app


@click.group()
def notify() -> None:
    """Notifications: the bell of each user, and e-mail through RUKUN_SMTP_URL."""


@notify.command("send")
@json_option
def notify_send(as_json: bool) -> None:
    """Send the notification e-mails that are due (`rukun outbox deliver` does it too; run
    either from cron). A mail server that fails is tried again later; nothing is lost."""
    result = rukun_app().notifications.send_emails()
    if not result["enabled"]:
        lines = ["e-mail is off: RUKUN_SMTP_URL is not set (notifications are on the bell only)"]
    else:
        lines = [f"sent {result['sent']}, to retry {result['retrying']}, failed {result['failed']}"]
    emit(result, as_json, lambda: lines)


@notify.command("list")
@click.argument("user")
@click.option("--unread", is_flag=True, help="Only those not read yet.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@json_option
def notify_list(user: str, unread: bool, limit: int, as_json: bool) -> None:
    """USER's notifications, newest first (as the bell shows them, in Indonesian)."""
    rows = rukun_app().notifications.list(user, unread_only=unread, limit=limit)
    emit(
        rows,
        as_json,
        lambda: (
            [
                f"{r['id']:>5}  {r['created_at']}  {' ' if r['read'] else '*'} {r['kind']:<9} "
                f"{r['title']['id']}"
                for r in rows
            ]
            or ["no notifications"]
        ),
    )
