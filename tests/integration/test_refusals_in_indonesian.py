"""Each kind of engine refusal an operator meets on the screens (region scope, invalid data,
money beyond the ledger, a stale page, a case that does not exist) is shown in the UI's
language: Indonesian by default, English after the switch, never the other one's text."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.builders import Scenario
from tests.integration.test_admin import csrf, kelurahan_of, login, user_with_password

Attempt = Callable[[FlaskClient, Scenario], TestResponse]


def signed_in(web: Flask, scenario: Scenario, role: str, region: str) -> FlaskClient:
    client = web.test_client()
    login(client, user_with_password(scenario, role, region))
    return client


def _other_kelurahan(scenario: Scenario) -> str:
    own = kelurahan_of(scenario)
    return next(r["code"] for r in scenario.app.regions.list(level="kelurahan") if r["code"] != own)


def outside_scope(web: Flask, scenario: Scenario) -> tuple[FlaskClient, Attempt]:
    client = signed_in(web, scenario, "kelurahan", _other_kelurahan(scenario))
    case = scenario.probebaya_case("submitted")
    return client, lambda c, s: c.get(f"/cases/{case['id']}")


def invalid_data(web: Flask, scenario: Scenario) -> tuple[FlaskClient, Attempt]:
    client = signed_in(web, scenario, "ketua_rt", scenario.rt)
    case = scenario.start()

    def attempt(c: FlaskClient, s: Scenario) -> TestResponse:
        return c.post(
            f"/cases/{case['id']}/fire/record_rembug",
            data={
                "csrf_token": csrf(c, f"/cases/{case['id']}"),
                "expected_version": case["version"],
                "rembug_date": "2026-01-15",
                "households_total": "40",
                "attendees": "dua",
            },
        )

    return client, attempt


def report_progress(case: dict[str, Any], percent: str, spent: str) -> Attempt:
    """The Pokmas's progress report on ``case``, from the page as it was when ``case`` was
    read (its version)."""

    def attempt(c: FlaskClient, s: Scenario) -> TestResponse:
        report = s.doc("progress_report").read_bytes()
        return c.post(
            f"/cases/{case['id']}/fire/report_progress",
            data={
                "csrf_token": csrf(c, f"/cases/{case['id']}"),
                "expected_version": case["version"],
                "progress_percent": percent,
                "spent_to_date": spent,
                "progress_report": (io.BytesIO(report), "kemajuan.pdf"),
            },
            content_type="multipart/form-data",
        )

    return attempt


def beyond_the_ledger(web: Flask, scenario: Scenario) -> tuple[FlaskClient, Attempt]:
    client = signed_in(web, scenario, "pokmas", scenario.rt)
    case = scenario.probebaya_case("implementing")  # tranche 1: Rp 120 juta
    return client, report_progress(case, "70", "Rp 120.000.001")


def stale_page(web: Flask, scenario: Scenario) -> tuple[FlaskClient, Attempt]:
    """The Pokmas reports progress from a page read before another report moved the case
    on (the step is still open there: the engine's optimistic lock refuses it)."""
    client = signed_in(web, scenario, "pokmas", scenario.rt)
    case = scenario.probebaya_case("implementing")
    values = {"progress_percent": "40", "spent_to_date": "Rp 50.000.000"}
    scenario.fire(case["id"], "report_progress", "pokmas", values, ("progress_report",))
    return client, report_progress(case, "60", "Rp 60.000.000")


def no_such_case(web: Flask, scenario: Scenario) -> tuple[FlaskClient, Attempt]:
    client = signed_in(web, scenario, "kelurahan", kelurahan_of(scenario))
    return client, lambda c, s: c.get("/cases/987654")


#: kind: (set-up, status, the Indonesian text, the English text)
REFUSALS: dict[str, tuple[Callable[..., tuple[FlaskClient, Attempt]], int, str, str]] = {
    "scope": (outside_scope, 403, "di luar cakupan wilayahnya", "outside their region scope"),
    "invalid data": (
        invalid_data,
        422,
        "Bukan bilangan bulat yang sah",
        "Not a valid integer",
    ),
    "ledger": (
        beyond_the_ledger,
        422,
        "Realisasi belanja melebihi dana yang sudah dicairkan",
        "Spending reported exceeds the funds disbursed so far",
    ),
    "conflict": (
        stale_page,
        409,
        "kasus berubah sejak Anda membukanya",
        "it changed since you loaded it",
    ),
    "not found": (no_such_case, 404, "tidak ada kasus 987654", "no case 987654"),
}


def _switch_to_english(client: FlaskClient) -> None:
    token = csrf(client, "/")
    assert client.post("/language/en", data={"csrf_token": token}).status_code == 302


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_each_refusal_is_shown_in_the_ui_language(
    kind: str, web: Flask, scenario: Scenario
) -> None:
    set_up, status, indonesian, english = REFUSALS[kind]
    client, attempt = set_up(web, scenario)
    before: dict[str, Any] = {}
    for case in scenario.app.cases.list():
        before[case["id"]] = (case["state"], case["version"])

    response = attempt(client, scenario)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, page[:2000]
    assert indonesian in page and english not in page
    assert '<html lang="id"' in page

    _switch_to_english(client)
    response = attempt(client, scenario)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, page[:2000]
    assert english in page and indonesian not in page
    assert '<html lang="en"' in page
    # refused twice, and nothing moved
    after = {c["id"]: (c["state"], c["version"]) for c in scenario.app.cases.list()}
    assert after == before
