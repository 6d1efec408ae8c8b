"""Several `rukun tick` at once (cron on two hosts, a timer that overlaps a slow run):
each overdue case is escalated exactly once, by one of them, with one escalation record in
its history, and none of them fails."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.runtime import Rukun
from engine.settings import Settings

TICKS = 4
CASES = 60
DEFINITION = """\
rukun: 1
program: overdue
title: Overdue
subject: rt
states:
  - {name: waiting, initial: true, deadline: {days: 1, escalate_to: kelurahan}}
  - {name: done, final: true}
transitions:
  - {trigger: finish, source: waiting, dest: done, roles: [kelurahan]}
"""


@pytest.fixture
def overdue(app: Rukun, tmp_path: Path) -> list[int]:
    """CASES cases waiting in a state whose deadline is one day."""
    definition = tmp_path / "overdue.yaml"
    definition.write_text(DEFINITION, encoding="utf-8")
    app.definitions.publish(definition, "test")
    app.regions.load_demo()
    rt = next(r["code"] for r in app.regions.list(level="rt"))
    app.users.add("lurah", "kelurahan", [rt.rsplit(".", 2)[0]])
    return [app.cases.start("overdue", rt, 2026, "lurah")["id"] for _ in range(CASES)]


def _later() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=2)


def _escalated_once_each(app: Rukun, case_ids: list[int], escalated: list[int]) -> None:
    assert Counter(escalated) == Counter(case_ids)  # every case, each by one tick only
    for case_id in case_ids:
        history = app.cases.history(case_id)
        assert [r["kind"] for r in history].count("escalation") == 1
        assert [r["seq"] for r in history] == list(range(1, len(history) + 1))
    assert list(app.audit.verifier().run()) == []


def test_rukun_tick_processes_at_once_escalate_each_case_exactly_once(
    app: Rukun, overdue: list[int], env: dict[str, str]
) -> None:
    now = _later().isoformat()
    rukun = str(Path(sys.executable).with_name("rukun"))
    processes = [
        subprocess.Popen(
            [rukun, "tick", "--now", now, "--json"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(TICKS)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * TICKS, outputs
    assert [err for _, err in outputs] == [""] * TICKS
    escalated = [case["id"] for out, _ in outputs for case in json.loads(out)]
    _escalated_once_each(app, overdue, escalated)
    assert app.cases.tick(_later()) == []  # nothing left: idempotent


def _tick_after_barrier(settings: Settings, now: dt.datetime, barrier: Any, results: Any) -> None:
    app = Rukun(settings)
    try:
        barrier.wait(timeout=120)
        results.put([case["id"] for case in app.cases.tick(now)])
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        app.close()


def test_ticks_released_together_escalate_each_case_exactly_once(
    app: Rukun, overdue: list[int], settings: Settings
) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(TICKS), spawn.Queue()
    now = _later()
    workers = [
        spawn.Process(target=_tick_after_barrier, args=(settings, now, barrier, results))
        for _ in range(TICKS)
    ]
    for worker in workers:
        worker.start()
    try:
        reports = [results.get(timeout=300) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    assert [r for r in reports if not isinstance(r, list)] == []
    _escalated_once_each(app, overdue, [case_id for ids in reports for case_id in ids])
