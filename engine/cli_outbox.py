"""`rukun outbox` and `rukun webhook`: the events of the history handed out to webhooks
(signed, retried with backoff) and to the notifications."""

from __future__ import annotations

import functools
import time
from typing import Any

import click

from engine.cli_base import emit, json_option, rukun_app

AS_HELP = "The admin asking (checked); none: the command line."


@click.group()
def outbox() -> None:
    """The outbox of events (every history record): handed out once, webhooks sent."""


@outbox.command("deliver")
@click.option(
    "--every",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Keep delivering, a round every SECONDS, until interrupted.",
)
@json_option
def outbox_deliver(every: float | None, as_json: bool) -> None:
    """Hand out the new events and send the webhook deliveries that are due. Safe to run
    in several processes at once (from cron or a timer, like `rukun tick`)."""
    app = rukun_app()
    while True:
        result = app.outbox.deliver()
        emit(result, as_json, functools.partial(_summary, result))
        if every is None:
            return
        time.sleep(max(every, 0.1))


def _summary(result: dict[str, Any]) -> list[str]:
    lines = [
        f"{result['events']} events handed out; deliveries: {result['delivered']} delivered,"
        f" {result['retrying']} to retry, {result['failed']} given up"
    ]
    mailed = result.get("emails")
    if mailed:
        lines.append(
            f"e-mails: {mailed['sent']} sent, {mailed['retrying']} to retry,"
            f" {mailed['failed']} given up"
        )
    return lines


@click.group()
def webhook() -> None:
    """URLs that receive each event as JSON, signed X-Rukun-Signature: sha256=<HMAC>."""


@webhook.command("add")
@click.argument("url")
@click.option("--secret", required=True, help="Shared with the receiver (16-200 characters).")
@click.option("--program", default=None, help="Only this program's events (default: all).")
@click.option("--as", "by", default=None, help=AS_HELP)
@json_option
def webhook_add(url: str, secret: str, program: str | None, by: str | None, as_json: bool) -> None:
    """Send every new event (of --program) to URL, from the next `rukun outbox deliver`."""
    result = rukun_app().outbox.add_webhook(url, secret, program, by)
    emit(result, as_json, lambda: [f"webhook {result['id']}: {_line(result)}"])


@webhook.command("list")
@click.option("--as", "by", default=None, help=AS_HELP)
@json_option
def webhook_list(by: str | None, as_json: bool) -> None:
    """Every webhook, with its deliveries counted by status."""
    rows = rukun_app().outbox.webhooks(by)
    emit(rows, as_json, lambda: [_line(r) for r in rows] or ["no webhooks"])


@webhook.command("remove")
@click.argument("webhook_id", type=int)
@click.option("--as", "by", default=None, help=AS_HELP)
@json_option
def webhook_remove(webhook_id: int, by: str | None, as_json: bool) -> None:
    """Stop sending to WEBHOOK_ID (what it has not received yet is dropped)."""
    result = rukun_app().outbox.remove_webhook(webhook_id, by)
    emit(result, as_json, lambda: [f"removed: {_line(result)}"])


def _line(row: dict[str, Any]) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(row.get("deliveries", {}).items()))
    removed = f"  removed {row['removed_at']}" if row["removed_at"] else ""
    return f"{row['id']:>4}  {row['url']}  {row['program'] or 'all programs'}{removed}" + (
        f"  ({counts})" if counts else ""
    )
