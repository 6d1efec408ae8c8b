"""`rukun report`: the budget report, and the oversight figures of :mod:`engine.cli_oversight`."""

from __future__ import annotations

from collections.abc import Iterable

import click

from engine.cli_base import emit, json_option, rukun_app
from engine.cli_oversight import oversight
from engine.money import format_money


@click.group()
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


report.add_command(oversight)
