"""An administrator adds a ketua RT in the browser, the generated password is shown once, and
the new user signs in with it and finds the case of their RT."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.a11y import assert_accessible
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


def test_the_sign_in_log_shows_each_outcome_and_is_accessible(
    browser: Browser, live_url: str, scenario: Scenario
) -> None:
    scenario.app.users.add("b_admin", "admin", [], PASSWORD)
    for _ in range(6):  # five failures, then a throttled attempt
        scenario.app.sign_in.attempt("b_tamu", "salah", "192.0.2.7", user_agent="curl/8")
    admin = sign_in(browser, live_url, "b_admin")
    admin.goto(f"{live_url}/admin/sign-ins/")
    rows = admin.locator("#sign-ins tbody tr")
    expect(rows).to_have_count(7)
    expect(rows.first).to_contain_text("b_admin")
    expect(rows.nth(1)).to_contain_text("ditahan")
    assert_accessible(admin, "sign-in log (id)")
    admin.locator("select[name=outcome]").select_option("throttled")
    admin.locator("form[method=get] button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("192.0.2.7")
    admin.locator("form[action*='/language/'] button").click()
    expect(admin.locator("h2")).to_have_text("Sign-ins")
    assert_accessible(admin, "sign-in log filtered (en)")
