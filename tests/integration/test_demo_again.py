"""`rukun demo` run again, as a new user does after Ctrl+C: the same folder's demo database
is reused when complete (new passwords that work), started over when an earlier run stopped
part-way or with --reset (only the demo's own file), and a port that is taken is told in one
line, exit 2, before anything is seeded or served; `rukun serve` says the same."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from admin import create_app
from engine.cli import main
from engine.demo import DemoDatabase, DemoState, ensure_demo_users
from engine.runtime import Rukun
from engine.settings import Settings
from engine.store.models import Case, User
from tests.conftest import only_on
from tests.integration.test_admin import csrf
from tests.integration.test_demo_ui import sign_in

RUKUN = Path(sys.executable).with_name("rukun")
DATABASE = "rukun.sqlite"
STORAGE = "rukun-storage"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def passwords(self) -> dict[str, str]:
        """The demo users' passwords the run printed."""
        return dict(re.findall(r"^  (demo_\S+) +(\S+)", self.stdout, re.MULTILINE))


def environment() -> dict[str, str]:
    """The environment of a new user: no RUKUN_* settings (the database is rukun.sqlite in
    the working directory)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RUKUN_")}


def rukun(folder: Path, *args: str, timeout: float = 300) -> Run:
    done = subprocess.run(
        [str(RUKUN), *args],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def settings_of(folder: Path) -> Settings:
    return Settings.from_env(
        {
            "RUKUN_DATABASE_URL": f"sqlite:///{folder / DATABASE}",
            "RUKUN_STORAGE": str(folder / STORAGE),
        }
    )


def demo_app(folder: Path) -> Rukun:
    """The engine on the demo database of ``folder``, as `rukun` run there sees it."""
    return Rukun(settings_of(folder))


def case_count(folder: Path) -> int:
    app = demo_app(folder)
    try:
        with app.context.sessions() as session:
            return session.scalar(select(func.count(Case.id))) or 0
    finally:
        app.close()


@dataclass(frozen=True)
class Seeded:
    """A folder where `rukun demo --no-serve` ran once, and what it printed."""

    folder: Path
    run: Run
    cases: int


@pytest.fixture(scope="module")
def seeded_once(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    folder = tmp_path_factory.mktemp("demo")
    run = rukun(folder, "demo", "--year", "2026", "--no-serve")
    assert run.code == 0, run.stderr
    return Seeded(folder, run, case_count(folder))


@pytest.fixture
def seeded(seeded_once: Seeded, tmp_path: Path) -> Seeded:
    """A copy of the once-seeded folder of its own for each test."""
    folder = tmp_path / "demo"
    shutil.copytree(seeded_once.folder, folder)
    return Seeded(folder, seeded_once.run, seeded_once.cases)


def test_a_second_demo_reuses_the_first_and_prints_new_passwords_that_work(
    seeded: Seeded,
) -> None:
    again = rukun(seeded.folder, "demo", "--no-serve")
    assert again.code == 0, again.stderr
    assert again.stderr == ""
    assert f"reusing the demo database {seeded.folder / DATABASE}" in again.stdout
    assert "`rukun demo --reset` starts over" in again.stdout
    assert "case 1 is closed" not in again.stdout  # nothing seeded again
    assert case_count(seeded.folder) == seeded.cases
    first, second = seeded.run.passwords(), again.passwords()
    assert set(second) == set(first) and "demo_auditor" in second
    assert all(second[name] != first[name] for name in second)
    app = demo_app(seeded.folder)
    try:
        web = create_app(app, {"TESTING": True, "SECRET_KEY": "test"})
        sign_in(web.test_client(), "demo_auditor", second["demo_auditor"])
        stale = web.test_client()
        answer = stale.post(
            "/login",
            data={
                "name": "demo_kelurahan",
                "password": first["demo_kelurahan"],
                "csrf_token": csrf(stale, "/login"),
            },
        )
        assert answer.status_code != 302  # the first run's password no longer signs in
    finally:
        app.close()


def test_reset_starts_over_with_a_fresh_demo(seeded: Seeded) -> None:
    app = demo_app(seeded.folder)
    app.users.add("someone_new", "auditor", [])  # made after the demo: gone with the reset
    app.close()
    again = rukun(seeded.folder, "demo", "--year", "2026", "--no-serve", "--reset")
    assert again.code == 0, again.stderr
    assert "--reset: removing the demo database" in again.stdout
    assert "case 1 is closed" in again.stdout and "history chain: intact" in again.stdout
    assert case_count(seeded.folder) == seeded.cases
    app = demo_app(seeded.folder)
    try:
        assert "someone_new" not in {u["name"] for u in app.users.list()}
        assert list(app.audit.verifier().run()) == []
        missing = [d for d in (seeded.folder / STORAGE).rglob("*") if d.is_file()]
        assert missing  # the documents the new demo stored are there again
    finally:
        app.close()


def test_reset_removes_the_database_and_its_documents_and_nothing_else(seeded: Seeded) -> None:
    storage = seeded.folder / STORAGE
    documents = [p for p in storage.rglob("*") if p.is_file()]
    stranger = storage / "notes.txt"  # someone's file in the storage folder
    stranger.write_text("not the demo's", encoding="utf-8")
    said: list[str] = []
    state = DemoDatabase(settings_of(seeded.folder)).prepare(True, said.append)
    assert state is DemoState.EMPTY
    assert said == [
        f"--reset: removing the demo database {seeded.folder / DATABASE} and its documents"
    ]
    assert documents and not any(p.exists() for p in documents)
    assert sorted(p.relative_to(seeded.folder) for p in seeded.folder.rglob("*")) == [
        Path(STORAGE),
        Path(STORAGE, "notes.txt"),
    ]


def test_reset_with_no_demo_database_yet_removes_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    assert DemoDatabase(settings_of(tmp_path)).prepare(True, said.append) is DemoState.EMPTY
    assert said == [f"nothing to reset: no demo database at {tmp_path / DATABASE} yet"]
    assert list(tmp_path.iterdir()) == []


def seeding_demo(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(RUKUN), "demo", "--year", "2026", "--no-serve"],
        cwd=folder,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def cases_in(path: Path) -> int:
    """Cases committed so far in the SQLite file at ``path`` (0 while it has none)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as connection:
            return int(connection.execute("SELECT count(*) FROM cases").fetchone()[0])
    except sqlite3.Error:  # no file, or no tables yet
        return 0


def test_a_demo_killed_while_seeding_is_not_reused_but_started_over(tmp_path: Path) -> None:
    process = seeding_demo(tmp_path)
    try:
        deadline = time.monotonic() + 120
        while cases_in(tmp_path / DATABASE) < 1:
            assert process.poll() is None, "the demo ended before its first case"
            assert time.monotonic() < deadline, "no case after two minutes"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # a crash: nothing runs after this
    finally:
        process.wait(timeout=30)
    half = cases_in(tmp_path / DATABASE)
    assert half >= 1
    again = rukun(tmp_path, "demo", "--year", "2026", "--no-serve")
    assert again.code == 0, again.stderr
    assert "reusing" not in again.stdout
    assert "was left half-seeded" in again.stdout and "starting over" in again.stdout
    assert "case 1 is closed" in again.stdout and "history chain: intact" in again.stdout
    assert f"anchor over {case_count(tmp_path)} cases" in again.stdout
    third = rukun(tmp_path, "demo", "--no-serve")  # and the complete one is then reused
    assert third.code == 0, third.stderr
    assert "reusing the demo database" in third.stdout


def test_a_half_seeded_database_the_demo_did_not_make_is_refused(tmp_path: Path) -> None:
    # a database someone made and seeded part of a demo into: the demo cannot tell it from
    # someone's data, so it neither seeds on top nor removes it
    assert rukun(tmp_path, "db", "upgrade").code == 0
    app = demo_app(tmp_path)
    app.regions.load_demo()
    rt = next(r["code"] for r in app.regions.list(level="rt") if r["code"].startswith("64.72."))
    ensure_demo_users(app, rt)
    with app.context.sessions() as session:
        users = session.scalar(select(func.count(User.name)))
    app.close()
    for args in (["demo", "--no-serve"], ["demo", "--no-serve", "--reset"]):
        refused = rukun(tmp_path, *args)
        assert refused.code == 4, (args, refused.stdout, refused.stderr)
        assert refused.stdout == ""
        [line] = refused.stderr.splitlines()
        assert str(tmp_path / DATABASE) in line and "RUKUN_DATABASE_URL" in line
    assert "holds data but no complete demo" in rukun(tmp_path, "demo", "--no-serve").stderr
    assert "--reset removes only" in rukun(tmp_path, "demo", "--reset", "--no-serve").stderr
    app = demo_app(tmp_path)
    try:
        with app.context.sessions() as session:
            assert session.scalar(select(func.count(User.name))) == users
        assert app.cases.list() == []
    finally:
        app.close()


@only_on("postgresql")
def test_reset_refuses_a_postgresql_database(app: Rukun, env: dict[str, str]) -> None:
    app.regions.load_demo()
    result = CliRunner().invoke(main, ["demo", "--reset", "--no-serve"], env=env)
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith("error: --reset removes only a SQLite file")
    assert "***" in result.stderr  # the URL is named without its password
    assert app.regions.list(level="rt")  # nothing removed


def test_scale_seeds_on_top_of_a_complete_demo_and_says_how_to_start_over(
    seeded: Seeded,
) -> None:
    scaled = rukun(seeded.folder, "demo", "--scale", "50", "--no-serve")
    assert scaled.code == 0, scaled.stderr
    assert "reusing the demo database" in scaled.stdout and "seeded 50 cases" in scaled.stdout
    assert case_count(seeded.folder) == seeded.cases + 50
    again = rukun(seeded.folder, "demo", "--scale", "50", "--no-serve")
    assert again.code == 0, again.stderr
    assert "nothing seeded" in again.stdout
    more = rukun(seeded.folder, "demo", "--scale", "80", "--no-serve")
    assert more.code == 4
    assert "fewer than 80" in more.stderr and "--reset --scale 80" in more.stderr
    assert case_count(seeded.folder) == seeded.cases + 50


# ---------------------------------------------------------------- the port


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def assert_told_port_taken(run: Run, port: int) -> None:
    assert run.code == 2, (run.stdout, run.stderr)
    [line] = run.stderr.splitlines()
    assert f"port {port}" in line and "--port" in line, line
    assert "Rukun on" not in run.stdout and "http://" not in run.stdout


def test_a_demo_on_a_taken_port_says_so_before_seeding_anything(
    tmp_path: Path, taken_port: int
) -> None:
    run = rukun(tmp_path, "demo", "--host", "127.0.0.1", "--port", str(taken_port))
    assert_told_port_taken(run, taken_port)
    assert run.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no database file, no storage folder


def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path: Path, taken_port: int) -> None:
    assert rukun(tmp_path, "db", "upgrade").code == 0
    run = rukun(tmp_path, "serve", "--port", str(taken_port))
    assert_told_port_taken(run, taken_port)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_reused_demo_serves_the_ui(seeded: Seeded) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(RUKUN), "demo", "--port", str(port)],
        cwd=seeded.folder,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Rukun on"):
                break
        assert lines[-1] == f"Rukun on http://127.0.0.1:{port}/ (Ctrl+C stops it)\n", lines
        assert lines[0].startswith("reusing the demo database")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30) as page:
            assert page.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
