"""The operator UI through Flask's test client: login, CSRF, scope, firing from generated
forms, refusals that keep the input, stale pages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin import create_app
from engine.runtime import Rukun
from engine.settings import Settings
from tests.builders import ROOT, Scenario

PASSWORD = "kata-sandi-rahasia"


def user_with_password(scenario: Scenario, role: str, region: str) -> str:
    name = f"web_{role}_{region.replace('.', '_')}"
    scenario.app.users.add(name, role, [region], PASSWORD)
    return name


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def login(client: FlaskClient, name: str) -> None:
    response = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf(client, "/login")}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def kelurahan_of(scenario: Scenario) -> str:
    return scenario.rt.rsplit(".", 2)[0]


def kelurahan_signed_in(web: Flask, scenario: Scenario) -> tuple[FlaskClient, str]:
    """A test client signed in as a new kelurahan user of the scenario's RT, and its name."""
    name = user_with_password(scenario, "kelurahan", kelurahan_of(scenario))
    client = web.test_client()
    login(client, name)
    return client, name


def test_screens_need_a_signed_in_user(web: Flask) -> None:
    client = web.test_client()
    for path in ("/", "/cases/", "/cases/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_wrong_password_is_refused(web: Flask, scenario: Scenario) -> None:
    name = user_with_password(scenario, "kelurahan", kelurahan_of(scenario))
    client = web.test_client()
    response = client.post(
        "/login", data={"name": name, "password": "salah", "csrf_token": csrf(client, "/login")}
    )
    assert response.status_code == 401
    assert "salah" in response.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_rejected(web: Flask, scenario: Scenario) -> None:
    name = user_with_password(scenario, "kelurahan", kelurahan_of(scenario))
    client = web.test_client()
    assert client.post("/login", data={"name": name, "password": PASSWORD}).status_code == 400
    login(client, name)
    case = scenario.probebaya_case("submitted")
    response = client.post(
        f"/cases/{case['id']}/fire/verify", data={"expected_version": case["version"]}
    )
    assert response.status_code == 400
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"


def test_kelurahan_sees_its_case_in_the_inbox_and_verifies_it(
    web: Flask, scenario: Scenario
) -> None:
    client, name = kelurahan_signed_in(web, scenario)
    case = scenario.probebaya_case("submitted")
    inbox = client.get("/").get_data(as_text=True)
    assert f'href="/cases/{case["id"]}"' in inbox
    detail = client.get(f"/cases/{case['id']}")
    assert detail.status_code == 200
    token = csrf(client, f"/cases/{case['id']}")
    response = client.post(
        f"/cases/{case['id']}/fire/verify",
        data={"csrf_token": token, "expected_version": case["version"]},
    )
    assert response.status_code == 302
    assert scenario.app.cases.show(case["id"])["state"] == "verified"
    assert scenario.app.cases.history(case["id"])[-1]["actor"] == name


def test_a_case_outside_the_users_region_is_forbidden_and_not_listed(
    web: Flask, scenario: Scenario
) -> None:
    own = kelurahan_of(scenario)
    other = next(
        r["code"] for r in scenario.app.regions.list(level="kelurahan") if r["code"] != own
    )
    name = user_with_password(scenario, "kelurahan", other)
    case = scenario.probebaya_case("submitted")
    client = web.test_client()
    login(client, name)
    assert client.get(f"/cases/{case['id']}").status_code == 403
    assert f'href="/cases/{case["id"]}"' not in client.get("/cases/").get_data(as_text=True)
    assert f'href="/cases/{case["id"]}"' not in client.get("/").get_data(as_text=True)
    token = csrf(client, "/cases/")
    response = client.post(f"/cases/{case['id']}/fire/verify", data={"csrf_token": token})
    assert response.status_code == 403
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"


def test_refusal_shows_the_guard_message_and_keeps_the_input(
    web: Flask, scenario: Scenario
) -> None:
    name = user_with_password(scenario, "ketua_rt", scenario.rt)
    case = scenario.start()
    client = web.test_client()
    login(client, name)
    token = csrf(client, f"/cases/{case['id']}")
    response = client.post(
        f"/cases/{case['id']}/fire/record_rembug",
        data={
            "csrf_token": token,
            "expected_version": case["version"],
            "rembug_date": "2026-01-15",
            "households_total": "40",
            "attendees": "12",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Rembug warga harus dihadiri mayoritas KK: 12 dari 40 hadir, perlu minimal 21" in page
    assert 'value="12"' in page
    assert scenario.app.cases.show(case["id"])["state"] == "draft"


def test_a_stale_page_gets_a_conflict_not_an_overwrite(web: Flask, scenario: Scenario) -> None:
    client, _ = kelurahan_signed_in(web, scenario)
    case = scenario.probebaya_case("submitted")
    token = csrf(client, f"/cases/{case['id']}")
    scenario.fire(
        case["id"], "return_for_revision", "kelurahan", {"revision_notes": "RAB kurang rinci"}
    )
    response = client.post(
        f"/cases/{case['id']}/fire/verify",
        data={"csrf_token": token, "expected_version": case["version"]},
    )
    assert response.status_code == 409
    assert scenario.app.cases.show(case["id"])["state"] == "revision_requested"


def test_language_switch_and_logout(web: Flask, scenario: Scenario) -> None:
    client, _ = kelurahan_signed_in(web, scenario)
    assert "Tugas saya" in client.get("/").get_data(as_text=True)
    token = csrf(client, "/")
    assert client.post("/language/en", data={"csrf_token": token}).status_code == 302
    with client.session_transaction() as session:
        assert session["lang"] == "en"
    english = client.get("/").get_data(as_text=True)
    assert "My work" in english and "Sign out" in english and "Tugas saya" not in english
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_case_page_shows_the_diagram_and_documents_download_within_scope(
    web: Flask, scenario: Scenario
) -> None:
    client, _ = kelurahan_signed_in(web, scenario)
    case = scenario.probebaya_case("submitted")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Usulan di kelurahan" in page
    assert ("<svg" in page) if shutil.which("dot") else ("Graphviz tidak terpasang" in page)
    sha = case["data"]["minutes"]["sha256"]
    download = client.get(f"/cases/{case['id']}/documents/{sha}")
    assert download.status_code == 200
    assert download.data == scenario.doc("minutes").read_bytes()
    assert download.mimetype == "application/pdf"
    assert client.get(f"/cases/{case['id']}/documents/{'0' * 64}").status_code == 404
    other = next(
        r["code"]
        for r in scenario.app.regions.list(level="kelurahan")
        if r["code"] != kelurahan_of(scenario)
    )
    outsider = user_with_password(scenario, "kelurahan", other)
    client2 = web.test_client()
    login(client2, outsider)
    assert client2.get(f"/cases/{case['id']}/documents/{sha}").status_code == 403


def test_documents_download_when_the_storage_directory_is_relative(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rukun demo` and `rukun serve` run with the default RUKUN_STORAGE, `rukun-storage`
    # in the working directory: Flask resolves a relative path against the app's package,
    # so the store hands it absolute ones
    case = scenario.probebaya_case("submitted")
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env(
        {
            "RUKUN_DATABASE_URL": scenario.app.context.settings.database_url,
            "RUKUN_STORAGE": "storage",
        }
    )
    relative = Rukun(settings, engine=scenario.app.engine)
    assert relative.context.documents.root == tmp_path / "storage"
    client = create_app(relative, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
    name = user_with_password(scenario, "kelurahan", kelurahan_of(scenario))
    login(client, name)
    sha = case["data"]["minutes"]["sha256"]
    download = client.get(f"/cases/{case['id']}/documents/{sha}")
    assert download.status_code == 200
    assert download.data == scenario.doc("minutes").read_bytes()


@pytest.mark.parametrize(
    ("role", "where", "view", "fire"),
    [
        ("kelurahan", "own_kelurahan", 200, 302),
        ("kelurahan", "other_kelurahan", 403, 403),
        ("ketua_rt", "rt", 200, 403),
        ("kecamatan", "kecamatan", 200, 403),
        ("city", "kota", 200, 403),
        ("auditor", None, 200, 403),
        ("dinsos", "provinsi", 200, 403),
    ],
)
def test_role_and_scope_matrix_for_viewing_and_verifying(
    web: Flask, scenario: Scenario, role: str, where: str | None, view: int, fire: int
) -> None:
    own = kelurahan_of(scenario)
    regions = {
        "own_kelurahan": own,
        "other_kelurahan": next(
            r["code"] for r in scenario.app.regions.list(level="kelurahan") if r["code"] != own
        ),
        "rt": scenario.rt,
        "kecamatan": own.rsplit(".", 1)[0],
        "kota": "64.72",
        "provinsi": "64",
    }
    if where is None:
        name = f"web_{role}"
        scenario.app.users.add(name, role, [], PASSWORD)
    else:
        name = user_with_password(scenario, role, regions[where])
    case = scenario.probebaya_case("submitted")
    client = web.test_client()
    login(client, name)
    assert client.get(f"/cases/{case['id']}").status_code == view
    listed = f'href="/cases/{case["id"]}"' in client.get("/cases/").get_data(as_text=True)
    assert listed is (view == 200)
    token = csrf(client, "/cases/")
    response = client.post(
        f"/cases/{case['id']}/fire/verify",
        data={"csrf_token": token, "expected_version": case["version"]},
    )
    assert response.status_code == fire
    assert scenario.app.cases.show(case["id"])["state"] == (
        "verified" if fire == 302 else "submitted"
    )


def test_bulk_action_moves_each_case_on_its_own(web: Flask, scenario: Scenario) -> None:
    name = user_with_password(scenario, "kecamatan", kelurahan_of(scenario).rsplit(".", 1)[0])
    ready = [scenario.probebaya_case("verified") for _ in range(2)]
    not_ready = scenario.probebaya_case("submitted")
    client = web.test_client()
    login(client, name)
    token = csrf(client, "/cases/")
    response = client.post(
        "/cases/bulk",
        data={
            "csrf_token": token,
            "trigger": "approve_kecamatan",
            "case_id": [str(c["id"]) for c in [*ready, not_ready]],
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 berhasil, 1 gagal" in page
    assert [scenario.app.cases.show(c["id"])["state"] for c in ready] == ["kecamatan_approved"] * 2
    assert scenario.app.cases.show(not_ready["id"])["state"] == "submitted"
    assert "tidak dapat dijalankan" in page  # in the UI's Indonesian


def test_bulk_fire_in_the_runtime_reports_each_case(scenario: Scenario) -> None:
    first, second = scenario.probebaya_case("submitted"), scenario.probebaya_case("draft")
    results = scenario.app.cases.fire_many(
        [first["id"], second["id"]], "verify", scenario.users["kelurahan"]
    )
    assert [(r["case_id"], r["ok"]) for r in results] == [
        (first["id"], True),
        (second["id"], False),
    ]
    assert results[1]["error"]["kind"] == "conflict"


def test_every_template_text_has_an_english_translation() -> None:
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = ROOT / "admin"
    used = {
        match
        for path in folder.rglob("*.html")
        for match in re.findall(r"_\('([^']+)'", path.read_text(encoding="utf-8"))
    } | {
        match
        for path in folder.rglob("*.py")
        for match in re.findall(r"gettext\(\s*\"([^\"]+)\"", path.read_text(encoding="utf-8"))
    }
    catalogue = folder / "translations" / "en" / "LC_MESSAGES"
    with (catalogue / "messages.po").open("rb") as po, (catalogue / "messages.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    translated = {m.id: m.string for m in source if m.id}
    assert used - set(translated) == set()
    assert all(translated[text] for text in used)
    assert {
        m.id: m.string for m in compiled if m.id
    } == translated  # the .mo is compiled from the .po


def test_starting_a_case_from_the_ui_is_checked_by_the_engine(
    web: Flask, scenario: Scenario
) -> None:
    name = user_with_password(scenario, "ketua_rt", scenario.rt)
    client = web.test_client()
    login(client, name)
    token = csrf(client, "/cases/")
    started = client.post(
        "/cases/start",
        data={"csrf_token": token, "program": "probebaya", "subject": scenario.rt, "year": "2026"},
    )
    assert started.status_code == 302 and "/cases/" in started.headers["Location"]
    neighbour = next(
        r["code"]
        for r in scenario.app.regions.list(level="rt")
        if r["code"] != scenario.rt and r["code"].startswith("64.72.")
    )
    refused = client.post(
        "/cases/start",
        data={"csrf_token": token, "program": "probebaya", "subject": neighbour, "year": "2026"},
    )
    assert refused.status_code == 403
    assert scenario.app.cases.list(program="probebaya", viewer=None) and all(
        c["subject"] == scenario.rt for c in scenario.app.cases.list(program="probebaya")
    )


def test_bulk_action_cannot_reach_cases_outside_the_scope(web: Flask, scenario: Scenario) -> None:
    own = kelurahan_of(scenario)
    other = next(
        r["code"]
        for r in scenario.app.regions.list(level="kecamatan")
        if r["code"] != own.rsplit(".", 1)[0]
    )
    name = user_with_password(scenario, "kecamatan", other)
    case = scenario.probebaya_case("verified")
    client = web.test_client()
    login(client, name)
    token = csrf(client, "/cases/")
    page = client.post(
        "/cases/bulk",
        data={"csrf_token": token, "trigger": "approve_kecamatan", "case_id": [str(case["id"])]},
    ).get_data(as_text=True)
    assert "0 berhasil, 1 gagal" in page
    assert "di luar cakupan wilayahnya" in page
    assert scenario.app.cases.show(case["id"])["state"] == "verified"


@pytest.mark.parametrize(
    "path",
    ["/admin/users/", "/admin/regions/"],
)
def test_admin_screens_are_for_admins_only_and_show_no_password_hashes(
    web: Flask, scenario: Scenario, path: str
) -> None:
    scenario.app.users.add("web_admin", "admin", [], PASSWORD)
    lurah = user_with_password(scenario, "kelurahan", kelurahan_of(scenario))
    client = web.test_client()
    login(client, lurah)
    assert client.get(path).status_code == 403
    admin = web.test_client()
    login(admin, "web_admin")
    page = admin.get(path)
    assert page.status_code == 200
    assert "password_hash" not in page.get_data(as_text=True) and "$argon2" not in page.get_data(
        as_text=True
    )
    assert admin.get(path + "new/").status_code in (302, 403, 404)


def test_case_list_filters_by_year_region_and_search(web: Flask, scenario: Scenario) -> None:
    name = user_with_password(scenario, "city", "64.72")
    this_year = scenario.probebaya_case("submitted")
    next_year = scenario.start(year=2027)
    client = web.test_client()
    login(client, name)

    def listed(**query: str) -> set[int]:
        page = client.get("/cases/", query_string=query).get_data(as_text=True)
        return {int(i) for i in re.findall(r'href="/cases/(\d+)"', page)}

    assert listed(year="2027") == {next_year["id"]}
    assert listed(region=kelurahan_of(scenario)) == {this_year["id"], next_year["id"]}
    other = next(
        r["code"]
        for r in scenario.app.regions.list(level="kelurahan")
        if r["code"] != kelurahan_of(scenario)
    )
    assert listed(region=other) == set()
    assert listed(q=str(this_year["id"])) == {this_year["id"]}
    assert listed(q="RT 001 RW 001") == {this_year["id"], next_year["id"]}
    assert listed(q="tidak ada") == set()


def test_case_list_pages_without_counting(scenario: Scenario) -> None:
    cases = [scenario.start(year=year) for year in (2026, 2027, 2028)]
    first = scenario.app.cases.list(limit=2)
    rest = scenario.app.cases.list(limit=2, after_id=first[-1]["id"])
    assert [c["id"] for c in first + rest] == [c["id"] for c in cases]


def test_a_new_password_or_deactivation_ends_existing_sessions(
    web: Flask, scenario: Scenario
) -> None:
    client, name = kelurahan_signed_in(web, scenario)
    assert client.get("/").status_code == 200
    scenario.app.users.set_password(name, "kata-sandi-baru-sekali")
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    fresh = web.test_client()
    token = csrf(fresh, "/login")
    fresh.post(
        "/login", data={"name": name, "password": "kata-sandi-baru-sekali", "csrf_token": token}
    )
    assert fresh.get("/").status_code == 200
    scenario.app.users.set_active(name, False)
    assert fresh.get("/").status_code == 302
