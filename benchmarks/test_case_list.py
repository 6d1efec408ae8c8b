"""Row 6: the case list and the inbox on 1k and on 100k cases, against the raw-database
floor and against themselves.

Seeds the cases of the four programs over the demo regions with SQLAlchemy Core (valid
definition versions, subjects, states and deadlines), on SQLite and, when
``RUKUN_TEST_DATABASE_URL`` is set, on PostgreSQL. Each measurement times one engine call
(a page of 50; median and p95 of ``SIZES.list_rounds`` calls, taking turns on the two
databases) and the floor: the SELECTs
on ``cases`` that call sent, run again with the same parameters straight on the driver's
cursor (no ORM, no JSON, no actor or definition lookups). The table gets, per measurement,
engine / floor on the large database and its p95 on the large / on the small one.
Run with ``rukun bench`` (sizes: :mod:`benchmarks.sizes`)."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from benchmarks.databases import BACKENDS, bench_app
from benchmarks.sizes import SIZES
from benchmarks.table import ROWS, Row, Target, milliseconds
from engine.language.model import StateSpec
from engine.language.roles import SUBJECTS
from engine.runtime import Rukun
from engine.runtime.queries import Cursor
from engine.store.models import Case, DefinitionVersion, Region

ROOT = Path(__file__).resolve().parent.parent
PAGE = 50
ROUNDS = SIZES.list_rounds
NOW = dt.datetime.now(dt.UTC)
SIZES_SEEDED = (SIZES.list_small, SIZES.list_large)


@dataclass
class Seeded:
    app: Rukun
    backend: str
    city: str  # a city user (Samarinda)
    kelurahan: str  # a kelurahan user in Samarinda
    kelurahan_code: str
    search: str  # part of many subjects' names
    cases: int


def seed(app: Rukun, count: int) -> None:
    """``count`` cases spread over the four programs' subjects, states, years and times."""
    rng = random.Random(20261125)
    with app.context.sessions() as session:
        versions = list(session.scalars(select(DefinitionVersion)))
        regions = list(session.scalars(select(Region)))
    plans = []
    for version in versions:
        definition = app.context.definition(version)
        level = SUBJECTS[definition.subject]
        subjects = [
            r
            for r in regions
            if r.level == level
            and (not definition.regions or set(definition.regions) & set(r.ancestor_codes))
        ]
        plans.append((version, definition, subjects))
    rows = []
    for _ in range(count):
        version, definition, subjects = rng.choice(plans)
        subject = rng.choice(subjects)
        state = rng.choice(definition.states)
        updated = NOW - dt.timedelta(seconds=rng.randrange(2 * 365 * 86400))
        rows.append(
            {
                "program": version.program,
                "definition_version_id": version.id,
                "subject_code": subject.code,
                "region_path": subject.path,
                "year": rng.randrange(2024, 2028),
                "state": state.name,
                "data": {},
                "version": 1,
                "created_at": updated - dt.timedelta(days=rng.randrange(90)),
                "created_by": "bench",
                "updated_at": updated,
                "state_entered_at": updated,
                "due_at": _due(state, updated),
            }
        )
    with app.engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(Case), rows[start : start + 10_000])
    if app.engine.dialect.name == "postgresql":
        # what autovacuum does soon after a bulk load in production: without statistics the
        # planner guesses row counts and sorts where an index scan would stop at 50 rows
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")


def _due(state: StateSpec, entered: dt.datetime) -> dt.datetime | None:
    """The state's deadline; working days approximated as 7/5 calendar days (the holiday
    calendar only covers recent years, the seeded cases go back two)."""
    if state.deadline is None:
        return None
    days = state.deadline.days or (state.deadline.working_days or 0) * 7 // 5
    return entered + dt.timedelta(days=days)


@contextmanager
def seeded_database(backend: str, cases: int, folder: Path) -> Iterator[Seeded]:
    """A database of ``backend`` with the four programs and ``cases`` cases, a city user and
    a kelurahan user."""
    with bench_app(backend, f"list_{cases}", folder) as app:
        for path in sorted((ROOT / "workflows").glob("*.yaml")):
            app.definitions.publish(path, "bench")
        started = time.perf_counter()
        seed(app, cases)
        print(f"\nseeded {cases} cases on {backend} in {time.perf_counter() - started:.1f}s")
        kelurahan = sorted(
            r["code"] for r in app.regions.list(level="kelurahan") if r["code"].startswith("64.72.")
        )[0]
        app.users.add("bench_city", "city", ["64.72"])
        app.users.add("bench_kelurahan", "kelurahan", [kelurahan])
        yield Seeded(app, backend, "bench_city", "bench_kelurahan", kelurahan, "RW 002", cases)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Seeded, Seeded]]:
    """The small and the large database of a backend, open side by side so that each
    measurement's calls on the two can take turns."""
    backend = request.param
    folder = tmp_path_factory.mktemp(f"bench-{backend}")
    with ExitStack() as stack:
        small, large = (
            stack.enter_context(seeded_database(backend, n, folder)) for n in SIZES_SEEDED
        )
        yield small, large


@contextmanager
def captured(app: Rukun) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs on cases an engine call sends, with their driver-level parameters."""
    found: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "FROM cases" in statement and "LIMIT" in statement:
            found.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        yield found
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)


def floor(app: Rukun, statements: list[tuple[str, Any]], rounds: int = ROUNDS) -> float:
    """Median seconds to run ``statements`` on a raw driver cursor and fetch every row."""
    connection = app.engine.raw_connection()
    try:
        times = []
        for _ in range(rounds + 2):
            started = time.perf_counter()
            cursor = connection.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                cursor.fetchall()
            cursor.close()
            times.append(time.perf_counter() - started)
        return statistics.median(times[2:])
    finally:
        connection.close()


def deep_cursor(seeded: Seeded, sort_column: str, offset: int) -> str:
    """The cursor after the ``offset``-th case of the city's list sorted by descending
    ``sort_column`` (found once with OFFSET, as a user paging that far would have)."""
    app = seeded.app
    with app.context.sessions() as session:
        case = session.scalar(
            select(Case)
            .where(Case.region_path.startswith("64/64.72/"))
            .order_by(getattr(Case, sort_column).desc(), Case.id.desc())
            .offset(offset)
            .limit(1)
        )
        assert case is not None
        return Cursor(f"-{sort_column}", 0, getattr(case, sort_column), case.id).encode()


def _deep_page(seeded: Seeded, limit: int) -> Callable[[], Any]:
    cursor = deep_cursor(seeded, "updated_at", seeded.cases // 5)
    return lambda: seeded.app.cases.page(
        viewer=seeded.city, limit=limit, sort="-updated_at", cursor=cursor
    )


#: Each measurement: the call for a database and a page length.
MEASUREMENTS: dict[str, Callable[[Seeded, int], Callable[[], Any]]] = {
    "list first page": lambda s, n: lambda: s.app.cases.page(viewer=s.city, limit=n),
    "list filtered (program, state, kel.)": lambda s, n: (
        lambda: s.app.cases.page(
            viewer=s.city,
            limit=n,
            program="probebaya",
            state="submitted",
            region=s.kelurahan_code,
        )
    ),
    "list deep page (-updated_at)": _deep_page,
    "list search": lambda s, n: lambda: s.app.cases.page(viewer=s.city, limit=n, search=s.search),
    "inbox, kelurahan user": lambda s, n: lambda: s.app.cases.inbox(s.kelurahan, limit=n),
    "inbox, city user": lambda s, n: lambda: s.app.cases.inbox(s.city, limit=n),
}


def timings(calls: Sequence[Callable[[], Any]], rounds: int = ROUNDS) -> list[list[float]]:
    """Seconds of each of ``rounds`` calls of each of ``calls`` (after two rounds not
    counted); the calls take turns, and which goes first alternates, so that drift on a
    shared machine and the collector's pauses fall on each alike."""
    times: list[list[float]] = [[] for _ in calls]
    for turn in range(rounds + 2):
        order = range(len(calls)) if turn % 2 else reversed(range(len(calls)))
        for i in order:
            started = time.perf_counter()
            calls[i]()
            times[i].append(time.perf_counter() - started)
    return [spent[2:] for spent in times]


def p95(times: Sequence[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


@pytest.mark.parametrize("name", list(MEASUREMENTS))
def test_case_queries(seeded: tuple[Seeded, Seeded], name: str) -> None:
    small, large = seeded
    # the same work on both: a page as long as the small database can fill (a filter
    # matches 50 cases in 100k but only a few in 1k, and each row costs its JSON)
    rows = len(MEASUREMENTS[name](small, PAGE)().rows)
    assert rows, f"{name}: the seeded data should give a non-empty page"
    calls = [MEASUREMENTS[name](s, rows) for s in seeded]
    for call in calls:
        call()  # definitions parsed, caches warm
    with captured(large.app) as statements:
        page = calls[1]()
    assert len(page.rows) == rows, f"{name}: the large database should fill the page"
    raw = floor(large.app, statements)
    on_small, on_large = timings(calls)
    median = statistics.median(on_large)
    length = "" if rows == PAGE else f" ({rows} rows)"
    ROWS.append(
        Row(
            large.backend,
            6,
            f"{name} vs raw SELECT ({large.cases:,})",
            milliseconds(median),
            milliseconds(raw),
            median / raw,
        )
    )
    ROWS.append(
        Row(
            large.backend,
            6,
            f"{name} p95, {large.cases:,} vs {small.cases:,}{length}",
            milliseconds(p95(on_large)),
            milliseconds(p95(on_small)),
            p95(on_large) / p95(on_small),
            Target(1.5, at_least=False),
        )
    )
