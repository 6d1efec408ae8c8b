"""The admin-only screens (users and grants, regions, definition versions) through Flask's
test client: they write only through the engine, so its checks and messages reach the page;
and a role x screen matrix over every URL of the app."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.language.roles import BUILTIN_ROLES
from tests.builders import PROBEBAYA_FILE, ROOT, Scenario, probebaya_revised
from tests.integration.conftest import ADMIN
from tests.integration.test_admin import PASSWORD, csrf, kelurahan_of, login, user_with_password
from tests.integration.test_hardening_http import security_header_problems

PROBEBAYA_TEXT = PROBEBAYA_FILE.read_text(encoding="utf-8")


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
    assert "kata sandi paling sedikit 8 karakter" in text(short)
    assert "eko" not in {u["name"] for u in scenario.app.users.list()}


def test_a_duplicate_user_is_refused_with_the_engines_message_and_the_input_kept(
    scenario: Scenario, admin: FlaskClient
) -> None:
    kelurahan = kelurahan_of(scenario)
    data = {"name": "demo_kelurahan", "role": "kelurahan", "regions": kelurahan, "password": ""}
    response = post(admin, "/admin/users/create", data)
    page = text(response)
    assert response.status_code == 409
    assert "pengguna 'demo_kelurahan' sudah ada" in page
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
    assert f"peran kelurahan berlaku untuk satu kelurahan; {scenario.rt} adalah RT" in text(wrong)
    unknown = post(
        admin,
        "/admin/users/create",
        {"name": "lurah", "role": "kelurahan", "regions": "99.99", "password": ""},
    )
    assert unknown.status_code == 404 and "tidak ada wilayah 99.99" in text(unknown)
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
    assert missing.status_code == 404 and "tidak ada pengguna 'nobody'" in text(missing)


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
    assert f"pengguna '{ADMIN}' tidak dapat menonaktifkan akunnya sendiri" in text(response)
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
    assert f"peran kecamatan berlaku untuk satu kecamatan; {scenario.rt} adalah RT" in page
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
    assert f"sudah memegang kecamatan@{kecamatan}" in text(again)


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
    assert f"itu satu-satunya hak pengguna '{name}'" in text(last)
    assert grants_of(scenario, name) == [("auditor", None)]
    scenario.app.users.grant(ADMIN, "auditor")
    own = post(admin, "/admin/users/revoke", {"name": ADMIN, "role": "admin", "region": ""})
    assert own.status_code == 409 and "hak admin terakhir Anda sendiri" in text(own)


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
        "contact": None,
    }
    renamed = post(admin, "/admin/regions/save", {**data, "name": "RT 009 Baru"})
    assert renamed.status_code == 302
    assert "RT 009 Baru" in text(admin.get("/admin/regions/", query_string={"q": code}))
    moved = post(admin, "/admin/regions/save", {**data, "name": "RT 009 Baru", "parent": ""})
    page = text(moved)
    assert moved.status_code == 422
    assert "RT memerlukan parent_code" in page and "form:1" not in page
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
    assert f"wilayah_baru.csv:3: kecamatan tidak dapat berada di bawah RW ({rw})" in page
    assert "wilayah_baru.csv:4: nama kosong" in page
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
    assert unknown.status_code == 200 and "tidak ada wilayah 99.99" in text(unknown)


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


# ------------------------------------------------------------------------------ matrix

ANONYMOUS = "anonymous"
UNSCOPED = ("program_officer", "auditor", "admin")
#: Where each built-in role sits for the matrix: on the chain of regions above case A's RT
#: (the level the role is scoped to), or unscoped. Case B is in Banjarbaru, outside all of it.
PLACES = {
    "ketua_rt": "rt",
    "pokmas": "rt",
    "pendamping": "kelurahan",
    "kelurahan": "kelurahan",
    "kecamatan": "kecamatan",
    "city": "kota",
    "skpd": "kota",
    "dinsos": "provinsi",
    "call_centre": "kota",
    "program_officer": None,
    "auditor": None,
    "admin": None,
}
MARKER_USER = "matrix_target"


@dataclass
class Places:
    """What the matrix's URLs point at: an in-scope case A (Probebaya, submitted, with
    documents), an out-of-scope case B (RT Mandiri in Banjarbaru), RTs and a target user."""

    case_a: int
    case_b: int
    sha: str
    rt: str
    other_rt: str
    rw: str
    case_b_subject: str
    draft: int = 0
    spare_draft: int = 0
    token: int = 0
    token_secret: str = ""


@dataclass(frozen=True)
class Check:
    """One request of the matrix and the status each role gets."""

    rule: str
    method: str
    url: Callable[[Places], str]
    expect: Callable[[str], int]
    data: Callable[[Places], dict[str, Any]] = lambda _p: {}
    multipart: bool = False


def everyone(status: int) -> Callable[[str], int]:
    return lambda role: status


def signed_in(status: int) -> Callable[[str], int]:
    """Anonymous users go to the login page; everyone else gets ``status``."""
    return lambda role: 302 if role == ANONYMOUS else status


def only(roles: tuple[str, ...], status: int, others: int = 403) -> Callable[[str], int]:
    return lambda role: 302 if role == ANONYMOUS else (status if role in roles else others)


def studio(status: int) -> Callable[[str], int]:
    return only(("program_officer", "admin"), status)


def audit_screens(status: int) -> Callable[[str], int]:
    """The audit screens: auditors, program officers, admins and the city-level roles."""
    return only(("auditor", "program_officer", "admin", "city", "skpd", "dinsos"), status)


def call_centre_screen(status: int) -> Callable[[str], int]:
    """The call centre's search: the call centre and admins (not the audit screens' city
    roles: the call centre has a screen of its own, they have the case list)."""
    return only(("call_centre", "admin"), status)


def auditors(status: int) -> Callable[[str], int]:
    """Verifying and anchoring the history: auditors, program officers and admins."""
    return only(UNSCOPED, status)


def in_scope_b(unscoped: int) -> Callable[[str], int]:
    """Case B: the unscoped roles reach it (``unscoped``), every scoped role is refused."""
    return only(UNSCOPED, unscoped)


def _csv(places: Places) -> dict[str, Any]:
    rows = f"code,level,name,parent_code\n{places.rw}.201,rt,RT 201,{places.rw}\n"
    return {"file": _upload(rows, "wilayah.csv")}


MATRIX: tuple[Check, ...] = (
    Check("/", "GET", lambda p: "/", signed_in(200)),
    Check("/cases/", "GET", lambda p: "/cases/", signed_in(200)),
    Check("/cases/export.csv", "GET", lambda p: "/cases/export.csv", signed_in(200)),
    Check("/cases/<int:case_id>", "GET", lambda p: f"/cases/{p.case_a}", signed_in(200)),
    Check("/cases/<int:case_id>", "GET", lambda p: f"/cases/{p.case_b}", in_scope_b(200)),
    Check(
        "/cases/<int:case_id>/documents/<sha256>",
        "GET",
        lambda p: f"/cases/{p.case_a}/documents/{p.sha}",
        signed_in(200),
    ),
    Check(  # not a document of case B: found only by those who may see B at all
        "/cases/<int:case_id>/documents/<sha256>",
        "GET",
        lambda p: f"/cases/{p.case_b}/documents/{p.sha}",
        in_scope_b(404),
    ),
    # the preview of a generated document: whoever may see the case; the engine checks the
    # scope before the name, so case B's refusal tells nothing of its templates
    Check(
        "/cases/<int:case_id>/paperwork/<template>",
        "GET",
        lambda p: f"/cases/{p.case_a}/paperwork/berita_acara_verifikasi",
        signed_in(200),
    ),
    Check(
        "/cases/<int:case_id>/paperwork/<template>",
        "GET",
        lambda p: f"/cases/{p.case_a}/paperwork/no_such_template",
        signed_in(404),
    ),
    Check(
        "/cases/<int:case_id>/paperwork/<template>",
        "GET",
        lambda p: f"/cases/{p.case_b}/paperwork/berita_acara_verifikasi",
        in_scope_b(200),
    ),
    Check("/login", "GET", lambda p: "/login", everyone(200)),
    Check(
        "/login",
        "POST",
        lambda p: "/login",
        everyone(401),
        lambda p: {"name": MARKER_USER, "password": "salah"},
    ),
    # notifications: every signed-in user their own (the engine is given only that user)
    Check("/notifications/", "GET", lambda p: "/notifications/", signed_in(200)),
    Check(
        "/notifications/read",
        "POST",
        lambda p: "/notifications/read",
        signed_in(302),
        lambda p: {"all": "1"},
    ),
    Check(
        "/notifications/preferences",
        "POST",
        lambda p: "/notifications/preferences",
        signed_in(302),
        lambda p: {"waiting_in_app": "y", "escalated_in_app": "y"},
    ),
    Check(
        "/admin/users/email",
        "POST",
        lambda p: "/admin/users/email",
        only(("admin",), 302),
        lambda p: {"name": MARKER_USER, "email": "matrix@example.go.id"},
    ),
    Check("/admin/users/", "GET", lambda p: "/admin/users/", only(("admin",), 200)),
    Check("/admin/regions/", "GET", lambda p: "/admin/regions/", only(("admin",), 200)),
    Check(
        "/admin/sign-ins/",
        "GET",
        lambda p: f"/admin/sign-ins/?name={MARKER_USER}&outcome=failed",
        only(("admin",), 200),
    ),
    Check(
        "/cases/<int:case_id>/check/<trigger>",
        "POST",
        lambda p: f"/cases/{p.case_a}/check/verify",
        only(("kelurahan",), 200),  # guard results only for a role that may fire it
    ),
    Check(
        "/cases/<int:case_id>/check/<trigger>",
        "POST",
        lambda p: f"/cases/{p.case_b}/check/verify",
        in_scope_b(409),  # B is a draft: no "verify" there for those who may see it
    ),
    Check(
        "/cases/start",
        "POST",
        lambda p: "/cases/start",
        only(("ketua_rt", "admin"), 302),  # those who act first, and admin
        lambda p: {"program": "probebaya", "subject": p.rt, "year": "2026"},
    ),
    Check(
        "/cases/start",
        "POST",
        lambda p: "/cases/start",
        only(("admin",), 302),  # the ketua RT's scope is another RT
        lambda p: {"program": "probebaya", "subject": p.other_rt, "year": "2026"},
    ),
    Check(
        "/cases/bulk",
        "POST",
        lambda p: "/cases/bulk",
        signed_in(200),  # each case is checked on its own; the page reports each result
        lambda p: {"trigger": "approve_kecamatan", "case_id": [str(p.case_a), str(p.case_b)]},
    ),
    Check(
        "/cases/<int:case_id>/fire/<trigger>",
        "POST",
        lambda p: f"/cases/{p.case_b}/fire/verify",
        in_scope_b(409),
    ),
    Check(
        "/cases/<int:case_id>/fire/<trigger>",
        "POST",
        lambda p: f"/cases/{p.case_a}/fire/verify",
        only(("kelurahan",), 302),
    ),
    Check(
        "/admin/users/create",
        "POST",
        lambda p: "/admin/users/create",
        only(("admin",), 200),
        lambda p: {"name": "matrix_new", "role": "auditor", "regions": "", "password": ""},
    ),
    Check(
        "/admin/users/password",
        "POST",
        lambda p: "/admin/users/password",
        only(("admin",), 200),
        lambda p: {"name": MARKER_USER, "password": ""},
    ),
    Check(
        "/admin/users/grant",
        "POST",
        lambda p: "/admin/users/grant",
        only(("admin",), 302),
        lambda p: {"name": MARKER_USER, "role": "auditor", "region": ""},
    ),
    Check(
        "/admin/users/revoke",
        "POST",
        lambda p: "/admin/users/revoke",
        only(("admin",), 302),
        lambda p: {"name": MARKER_USER, "role": "auditor", "region": ""},
    ),
    Check(
        "/admin/users/deactivate",
        "POST",
        lambda p: "/admin/users/deactivate",
        only(("admin",), 302),
        lambda p: {"name": MARKER_USER},
    ),
    Check(
        "/admin/users/activate",
        "POST",
        lambda p: "/admin/users/activate",
        only(("admin",), 302),
        lambda p: {"name": MARKER_USER},
    ),
    Check(
        "/admin/regions/save",
        "POST",
        lambda p: "/admin/regions/save",
        only(("admin",), 302),
        lambda p: {"code": f"{p.rw}.200", "level": "rt", "name": "RT 200", "parent": p.rw},
    ),
    Check(
        "/admin/regions/import",
        "POST",
        lambda p: "/admin/regions/import",
        only(("admin",), 302),
        _csv,
        multipart=True,
    ),
    # API tokens: every signed-in user their own; an admin everyone's (the engine checks)
    Check("/tokens/", "GET", lambda p: "/tokens/", signed_in(200)),
    Check(
        "/tokens/create",
        "POST",
        lambda p: "/tokens/create",
        signed_in(200),  # a token of one's own: the page shows its secret once
        lambda p: {"name": "matrix", "days": "90"},
    ),
    Check(
        "/tokens/<int:token_id>/revoke",
        "POST",
        lambda p: f"/tokens/{p.token}/revoke",
        only(("admin",), 302),  # the token is the marker user's
    ),
    # the studio: program officers and admins (the matrix's are unscoped: every program)
    Check("/definitions/", "GET", lambda p: "/definitions/", studio(200)),
    Check("/definitions/<program>/", "GET", lambda p: "/definitions/probebaya/", studio(200)),
    Check(
        "/definitions/<program>/v<int:version>.yaml",
        "GET",
        lambda p: "/definitions/probebaya/v1.yaml",
        studio(200),
    ),
    Check(
        "/definitions/drafts/new",
        "POST",
        lambda p: "/definitions/drafts/new",
        studio(302),
        lambda p: {"program": "probebaya"},
    ),
    Check(
        "/definitions/drafts/upload",
        "POST",
        lambda p: "/definitions/drafts/upload",
        studio(302),
        lambda p: {"file": _upload(PROBEBAYA_TEXT, "probebaya.yaml")},
        multipart=True,
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/",
        "GET",
        lambda p: f"/definitions/drafts/{p.draft}/",
        studio(200),
    ),
    Check(
        "/definitions/drafts/<int:draft_id>.yaml",
        "GET",
        lambda p: f"/definitions/drafts/{p.draft}.yaml",
        studio(200),
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/check",
        "POST",
        lambda p: f"/definitions/drafts/{p.draft}/check",
        studio(200),
        lambda p: {"source": PROBEBAYA_TEXT},
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/save",
        "POST",
        lambda p: f"/definitions/drafts/{p.draft}/save",
        studio(302),
        lambda p: {"source": probebaya_revised(), "revision": "1"},
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/form",
        "GET",
        lambda p: f"/definitions/drafts/{p.draft}/form?guard=quorum&at=record_rembug|",
        studio(200),
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/edit",
        "POST",
        lambda p: f"/definitions/drafts/{p.draft}/edit",
        studio(302),
        lambda p: {
            "op": "set_param",
            "path": '["budget_max"]',
            "value": "350000000",
            "revision": "2",
        },
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/diff",
        "GET",
        lambda p: f"/definitions/drafts/{p.draft}/diff",
        studio(200),
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/try",
        "GET",
        lambda p: f"/definitions/drafts/{p.draft}/try",
        studio(200),
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/try",
        "POST",
        lambda p: f"/definitions/drafts/{p.draft}/try",
        studio(200),
        lambda p: {"subject": p.rt, "trigger-0": "hold_sosialisasi", "role-0": "ketua_rt"},
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/impact",
        "GET",
        lambda p: f"/definitions/drafts/{p.draft}/impact",
        studio(200),
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/discard",
        "POST",
        lambda p: f"/definitions/drafts/{p.spare_draft}/discard",
        studio(302),
    ),
    Check(
        "/definitions/drafts/<int:draft_id>/publish",
        "POST",
        lambda p: f"/definitions/drafts/{p.draft}/publish",
        studio(302),
        lambda p: {"note": "matrix", "revision": "3"},
    ),
    Check(
        "/definitions/<program>/migrate",
        "GET",
        lambda p: "/definitions/probebaya/migrate",
        studio(200),
    ),
    Check(
        "/definitions/<program>/migrate",
        "POST",
        lambda p: "/definitions/probebaya/migrate",
        studio(200),  # a dry run of case A to the published version
        lambda p: {"cases": str(p.case_a), "action": "dry_run"},
    ),
    Check("/audit/", "GET", lambda p: "/audit/", audit_screens(200)),
    Check(
        "/audit/cases/<int:case_id>",
        "GET",
        lambda p: f"/audit/cases/{p.case_a}",
        audit_screens(200),
    ),
    Check(
        "/audit/cases/<int:case_id>",
        "GET",
        lambda p: f"/audit/cases/{p.case_b}?step=1",
        in_scope_b(200),  # the city roles read the audit screens only within their city
    ),
    Check(
        "/audit/cases/<int:case_id>/documents/<sha256>",
        "GET",
        lambda p: f"/audit/cases/{p.case_a}/documents/{p.sha}",
        audit_screens(200),
    ),
    Check("/audit/verify", "GET", lambda p: "/audit/verify?program=probebaya", auditors(200)),
    Check("/audit/anchor", "POST", lambda p: "/audit/anchor", auditors(302)),
    Check(
        "/audit/export",
        "GET",
        lambda p: "/audit/export?program=probebaya&year=2026&format=xlsx",
        auditors(200),
    ),
    Check(
        "/audit/cases/<int:case_id>/bundle",
        "GET",
        lambda p: f"/audit/cases/{p.case_a}/bundle",
        auditors(200),
    ),
    Check(
        "/audit/cases/<int:case_id>/bundle",
        "GET",
        lambda p: f"/audit/cases/{p.case_b}/bundle",
        auditors(200),  # the auditors are unscoped here; scoped ones are refused (engine)
    ),
    Check(
        "/audit/statistics",
        "GET",
        lambda p: "/audit/statistics?program=probebaya",
        audit_screens(200),
    ),
    Check(
        "/audit/statistics/<chart>.svg",
        "GET",
        lambda p: "/audit/statistics/money_chart.svg?program=probebaya",
        audit_screens(200),
    ),
    Check(
        "/audit/statistics.csv",
        "GET",
        lambda p: "/audit/statistics.csv?program=probebaya&table=by_region",
        audit_screens(200),
    ),
    # the call centre's search: the call centre and admins (scope: the engine's); the
    # contacts it reads are set by admins on the regions screen
    Check("/call-centre/", "GET", lambda p: "/call-centre/", call_centre_screen(200)),
    Check(
        "/call-centre/",
        "GET",
        lambda p: f"/call-centre/?q=%23{p.case_a}",
        call_centre_screen(200),
    ),
    Check(
        "/call-centre/",
        "GET",
        lambda p: f"/call-centre/?q={p.case_b_subject}",
        call_centre_screen(200),  # found for the admin only; the call centre's is Samarinda
    ),
    Check(
        "/admin/regions/contact",
        "POST",
        lambda p: "/admin/regions/contact",
        only(("admin",), 302),
        lambda p: {"contact_code": p.rw, "contact": "Lewat kantor kelurahan"},
    ),
    # the public page for residents: anyone, signed in or not (a public document of case A)
    Check("/public/", "GET", lambda p: "/public/", everyone(200)),
    Check("/public/<code>/", "GET", lambda p: f"/public/{p.rt}/", everyone(200)),
    Check("/public/<code>/<int:year>", "GET", lambda p: f"/public/{p.rt}/2026", everyone(200)),
    Check("/p/<code>/<int:year>", "GET", lambda p: f"/p/{p.rt}/2026?lang=en", everyone(200)),
    Check(
        "/public/<code>/<int:year>/poster",
        "GET",
        lambda p: f"/public/{p.rt}/2026/poster",
        everyone(200),
    ),
    Check(
        "/public/<code>/<int:year>/qr.svg",
        "GET",
        lambda p: f"/public/{p.rt}/2026/qr.svg",
        everyone(200),
    ),
    Check(
        "/public/cases/<int:case_id>/documents/<sha256>",
        "GET",
        lambda p: f"/public/cases/{p.case_a}/documents/{p.sha}",
        everyone(200),
    ),
    Check("/public/<path:anything>", "GET", lambda p: "/public/no/such/page", everyone(404)),
    Check("/language/<code>", "POST", lambda p: "/language/en", everyone(302)),
    Check("/logout", "POST", lambda p: "/logout", everyone(302)),
)
#: Public static files (scripts, styles): no data, no session needed.
STATIC_RULES = {"/static/<path:filename>", "/static/admin/<path:filename>"}


def _rules(app: Flask) -> set[tuple[str, str]]:
    """Every URL and method of the screens (the API's have a matrix of their own, with
    tokens: tests/integration/test_api_matrix.py)."""
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
        and rule.rule not in STATIC_RULES
        and not rule.rule.startswith("/api/")
    }


def test_every_url_of_the_app_is_in_the_role_matrix(web: Flask) -> None:
    """A new screen or action must say here who may use it (and the matrix test runs it)."""
    assert _rules(web) - {(c.rule, c.method) for c in MATRIX} == set()


@pytest.fixture
def places(scenario: Scenario, world_programs: None) -> Places:
    app = scenario.app
    case_a = scenario.probebaya_case("submitted")
    banjarbaru_group = next(
        r["code"] for r in app.regions.list(level="group") if r["code"].startswith("63.72.")
    )
    pokmas = "matrix_pokmas_banjarbaru"
    app.users.add(pokmas, "pokmas", [banjarbaru_group.rsplit(".", 1)[0]])
    case_b = app.cases.start("rt_mandiri", banjarbaru_group, 2026, pokmas)
    rw = scenario.rt.rsplit(".", 1)[0]
    other_rt = next(
        r["code"]
        for r in app.regions.list(level="rt")
        if r["code"].startswith("64.72.") and not r["code"].startswith(rw)
    )
    app.users.add(MARKER_USER, "kelurahan", [kelurahan_of(scenario)], PASSWORD)
    app.users.add("matrix_studio", "program_officer", [])
    drafts = [app.studio.drafts.create("matrix_studio", program="probebaya") for _ in range(2)]
    token = app.tokens.create(MARKER_USER)
    return Places(
        case_a["id"],
        case_b["id"],
        case_a["data"]["minutes"]["sha256"],
        scenario.rt,
        other_rt,
        rw,
        banjarbaru_group,
        drafts[0]["id"],
        drafts[1]["id"],
        token["id"],
        token["token"],
    )


@pytest.fixture
def world_programs(scenario: Scenario) -> None:
    """Every program published (the scenario has Probebaya only), for case B."""
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        scenario.app.definitions.publish(path, "test")


def _user_for(scenario: Scenario, role: str) -> str:
    """A user holding only ``role``, placed as PLACES says, with the test password."""
    if role in scenario.users:  # the scenario's demo users sit on case A's chain already
        scenario.app.users.set_password(scenario.users[role], PASSWORD)
        return scenario.users[role]
    level = PLACES[role]
    kelurahan = kelurahan_of(scenario)
    region = {"kota": "64.72", "provinsi": "64", "kelurahan": kelurahan, "rt": scenario.rt}
    name = f"matrix_{role}"
    scenario.app.users.add(name, role, [region[level]] if level else [], PASSWORD)
    return name


@pytest.mark.parametrize("role", [*BUILTIN_ROLES, ANONYMOUS])
def test_role_matrix_over_every_screen_and_action(
    web: Flask, scenario: Scenario, places: Places, role: str
) -> None:
    assert set(PLACES) == set(BUILTIN_ROLES)
    client = web.test_client()
    if role != ANONYMOUS:
        login(client, _user_for(scenario, role))
    present = _rules(web)
    before = {u["name"]: u for u in scenario.app.users.list()}
    outcomes = []
    lax_headers = []  # every response, refusals and redirects too, carries the headers
    for check in MATRIX:
        if (check.rule, check.method) not in present:
            continue  # a screen another change has not brought in yet
        url = check.url(places)
        if check.method == "GET":
            response = client.get(url)
        else:
            token = csrf(client, "/login")  # the session's token, also for anonymous users
            response = client.post(
                url,
                data={"csrf_token": token, **check.data(places)},
                content_type="multipart/form-data" if check.multipart else None,
            )
        expected = check.expect(role)
        outcomes.append((check.method, url, response.status_code, expected))
        lax_headers += [(url, problem) for problem in security_header_problems(response)]
        if response.status_code != expected:
            continue
        body = response.get_data().decode("utf-8", "replace")  # downloads are binary
        assert places.token_secret not in body, url  # the marker user's API token
        if expected in (403, 404):
            assert MARKER_USER not in body and places.case_b_subject not in body, url
        if role == ANONYMOUS and expected == 302 and url != "/language/en":
            assert "/login" in response.headers["Location"], url
    assert [o for o in outcomes if o[2] != o[3]] == []
    assert lax_headers == []
    if role != "admin":  # every admin action was refused: nothing changed
        assert {u["name"]: u for u in scenario.app.users.list()} == before
        assert f"{places.rw}.200" not in {
            r["code"] for r in scenario.app.regions.list(parent=places.rw)
        }
        assert scenario.app.regions.list(search=places.rw, level="rw")[0]["contact"] is None
