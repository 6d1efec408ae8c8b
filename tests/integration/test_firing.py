"""The firing's hot path: the statements one fire sends (pinned, so they cannot quietly
grow back), what it returns with and without ``view``, the chain head on the case row, and
that nothing it skips reading (ledger, links, regions, a cached grant) changes a decision."""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError

import engine.runtime.cases as cases_module
from engine.errors import Conflict, Forbidden
from engine.runtime import Rukun, firing, signals
from engine.runtime.case_views import CaseRow
from engine.store import db
from engine.store.db import make_engine
from engine.store.models import Case
from tests.builders import Scenario
from tests.conftest import only_on

LINEAR = """\
rukun: 1
program: linear
title: Linear
subject: rt
states:
  - {name: s0, initial: true}
  - {name: s1}
  - {name: s2}
  - {name: s3, final: true}
transitions:
  - {trigger: t0, source: s0, dest: s1, roles: [ketua_rt]}
  - {trigger: t1, source: s1, dest: s2, roles: [ketua_rt]}
  - {trigger: t2, source: s2, dest: s3, roles: [ketua_rt]}
"""


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent on ``engine`` inside the block, first word each (BEGIN
    included where the driver sends it as a statement: SQLite)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def linear(scenario: Scenario) -> tuple[Rukun, str]:
    """The linear program published, a ketua RT of the scenario's RT (``rt_linear``)."""
    app = scenario.app
    app.definitions.publish_text(LINEAR, "linear.yaml", "test")
    app.users.add("rt_linear", "ketua_rt", [scenario.rt])
    return app, scenario.rt


def moves(engine: Engine) -> list[str]:
    """The statements that move a case and append its record: UPDATE and INSERT, on
    PostgreSQL one statement (``WITH moved AS (UPDATE ...) INSERT ...``)."""
    return ["WITH"] if engine.dialect.name == "postgresql" else ["UPDATE", "INSERT"]


def test_one_fire_sends_one_read_one_update_one_insert(linear: tuple[Rukun, str]) -> None:
    """The floor of a firing: read the case (with the actor's grants), update it, append
    the record. Nothing else (no ledger, links, regions, previous record or definition)."""
    app, rt = linear
    first = app.cases.start("linear", rt, 2026, "rt_linear")
    app.cases.fire(first["id"], "t0", "rt_linear")  # the definition version is now cached
    case = app.cases.start("linear", rt, 2026, "rt_linear")
    with statements(app.engine) as sent:
        app.cases.fire(case["id"], "t0", "rt_linear")
    begin = ["BEGIN"] if app.engine.dialect.name == "sqlite" else []
    assert sent == [*begin, "SELECT", *moves(app.engine)]


def test_a_guarded_probebaya_step_reads_only_what_its_guards_need(scenario: Scenario) -> None:
    """``verify`` has a documents guard (reads the case's data only) and generates the
    berita acara verifikasi: one read for the guard and the firing, one of the region
    names the paper prints, one asking whether its PDF is stored already, and its row
    (not the ledger, which that template does not name). The kecamatan's approval asks
    whether the kelurahan verified (the history): one more read than the floor."""
    case = scenario.probebaya_case("submitted")
    app = scenario.app
    begin = ["BEGIN"] if app.engine.dialect.name == "sqlite" else []
    with statements(app.engine) as sent:
        scenario.fire(case["id"], "verify", "kelurahan", view=False)
    paper = ["SELECT", "SELECT"]  # the region names; the document's row, if stored already
    if app.engine.dialect.name == "sqlite":
        assert sent == ["BEGIN", "SELECT", *paper, *moves(app.engine), "INSERT"]
    else:  # deferred: BEGIN once there is more to write than the move (the document's row)
        assert sent == ["SELECT", *paper, "BEGIN", *moves(app.engine), "INSERT"]
    with statements(app.engine) as sent:
        scenario.fire(case["id"], "approve_kecamatan", "kecamatan", view=False)
    assert sent == [*begin, "SELECT", "SELECT", *moves(app.engine)]


def test_a_case_row_has_the_case_tables_columns_in_order() -> None:
    """The firing builds its :class:`CaseRow` from the row's leading columns by position."""
    names = [f.name for f in dataclasses.fields(CaseRow)]
    assert names == [c.name for c in Case.__table__.columns]


def test_a_bulk_action_reads_its_cases_at_once_and_each_moves_alone(
    linear: tuple[Rukun, str],
) -> None:
    """One read for the chunk, then per case UPDATE and INSERT: on PostgreSQL each case its
    own transaction, on SQLite each its own savepoint in one transaction for the group."""
    app, rt = linear
    ids = [app.cases.start("linear", rt, 2026, "rt_linear")["id"] for _ in range(5)]
    app.cases.fire(ids[0], "t0", "rt_linear")  # ids[0] will be refused: not in s0 any more
    with statements(app.engine) as sent:
        results = app.cases.fire_many([*ids, 999_999], "t0", "rt_linear")
    assert [r["ok"] for r in results] == [False, True, True, True, True, False]
    assert results[0]["error"]["kind"] == "conflict"
    assert results[-1]["error"]["kind"] == "not_found"
    # the chunk's read; the case refused on it is decided again on a read of its own, as is
    # the one the chunk did not find
    if app.engine.dialect.name == "sqlite":
        refused = ["SAVEPOINT", "ROLLBACK", "RELEASE"]  # rolled back, the group going on
        again = [*refused[:1], "SELECT", *refused[1:]]
        moved = ["SAVEPOINT", "UPDATE", "INSERT", "RELEASE"]
        group = [*refused, *again, *moved * 4, *again]
        assert sent == ["BEGIN", "SELECT", "BEGIN", *group]
    else:
        assert sent == ["SELECT", "SELECT", *["WITH"] * 4, "SELECT"]


def test_a_case_changed_after_the_bulk_read_is_read_again(
    linear: tuple[Rukun, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot is only a starting point: the optimistic lock catches a case that moved
    in between, and that case is fired again from what it is now."""
    app, rt = linear
    ids = [app.cases.start("linear", rt, 2026, "rt_linear")["id"] for _ in range(2)]
    real = firing.load_snapshot

    def then_someone_moves_the_second(*args: Any) -> Any:
        snapshot = real(*args)
        app.cases.fire(ids[1], "t0", "rt_linear")
        return snapshot

    monkeypatch.setattr(cases_module, "load_snapshot", then_someone_moves_the_second)
    results = app.cases.fire_many(ids, "t0", "rt_linear")
    assert results[0]["ok"] is True
    assert results[1]["ok"] is False and "cannot be fired" in results[1]["error"]["message"]
    assert [r["seq"] for r in app.cases.history(ids[1])] == [1, 2]
    assert app.cases.verify(ids[1]) == []


def test_a_bulk_case_whose_writes_fail_rolls_back_alone(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second case's ledger row fails after its move and record were written: that
    case keeps nothing of it (on SQLite its savepoint is rolled back), the cases before
    and after it in the same group move with their ledger rows."""
    app = scenario.app
    ids = [scenario.probebaya_case("kecamatan_approved")["id"] for _ in range(4)]
    before = app.cases.history(ids[1])
    real, real_fire, firing_on = firing.ledger.entry_defaults, cases_module.fire_in, [0]

    def noting_the_case(context: Any, transaction: Any, case_id: int, *args: Any) -> Any:
        firing_on[0] = case_id
        return real_fire(context, transaction, case_id, *args)

    def the_second_fails(entry: Any) -> dict[str, Any]:
        return {**real(entry), "kind": None} if firing_on[0] == ids[1] else real(entry)

    monkeypatch.setattr(cases_module, "fire_in", noting_the_case)
    monkeypatch.setattr(firing.ledger, "entry_defaults", the_second_fails)
    city = scenario.users["city"]
    results = app.cases.fire_many(ids, "approve_city", city, {"approved_amount": "Rp 150.000.000"})
    monkeypatch.undo()
    assert [r["ok"] for r in results] == [True, False, True, True]
    assert results[1]["error"]["kind"] == "conflict"
    assert app.cases.history(ids[1]) == before
    for case_id, moved in zip(ids, [True, False, True, True], strict=True):
        shown = app.cases.show(case_id, viewer=city)
        assert shown["state"] == ("approved" if moved else "kecamatan_approved")
        assert shown["ledger"]["totals"]["approved"] == (150_000_000 if moved else 0)
    assert list(app.audit.verifier().run()) == []


def test_a_bulk_actions_signals_go_out_once_its_cases_are_committed(
    linear: tuple[Rukun, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver of ``transition_fired`` that reads the case on another connection sees
    it moved, although on SQLite its group's transaction held five cases; each case is
    signalled once, in order."""
    app, rt = linear
    ids = [app.cases.start("linear", rt, 2026, "rt_linear")["id"] for _ in range(5)]
    seen: list[tuple[int, str]] = []

    def fired(_sender: Any, case: dict[str, Any], **_kwargs: Any) -> None:
        seen.append((case["id"], app.cases.show(case["id"])["state"]))

    signals.transition_fired.connect(fired)
    try:
        results = app.cases.fire_many(ids, "t0", "rt_linear")
    finally:
        signals.transition_fired.disconnect(fired)
    assert all(r["ok"] for r in results)
    assert seen == [(case_id, "s1") for case_id in ids]


@only_on("sqlite")
@pytest.mark.parametrize(("group", "seconds", "begun"), [(2, 60.0, 3), (100, 0.0, 5)])
def test_a_sqlite_group_is_bounded_in_cases_and_in_time(
    linear: tuple[Rukun, str],
    monkeypatch: pytest.MonkeyPatch,
    group: int,
    seconds: float,
    begun: int,
) -> None:
    """Five cases in groups of two are three transactions; a group past its time takes no
    more cases (each is then its own transaction), so other writers never wait long."""
    app, rt = linear
    ids = [app.cases.start("linear", rt, 2026, "rt_linear")["id"] for _ in range(5)]
    monkeypatch.setattr(cases_module, "BULK_GROUP", group)
    monkeypatch.setattr(cases_module, "BULK_GROUP_SECONDS", seconds)
    with statements(app.engine) as sent:
        results = app.cases.fire_many(ids, "t0", "rt_linear")
    assert all(r["ok"] for r in results)
    assert sent.count("BEGIN") == 1 + begun  # the chunk's read, then each group
    assert sent.count("SAVEPOINT") == 5


def test_an_unexpected_error_in_a_bulk_action_rolls_back_its_group(
    linear: tuple[Rukun, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a refusal but a failure (a bug, a lost disk): it propagates. The cases of the
    groups committed before stay moved; the failing case's group is rolled back whole (on
    PostgreSQL, where each case is its own transaction, that is the failing case alone)."""
    app, rt = linear
    ids = [app.cases.start("linear", rt, 2026, "rt_linear")["id"] for _ in range(5)]
    monkeypatch.setattr(cases_module, "BULK_GROUP", 2)
    monkeypatch.setattr(cases_module, "BULK_GROUP_SECONDS", 60.0)
    real = cases_module.fire_in

    def the_fourth_breaks(context: Any, transaction: Any, case_id: int, *args: Any) -> Any:
        if case_id == ids[3]:
            raise RuntimeError("disk gone")
        return real(context, transaction, case_id, *args)

    monkeypatch.setattr(cases_module, "fire_in", the_fourth_breaks)
    with pytest.raises(RuntimeError, match="disk gone"):
        app.cases.fire_many(ids, "t0", "rt_linear")
    monkeypatch.undo()
    states = [app.cases.show(case_id)["state"] for case_id in ids]
    third = "s0" if app.engine.dialect.name == "sqlite" else "s1"
    assert states == ["s1", "s1", third, "s0", "s0"]
    for case_id in ids:
        assert app.cases.verify(case_id) == []


@only_on("sqlite")
def test_a_bulk_group_that_cannot_begin_reports_each_case_busy(
    linear: tuple[Rukun, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the database past the busy timeout: each case of the group
    that could not begin gets a conflict saying so, and nothing moves."""
    app, rt = linear
    ids = [app.cases.start("linear", rt, 2026, "rt_linear")["id"] for _ in range(3)]
    monkeypatch.setattr(cases_module, "BULK_GROUP", 2)
    write_engine = app.context.write_engine

    def impatient(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    event.listen(write_engine, "connect", impatient)
    write_engine.dispose()
    blocker = sqlite3.connect(str(app.engine.url.database), isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        results = app.cases.fire_many(ids, "t0", "rt_linear")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        event.remove(write_engine, "connect", impatient)
        write_engine.dispose()
    assert [r["ok"] for r in results] == [False] * 3
    assert {r["error"]["kind"] for r in results} == {"conflict"}
    assert all("being changed by someone else" in r["error"]["message"] for r in results)
    assert [app.cases.show(case_id)["state"] for case_id in ids] == ["s0"] * 3


def test_the_result_is_the_case_and_with_view_what_show_gives(scenario: Scenario) -> None:
    case = scenario.probebaya_case("kecamatan_approved")
    city = scenario.users["city"]
    fired = scenario.fire(
        case["id"], "approve_city", "city", {"approved_amount": "Rp 200.000.000"}, view=False
    )
    shown = scenario.app.cases.show(case["id"], viewer=city)
    assert "ledger" not in fired and "links" not in fired
    assert fired == {k: v for k, v in shown.items() if k not in ("ledger", "links")}
    role, values, documents = scenario.step("disburse_tranche_1")
    viewed = scenario.fire(case["id"], "disburse_tranche_1", role, values, documents, view=True)
    assert viewed == scenario.app.cases.show(case["id"], viewer=city)
    assert viewed["ledger"]["totals"]["disbursed"] == 120_000_000


def test_the_case_row_holds_the_chain_head(scenario: Scenario) -> None:
    case = scenario.probebaya_case("verified")
    app = scenario.app
    with app.context.sessions() as session:
        stored = session.get(Case, case["id"])
        assert stored is not None
        head, version = stored.head_hash, stored.version
    history = app.cases.history(case["id"])
    assert (head, version) == (history[-1]["hash"], history[-1]["seq"])
    assert app.cases.verify(case["id"]) == []


def test_a_stale_version_is_refused_and_changes_nothing(linear: tuple[Rukun, str]) -> None:
    app, rt = linear
    case = app.cases.start("linear", rt, 2026, "rt_linear")
    app.cases.fire(case["id"], "t0", "rt_linear", expected_version=1)
    with pytest.raises(Conflict, match="at version 2, not 1"):
        app.cases.fire(case["id"], "t1", "rt_linear", expected_version=1)
    assert [r["seq"] for r in app.cases.history(case["id"])] == [1, 2]


def test_a_grant_taken_away_counts_at_the_next_fire(linear: tuple[Rukun, str]) -> None:
    """The grants are read with the case on every firing, never cached."""
    app, rt = linear
    case = app.cases.start("linear", rt, 2026, "rt_linear")
    app.cases.fire(case["id"], "t0", "rt_linear")
    app.users.grant("rt_linear", "pokmas", rt)  # a user keeps at least one grant
    app.users.revoke("rt_linear", "ketua_rt", rt)
    with pytest.raises(Forbidden, match="needs role ketua_rt"):
        app.cases.fire(case["id"], "t1", "rt_linear")
    with app.context.sessions() as session:
        state = session.scalar(select(Case.state).where(Case.id == case["id"]))
    assert state == "s1"


@contextmanager
def round_trips(engine: Engine) -> Iterator[list[str]]:
    """PostgreSQL: what the client sends the server in the block, one entry per round trip
    (a simple query's text, or the statements of one extended-protocol exchange, up to its
    Sync), read from libpq's protocol trace of every pooled connection checked out."""
    traced: list[tuple[Any, Any]] = []
    exchanges: list[str] = []
    with ExitStack() as logs:

        def trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            log = logs.enter_context(tempfile.TemporaryFile("w+"))
            dbapi_connection.pgconn.trace(log.fileno())
            dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
            traced.append((dbapi_connection, log))

        event.listen(engine, "checkout", trace)
        try:
            yield exchanges
        finally:
            event.remove(engine, "checkout", trace)
            for dbapi_connection, log in traced:
                dbapi_connection.pgconn.untrace()
                log.seek(0)
                exchanges.extend(_exchanges(log.read()))


def _exchanges(trace: str) -> list[str]:
    found, parsed = [], []
    for line in trace.splitlines():
        direction, _length, message, *rest = [*line.split("\t"), "", ""]
        if direction != "F":
            continue
        if message == "Query":
            found.append(rest[0].strip().strip('"').split()[0].upper())
        elif message == "Parse":
            parsed.append(rest[0].split('"')[3].split()[0].upper())
        elif message == "Sync":
            found.append("+".join(parsed))
            parsed = []
    return found


@only_on("postgresql")
def test_a_fire_on_postgresql_is_two_round_trips(linear: tuple[Rukun, str]) -> None:
    """Read the case, then one statement that moves it and appends its record, atomic by
    itself: no BEGIN, no COMMIT, no ping of a connection in steady use."""
    app, rt = linear
    first = app.cases.start("linear", rt, 2026, "rt_linear")
    app.cases.fire(first["id"], "t0", "rt_linear")
    case = app.cases.start("linear", rt, 2026, "rt_linear")
    with round_trips(app.engine) as sent:
        app.cases.fire(case["id"], "t0", "rt_linear")
    assert sent == ["SELECT", "WITH"]
    assert [r["seq"] for r in app.cases.history(case["id"])] == [1, 2]
    assert app.cases.verify(case["id"]) == []


@only_on("postgresql")
def test_a_fire_that_posts_to_the_ledger_is_one_transaction(scenario: Scenario) -> None:
    """A disbursement writes the ledger's rows too: BEGIN before the first write, and the
    case, its record and the ledger's rows committed together."""
    case = scenario.probebaya_case("approved")
    role, values, documents = scenario.step("disburse_tranche_1")
    with round_trips(scenario.app.engine) as sent:
        scenario.fire(case["id"], "disburse_tranche_1", role, values, documents, view=False)
    assert "BEGIN" in sent and sent[-1] == "COMMIT"
    begun = sent.index("BEGIN")
    assert "WITH" in sent[begun:] and any("INSERT" in s for s in sent[sent.index("WITH") :])


def test_a_ledger_row_that_fails_undoes_the_move(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case's move and its record are written before the ledger's rows; when those
    fail, none of it stays (on PostgreSQL: they were one transaction, not an autocommitted
    move followed by a failed insert)."""
    case = scenario.probebaya_case("approved")
    before = scenario.app.cases.history(case["id"])
    real = firing.ledger.entry_defaults
    monkeypatch.setattr(firing.ledger, "entry_defaults", lambda e: {**real(e), "kind": None})
    role, values, documents = scenario.step("disburse_tranche_1")
    with pytest.raises(Conflict):
        scenario.fire(case["id"], "disburse_tranche_1", role, values, documents, view=False)
    monkeypatch.undo()
    assert scenario.app.cases.history(case["id"]) == before
    shown = scenario.app.cases.show(case["id"], viewer=scenario.users["city"])
    assert shown["state"] == "approved" and shown["version"] == before[-1]["seq"]
    assert shown["ledger"]["totals"]["disbursed"] == 0
    assert scenario.app.cases.verify(case["id"]) == []


@only_on("postgresql")
def test_a_case_moved_between_the_read_and_the_write_is_decided_again(
    linear: tuple[Rukun, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone else moves the case after this firing read it (unlocked: SQLite's write
    transaction would make the other firing wait instead): the write finds another version
    and writes nothing; the firing reads the case again and decides on what it is now (t0
    is no longer open), and the history has no gap or duplicate."""
    app, rt = linear
    case = app.cases.start("linear", rt, 2026, "rt_linear")
    real = firing.load_rows
    calls: list[int] = []

    def then_someone_moves_it(*args: Any) -> Any:
        rows = real(*args)
        calls.append(len(calls))
        if calls == [0]:
            app.cases.fire(case["id"], "t0", "rt_linear")
        return rows

    monkeypatch.setattr(firing, "load_rows", then_someone_moves_it)
    with pytest.raises(Conflict, match="cannot be fired on case"):
        app.cases.fire(case["id"], "t0", "rt_linear")
    assert calls == [0, 1, 2]  # this firing's read, the other's, this one's second read
    monkeypatch.undo()
    assert [r["seq"] for r in app.cases.history(case["id"])] == [1, 2]
    assert app.cases.verify(case["id"]) == []


@only_on("postgresql")
def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    linear: tuple[Rukun, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool pings a connection that sat idle (here: any), so one the server dropped is
    replaced before a firing uses it; a connection in steady use is not pinged (above),
    and if it died, the firing fails once with nothing written and the next one works."""
    app, rt = linear
    case = app.cases.start("linear", rt, 2026, "rt_linear")

    def drop_the_pooled_connection() -> None:
        app.engine.dispose()
        with app.engine.connect() as connection:  # the pool now holds this one only
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        other = make_engine(app.context.settings.database_url)  # a role may end its own
        with other.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)}, 5000)")
        other.dispose()

    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)
    drop_the_pooled_connection()
    app.cases.fire(case["id"], "t0", "rt_linear")
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 3600.0)
    drop_the_pooled_connection()
    with pytest.raises(OperationalError):
        app.cases.fire(case["id"], "t1", "rt_linear")
    app.cases.fire(case["id"], "t1", "rt_linear")
    assert [r["seq"] for r in app.cases.history(case["id"])] == [1, 2, 3]
    assert app.cases.verify(case["id"]) == []
