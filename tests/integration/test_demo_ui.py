"""What a new user of `rukun demo` meets: every demo user can sign in with the password the
demo prints, sees their work and the case list, and every case in their inbox opens with a
form they can submit; every acting role has work waiting, in every program."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from admin import create_app
from engine.demo import demo_passwords, run_demo
from engine.runtime import Rukun
from tests.integration.test_admin import csrf


def sign_in(client: FlaskClient, name: str, password: str) -> None:
    token = csrf(client, "/login")
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert response.status_code == 302, f"{name} cannot sign in"


@pytest.mark.postgres
def test_every_demo_user_signs_in_and_can_act_on_their_inbox(app: Rukun) -> None:
    run_demo(app, 2026, lambda _line: None)
    passwords = demo_passwords(app)
    web = create_app(app, {"TESTING": True, "SECRET_KEY": "test"})
    programs_with_work: set[str] = set()
    roles = {u["name"]: {g["role"] for g in u["grants"]} for u in app.users.list()}
    roles_with_work: set[str] = set()
    for name, password in passwords.items():
        client = web.test_client()
        sign_in(client, name, password)
        inbox = client.get("/")
        assert inbox.status_code == 200, name
        assert client.get("/cases/").status_code == 200, name
        case_ids = sorted(set(re.findall(r'href="/cases/(\d+)"', inbox.get_data(as_text=True))))
        if case_ids:
            roles_with_work |= roles[name]
        for case_id in case_ids:
            page = client.get(f"/cases/{case_id}")
            assert page.status_code == 200, (name, case_id)
            assert 'class="rukun-transition"' in page.get_data(as_text=True), (name, case_id)
            programs_with_work.add(app.cases.show(int(case_id))["program"])
    assert programs_with_work == {"probebaya", "prolita", "rt_mandiri", "kube"}
    # every role that acts has a demo user with work waiting; only the watchers have none
    acting = set().union(*roles.values()) - {"auditor", "program_officer", "admin"}
    assert acting - roles_with_work == set()


def test_the_demo_program_officer_opens_the_studio_with_every_program(app: Rukun) -> None:
    run_demo(app, 2026, lambda _line: None)
    passwords = demo_passwords(app)
    web = create_app(app, {"TESTING": True, "SECRET_KEY": "test"})
    client = web.test_client()
    sign_in(client, "demo_program_officer", passwords["demo_program_officer"])
    page = client.get("/definitions/").get_data(as_text=True)
    for title in ("Probebaya", "Prolita", "RT Mandiri", "KUBE"):
        assert title in page
    assert 'href="/definitions/"' in client.get("/").get_data(as_text=True)  # in the menu
