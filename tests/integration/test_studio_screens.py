"""The studio screens through Flask's test client: the acceptance story of a program
officer (draft, edit, check, try, impact, publish, migrate, see it in the history), and the
refusals (stale save, outside the grant, bad mapping) that change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from admin import create_app
from tests.builders import ROOT, Scenario, probebaya_revised
from tests.integration.test_admin import PASSWORD, csrf, login

OFFICER = "web_officer"


@pytest.fixture
def web(scenario: Scenario) -> Iterator[Flask]:
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        scenario.app.definitions.publish(path, "test")
    scenario.app.users.add(OFFICER, "program_officer", [], PASSWORD)
    yield create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def officer(web: Flask) -> FlaskClient:
    client = web.test_client()
    login(client, OFFICER)
    return client


def post(client: FlaskClient, path: str, data: dict[str, Any], **kwargs: Any) -> TestResponse:
    token = csrf(client, "/definitions/")
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def new_draft(client: FlaskClient, program: str = "probebaya") -> int:
    response = post(client, "/definitions/drafts/new", {"program": program, "title": "Perwali"})
    assert response.status_code == 302, text(response)[:400]
    found = re.search(r"/definitions/drafts/(\d+)/", response.headers["Location"])
    assert found
    return int(found.group(1))


def test_the_demo_program_officer_story_from_draft_to_migrated_history(
    scenario: Scenario, officer: FlaskClient
) -> None:
    waiting = [scenario.start(), scenario.start()]
    index = text(officer.get("/definitions/"))
    assert "Probebaya" in index and "Prolita" in index
    draft = new_draft(officer)
    editor = text(officer.get(f"/definitions/drafts/{draft}/"))
    assert "quorum_fraction: 0.5" in editor and "Definisi sah" in editor and "<svg" in editor
    assert "Programme briefing" not in editor
    saved = post(
        officer,
        f"/definitions/drafts/{draft}/save",
        {"source": probebaya_revised(), "revision": "1"},
    )
    assert saved.status_code == 302
    editor = text(officer.get(f"/definitions/drafts/{draft}/"))
    assert "quorum_fraction: 0.6667" in editor and "Sosialisasi program" in editor  # diagram
    diff = text(officer.get(f"/definitions/drafts/{draft}/diff"))
    assert "sosialisasi" in diff and "quorum_fraction" in diff
    tried = post(
        officer,
        f"/definitions/drafts/{draft}/try",
        {
            "subject": scenario.rt,
            "trigger-0": "hold_sosialisasi",
            "role-0": "ketua_rt",
            "trigger-1": "record_rembug",
            "role-1": "ketua_rt",
            "values-1": "rembug_date = 2026-01-15\nhouseholds_total = 40\nattendees = 26",
            "attach-1": "minutes, attendance_list",
        },
    )
    assert tried.status_code == 200
    assert text(tried).count('data-ok="true"') == 1 and 'data-ok="false"' in text(tried)
    assert "at least 27 needed" in text(tried) or "perlu minimal 27" in text(tried)
    impact = text(officer.get(f"/definitions/drafts/{draft}/impact"))
    assert "2 kasus berjalan; 0 akan terdampar" in impact
    published = post(
        officer, f"/definitions/drafts/{draft}/publish", {"note": "Perwali 2027", "revision": "2"}
    )
    assert (
        published.status_code == 302
        and "/definitions/probebaya/migrate" in published.headers["Location"]
    )
    form = text(officer.get(published.headers["Location"]))
    assert 'name="map-draft"' in form
    cases = " ".join(str(c["id"]) for c in waiting)
    dry = post(
        officer,
        "/definitions/probebaya/migrate?to=2",
        {"cases": cases, "map-draft": "draft", "note": "Perwali 2027", "action": "dry_run"},
    )
    assert dry.status_code == 200 and "Uji coba: belum ada yang diubah." in text(dry)
    assert all(scenario.app.cases.show(c["id"])["definition_version"] == 1 for c in waiting)
    applied = post(
        officer,
        "/definitions/probebaya/migrate?to=2",
        {"cases": cases, "map-draft": "draft", "note": "Perwali 2027", "action": "apply"},
    )
    assert applied.status_code == 200 and "Selesai." in text(applied)
    for case in waiting:
        assert scenario.app.cases.show(case["id"])["definition_version"] == 2
        assert scenario.app.cases.history(case["id"])[-1]["kind"] == "migration"
    admin_page = text(officer.get(f"/cases/{waiting[0]['id']}"))
    assert "Dipindahkan ke definisi v2 (dari v1)" in admin_page and "Perwali 2027" in admin_page
    log = text(officer.get("/definitions/probebaya/"))
    for event in ("draf dibuat", "draf disimpan", "diterbitkan", "kasus dipindahkan"):
        assert event in log


def test_an_invalid_text_is_marked_at_its_line_never_a_server_error(
    officer: FlaskClient,
) -> None:
    draft = new_draft(officer)
    source = text(officer.get(f"/definitions/drafts/{draft}.yaml"))
    broken = source.replace("    dest: rembug_held\n", "    dest: rembug_hld\n")
    line = broken.splitlines().index("    dest: rembug_hld") + 1
    checked = post(officer, f"/definitions/drafts/{draft}/check", {"source": broken})
    assert checked.status_code == 200
    problems = checked.get_json()["problems"]
    assert checked.get_json()["valid"] is False and checked.get_json()["diagram"] is None
    assert {"line": line, "col": 11, "severity": "error"}.items() <= problems[0].items()
    assert "did you mean 'rembug_held'" in problems[0]["message"]
    garbage = post(officer, f"/definitions/drafts/{draft}/check", {"source": "a: [\n"})
    assert garbage.status_code == 200 and garbage.get_json()["problems"][0]["line"] == 2
    saved = post(officer, f"/definitions/drafts/{draft}/save", {"source": broken, "revision": "1"})
    assert saved.status_code == 302  # a draft may be saved unfinished
    page = text(officer.get(f"/definitions/drafts/{draft}/"))
    assert f'data-line="{line}"' in page and "Definisi belum sah." in page
    refused = post(officer, f"/definitions/drafts/{draft}/publish", {"note": "x", "revision": "2"})
    assert refused.status_code == 400 and "rembug_hld" in text(refused)


def test_a_stale_save_shows_their_changes_and_keeps_my_text(
    scenario: Scenario, web: Flask, officer: FlaskClient
) -> None:
    draft = new_draft(officer)
    source = scenario.app.studio.drafts.get(draft, OFFICER)["source"]
    scenario.app.studio.drafts.save(
        draft, source.replace("budget_max: 300000000", "budget_max: 350000000"), 1, OFFICER
    )
    mine = source.replace("budget_min: 100000000", "budget_min: 90000000")
    page = post(officer, f"/definitions/drafts/{draft}/save", {"source": mine, "revision": "1"})
    assert page.status_code == 409
    body = text(page)
    assert "menyimpan revisi 2" in body and "budget_max: 350000000" in body
    assert "budget_min: 90000000" in body  # my text is still in the editor
    assert "budget_min: 90000000" not in scenario.app.studio.drafts.get(draft, OFFICER)["source"]


def test_an_officer_outside_the_grant_gets_403_and_others_no_studio(
    scenario: Scenario, web: Flask, officer: FlaskClient
) -> None:
    draft = new_draft(officer)
    scenario.app.users.add("web_officer_btg", "program_officer", ["64.74"], PASSWORD)
    bontang = web.test_client()
    login(bontang, "web_officer_btg")
    index = text(bontang.get("/definitions/"))
    assert "Prolita" in index and "Probebaya" not in index
    for url in (
        f"/definitions/drafts/{draft}/",
        f"/definitions/drafts/{draft}.yaml",
        "/definitions/probebaya/",
        "/definitions/probebaya/v1.yaml",
        "/definitions/probebaya/migrate",
    ):
        assert bontang.get(url).status_code == 403, url
    assert post(bontang, f"/definitions/drafts/{draft}/publish", {"note": "x"}).status_code == 403
    city = web.test_client()
    scenario.app.users.set_password(scenario.users["city"], PASSWORD)
    login(city, scenario.users["city"])
    assert city.get("/definitions/").status_code == 403
    assert "/definitions/" not in text(city.get("/"))  # no menu entry either


def test_an_upload_becomes_a_draft_and_a_bad_migration_changes_nothing(
    scenario: Scenario, officer: FlaskClient
) -> None:
    import io

    case = scenario.probebaya_case("submitted")
    renamed = probebaya_revised().replace("submitted", "at_kelurahan")
    uploaded = post(
        officer,
        "/definitions/drafts/upload",
        {"file": (io.BytesIO(renamed.encode()), "probebaya.yaml")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    draft = int(re.findall(r"\d+", uploaded.headers["Location"])[0])
    impact = text(officer.get(f"/definitions/drafts/{draft}/impact"))
    assert "state &#39;submitted&#39; no longer exists" in impact and "at_kelurahan" in impact
    post(officer, f"/definitions/drafts/{draft}/publish", {"note": "rename"})
    before = scenario.app.cases.history(case["id"])
    refused = post(
        officer,
        "/definitions/probebaya/migrate?to=2",
        {"map-submitted": "nowhere", "action": "apply"},
    )
    assert refused.status_code == 422 and "nowhere" in text(refused)
    stranded = post(officer, "/definitions/probebaya/migrate?to=2", {"action": "apply"})
    assert stranded.status_code == 422 and "tidak memiliki tahap" in text(stranded)
    assert scenario.app.cases.history(case["id"]) == before


def edit(client: FlaskClient, draft: int, revision: int, **fields: Any) -> TestResponse:
    return post(client, f"/definitions/drafts/{draft}/edit", {"revision": str(revision), **fields})


def test_form_edits_raise_the_quorum_and_add_a_state_keeping_comments(
    scenario: Scenario, officer: FlaskClient
) -> None:
    draft = new_draft(officer)
    form = text(officer.get(f"/definitions/drafts/{draft}/form"))
    assert 'data-param="quorum_fraction"' in form and "hold_sosialisasi" not in form
    steps = [
        {"op": "set_param", "path": '["quorum_fraction"]', "value": "0.6667"},
        {
            "op": "add_state",
            "name": "sosialisasi",
            "label_id": "Sosialisasi program",
            "label_en": "Programme briefing",
            "before": "rembug_held",
        },
        {
            "op": "add_transition",
            "trigger": "hold_sosialisasi",
            "sources": "draft",
            "dest": "sosialisasi",
            "roles": "ketua_rt",
            "label_id": "Catat sosialisasi",
            "label_en": "Record the briefing",
        },
        {
            "op": "set_transition_ends",
            "trigger": "record_rembug",
            "new_sources": "sosialisasi",
            "new_dest": "rembug_held",
        },
    ]
    for revision, fields in enumerate(steps, 1):
        response = edit(officer, draft, revision, **fields)
        assert response.status_code == 302, text(response)[:600]
    source = scenario.app.studio.drafts.get(draft, OFFICER)["source"]
    original = (ROOT / "workflows" / "probebaya.yaml").read_text(encoding="utf-8")
    for line in original.splitlines():
        if line.lstrip().startswith("#"):
            assert line in source  # every comment kept
    assert re.search(r"\n  quorum_fraction: 0\.6667 +# rembug warga needs a majority", source)
    definition = scenario.app.studio.check(source).definition
    assert definition is not None
    assert definition.params["quorum_fraction"] == 0.6667
    assert definition.transition("record_rembug", "sosialisasi") is not None
    assert [s.name for s in definition.states][:3] == ["draft", "sosialisasi", "rembug_held"]
    editor = text(officer.get(f"/definitions/drafts/{draft}/"))
    assert "Sosialisasi program" in editor and "Revisi 5" in editor


def test_a_guard_is_added_from_its_parameter_form_and_a_bad_edit_changes_nothing(
    scenario: Scenario, officer: FlaskClient
) -> None:
    draft = new_draft(officer)
    form = text(officer.get(f"/definitions/drafts/{draft}/form?guard=amount_between&at=verify|"))
    assert 'name="arg-field"' in form and 'name="arg-min"' in form and "params.budget_max" in form
    added = edit(
        officer,
        draft,
        1,
        op="add_guard",
        guard="amount_between",
        trigger="verify",
        source="",
        **{"arg-field": "budget", "arg-max": "params.budget_max"},
    )
    assert added.status_code == 302, text(added)[:600]
    source = scenario.app.studio.drafts.get(draft, OFFICER)["source"]
    definition = scenario.app.studio.check(source).definition
    assert definition is not None
    guards = definition.transition("verify", "submitted").guards
    assert guards[-1].name == "amount_between" and guards[-1].args["max"] == "params.budget_max"
    refused = edit(officer, draft, 2, op="rename_state", old="verifed", new="checked")
    assert refused.status_code == 422 and "maksud Anda" in text(refused)
    stale = edit(officer, draft, 1, op="rename_state", old="verified", new="checked")
    assert stale.status_code == 409 and "menyimpan revisi 2" in text(stale)
    assert scenario.app.studio.drafts.get(draft, OFFICER)["revision"] == 2


def test_the_migration_screen_answers_the_page_script_in_json_chunks(
    scenario: Scenario, officer: FlaskClient
) -> None:
    cases = [scenario.start(), scenario.start()]
    draft = new_draft(officer)
    post(
        officer,
        f"/definitions/drafts/{draft}/save",
        {"source": probebaya_revised(), "revision": "1"},
    )
    post(officer, f"/definitions/drafts/{draft}/publish", {"note": "v2", "revision": "2"})
    json_headers = {"Accept": "application/json"}
    ids = " ".join(str(c["id"]) for c in cases)
    bad = post(
        officer,
        "/definitions/probebaya/migrate?to=2",
        {"cases": ids, "map-draft": "nowhere", "action": "dry_run"},
        headers=json_headers,
    )
    assert bad.status_code == 422 and bad.get_json()["valid"] is False
    assert "nowhere" in bad.get_json()["error"]
    plan = post(
        officer,
        "/definitions/probebaya/migrate?to=2",
        {"cases": ids, "action": "dry_run"},
        headers=json_headers,
    ).get_json()
    assert plan["valid"] and [r["case_id"] for r in plan["rows"]] == [c["id"] for c in cases]
    assert all(scenario.app.cases.show(c["id"])["definition_version"] == 1 for c in cases)
    chunk = post(
        officer,
        "/definitions/probebaya/migrate?to=2",
        {"cases": str(cases[0]["id"]), "action": "apply"},
        headers=json_headers,
    ).get_json()
    assert chunk["valid"] and chunk["rows"][0]["ok"] and "dipindahkan" in chunk["html"]
    versions = [scenario.app.cases.show(c["id"])["definition_version"] for c in cases]
    assert versions == [2, 1]
