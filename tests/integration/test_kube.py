"""KUBE (Dinsos Kaltim): 10 households with NIK/KK, city quotas, one active KUBE per household,
personal data shown in full only to the social-affairs roles."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import Forbidden, InvalidData, TransitionRefused
from engine.runtime import Rukun
from tests.builders import ROOT, World, kube_members

SAMARINDA = "64.72"


class Kube:
    def __init__(self, world: World) -> None:
        self.world = world
        self.app: Rukun = world.app
        self.dinsos = world.user("dinsos", "64")
        self.pendamping = world.user("pendamping")
        self.city_office = {
            kota: world.user("dinsos_kota", kota) for kota in ("64.72", "64.71", "64.74")
        }
        self.fire = world.fire

    def propose(self, group: str, members: list[dict[str, str]]) -> dict[str, Any]:
        kota = group[:5]
        case = self.app.cases.start("kube", group, 2026, self.city_office[kota])
        return self.app.cases.fire(
            case["id"],
            "propose",
            self.city_office[kota],
            {
                "kube_name": f"KUBE {group[-8:]}",
                "business_type": "food_stall",
                "members": json.dumps(members),
            },
        )

    def complete(self, case: dict[str, Any]) -> dict[str, Any]:
        case = self.fire(case, "assign_pendamping", self.dinsos, {"pendamping_name": "Rahmawati"})
        case = self.fire(
            case,
            "record_bimtek",
            self.pendamping,
            {"bimtek_date": "2026-03-10"},
            bimtek_report="bimtek",
        )
        case = self.fire(case, "verify", self.dinsos, {"assistance_amount": "Rp 15.000.000"})
        case = self.fire(case, "disburse", self.dinsos, {"disbursement_date": "2026-04-01"})
        case = self.fire(
            case, "record_visit", self.pendamping, {"visits": "1"}, visit_report="kunjungan-1"
        )
        return self.fire(
            case,
            "evaluate",
            self.dinsos,
            {"evaluation_result": "active", "evaluation_notes": "Usaha jalan"},
        )


@pytest.fixture
def kube(world: World) -> Kube:
    return Kube(world)


def kecamatan(world: World, group: str) -> str:
    return world.ancestor(group, "kecamatan")


def test_kube_runs_from_proposal_to_evaluation(kube: Kube, world: World) -> None:
    group = world.groups(SAMARINDA)[0]
    case = kube.propose(group, kube_members(kecamatan(world, group), 1))
    assert case["state"] == "proposed"
    done = kube.complete(case)
    assert done["state"] == "evaluated"
    assert done["ledger"]["totals"]["disbursed"] == 15_000_000


def test_a_kube_has_exactly_ten_households(kube: Kube, world: World) -> None:
    group = world.groups(SAMARINDA)[0]
    with pytest.raises(InvalidData, match="members"):
        kube.propose(group, kube_members(kecamatan(world, group), 1, count=9))


def test_invalid_nik_is_refused_with_its_position(kube: Kube, world: World) -> None:
    group = world.groups(SAMARINDA)[0]
    members = kube_members(kecamatan(world, group), 1)
    members[3]["nik"] = "1234"
    with pytest.raises(InvalidData, match=r"members\[3\]\.nik: Not a valid NIK"):
        kube.propose(group, members)


def test_household_in_another_active_kube_is_refused(kube: Kube, world: World) -> None:
    first_group, second_group = world.groups(SAMARINDA)[:2]
    members = kube_members(kecamatan(world, first_group), 1)
    kube.propose(first_group, members)
    overlapping = [*kube_members(kecamatan(world, first_group), 20, count=9), members[4]]
    with pytest.raises(TransitionRefused) as caught:
        kube.propose(second_group, overlapping)
    [failed] = [g for g in caught.value.guards if g["ok"] is False]
    assert failed["guard"] == "not_in_other_cases"
    masked = members[4]["nik"][:4] + "********" + members[4]["nik"][-4:]
    assert failed["message"]["en"] == f"Household already in another active KUBE: {masked}"
    assert members[4]["nik"] not in json.dumps(caught.value.guards)


def test_household_may_join_again_once_its_kube_is_no_longer_active(
    kube: Kube, world: World
) -> None:
    first_group, second_group = world.groups(SAMARINDA)[:2]
    members = kube_members(kecamatan(world, first_group), 1)
    kube.complete(kube.propose(first_group, members))
    assert kube.propose(second_group, members)["state"] == "proposed"


def test_city_quota_comes_from_params(kube: Kube, world: World) -> None:
    text = (ROOT / "workflows" / "kube.yaml").read_text().replace('"64.72": 20', '"64.72": 1')
    kube.app.definitions.publish_text(text, "kube.yaml", "test")
    first_group, second_group = world.groups(SAMARINDA)[:2]
    kube.propose(first_group, kube_members(kecamatan(world, first_group), 1))
    with pytest.raises(TransitionRefused) as caught:
        kube.propose(second_group, kube_members(kecamatan(world, second_group), 40))
    [failed] = [g for g in caught.value.guards if g["ok"] is False]
    assert failed["message"]["en"] == "The city's KUBE quota for 2026 is full (1 in 64.72)"
    bontang_group = world.groups("64.74")[0]
    assert (
        kube.propose(bontang_group, kube_members(kecamatan(world, bontang_group), 60))["state"]
        == "proposed"
    )


def test_nik_is_masked_for_roles_that_do_not_need_it(kube: Kube, world: World) -> None:
    group = world.groups(SAMARINDA)[0]
    members = kube_members(kecamatan(world, group), 1)
    case = kube.propose(group, members)
    assert case["data"]["members"][0]["nik"] == members[0]["nik"]  # the proposing office sees it
    as_dinsos = kube.app.cases.show(case["id"], kube.dinsos)
    assert as_dinsos["data"]["members"][0]["nik"] == members[0]["nik"]
    lurah = world.user("kelurahan", world.ancestor(group, "kelurahan"))
    as_lurah = kube.app.cases.show(case["id"], lurah)
    assert (
        as_lurah["data"]["members"][0]["nik"]
        == members[0]["nik"][:4] + "********" + members[0]["nik"][-4:]
    )
    assert as_lurah["data"]["members"][0]["name"] == members[0]["name"]
    anonymous = kube.app.cases.show(case["id"])
    assert members[0]["nik"] not in json.dumps(anonymous)
    history = kube.app.cases.history(case["id"], lurah)
    assert members[0]["nik"] not in json.dumps(history)
    assert members[0]["nik"] in json.dumps(kube.app.cases.history(case["id"], kube.dinsos))
    assert kube.app.cases.verify(case["id"]) == []  # masking never touches what is hashed


def test_viewers_outside_the_region_cannot_see_the_case(kube: Kube, world: World) -> None:
    group = world.groups(SAMARINDA)[0]
    case = kube.propose(group, kube_members(kecamatan(world, group), 1))
    stranger = world.user("kelurahan", world.ancestor(world.groups("64.74")[0], "kelurahan"))
    with pytest.raises(Forbidden):
        kube.app.cases.show(case["id"], stranger)
    assert kube.app.cases.list(program="kube", viewer=stranger) == []
    assert [c["id"] for c in kube.app.cases.list(program="kube", viewer=kube.dinsos)] == [
        case["id"]
    ]


def test_evaluation_needs_a_monitoring_visit(kube: Kube, world: World) -> None:
    group = world.groups(SAMARINDA)[0]
    case = kube.propose(group, kube_members(kecamatan(world, group), 1))
    case = kube.fire(case, "assign_pendamping", kube.dinsos, {"pendamping_name": "Rahmawati"})
    case = kube.fire(
        case,
        "record_bimtek",
        kube.pendamping,
        {"bimtek_date": "2026-03-10"},
        bimtek_report="bimtek",
    )
    case = kube.fire(case, "verify", kube.dinsos, {"assistance_amount": "Rp 15.000.000"})
    case = kube.fire(case, "disburse", kube.dinsos, {"disbursement_date": "2026-04-01"})
    with pytest.raises(TransitionRefused, match="at least one monitoring visit"):
        kube.fire(
            case, "evaluate", kube.dinsos, {"evaluation_result": "active", "evaluation_notes": "-"}
        )
