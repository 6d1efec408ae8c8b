"""The demo auditor in the browser: picks a case, slides through its history and sees the
state and money as they stood, verifies the whole database, stores an anchor, reads the
oversight statistics; then a tampered case row shows up on its replay page. Each screen
passes axe (WCAG 2 A/AA) in Indonesian and English."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, update

from engine.audit.bundle_check import check_bundle
from engine.demo import run_demo
from engine.runtime import Rukun
from engine.store.models import Case
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import serving
from tests.browser.ui import PASSWORD, sign_in

AUDITOR = "demo_auditor"


@pytest.fixture
def live_demo(app: Rukun) -> Iterator[str]:
    run_demo(app, 2026, lambda _line: None)
    app.users.set_password(AUDITOR, PASSWORD)
    with serving(app) as url:
        yield url


def switch_language(page: Page) -> None:
    page.locator("nav form[action*='/language/'] button").click()


def test_the_auditor_replays_verifies_and_anchors(
    browser: Browser, live_demo: str, app: Rukun, owner_engine: Engine, artifacts: Path
) -> None:
    page = sign_in(browser, live_demo, AUDITOR)
    page.goto(f"{live_demo}/audit/")
    assert_accessible(page, "audit index (id)")
    page.fill("#audit-q", "1")
    page.locator("form[method=get] button[type=submit]").first.click()
    expect(page.locator("#audit-cases tbody tr").first).to_contain_text("utuh")
    page.locator("#audit-cases a", has_text="#1").first.click()
    expect(page.locator("#verdict")).to_contain_text("Rantai utuh")
    steps = page.locator("#replay-steps tbody tr")
    total = steps.count()
    assert total == len(app.cases.history(1))
    assert_accessible(page, "replay (id)")

    # the slider: back to the step after the approval; the state and money as they were then
    history = app.cases.history(1)
    approved = next(r for r in history if (r["effects"] or {}).get("ledger"))
    slider = page.locator("#replay-step")
    slider.fill(str(approved["seq"]))
    slider.dispatch_event("change")
    page.wait_for_url(f"**/audit/cases/1?step={approved['seq']}")
    expect(page.locator("#replay-state")).to_contain_text(approved["dest"])
    expect(page.locator("#replay-moment")).to_contain_text(approved["trigger"])
    assert app.cases.show(1)["state"] not in page.locator("#replay-state").inner_text()
    page.screenshot(path=str(artifacts / "40-audit-replay-slider.png"), full_page=True)
    switch_language(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#slider-heading")).to_contain_text("As it stood at step")
    assert_accessible(page, "replay (en)")
    switch_language(page)

    # every document version downloads as an attachment
    link = page.locator("#document-versions a").first
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".pdf")

    # the whole database, with progress, then an anchor to publish
    page.goto(f"{live_demo}/audit/")
    page.locator("form[action$='/audit/verify'] button").click()
    expect(page.locator("#verify-summary")).to_contain_text("intact")
    expect(page.locator("#verify-log progress").last).to_be_attached()
    assert_accessible(page, "verify (id)")
    page.goto(f"{live_demo}/audit/")
    page.locator("form[action$='/audit/anchor'] button").click()
    expect(page.locator("#anchors code").first).to_have_text(app.audit.anchors(1)[0]["digest"])

    # a program year as a spreadsheet, and the case's evidence bundle, which re-verifies
    page.goto(f"{live_demo}/audit/")
    page.locator("#export-program").select_option("probebaya")
    page.fill("#export-year", "2026")
    with page.expect_download() as exported:
        page.locator("form[action$='/audit/export'] button").click()
    assert exported.value.suggested_filename == "rukun-probebaya-2026-history.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(exported.value.path().read_bytes()))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    probebaya_2026 = [c for c in app.cases.list(program="probebaya", year=2026, limit=1000)]
    assert len(rows) - 1 == sum(c["version"] for c in probebaya_2026) > 0
    page.goto(f"{live_demo}/audit/cases/1")
    with page.expect_download() as bundle:
        page.locator("a", has_text="bundel bukti").click()
    assert check_bundle(bundle.value.path()) == []

    # statistics: charts with their tables, each table downloadable
    page.goto(f"{live_demo}/audit/statistics?program=probebaya")
    expect(page.locator("figure img")).to_have_count(3)
    assert page.locator("figure img").first.evaluate("img => img.naturalWidth") > 0
    assert_accessible(page, "statistics (id)")
    page.screenshot(path=str(artifacts / "41-audit-statistics.png"), full_page=True)

    # someone with database rights sets the case's state: its replay page says so
    with owner_engine.begin() as connection:
        connection.execute(update(Case).where(Case.id == 1).values(state="rejected"))
    page.goto(f"{live_demo}/audit/?q=1")
    expect(page.locator("#audit-cases tr", has_text="#1 ").first).to_contain_text("masalah")
    page.goto(f"{live_demo}/audit/cases/1")
    expect(page.locator("#verdict")).to_contain_text("state")
    expect(page.locator("#verdict")).to_have_attribute("role", "alert")
    assert_accessible(page, "replay of a tampered case (id)")
