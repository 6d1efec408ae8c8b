"""The history is append-only and tamper-evident, on every configured database."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from engine.store.chain import GENESIS, record_hash
from tests.builders import Scenario


def test_each_record_links_to_the_previous_hash(scenario: Scenario) -> None:
    case = scenario.probebaya_case("verified")
    history = scenario.app.cases.history(case["id"])
    assert history[0]["prev_hash"] == GENESIS
    for earlier, later in pairwise(history):
        assert later["prev_hash"] == earlier["hash"]
    assert all(record_hash(r) == r["hash"] for r in history)


def test_record_holds_actor_role_version_and_guard_results(scenario: Scenario) -> None:
    case = scenario.probebaya_case("rembug_held")
    record = scenario.app.cases.history(case["id"])[-1]
    assert record["actor"] == scenario.users["ketua_rt"]
    assert record["role"] == "ketua_rt"
    assert record["definition_version"] == 1
    assert len(record["definition_sha256"]) == 64
    assert record["at"].endswith("Z")
    assert [g["guard"] for g in record["guards"]] == ["quorum", "documents"]
    assert all(g["ok"] is True for g in record["guards"])
    # the uploads and the generated berita acara, each by its digest
    assert set(record["documents"]) == {"minutes", "attendance_list", "ba_rembug"}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transition_records SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM transition_records WHERE seq = 2",
    ],
)
def test_database_refuses_to_change_history(
    scenario: Scenario, owner_engine: Engine, statement: str
) -> None:
    case = scenario.probebaya_case("rembug_held")
    with pytest.raises(DBAPIError, match="append-only"), owner_engine.begin() as connection:
        connection.execute(text(statement))
    assert len(scenario.app.cases.history(case["id"])) == 2
    assert scenario.app.cases.verify(case["id"]) == []


def test_verify_reports_a_record_changed_behind_the_engines_back(
    scenario: Scenario, owner_engine: Engine
) -> None:
    case = scenario.probebaya_case("submitted")
    engine = owner_engine
    drop = (
        ["DROP TRIGGER transition_records_no_update"]
        if engine.dialect.name == "sqlite"
        else ["DROP TRIGGER transition_records_append_only ON transition_records"]
    )
    with engine.begin() as connection:
        for statement in drop:
            connection.execute(text(statement))
        connection.execute(
            text("UPDATE transition_records SET actor = 'mallory' WHERE case_id = :id AND seq = 2"),
            {"id": case["id"]},
        )
    breaks = scenario.app.cases.verify(case["id"])
    assert breaks == [{"seq": 2, "reason": "hash does not match the record's content"}]
