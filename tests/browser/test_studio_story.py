"""The studio's acceptance story in the browser, as a program officer would go through it
without touching a file: a draft of Probebaya, the rembug quorum raised to two thirds and a
"sosialisasi" state added with the form tab (the YAML keeps its comments), the diagram
showing it, a path tried, the impact checked, published with a note, two running cases
migrated with a stage mapping (in chunks, with progress), and the migration in each case's
history."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.a11y import assert_accessible
from tests.browser.ui import PASSWORD, sign_in
from tests.builders import PROBEBAYA_FILE, Scenario

OFFICER = "b_officer"


def _save(page: Page, form: str) -> None:
    page.locator(form).locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_contain_text("Perubahan disimpan ke draf.")


def test_an_officer_revises_publishes_and_migrates_without_a_file(
    browser: Browser, live_url: str, scenario: Scenario, artifacts: Path
) -> None:
    briefed, waiting = scenario.start(), scenario.start()
    scenario.app.users.add(OFFICER, "program_officer", [], PASSWORD)
    page = sign_in(browser, live_url, OFFICER)
    page.get_by_role("link", name="Alur kerja").click()
    expect(page.locator("h2")).to_contain_text("Alur kerja")
    assert_accessible(page, "studio index")
    page.locator("form[action$='/drafts/new']").filter(
        has=page.locator("input[value=probebaya]")
    ).locator("button").click()
    page.wait_for_url(re.compile(r".*/definitions/drafts/\d+/$"))
    draft_url = page.url
    page.get_by_role("link", name="Formulir").click()
    assert_accessible(page, "form tab")

    quorum = page.locator("input.rukun-param[data-param=quorum_fraction]")
    quorum.fill("0.6667")
    quorum.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_be_visible()

    add_state = page.locator("form.rukun-add-state")
    add_state.locator("[name=name]").fill("sosialisasi")
    add_state.locator("[name=label_id]").fill("Sosialisasi program")
    add_state.locator("[name=label_en]").fill("Programme briefing")
    add_state.locator("[name=before]").select_option("rembug_held")
    _save(page, "form.rukun-add-state")

    add = page.locator("form.rukun-add-transition")
    add.locator("[name=trigger]").fill("hold_sosialisasi")
    add.locator("[name=sources]").select_option(["draft"])
    add.locator("[name=dest]").select_option("sosialisasi")
    add.locator("[name=label_id]").fill("Catat sosialisasi")
    add.locator("[name=label_en]").fill("Record the briefing")
    add.locator("#add-t-role-ketua_rt").check()
    _save(page, "form.rukun-add-transition")

    page.locator(".rukun-transition[data-trigger=record_rembug] > summary").click()
    ends = page.locator(".rukun-transition[data-trigger=record_rembug] form").filter(
        has=page.locator("input[name=op][value=set_transition_ends]")
    )
    ends.locator("[name=new_sources]").select_option(["sosialisasi"])
    ends.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_be_visible()

    page.goto(draft_url)
    expect(page.locator("#draft-diagram svg")).to_contain_text("Sosialisasi program")
    expect(page.locator("#draft-status")).to_contain_text("Definisi sah")
    yaml = page.request.get(draft_url.rstrip("/") + ".yaml").text()
    for line in PROBEBAYA_FILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            assert line in yaml, line  # the form edits kept every comment
    assert re.search(r"\n  quorum_fraction: 0\.6667 +# rembug warga needs a majority", yaml)
    page.screenshot(path=str(artifacts / "studio-draft-after-form-edits.png"), full_page=True)

    page.get_by_role("link", name="Coba").click()
    page.fill("#try-subject", scenario.rt)
    page.select_option("[name=trigger-0]", "hold_sosialisasi")
    page.select_option("[name=role-0]", "ketua_rt")
    page.select_option("[name=trigger-1]", "record_rembug")
    page.select_option("[name=role-1]", "ketua_rt")
    page.fill("[name=values-1]", "rembug_date = 2026-01-15\nhouseholds_total = 40\nattendees = 27")
    page.fill("[name=attach-1]", "minutes, attendance_list")
    page.locator("form.rukun-try button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".rukun-try-results li[data-ok=true]")).to_have_count(2)
    assert_accessible(page, "try it with results")

    page.get_by_role("link", name="Dampak").click()
    expect(page.locator("main")).to_contain_text("0 akan terdampar")

    page.get_by_role("link", name="Sunting").click()
    page.fill("#publish-note", "Perwali 2027: sosialisasi sebelum rembug, kuorum dua pertiga")
    page.locator("#publish-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/definitions/probebaya/migrate\?to=2$"))
    assert_accessible(page, "migration form")

    page.fill("#m-cases", f"{briefed['id']} {waiting['id']}")
    page.fill("#m-note", "Perwali 2027")
    page.locator("button[value=dry_run]").click()
    page.wait_for_load_state()
    expect(page.locator(".rukun-plan")).to_contain_text("akan dipindahkan")
    assert scenario.app.cases.show(briefed["id"])["definition_version"] == 1
    progress = page.locator("#migrate-progress")
    for case, mapped in ((briefed, "sosialisasi"), (waiting, "draft")):
        page.locator("#m-cases").fill(str(case["id"]))
        page.select_option("#map-draft", mapped)
        page.locator("button[value=apply]").click()
        expect(progress.locator(f"tbody a[href$='/cases/{case['id']}']")).to_have_count(1)
        expect(progress.locator(".rukun-progress-text")).to_contain_text("1 dari 1")
    page.screenshot(path=str(artifacts / "studio-migrated.png"), full_page=True)

    assert scenario.app.cases.show(briefed["id"])["state"] == "sosialisasi"
    assert scenario.app.cases.show(waiting["id"])["definition_version"] == 2
    for case in (briefed, waiting):
        page.goto(f"{live_url}/cases/{case['id']}")
        expect(page.locator(".rukun-record").first).to_contain_text(
            "Dipindahkan ke definisi v2 (dari v1)"
        )
        expect(page.locator(".rukun-migration").first).to_contain_text("Perwali 2027")
        assert scenario.app.cases.verify(case["id"]) == []
    page.goto(f"{live_url}/definitions/probebaya/")
    expect(page.locator(".rukun-events")).to_contain_text("kasus dipindahkan")
    assert_accessible(page, "program page with its log")
