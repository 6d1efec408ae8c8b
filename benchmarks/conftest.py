"""Collects engine-versus-floor timings from the benchmarks and prints their ratios."""

from __future__ import annotations

from typing import Any

import pytest

#: (backend, measurement, engine median s, floor median s, rows on the page)
RESULTS: list[tuple[str, str, float, float, int]] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("rukun: engine / raw-database floor (median of 30, page of 50)")
    write(f"{'backend':<11}{'measurement':<42}{'engine ms':>10}{'floor ms':>10}{'ratio':>8}")
    for backend, name, engine, floor, _rows in RESULTS:
        write(
            f"{backend:<11}{name:<42}{engine * 1000:>10.2f}{floor * 1000:>10.2f}"
            f"{engine / floor:>7.1f}x"
        )


@pytest.fixture(scope="session")
def bench_results() -> list[tuple[str, str, float, float, int]]:
    return RESULTS
