"""The call centre's screen through Flask's test client: a search box, the cases found with
where each is stuck, since when (WITA), overdue or not, and who must act next with their
office's contact, in Indonesian and English, without JavaScript; the menu shows it only
to those it lets in; and the call centre's POSTs to fire are refused."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin.formatting import local_time
from engine.runtime import call_centre
from tests.builders import Scenario
from tests.integration.test_admin import PASSWORD, csrf, kelurahan_of, login

CALLER = "pusat_layanan"
CONTACT = "Kantor Kelurahan — layanan Senin–Jumat 08.00–16.00 (uji)"


@pytest.fixture
def caller(web: Flask, scenario: Scenario) -> FlaskClient:
    """A client signed in as a call-centre user of Kota Samarinda."""
    scenario.app.users.add(CALLER, "call_centre", ["64.72"], PASSWORD)
    client = web.test_client()
    login(client, CALLER)
    return client


def text(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return html.unescape(response.get_data(as_text=True))


def results(page: str) -> str:
    match = re.search(
        r'<table class="table table-sm" id="call-centre-results">.*?</table>', page, re.S
    )
    assert match, page[:2000]
    return match.group(0)


def test_the_call_centre_finds_a_stuck_case_and_sees_who_must_act(
    scenario: Scenario, caller: FlaskClient
) -> None:
    kelurahan = kelurahan_of(scenario)
    scenario.app.regions.set_contact(kelurahan, CONTACT)
    case = scenario.probebaya_case("submitted")
    office = next(r for r in scenario.app.regions.list(level="kelurahan") if r["code"] == kelurahan)
    empty = text(caller, "/call-centre/")
    assert '<label for="call-centre-q">Nomor kasus, nama RT, Pokmas atau kelompok' in empty
    assert 'id="call-centre-results"' not in empty  # nothing searched yet
    found = results(text(caller, f"/call-centre/?q=%23{case['id']}"))
    assert f'<a href="/cases/{case["id"]}">#{case["id"]}</a>' in found
    assert "Probebaya — Program Pembangunan" in found
    assert f'<span class="badge badge-primary">{case["state_label"]["id"]}</span>' in found
    since = scenario.app.cases.history(case["id"])[-1]["at"]
    assert f"<td>{local_time(since)}</td>" in found and local_time(since).endswith(" WITA")
    assert f"Tenggat: {local_time(case['due_at'])}" in found
    assert "terlambat" not in found
    assert f"<strong>Kelurahan</strong> — {office['name']} — {CONTACT}" in found
    assert "Kembalikan untuk perbaikan, Verifikasi usulan" in found
    by_name = results(text(caller, f"/call-centre/?q={office['name']}"))
    assert f'href="/cases/{case["id"]}"' in by_name

    token = csrf(caller, "/call-centre/")
    assert caller.post("/language/en", data={"csrf_token": token}).status_code == 302
    english = results(text(caller, f"/call-centre/?q={case['id']}"))
    assert "Community Development and Empowerment Programme" in english
    assert f"<strong>Kelurahan office</strong> — {office['name']} — {CONTACT}" in english
    assert "Return for revision, Verify the proposal" in english


def test_an_overdue_case_is_marked_and_an_office_without_a_contact_says_so(
    scenario: Scenario, caller: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = scenario.probebaya_case("submitted")
    found = results(text(caller, f"/call-centre/?q={case['id']}"))
    assert "kontak belum dicatat" in found and "terlambat" not in found
    due = dt.datetime.fromisoformat(case["due_at"].replace("Z", "+00:00"))
    # the clock the call centre reads "overdue" against, a day past the kelurahan's 14 days
    monkeypatch.setattr(call_centre, "utcnow", lambda: due + dt.timedelta(days=1))
    late = results(text(caller, f"/call-centre/?q={case['id']}"))
    assert '<tr class="table-danger">' in late
    assert '<span class="badge badge-danger">terlambat</span>' in late
    assert "Tidak ada kasus yang cocok." in results(text(caller, "/call-centre/?q=99999"))
    too_long = text(caller, "/call-centre/?q=" + "x" * 201, 400)
    assert "pencarian paling banyak 200 karakter, bukan 201" in too_long


def test_the_call_centre_cannot_fire_from_the_screens(
    scenario: Scenario, caller: FlaskClient
) -> None:
    case = scenario.probebaya_case("submitted")
    page = text(caller, f"/cases/{case['id']}")
    assert 'class="rukun-transition"' not in page and "/fire/" not in page
    token = csrf(caller, "/call-centre/")
    for trigger in ("verify", "return_for_revision", "cancel"):
        response = caller.post(
            f"/cases/{case['id']}/fire/{trigger}",
            data={"csrf_token": token, "expected_version": case["version"]},
        )
        assert response.status_code == 403, trigger
    bulk = caller.post(
        "/cases/bulk", data={"csrf_token": token, "trigger": "verify", "case_id": [case["id"]]}
    )
    assert bulk.status_code == 200 and "diperlukan peran kelurahan" in html.unescape(
        bulk.get_data(as_text=True)
    )
    start = caller.post(
        "/cases/start",
        data={"csrf_token": token, "program": "probebaya", "subject": scenario.rt, "year": "2027"},
    )
    assert start.status_code == 403
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"
    assert len(scenario.app.cases.list()) == 1


def test_the_menu_shows_the_screen_only_to_those_it_lets_in(
    web: Flask, scenario: Scenario, caller: FlaskClient, admin: FlaskClient
) -> None:
    link = 'href="/call-centre/"'
    assert link in text(caller, "/")
    assert link in text(admin, "/") and text(admin, "/call-centre/?q=1")
    scenario.app.users.set_password(scenario.users["kelurahan"], PASSWORD)
    lurah = web.test_client()
    login(lurah, scenario.users["kelurahan"])
    assert link not in text(lurah, "/")
    assert lurah.get("/call-centre/").status_code == 403
    anonymous = web.test_client().get("/call-centre/?q=1")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_admin_sets_an_offices_contact_on_the_regions_screen(
    scenario: Scenario, admin: FlaskClient
) -> None:
    kelurahan = kelurahan_of(scenario)
    token = csrf(admin, "/admin/regions/")
    saved = admin.post(
        "/admin/regions/contact",
        data={"csrf_token": token, "contact_code": kelurahan, "contact": CONTACT},
    )
    assert saved.status_code == 302
    listing = text(admin, f"/admin/regions/?q={kelurahan}")
    assert f"<td>{CONTACT}</td>" in listing and f"Kontak {kelurahan} disimpan." in listing
    refused = admin.post(
        "/admin/regions/contact",
        data={"csrf_token": token, "contact_code": kelurahan, "contact": "x" * 501},
    )
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "kontak paling banyak 500 karakter" in page
    assert f'name="contact_code" value="{kelurahan}"' in page
    missing = admin.post(
        "/admin/regions/contact",
        data={"csrf_token": token, "contact_code": "99.99", "contact": "x"},
    )
    assert missing.status_code == 404
    cleared = admin.post(
        "/admin/regions/contact",
        data={"csrf_token": token, "contact_code": kelurahan, "contact": ""},
    )
    assert cleared.status_code == 302
    assert (
        next(r for r in scenario.app.regions.list(level="kelurahan") if r["code"] == kelurahan)[
            "contact"
        ]
        is None
    )
