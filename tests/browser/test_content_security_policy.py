"""The main screens under the UI's Content-Security-Policy (no inline script or style): each
page's scripts still work (the money field groups thousands, guard checks answer, bulk
actions show progress, the studio's editor loads with its styles, the admin menu opens) and
the browser reports no violation, neither as an event nor on the console."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.ui import PASSWORD
from tests.builders import Scenario

#: Collects every violation the page sees, from before its first script runs.
WATCH_POLICY = """
window.__policyViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__policyViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile}:${event.lineNumber}`
  );
});
"""


class WatchedPage:
    """A signed-in page that records policy violations and console errors on every screen."""

    def __init__(self, browser: Browser, url: str, name: str) -> None:
        self.url = url
        self.console: list[str] = []
        self.violations: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.add_init_script(WATCH_POLICY)
        self.page.on("console", self._console)
        self.page.goto(f"{url}/login")
        self.page.fill("#name", name)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        expect(self.page.locator("nav.navbar")).to_contain_text(name)

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.console.append(message.text)

    def open(self, path: str) -> Page:
        self.collect()
        self.page.goto(f"{self.url}{path}")
        return self.page

    def collect(self) -> None:
        """Take the violations the current document saw (before it is left)."""
        self.violations += self.page.evaluate("window.__policyViolations || []")

    def assert_clean(self) -> None:
        self.collect()
        assert self.violations == []
        assert [m for m in self.console if "Content Security Policy" in m] == []


def _users(scenario: Scenario) -> dict[str, str]:
    app = scenario.app
    for role in ("ketua_rt", "kelurahan"):
        app.users.set_password(scenario.users[role], PASSWORD)
    for name, role in (("b_auditor", "auditor"), ("b_officer", "program_officer")):
        app.users.add(name, role, [], PASSWORD)
    app.users.add("b_admin", "admin", [], PASSWORD)
    return {**scenario.users, "auditor": "b_auditor", "officer": "b_officer", "admin": "b_admin"}


def test_the_operator_screens_work_under_the_policy(
    browser: Browser, live_url: str, scenario: Scenario
) -> None:
    users = _users(scenario)
    held = scenario.probebaya_case("rembug_held")
    submitted = scenario.probebaya_case("submitted")

    ketua = WatchedPage(browser, live_url, users["ketua_rt"])
    expect(ketua.page.locator("main")).to_be_visible()  # the inbox
    page = ketua.open(f"/cases/{held['id']}")
    form = page.locator("form[action$='/fire/submit_proposal']")
    with page.expect_response(lambda r: r.url.endswith("/check/submit_proposal")) as checked:
        form.locator("[name=budget]").press_sequentially("200000000")
    assert checked.value.ok
    expect(form.locator("[name=budget]")).to_have_value("200.000.000")
    ketua.assert_clean()

    lurah = WatchedPage(browser, live_url, users["kelurahan"])
    page = lurah.open("/cases/?program=probebaya")
    page.locator(f"input[name=case_id][value='{submitted['id']}']").check()
    page.locator("#bulk-trigger").select_option("verify")
    page.locator("#bulk-form button[type=submit]").click()
    progress = page.locator("#bulk-progress")
    expect(progress.locator(".rukun-progress-text")).to_contain_text("1 dari 1 kasus diproses")
    bar = progress.locator(".progress-bar")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    assert bar.evaluate("e => e.style.width") == "100%"
    lurah.assert_clean()


def test_the_studio_audit_and_admin_screens_work_under_the_policy(
    browser: Browser, live_url: str, scenario: Scenario
) -> None:
    users = _users(scenario)
    case = scenario.probebaya_case("submitted")
    draft = scenario.app.studio.drafts.create(users["officer"], program="probebaya")

    officer = WatchedPage(browser, live_url, users["officer"])
    page = officer.open(f"/definitions/drafts/{draft['id']}/")
    expect(page.locator(".cm-content")).to_be_visible()
    # CodeMirror's theme is a <style> it injects with the page's nonce: applied, not blocked
    border = page.locator(".cm-editor").evaluate("e => getComputedStyle(e).borderTopStyle")
    assert border == "solid"
    expect(page.locator("#draft-status")).not_to_be_empty()
    officer.open("/definitions/")
    officer.assert_clean()

    auditor = WatchedPage(browser, live_url, users["auditor"])
    page = auditor.open(f"/audit/cases/{case['id']}")
    expect(page.locator("#verdict")).to_be_visible()
    page = auditor.open("/audit/statistics?program=probebaya")
    chart = page.locator("img[src*='/audit/statistics/']").first
    expect(chart).to_be_visible()
    assert chart.evaluate("e => e.complete && e.naturalWidth > 0")
    auditor.assert_clean()

    admin = WatchedPage(browser, live_url, users["admin"])
    page = admin.open("/admin/users/")
    page.locator("nav a.dropdown-toggle").click()  # Flask-Admin's menu: href="javascript:…"
    expect(page.locator("nav .dropdown-menu a", has_text="Wilayah")).to_be_visible()
    admin.assert_clean()
