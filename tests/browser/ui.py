"""Driving the operator UI in the browser: sign in, open a case, fill a generated
transition form (scalar fields, list rows, case pickers, uploads) and submit it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

PASSWORD = "kata-sandi-browser"


def sign_in(browser: Browser, url: str, name: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("nav.navbar")).to_contain_text(name)
    return page


def start_case(page: Page, url: str, program: str, subject: str) -> int:
    """Open a case from the case list's start form; returns its number."""
    page.goto(f"{url}/cases/?start=1")
    form = page.locator("form.rukun-start")
    form.locator("select[name=program]").select_option(program)
    form.locator("input[name=subject]").fill(subject)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def act(
    page: Page,
    trigger: str,
    fields: dict[str, str] | None = None,
    files: dict[str, Path] | None = None,
    rows: dict[str, list[dict[str, str]]] | None = None,
    pick: dict[str, list[str]] | None = None,
) -> None:
    """Fill the form of ``trigger`` on the open case page and submit it."""
    form = page.locator(f"form[action$='/fire/{trigger}']")
    for name, value in (fields or {}).items():
        fill(form.locator(f"[name='{name}']"), value)
    for name, items in (rows or {}).items():
        table = form.locator(f".rukun-list[data-field='{name}']")
        for index, row in enumerate(items):
            if table.locator(f"[name='{name}-{index}-{next(iter(row))}']").count() == 0:
                table.locator(".rukun-add-row").click()
            for sub, value in row.items():
                fill(table.locator(f"[name='{name}-{index}-{sub}']"), value)
    for name, values in (pick or {}).items():
        form.locator(f"select[name='{name}']").select_option(values)
    for name, path in (files or {}).items():
        form.locator(f"[name='{name}']").set_input_files(str(path))
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def fill(control: Any, value: str) -> None:
    if control.evaluate("e => e.tagName") == "SELECT":
        control.select_option(value)
    elif control.get_attribute("type") == "checkbox":
        control.set_checked(value not in ("", "false", "0"))
    else:
        control.fill(value)


def saved(page: Page) -> None:
    """The last submit was accepted (the page says so; no refusal is shown)."""
    expect(page.locator(".alert-success")).to_contain_text("Berhasil disimpan")
    expect(page.locator(".alert-danger")).to_have_count(0)
