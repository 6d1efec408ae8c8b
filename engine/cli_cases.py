"""`rukun case`: start, fire, show, list and verify cases."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from engine.cli_base import emit, fail, json_option, parse_pairs, rukun_app
from engine.errors import InvalidData, TransitionRefused
from engine.money import format_money, in_words


@click.group()
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
        result = app.cases.fire(case_id, trigger, actor, values, files, expect_version, view=True)
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
