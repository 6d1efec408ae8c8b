"""Two processes firing the same transition at once: exactly one succeeds, the other gets a
conflict, and the history holds exactly one record of it."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.errors import Conflict
from engine.runtime import Rukun
from engine.settings import Settings
from tests.builders import Scenario

ROUNDS = 6


def _fire_after_barrier(
    settings: Settings, case_id: int, user: str, barrier: Any, results: Any
) -> None:
    app = Rukun(settings)
    app.check_schema()
    barrier.wait(timeout=60)
    try:
        app.cases.fire(case_id, "verify", user)
        results.put("ok")
    except Conflict:
        results.put("conflict")
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(f"unexpected {type(exc).__name__}: {exc}")
    finally:
        app.close()


def test_two_processes_firing_at_once_exactly_one_succeeds(
    scenario: Scenario, settings: Settings
) -> None:
    spawn = multiprocessing.get_context("spawn")
    for _ in range(ROUNDS):
        case = scenario.probebaya_case("submitted")
        barrier, results = spawn.Barrier(2), spawn.Queue()
        workers = [
            spawn.Process(
                target=_fire_after_barrier,
                args=(settings, case["id"], scenario.users["kelurahan"], barrier, results),
            )
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        outcomes = sorted(results.get(timeout=120) for _ in workers)
        for worker in workers:
            worker.join(timeout=60)
        assert outcomes == ["conflict", "ok"]
        history = scenario.app.cases.history(case["id"])
        assert [r["trigger"] for r in history].count("verify") == 1
        assert scenario.app.cases.show(case["id"])["version"] == case["version"] + 1
        assert scenario.app.cases.verify(case["id"]) == []


def test_two_cli_processes_with_the_same_expected_version_one_wins(
    scenario: Scenario, env: dict[str, str], tmp_path: Path
) -> None:
    case = scenario.probebaya_case("submitted")
    command = [
        sys.executable,
        "-m",
        "engine.cli",
        "case",
        "fire",
        str(case["id"]),
        "verify",
        "--as",
        scenario.users["kelurahan"],
        "--expect-version",
        str(case["version"]),
        "--json",
    ]
    full_env = {**os.environ, **env}
    processes = [
        subprocess.Popen(
            command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    codes = sorted(p.wait(timeout=120) for p in processes)
    outputs = [p.communicate() for p in processes]
    assert codes == [0, 4], outputs
    loser_stderr = next(
        err for p, (_, err) in zip(processes, outputs, strict=True) if p.returncode == 4
    )
    assert "Traceback" not in loser_stderr
    assert "version" in loser_stderr or "changed" in loser_stderr
    winner_out = next(
        out for p, (out, _) in zip(processes, outputs, strict=True) if p.returncode == 0
    )
    assert json.loads(winner_out)["state"] == "verified"
    history = scenario.app.cases.history(case["id"])
    assert [r["trigger"] for r in history].count("verify") == 1
