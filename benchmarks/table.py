"""The one table ``rukun bench`` prints: each row a ratio of the engine against its floor,
measured in the same run on the same database, with its target and whether it is met
(targets are printed, never asserted)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.databases import BACKENDS


@dataclass(frozen=True)
class Target:
    """``ratio >= value`` (``at_least``) or ``ratio <= value``."""

    value: float
    at_least: bool = True

    def met(self, ratio: float) -> bool:
        return ratio >= self.value if self.at_least else ratio <= self.value

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.value:g}x"


@dataclass(frozen=True)
class Row:
    backend: str
    #: The issue's row number (1 to 6); rows of the same number sort together.
    number: int
    measurement: str
    rukun: str
    floor: str
    ratio: float
    target: Target | None = None


#: Every row measured in this run, in the order measured.
ROWS: list[Row] = []

COLUMNS = (("backend", 11), ("#", 3), ("measurement", 62), ("rukun", 18), ("floor", 18))


def render(rows: list[Row]) -> list[str]:
    """The table's lines, by row number then backend."""
    backends = [*BACKENDS, "memory"]  # "memory": a row that touches no database
    order = sorted(rows, key=lambda r: (r.number, backends.index(r.backend)))
    head = "".join(f"{name:<{width}}" for name, width in COLUMNS)
    lines = [f"{head}{'ratio':>9}  {'target':<9}met"]
    for row in order:
        cells = (row.backend, str(row.number), row.measurement, row.rukun, row.floor)
        left = "".join(  # a cell too long for its column still ends in a space
            f"{cell:<{width - 1}} " for cell, (_, width) in zip(cells, COLUMNS, strict=True)
        )
        target = str(row.target) if row.target else "-"
        met = ("yes" if row.target.met(row.ratio) else "NO") if row.target else "-"
        lines.append(f"{left}{row.ratio:>8.2f}x  {target:<9}{met}")
    return lines


def rate(count: float, seconds: float, unit: str) -> str:
    return f"{count / seconds:,.0f} {unit}/s"


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def paired(
    rukun: Callable[[int], float | None],
    floor: Callable[[int], float | None],
    rounds: int,
) -> tuple[float, float]:
    """Median seconds of ``rukun(round)`` and of ``floor(round)`` over ``rounds`` rounds,
    taking turns (which goes first alternates, so drift on a shared machine hits both);
    a call may return its own measured seconds (work it must not count left out)."""
    mine: list[float] = []
    theirs: list[float] = []
    for number in range(rounds):
        pair = ((rukun, mine), (floor, theirs))
        for call, times in pair if number % 2 == 0 else reversed(pair):
            started = time.perf_counter()
            measured = call(number)
            times.append(time.perf_counter() - started if measured is None else measured)
    return statistics.median(mine), statistics.median(theirs)


def paired_in_slices(
    rukun: Callable[[int, int], None],
    floor: Callable[[int, int], None],
    rounds: int,
    slices: int,
) -> tuple[float, float]:
    """Median seconds per round of ``rukun(round, slice)`` and ``floor(round, slice)``
    summed over ``slices`` slices, the two sides taking turns slice by slice (which goes
    first alternating): a garbage collection or a WAL checkpoint then lands on both alike,
    where whole rounds of one side, then the other, let short rows scatter by ±10% from
    run to run."""
    mine: list[float] = []
    theirs: list[float] = []
    for number in range(rounds):
        spent = {"rukun": 0.0, "floor": 0.0}
        for part in range(slices):
            pair = (("rukun", rukun), ("floor", floor))
            for side, call in pair if (number + part) % 2 == 0 else reversed(pair):
                started = time.perf_counter()
                call(number, part)
                spent[side] += time.perf_counter() - started
        mine.append(spent["rukun"])
        theirs.append(spent["floor"])
    return statistics.median(mine), statistics.median(theirs)
