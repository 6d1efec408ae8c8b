"""Transition forms on the web: list fields as rows, case pickers, money with thousands
separators, guards checked as the user types, and bulk actions sent in chunks."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from admin import create_app
from admin.forms import form_values
from tests.builders import World, kube_members
from tests.integration.test_admin import PASSWORD, csrf

SAMARINDA = "64.72"


@pytest.fixture
def site(world: World) -> Flask:
    return create_app(world.app, {"TESTING": True, "SECRET_KEY": "test"})


def signed_in(site: Flask, world: World, role: str, region: str | None) -> FlaskClient:
    name = world.user(role, region)
    world.app.users.set_password(name, PASSWORD)
    client = site.test_client()
    token = csrf(client, "/login")
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def member_rows(members: list[dict[str, str]]) -> dict[str, str]:
    return {
        f"members-{index}-{key}": value
        for index, member in enumerate(members)
        for key, value in member.items()
    }


def propose(client: FlaskClient, case: dict[str, Any], members: list[dict[str, str]]) -> Any:
    """Submit the KUBE proposal form with ``members`` typed as rows."""
    data = {
        "csrf_token": csrf(client, f"/cases/{case['id']}"),
        "expected_version": str(case["version"]),
        "kube_name": "KUBE Mawar",
        "business_type": "food_stall",
        **member_rows(members),
    }
    return client.post(f"/cases/{case['id']}/fire/propose", data=data)


def kube_case(world: World) -> tuple[dict[str, Any], str]:
    group = world.groups(SAMARINDA)[0]
    office = world.user("dinsos_kota", SAMARINDA)
    return world.app.cases.start("kube", group, 2026, office), group


def test_kube_members_are_entered_as_rows_not_json(site: Flask, world: World) -> None:
    case, group = kube_case(world)
    client = signed_in(site, world, "dinsos_kota", SAMARINDA)
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    # ten rows of name / NIK / KK number, no JSON textarea
    assert len(re.findall(r'name="members-\d+-nik"', page)) == 10
    assert 'textarea class="form-control" id="propose-members"' not in page
    members = kube_members(world.ancestor(group, "kecamatan"), 1)
    response = propose(client, case, members)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    stored = world.app.cases.show(case["id"], world.user("dinsos", "64"))  # may see NIKs
    assert stored["state"] == "proposed"
    assert [m["nik"] for m in stored["data"]["members"]] == [m["nik"] for m in members]


def test_a_bad_row_is_refused_and_every_row_typed_is_kept(site: Flask, world: World) -> None:
    case, group = kube_case(world)
    client = signed_in(site, world, "dinsos_kota", SAMARINDA)
    members = kube_members(world.ancestor(group, "kecamatan"), 1)
    members[3]["nik"] = "1234"
    response = propose(client, case, members)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Anggota (10 KK) baris ke-4, NIK" in page  # the place by the form's own labels
    assert 'name="members-3-nik" value="1234"' in page  # what was typed stays in its row
    assert f'name="members-9-nik" value="{members[9]["nik"]}"' in page
    assert world.app.cases.show(case["id"])["state"] == "draft"
    assert len(world.app.cases.history(case["id"])) == 1


def test_list_rows_can_be_added_and_empty_spare_rows_are_ignored(site: Flask, world: World) -> None:
    definition = world.app.definitions.get("prolita")[1]
    values, _files = form_values(
        definition,
        ["rab_lines"],
        MultiDict(
            {
                "rab_lines-0-description": "Semen",
                "rab_lines-0-amount": "1.500.000",
                "rab_lines-1-description": "",
                "rab_lines-1-amount": "",
                "rab_lines-7-description": "Cat",  # rows added in the browser, gaps allowed
                "rab_lines-7-amount": "250.000",
            }
        ),
        {},
    )
    assert values == {
        "rab_lines": [
            {"description": "Semen", "amount": "1.500.000"},
            {"description": "Cat", "amount": "250.000"},
        ]
    }
    # a list of 1-50 rows: one row shown, a template to add more, a button to remove
    case = prolita_at_proposal(world)
    client = signed_in(site, world, "ketua_rt", case["subject"])
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'name="rab_lines-0-amount"' in page
    assert 'name="rab_lines-__index__-amount"' in page  # inside <template>
    assert "rukun-add-row" in page and "rukun-remove-row" in page


def prolita_at_proposal(world: World) -> dict[str, Any]:
    rt = world.rts("64.74")[0]  # Bontang
    ketua = world.user("ketua_rt", rt)
    case = world.app.cases.start("prolita", rt, 2026, ketua)
    return world.fire(
        case,
        "record_rembug",
        ketua,
        {"rembug_date": "2026-02-01", "households_total": "40", "attendees": "30"},
        minutes="notulen",
    )


def test_guards_are_checked_as_the_user_types(site: Flask, world: World) -> None:
    case, group = kube_case(world)
    client = signed_in(site, world, "dinsos_kota", SAMARINDA)
    token = csrf(client, f"/cases/{case['id']}")
    url = f"/cases/{case['id']}/check/propose"
    members = kube_members(world.ancestor(group, "kecamatan"), 1)
    base = {"csrf_token": token, "expected_version": str(case["version"])}

    partial = client.post(url, data={**base, **member_rows(members[:4])})
    assert partial.status_code == 200
    body = partial.get_json()
    assert body["allowed"] is False
    assert any("Anggota (10 KK)" in problem for problem in body["problems"])  # 4 of 10 rows
    assert "rukun-guard-list" in body["html"] or body["guards"] == []

    full = client.post(
        url,
        data={
            **base,
            "kube_name": "KUBE Mawar",
            "business_type": "food_stall",
            **member_rows(members),
        },
    )
    assert full.get_json()["allowed"] is True
    assert full.get_json()["problems"] == []
    # nothing was saved by checking
    assert world.app.cases.show(case["id"])["state"] == "draft"
    assert len(world.app.cases.history(case["id"])) == 1


def test_a_live_check_on_a_stale_page_says_reload(site: Flask, world: World) -> None:
    case, _group = kube_case(world)
    client = signed_in(site, world, "dinsos_kota", SAMARINDA)
    token = csrf(client, f"/cases/{case['id']}")
    response = client.post(
        f"/cases/{case['id']}/check/propose",
        data={"csrf_token": token, "expected_version": str(case["version"] + 1)},
    )
    assert response.status_code == 409
    assert response.get_json()["stale"] is True


def test_live_checks_respect_scope_and_csrf(site: Flask, world: World) -> None:
    case, _group = kube_case(world)
    other = signed_in(site, world, "dinsos_kota", "64.71")  # Balikpapan's office
    token = csrf(other, "/cases/")
    response = other.post(f"/cases/{case['id']}/check/propose", data={"csrf_token": token})
    assert response.status_code in (403, 404)
    assert "KUBE" not in response.get_data(as_text=True) or response.status_code == 404
    owner = signed_in(site, world, "dinsos_kota", SAMARINDA)
    assert owner.post(f"/cases/{case['id']}/check/propose", data={}).status_code == 400
    # in scope but not a role that proposes: no guard results either
    dinsos = signed_in(site, world, "dinsos", "64")
    token = csrf(dinsos, "/cases/")
    refused = dinsos.post(f"/cases/{case['id']}/check/propose", data={"csrf_token": token})
    assert refused.status_code == 403


def test_guard_results_show_which_hold_and_which_wait_for_input(site: Flask, world: World) -> None:
    rt = world.rts(SAMARINDA)[0]
    ketua = world.user("ketua_rt", rt)
    case = world.app.cases.start("probebaya", rt, 2026, ketua)
    client = signed_in(site, world, "ketua_rt", rt)
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'data-ok="waiting"' in page  # e.g. the quorum waits for the attendance figures
    token = csrf(client, f"/cases/{case['id']}")
    trigger = re.search(r'action="/cases/\d+/fire/(\w+)"', page)
    assert trigger
    body = client.post(
        f"/cases/{case['id']}/check/{trigger.group(1)}",
        data={"csrf_token": token, "attendees": "5", "households_total": "100"},
    ).get_json()
    states = {g["guard"]: g["ok"] for g in body["guards"]}
    assert states.get("quorum") is False
    failed = next(g for g in body["guards"] if g["guard"] == "quorum")
    assert failed["text"]  # the guard's own message in the UI language


def test_money_with_thousands_separators_is_accepted(site: Flask, world: World) -> None:
    case, group = kube_case(world)
    world.fire(
        case,
        "propose",
        world.user("dinsos_kota", SAMARINDA),
        {
            "kube_name": "KUBE Mawar",
            "business_type": "food_stall",
            "members": kube_members(world.ancestor(group, "kecamatan"), 1),
        },
    )
    dinsos = world.user("dinsos", "64")
    case = world.fire(case, "assign_pendamping", dinsos, {"pendamping_name": "Rahmawati"})
    case = world.fire(
        case,
        "record_bimtek",
        world.user("pendamping"),
        {"bimtek_date": "2026-03-10"},
        bimtek_report="bimtek",
    )
    client = signed_in(site, world, "dinsos", "64")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'class="form-control rukun-money"' in page
    response = client.post(
        f"/cases/{case['id']}/fire/verify",
        data={
            "csrf_token": csrf(client, f"/cases/{case['id']}"),
            "expected_version": str(case["version"]),
            "assistance_amount": "15.000.000",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    assert world.app.cases.show(case["id"])["ledger"]["totals"]["approved"] == 15_000_000


def test_bulk_chunks_answer_json_with_rendered_rows(site: Flask, world: World) -> None:
    rts = world.rts(SAMARINDA)[:3]
    kelurahan = {world.ancestor(rt, "kelurahan") for rt in rts}
    assert len(kelurahan) == 1
    client = signed_in(site, world, "kelurahan", kelurahan.pop())
    ids = [
        world.app.cases.start("probebaya", rt, 2026, world.user("ketua_rt", rt))["id"] for rt in rts
    ]
    page = client.get("/cases/?program=probebaya").get_data(as_text=True)
    assert 'id="bulk-progress"' in page
    response = client.post(
        "/cases/bulk",
        data={"csrf_token": csrf(client, "/cases/"), "trigger": "verify", "case_id": ids},
        headers={"Accept": "application/json"},
    )
    body = response.get_json()
    assert [r["case_id"] for r in body["results"]] == ids
    assert all(r["ok"] is False and r["reason"] for r in body["results"])  # drafts: not yet
    assert body["html"].count("<tr") == len(ids)


def test_dates_and_choices_are_shown_in_the_ui_language(site: Flask, world: World) -> None:
    case = prolita_at_proposal(world)
    client = signed_in(site, world, "ketua_rt", case["subject"])
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "1 Feb 2026" in page  # rembug_date 2026-02-01, Indonesian medium date
    assert "2026-02-01" not in page.split("Riwayat")[0]
    client.post("/language/en", data={"csrf_token": csrf(client, f"/cases/{case['id']}")})
    english = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Feb 1, 2026" in english


def test_list_filters_offer_titles_state_labels_and_regions_in_scope(
    site: Flask, world: World
) -> None:
    rt = world.rts(SAMARINDA)[0]
    kelurahan = world.ancestor(rt, "kelurahan")
    other = next(
        code
        for code, region in world.regions.items()
        if region["level"] == "kelurahan" and code != kelurahan and code.startswith(SAMARINDA)
    )
    client = signed_in(site, world, "kelurahan", kelurahan)
    page = client.get("/cases/?program=probebaya").get_data(as_text=True)
    assert ">Probebaya" in page  # the program's title, not only its code
    assert '<option value="submitted" >Usulan di kelurahan</option>' in page
    assert 'value="rembug_held"' in page and 'value="proposed"' not in page  # KUBE's states
    regions = page.split('id="filter-regions"')[1].split("</datalist>")[0]
    assert f'value="{kelurahan}"' in regions
    assert f'value="{other}"' not in regions  # outside the user's scope


def test_the_export_holds_every_filtered_case_in_scope_and_nothing_else(
    site: Flask, world: World
) -> None:
    rts = world.rts(SAMARINDA)
    kelurahan = world.ancestor(rts[0], "kelurahan")
    inside = [rt for rt in rts if rt.startswith(kelurahan + ".")]
    outside = [rt for rt in rts if not rt.startswith(kelurahan + ".")][:2]
    ids = {
        rt: world.app.cases.start("probebaya", rt, 2026, world.user("ketua_rt", rt))["id"]
        for rt in inside + outside
    }
    client = signed_in(site, world, "kelurahan", kelurahan)
    response = client.get("/cases/export.csv?program=probebaya&sort=-id")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == sorted((ids[rt] for rt in inside), reverse=True)
    assert rows[0]["state_label"] == "Persiapan rembug warga"
    filtered = client.get(f"/cases/export.csv?q={inside[0]}").get_data(as_text=True)
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(filtered))] == [ids[inside[0]]]
    # a user of another kelurahan gets none of these
    other = signed_in(site, world, "kelurahan", world.ancestor(outside[0], "kelurahan"))
    theirs = csv.DictReader(io.StringIO(other.get("/cases/export.csv").get_data(as_text=True)))
    assert {int(r["id"]) for r in theirs}.isdisjoint(ids[rt] for rt in inside)
