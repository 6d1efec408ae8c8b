"""The happy path end to end through the runtime, on every configured database."""

from __future__ import annotations

from tests.builders import Scenario


def test_probebaya_happy_path_reaches_closed_with_an_intact_chain(scenario: Scenario) -> None:
    case = scenario.probebaya_case("closed")
    assert case["state"] == "closed"
    history = scenario.app.cases.history(case["id"])
    assert [r["seq"] for r in history] == list(range(1, 18))
    assert history[0]["kind"] == "start"
    assert scenario.app.cases.verify(case["id"]) == []
