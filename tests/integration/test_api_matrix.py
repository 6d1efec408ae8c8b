"""Who may call what through the API: a token of each built-in role (and none) against
every API route, on a case within the role's scope (A) and one outside it (B). The roles
sit where the screens' matrix puts them (tests/integration/test_admin_screens.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from engine.language.roles import BUILTIN_ROLES
from tests.builders import Scenario
from tests.integration.test_admin_screens import (  # noqa: F401 (fixtures)
    ANONYMOUS,
    MARKER_USER,
    UNSCOPED,
    Places,
    _user_for,
    places,
    world_programs,
)
from tests.integration.test_hardening_http import security_header_problems

Expect = Callable[[str], int]


def anyone(status: int) -> Expect:
    """Without a token: 401; with any token: ``status``."""
    return lambda role: 401 if role == ANONYMOUS else status


def only(roles: tuple[str, ...], status: int, others: int = 403) -> Expect:
    return lambda role: 401 if role == ANONYMOUS else (status if role in roles else others)


def case_b(unscoped: int) -> Expect:
    """Case B: the unscoped roles reach it (``unscoped``); every scoped role gets 403."""
    return only(UNSCOPED, unscoped)


@dataclass(frozen=True)
class Call:
    rule: str
    method: str
    url: Callable[[Places], str]
    expect: Expect
    json: Callable[[Places], Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()


def _start(subject: Callable[[Places], str]) -> Callable[[Places], Any]:
    return lambda p: {"program": "probebaya", "subject": subject(p), "year": 2026}


CASE = "/api/v1/cases/<int:case_id>"
ANY_VERSION = (("If-Match", "*"),)
API_MATRIX: tuple[Call, ...] = (
    Call("/api/v1/openapi.json", "GET", lambda p: "/api/v1/openapi.json", lambda role: 200),
    Call("/api/v1/me", "GET", lambda p: "/api/v1/me", anyone(200)),
    Call("/api/v1/cases", "GET", lambda p: "/api/v1/cases", anyone(200)),
    Call(
        "/api/v1/cases",
        "POST",
        lambda p: "/api/v1/cases",
        only(("ketua_rt", "admin"), 201),  # those who act first, and admin
        _start(lambda p: p.rt),
    ),
    Call(
        "/api/v1/cases",
        "POST",
        lambda p: "/api/v1/cases",
        only(("admin",), 201),  # the ketua RT's scope is another RT
        _start(lambda p: p.other_rt),
    ),
    Call(CASE, "GET", lambda p: f"/api/v1/cases/{p.case_a}", anyone(200)),
    Call(CASE, "GET", lambda p: f"/api/v1/cases/{p.case_b}", case_b(200)),
    Call(CASE + "/triggers", "GET", lambda p: f"/api/v1/cases/{p.case_a}/triggers", anyone(200)),
    Call(CASE + "/triggers", "GET", lambda p: f"/api/v1/cases/{p.case_b}/triggers", case_b(200)),
    Call(CASE + "/history", "GET", lambda p: f"/api/v1/cases/{p.case_a}/history", anyone(200)),
    Call(CASE + "/history", "GET", lambda p: f"/api/v1/cases/{p.case_b}/history", case_b(200)),
    Call(CASE + "/documents", "GET", lambda p: f"/api/v1/cases/{p.case_a}/documents", anyone(200)),
    Call(CASE + "/documents", "GET", lambda p: f"/api/v1/cases/{p.case_b}/documents", case_b(200)),
    Call(
        CASE + "/documents/<sha256>",
        "GET",
        lambda p: f"/api/v1/cases/{p.case_a}/documents/{p.sha}",
        anyone(200),
    ),
    Call(  # not a document of case B: found only by those who may see B at all
        CASE + "/documents/<sha256>",
        "GET",
        lambda p: f"/api/v1/cases/{p.case_b}/documents/{p.sha}",
        case_b(404),
    ),
    Call(
        CASE + "/transitions/<trigger>",
        "POST",
        lambda p: f"/api/v1/cases/{p.case_b}/transitions/verify",
        case_b(409),  # B is a draft: no "verify" there, for those who may see it
        headers=ANY_VERSION,
    ),
    Call(
        CASE + "/transitions/<trigger>",
        "POST",
        lambda p: f"/api/v1/cases/{p.case_a}/transitions/verify",
        only(("kelurahan",), 200),
        headers=ANY_VERSION,
    ),
    Call("/api/v1/definitions", "GET", lambda p: "/api/v1/definitions", anyone(200)),
    Call(
        "/api/v1/definitions/<program>",
        "GET",
        lambda p: "/api/v1/definitions/probebaya",
        anyone(200),
    ),
    Call("/api/v1/regions", "GET", lambda p: "/api/v1/regions?level=rt", anyone(200)),
)


@pytest.fixture
def web(scenario: Scenario) -> Flask:
    from admin import create_app

    return create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})


def api_rules(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_api_route_is_in_the_matrix(web: Flask) -> None:
    """A new API route must say here who may call it (and the matrix test calls it)."""
    assert api_rules(web) - {(c.rule, c.method) for c in API_MATRIX} == set()
    assert {(c.rule, c.method) for c in API_MATRIX} <= api_rules(web)


@pytest.mark.parametrize("role", [*BUILTIN_ROLES, ANONYMOUS])
def test_api_matrix_over_every_route(
    web: Flask,
    scenario: Scenario,
    places: Places,  # noqa: F811 (the fixture imported above)
    role: str,
) -> None:
    client = web.test_client()
    headers: dict[str, str] = {}
    if role != ANONYMOUS:
        token = scenario.app.tokens.create(_user_for(scenario, role))["token"]
        headers["Authorization"] = f"Bearer {token}"
    outcomes = []
    lax_headers = []
    for call in API_MATRIX:
        url = call.url(places)
        response = client.open(
            url,
            method=call.method,
            headers={**headers, **dict(call.headers)},
            json=call.json(places) if call.json else None,
        )
        expected = call.expect(role)
        outcomes.append((call.method, url, response.status_code, expected))
        lax_headers += [(url, problem) for problem in security_header_problems(response)]
        assert "Set-Cookie" not in response.headers, url
        if response.status_code >= 400:
            assert response.mimetype == "application/problem+json", url
            body = response.get_data(as_text=True)
            assert places.case_b_subject not in body and MARKER_USER not in body, url
    assert [o for o in outcomes if o[2] != o[3]] == []
    assert lax_headers == []
    state = scenario.app.cases.show(places.case_a)["state"]
    assert state == ("verified" if role == "kelurahan" else "submitted")
    assert scenario.app.cases.show(places.case_b)["state"] == "draft"
