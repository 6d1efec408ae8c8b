"""An administrator adds a ketua RT in the browser, the generated password is shown once, and
the new user signs in with it and finds the case of their RT."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.ui import PASSWORD, sign_in
from tests.builders import Scenario


def test_admin_adds_a_user_who_then_signs_in(
    browser: Browser, live_url: str, scenario: Scenario, artifacts: Path
) -> None:
    scenario.app.users.add("b_admin", "admin", [], PASSWORD)
    case = scenario.start()
    admin = sign_in(browser, live_url, "b_admin")
    admin.goto(f"{live_url}/admin/users/")
    admin.locator("summary", has_text="Tambah pengguna").click()
    admin.fill("#new-name", "siti")
    admin.locator("#new-role").select_option("ketua_rt")
    admin.fill("#new-regions", scenario.rt)
    admin.locator("form[action$='/create'] button[type=submit]").click()
    shown = admin.locator("#new-password code")
    expect(shown).to_be_visible()
    password = shown.inner_text().strip()
    assert len(password) >= 8
    admin.screenshot(path=str(artifacts / "20-admin-users.png"), full_page=True)
    admin.reload()
    expect(admin.locator("#new-password")).to_have_count(0)  # shown once only

    siti = browser.new_page()
    siti.goto(f"{live_url}/login")
    siti.fill("#name", "siti")
    siti.fill("#password", password)
    siti.click("button[type=submit]")
    expect(siti.locator("nav.navbar")).to_contain_text("siti")
    expect(siti.locator(f"a[href='/cases/{case['id']}']").first).to_be_visible()
