"""The UI under gunicorn as docs/deploy.md runs it: two worker processes on 127.0.0.1, the
documented gunicorn.conf.py, sign-in through the real login form, sessions that every
worker accepts, transitions fired through the case page's forms; and a bounded load test
(tests/load.py) of mixed reads and fires that must answer no 5xx."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from engine.runtime import Rukun
from tests.builders import Scenario
from tests.conftest import only_on
from tests.load import PASSWORD, Browser, Server, Timings, gunicorn, run, seed

#: The load test's size in CI: its clients, the cases each fires on, and how long it runs.
LOAD_CLIENTS = 4
LOAD_CASES = 20
LOAD_SECONDS = 25


def _both_workers_answer(server: Server, browser: Browser, path: str) -> set[int]:
    """Requests at once with ``browser``'s cookie until each worker has served one (a
    worker busy with one request leaves the next to the other); each must be the page."""
    statuses: list[int] = []

    def fetch() -> None:
        statuses.append(browser.get("GET /cases/<id>", path).status)

    for _ in range(10):
        threads = [threading.Thread(target=fetch) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        if len(server.worker_pids(f"GET {path} ")) >= 2:
            break
    assert set(statuses) == {200}, statuses  # never the login page (302): the key is shared
    return server.worker_pids(f"GET {path} ")


def test_two_gunicorn_workers_share_the_session_and_fire_through_the_form(
    scenario: Scenario, env: dict[str, str], tmp_path: Path
) -> None:
    app = scenario.app
    kelurahan = scenario.rt.rsplit(".", 2)[0]
    app.users.add("web_gunicorn", "kelurahan", [kelurahan], PASSWORD)
    case = scenario.probebaya_case("submitted")
    timings = Timings()
    with gunicorn(env, tmp_path / "gunicorn", workers=2) as server:  # no RUKUN_SECRET_KEY
        browser = Browser(server.port, timings)
        assert (browser.get("GET /", "/").location or "").startswith("/login")
        browser.sign_in("web_gunicorn", PASSWORD)
        assert f'href="/cases/{case["id"]}"' in browser.get("GET /", "/").body
        assert f'href="/cases/{case["id"]}"' in browser.get("GET /cases/", "/cases/").body
        assert len(_both_workers_answer(server, browser, f"/cases/{case['id']}")) == 2
        fired = browser.fire(case["id"], "verify")
        assert (fired.status, fired.location) == (302, f"/cases/{case['id']}")
        again = browser.fire(case["id"], "verify")  # the form is gone: the page, not a post
        assert again.status == 200 and "/fire/verify" not in again.body
    assert timings.server_errors == []
    assert server.process.returncode is not None  # stopped
    assert app.cases.show(case["id"])["state"] == "verified"
    assert app.cases.history(case["id"])[-1]["actor"] == "web_gunicorn"
    key_file = app.context.settings.secret_key_file
    assert key_file is not None and stat.S_IMODE(key_file.stat().st_mode) == 0o600


@only_on("sqlite")
def test_gunicorn_is_stopped_even_when_the_test_fails(
    app: Rukun, env: dict[str, str], tmp_path: Path
) -> None:
    try:
        with gunicorn(env, tmp_path / "gunicorn", workers=2) as server:
            raise RuntimeError("the test failed")
    except RuntimeError:
        pass
    assert server.process.returncode is not None
    with pytest.raises(ProcessLookupError):  # nor any worker of its process group
        os.killpg(server.process.pid, 0)


@only_on("postgresql")
def test_mixed_reads_and_fires_on_two_workers_answer_no_server_error(
    app: Rukun, env: dict[str, str], tmp_path: Path
) -> None:
    seeded = seed(app, tmp_path, LOAD_CLIENTS, LOAD_CASES)
    started = time.monotonic()
    with gunicorn({**env, "RUKUN_SECRET_KEY": "k" * 64}, tmp_path / "gunicorn") as server:
        outcome = run(server.port, seeded, LOAD_SECONDS)
        pids = server.worker_pids("GET /cases/")
    print(f"\n{LOAD_CLIENTS} clients, {time.monotonic() - started:.0f}s on 2 workers")
    print(outcome.timings.table())
    assert outcome.failures == []
    assert outcome.timings.server_errors == []
    assert len(pids) == 2
    assert set(outcome.fired.values()) == {302}, outcome.fired  # each fire saved
    for client in seeded.clients:
        for case_id in (c for c in client.cases if c in outcome.fired):
            triggers = [r["trigger"] for r in app.cases.history(case_id)]
            assert triggers.count(client.trigger) == 1
    assert list(app.audit.verifier().run()) == []
