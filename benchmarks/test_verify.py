"""Row 5: whole-database history verification against a raw scan of the history table
(SQLAlchemy Core streaming every column of every row of ``transition_records``, its JSON
decoded and times parsed: what any reader of the history must do before checking it), and
verification's peak Python memory (tracemalloc) on a small against a large database. The
history is seeded straight to the tables: cases of ten chain-valid records each."""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from benchmarks.databases import bench_app
from benchmarks.seeding import seed_cases
from benchmarks.sizes import SIZES
from benchmarks.table import ROWS, Row, Target, rate
from benchmarks.workflows import linear_yaml
from engine.runtime import Rukun
from engine.store.models import TransitionRecord

RECORDS_PER_CASE = 10
PROGRAM = f"linear{RECORDS_PER_CASE - 1}"


@pytest.fixture(scope="module")
def app(backend: str, folder: Path) -> Iterator[Rukun]:
    with bench_app(backend, "verify", folder) as rukun:
        rukun.definitions.publish_text(
            linear_yaml(RECORDS_PER_CASE - 1), f"{PROGRAM}.yaml", "bench"
        )
        yield rukun


def verify(app: Rukun) -> int:
    """Verify the whole database; the records checked (nothing may be found wrong)."""
    verifier = app.audit.verifier()
    findings = [str(f) for f in verifier.run()]
    assert not findings, findings[:5]
    return verifier.summary.records


def scan(app: Rukun) -> int:
    """Stream every column of every history row; the rows read."""
    rows = 0
    with app.engine.connect() as connection:
        result = connection.execution_options(yield_per=5000).execute(
            select(TransitionRecord.__table__)
        )
        for _ in result:
            rows += 1
    return rows


def peak_memory(app: Rukun) -> int:
    """Peak bytes Python allocated during one verification. A full collection first empties
    CPython's free lists: objects reused from them were allocated before tracing began and
    are not counted, so without it a run is measured low until the first full collection
    during it (which a small database never reaches and a large one always does)."""
    gc.collect()
    tracemalloc.start()
    try:
        verify(app)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def seconds(call: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_verification_against_raw_scan(app: Rukun, backend: str) -> None:
    small, large = SIZES.verify_small, SIZES.verify_large
    seed_cases(app, PROGRAM, small // RECORDS_PER_CASE, RECORDS_PER_CASE)
    assert verify(app) == small  # warm: the definition parsed, statements compiled
    small_peak = peak_memory(app)
    started = time.perf_counter()
    seed_cases(app, PROGRAM, (large - small) // RECORDS_PER_CASE, RECORDS_PER_CASE)
    print(f"\nseeded {large:,} records on {backend} in {time.perf_counter() - started:.0f}s")
    if app.engine.dialect.name == "postgresql":  # as autovacuum would soon after the load
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
    assert scan(app) == large
    floor = seconds(lambda: scan(app), max(3, SIZES.verify_rounds))
    engine = seconds(lambda: verify(app), SIZES.verify_rounds)
    large_peak = peak_memory(app)
    ROWS.append(
        Row(
            backend,
            5,
            f"verify vs raw SELECT scan, {large:,} records",
            rate(large, engine, "records"),
            rate(large, floor, "records"),
            floor / engine,
            Target(0.3),
        )
    )
    ROWS.append(
        Row(
            backend,
            5,
            f"verify peak memory, {large:,} vs {small:,} records",
            f"{large_peak / 2**20:.1f} MiB",
            f"{small_peak / 2**20:.1f} MiB",
            large_peak / small_peak,
            Target(1.2, at_least=False),
        )
    )
