"""RT Mandiri (Banjarbaru): group stimulus, hulu/hilir links, yearly cohort, business reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import Forbidden, InvalidData, TransitionRefused
from engine.runtime import Rukun
from tests.builders import ROOT, World

BANJARBARU = "63.72"
STIMULUS_RAB = json.dumps(
    [
        {"description": "Kolam bioflok dan terpal", "amount": "Rp 40.000.000"},
        {"description": "Benih dan pakan", "amount": "Rp 35.000.000"},
    ]
)


class Groups:
    def __init__(self, world: World) -> None:
        self.world = world
        self.app: Rukun = world.app
        self.city = world.user("city", BANJARBARU)
        self.skpd = world.user("skpd", BANJARBARU)
        self.fire = world.fire

    def pokmas(self, group: str) -> str:
        return self.world.user("pokmas", self.world.ancestor(group, "rt"))

    def start(self, group: str, year: int = 2026) -> dict[str, Any]:
        return self.app.cases.start("rt_mandiri", group, year, self.pokmas(group))

    def propose(
        self,
        group: str,
        stage: str = "hulu",
        upstream: list[int] | None = None,
        rab: str = STIMULUS_RAB,
        year: int = 2026,
    ) -> dict[str, Any]:
        case = self.start(group, year)
        values = {
            "group_name": f"Kelompok {group[-6:]}",
            "members_count": "12",
            "stage": stage,
            "commodity": "bioflok_fish" if stage == "hulu" else "abon",
            "rab_lines": rab,
        }
        if upstream is not None:
            values["upstream_groups"] = json.dumps(upstream)
        return self.fire(
            case, "submit_proposal", self.pokmas(group), values, business_plan="rencana"
        )

    def fund(self, case: dict[str, Any]) -> dict[str, Any]:
        self.fire(case, "verify", self.skpd)
        self.fire(case, "approve", self.city, {"approved_amount": "Rp 75.000.000"})
        return self.fire(case, "disburse", self.city, {"disbursement_date": "2026-05-02"})


@pytest.fixture
def groups(world: World) -> Groups:
    return Groups(world)


def test_upstream_group_is_funded_reports_and_is_evaluated(groups: Groups, world: World) -> None:
    group = world.groups(BANJARBARU)[0]
    case = groups.fund(groups.propose(group))
    assert case["state"] == "funded"
    assert case["ledger"]["totals"]["disbursed"] == 75_000_000
    for period, capital, revenue in [
        ("2026-Q2", "Rp 78.000.000", "Rp 9.000.000"),
        ("2026-Q3", "Rp 83.500.000", "Rp 12.500.000"),
    ]:
        case = groups.fire(
            case,
            "report_business",
            groups.pokmas(group),
            {"report_period": period, "capital": capital, "revenue": revenue},
            business_report=f"laporan-{period}",
        )
    assert case["state"] == "funded"
    assert case["data"]["capital"] == 83_500_000  # the revolving fund keeps growing
    reports = [r for r in groups.app.cases.history(case["id"]) if r["trigger"] == "report_business"]
    assert [r["payload"]["capital"] for r in reports] == [78_000_000, 83_500_000]
    evaluated = groups.fire(
        case,
        "evaluate",
        groups.skpd,
        {"evaluation_result": "growing", "evaluation_notes": "Modal bertambah"},
    )
    assert evaluated["state"] == "evaluated"


def test_downstream_group_must_link_an_upstream_group(groups: Groups, world: World) -> None:
    upstream_group, downstream_group = world.groups(BANJARBARU)[:2]
    upstream = groups.propose(upstream_group)
    with pytest.raises(TransitionRefused) as caught:
        groups.propose(downstream_group, stage="hilir")
    [failed] = [g for g in caught.value.guards if g["ok"] is False]
    assert failed["message"]["en"] == (
        "A downstream group must be linked to the upstream group(s) whose products it processes"
    )
    downstream = groups.propose(downstream_group, stage="hilir", upstream=[upstream["id"]])
    assert downstream["links"]["outgoing"] == [
        {
            "field": "upstream_groups",
            "link": "processes_products_of",
            "case_id": upstream["id"],
            "program": "rt_mandiri",
            "subject": upstream_group,
            "state": "proposed",
            "visible": True,
        }
    ]
    shown = groups.app.cases.show(upstream["id"])
    assert [link["case_id"] for link in shown["links"]["incoming"]] == [downstream["id"]]


def test_links_must_point_at_existing_rt_mandiri_cases(groups: Groups, world: World) -> None:
    group = world.groups(BANJARBARU)[1]
    with pytest.raises(InvalidData, match="no case 99999"):
        groups.propose(group, stage="hilir", upstream=[99999])


def groups_in_two_rts(world: World) -> tuple[str, str]:
    """Two groups of Banjarbaru under different RTs."""
    by_rt: dict[str, str] = {}
    for group in world.groups(BANJARBARU):
        by_rt.setdefault(world.ancestor(group, "rt"), group)
    first, second = list(by_rt.values())[:2]
    return first, second


def hilir_proposal(upstream: dict[str, Any]) -> dict[str, str]:
    """A downstream group's proposal, processing the products of ``upstream``."""
    return {
        "group_name": "Kelompok hilir",
        "members_count": "12",
        "stage": "hilir",
        "commodity": "abon",
        "rab_lines": STIMULUS_RAB,
        "upstream_groups": json.dumps([upstream["id"]]),
    }


def test_a_link_to_a_case_outside_the_users_scope_is_refused(groups: Groups, world: World) -> None:
    upstream_group, downstream_group = groups_in_two_rts(world)
    upstream = groups.propose(upstream_group)
    case = groups.start(downstream_group)
    before = (groups.app.cases.show(case["id"]), groups.app.cases.history(case["id"]))
    pokmas = groups.pokmas(downstream_group)  # scoped to the downstream group's RT only
    with pytest.raises(Forbidden) as caught:
        groups.fire(
            case, "submit_proposal", pokmas, hilir_proposal(upstream), business_plan="rencana"
        )
    assert caught.value.message == (
        f"upstream_groups: user '{pokmas}' may not link case {upstream['id']}: "
        "it is outside their region scope"
    )
    after = (groups.app.cases.show(case["id"]), groups.app.cases.history(case["id"]))
    assert after == before
    assert groups.app.cases.show(upstream["id"])["links"]["incoming"] == []


def linked_across_rts(groups: Groups, world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A downstream case linked to an upstream one of another RT, by a pokmas user holding
    both RTs; returns (upstream, downstream)."""
    upstream_group, downstream_group = groups_in_two_rts(world)
    upstream = groups.propose(upstream_group)
    both = "pokmas@two_rts"
    rts = [world.ancestor(g, "rt") for g in (upstream_group, downstream_group)]
    groups.app.users.add(both, "pokmas", rts)
    case = groups.start(downstream_group)
    proposal = hilir_proposal(upstream)
    downstream = groups.fire(case, "submit_proposal", both, proposal, business_plan="rencana")
    return upstream, downstream


def test_a_linked_case_outside_the_viewers_scope_is_shown_by_number_only(
    groups: Groups, world: World
) -> None:
    upstream, downstream = linked_across_rts(groups, world)
    local = groups.pokmas(downstream["subject"])
    [link] = groups.app.cases.show(downstream["id"], viewer=local)["links"]["outgoing"]
    assert link == {
        "field": "upstream_groups",
        "link": "processes_products_of",
        "case_id": upstream["id"],
        "program": "rt_mandiri",
        "subject": None,
        "state": None,
        "visible": False,
    }
    [back] = groups.app.cases.show(upstream["id"], viewer=groups.pokmas(upstream["subject"]))[
        "links"
    ]["incoming"]
    assert (back["case_id"], back["subject"], back["visible"]) == (downstream["id"], None, False)
    # a reader whose scope covers both sees everything
    [full] = groups.app.cases.show(downstream["id"], viewer=groups.city)["links"]["outgoing"]
    assert (full["subject"], full["state"], full["visible"]) == (
        upstream["subject"],
        "proposed",
        True,
    )


def test_rab_must_equal_the_stimulus(groups: Groups, world: World) -> None:
    group = world.groups(BANJARBARU)[0]
    short = json.dumps([{"description": "Kambing", "amount": "Rp 70.000.000"}])
    with pytest.raises(TransitionRefused) as caught:
        groups.propose(group, rab=short)
    [failed] = [g for g in caught.value.guards if g["ok"] is False]
    assert (
        failed["message"]["en"] == "The RAB must total the Rp 75 juta stimulus (is Rp 70.000.000)"
    )


def test_yearly_cohort_is_a_quota_from_params(groups: Groups, world: World) -> None:
    text = (ROOT / "workflows" / "rt_mandiri.yaml").read_text().replace("2026: 60", "2026: 1")
    groups.app.definitions.publish_text(text, "rt_mandiri.yaml", "test")
    first, second = world.groups(BANJARBARU)[:2]
    groups.fund(groups.propose(first))
    case = groups.propose(second)
    groups.fire(case, "verify", groups.skpd)
    before = groups.app.cases.history(case["id"])
    with pytest.raises(TransitionRefused) as caught:
        groups.fire(case, "approve", groups.city, {"approved_amount": "Rp 75.000.000"})
    [failed] = [g for g in caught.value.guards if g["ok"] is False]
    assert failed["message"]["en"] == "This year's cohort is full (1 groups in 2026)"
    assert groups.app.cases.history(case["id"]) == before
    next_year = groups.propose(world.groups(BANJARBARU)[2], year=2027)
    groups.fire(next_year, "verify", groups.skpd)
    assert (
        groups.fire(next_year, "approve", groups.city, {"approved_amount": "Rp 75.000.000"})[
            "state"
        ]
        == "approved"
    )


def test_evaluation_needs_a_business_report(groups: Groups, world: World) -> None:
    case = groups.fund(groups.propose(world.groups(BANJARBARU)[0]))
    with pytest.raises(TransitionRefused, match="field_present"):
        groups.fire(
            case, "evaluate", groups.skpd, {"evaluation_result": "stable", "evaluation_notes": "-"}
        )


def test_revision_and_rejection(groups: Groups, world: World) -> None:
    case = groups.propose(world.groups(BANJARBARU)[0])
    case = groups.fire(case, "return_for_revision", groups.skpd, {"revision_notes": "Lengkapi RAB"})
    assert case["state"] == "revision_requested"
    case = groups.fire(
        case,
        "submit_proposal",
        groups.pokmas(world.groups(BANJARBARU)[0]),
        {
            "group_name": "Kelompok Bioflok",
            "members_count": "12",
            "stage": "hulu",
            "commodity": "bioflok_fish",
            "rab_lines": STIMULUS_RAB,
        },
        business_plan="rencana-2",
    )
    assert (
        groups.fire(case, "reject", groups.skpd, {"rejection_reason": "Tidak layak"})["state"]
        == "rejected"
    )


def test_the_case_page_shows_no_more_of_a_linked_case_than_the_viewer_may_see(
    groups: Groups, world: World
) -> None:
    from admin import create_app

    upstream, downstream = linked_across_rts(groups, world)
    local = groups.pokmas(downstream["subject"])
    groups.app.users.set_password(local, "rahasia-panjang-1")
    client = create_app(groups.app, {"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    signed_in = client.post("/login", data={"name": local, "password": "rahasia-panjang-1"})
    assert signed_in.status_code == 302
    page = client.get(f"/cases/{downstream['id']}").get_data(as_text=True)
    assert f"Kasus {upstream['id']}" in page and "di luar wilayah Anda" in page
    assert upstream["subject"] not in page
    assert f'href="/cases/{upstream["id"]}"' not in page
    assert client.get(f"/cases/{upstream['id']}").status_code == 403
