"""Hostile query strings over every GET screen of the app, on every configured database: a
malformed value (a hand-made page cursor of the wrong type, a NUL byte, a number that is
no number or does not fit the column, a value of 10,000 characters) is a 400 with a
message saying what was wrong, never a 500; PostgreSQL refuses what SQLite lets pass
(NUL in text, integers beyond the column), so both run the same fuzz."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin import create_app
from engine.runtime.queries import INBOX, Cursor
from tests.builders import ROOT, Scenario
from tests.integration.test_admin import PASSWORD, login

FUZZER = "fuzz_everything"
#: The query parameters each screen reads (every screen also gets one it does not know).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "/": ("cursor",),
    "/cases/": ("program", "state", "year", "region", "q", "overdue", "sort", "cursor", "after"),
    "/cases/export.csv": ("program", "state", "year", "region", "q", "overdue", "sort"),
    "/login": ("next",),
    "/admin/users/": ("q",),
    "/admin/regions/": ("q", "level", "parent", "after"),
    "/admin/sign-ins/": ("name", "outcome", "before"),
    "/definitions/drafts/<int:draft_id>/form": ("guard", "at"),
    "/definitions/drafts/<int:draft_id>/diff": ("against",),
    "/definitions/drafts/<int:draft_id>/try": ("rows",),
    "/definitions/<program>/migrate": ("to",),
    "/audit/": ("program", "year", "q"),
    "/audit/cases/<int:case_id>": ("step",),
    "/audit/verify": ("program",),
    "/audit/export": ("format", "program", "year", "region"),
    "/audit/statistics": ("program", "year", "region"),
    "/audit/statistics/<chart>.svg": ("program", "year", "region"),
    "/audit/statistics.csv": ("program", "year", "region", "table"),
    "/tokens/": ("user",),
    "/notifications/": ("unread",),
    "/call-centre/": ("q",),
    "/public/<code>/": ("lang",),
    "/public/<code>/<int:year>": ("lang",),
}
#: Parameters that are numbers: anything else there is malformed.
NUMBERS = {"year", "after", "before", "step", "against", "rows", "to"}
#: Parameters read as a page cursor.
CURSORS = {"cursor"}
#: Screens whose ``after`` is a region code, not a number.
CODE_AFTER = {"/admin/regions/"}
STATIC_RULES = {"/static/<path:filename>", "/static/admin/<path:filename>"}


def cursor_text(raw: Any) -> str:
    """A cursor as the app would encode it, around any JSON value."""
    encoded = json.dumps(raw, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(encoded).decode().rstrip("=")


#: Hand-made cursors: each decodes as base64 and (mostly) JSON, with a wrong shape or type.
BAD_CURSORS = {
    "not base64": "!!!not-base64!!!",
    "base64 of garbage": base64.urlsafe_b64encode(b"\xff\xfe garbage \x00").decode(),
    "not a list": cursor_text({"order": "id"}),
    "too short": cursor_text(["id", 0]),
    "id as text": cursor_text(["id", 0, None, "seven", None]),
    "id a bool": cursor_text(["id", 0, None, True, None]),
    "id a huge int": cursor_text(["id", 0, None, 2**70, None]),
    "id beyond int4": cursor_text(["id", 0, None, 2**31, None]),
    "id negative huge": cursor_text(["id", 0, None, -(2**63), None]),
    "id a float": cursor_text(["id", 0, None, 1.5, None]),
    "segment out of range": cursor_text(["id", 9, None, 1, None]),
    "segment a list": cursor_text(["id", [0], None, 1, None]),
    "year as text": cursor_text(["year", 0, "2026", 1, None]),
    "year a huge int": cursor_text(["year", 0, 10**30, 1, None]),
    "year a nested object": cursor_text(["year", 0, {"t": {"x": 1}}, 1, None]),
    "updated_at an int": cursor_text(["-updated_at", 0, 5, 1, None]),
    "updated_at text": cursor_text(["-updated_at", 0, "yesterday", 1, None]),
    "updated_at bad time": cursor_text(["-updated_at", 0, {"t": "not a time"}, 1, None]),
    "updated_at naive": cursor_text(["-updated_at", 0, {"t": "2026-01-01T00:00:00"}, 1, None]),
    "state an int": cursor_text(["state", 0, 12, 1, None]),
    "state with NUL": cursor_text(["state", 0, "dra\u0000ft", 1, None]),
    "state a list": cursor_text(["state", 0, ["draft"], 1, None]),
    "due_at nulls with a value": cursor_text(["due_at", 1, "x", 1, None]),
    "now an int": cursor_text([INBOX, 0, {"t": "2026-01-01T00:00:00+00:00"}, 1, 7]),
    "inbox value text": cursor_text([INBOX, 0, "soon", 1, None]),
    "inbox id text": cursor_text([INBOX, 1, {"t": "2026-01-01T00:00:00+00:00"}, "1", None]),
    "huge": "A" * 10_000,
}
#: Malformed in any parameter.
MALFORMED_TEXT = {
    "NUL byte": "ab\x00cd",
    "only NUL": "\x00",
    "10,000 characters": "x" * 10_000,
}
MALFORMED_NUMBERS = {
    "not a number": "tahun",
    "overflowing": str(2**63),
    "beyond int4": str(2**31),
    "very negative": str(-(2**63) - 1),
    "float": "2026.5",
    "hex": "0x7e6",
}
#: Odd but acceptable values: any answer but a 500.
ODD = {
    "unicode": "Sāmarindá 😀 東京",
    "negative": "-1",
    "zero": "0",
    "spaces": "   ",
    "sql": "' OR 1=1 --",
    "percent": "100%_",
    "right to left": "\u202eabc",
    "empty": "",
    "superscript digit": "²",
    "thirty digits": "9" * 30,
}


@dataclass(frozen=True)
class Places:
    case_id: int
    sha256: str
    draft_id: int
    rt: str


@pytest.fixture
def web(scenario: Scenario) -> Iterator[Flask]:
    # a crash is answered as a 500 (as in production), so the fuzz can count them
    yield create_app(
        scenario.app, {"TESTING": True, "SECRET_KEY": "test", "PROPAGATE_EXCEPTIONS": False}
    )


@pytest.fixture
def places(scenario: Scenario) -> Places:
    """A case with documents, a draft, and a user who may open every screen."""
    app = scenario.app
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        app.definitions.publish(path, "test")
    case = scenario.probebaya_case("submitted")
    app.users.add(FUZZER, "admin", [], PASSWORD)
    for role in ("auditor", "program_officer", "city"):
        app.users.grant(FUZZER, role, None)
    draft = app.studio.drafts.create(FUZZER, program="probebaya")
    return Places(case["id"], case["data"]["minutes"]["sha256"], draft["id"], scenario.rt)


@pytest.fixture
def client(web: Flask, places: Places) -> FlaskClient:
    client = web.test_client()
    login(client, FUZZER)
    return client


def get_rules(web: Flask) -> list[str]:
    """Every GET screen; the API's routes answer problem+json to a token, not pages to a
    session, and are fuzzed with one (tests/integration/test_api.py)."""
    return sorted(
        rule.rule
        for rule in web.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and rule.rule not in STATIC_RULES
        and not rule.rule.startswith("/api/")
    )


def path_of(rule: str, places: Places) -> str:
    values = {
        "case_id": places.case_id,
        "sha256": places.sha256,
        "draft_id": places.draft_id,
        "program": "probebaya",
        "version": 1,
        "chart": "money_chart",
        "code": places.rt,
        "year": 2026,
        "anything": "x/y",
        "template": "berita_acara_verifikasi",  # a document template of the program
    }
    return re.sub(r"<(?:[a-z]+:)?([a-z_0-9]+)>", lambda m: str(values[m.group(1)]), rule)


def fetch(client: FlaskClient, path: str, query: dict[str, str]) -> tuple[int, str]:
    try:
        response = client.get(path, query_string=query)
    except Exception as error:  # raised while a streamed response was sent: a broken page
        return 500, repr(error)
    body = response.get_data(as_text=True) if response.mimetype.startswith("text/") else ""
    return response.status_code, html.unescape(body)


def message_of(body: str) -> str:
    """The message of the error page (empty: not the error page)."""
    found = re.search(r'<p class="mb-3">(.*?)</p>', body, re.S)
    return found.group(1).strip() if found else ""


def assert_refused(status: int, body: str, what: str) -> str:
    assert status == 400, f"{what}: {status}\n{body[:400]}"
    message = message_of(body)
    assert message, f"{what}: no message\n{body[:400]}"
    return message


def test_the_fuzzed_screens_exist(web: Flask) -> None:
    """The screens named here are the app's (a renamed one must be renamed here too)."""
    assert set(PARAMETERS) <= set(get_rules(web))


def test_malformed_values_of_every_parameter_are_a_400_with_a_message(
    client: FlaskClient, web: Flask, places: Places
) -> None:
    failures = []
    for rule in get_rules(web):
        path = path_of(rule, places)
        for name in (*PARAMETERS.get(rule, ()), "unknown_parameter"):
            cases = dict(MALFORMED_TEXT)
            if name in NUMBERS and not (name == "after" and rule in CODE_AFTER):
                cases |= MALFORMED_NUMBERS
            if name in CURSORS:
                cases |= BAD_CURSORS
            for label, value in cases.items():
                status, body = fetch(client, path, {name: value})
                if status != 400 or not message_of(body):
                    failures.append(f"{rule} {name}={label}: {status} {message_of(body)[:60]}")
    assert failures == [], "\n".join(failures)


def test_odd_but_harmless_values_never_give_a_500(
    client: FlaskClient, web: Flask, places: Places
) -> None:
    failures = []
    for rule in get_rules(web):
        path = path_of(rule, places)
        for name in PARAMETERS.get(rule, ()):
            for label, value in ODD.items():
                status, _body = fetch(client, path, {name: value})
                if status >= 500:
                    failures.append(f"{rule} {name}={label}: {status}")
    assert failures == [], "\n".join(failures)


def test_hostile_path_segments_are_refused_or_not_found(
    client: FlaskClient, places: Places
) -> None:
    for path in (
        f"/cases/{2**31}",
        f"/cases/{2**70}",
        f"/audit/cases/{2**63}",
        f"/cases/{places.case_id}/documents/%00",
        f"/cases/{places.case_id}/documents/{'a' * 10_000}",
        "/definitions/%00/",
        "/definitions/probebaya%00/migrate",
        f"/definitions/probebaya/v{2**40}.yaml",
        f"/definitions/drafts/{2**40}/",
        "/audit/statistics/%00.svg",
    ):
        status, body = fetch(client, path, {})
        assert status in (400, 404), f"{path[:80]}: {status}\n{body[:300]}"


@pytest.mark.parametrize("label", sorted(BAD_CURSORS))
def test_a_malformed_cursor_of_the_case_list_and_inbox_is_a_400(
    client: FlaskClient, label: str
) -> None:
    for path, sort in (("/cases/", label.split(" ")[0]), ("/", None)):
        query = {"cursor": BAD_CURSORS[label]}
        if sort in ("year", "state", "updated_at", "due_at"):
            query["sort"] = "-updated_at" if sort == "updated_at" else sort
        status, body = fetch(client, path, query)
        message = assert_refused(status, body, f"{path} {label}")
        assert "penanda halaman" in message or "Parameter cursor" in message  # the page marker


def test_a_well_formed_cursor_still_pages(client: FlaskClient, scenario: Scenario) -> None:
    for _ in range(3):
        scenario.probebaya_case("draft")
    moment = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    for sort, value in (("-updated_at", moment), ("year", 2026), ("state", "draft"), ("id", None)):
        status, _body = fetch(
            client, "/cases/", {"sort": sort, "cursor": Cursor(sort, 0, value, 10**6).encode()}
        )
        assert status == 200, sort


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=6)
            | st.dictionaries(st.text(max_size=3), children, max_size=3)
        ),
        max_leaves=12,
    ),
    sort=st.sampled_from(["id", "-id", "year", "-updated_at", "due_at", "state", "subject"]),
)
def test_any_json_in_a_cursor_is_a_page_or_a_400(client: FlaskClient, raw: Any, sort: str) -> None:
    status, body = fetch(client, "/cases/", {"sort": sort, "cursor": cursor_text(raw)})
    assert status in (200, 400), f"{status}: {body[:300]}"
    status, body = fetch(client, "/", {"cursor": cursor_text(raw)})
    assert status in (200, 400), f"{status}: {body[:300]}"


def test_a_nul_in_a_posted_form_is_a_400_and_the_case_is_untouched(
    web: Flask, client: FlaskClient, places: Places, scenario: Scenario
) -> None:
    from tests.integration.test_admin import csrf

    before = scenario.app.cases.history(places.case_id)
    token = csrf(client, f"/cases/{places.case_id}")
    response = client.post(
        f"/cases/{places.case_id}/fire/return_for_revision",
        data={"csrf_token": token, "revision_notes": "perbaiki\x00RAB"},
    )
    message = assert_refused(
        response.status_code, html.unescape(response.get_data(as_text=True)), "fire"
    )
    assert "revision_notes" in message and "NUL" in message
    assert scenario.app.cases.history(places.case_id) == before
    anonymous = web.test_client()
    signing_in = anonymous.post(
        "/login", data={"csrf_token": csrf(anonymous, "/login"), "name": "a\x00b", "password": "x"}
    )
    assert signing_in.status_code == 400


def test_the_engine_refuses_nul_in_text_on_every_database(scenario: Scenario) -> None:
    from engine.errors import InvalidData

    case = scenario.probebaya_case("submitted")
    with pytest.raises(InvalidData, match="Must not contain NUL characters"):
        scenario.app.cases.fire(
            case["id"],
            "return_for_revision",
            scenario.users["kelurahan"],
            {"revision_notes": "perbaiki\x00RAB"},
        )
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"
