"""The call centre in the browser: from the menu it searches a caller's case by the
kelurahan's name, reads who must act next and how to reach that office, opens the case
(no form to fire), in Indonesian and English; the screens pass the axe-core WCAG 2 A/AA
check in both languages."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.a11y import assert_accessible
from tests.browser.ui import PASSWORD, sign_in
from tests.builders import Scenario

CONTACT = "Kantor Kelurahan — layanan Senin–Jumat 08.00–16.00 (uji)"


def test_the_call_centre_finds_a_stuck_case_and_tells_who_must_act(
    browser: Browser, live_url: str, scenario: Scenario, artifacts: Path
) -> None:
    app = scenario.app
    kelurahan = scenario.rt.rsplit(".", 2)[0]
    app.regions.set_contact(kelurahan, CONTACT)
    office = next(r for r in app.regions.list(level="kelurahan") if r["code"] == kelurahan)
    case = scenario.probebaya_case("submitted")
    app.users.add("pusat_layanan", "call_centre", ["64.72"], PASSWORD)

    page = sign_in(browser, live_url, "pusat_layanan")
    page.locator("nav.navbar a", has_text="Pusat layanan").click()
    expect(page.locator("h2")).to_have_text("Pusat layanan")
    assert_accessible(page, "call centre, nothing searched (id)")

    page.get_by_label("Nomor kasus, nama RT, Pokmas atau kelompok").fill(office["name"])
    page.locator("#call-centre-search button[type=submit]").click()
    row = page.locator("#call-centre-results tbody tr", has_text=f"#{case['id']}")
    expect(row).to_have_count(1)
    actor = row.locator(".rukun-next-actor")
    expect(actor).to_contain_text(f"Kelurahan — {office['name']} — {CONTACT}")
    expect(actor).to_contain_text("Verifikasi usulan")
    expect(row).to_contain_text("WITA")
    page.screenshot(path=str(artifacts / "40-call-centre.png"), full_page=True)
    assert_accessible(page, "call centre, one case found (id)")

    row.locator(f"a[href='/cases/{case['id']}']").click()
    expect(page.locator("form.rukun-transition")).to_have_count(0)  # it reads, never fires
    page.go_back()

    page.locator("form[action*='/language/'] button").click()
    expect(page.locator("h2")).to_have_text("Call centre")
    page.get_by_label("Case number, or the name of the RT").fill(f"#{case['id']}")
    page.locator("#call-centre-search button[type=submit]").click()
    actor = page.locator("#call-centre-results .rukun-next-actor")
    expect(actor).to_contain_text(f"Kelurahan office — {office['name']} — {CONTACT}")
    expect(actor).to_contain_text("Return for revision, Verify the proposal")
    assert_accessible(page, "call centre, one case found (en)")

    page.get_by_label("Case number, or the name of the RT").fill("no such place")
    page.locator("#call-centre-search button[type=submit]").click()
    expect(page.locator("#call-centre-results")).to_contain_text("No case matches.")
    assert_accessible(page, "call centre, nothing found (en)")
