"""The API tokens screen through Flask's test client: a token made there is shown once (a
page no cache keeps) and then stands for its user; lists never show a secret; a user sees
and revokes only their own tokens, an admin everyone's; the engine's refusals reach the page."""

from __future__ import annotations

import hashlib
import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.errors import Unauthenticated
from tests.builders import Scenario
from tests.integration.conftest import ADMIN
from tests.integration.test_admin import csrf, kelurahan_of, login, user_with_password


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf(client, "/tokens/"), **(data or {})})


def make(client: FlaskClient, **data: str) -> TestResponse:
    return post(client, "/tokens/create", data)


def shown_secret(response: TestResponse) -> str:
    match = re.search(r'id="new-token-secret">(rukun_[^<]+)</code>', text(response))
    assert match, text(response)[:2000]
    return match.group(1)


def signed_in(web: Flask, name: str) -> FlaskClient:
    client = web.test_client()
    login(client, name)
    return client


@pytest.fixture
def lurah(scenario: Scenario) -> str:
    return user_with_password(scenario, "kelurahan", kelurahan_of(scenario))


@pytest.fixture
def ketua(scenario: Scenario) -> str:
    return user_with_password(scenario, "ketua_rt", scenario.rt)


def status_of(scenario: Scenario, token_id: int) -> str:
    (token,) = [t for t in scenario.app.tokens.list() if t["id"] == token_id]
    return str(token["status"])


def test_a_token_made_on_the_screen_is_shown_once_and_then_stands_for_its_user(
    web: Flask, scenario: Scenario, lurah: str
) -> None:
    client = signed_in(web, lurah)
    response = make(client, name="Smart Probebaya", days="30")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = shown_secret(response)
    page = text(response)
    assert page.count(secret) == 1  # the usage example names no secret
    assert "tidak akan ditampilkan lagi" in page
    assert 'curl -H "Authorization: Bearer <token>" http://localhost/api/v1/cases' in page
    assert scenario.app.tokens.authenticate(secret) == lurah
    (token,) = scenario.app.tokens.list(lurah)
    assert token["name"] == "Smart Probebaya" and token["created_by"] == lurah
    assert token["expires_at"] is not None and secret.startswith(token["prefix"])
    listing = client.get("/tokens/")
    shown = text(listing)
    assert listing.status_code == 200 and "Smart Probebaya" in shown
    assert f"{token['prefix']}…" in shown
    assert secret not in shown and hashlib.sha256(secret.encode()).hexdigest() not in shown
    assert 'id="new-token' not in shown


def test_the_form_offers_the_lifetimes_with_ninety_days_first_chosen(
    web: Flask, scenario: Scenario, lurah: str
) -> None:
    client = signed_in(web, lurah)
    page = text(client.get("/tokens/"))
    assert '<option selected value="90">90 hari</option>' in page
    assert '<option value="never">Tanpa kedaluwarsa</option>' in page
    assert 'id="token-user"' not in page  # whose token: asked of admins only
    assert make(client, name="selamanya", days="never").status_code == 200
    assert make(client, name="setahun", days="365").status_code == 200
    made = {t["name"]: t for t in scenario.app.tokens.list(lurah)}
    assert made["selamanya"]["expires_at"] is None
    assert made["setahun"]["expires_at"] > made["setahun"]["created_at"]
    assert "tanpa batas" in text(client.get("/tokens/"))


def test_a_user_sees_only_their_own_tokens_and_an_admin_everyones(
    web: Flask, scenario: Scenario, lurah: str, ketua: str, admin: FlaskClient
) -> None:
    own = scenario.app.tokens.create(lurah, "punya lurah")
    other = scenario.app.tokens.create(ketua, "punya ketua")
    page = text(signed_in(web, lurah).get("/tokens/"))
    assert own["prefix"] in page and "punya lurah" in page
    assert other["prefix"] not in page and "punya ketua" not in page and ketua not in page
    everyone = text(admin.get("/tokens/"))
    assert all(t in everyone for t in (own["prefix"], other["prefix"], lurah, ketua))
    assert everyone.index(other["prefix"]) < everyone.index(own["prefix"])  # newest first
    filtered = text(admin.get("/tokens/", query_string={"user": ketua}))
    assert other["prefix"] in filtered and own["prefix"] not in filtered
    unknown = admin.get("/tokens/", query_string={"user": "nobody"})
    assert unknown.status_code == 200 and "tidak ada pengguna 'nobody'" in text(unknown)


def test_a_user_cannot_list_another_users_tokens(
    web: Flask, scenario: Scenario, lurah: str, ketua: str
) -> None:
    other = scenario.app.tokens.create(ketua, "punya ketua")
    response = signed_in(web, lurah).get("/tokens/", query_string={"user": ketua})
    assert response.status_code == 403 and other["prefix"] not in text(response)


def test_a_user_cannot_revoke_another_users_token(
    web: Flask, scenario: Scenario, lurah: str, ketua: str
) -> None:
    other = scenario.app.tokens.create(ketua, "punya ketua")
    response = post(signed_in(web, lurah), f"/tokens/{other['id']}/revoke")
    assert response.status_code == 403
    assert ketua not in text(response) and other["prefix"] not in text(response)
    assert status_of(scenario, other["id"]) == "active"
    assert scenario.app.tokens.authenticate(other["token"]) == ketua


def test_revoking_a_token_ends_it_and_the_list_says_when_and_by_whom(
    web: Flask, scenario: Scenario, lurah: str
) -> None:
    client = signed_in(web, lurah)
    secret = shown_secret(make(client, name="sementara"))
    (token,) = scenario.app.tokens.list(lurah)
    response = post(client, f"/tokens/{token['id']}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == "/tokens/"
    with pytest.raises(Unauthenticated):
        scenario.app.tokens.authenticate(secret)
    (revoked,) = scenario.app.tokens.list(lurah)
    assert revoked["status"] == "revoked" and revoked["revoked_by"] == lurah
    page = text(client.get("/tokens/"))
    assert f"Token sementara ({token['prefix']}…) dicabut." in page
    assert "dicabut" in page and f"oleh {lurah}" in page
    assert f"/tokens/{token['id']}/revoke" not in page  # nothing left to revoke
    missing = post(client, "/tokens/999999/revoke")
    assert missing.status_code == 404 and "tidak ada token 999999" in text(missing)


def test_an_admin_makes_and_revokes_tokens_of_another_user(
    scenario: Scenario, lurah: str, admin: FlaskClient
) -> None:
    page = text(admin.get("/tokens/"))
    assert '<label for="token-user">Untuk pengguna</label>' in page
    response = make(admin, name="untuk lurah", user=lurah)
    assert response.status_code == 200
    secret = shown_secret(response)
    assert scenario.app.tokens.authenticate(secret) == lurah
    (token,) = scenario.app.tokens.list(lurah)
    assert token["created_by"] == ADMIN
    revoked = admin.post(
        f"/tokens/{token['id']}/revoke",
        data={"csrf_token": csrf(admin, "/tokens/"), "user": lurah},
    )
    assert revoked.status_code == 302 and revoked.headers["Location"] == f"/tokens/?user={lurah}"
    assert status_of(scenario, token["id"]) == "revoked"
    missing = make(admin, name="siapa", user="nobody")
    assert missing.status_code == 404 and "tidak ada pengguna 'nobody'" in text(missing)


def test_a_user_cannot_make_a_token_for_another_user(
    web: Flask, scenario: Scenario, lurah: str, ketua: str
) -> None:
    response = make(signed_in(web, lurah), name="curian", user=ketua)
    assert response.status_code == 403
    assert "hanya pengguna itu sendiri atau admin yang boleh" in text(response)
    assert scenario.app.tokens.list() == []


def test_bad_input_shows_the_engines_message_with_the_input_kept(
    web: Flask, scenario: Scenario, lurah: str
) -> None:
    client = signed_in(web, lurah)
    long_name = "x" * 101
    response = make(client, name=long_name, days="365")
    page = text(response)
    assert response.status_code == 422
    assert "nama token paling banyak 100 karakter yang dapat dicetak" in page
    assert f'value="{long_name}"' in page and '<option selected value="365">' in page
    assert 'id="new-token' not in page
    days = make(client, name="lama", days="4000")
    assert days.status_code == 422 and "token berlaku 1 sampai 3650 hari" in text(days)
    choice = make(client, name="lama", days="selamanya")
    assert choice.status_code == 422 and "Pilih masa berlaku dari daftar." in text(choice)
    assert scenario.app.tokens.list() == []


def test_forms_without_a_csrf_token_are_rejected(
    web: Flask, scenario: Scenario, lurah: str
) -> None:
    client = signed_in(web, lurah)
    token = scenario.app.tokens.create(lurah, "tetap")
    assert client.post("/tokens/create", data={"name": "tanpa token"}).status_code == 400
    assert client.post(f"/tokens/{token['id']}/revoke").status_code == 400
    assert [t["name"] for t in scenario.app.tokens.list()] == ["tetap"]
    assert status_of(scenario, token["id"]) == "active"


def test_the_screen_is_in_every_signed_in_users_menu_and_speaks_english(
    web: Flask, lurah: str
) -> None:
    anonymous = web.test_client().get("/tokens/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    client = signed_in(web, lurah)
    assert 'href="/tokens/"' in text(client.get("/"))
    post(client, "/language/en")
    page = text(client.get("/tokens/"))
    assert '<html lang="en">' in page
    assert "API tokens" in page and "Create a token" in page and "No tokens yet." in page
