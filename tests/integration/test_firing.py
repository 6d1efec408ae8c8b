"""The firing's hot path: the statements one fire sends (pinned, so they cannot quietly
grow back), what it returns with and without ``view``, the chain head on the case row, and
that nothing it skips reading (ledger, links, regions, a cached grant) changes a decision."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

import engine.runtime.cases as cases_module
from engine.errors import Conflict, Forbidden
from engine.runtime import Rukun, firing
from engine.runtime.case_views import CaseRow
from engine.store.models import Case
from tests.builders import Scenario

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
    """``verify`` has a documents guard (reads the case's data only): still one read. The
    kecamatan's approval asks whether the kelurahan verified (the history): one more."""
    case = scenario.probebaya_case("submitted")
    app = scenario.app
    begin = ["BEGIN"] if app.engine.dialect.name == "sqlite" else []
    with statements(app.engine) as sent:
        scenario.fire(case["id"], "verify", "kelurahan", view=False)
    assert sent == [*begin, "SELECT", *moves(app.engine)]
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
    """One read for the chunk, then per case its own transaction: UPDATE and INSERT."""
    app, rt = linear
    ids = [app.cases.start("linear", rt, 2026, "rt_linear")["id"] for _ in range(5)]
    app.cases.fire(ids[0], "t0", "rt_linear")  # ids[0] will be refused: not in s0 any more
    begin = ["BEGIN"] if app.engine.dialect.name == "sqlite" else []
    with statements(app.engine) as sent:
        results = app.cases.fire_many([*ids, 999_999], "t0", "rt_linear")
    assert [r["ok"] for r in results] == [False, True, True, True, True, False]
    assert results[0]["error"]["kind"] == "conflict"
    assert results[-1]["error"]["kind"] == "not_found"
    moved = [*begin, *moves(app.engine)]
    # the chunk's read; the case refused on it is decided again on a read of its own, as is
    # the one the chunk did not find
    again = [*begin, *begin, "SELECT"]
    assert sent == [*begin, "SELECT", *again, *moved * 4, *begin, "SELECT"]


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
