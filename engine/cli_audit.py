"""``rukun audit``: replay a case, verify the whole database (or a program, or a case),
take and list anchors. Exit codes as everywhere: 0 everything matches, 1 a divergence or
problem was found (each named), 2 usage (a malformed time), 5 not found."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import click

from engine.cli_base import emit, json_option, rukun_app

WITA = dt.timezone(dt.timedelta(hours=8))


class Moment(click.ParamType):
    """An ISO 8601 time; without a zone it is read as WITA (UTC+8, as the screens show
    times); a date alone means the end of that day."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                return dt.datetime.combine(day, dt.time.max, WITA).astimezone(dt.UTC)
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 time (e.g. 2026-03-01, 2026-03-01T10:00, "
                "2026-03-01T02:00:00Z)",
                param,
                ctx,
            )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=WITA)
        return moment.astimezone(dt.UTC)


@click.group()
def audit() -> None:
    """Auditors' tools: replay and verify histories, anchors."""


@audit.command("replay")
@click.argument("case_id", type=int)
@click.option(
    "--at", "at", type=Moment(), default=None, help="The moment to replay to (default: now)."
)
@click.option(
    "--as", "viewer", default=None, help="Replay as this user (scope; personal data per role)."
)
@json_option
def audit_replay(case_id: int, at: dt.datetime | None, viewer: str | None, as_json: bool) -> None:
    """Rebuild a case from its records alone under the definition version pinned at each
    step, re-evaluating guards and roles as they stood; exit 1 on any divergence."""
    result = rukun_app().audit.replay(case_id, at, viewer)
    emit(result, as_json, lambda: _replay_lines(result))
    if result["divergences"]:
        raise SystemExit(1)


def _replay_lines(result: dict[str, Any]) -> Iterable[str]:
    for step in result["steps"]:
        checks = ", ".join(
            f"{name} {'ok' if step[key] else 'FAILED'}"
            for name, key in (("role", "role_ok"), ("guards", "guards_ok"), ("record", "matches"))
        )
        yield (
            f"#{step['seq']} {step['at']} {step['trigger']}: {step['source'] or '-'} -> "
            f"{step['dest']} by {step['actor']} ({step['role'] or '-'}) "
            f"v{step['definition_version']}; {checks}"
        )
    when = result["at"] or "now"
    totals = result["ledger"]["totals"]
    yield (
        f"case {result['case_id']} at {when}: state {result['state']}, version "
        f"{result['version']}, definition v{result['definition_version']}; approved "
        f"{totals['approved']}, disbursed {totals['disbursed']}, spent {totals['spent']}"
    )
    if result["old_rule_records"]:
        yield (
            f"records {', '.join(map(str, result['old_rule_records']))} were written under "
            "chain rule 1: their ledger and links were derived again, not read from the hash"
        )
    for d in result["divergences"]:
        yield (
            f"case {result['case_id']} seq {d['seq'] if d['seq'] is not None else '-'}: "
            f"{d['field']}: stored {json.dumps(d['stored'], default=str)}, replayed "
            f"{json.dumps(d['replayed'], default=str)}"
        )
    if not result["divergences"]:
        yield "replay matches the stored case"


@audit.command("verify")
@click.option("--case", "case_id", type=int, default=None, help="Only this case.")
@click.option("--program", default=None, help="Only this program's cases.")
@click.option(
    "--anchor", default=None, help="Also prove every record this anchor digest covers is intact."
)
@click.option(
    "--as", "viewer", default=None, help="Verify as this auditor: only cases in their scope."
)
@json_option
def audit_verify(
    case_id: int | None,
    program: str | None,
    anchor: str | None,
    viewer: str | None,
    as_json: bool,
) -> None:
    """Verify every chain, every case row, ledger and links against the history, every
    document file; one line per problem (`case N seq S: reason`), then a summary. Exit 1
    if anything is wrong."""
    verifier = rukun_app().audit.verifier(case_id, program, anchor, viewer=viewer)
    problems = []
    for finding in verifier.run():
        if as_json:
            problems.append(finding.to_json())
        else:
            click.echo(str(finding))
    summary = verifier.summary
    if as_json:
        click.echo(json.dumps({"problems": problems, "summary": summary.to_json()}, indent=2))
    else:
        for line in summary.lines():
            click.echo(line)
    if not summary.intact:
        raise SystemExit(1)


@audit.command("anchor")
@click.option("--as", "actor", default="system", help="Who takes it (recorded).")
@json_option
def audit_anchor(actor: str, as_json: bool) -> None:
    """Store and print a digest (Merkle root) over every case's chain head: publish it; later
    `rukun audit verify --anchor DIGEST` proves nothing it covers was changed or cut."""
    taken = rukun_app().audit.anchor(actor)
    emit(
        taken,
        as_json,
        lambda: [
            f"anchor {taken['digest']}",
            f"taken {taken['at']} by {taken['created_by']}: {taken['cases']} case(s), "
            f"{taken['records']} record(s)",
        ],
    )


@audit.command("anchors")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@json_option
def audit_anchors(limit: int, as_json: bool) -> None:
    """The latest anchors, newest first."""
    rows = rukun_app().audit.anchors(limit)
    emit(
        rows,
        as_json,
        lambda: (
            [f"{a['digest']} {a['at']} {a['cases']} case(s) {a['records']} record(s)" for a in rows]
            or ["no anchors yet: take one with `rukun audit anchor`"]
        ),
    )
