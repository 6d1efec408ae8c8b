"""`rukun` starts without importing what only some commands need: the audit's exports,
bundles, statistics and charts (XlsxWriter, pygal), backups and the service layer itself
load when those commands run."""

from __future__ import annotations

import subprocess
import sys

LATE = (
    "engine.audit.export",
    "engine.audit.bundle",
    "engine.audit.statistics",
    "engine.store.backup",
    "engine.runtime",  # the whole service layer: `rukun --help` and `rukun validate` need none
    "xlsxwriter",
)


def test_the_command_line_imports_the_audit_work_only_when_it_runs() -> None:
    code = f"import sys, engine.cli; print(' '.join(m for m in {LATE!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
