"""`rukun` starts without importing what only some commands need: the audit's exports,
bundles, statistics and charts (XlsxWriter, pygal), backups and the service layer itself
load when those commands run; `rukun --help` needs neither the database nor the web UI, and
no command needs Alembic unless it migrates. `rukun case show` loads the case reading part
of the service layer alone, not the other commands' modules, services or libraries, and
keeps what its modules make out of the garbage collector's passes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from alembic.script import ScriptDirectory

from engine.store.db import SCHEMA_REVISION, alembic_config
from tests.builders import Scenario

PROBEBAYA = Path(__file__).resolve().parents[2] / "workflows" / "probebaya.yaml"

LATE = (
    "engine.audit.export",
    "engine.audit.bundle",
    "engine.audit.bundle_check",
    "engine.audit.statistics",
    "engine.store.backup",
    "engine.runtime",  # the whole service layer: `rukun --help` and `rukun validate` need none
    "xlsxwriter",
)
#: What `rukun --help` does without: it prints the `serve` plugin's help line, not its app.
NOT_FOR_HELP = (
    *LATE,
    "sqlalchemy",
    "alembic",
    "lokal",  # ~0.17 s alone
    "yaml",
    "engine.language.loader",
    "admin.app",
    "flask",
    "waitress",
)

#: What `rukun case show` does without (on a case with no personal data to mask).
NOT_FOR_CASE_SHOW = (
    *(m for m in LATE if m != "engine.runtime"),
    "alembic",
    "lokal",  # ~0.11 s: amounts and their words are written without it
    "marshmallow",  # forms: only when a case starts or fires
    "puremagic",  # only when a document is stored
    "engine.runtime.users",
    "engine.runtime.tokens",
    "engine.runtime.sign_in",  # and argon2 with it
    "argon2",
    "engine.runtime.regions",
    "engine.runtime.reports",
    "engine.runtime.documents",
    "engine.studio.service",
    "engine.audit.service",
    "engine.cli_workflow",  # the other commands' modules
    "engine.cli_audit",
    "engine.cli_export",
    "engine.cli_users",
    "engine.cli_tokens",
    "engine.cli_reports",
    "engine.cli_regions",
    "engine.cli_documents",
    "admin.app",
    "flask",
)


def rukun_imports(
    args: Sequence[str], modules: Sequence[str], env: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `rukun ARGS` in a fresh interpreter; its result and which of ``modules`` it had
    imported when it ended (its stderr ends with how many objects were frozen out of the
    garbage collector: see :func:`frozen_objects`)."""
    code = (
        "import gc, sys\n"
        "from engine.cli import main\n"
        f"sys.argv = ['rukun', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        f"    print('imported:', *(m for m in {list(modules)!r} if m in sys.modules), "
        "file=sys.stderr)\n"
        "    print('frozen:', gc.get_freeze_count(), file=sys.stderr)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    imported = [line for line in run.stderr.splitlines() if line.startswith("imported:")]
    assert imported, run.stderr
    return run, imported[-1].split()[1:]


def frozen_objects(run: subprocess.CompletedProcess[str]) -> int:
    """How many objects the run of :func:`rukun_imports` had frozen out of the collector."""
    [count] = [line.split()[1] for line in run.stderr.splitlines() if line.startswith("frozen:")]
    return int(count)


def test_the_command_line_imports_the_audit_work_only_when_it_runs() -> None:
    code = f"import sys, engine.cli; print(' '.join(m for m in {LATE!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_help_lists_every_command_without_the_database_or_the_web_ui() -> None:
    run, imported = rukun_imports(["--help"], NOT_FOR_HELP)
    assert run.returncode == 0, run.stderr
    assert "serve" in run.stdout and "case" in run.stdout  # the plugin's line is there too
    assert imported == []


def test_validate_checks_definitions_without_the_database() -> None:
    workflow = str(PROBEBAYA)
    run, imported = rukun_imports(["validate", workflow], ("sqlalchemy", "engine.runtime"))
    assert (run.returncode, run.stdout) == (0, f"OK {workflow}\n")
    assert imported == []


def test_case_show_reads_a_case_without_the_other_commands_and_services(
    scenario: Scenario, env: dict[str, str]
) -> None:
    case = scenario.probebaya_case("approved")
    run, imported = rukun_imports(["case", "show", str(case["id"])], NOT_FOR_CASE_SHOW, env)
    assert run.returncode == 0, run.stderr
    assert "approved Rp 200.000.000 (dua ratus juta rupiah)" in run.stdout
    assert imported == []
    # the service layer's modules are left out of every collection, the last ones at exit too
    assert frozen_objects(run) > 50_000


def test_the_schema_revision_the_code_expects_is_alembics_head() -> None:
    # every command compares the database with SCHEMA_REVISION instead of loading Alembic's
    # scripts: a new migration must move it too
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head == SCHEMA_REVISION, f"set engine.store.db.SCHEMA_REVISION to {head!r}"
