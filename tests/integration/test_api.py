"""The REST API through Flask's test client, every answer checked against the OpenAPI
document it serves: tokens, the story of an app (list, read, fire, retry), If-Match and
Idempotency-Key, uploads and downloads within scope, problem+json for every bad input,
and rate limits."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder, TestResponse

from admin import create_app
from engine.errors import Conflict
from engine.runtime.idempotency import Once
from tests.builders import Scenario
from tests.integration.test_admin import PASSWORD, kelurahan_of, login

PROBLEM = "application/problem+json"
#: Unknown URLs under /api/v1 are problems too, but no path of the document matches them.
DOCUMENTED_404: set[str] = set()


@pytest.fixture
def web(scenario: Scenario) -> Flask:
    return create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def spec(web: Flask) -> OpenAPI:
    document = web.test_client().get("/api/v1/openapi.json").get_json()
    config = Config(extra_media_type_deserializers={PROBLEM: json.loads})
    return OpenAPI.from_dict(document, config=config)


@dataclass
class Api:
    """A client sending a bearer token; every answer is checked against the OpenAPI
    document (status, headers and body of each documented response)."""

    client: FlaskClient
    token: str | None
    spec: OpenAPI

    def call(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        self.conforms(response)
        return response

    def conforms(self, response: TestResponse) -> None:
        if response.status_code == 304:
            return
        sent = response.request  # its body was read by the app: only its line is needed
        line = EnvironBuilder(
            path=sent.path, method=sent.method, query_string=sent.query_string.decode()
        ).get_request()
        if response.status_code != 404 or sent.path in DOCUMENTED_404:
            request = WerkzeugOpenAPIRequest(line)
            self.spec.validate_response(request, WerkzeugOpenAPIResponse(response))
        if response.status_code >= 400:
            assert response.mimetype == PROBLEM, response.get_data(as_text=True)[:300]
            body = response.get_json()
            assert body["status"] == response.status_code
            assert body["type"] == f"urn:rukun:problem:{body['kind']}"

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, **kwargs)


def token_for(scenario: Scenario, name: str, **kwargs: Any) -> str:
    secret: str = scenario.app.tokens.create(name, **kwargs)["token"]
    return secret


@pytest.fixture
def kelurahan(web: Flask, scenario: Scenario, spec: OpenAPI) -> Api:
    return Api(web.test_client(), token_for(scenario, scenario.users["kelurahan"]), spec)


def api_as(web: Flask, scenario: Scenario, spec: OpenAPI, role: str) -> Api:
    return Api(web.test_client(), token_for(scenario, scenario.users[role]), spec)


def history_length(scenario: Scenario, case_id: int) -> int:
    return len(scenario.app.cases.history(case_id))


# ----------------------------------------------------------------------- the document


def test_the_openapi_document_is_valid_and_covers_every_api_route(web: Flask) -> None:
    response = web.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routes = {
        (rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}"), method)
        for rule in web.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint.startswith("api.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert routes and routes <= documented
    # errors are documented as problem+json, and the API asks for a bearer token
    assert "application/problem+json" in json.dumps(document["components"]["responses"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_contract_check_catches_an_answer_the_document_does_not_describe(
    kelurahan: Api, scenario: Scenario
) -> None:
    """The checker these tests rely on fails on a body that breaks the schema."""
    case = scenario.probebaya_case("submitted")
    response = kelurahan.get(f"/api/v1/cases/{case['id']}")
    broken = response.get_json()
    del broken["state"]
    response.set_data(json.dumps(broken))
    with pytest.raises(Exception, match="state"):
        kelurahan.conforms(response)


# ----------------------------------------------------------------------- the app's story


@pytest.mark.postgres
def test_an_app_lists_reads_fires_and_retries_safely(kelurahan: Api, scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    listed = kelurahan.get("/api/v1/cases?state=submitted")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.get_json()["items"]] == [case["id"]]

    read = kelurahan.get(f"/api/v1/cases/{case['id']}")
    assert read.headers["ETag"] == f'"{case["version"]}"'
    assert read.get_json()["ledger"] is not None
    assert (
        kelurahan.get(
            f"/api/v1/cases/{case['id']}", headers={"If-None-Match": read.headers["ETag"]}
        ).status_code
        == 304
    )

    options = {o["trigger"]: o for o in kelurahan.get(f"/api/v1/cases/{case['id']}/triggers").json}
    assert options["verify"]["allowed"] is True
    assert options["cancel"]["permitted"] is False and options["cancel"]["guards"] == []

    headers = {"If-Match": read.headers["ETag"], "Idempotency-Key": "app-7f3a"}
    fired = kelurahan.post(f"/api/v1/cases/{case['id']}/transitions/verify", headers=headers)
    assert fired.status_code == 200, fired.get_json()
    assert fired.get_json()["state"] == "verified"
    assert fired.headers["ETag"] == f'"{case["version"] + 1}"'
    assert "Idempotent-Replayed" not in fired.headers
    records = history_length(scenario, case["id"])

    # the connection dropped: the app sends the same request again
    again = kelurahan.post(f"/api/v1/cases/{case['id']}/transitions/verify", headers=headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == fired.get_json()
    assert history_length(scenario, case["id"]) == records

    # without the key the same request is stale (the case moved): refused, nothing changed
    stale = kelurahan.post(
        f"/api/v1/cases/{case['id']}/transitions/verify", headers={"If-Match": headers["If-Match"]}
    )
    assert stale.status_code == 409
    assert stale.get_json()["kind"] == "conflict"
    assert history_length(scenario, case["id"]) == records

    history = kelurahan.get(f"/api/v1/cases/{case['id']}/history").get_json()
    assert [r["trigger"] for r in history][-1] == "verify"
    assert history[-1]["role"] == "kelurahan"


@pytest.mark.postgres
def test_the_same_key_for_another_request_is_refused(kelurahan: Api, scenario: Scenario) -> None:
    first = scenario.probebaya_case("submitted")
    second = scenario.probebaya_case("submitted")
    headers = {"If-Match": "*", "Idempotency-Key": "one-key"}
    assert (
        kelurahan.post(
            f"/api/v1/cases/{first['id']}/transitions/verify", headers=headers
        ).status_code
        == 200
    )
    reused = kelurahan.post(f"/api/v1/cases/{second['id']}/transitions/verify", headers=headers)
    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.get_json()["detail"]
    assert scenario.app.cases.show(second["id"])["state"] == "submitted"
    # keys are each user's own: another user's same key is another request
    city = Api(kelurahan.client, token_for(scenario, scenario.users["kecamatan"]), kelurahan.spec)
    moved = city.post(f"/api/v1/cases/{first['id']}/transitions/approve_kecamatan", headers=headers)
    assert moved.status_code == 200 and "Idempotent-Replayed" not in moved.headers


@pytest.mark.postgres
def test_concurrent_retries_with_one_key_fire_once(scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    kelurahan = scenario.users["kelurahan"]
    start = threading.Barrier(4)
    results: list[Any] = []

    def retry() -> None:
        once = Once(kelurahan, "same-key", "f" * 64)
        start.wait()
        try:
            results.append(scenario.app.cases.fire(case["id"], "verify", kelurahan, once=once))
        except Conflict as exc:  # lost the race on the key: a retry gets the answer
            results.append(exc)

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history = scenario.app.cases.history(case["id"])
    assert [r["trigger"] for r in history].count("verify") == 1
    answers = [r for r in results if isinstance(r, dict)]
    assert answers and all(a["version"] == case["version"] + 1 for a in answers)
    replay = scenario.app.cases.fire(
        case["id"], "verify", kelurahan, once=Once(kelurahan, "same-key", "f" * 64)
    )
    assert replay["version"] == case["version"] + 1


def test_an_old_key_is_forgotten_by_tick(scenario: Scenario) -> None:
    import datetime as dt

    from engine.store.models import utcnow

    case = scenario.probebaya_case("submitted")
    kelurahan = scenario.users["kelurahan"]
    scenario.app.cases.fire(case["id"], "verify", kelurahan, once=Once(kelurahan, "k", "a" * 64))
    scenario.app.cases.tick(utcnow() + dt.timedelta(hours=23))
    replay = Once(kelurahan, "k", "a" * 64)
    scenario.app.cases.fire(case["id"], "verify", kelurahan, once=replay)
    assert replay.replayed
    scenario.app.cases.tick(utcnow() + dt.timedelta(hours=25))
    fresh = Once(kelurahan, "k", "a" * 64)
    with pytest.raises(Conflict):  # fired anew: the case is verified already
        scenario.app.cases.fire(case["id"], "verify", kelurahan, once=fresh)
    assert not fresh.replayed


# ------------------------------------------------------------------------ bad requests


@pytest.mark.postgres
def test_firing_without_if_match_or_with_a_malformed_one_changes_nothing(
    kelurahan: Api, scenario: Scenario
) -> None:
    case = scenario.probebaya_case("submitted")
    url = f"/api/v1/cases/{case['id']}/transitions/verify"
    missing = kelurahan.post(url)
    assert missing.status_code == 428
    assert "If-Match" in missing.get_json()["detail"]
    for bad in ("3", 'W/"3"', '"3", "4"', '"x"'):
        assert kelurahan.post(url, headers={"If-Match": bad}).status_code == 400, bad
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"


@pytest.mark.postgres
def test_bad_bodies_are_problems_with_the_right_status(kelurahan: Api, scenario: Scenario) -> None:
    case = scenario.probebaya_case("rembug_held")
    ketua = Api(kelurahan.client, token_for(scenario, scenario.users["ketua_rt"]), kelurahan.spec)
    url = f"/api/v1/cases/{case['id']}/transitions/submit_proposal"
    headers = {"If-Match": f'"{case["version"]}"'}
    malformed = ketua.post(url, headers=headers, data="{oops", content_type="application/json")
    assert malformed.status_code == 400
    unknown = ketua.post(url, headers=headers, json={"values": {}, "extra": 1})
    assert unknown.status_code == 422 and "extra" in unknown.get_json()["errors"]
    wrong_type = ketua.post(url, headers=headers, json={"values": ["a"]})
    assert wrong_type.status_code == 422 and "values" in wrong_type.get_json()["errors"]
    invalid = ketua.post(url, headers=headers, json={"values": {"budget": "banyak"}})
    assert invalid.status_code == 422
    assert invalid.get_json()["kind"] == "invalid_data" and invalid.get_json()["errors"]
    text = ketua.post(url, headers=headers, data="budget=1", content_type="text/plain")
    assert text.status_code == 415
    # a document cannot be named by a value (it might be another case's): attach it
    forged = ketua.post(
        url,
        headers=headers,
        json={"values": {"rab": {"sha256": "a" * 64, "filename": "x.pdf"}}},
    )
    assert forged.status_code == 422 and "rab" in forged.get_json()["errors"]
    assert scenario.app.cases.show(case["id"])["version"] == case["version"]
    assert history_length(scenario, case["id"]) == 2


def record_rembug(
    api: Api, scenario: Scenario, case_id: int, attendees: int, filename: str = "ba.pdf"
) -> TestResponse:
    """Fire record_rembug as multipart: the values as JSON, the two documents as files."""
    values = {"rembug_date": "2026-01-15", "households_total": "40", "attendees": attendees}
    return api.post(
        f"/api/v1/cases/{case_id}/transitions/record_rembug",
        headers={"If-Match": '"1"'},
        data={
            "values": json.dumps(values),
            "minutes": (io.BytesIO(scenario.doc("minutes").read_bytes()), filename),
            "attendance_list": (io.BytesIO(scenario.doc("att").read_bytes()), "hadir.pdf"),
        },
        content_type="multipart/form-data",
    )


@pytest.mark.postgres
def test_a_refused_transition_is_a_422_with_each_guards_result(
    scenario: Scenario, web: Flask, spec: OpenAPI
) -> None:
    case = scenario.start()
    ketua = api_as(web, scenario, spec, "ketua_rt")
    refused = record_rembug(ketua, scenario, case["id"], attendees=5)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["kind"] == "refused"
    assert {g["guard"]: g["ok"] for g in body["guards"]}["quorum"] is False
    assert history_length(scenario, case["id"]) == 1


@pytest.mark.postgres
def test_uploads_are_recorded_and_documents_download_only_within_scope(
    scenario: Scenario, web: Flask, spec: OpenAPI
) -> None:
    case = scenario.start()
    ketua = api_as(web, scenario, spec, "ketua_rt")
    minutes = scenario.doc("minutes").read_bytes()
    fired = record_rembug(ketua, scenario, case["id"], 25, "../../berita acara.pdf")
    assert fired.status_code == 200, fired.get_json()
    sha = fired.get_json()["data"]["minutes"]["sha256"]
    assert fired.get_json()["data"]["minutes"]["filename"] == "berita_acara.pdf"
    assert scenario.app.cases.history(case["id"])[-1]["documents"]["minutes"] == sha

    listed = ketua.get(f"/api/v1/cases/{case['id']}/documents").get_json()
    # the two uploads and the berita acara the rembug step generates
    assert {d["field"] for d in listed} == {"minutes", "attendance_list", "ba_rembug"}
    download = ketua.get(f"/api/v1/cases/{case['id']}/documents/{sha}")
    assert download.status_code == 200 and download.data == minutes
    assert download.headers["Content-Disposition"].startswith("attachment")

    other = scenario.start()  # names no such document
    assert ketua.get(f"/api/v1/cases/{other['id']}/documents/{sha}").status_code == 404
    assert ketua.get(f"/api/v1/cases/{case['id']}/documents/{'0' * 64}").status_code == 404
    assert ketua.get(f"/api/v1/cases/{case['id']}/documents/..%2Fsecret").status_code == 404
    scenario.app.users.add("api_lurah_lain", "kelurahan", [_other_kelurahan(scenario)])
    outsider = Api(ketua.client, token_for(scenario, "api_lurah_lain"), spec)
    assert outsider.get(f"/api/v1/cases/{case['id']}/documents/{sha}").status_code == 403
    assert outsider.get(f"/api/v1/cases/{case['id']}/documents").status_code == 403


def _other_kelurahan(scenario: Scenario) -> str:
    mine = kelurahan_of(scenario)
    return next(
        r["code"]
        for r in scenario.app.regions.list(level="kelurahan")
        if r["code"].startswith("64.72.") and r["code"] != mine
    )


def test_an_oversized_upload_is_a_413_problem(scenario: Scenario, spec: OpenAPI) -> None:
    web = create_app(
        scenario.app, {"TESTING": True, "SECRET_KEY": "test", "MAX_CONTENT_LENGTH": 10_000}
    )
    case = scenario.start()
    ketua = Api(web.test_client(), token_for(scenario, scenario.users["ketua_rt"]), spec)
    response = ketua.post(
        f"/api/v1/cases/{case['id']}/transitions/record_rembug",
        headers={"If-Match": "*"},
        data={"values": "{}", "minutes": (io.BytesIO(b"%PDF-1.4" + b"0" * 50_000), "m.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert history_length(scenario, case["id"]) == 1


# ------------------------------------------------------------------------------ tokens


def test_no_token_a_wrong_one_an_expired_or_revoked_one_is_a_401(
    scenario: Scenario, web: Flask, spec: OpenAPI
) -> None:
    name = scenario.users["kelurahan"]
    revoked = scenario.app.tokens.create(name)
    scenario.app.tokens.revoke(revoked["id"])
    expired = scenario.app.tokens.create(name, days=1)
    from sqlalchemy import update

    from engine.store.models import ApiToken, utcnow

    with scenario.app.engine.begin() as connection:
        connection.execute(
            update(ApiToken).where(ApiToken.id == expired["id"]).values(expires_at=utcnow())
        )
    for token in (None, "rukun_guessed", revoked["token"], expired["token"]):
        response = Api(web.test_client(), token, spec).get("/api/v1/cases")
        assert response.status_code == 401, token
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    basic = Api(web.test_client(), None, spec).get(
        "/api/v1/cases", headers={"Authorization": "Basic a2VsOnNhbmRp"}
    )
    assert basic.status_code == 401


def test_a_signed_in_browser_session_does_not_reach_the_api(
    scenario: Scenario, web: Flask, spec: OpenAPI
) -> None:
    """The API reads no cookie: a page elsewhere cannot make a signed-in user's browser
    act through it (which is why it needs no CSRF token)."""
    name = "api_cookie_user"
    scenario.app.users.add(name, "kelurahan", [kelurahan_of(scenario)], PASSWORD)
    client = web.test_client()
    login(client, name)
    case = scenario.probebaya_case("submitted")
    api = Api(client, None, spec)
    assert api.get("/api/v1/cases").status_code == 401
    fired = api.post(f"/api/v1/cases/{case['id']}/transitions/verify", headers={"If-Match": "*"})
    assert fired.status_code == 401
    assert scenario.app.cases.show(case["id"])["state"] == "submitted"


def test_api_answers_set_no_cookie_and_carry_the_security_headers(kelurahan: Api) -> None:
    from tests.integration.test_hardening_http import security_header_problems

    for response in (
        kelurahan.get("/api/v1/cases"),
        kelurahan.get("/api/v1/nowhere"),
        Api(kelurahan.client, None, kelurahan.spec).get("/api/v1/me"),
    ):
        assert "Set-Cookie" not in response.headers
        assert security_header_problems(response) == []
    assert kelurahan.client.get_cookie("session") is None


def test_a_token_acts_with_its_users_roles(kelurahan: Api, scenario: Scenario) -> None:
    me = kelurahan.get("/api/v1/me").get_json()
    assert me["name"] == scenario.users["kelurahan"]
    assert me["grants"] == [{"role": "kelurahan", "region": kelurahan_of(scenario)}]


def test_unknown_routes_and_methods_are_problems(kelurahan: Api) -> None:
    assert kelurahan.get("/api/v1/nowhere").status_code == 404
    wrong = kelurahan.client.delete(
        "/api/v1/cases", headers={"Authorization": f"Bearer {kelurahan.token}"}
    )
    assert wrong.status_code == 405 and wrong.mimetype == PROBLEM
    assert "GET" in wrong.headers["Allow"]
    assert kelurahan.get("/api/v1/cases?limit=0").status_code == 422
    assert kelurahan.get("/api/v1/cases?colour=red").status_code == 422
    assert kelurahan.get("/api/v1/cases?cursor=garbage").status_code == 400


def test_each_token_has_its_own_rate_limit(scenario: Scenario, spec: OpenAPI) -> None:
    from dataclasses import replace

    settings = replace(scenario.app.context.settings, api_rate_limit="3/minute")
    scenario.app.context.settings = settings
    web = create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})
    busy = Api(web.test_client(), token_for(scenario, scenario.users["kelurahan"]), spec)
    answers = [busy.get("/api/v1/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("RateLimit-Remaining") for a in answers[:3]] == ["2", "1", "0"]
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert answers[3].get_json()["kind"] == "too_many_requests"
    other = Api(web.test_client(), token_for(scenario, scenario.users["kecamatan"]), spec)
    assert other.get("/api/v1/me").status_code == 200


# ------------------------------------------------------------------ lists and catalogue


def test_the_case_list_pages_by_cursor_with_a_link_header(
    kelurahan: Api, scenario: Scenario
) -> None:
    made = [scenario.probebaya_case("submitted")["id"] for _ in range(3)]
    seen: list[int] = []
    url: str | None = "/api/v1/cases?limit=2&program=probebaya"
    while url:
        page = kelurahan.get(url)
        seen += [c["id"] for c in page.get_json()["items"]]
        link = page.headers.get("Link")
        url = link[1 : link.index(">")].removeprefix("http://localhost") if link else None
        assert (link is None) == (page.get_json()["next_cursor"] is None)
    assert seen == made


def test_definitions_and_regions_are_readable(kelurahan: Api, scenario: Scenario) -> None:
    versions = kelurahan.get("/api/v1/definitions").get_json()
    assert {v["program"] for v in versions} == {"probebaya"}
    probebaya = kelurahan.get("/api/v1/definitions/probebaya").get_json()
    verify = next(t for t in probebaya["transitions"] if t["trigger"] == "verify")
    assert verify["roles"] == ["kelurahan"]
    assert probebaya["fields"]["budget"]["type"] == "money"
    assert "states:" in probebaya["source"]
    assert kelurahan.get("/api/v1/definitions/probebaya?version=9").status_code == 404
    assert kelurahan.get("/api/v1/definitions/nope").status_code == 404
    page = kelurahan.get("/api/v1/regions?level=kota&limit=2").get_json()
    assert len(page["items"]) == 2 and page["next_after"] == page["items"][-1]["code"]
    rest = kelurahan.get(f"/api/v1/regions?level=kota&after={page['next_after']}").get_json()
    assert not {r["code"] for r in rest["items"]} & {r["code"] for r in page["items"]}
    assert kelurahan.get("/api/v1/regions?level=planet").status_code == 422


def test_a_case_is_started_through_the_api(scenario: Scenario, web: Flask, spec: OpenAPI) -> None:
    ketua = api_as(web, scenario, spec, "ketua_rt")
    made = ketua.post(
        "/api/v1/cases", json={"program": "probebaya", "subject": scenario.rt, "year": 2026}
    )
    assert made.status_code == 201, made.get_json()
    assert made.headers["Location"].endswith(f"/api/v1/cases/{made.get_json()['id']}")
    assert made.get_json()["state"] == "draft"
    kelurahan = api_as(web, scenario, spec, "kelurahan")
    refused = kelurahan.post(
        "/api/v1/cases", json={"program": "probebaya", "subject": scenario.rt, "year": 2026}
    )
    assert refused.status_code == 403 and refused.get_json()["kind"] == "forbidden"


def test_a_malformed_rate_limit_setting_is_a_clear_error(scenario: Scenario) -> None:
    from dataclasses import replace

    from engine.errors import InvalidData

    scenario.app.context.settings = replace(
        scenario.app.context.settings, api_rate_limit="lots/minute"
    )
    with pytest.raises(InvalidData, match="RUKUN_API_RATE_LIMIT 'lots/minute'"):
        create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})


def test_unknown_cases_and_triggers_are_404(kelurahan: Api, scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    assert kelurahan.get("/api/v1/cases/999999").status_code == 404
    missing = kelurahan.post("/api/v1/cases/999999/transitions/verify", headers={"If-Match": "*"})
    assert missing.status_code == 404
    unknown = kelurahan.post(
        f"/api/v1/cases/{case['id']}/transitions/fly", headers={"If-Match": "*"}
    )
    assert unknown.status_code == 404 and "fly" in unknown.get_json()["detail"]
    closed = kelurahan.post(
        f"/api/v1/cases/{case['id']}/transitions/accept_lpj", headers={"If-Match": "*"}
    )
    assert closed.status_code == 409  # a trigger of the program, not open in this state
    assert scenario.app.cases.show(case["id"])["version"] == case["version"]


#: The query parameters of each API route that reads some (each also gets an unknown one).
API_PARAMETERS = {
    "/api/v1/cases": ("program", "state", "year", "region", "q", "overdue", "sort", "cursor"),
    "/api/v1/cases/{case_id}/triggers": ("values",),
    "/api/v1/definitions/{program}": ("version",),
    "/api/v1/regions": ("level", "parent", "q", "after", "limit"),
}
HOSTILE = {
    "NUL": "ab\x00cd",
    "long": "x" * 10_000,
    "overflowing": str(2**63),
    "float": "2026.5",
    "unicode": "Sāmarindá 😀",
    "sql": "' OR 1=1 --",
    "json bomb": "[" * 5000,
}


def test_hostile_query_values_on_every_api_route_are_4xx_problems(
    scenario: Scenario, spec: OpenAPI
) -> None:
    web = create_app(
        scenario.app, {"TESTING": True, "SECRET_KEY": "test", "PROPAGATE_EXCEPTIONS": False}
    )
    case = scenario.probebaya_case("submitted")
    api = Api(web.test_client(), token_for(scenario, scenario.users["kelurahan"]), spec)
    failures = []
    for path in API_ROUTES:
        url = path.format(case_id=case["id"], program="probebaya", trigger="verify")
        for name in (*API_PARAMETERS.get(path, ()), "unknown"):
            for label, value in HOSTILE.items():
                response = api.client.get(
                    url,
                    query_string={name: value},
                    headers={"Authorization": f"Bearer {api.token}"},
                )
                ok = response.status_code < 500 and (
                    response.status_code < 400 or response.mimetype == PROBLEM
                )
                # a route that reads parameters refuses one it does not know (422); a
                # NUL or overlong value anywhere is refused before (400)
                strict = name == "unknown" and path in API_PARAMETERS
                if not ok or (strict and response.status_code not in (400, 422)):
                    failures.append(f"{path} {name}={label}: {response.status_code}")
    assert failures == []


API_ROUTES = (
    "/api/v1/me",
    "/api/v1/cases",
    "/api/v1/cases/{case_id}",
    "/api/v1/cases/{case_id}/triggers",
    "/api/v1/cases/{case_id}/history",
    "/api/v1/cases/{case_id}/documents",
    "/api/v1/definitions",
    "/api/v1/definitions/{program}",
    "/api/v1/regions",
)
