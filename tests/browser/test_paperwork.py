"""Official paperwork in the browser: the kelurahan of the demo RT opens a submitted
Probebaya case, sees in the paperwork panel that the verification report is still to
come, verifies the proposal, and downloads the berita acara the step generated: the
file the history record names. The case page with the panel passes the axe-core WCAG 2
A/AA check in Indonesian and English."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pypdf
from playwright.sync_api import Browser, expect

from tests.browser.a11y import assert_accessible
from tests.browser.ui import PASSWORD, act, saved, sign_in
from tests.builders import Scenario


def test_the_kelurahan_verifies_and_downloads_the_generated_berita_acara(
    browser: Browser, live_url: str, scenario: Scenario, artifacts: Path, tmp_path: Path
) -> None:
    app = scenario.app
    name = scenario.users["kelurahan"]
    app.users.set_password(name, PASSWORD)
    case = scenario.probebaya_case("submitted")
    page = sign_in(browser, live_url, name)
    page.goto(f"{live_url}/cases/{case['id']}")

    panel = page.locator("section.rukun-paperwork")
    expect(panel.get_by_role("heading", name="Dokumen resmi")).to_be_visible()
    report = panel.locator("li.rukun-paper[data-template='berita_acara_verifikasi']")
    expect(report).to_contain_text("Berita acara verifikasi kelurahan")
    expect(report.locator("[data-field='ba_verifikasi']")).to_contain_text("belum dibuat")
    preview = report.locator("a.rukun-preview")
    expect(preview).to_have_attribute(
        "href", f"/cases/{case['id']}/paperwork/berita_acara_verifikasi"
    )
    answer = page.request.get(f"{live_url}/cases/{case['id']}/paperwork/berita_acara_verifikasi")
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    assert_accessible(page, "case page with the paperwork panel, before verify (id)")

    act(page, "verify", {"verification_notes": "Lengkap dan sesuai"})
    saved(page)
    link = report.locator("[data-field='ba_verifikasi'] a.rukun-generated")
    expect(link).to_have_text(f"berita-acara-verifikasi-{case['id']}.pdf")
    page.screenshot(path=str(artifacts / "60-paperwork-panel.png"), full_page=True)
    with page.expect_download() as download:
        link.click()
    saved_to = tmp_path / download.value.suggested_filename
    download.value.save_as(saved_to)
    content = saved_to.read_bytes()
    [record] = [r for r in app.cases.history(case["id"]) if r["trigger"] == "verify"]
    assert hashlib.sha256(content).hexdigest() == record["documents"]["ba_verifikasi"]
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert "Rp200.000.000" in text and name in text
    assert "dua ratus juta rupiah" in " ".join(text.lower().split())  # terbilang
    assert record["actor"] == name and record["role"] == "kelurahan"  # signed off in history
    assert_accessible(page, "case page with a generated document (id)")

    page.locator("form[action*='/language/'] button").click()
    expect(panel.get_by_role("heading", name="Official paperwork")).to_be_visible()
    expect(report).to_contain_text("Kelurahan verification report")
    assert_accessible(page, "case page with the paperwork panel (en)")
