"""`rukun` starts without importing what only some commands need: the audit's exports,
bundles, statistics and charts (XlsxWriter, pygal), and backups, load when those commands
run."""

from __future__ import annotations

import subprocess
import sys

LATE = (
    "engine.audit.export",
    "engine.audit.bundle",
    "engine.audit.statistics",
    "engine.store.backup",
    "xlsxwriter",
)


def test_the_command_line_imports_the_audit_work_only_when_it_runs() -> None:
    code = f"import sys, engine.cli; print(' '.join(m for m in {LATE!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
