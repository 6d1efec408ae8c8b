"""The public page in a real browser, as a resident meets it: without JavaScript on a small
phone, from the kota list down to the RT's year, or straight from the short URL printed
under the QR code on the notice board; and accessible (axe, WCAG 2 AA) in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from engine.demo import run_demo
from engine.runtime import Rukun
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import serving
from tests.builders import YEAR

#: A cheap phone's screen.
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def live_demo(app: Rukun) -> Iterator[tuple[str, str]]:
    """`rukun demo`'s data served; (the URL, the RT of its closed Probebaya case)."""
    case_id = run_demo(app, YEAR, lambda _line: None)
    rt = app.cases.show(case_id)["subject"]
    with serving(app) as url:
        yield url, rt


def without_javascript(browser: Browser) -> Page:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    return context.new_page()


def sees_the_money_and_the_decisions(page: Page) -> None:
    case = page.locator("section", has_text="Probebaya")
    expect(case.locator(".money")).to_contain_text("Dana disetujui")
    expect(case.locator(".money")).to_contain_text("Rp 240.000.000")
    expect(case.locator(".money")).to_contain_text("Rp 238.500.000")
    decisions = case.locator(".decisions li")
    expect(decisions.filter(has_text="Setujui dan tetapkan nilai (kota)")).to_contain_text(
        "oleh Pemerintah kota (Bappeda)"
    )
    expect(decisions.filter(has_text="Cairkan tahap 2")).to_have_count(1)
    expect(case.get_by_role("link", name="Berita acara rembug warga", exact=True)).to_be_visible()
    expect(
        case.get_by_role("link", name="Berita acara rembug warga (dibuat sistem)")
    ).to_be_visible()


def test_a_resident_without_javascript_browses_to_the_rt_and_sees_money_and_decisions(
    browser: Browser, live_demo: tuple[str, str], artifacts: Path
) -> None:
    url, rt = live_demo
    page = without_javascript(browser)
    page.goto(f"{url}/public/")
    page.get_by_role("link", name="Kota Samarinda").click()
    page.get_by_role("link", name="Kecamatan Palaran").click()
    page.get_by_role("link", name="Kelurahan Rawa Makmur").click()
    page.get_by_role("link", name=f"RT 001 RW 001 (demo), tahun {YEAR}").click()
    expect(page).to_have_url(f"{url}/public/{rt}/{YEAR}")
    expect(page.locator("h1")).to_have_text(f"RT 001 RW 001 (demo) · {YEAR}")
    sees_the_money_and_the_decisions(page)
    page.screenshot(path=str(artifacts / "50-public-rt-year-phone.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("section", has_text="Probebaya").locator(".money")).to_contain_text(
        "Funds approved"
    )
    page.context.close()


def test_the_short_url_on_the_poster_opens_the_rts_money_and_decisions(
    browser: Browser, live_demo: tuple[str, str], artifacts: Path
) -> None:
    """What scanning the QR code does: the poster names the short URL its code holds."""
    url, rt = live_demo
    page = without_javascript(browser)
    page.goto(f"{url}/public/{rt}/{YEAR}/poster")
    qr = page.locator(".poster img")
    expect(qr).to_have_attribute("src", f"/public/{rt}/{YEAR}/qr.svg")
    image = page.request.get(f"{url}/public/{rt}/{YEAR}/qr.svg")
    assert image.ok and image.headers["content-type"].startswith("image/svg+xml")
    short = page.locator(".poster .url").inner_text()
    assert short == f"{url}/p/{rt}/{YEAR}"
    page.screenshot(path=str(artifacts / "51-public-poster.png"), full_page=True)
    page.goto(short)
    sees_the_money_and_the_decisions(page)
    page.context.close()


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_public_pages_are_accessible(
    browser: Browser, live_demo: tuple[str, str], language: str
) -> None:
    url, rt = live_demo
    page = browser.new_page(viewport=PHONE)
    for path in ("/public/", f"/public/{rt}/{YEAR}", f"/public/{rt}/{YEAR}/poster"):
        page.goto(f"{url}{path}?lang={language}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_accessible(page, f"public {path} ({language})")
    page.close()
