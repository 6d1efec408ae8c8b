"""`rukun report oversight`: a program's oversight figures (cases by state, time in state,
revision and rejection rates, money) as text tables, JSON, or one table as CSV."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import click

from engine.audit.vocabulary import TABLES
from engine.cli_base import emit, json_option, rukun_app
from engine.money import format_money

#: A text table's column: title and width (negative: left-aligned).
Column = tuple[str, int]


@click.command("oversight")
@click.option("--program", required=True, help="Program name (e.g. probebaya).")
@click.option("--year", type=int, default=None, help="Fiscal year (default: every year).")
@click.option(
    "--region", default=None, metavar="CODE", help="Only cases within this region (any level)."
)
@click.option(
    "--as", "viewer", required=True, metavar="USER", help="The user asking; scope applies."
)
@click.option(
    "--csv",
    "csv_table",
    type=click.Choice(list(TABLES)),
    default=None,
    help="Print this table as CSV instead.",
)
@json_option
def oversight(
    program: str,
    year: int | None,
    region: str | None,
    viewer: str,
    csv_table: str | None,
    as_json: bool,
) -> None:
    """Oversight figures of a program within USER's region scope (roles auditor,
    program_officer, city, skpd, dinsos, admin): cases by state, time in each state
    (median, p90), revision and rejection rates, overdue cases, and money approved,
    disbursed and accounted for (LPJ accepted), per region."""
    if csv_table and as_json:
        raise click.UsageError("--csv and --json exclude each other")
    from engine.audit.statistics import Oversight, table_csv

    figures = Oversight(rukun_app().context).figures(viewer, program, year, region)
    if csv_table:
        click.echo(table_csv(figures, csv_table), nl=False)
        return
    emit(figures, as_json, lambda: _report(figures))


def _report(figures: Mapping[str, Any]) -> Iterator[str]:
    """The figures as a few aligned text tables."""
    where = f"within {figures['region']}" if figures["region"] else "all regions"
    yield (
        f"{figures['program']} {figures['year'] or 'all years'}, {where}: "
        f"{figures['cases']} cases (as of {figures['as_of']})"
    )
    yield ""
    yield from _table(
        [("state", -20), ("label", -36), ("cases", 6), ("overdue", 8)],
        (
            [s["state"], s["label"]["en"], str(s["count"]), str(s["overdue"])]
            for s in figures["states"]
        ),
    )
    yield ""
    yield from _table(
        [("state", -20), ("entries", 8), ("median days", 12), ("p90 days", 9)],
        (
            [t["state"], str(t["entries"]), _days(t["median_days"]), _days(t["p90_days"])]
            for t in figures["time_in_state"]
        ),
    )
    rates, money = figures["rates"], figures["money"]
    yield ""
    yield (
        f"revised {rates['revised']} of {figures['cases']} ({rates['revision_rate']:.1%}); "
        f"decided {rates['decided']}: rejected {rates['rejected']} "
        f"({rates['rejection_rate']:.1%}), cancelled {rates['cancelled']}"
    )
    yield (
        f"RAB {format_money(money['budget'])}, approved {format_money(money['approved'])}, "
        f"disbursed {format_money(money['disbursed'])}, "
        f"accounted {format_money(money['accounted'])}"
    )
    yield ""
    yield from _table(
        [
            (figures["level"], -16),
            ("name", -24),
            ("cases", 6),
            ("approved", 19),
            ("disbursed", 19),
            ("accounted", 19),
        ],
        (
            [
                r["region"],
                r["name"],
                str(r["cases"]),
                *(format_money(r[c]) for c in ("approved", "disbursed", "accounted")),
            ]
            for r in figures["by_region"]
        ),
    )


def _table(columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """A header line and one line per row, each cell cut or padded to its column."""
    for cells in [[title for title, _ in columns], *rows]:
        yield " ".join(
            f"{cell[: abs(width)]:<{-width}}" if width < 0 else f"{cell:>{width}}"
            for cell, (_, width) in zip(cells, columns, strict=True)
        ).rstrip()


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
