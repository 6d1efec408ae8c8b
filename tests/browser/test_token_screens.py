"""A user makes an API token in the browser from the menu, sees its secret once, and
revokes it; the screens pass the axe-core WCAG 2 A/AA check in Indonesian and English."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from engine.errors import Unauthenticated
from tests.browser.a11y import assert_accessible
from tests.browser.ui import PASSWORD, sign_in
from tests.builders import Scenario


def test_a_user_makes_a_token_sees_it_once_and_revokes_it(
    browser: Browser, live_url: str, scenario: Scenario, artifacts: Path
) -> None:
    name = scenario.users["kelurahan"]
    scenario.app.users.set_password(name, PASSWORD)
    page = sign_in(browser, live_url, name)
    page.locator("nav.navbar a", has_text="Token API").click()
    expect(page.locator("h2")).to_have_text("Token API")
    expect(page.locator("#tokens tbody")).to_contain_text("Belum ada token.")
    assert_accessible(page, "tokens, none yet (id)")

    page.fill("#token-name", "Integrasi Smart Probebaya")
    page.locator("#token-days").select_option("30")
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("#new-token")).to_contain_text("tidak akan ditampilkan lagi")
    secret = page.locator("#new-token-secret").inner_text().strip()
    assert scenario.app.tokens.authenticate(secret) == name
    expect(page.locator("#token-example")).to_contain_text("Authorization: Bearer <token>")
    page.screenshot(path=str(artifacts / "30-token-created.png"), full_page=True)
    assert_accessible(page, "token created (id)")

    page.locator("a", has_text="Kembali ke daftar token").click()
    rows = page.locator("#tokens tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Integrasi Smart Probebaya")
    expect(rows.first).to_contain_text("aktif")
    assert secret not in page.content()  # shown once only
    assert_accessible(page, "tokens, one active (id)")

    page.locator("form[action*='/language/'] button").click()
    expect(page.locator("h2")).to_have_text("API tokens")
    rows.first.get_by_role("button", name="Revoke token Integrasi Smart Probebaya").click()
    expect(page.locator(".alert-success")).to_contain_text("revoked")
    expect(rows.first.locator(".badge")).to_have_text("revoked")
    with pytest.raises(Unauthenticated):
        scenario.app.tokens.authenticate(secret)
    page.screenshot(path=str(artifacts / "31-tokens.png"), full_page=True)
    assert_accessible(page, "tokens, one revoked (en)")

    page.locator("summary", has_text="Create a token").click()
    page.fill("#token-name", "x" * 100 + "y")  # past the input's limit: typing stops at 100
    page.locator("#token-days").select_option("never")
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("h2")).to_have_text("API token created")
    expect(page.locator("#new-token")).to_contain_text("This token will not be shown again.")
    assert_accessible(page, "token created (en)")
    (newest, _) = scenario.app.tokens.list(name)
    assert newest["name"] == "x" * 100 and newest["expires_at"] is None
