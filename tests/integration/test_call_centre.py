"""The call centre (issue 13): a resident asks "where is our RT's proposal?"; the call centre
finds the case by its number, the RT's or group's name, or the kelurahan's or kecamatan's
name, within its city only, and tells who must act next, since when, whether it is overdue
and how to reach that office. It reads, and it can never fire, start or bulk-fire."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from engine.errors import Forbidden, InvalidData, InvalidQuery, NotFound
from engine.store.models import utcnow
from tests.builders import PROBEBAYA_PATH, ROOT, Scenario, kube_members
from tests.integration.test_admin import PASSWORD, kelurahan_of
from tests.integration.test_cli import Cli

SAMARINDA = "64.72"
CALLER = "pusat_layanan"
KELURAHAN_CONTACT = "Kantor Kelurahan — layanan Senin–Jumat 08.00–16.00 (uji)"


@pytest.fixture
def call_centre(scenario: Scenario) -> str:
    """A call-centre user of Kota Samarinda (the scenario's RT is in it)."""
    scenario.app.users.add(CALLER, "call_centre", [SAMARINDA], PASSWORD)
    return CALLER


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


def regions(scenario: Scenario) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in scenario.app.regions.list()}


def ancestor(names: dict[str, dict[str, Any]], code: str, level: str) -> str:
    while names[code]["level"] != level:
        code = names[code]["parent_code"]
    return code


def found(scenario: Scenario, q: str, viewer: str = CALLER, **kwargs: Any) -> list[int]:
    return [r["id"] for r in scenario.app.call_centre.find(viewer, q, **kwargs)]


def banjarbaru_case(scenario: Scenario) -> dict[str, Any]:
    """An RT Mandiri case of a community group in Banjarbaru: outside Samarinda."""
    app = scenario.app
    app.definitions.publish(ROOT / "workflows" / "rt_mandiri.yaml", "test")
    group = next(
        r["code"] for r in app.regions.list(level="group") if r["code"].startswith("63.72.")
    )
    app.users.add("pokmas_banjarbaru", "pokmas", [group.rsplit(".", 1)[0]])
    return app.cases.start("rt_mandiri", group, 2026, "pokmas_banjarbaru")


# ----------------------------------------------------------------------------- finding


def test_a_submitted_case_found_by_its_number_names_the_kelurahan_office_and_its_contact(
    scenario: Scenario, call_centre: str
) -> None:
    kelurahan = kelurahan_of(scenario)
    scenario.app.regions.set_contact(kelurahan, KELURAHAN_CONTACT)
    case = scenario.probebaya_case("submitted")
    submitted_at = scenario.app.cases.history(case["id"])[-1]["at"]

    (result,) = scenario.app.call_centre.find(call_centre, str(case["id"]))
    assert scenario.app.call_centre.find(call_centre, f"#{case['id']}") == [result]
    assert result == {
        "id": case["id"],
        "program": "probebaya",
        "program_title": {
            "id": "Probebaya — Program Pembangunan dan Pemberdayaan Masyarakat (Kota Samarinda)",
            "en": "Probebaya — Community Development and Empowerment Programme (Samarinda)",
        },
        "subject": scenario.rt,
        "subject_name": regions(scenario)[scenario.rt]["name"],
        "year": 2026,
        "state": "submitted",
        "state_label": case["state_label"],
        "final": False,
        "since": submitted_at,
        "due_at": case["due_at"],
        "overdue": False,
        "next": [
            {
                "role": "kelurahan",
                "role_label": {"id": "Kelurahan", "en": "Kelurahan office"},
                "triggers": [
                    {
                        "trigger": "return_for_revision",
                        "label": {"id": "Kembalikan untuk perbaikan", "en": "Return for revision"},
                    },
                    {
                        "trigger": "verify",
                        "label": {"id": "Verifikasi usulan", "en": "Verify the proposal"},
                    },
                ],
                "office": {
                    "code": kelurahan,
                    "level": "kelurahan",
                    "name": regions(scenario)[kelurahan]["name"],
                    "contact": KELURAHAN_CONTACT,
                },
            }
        ],
    }
    assert "data" not in result  # the call centre reads where a case stands, not its data
    assert found(scenario, str(case["id"] + 1000)) == []


def test_the_case_is_found_by_the_rts_name_and_code_and_by_its_kelurahan_and_kecamatan(
    scenario: Scenario, call_centre: str
) -> None:
    case = scenario.probebaya_case("submitted")
    other_rt = scenario.rt.rsplit(".", 1)[0] + ".002"
    scenario.app.users.add("ketua_rt_002", "ketua_rt", [other_rt])
    other = scenario.app.cases.start("probebaya", other_rt, 2026, "ketua_rt_002")
    names = regions(scenario)
    kelurahan = kelurahan_of(scenario)
    kecamatan = names[kelurahan]["parent_code"]
    assert found(scenario, names[scenario.rt]["name"]) == [case["id"]]
    assert found(scenario, scenario.rt) == [case["id"]]
    assert found(scenario, names[kelurahan]["name"].upper()) == [other["id"], case["id"]]
    assert set(found(scenario, names[kecamatan]["name"])) == {case["id"], other["id"]}
    assert found(scenario, "RT 002 RW 001") == [other["id"]]
    assert found(scenario, "tidak ada wilayah bernama begini") == []
    assert found(scenario, "   ") == []
    assert found(scenario, names[kelurahan]["name"], limit=1) == [other["id"]]


def test_a_case_whose_state_passed_its_deadline_is_told_overdue(
    scenario: Scenario, call_centre: str
) -> None:
    case = scenario.probebaya_case("submitted")  # 14 days for the kelurahan to verify
    due = dt.datetime.fromisoformat(case["due_at"].replace("Z", "+00:00"))
    (now,) = scenario.app.call_centre.find(call_centre, str(case["id"]))
    (later,) = scenario.app.call_centre.find(
        call_centre, str(case["id"]), now=due + dt.timedelta(days=1)
    )
    assert (now["overdue"], later["overdue"]) == (False, True)
    assert due - utcnow() > dt.timedelta(days=13)


def test_each_role_that_may_act_is_named_with_the_office_at_its_level(
    scenario: Scenario, call_centre: str
) -> None:
    scenario.app.regions.set_contact(SAMARINDA, "Bappeda (uji)")
    case = scenario.probebaya_case("implementing")  # Pokmas reports, the city disburses
    (result,) = scenario.app.call_centre.find(call_centre, str(case["id"]))
    offices = {a["role"]: (a["office"]["code"], a["office"]["contact"]) for a in result["next"]}
    assert offices == {
        "pokmas": (scenario.rt, None),
        "city": (SAMARINDA, "Bappeda (uji)"),
        "kelurahan": (kelurahan_of(scenario), None),
    }
    assert "cancel" not in {t["trigger"] for a in result["next"] for t in a["triggers"]}


def test_a_closed_case_has_no_one_left_to_act(scenario: Scenario, call_centre: str) -> None:
    case = scenario.probebaya_case("closed")
    (result,) = scenario.app.call_centre.find(call_centre, str(case["id"]))
    assert (result["state"], result["final"], result["next"]) == ("closed", True, [])


def test_a_case_in_another_city_is_never_found(scenario: Scenario, call_centre: str) -> None:
    elsewhere = banjarbaru_case(scenario)
    names = regions(scenario)
    group = elsewhere["subject"]
    kelurahan = ancestor(names, group, "kelurahan")
    kecamatan = ancestor(names, group, "kecamatan")
    searches = [str(elsewhere["id"]), f"#{elsewhere['id']}", names[group]["name"], group]
    searches += [names[kelurahan]["name"], names[kecamatan]["name"]]
    assert [found(scenario, q) for q in searches] == [[]] * len(searches)
    scenario.app.users.add("cc_admin", "admin", [])
    assert [found(scenario, q, "cc_admin") for q in searches] == [[elsewhere["id"]]] * len(searches)
    with pytest.raises(Forbidden):
        scenario.app.cases.show(elsewhere["id"], call_centre)


def test_only_the_call_centre_and_admins_may_search(scenario: Scenario, call_centre: str) -> None:
    case = scenario.probebaya_case("submitted")
    with pytest.raises(Forbidden, match="may not use the call-centre view: it needs role"):
        scenario.app.call_centre.find(scenario.users["kelurahan"], str(case["id"]))
    with pytest.raises(NotFound):
        scenario.app.call_centre.find("nobody", str(case["id"]))
    with pytest.raises(InvalidQuery, match="at most 200 characters"):
        scenario.app.call_centre.find(call_centre, "x" * 201)


def test_personal_data_stays_masked_for_the_call_centre(
    scenario: Scenario, call_centre: str
) -> None:
    app = scenario.app
    app.definitions.publish(ROOT / "workflows" / "kube.yaml", "test")
    app.users.add("dinsos_samarinda", "dinsos_kota", [SAMARINDA])
    group = next(
        r for r in app.regions.list(level="group") if r["code"].startswith(SAMARINDA + ".")
    )
    members = kube_members(ancestor(regions(scenario), group["code"], "kecamatan"), 1)
    case = app.cases.start("kube", group["code"], 2026, "dinsos_samarinda")
    app.cases.fire(
        case["id"],
        "propose",
        "dinsos_samarinda",
        {"kube_name": "KUBE Mawar", "business_type": "food_stall", "members": json.dumps(members)},
    )
    nik = members[0]["nik"]
    assert found(scenario, group["name"]) == [case["id"]]  # a group found by its name
    (result,) = app.call_centre.find(call_centre, str(case["id"]))
    assert [a["role"] for a in result["next"]] == ["dinsos"]
    assert result["next"][0]["office"]["code"] == "64"  # Dinsos acts for the provinsi
    assert nik not in json.dumps(app.call_centre.find(call_centre, group["name"]))
    shown = app.cases.show(case["id"], call_centre)
    assert shown["data"]["members"][0]["nik"] == nik[:4] + "********" + nik[-4:]
    assert nik not in json.dumps(app.cases.history(case["id"], call_centre))
    assert nik not in json.dumps(app.cases.list(viewer=call_centre))


# ------------------------------------------------------------------- reads, never fires


@pytest.mark.parametrize("state", ["draft", "submitted", "implementing"])
def test_the_call_centre_can_read_but_never_fire(
    scenario: Scenario, call_centre: str, state: str
) -> None:
    app = scenario.app
    case = scenario.probebaya_case(state)
    history = app.cases.history(case["id"], call_centre)  # it reads the case, its history,
    assert app.cases.show(case["id"], call_centre)["state"] == state
    app.cases.documents(case["id"], call_centre)  # its documents, and the case list
    assert case["id"] in [c["id"] for c in app.cases.list(viewer=call_centre)]
    options = app.cases.triggers(case["id"], call_centre)
    assert options and not any(o.permitted or o.allowed for o in options)
    for option in options:  # every trigger out of the state, cancel ("*") too
        # the happy path's values and documents where it takes this trigger: a form that
        # would pass is refused all the same
        path = {t: (v, d) for t, _, v, d in PROBEBAYA_PATH}
        values, documents = path.get(option.trigger, ({"cancel_reason": "x"}, ()))
        files = {name: scenario.doc(name) for name in documents}
        with pytest.raises(Forbidden):
            app.cases.fire(case["id"], option.trigger, call_centre, values, files)
        (bulk,) = app.cases.fire_many([case["id"]], option.trigger, call_centre, values)
        assert (bulk["ok"], bulk["error"]["kind"]) == (False, "forbidden")
    with pytest.raises(Forbidden):
        app.cases.start("probebaya", scenario.rt, 2027, call_centre)
    assert app.cases.history(case["id"], call_centre) == history
    assert app.cases.inbox(call_centre).rows == []  # nothing waits for it to act


def test_the_command_line_refuses_the_call_centre_too(
    scenario: Scenario, call_centre: str, cli: Cli
) -> None:
    case = scenario.probebaya_case("submitted")
    refused = cli("case", "fire", str(case["id"]), "verify", "--as", call_centre, code=3)
    assert "may not fire 'verify'" in refused.stderr
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"


# ----------------------------------------------------------------------------- contacts


def test_a_contact_is_set_by_an_admin_or_the_command_line_and_checked(
    scenario: Scenario, call_centre: str, cli: Cli
) -> None:
    app = scenario.app
    kelurahan = kelurahan_of(scenario)
    app.users.add("contact_admin", "admin", [])
    row = app.regions.set_contact(kelurahan, "  Loket 1, Senin–Jumat  ", by="contact_admin")
    assert row["contact"] == "Loket 1, Senin–Jumat"
    with pytest.raises(Forbidden, match="needs role admin"):
        app.regions.set_contact(kelurahan, "lain", by=call_centre)
    with pytest.raises(InvalidData, match="at most 500 characters, not 501"):
        app.regions.set_contact(kelurahan, "x" * 501)
    with pytest.raises(InvalidData, match="one line of printable text"):
        app.regions.set_contact(kelurahan, "baris satu\nbaris dua")
    with pytest.raises(NotFound, match=r"no region 99\.99"):
        app.regions.set_contact("99.99", "x")
    assert regions(scenario)[kelurahan]["contact"] == "Loket 1, Senin–Jumat"
    assert cli.json("region", "contact", kelurahan, "Loket 2")["contact"] == "Loket 2"
    assert cli("region", "contact", kelurahan, "").stdout == f"{kelurahan}: no contact\n"
    assert regions(scenario)[kelurahan]["contact"] is None
    assert "no region 99.99" in cli("region", "contact", "99.99", "x", code=5).stderr


def test_a_region_import_may_carry_contacts(scenario: Scenario, tmp_path: Any) -> None:
    rw = scenario.rt.rsplit(".", 1)[0]
    kelurahan = kelurahan_of(scenario)
    scenario.app.regions.set_contact(kelurahan, "tetap")
    path = tmp_path / "wilayah.csv"
    path.write_text(
        "code,level,name,parent_code,contact\n"
        f"{rw}.301,rt,RT 301,{rw},Ketua RT 301: lewat kelurahan\n"
        f"{kelurahan},kelurahan,{regions(scenario)[kelurahan]['name']},{kelurahan[:-5]},\n",
        encoding="utf-8",
    )
    assert scenario.app.regions.import_csv(path) == 2
    stored = regions(scenario)
    assert stored[f"{rw}.301"]["contact"] == "Ketua RT 301: lewat kelurahan"
    assert stored[kelurahan]["contact"] == "tetap"  # an empty cell leaves it as it is
