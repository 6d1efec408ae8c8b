"""Rows 1, 3 and 4: ``fire`` against the raw SQLAlchemy loop doing the same writes, its
per-step cost on a long history against a fresh case, and a bulk action (each case on its
own: its own transaction on PostgreSQL, its own savepoint in groups on SQLite) against the
same writes in one raw transaction. Every case is of the linear
program ``linear6``, about one RT, fired by its ketua RT."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.databases import ACTOR, bench_app
from benchmarks.floors import RawSteps
from benchmarks.seeding import published, seed_cases
from benchmarks.sizes import SIZES
from benchmarks.table import ROWS, Row, Target, paired, paired_in_slices, rate
from benchmarks.workflows import linear_yaml
from engine.runtime import Rukun
from engine.runtime.cases import BULK_GROUP

STEPS = 6
#: Steps in a row on one side of rows 1 and 3 before the other side takes its turn.
SLICE = 50
PROGRAM = f"linear{STEPS}"


@pytest.fixture(scope="module")
def app(backend: str, folder: Path) -> Iterator[Rukun]:
    with bench_app(backend, "fire", folder) as rukun:
        rukun.definitions.publish_text(linear_yaml(STEPS), f"{PROGRAM}.yaml", "bench")
        yield rukun


def _groups(app: Rukun, groups: int, size: int) -> list[list[int]]:
    ids = seed_cases(app, PROGRAM, groups * size)
    return [ids[i * size : (i + 1) * size] for i in range(groups)]


def _through(app: Rukun, case_ids: list[int]) -> None:
    for case_id in case_ids:
        for step in range(STEPS):
            app.cases.fire(case_id, f"t{step}", ACTOR)


@pytest.mark.parametrize("held", [False, True], ids=["per-call", "held-connection"])
def test_fire_against_raw_loop(app: Rukun, backend: str, held: bool) -> None:
    """Row 1 against the floor making each step as a call (a connection from the pool per
    step, as each ``fire`` takes one); for reference, without a target, against a loop
    holding one connection for all its steps."""
    raw = RawSteps(app.engine, published(app, PROGRAM))
    floor_loop = raw.each_in_own_transaction if held else raw.each_call_on_its_own
    per_round = max(1, SIZES.fire_steps // STEPS)
    mine = _groups(app, SIZES.rounds + 1, per_round)
    theirs = _groups(app, SIZES.rounds + 1, per_round)
    _through(app, mine.pop()[:2])  # caches warm, definitions parsed
    floor_loop(c for c in theirs.pop()[:2] for _ in range(STEPS))
    cases = max(1, SLICE // STEPS)  # cases a slice takes through all their steps
    slices = max(1, per_round // cases)

    def part(groups: list[list[int]], n: int, s: int) -> list[int]:
        return groups[n][s * cases : (s + 1) * cases]

    engine, floor = paired_in_slices(
        lambda n, s: _through(app, part(mine, n, s)),
        lambda n, s: floor_loop(c for c in part(theirs, n, s) for _ in range(STEPS)),
        SIZES.rounds,
        slices,
    )
    steps = min(per_round, slices * cases) * STEPS  # the steps the slices took
    how = "one connection held" if held else "a call per step"
    ROWS.append(
        Row(
            backend,
            1,
            f"fire vs raw SQLAlchemy loop, {how}",
            rate(steps, engine, "steps"),
            rate(steps, floor, "steps"),
            floor / engine,
            None if held else Target(0.7),
        )
    )


def test_fire_on_long_history_against_fresh_case(app: Rukun, backend: str) -> None:
    """The two cases take turns in slices of :data:`SLICE` steps within each round."""
    long_case, *fresh = seed_cases(app, PROGRAM, SIZES.rounds + 1)
    for _ in range(SIZES.long_history - 1):
        app.cases.fire(long_case, "note", ACTOR)
    size = min(SLICE, SIZES.long_steps)
    slices = max(1, SIZES.long_steps // size)

    def notes(case_id: int) -> None:
        for _ in range(size):
            app.cases.fire(case_id, "note", ACTOR)

    on_long, on_fresh = paired_in_slices(
        lambda _n, _s: notes(long_case), lambda n, _s: notes(fresh[n]), SIZES.rounds, slices
    )
    steps = size * slices
    ROWS.append(
        Row(
            backend,
            3,
            f"fire cost on {SIZES.long_history:,} records vs fresh case",
            rate(steps, on_long, "steps"),
            rate(steps, on_fresh, "steps"),
            on_long / on_fresh,
            Target(1.1, at_least=False),
        )
    )


def test_bulk_action_against_one_raw_transaction(app: Rukun, backend: str) -> None:
    raw = RawSteps(app.engine, published(app, PROGRAM))
    size = SIZES.bulk_cases
    mine = _groups(app, SIZES.bulk_rounds, size)
    theirs = _groups(app, SIZES.bulk_rounds, size)

    def bulk(n: int) -> None:
        results = app.cases.fire_many(mine[n], "t0", ACTOR)
        assert all(r["ok"] for r in results), [r for r in results if not r["ok"]][:1]

    engine, floor = paired(bulk, lambda n: raw.all_in_one_transaction(theirs[n]), SIZES.bulk_rounds)
    ROWS.append(
        Row(
            backend,
            4,
            f"bulk fire_many on {size:,} cases vs one raw transaction",
            rate(size, engine, "cases"),
            rate(size, floor, "cases"),
            floor / engine,
            Target(0.5),
        )
    )
    # for reference, without a target: the raw loop committing as the bulk action does (each
    # case its own transaction; on SQLite in groups, each case its own savepoint), i.e. what
    # the backend's commits cost apart from the engine
    if backend == "sqlite":
        apart_loop, how = (lambda ids: raw.in_groups(ids, BULK_GROUP)), "groups of savepoints"
    else:
        apart_loop, how = raw.each_in_own_transaction, "a transaction per case"
    apart, together = _groups(app, SIZES.bulk_rounds, size), _groups(app, SIZES.bulk_rounds, size)
    each, one = paired(
        lambda n: apart_loop(apart[n]),
        lambda n: raw.all_in_one_transaction(together[n]),
        SIZES.bulk_rounds,
    )
    ROWS.append(
        Row(
            backend,
            4,
            f"raw loop, {how}, vs one raw transaction",
            rate(size, each, "cases"),
            rate(size, one, "cases"),
            one / each,
        )
    )
