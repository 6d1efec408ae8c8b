"""The admin-only screens (users and grants, regions, definition versions) through Flask's
test client: they write only through the engine, so its checks and messages reach the page;
and a role x screen matrix over every URL of the app."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from admin import create_app
from tests.builders import Scenario
from tests.integration.test_admin import PASSWORD, csrf, kelurahan_of, login, user_with_password

ADMIN = "web_admin"


@pytest.fixture
def web(scenario: Scenario) -> Iterator[Flask]:
    yield create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def admin(web: Flask, scenario: Scenario) -> FlaskClient:
    """A client signed in as an admin (a user holding only the unscoped admin role)."""
    scenario.app.users.add(ADMIN, "admin", [], PASSWORD)
    client = web.test_client()
    login(client, ADMIN)
    return client


def post(client: FlaskClient, path: str, data: dict[str, object], **kwargs: str) -> TestResponse:
    token = csrf(client, "/admin/users/")
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def signs_in(web: Flask, name: str, password: str) -> bool:
    client = web.test_client()
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": csrf(client, "/login")}
    )
    return response.status_code == 302


def shown_password(page: str) -> str:
    match = re.search(r'id="new-password">.*?<code[^>]*>([^<]+)</code>', page, re.S)
    assert match, page[:2000]
    return match.group(1)


def _upload(content: str, filename: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(content.encode()), filename


def grants_of(scenario: Scenario, name: str) -> list[tuple[str, str | None]]:
    user = next(u for u in scenario.app.users.list() if u["name"] == name)
    return [(g["role"], g["region"]) for g in user["grants"]]


# ------------------------------------------------------------------------------ users


def test_a_created_user_gets_a_generated_password_shown_once_that_signs_in(
    web: Flask, scenario: Scenario, admin: FlaskClient
) -> None:
    response = post(
        admin,
        "/admin/users/create",
        {"name": "siti", "role": "ketua_rt", "regions": scenario.rt, "password": ""},
    )
    page = text(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = shown_password(page)
    assert len(password) >= 16
    assert signs_in(web, "siti", password)
    listing = text(admin.get("/admin/users/", query_string={"q": "sit"}))
    assert password not in listing and 'id="new-password"' not in listing
    assert f"ketua_rt @ {scenario.rt}" in listing and "RT 001 RW 001 (demo)" in listing
    assert grants_of(scenario, "siti") == [("ketua_rt", scenario.rt)]


def test_a_typed_password_is_not_shown_and_a_short_one_is_refused(
    web: Flask, scenario: Scenario, admin: FlaskClient
) -> None:
    typed = post(
        admin,
        "/admin/users/create",
        {"name": "budi", "role": "auditor", "regions": "", "password": "rahasia-budi"},
    )
    assert typed.status_code == 200 and 'id="new-password"' not in text(typed)
    assert signs_in(web, "budi", "rahasia-budi")
    short = post(
        admin,
        "/admin/users/create",
        {"name": "eko", "role": "auditor", "regions": "", "password": "pendek"},
    )
    assert short.status_code == 422
    assert "password must have at least 8 characters" in text(short)
    assert "eko" not in {u["name"] for u in scenario.app.users.list()}


def test_a_duplicate_user_is_refused_with_the_engines_message_and_the_input_kept(
    scenario: Scenario, admin: FlaskClient
) -> None:
    kelurahan = kelurahan_of(scenario)
    data = {"name": "demo_kelurahan", "role": "kelurahan", "regions": kelurahan, "password": ""}
    response = post(admin, "/admin/users/create", data)
    page = text(response)
    assert response.status_code == 409
    assert "user 'demo_kelurahan' already exists" in page
    assert 'id="new-name" name="name" value="demo_kelurahan"' in page
    assert f'name="regions" value="{kelurahan}"' in page
    assert '<option value="kelurahan" selected>' in page
    assert "Traceback" not in page and 'id="new-password"' not in page


def test_a_wrong_level_or_unknown_region_is_refused_when_creating(
    scenario: Scenario, admin: FlaskClient
) -> None:
    wrong = post(
        admin,
        "/admin/users/create",
        {"name": "lurah", "role": "kelurahan", "regions": scenario.rt, "password": ""},
    )
    assert wrong.status_code == 422
    assert f"role kelurahan is scoped to a kelurahan; {scenario.rt} is a rt" in text(wrong)
    unknown = post(
        admin,
        "/admin/users/create",
        {"name": "lurah", "role": "kelurahan", "regions": "99.99", "password": ""},
    )
    assert unknown.status_code == 404 and "no region 99.99" in text(unknown)
    assert "lurah" not in {u["name"] for u in scenario.app.users.list()}


def test_resetting_a_password_shows_the_new_one_once(
    web: Flask, scenario: Scenario, admin: FlaskClient
) -> None:
    name = user_with_password(scenario, "kelurahan", kelurahan_of(scenario))
    response = post(admin, "/admin/users/password", {"name": name, "password": ""})
    password = shown_password(text(response))
    assert not signs_in(web, name, PASSWORD)
    assert signs_in(web, name, password)
    assert password not in text(admin.get("/admin/users/"))
    missing = post(admin, "/admin/users/password", {"name": "nobody", "password": ""})
    assert missing.status_code == 404 and "no user 'nobody'" in text(missing)


def test_deactivating_blocks_sign_in_and_ends_the_session_until_reactivated(
    web: Flask, scenario: Scenario, admin: FlaskClient
) -> None:
    name = user_with_password(scenario, "kelurahan", kelurahan_of(scenario))
    lurah = web.test_client()
    login(lurah, name)
    assert lurah.get("/").status_code == 200
    assert post(admin, "/admin/users/deactivate", {"name": name}).status_code == 302
    assert "nonaktif" in text(admin.get("/admin/users/", query_string={"q": name}))
    assert lurah.get("/").status_code == 302  # signed out: the user no longer loads
    assert not signs_in(web, name, PASSWORD)
    assert post(admin, "/admin/users/activate", {"name": name}).status_code == 302
    assert signs_in(web, name, PASSWORD)


def test_an_admin_cannot_deactivate_themself(scenario: Scenario, admin: FlaskClient) -> None:
    response = post(admin, "/admin/users/deactivate", {"name": ADMIN})
    assert response.status_code == 409
    assert f"user '{ADMIN}' cannot deactivate their own account" in text(response)
    assert admin.get("/admin/users/").status_code == 200


def test_a_grant_of_the_wrong_region_level_is_refused_with_the_engines_message(
    scenario: Scenario, admin: FlaskClient
) -> None:
    name = scenario.users["kelurahan"]
    kecamatan = kelurahan_of(scenario).rsplit(".", 1)[0]
    wrong = post(
        admin, "/admin/users/grant", {"name": name, "role": "kecamatan", "region": scenario.rt}
    )
    page = text(wrong)
    assert wrong.status_code == 422
    assert f"role kecamatan is scoped to a kecamatan; {scenario.rt} is a rt" in page
    assert f'name="region" value="{scenario.rt}"' in page  # kept in that user's row
    assert grants_of(scenario, name) == [("kelurahan", kelurahan_of(scenario))]
    right = post(
        admin, "/admin/users/grant", {"name": name, "role": "kecamatan", "region": kecamatan}
    )
    assert right.status_code == 302
    assert ("kecamatan", kecamatan) in grants_of(scenario, name)
    again = post(
        admin, "/admin/users/grant", {"name": name, "role": "kecamatan", "region": kecamatan}
    )
    assert again.status_code == 409
    assert f"already holds kecamatan@{kecamatan}" in text(again)


def test_revoking_a_grant_keeps_at_least_one(scenario: Scenario, admin: FlaskClient) -> None:
    name = scenario.users["kelurahan"]
    kelurahan = kelurahan_of(scenario)
    scenario.app.users.grant(name, "auditor")
    revoked = post(
        admin, "/admin/users/revoke", {"name": name, "role": "kelurahan", "region": kelurahan}
    )
    assert revoked.status_code == 302
    assert grants_of(scenario, name) == [("auditor", None)]
    last = post(admin, "/admin/users/revoke", {"name": name, "role": "auditor", "region": ""})
    assert last.status_code == 409
    assert f"it is the only grant of user '{name}'" in text(last)
    assert grants_of(scenario, name) == [("auditor", None)]
    scenario.app.users.grant(ADMIN, "auditor")
    own = post(admin, "/admin/users/revoke", {"name": ADMIN, "role": "admin", "region": ""})
    assert own.status_code == 409 and "your own last admin grant" in text(own)


# ------------------------------------------------------------------------------ regions


def test_a_region_is_added_and_renamed_through_the_engine(
    scenario: Scenario, admin: FlaskClient
) -> None:
    rw = scenario.rt.rsplit(".", 1)[0]
    code = f"{rw}.009"
    data = {"code": code, "level": "rt", "name": "RT 009", "parent": rw}
    assert post(admin, "/admin/regions/save", data).status_code == 302
    assert scenario.app.regions.list(parent=rw)[-1] == {
        "code": code,
        "level": "rt",
        "name": "RT 009",
        "parent_code": rw,
        "demo": False,
    }
    renamed = post(admin, "/admin/regions/save", {**data, "name": "RT 009 Baru"})
    assert renamed.status_code == 302
    assert "RT 009 Baru" in text(admin.get("/admin/regions/", query_string={"q": code}))
    moved = post(admin, "/admin/regions/save", {**data, "name": "RT 009 Baru", "parent": ""})
    page = text(moved)
    assert moved.status_code == 422
    assert "a rt needs a parent_code" in page and "form:1" not in page
    assert f'name="code" value="{code}"' in page and 'name="name" value="RT 009 Baru"' in page


def test_a_csv_import_is_all_or_nothing_and_shows_the_bad_lines(
    scenario: Scenario, admin: FlaskClient, tmp_path: Path
) -> None:
    rw = scenario.rt.rsplit(".", 1)[0]
    bad = (
        "code,level,name,parent_code\n"
        f"{rw}.101,rt,RT 101,{rw}\n"
        f"{rw}.102,kecamatan,RT 102,{rw}\n"
        f"{rw}.103,rt,,{rw}\n"
    )
    response = post(
        admin,
        "/admin/regions/import",
        {"file": _upload(bad, "wilayah baru.csv")},
        content_type="multipart/form-data",
    )
    page = text(response)
    assert response.status_code == 422
    assert f"wilayah_baru.csv:3: a kecamatan cannot be under a rw ({rw})" in page
    assert "wilayah_baru.csv:4: name is empty" in page
    assert str(tmp_path) not in page and "/tmp" not in page
    assert f"{rw}.101" not in {r["code"] for r in scenario.app.regions.list(parent=rw)}
    good = "code,level,name,parent_code\n" + f"{rw}.101,rt,RT 101,{rw}\n{rw}.102,rt,RT 102,{rw}\n"
    imported = post(
        admin,
        "/admin/regions/import",
        {"file": _upload(good, "wilayah.csv")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302
    assert {f"{rw}.101", f"{rw}.102"} <= {r["code"] for r in scenario.app.regions.list(parent=rw)}
    assert "2 wilayah diimpor dari wilayah.csv" in text(admin.get("/admin/regions/"))
    missing = post(admin, "/admin/regions/import", {}, content_type="multipart/form-data")
    assert missing.status_code == 422


def test_region_list_filters_by_level_and_parent_and_pages_by_code(
    scenario: Scenario, admin: FlaskClient
) -> None:
    def codes(**query: str) -> list[str]:
        page = admin.get("/admin/regions/", query_string=query).get_data(as_text=True)
        return re.findall(r"<td><code>([^<]+)</code></td>", page)

    kecamatan = codes(level="kecamatan", parent="64.72")
    assert kecamatan and all(c.startswith("64.72.") and c.count(".") == 2 for c in kecamatan)
    assert codes(q="RT 002 RW 001", parent=scenario.rt.rsplit(".", 1)[0]) == [
        scenario.rt.rsplit(".", 1)[0] + ".002"
    ]
    first = codes(level="kelurahan")
    assert len(first) == 50
    second = codes(level="kelurahan", after=first[-1])
    assert second and second[0] > first[-1] and not set(first) & set(second)
    unknown = admin.get("/admin/regions/", query_string={"parent": "99.99"})
    assert unknown.status_code == 200 and "no region 99.99" in text(unknown)


def test_definition_versions_are_listed(admin: FlaskClient) -> None:
    page = text(admin.get("/admin/definitions/"))
    assert "probebaya" in page and "published" in page and "probebaya.yaml" in page


def test_admin_forms_without_a_csrf_token_are_rejected(
    web: Flask, scenario: Scenario, admin: FlaskClient
) -> None:
    name = scenario.users["kelurahan"]
    before = scenario.app.users.list()
    for path, data in (
        ("/admin/users/create", {"name": "tanpa_token", "role": "auditor"}),
        ("/admin/users/password", {"name": name}),
        ("/admin/users/deactivate", {"name": name}),
        ("/admin/users/activate", {"name": name}),
        ("/admin/users/grant", {"name": name, "role": "auditor"}),
        ("/admin/users/revoke", {"name": name, "role": "kelurahan"}),
        ("/admin/regions/save", {"code": "64.99", "level": "kota", "name": "X"}),
        ("/admin/regions/import", {}),
    ):
        assert admin.post(path, data=data).status_code == 400, path
    assert scenario.app.users.list() == before
    assert signs_in(web, ADMIN, PASSWORD)
    assert "64.99" not in {r["code"] for r in scenario.app.regions.list(level="kota")}
