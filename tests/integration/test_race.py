"""Many processes firing the same transitions at once (issue #12): 8 processes, each with
its own Rukun on the same database, each try every step of 50 cases, step by step. Each
contested transition succeeds exactly once, every loser gets a Conflict (never another
error), and afterwards every history runs seq 1..n without gap or duplicate and verifies."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from pathlib import Path
from typing import Any

from engine.errors import Conflict
from engine.runtime import Rukun
from engine.settings import Settings

PROCESSES = 8
CASES = 50
#: Each process makes CASES x STEPS attempts (500); STEPS x CASES transitions are contested.
STEPS = 10


def relay_definition() -> str:
    """A program whose cases go s0 -> s1 -> ... -> sSTEPS, one trigger per step: in each
    state exactly one transition is possible."""
    states = "".join(
        f"  - {{name: s{n}{', initial: true' if n == 0 else ''}"
        f"{', final: true' if n == STEPS else ''}}}\n"
        for n in range(STEPS + 1)
    )
    transitions = "".join(
        f"  - {{trigger: step_{n}, source: s{n - 1}, dest: s{n}, roles: [ketua_rt]}}\n"
        for n in range(1, STEPS + 1)
    )
    return (
        "rukun: 1\nprogram: relay\ntitle: Relay\nsubject: rt\n"
        f"states:\n{states}transitions:\n{transitions}"
    )


def _contend(
    settings: Settings,
    user: str,
    case_ids: list[int],
    barrier: Any,
    results: Any,
) -> None:
    """Every step on every case (in an order of this process's own), the processes held
    together by ``barrier`` so that all of them contend for each step."""
    won: list[tuple[int, int]] = []
    conflicts, other = 0, []
    app = Rukun(settings)
    try:
        rng = random.Random(user)
        for step in range(1, STEPS + 1):
            barrier.wait(timeout=120)
            for case_id in rng.sample(case_ids, len(case_ids)):
                try:
                    app.cases.fire(case_id, f"step_{step}", user)
                    won.append((case_id, step))
                except Conflict:
                    conflicts += 1
                except Exception as exc:  # reported to the parent, which fails the test
                    other.append(f"case {case_id} step {step}: {type(exc).__name__}: {exc}")
    except Exception as exc:
        other.append(f"{type(exc).__name__}: {exc}")
    finally:
        app.close()
        results.put((user, won, conflicts, other))


def test_each_contested_transition_succeeds_once_and_every_loser_gets_a_conflict(
    app: Rukun, settings: Settings, tmp_path: Path
) -> None:
    definition = tmp_path / "relay.yaml"
    definition.write_text(relay_definition(), encoding="utf-8")
    app.definitions.publish(definition, "test")
    app.regions.load_demo()
    rt = next(r["code"] for r in app.regions.list(level="rt"))
    users = [f"ketua_rt_{n}" for n in range(PROCESSES)]
    for user in users:
        app.users.add(user, "ketua_rt", [rt])
    case_ids = [app.cases.start("relay", rt, 2026, users[0])["id"] for _ in range(CASES)]

    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(PROCESSES), spawn.Queue()
    workers = [
        spawn.Process(target=_contend, args=(settings, user, case_ids, barrier, results))
        for user in users
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

    assert [line for _, _, _, other in reports for line in other] == []
    winners = {pair: user for user, won, _, _ in reports for pair in won}
    wins = Counter(pair for _, won, _, _ in reports for pair in won)
    assert set(wins.values()) == {1}
    assert set(wins) == {(case_id, step) for case_id in case_ids for step in range(1, STEPS + 1)}
    attempts = PROCESSES * CASES * STEPS
    assert sum(conflicts for _, _, conflicts, _ in reports) == attempts - CASES * STEPS
    for case_id in case_ids:
        history = app.cases.history(case_id)
        assert [r["seq"] for r in history] == list(range(1, STEPS + 2))
        steps = history[1:]
        assert [r["trigger"] for r in steps] == [f"step_{n}" for n in range(1, STEPS + 1)]
        assert [r["actor"] for r in steps] == [winners[(case_id, n)] for n in range(1, STEPS + 1)]
        assert app.cases.show(case_id)["state"] == f"s{STEPS}"
    assert list(app.audit.verifier().run()) == []
