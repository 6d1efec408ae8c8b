"""The firing's hot path: the statements one fire sends (pinned, so they cannot quietly
grow back), what it returns with and without ``view``, the chain head on the case row, and
that nothing it skips reading (ledger, links, regions, a cached grant) changes a decision."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from engine.errors import Conflict, Forbidden
from engine.runtime import Rukun
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
    assert sent == [*begin, "SELECT", "UPDATE", "INSERT"]


def test_a_guarded_probebaya_step_reads_only_what_its_guards_need(scenario: Scenario) -> None:
    """``verify`` has a documents guard (reads the case's data only): still one read. The
    kecamatan's approval asks whether the kelurahan verified (the history): one more."""
    case = scenario.probebaya_case("submitted")
    app = scenario.app
    begin = ["BEGIN"] if app.engine.dialect.name == "sqlite" else []
    with statements(app.engine) as sent:
        scenario.fire(case["id"], "verify", "kelurahan", view=False)
    assert sent == [*begin, "SELECT", "UPDATE", "INSERT"]
    with statements(app.engine) as sent:
        scenario.fire(case["id"], "approve_kecamatan", "kecamatan", view=False)
    assert sent == [*begin, "SELECT", "SELECT", "UPDATE", "INSERT"]


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
