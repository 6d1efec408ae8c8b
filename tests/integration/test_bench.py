"""`rukun bench --small` end to end: the venv's `rukun` runs every benchmark at the small
size and prints one table with a number in every row, on SQLite and (when
RUKUN_TEST_DATABASE_URL is set) on PostgreSQL. Speed is not judged here: targets are
printed by the bench, never asserted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, backends

#: The start of each row's measurement, for every backend.
MEASUREMENTS = (
    (1, "fire vs raw SQLAlchemy loop"),
    (2, "fire vs SpiffWorkflow 3, linear 6 steps"),
    (2, "fire vs SpiffWorkflow 3, linear 20 steps"),
    (3, "fire cost on 50 records vs fresh case"),
    (4, "bulk fire_many on 40 cases vs one raw transaction"),
    (5, "verify vs raw SELECT scan"),
    (5, "verify peak memory"),
    *(
        (6, f"{name}{what}")
        for name in (
            "list first page",
            "list filtered (program, state, kel.)",
            "list deep page (-updated_at)",
            "list search",
            "inbox, kelurahan user",
            "inbox, city user",
        )
        for what in (" vs raw SELECT", " p95")
    ),
)
RATIO = r"\s+[\d,.]+ [\w/ ]+?\s+[\d,.]+ [\w/ ]+?\s+\d[\d,]*\.\d\dx  (>=|<=|-)"


def test_bench_small_prints_every_row_with_numbers(tmp_path: Path) -> None:
    rukun = Path(sys.executable).with_name("rukun")
    environment = {**os.environ, "RUKUN_BENCH_SCALE": "full"}  # --small must win
    done = subprocess.run(
        [str(rukun), "bench", "--small", "--basetemp", str(tmp_path / "bench")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout[done.stdout.index("rukun bench (small size)") :]
    for backend in backends():
        for number, measurement in MEASUREMENTS:
            row = rf"^{backend}\s+{number}\s+{re.escape(measurement)}.*?{RATIO}"
            assert re.search(row, table, re.MULTILINE), f"no row {backend} {measurement}"
    assert re.search(rf"^memory\s+7\s+shared machine.*?{RATIO}", table, re.MULTILINE)
