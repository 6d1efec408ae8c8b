"""The bell and the notifications screen through Flask's test client: the unread count on
every signed-in page, the list (newest first, linking to the cases), marking read, the
preferences form, CSRF on every form, and no user ever seeing another's notifications;
and e-mail addresses on the admin users screen."""

from __future__ import annotations

import html
import re

from flask import Flask
from flask.testing import FlaskClient

from tests.builders import Scenario
from tests.integration.test_admin import csrf, kelurahan_signed_in, login, user_with_password
from tests.integration.test_notifications import deliver, other_kelurahan


def page(client: FlaskClient, path: str = "/notifications/") -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return html.unescape(response.get_data(as_text=True))


def post(client: FlaskClient, path: str, data: dict[str, object]) -> int:
    token = csrf(client, "/notifications/")
    return client.post(path, data={"csrf_token": token, **data}).status_code


def ids_listed(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="notification-(\d+)"', text)]


def test_the_bell_counts_the_unread_notifications_on_every_signed_in_page(
    web: Flask, scenario: Scenario
) -> None:
    client, name = kelurahan_signed_in(web, scenario)
    assert "Notifikasi: tidak ada yang belum dibaca" in page(client, "/")
    first, second = scenario.probebaya_case("submitted"), scenario.probebaya_case("submitted")
    deliver(scenario.app, first["id"])
    deliver(scenario.app, second["id"])
    for path in ("/", "/cases/", "/tokens/", f"/cases/{first['id']}", "/notifications/"):
        text = page(client, path)
        bell = re.search(
            r'<a class="nav-link" href="/notifications/" id="notification-bell">(.*?)</a>',
            text,
            re.S,
        )
        assert bell, path
        assert "2 notifikasi belum dibaca" in bell.group(1), path
        assert '<span class="badge badge-warning">2</span>' in bell.group(1)
    client.post("/language/en", data={"csrf_token": csrf(client, "/")})
    assert "2 unread notifications" in page(client, "/")
    assert scenario.app.notifications.unread_count(name) == 2


def test_the_screen_lists_the_users_notifications_newest_first_linking_to_the_cases(
    web: Flask, scenario: Scenario
) -> None:
    client, name = kelurahan_signed_in(web, scenario)
    first, second = scenario.probebaya_case("submitted"), scenario.probebaya_case("submitted")
    deliver(scenario.app, first["id"])
    deliver(scenario.app, second["id"])
    text = page(client)
    newest, oldest = (n["id"] for n in scenario.app.notifications.list(name))
    assert ids_listed(text) == [newest, oldest]
    assert (
        f'href="/cases/{second["id"]}"><strong>Kasus #{second["id"]} menunggu tindakan Anda' in text
    )
    assert text.count(">baru</span>") == 2
    assert "Kasus menunggu peran Anda" in text and "Usulan di kelurahan" in text
    client.post("/language/en", data={"csrf_token": csrf(client, "/")})
    english = page(client)
    assert f"Case #{first['id']} is waiting for you" in english
    assert "A case waits for your role" in english and "Proposal at the kelurahan" in english


def test_marking_one_and_then_all_read(web: Flask, scenario: Scenario) -> None:
    client, name = kelurahan_signed_in(web, scenario)
    for _ in range(3):
        deliver(scenario.app, scenario.probebaya_case("submitted")["id"])
    newest, middle, oldest = (n["id"] for n in scenario.app.notifications.list(name))
    assert post(client, "/notifications/read", {"id": str(middle)}) == 302
    assert scenario.app.notifications.unread_count(name) == 2
    text = page(client, "/notifications/?unread=1")
    assert ids_listed(text) == [newest, oldest]
    assert "2 notifikasi belum dibaca" in text
    assert post(client, "/notifications/read", {"id": "bukan-angka"}) == 302  # marks nothing
    assert scenario.app.notifications.unread_count(name) == 2
    assert post(client, "/notifications/read", {"all": "1"}) == 302
    assert scenario.app.notifications.unread_count(name) == 0
    text = page(client)
    assert ids_listed(text) == [newest, middle, oldest] and ">baru</span>" not in text
    assert "Tidak ada notifikasi yang belum dibaca." in text
    assert ids_listed(page(client, "/notifications/?unread=1")) == []


def test_preferences_are_saved_from_the_form(web: Flask, scenario: Scenario) -> None:
    client, name = kelurahan_signed_in(web, scenario)
    text = page(client)
    assert '<input checked class="form-check-input" id="pref-waiting-email"' in text
    assert '<input class="form-check-input" id="pref-returned-email"' in text
    assert "Server ini tidak mengirim e-mail" in text
    # a checkbox left out of the post is unticked
    assert (
        post(client, "/notifications/preferences", {"waiting_email": "y", "due_soon_in_app": "y"})
        == 302
    )
    assert scenario.app.notifications.preferences(name)["kinds"] == {
        "waiting": {"in_app": False, "email": True},
        "returned": {"in_app": False, "email": False},
        "escalated": {"in_app": False, "email": False},
        "due_soon": {"in_app": True, "email": False},
    }
    saved = page(client)
    assert "Pilihan pemberitahuan disimpan." in saved
    assert '<input class="form-check-input" id="pref-waiting-in_app"' in saved
    assert '<input checked class="form-check-input" id="pref-waiting-email"' in saved
    # the bell is off for "waiting": a proposal that reaches the user shows nothing there
    deliver(scenario.app, scenario.probebaya_case("submitted")["id"])
    assert ids_listed(page(client)) == []


def test_every_form_needs_its_csrf_token(web: Flask, scenario: Scenario) -> None:
    client, name = kelurahan_signed_in(web, scenario)
    deliver(scenario.app, scenario.probebaya_case("submitted")["id"])
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 400
    assert client.post("/notifications/preferences", data={}).status_code == 400
    assert scenario.app.notifications.unread_count(name) == 1
    assert scenario.app.notifications.preferences(name)["kinds"]["waiting"]["in_app"] is True


def test_no_user_sees_or_marks_another_users_notifications(web: Flask, scenario: Scenario) -> None:
    owner, name = kelurahan_signed_in(web, scenario)
    case = scenario.probebaya_case("submitted")
    deliver(scenario.app, case["id"])
    (mine,) = scenario.app.notifications.list(name)
    other = user_with_password(scenario, "kelurahan", other_kelurahan(scenario))
    intruder = web.test_client()
    login(intruder, other)
    text = page(intruder)
    assert ids_listed(text) == [] and f"Kasus #{case['id']}" not in text
    assert "Notifikasi: tidak ada yang belum dibaca" in text
    assert post(intruder, "/notifications/read", {"id": str(mine["id"])}) == 302
    assert post(intruder, "/notifications/read", {"all": "1"}) == 302
    assert scenario.app.notifications.unread_count(name) == 1
    assert ids_listed(page(owner)) == [mine["id"]]


def test_anonymous_users_are_sent_to_sign_in(web: Flask) -> None:
    client = web.test_client()
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "notification-bell" not in client.get("/login").get_data(as_text=True)


def test_an_admin_gives_a_user_an_email_address_on_the_users_screen(
    scenario: Scenario, admin: FlaskClient
) -> None:
    def post_admin(path: str, data: dict[str, str]) -> tuple[int, str]:
        token = csrf(admin, "/admin/users/")
        response = admin.post(path, data={"csrf_token": token, **data})
        return response.status_code, html.unescape(response.get_data(as_text=True))

    status, _ = post_admin(
        "/admin/users/create",
        {
            "name": "siti",
            "role": "ketua_rt",
            "regions": scenario.rt,
            "password": "",
            "email": "siti@example.go.id",
        },
    )
    assert status == 200
    assert "<small>siti@example.go.id</small>" in page(admin, "/admin/users/?q=siti")
    status, _ = post_admin("/admin/users/email", {"name": "siti", "email": "siti.rt@example.go.id"})
    assert status == 302
    assert scenario.app.notifications.preferences("siti")["email"] == "siti.rt@example.go.id"
    status, text = post_admin("/admin/users/email", {"name": "siti", "email": "siti@@contoh"})
    assert status == 422 and "bukan alamat e-mail yang diterima Rukun" in text
    assert 'value="siti@@contoh"' in text  # what was typed is kept
    status, text = post_admin(
        "/admin/users/create",
        {
            "name": "budi",
            "role": "auditor",
            "regions": "",
            "password": "",
            "email": "budi at rumah",
        },
    )
    assert status == 422 and "budi" not in {u["name"] for u in scenario.app.users.list()}
    assert post_admin("/admin/users/email", {"name": "siti", "email": ""})[0] == 302
    assert scenario.app.notifications.preferences("siti")["email"] is None
