"""Role and region scope: who may start and fire what, where; and what `triggers` tells."""

from __future__ import annotations

import pytest

from engine.errors import Forbidden, InvalidData, NotFound
from tests.builders import ROOT, Scenario


def ancestor(scenario: Scenario, level: str) -> str:
    """The demo RT's ancestor at ``level`` (codes are dotted: kecamatan 64.72.01, ...)."""
    parts = {"kecamatan": 3, "kelurahan": 4, "rw": 5}[level]
    return ".".join(scenario.rt.split(".")[:parts])


def elsewhere(scenario: Scenario, level: str) -> str:
    """A region of ``level`` in Samarinda that does not contain the demo RT."""
    own = ancestor(scenario, level) if level != "rt" else scenario.rt
    return next(
        r["code"]
        for r in scenario.app.regions.list(level=level)
        if r["code"] != own and r["code"].startswith("64.72.")
    )


def snapshot(scenario: Scenario, case_id: int) -> tuple[object, object]:
    return scenario.app.cases.show(case_id), scenario.app.cases.history(case_id)


def test_wrong_role_is_forbidden_and_names_the_needed_role(scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    before = snapshot(scenario, case["id"])
    with pytest.raises(Forbidden, match=r"needs role kelurahan \(user has: kecamatan@64\.72\."):
        scenario.fire(case["id"], "verify", "kecamatan")
    assert snapshot(scenario, case["id"]) == before


@pytest.mark.parametrize(
    ("role", "level", "state", "trigger", "values"),
    [
        ("kelurahan", "kelurahan", "submitted", "verify", {}),
        ("kecamatan", "kecamatan", "verified", "approve_kecamatan", {}),
        ("ketua_rt", "rt", "rembug_held", "submit_proposal", {"budget": "Rp 200.000.000"}),
    ],
)
def test_right_role_outside_the_region_scope_is_forbidden(
    scenario: Scenario, role: str, level: str, state: str, trigger: str, values: dict[str, str]
) -> None:
    scenario.app.users.add("orang_lain", role, [elsewhere(scenario, level)])
    case = scenario.probebaya_case(state)
    before = snapshot(scenario, case["id"])
    # refused before anything about the case is told (its version, state, triggers)
    with pytest.raises(Forbidden, match=r"may not see case .*: outside their region scope"):
        scenario.app.cases.fire(case["id"], trigger, "orang_lain", values)
    assert snapshot(scenario, case["id"]) == before


def test_a_user_outside_the_scope_cannot_read_the_case_nor_list_it(scenario: Scenario) -> None:
    scenario.app.users.add("lurah_lain", "kelurahan", [elsewhere(scenario, "kelurahan")])
    case = scenario.start()
    with pytest.raises(Forbidden, match="outside their region scope"):
        scenario.app.cases.show(case["id"], "lurah_lain")
    with pytest.raises(Forbidden):
        scenario.app.cases.history(case["id"], "lurah_lain")
    assert scenario.app.cases.list(viewer="lurah_lain") == []
    assert [c["id"] for c in scenario.app.cases.list(viewer=scenario.users["kelurahan"])] == [
        case["id"]
    ]


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
    scenario.app.users.add("rt_pusat", "ketua_rt")
    case = scenario.probebaya_case("submitted")
    assert scenario.app.cases.fire(case["id"], "verify", "lurah_pusat")["state"] == "verified"
    assert scenario.app.cases.history(case["id"])[-1]["actor"] == "lurah_pusat"
    other = scenario.app.cases.start("probebaya", elsewhere(scenario, "rt"), 2026, "rt_pusat")
    assert other["subject"] != scenario.rt


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
    scenario.app.users.add("lurah_lain", "kelurahan", [elsewhere(scenario, "kelurahan")])
    as_other = {o.trigger: o for o in scenario.app.cases.triggers(case["id"], "lurah_lain")}
    assert as_other["verify"].allowed is False
    assert any("outside their region scope" in r for r in as_other["verify"].reasons)


def test_triggers_report_guards_waiting_on_form_input_as_pending(scenario: Scenario) -> None:
    case = scenario.start()
    [rembug] = [
        o
        for o in scenario.app.cases.triggers(case["id"], scenario.users["ketua_rt"])
        if o.trigger == "record_rembug"
    ]
    assert rembug.allowed is True
    assert rembug.reasons == ()
    assert {g.name: g.ok for g in rembug.guards} == {"quorum": None, "documents": None}


def test_triggers_evaluate_given_form_values_before_submitting(scenario: Scenario) -> None:
    case = scenario.start()
    options = scenario.app.cases.triggers(
        case["id"], scenario.users["ketua_rt"], {"households_total": "40", "attendees": "12"}
    )
    [rembug] = [o for o in options if o.trigger == "record_rembug"]
    assert rembug.allowed is False
    assert any("12 of 40 attended" in reason for reason in rembug.reasons)


def test_starting_a_case_cannot_set_data_the_workflow_sets_later(scenario: Scenario) -> None:
    with pytest.raises(InvalidData, match="takes no data, got: approved_amount"):
        scenario.app.cases.start(
            "probebaya",
            scenario.rt,
            2026,
            scenario.users["ketua_rt"],
            {"approved_amount": "300000000"},
        )


def test_start_form_declares_what_may_be_given_at_start(scenario: Scenario) -> None:
    text = (
        (ROOT / "workflows" / "probebaya.yaml")
        .read_text()
        .replace(
            "params:\n", "start_form: [{field: households_total, required: false}]\nparams:\n", 1
        )
    )
    scenario.app.definitions.publish_text(text, "probebaya.yaml", "test")
    case = scenario.app.cases.start(
        "probebaya", scenario.rt, 2026, scenario.users["ketua_rt"], {"households_total": "44"}
    )
    assert case["data"] == {"households_total": 44}
    with pytest.raises(InvalidData, match="not part of this form: budget"):
        scenario.app.cases.start(
            "probebaya", scenario.rt, 2027, scenario.users["ketua_rt"], {"budget": "1"}
        )


def test_triggers_read_the_ledger_as_the_firing_would_leave_it(scenario: Scenario) -> None:
    case = scenario.probebaya_case("implementing")  # tranche 1 out, its LPJ not yet accepted
    [option] = [
        o
        for o in scenario.app.cases.triggers(case["id"], scenario.users["city"])
        if o.trigger == "disburse_tranche_2"
    ]
    assert option.permitted is True
    assert option.allowed is False
    assert any("LPJ of tranche 1 is accepted" in reason for reason in option.reasons)
    [accept] = [
        o
        for o in scenario.app.cases.triggers(case["id"], scenario.users["kelurahan"])
        if o.trigger == "accept_lpj"
    ]
    assert "No LPJ is awaiting a decision" in accept.reasons
