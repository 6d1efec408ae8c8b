"""A kelurahan user follows the bell to their notifications, opens the case, marks them
read and changes their preferences in the browser; the screen passes the axe-core WCAG 2
A/AA check in Indonesian and English, with unread items and without."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.a11y import assert_accessible
from tests.browser.ui import PASSWORD, sign_in
from tests.builders import Scenario
from tests.integration.test_notifications import deliver


def test_a_user_reads_their_notifications_and_chooses_channels(
    browser: Browser, live_url: str, scenario: Scenario, artifacts: Path
) -> None:
    app = scenario.app
    name = scenario.users["kelurahan"]
    app.users.set_password(name, PASSWORD)
    app.users.set_email(name, "lurah@samarinda.example.go.id")
    first, second = scenario.probebaya_case("submitted"), scenario.probebaya_case("submitted")
    deliver(app, first["id"])
    deliver(app, second["id"])
    page = sign_in(browser, live_url, name)
    bell = page.locator("#notification-bell")
    expect(bell).to_contain_text("2 notifikasi belum dibaca")
    bell.click()
    expect(page.locator("h2")).to_have_text("Notifikasi")
    items = page.locator("#notifications li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text(f"Kasus #{second['id']} menunggu tindakan Anda")
    expect(page.locator("#email-address")).to_contain_text("Server ini tidak mengirim e-mail")
    page.screenshot(path=str(artifacts / "40-notifications.png"), full_page=True)
    assert_accessible(page, "notifications, two unread (id)")

    items.first.get_by_role("button", name=f"Tandai sudah dibaca: Kasus #{second['id']}").click()
    expect(page.locator(".alert-success")).to_contain_text("1 notifikasi ditandai sudah dibaca")
    expect(bell).to_contain_text("1 notifikasi belum dibaca")
    page.locator("#notifications a", has_text=f"Kasus #{first['id']}").click()
    page.wait_for_url(f"**/cases/{first['id']}")

    page.goto(f"{live_url}/notifications/")
    page.locator("#pref-waiting-email").uncheck()
    page.locator("#pref-due_soon-email").check()
    page.locator("#preferences button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("Pilihan pemberitahuan disimpan.")
    kinds = app.notifications.preferences(name)["kinds"]
    assert kinds["waiting"] == {"in_app": True, "email": False}
    assert kinds["due_soon"] == {"in_app": True, "email": True}
    page.locator("#mark-all-read button").click()
    expect(bell).to_contain_text("Notifikasi: tidak ada yang belum dibaca")
    assert_accessible(page, "notifications, all read (id)")

    page.locator("form[action*='/language/'] button").click()
    expect(page.locator("h2")).to_have_text("Notifications")
    expect(page.locator("#notifications li").first).to_contain_text(
        f"Case #{second['id']} is waiting for you"
    )
    expect(page.locator("#preferences")).to_contain_text("A case waits for your role")
    page.screenshot(path=str(artifacts / "41-notifications-en.png"), full_page=True)
    assert_accessible(page, "notifications, all read (en)")
    deliver(app, scenario.probebaya_case("submitted")["id"])
    page.reload()
    expect(bell).to_contain_text("1 unread notifications")
    assert_accessible(page, "notifications, one unread (en)")
