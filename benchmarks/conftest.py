"""Collects the rows the benchmarks measure and prints them as one table at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.databases import BACKENDS
from benchmarks.sizes import SIZES
from benchmarks.table import ROWS, render


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    terminalreporter.section(
        f"rukun bench ({SIZES.name} size): engine against its floor, same run, same database"
    )
    for line in render(ROWS):
        terminalreporter.write_line(line)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Path]:
    yield tmp_path_factory.mktemp(f"bench-{backend}")
