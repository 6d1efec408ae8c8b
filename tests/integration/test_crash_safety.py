"""Crash safety and uploads: a process killed with SIGKILL in the middle of a bulk action or
of a document upload leaves every case either fully moved (state, history, ledger) or
untouched, with no gap in any history; the rest is moved exactly once by running the bulk
action again. A refused upload leaves no file; `rukun documents gc` removes the files no
record names and never one a history record names."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, delete

from engine.cli import main
from engine.cli_documents import GRACE_MINUTES
from engine.errors import Conflict, Forbidden, InvalidData, TransitionRefused
from engine.runtime import Rukun
from engine.runtime.documents import GRACE
from engine.store.models import Document
from tests.builders import ROOT, Scenario

APPROVE = {"approved_amount": "Rp 200.000.000"}


def snapshot(app: Rukun, case_id: int) -> dict[str, Any]:
    case = app.cases.show(case_id)
    return {
        "state": case["state"],
        "version": case["version"],
        "ledger": case["ledger"],
        "history": app.cases.history(case_id),
    }


def stored_files(app: Rukun) -> list[str]:
    return sorted(p.name for p in app.context.documents.files())


def verified(app: Rukun) -> list[Any]:
    """Every problem the full history verification finds (none when intact)."""
    return list(app.audit.verifier().run())


def child(env: dict[str, str], code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


BULK = """
    import json, os, signal, sys, time
    from sqlalchemy import Engine, event
    from engine.runtime import Rukun, cases, signals

    ids, actor, mode, after = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    # SQLite commits the bulk action's cases in groups: here of `after`, however long
    cases.BULK_GROUP, cases.BULK_GROUP_SECONDS = after, 60.0
    app = Rukun()
    moved = []

    def fired(sender, case, **kwargs):
        moved.append(case["id"])
        print("moved", case["id"], flush=True)

    signals.transition_fired.connect(fired)

    @event.listens_for(Engine, "commit")
    def in_the_middle(connection):
        # inside the transaction of the case after the first `after` ones (on SQLite, of
        # the group after the first): written, not committed
        if len(moved) == after:
            if mode == "self":
                os.kill(os.getpid(), signal.SIGKILL)
            print("inside", flush=True)
            time.sleep(120)

    app.cases.fire_many(ids, "approve_city", actor, {"approved_amount": "Rp 200.000.000"})
    print("finished", flush=True)
"""


@pytest.mark.parametrize("mode", ["self", "outside"])
def test_a_bulk_action_killed_midway_leaves_each_case_moved_or_untouched(
    scenario: Scenario, env: dict[str, str], mode: str
) -> None:
    app = scenario.app
    cases = [scenario.probebaya_case("kecamatan_approved") for _ in range(6)]
    ids = [c["id"] for c in cases]
    before = {i: snapshot(app, i) for i in ids}
    city = scenario.users["city"]
    process = child(env, BULK, json.dumps(ids), city, mode, "3")
    if mode == "outside":  # killed by someone else while committing the fourth case
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "inside":
                break
        process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, stderr[-2000:]

    moved = [i for i in ids if app.cases.show(i)["state"] == "approved"]
    assert moved == ids[:3]
    for case_id in ids:
        now = snapshot(app, case_id)
        if case_id in moved:
            new = now["history"][len(before[case_id]["history"]) :]
            assert [r["trigger"] for r in new] == ["approve_city"]
            assert now["history"][: len(before[case_id]["history"])] == before[case_id]["history"]
            assert now["ledger"]["totals"]["approved"] == 200_000_000
        else:
            assert now == before[case_id]  # state, version, ledger and history untouched
    assert verified(app) == []  # no gap, every row matches its history

    results = app.cases.fire_many(ids, "approve_city", city, APPROVE)  # run it again
    assert [r["ok"] for r in results] == [False] * 3 + [True] * 3
    assert {r["error"]["kind"] for r in results if not r["ok"]} == {"conflict"}
    for case_id in ids:
        triggers = [r["trigger"] for r in app.cases.history(case_id)]
        assert triggers.count("approve_city") == 1
        assert app.cases.show(case_id)["ledger"]["totals"]["approved"] == 200_000_000
    assert verified(app) == []


UPLOAD = """
    import os, signal, sys
    from pathlib import Path
    from engine.runtime import Rukun
    from engine.store import documents

    case_id, actor, file, where = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    app = Rukun()
    if where == "writing":  # half the file is on disk under its temporary name
        def dies(fd):
            os.kill(os.getpid(), signal.SIGKILL)
        documents.os.fsync = dies
    elif where == "stored":  # the file is in place, the transaction not committed
        write = documents.DocumentStore.write
        def dies_after(self, pending):
            write(self, pending)
            os.kill(os.getpid(), signal.SIGKILL)
        documents.DocumentStore.write = dies_after
    app.cases.fire(
        case_id,
        "submit_lpj",
        actor,
        {"lpj_amount": "Rp 120.000.000"},
        {"lpj_receipts": Path(file)},
    )
"""


@pytest.mark.parametrize("where", ["writing", "stored"])
def test_an_upload_killed_midway_leaves_the_case_untouched_and_gc_cleans_up(
    scenario: Scenario, env: dict[str, str], where: str
) -> None:
    app = scenario.app
    case = scenario.probebaya_case("implementing")  # tranche 1 disbursed
    case = scenario.fire(case["id"], "report_progress", *scenario.step("report_progress"))
    before, files_before = snapshot(app, case["id"]), stored_files(app)
    receipt = scenario.doc("lpj_receipts_crash")
    process = child(env, UPLOAD, str(case["id"]), scenario.users["pokmas"], str(receipt), where)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, stderr[-2000:]

    assert snapshot(app, case["id"]) == before
    assert verified(app) == []
    left = sorted(set(stored_files(app)) - set(files_before))
    assert len(left) == 1  # the half-written temporary file, or the uncommitted document
    assert left[0].startswith(".upload-") == (where == "writing")
    result = app.documents.gc(grace=_no_grace())
    assert result["removed" if where == "stored" else "temporary"] == left
    assert stored_files(app) == files_before
    assert verified(app) == []

    moved = app.cases.fire(
        case["id"],
        "submit_lpj",
        scenario.users["pokmas"],
        {"lpj_amount": "Rp 120.000.000"},
        {"lpj_receipts": receipt},
    )
    assert moved["state"] == "implementing"
    assert len(stored_files(app)) == len(files_before) + 1
    assert verified(app) == []


def _no_grace() -> dt.timedelta:
    return dt.timedelta(0)


# ------------------------------------------------------------------ refused uploads


def test_a_refused_upload_leaves_no_file(scenario: Scenario, tmp_path: Path) -> None:
    app = scenario.app
    case = scenario.probebaya_case("rembug_held")
    role, values, documents = scenario.step("submit_proposal")
    attachments = {name: scenario.doc(name) for name in documents}
    user = scenario.users[role]
    files = stored_files(app)
    attempts: list[tuple[type[Exception], str, dict[str, str], int | None]] = [
        (TransitionRefused, user, {**values, "budget": "Rp 5"}, None),  # a guard refuses
        (InvalidData, user, {**values, "budget": "banyak sekali"}, None),  # a field is invalid
        (Forbidden, scenario.users["city"], values, None),  # the role may not fire it
        (Conflict, user, values, 99),  # stale page: the case is at another version
    ]
    for error, actor, form, version in attempts:
        with pytest.raises(error):
            app.cases.fire(case["id"], "submit_proposal", actor, form, attachments, version)
        assert stored_files(app) == files, error
    with pytest.raises(InvalidData):  # a file of a type not accepted
        bad = tmp_path / "rab.html"
        bad.write_text("<script>alert(1)</script>")
        app.cases.fire(case["id"], "submit_proposal", user, values, {"rab": bad})
    assert stored_files(app) == files
    moved = app.cases.fire(case["id"], "submit_proposal", user, values, attachments)
    assert moved["state"] == "submitted"
    assert len(stored_files(app)) == len(files) + 1


# ------------------------------------------------------------------ documents gc


def old(path: Path, hours: float = 2) -> Path:
    stamp = time.time() - hours * 3600
    os.utime(path, (stamp, stamp))
    return path


def test_gc_removes_unreferenced_and_temporary_files_and_nothing_a_record_names(
    scenario: Scenario, owner_engine: Engine, env: dict[str, str]
) -> None:
    app = scenario.app
    store = app.context.documents
    case = scenario.probebaya_case("submitted")
    named = sorted(store.files())
    for path in named:
        old(path)
    orphan = old(store.path_for(store.put_bytes(b"%PDF-1.4 orphan", "o.pdf").sha256))
    fresh = store.path_for(store.put_bytes(b"%PDF-1.4 fresh", "f.pdf").sha256)
    temporary, foreign = orphan.parent / ".upload-abc123", orphan.parent / "notes.txt"
    temporary.write_bytes(b"half")
    foreign.write_text("not made by the store")
    old(temporary), old(foreign)
    # an attacker (or a bad migration) removes the documents rows: the history still names
    # the files, so they stay
    with owner_engine.begin() as connection:
        connection.execute(delete(Document))

    assert GRACE.total_seconds() == GRACE_MINUTES * 60  # the command's default is the engine's
    runner = CliRunner()
    dry = runner.invoke(main, ["documents", "gc", "--dry-run", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert (report["removed"], report["temporary"]) == ([orphan.name], [temporary.name])
    assert orphan.exists() and temporary.exists()

    done = runner.invoke(main, ["documents", "gc"], env=env)
    assert done.exit_code == 0, done.output
    assert "removed 1 unreferenced document(s) and 1 temporary file(s)" in done.output
    assert not orphan.exists() and not temporary.exists()
    assert fresh.exists() and foreign.exists()  # too recent; not the store's
    assert all(path.exists() for path in named)
    assert [r["trigger"] for r in app.cases.history(case["id"])][-1] == "submit_proposal"


def test_gc_puts_back_a_named_file_an_interrupted_collection_left_aside(
    scenario: Scenario,
) -> None:
    app = scenario.app
    scenario.probebaya_case("rembug_held")
    [path, *_] = sorted(app.context.documents.files())
    aside = path.with_name(f".removing-{path.name}-4242")
    path.rename(aside)
    app.documents.gc(grace=_no_grace())
    assert path.exists() and not aside.exists()
    assert verified(app) == []
