"""Signing in: throttled per user name and per client address in the database (so every
worker refuses alike), answered in about the same time for unknown and known names, and
logged for admins to read (the screen and `rukun user sign-ins`)."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.test import TestResponse

from admin import admin_views, create_app
from engine.errors import Forbidden, InvalidData
from engine.runtime import Rukun
from engine.runtime.sign_in import OUTCOMES, SignInResult
from engine.settings import Settings
from engine.store.models import SignInAttempt
from engine.store.privileges import app_role_statements
from tests.builders import Scenario
from tests.integration.conftest import ADMIN
from tests.integration.test_admin import PASSWORD, csrf, kelurahan_of, login
from tests.integration.test_cli import Cli

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
ADDRESS = "10.1.2.3"
OTHER_ADDRESS = "10.9.9.9"


@dataclass
class Clock:
    """The sign-in service's "now", moved forward by the test."""

    now: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(app: Rukun) -> Clock:
    clock = Clock()
    app.sign_in.clock = clock
    return clock


@pytest.fixture
def lurah(scenario: Scenario) -> str:
    name = "lurah_masuk"
    scenario.app.users.add(name, "kelurahan", [kelurahan_of(scenario)], PASSWORD)
    return name


def client_from(web: Flask, address: str = ADDRESS) -> FlaskClient:
    client = web.test_client()
    client.environ_base.update(REMOTE_ADDR=address, HTTP_USER_AGENT="uji/1.0")
    return client


def sign_in(client: FlaskClient, name: str, password: str) -> TestResponse:
    token = csrf(client, "/login")
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def signed_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def logged(app: Rukun) -> list[tuple[str, str | None, str]]:
    with app.context.sessions() as session:
        rows = session.scalars(select(SignInAttempt).order_by(SignInAttempt.id))
        return [(row.user_name, row.address, row.outcome) for row in rows]


# ------------------------------------------------------------------------------ per name


def test_twenty_wrong_passwords_then_the_right_one_waits_out_the_throttle(
    web: Flask, scenario: Scenario, lurah: str, clock: Clock
) -> None:
    client = client_from(web)
    statuses = [sign_in(client, lurah, f"salah-{i}").status_code for i in range(20)]
    assert statuses == [401] * 5 + [429] * 15
    right = sign_in(client, lurah, PASSWORD)
    assert right.status_code == 429 and right.headers["Retry-After"] == "60"
    assert "Terlalu banyak percobaan gagal. Coba lagi dalam 1 menit." in right.get_data(
        as_text=True
    )
    assert not signed_in(client)
    clock.advance(45)
    still = sign_in(client, lurah, PASSWORD)
    assert still.status_code == 429 and still.headers["Retry-After"] == "15"
    assert not signed_in(client)
    clock.advance(15)
    assert sign_in(client, lurah, PASSWORD).status_code == 302
    assert signed_in(client)
    # the success cleared the name's count: one more mistake is just a mistake
    assert sign_in(client_from(web), lurah, "salah").status_code == 401
    assert [o for _n, _a, o in logged(scenario.app)] == (
        ["failed"] * 5 + ["throttled"] * 17 + ["ok", "failed"]
    )


def test_the_wait_doubles_with_every_further_failure_up_to_fifteen_minutes(
    app: Rukun, lurah: str
) -> None:
    now = T0
    for _ in range(5):
        assert app.sign_in.attempt(lurah, "salah", None, now=now) == SignInResult("failed")
    waits = []
    for _ in range(7):
        wait = app.sign_in.wait(lurah, None, now)
        waits.append(wait)
        assert app.sign_in.attempt(lurah, PASSWORD, None, now=now).throttled
        now += dt.timedelta(seconds=wait)
        assert app.sign_in.attempt(lurah, "salah", None, now=now).outcome == "failed"
    assert waits == [60, 120, 240, 480, 900, 900, 900]
    later = now + dt.timedelta(minutes=15)
    assert app.sign_in.attempt(lurah, PASSWORD, None, now=later).ok
    assert app.sign_in.wait(lurah, None, later) == 0


def test_failures_of_another_name_or_a_day_ago_do_not_count(app: Rukun, lurah: str) -> None:
    for i in range(5):
        app.sign_in.attempt(f"{lurah}_lain", "salah", f"10.0.0.{i}", now=T0)
        app.sign_in.attempt(lurah, "salah", f"10.0.1.{i}", now=T0 - dt.timedelta(days=1))
    assert app.sign_in.attempt(lurah, PASSWORD, "10.0.2.1", now=T0).ok
    assert app.sign_in.attempt(f"{lurah}_lain", "salah", "10.0.2.1", now=T0).throttled


# ------------------------------------------------------------------------------ per address


def test_one_address_failing_with_many_names_is_throttled_for_every_name(
    web: Flask, scenario: Scenario, lurah: str, clock: Clock
) -> None:
    attacker = client_from(web, ADDRESS)
    for i in range(20):
        clock.advance(10)
        assert sign_in(attacker, f"tebakan_{i}", "salah").status_code == 401
    refused = sign_in(attacker, lurah, PASSWORD)
    assert refused.status_code == 429
    # the oldest of the twenty failures leaves the 15-minute window 15 min - 190 s from now
    assert refused.headers["Retry-After"] == str(15 * 60 - 190)
    assert not signed_in(attacker)
    elsewhere = client_from(web, OTHER_ADDRESS)
    assert sign_in(elsewhere, lurah, PASSWORD).status_code == 302
    clock.advance(15 * 60 - 190)
    assert sign_in(attacker, lurah, PASSWORD).status_code == 302
    # one failure left the window, so one more is checked; then the window is full again
    assert sign_in(client_from(web, ADDRESS), "tebakan_x", "salah").status_code == 401
    assert sign_in(client_from(web, ADDRESS), lurah, PASSWORD).status_code == 429


def test_the_throttle_holds_across_two_worker_processes_over_one_database(
    scenario: Scenario, settings: Settings, lurah: str
) -> None:
    """Two apps, each with its own engine and connection pool, as two gunicorn workers."""
    second = Rukun(settings)
    try:
        worker_1 = create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})
        worker_2 = create_app(second, {"TESTING": True, "SECRET_KEY": "test"})
        for i in range(5):
            worker = worker_1 if i % 2 else worker_2
            assert sign_in(client_from(worker), lurah, "salah").status_code == 401
        for worker in (worker_1, worker_2):
            client = client_from(worker, OTHER_ADDRESS)
            response = sign_in(client, lurah, PASSWORD)
            assert response.status_code == 429, worker
            assert 0 < int(response.headers["Retry-After"]) <= 60
            assert not signed_in(client)
    finally:
        second.close()


# ------------------------------------------------------------------------------ timing


def test_an_unknown_or_inactive_name_takes_about_as_long_as_a_known_one(
    app: Rukun, scenario: Scenario, lurah: str
) -> None:
    app.users.add("nonaktif", "auditor", [], PASSWORD)
    app.users.set_active("nonaktif", False)
    names = {"known": lurah, "unknown": "tidak_ada_orangnya", "inactive": "nonaktif"}
    times: dict[str, list[float]] = {kind: [] for kind in names}
    for day in range(7):  # a day apart: no try is throttled by the ones before
        now = T0 + dt.timedelta(days=2 * day)
        for kind, name in names.items():
            started = time.perf_counter()
            result = app.sign_in.attempt(name, "salah-sekali", None, now=now)
            times[kind].append(time.perf_counter() - started)
            assert result.outcome == "failed"
    medians = {kind: statistics.median(values[1:]) for kind, values in times.items()}
    assert max(medians.values()) / min(medians.values()) < 3, medians


# ------------------------------------------------------------------------------ the log


def test_the_log_keeps_each_outcome_with_name_address_and_browser(
    web: Flask, scenario: Scenario, lurah: str, clock: Clock
) -> None:
    client = client_from(web)
    assert sign_in(client, lurah, PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    long_name = "x" * 400
    for _ in range(5):
        assert sign_in(client, long_name, "salah").status_code == 401
    assert sign_in(client, long_name, "salah").status_code == 429
    assert logged(scenario.app) == [
        (lurah, ADDRESS, "ok"),
        *[("x" * 150, ADDRESS, "failed")] * 5,
        ("x" * 150, ADDRESS, "throttled"),
    ]
    scenario.app.users.add(ADMIN, "admin", [], PASSWORD)
    rows = scenario.app.sign_in_log.list(ADMIN, limit=10)
    assert [r["outcome"] for r in rows] == ["throttled", *["failed"] * 5, "ok"]  # newest first
    assert rows[-1] == {
        "id": rows[-1]["id"],
        "at": "2026-03-02T01:00:00.000000Z",
        "name": lurah,
        "address": ADDRESS,
        "outcome": "ok",
        "user_agent": "uji/1.0",
    }


def test_only_admins_read_the_log_and_filters_are_checked(app: Rukun, lurah: str) -> None:
    app.users.add(ADMIN, "admin", [], PASSWORD)
    app.sign_in.attempt(lurah, "salah", ADDRESS, now=T0)
    with pytest.raises(Forbidden, match="may not read the sign-in log: it needs role admin"):
        app.sign_in_log.list(lurah)
    with pytest.raises(InvalidData, match="unknown outcome 'lost'"):
        app.sign_in_log.list(ADMIN, outcome="lost")
    with pytest.raises(InvalidData, match="limit"):
        app.sign_in_log.list(ADMIN, limit=0)
    assert [r["name"] for r in app.sign_in_log.list(ADMIN, name="LURAH")] == [lurah]


def test_the_admin_screen_filters_by_name_and_outcome_and_pages_back(
    web: Flask, scenario: Scenario, admin: FlaskClient, lurah: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_views, "PAGE_SIZE", 5)  # each failure costs an Argon2 check
    app = scenario.app
    for i in range(7):
        app.sign_in.attempt(f"tamu_{i}", "salah", None, now=T0 + dt.timedelta(seconds=i))
    app.sign_in.attempt(lurah, PASSWORD, ADDRESS, user_agent="Firefox/140", now=T0)
    page = admin.get("/admin/sign-ins/").get_data(as_text=True)
    assert page.count("<tr>") == 1 + 5  # the header and a full page: lurah, tamu_6 .. tamu_3
    assert "lurah_masuk" in page and "Firefox/140" in page and "02-03-2026 09:00 WITA" in page
    assert "tamu_3" in page and "tamu_2" not in page
    before = re.search(r"before=(\d+)", page)
    assert before is not None
    older = admin.get("/admin/sign-ins/", query_string={"before": before.group(1)})
    older_page = older.get_data(as_text=True)
    assert "tamu_2" in older_page and "tamu_0" in older_page and ADMIN in older_page
    assert "tamu_3" not in older_page and "before=" not in older_page  # the last page
    only_ok = admin.get("/admin/sign-ins/", query_string={"outcome": "ok"}).get_data(as_text=True)
    assert "lurah_masuk" in only_ok and "tamu_" not in only_ok
    by_name = admin.get("/admin/sign-ins/", query_string={"name": "TAMU"}).get_data(as_text=True)
    assert by_name.count("<code>tamu_") == 5 and "lurah_masuk" not in by_name
    assert re.search(r"before=\d+&amp;name=TAMU", by_name)  # the next page keeps the filter
    wrong = admin.get("/admin/sign-ins/", query_string={"outcome": "lost"})
    assert wrong.status_code == 200 and "hasil &#39;lost&#39; tidak dikenal" in wrong.get_data(
        as_text=True
    )
    lurah_client = web.test_client()
    login(lurah_client, lurah)
    assert lurah_client.get("/admin/sign-ins/").status_code == 403


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


def test_the_command_line_shows_the_log_to_admins_only(app: Rukun, cli: Cli, lurah: str) -> None:
    app.users.add(ADMIN, "admin", [], PASSWORD)
    app.sign_in.attempt(lurah, "salah", ADDRESS, now=T0)
    app.sign_in.attempt(lurah, PASSWORD, ADDRESS, now=T0 + dt.timedelta(seconds=1))
    rows = cli.json("user", "sign-ins", "--as", ADMIN, "--outcome", "failed")
    assert [(r["name"], r["address"], r["outcome"]) for r in rows] == [(lurah, ADDRESS, "failed")]
    human = cli("user", "sign-ins", "--as", ADMIN, "--name", "lurah", "--limit", "1").stdout
    assert human.splitlines() == [f"2026-03-02T01:00:01.000000Z  {'ok':<9}  {lurah:<20}  {ADDRESS}"]
    refused = cli("user", "sign-ins", "--as", lurah, code=3)
    assert "may not read the sign-in log" in refused.stderr
    assert (
        "limit must be between 1 and 1000"
        in cli("user", "sign-ins", "--as", ADMIN, "--limit", "0", code=1).stderr
    )
    choices = cli("user", "sign-ins", "--help").stdout
    assert all(outcome in choices for outcome in OUTCOMES)


# ------------------------------------------------------------------------------ database


def test_the_app_role_only_appends_to_the_sign_in_log_and_the_owner_prunes_it(
    app: Rukun, owner_engine: Engine, lurah: str
) -> None:
    assert "GRANT SELECT, INSERT ON public.sign_in_attempts TO rukun_app" in app_role_statements(
        "rukun_app", "public"
    )
    app.sign_in.attempt(lurah, "salah", ADDRESS, now=T0 - dt.timedelta(days=400))
    app.sign_in.attempt(lurah, "salah", ADDRESS, now=T0)
    if owner_engine is not app.engine:  # PostgreSQL as the least-privileged app role
        for statement in (
            "UPDATE sign_in_attempts SET outcome = 'ok'",
            "DELETE FROM sign_in_attempts",
        ):
            with pytest.raises(DBAPIError, match="permission denied"), app.engine.begin() as db:
                db.execute(text(statement))
    with owner_engine.begin() as connection:  # what docs/deploy.md's pruning job runs
        connection.execute(
            delete(SignInAttempt).where(SignInAttempt.at < T0 - dt.timedelta(days=90))
        )
    with app.context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SignInAttempt)) == 1
