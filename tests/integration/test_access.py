"""Role and region scope: who may start and fire what, where; and what `triggers` tells."""

from __future__ import annotations

import pytest

from engine.errors import Forbidden, InvalidData, NotFound
from tests.builders import Scenario


def other_kelurahan(scenario: Scenario) -> str:
    own = scenario.rt.rsplit(".", 2)[0]
    return next(r["code"] for r in scenario.app.regions.list(level="kelurahan") if r["code"] != own)


def test_wrong_role_is_forbidden_and_names_the_needed_role(scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    with pytest.raises(Forbidden, match="needs role kelurahan"):
        scenario.fire(case["id"], "verify", "kecamatan")


def test_right_role_outside_the_region_scope_is_forbidden(scenario: Scenario) -> None:
    scenario.app.users.add("lurah_lain", "kelurahan", [other_kelurahan(scenario)])
    case = scenario.probebaya_case("submitted")
    with pytest.raises(Forbidden, match="outside their region scope"):
        scenario.app.cases.fire(case["id"], "verify", "lurah_lain")
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"


def test_ketua_rt_cannot_start_a_case_for_another_rt(scenario: Scenario) -> None:
    neighbour = next(
        r["code"]
        for r in scenario.app.regions.list(level="rt")
        if r["code"] != scenario.rt and r["code"].startswith("64.72.")
    )
    with pytest.raises(Forbidden, match="outside their region scope"):
        scenario.start(subject=neighbour)


def test_a_program_runs_only_in_its_regions(scenario: Scenario) -> None:
    banjarbaru = next(
        r["code"] for r in scenario.app.regions.list(level="rt") if r["code"].startswith("63.72.")
    )
    scenario.app.users.add("rt_banjarbaru", "ketua_rt", [banjarbaru])
    with pytest.raises(InvalidData, match=r"probebaya runs only in 64\.72"):
        scenario.app.cases.start("probebaya", banjarbaru, 2026, "rt_banjarbaru")


def test_user_without_region_acts_wherever_the_role_allows(scenario: Scenario) -> None:
    scenario.app.users.add("lurah_pusat", "kelurahan")
    case = scenario.probebaya_case("submitted")
    assert scenario.app.cases.fire(case["id"], "verify", "lurah_pusat")["state"] == "verified"


def test_unknown_and_inactive_users_are_not_found(scenario: Scenario) -> None:
    case = scenario.start()
    with pytest.raises(NotFound, match="no active user 'nobody'"):
        scenario.app.cases.fire(case["id"], "cancel", "nobody", {"cancel_reason": "x"})


def test_case_subject_must_be_of_the_programs_level(scenario: Scenario) -> None:
    kelurahan = scenario.rt.rsplit(".", 2)[0]
    with pytest.raises(InvalidData, match="cases are about a rt"):
        scenario.app.cases.start("probebaya", kelurahan, 2026, scenario.users["ketua_rt"])


def test_role_scope_must_match_the_role_level(scenario: Scenario) -> None:
    with pytest.raises(InvalidData, match="scoped to a kelurahan"):
        scenario.app.users.add("salah", "kelurahan", [scenario.rt])


def test_triggers_tell_each_user_what_they_may_fire_and_why_not(scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    as_kelurahan = {
        o.trigger: o for o in scenario.app.cases.triggers(case["id"], scenario.users["kelurahan"])
    }
    assert set(as_kelurahan) == {"return_for_revision", "verify", "cancel"}
    assert as_kelurahan["verify"].allowed is True
    assert as_kelurahan["verify"].dest == "verified"
    assert as_kelurahan["cancel"].allowed is False
    as_rt = {
        o.trigger: o for o in scenario.app.cases.triggers(case["id"], scenario.users["ketua_rt"])
    }
    assert as_rt["verify"].allowed is False
    assert any("needs role kelurahan" in reason for reason in as_rt["verify"].reasons)


def test_triggers_report_guards_waiting_on_form_input_as_pending(scenario: Scenario) -> None:
    case = scenario.start()
    [rembug] = [
        o
        for o in scenario.app.cases.triggers(case["id"], scenario.users["ketua_rt"])
        if o.trigger == "record_rembug"
    ]
    assert rembug.allowed is True
    assert {g.name: g.ok for g in rembug.guards} == {"quorum": None, "documents": None}


def test_triggers_evaluate_given_form_values_before_submitting(scenario: Scenario) -> None:
    case = scenario.start()
    options = scenario.app.cases.triggers(
        case["id"], scenario.users["ketua_rt"], {"households_total": "40", "attendees": "12"}
    )
    [rembug] = [o for o in options if o.trigger == "record_rembug"]
    assert rembug.allowed is False
    assert any("12 of 40 attended" in reason for reason in rembug.reasons)
