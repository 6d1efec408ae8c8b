"""Accessibility checks in the browser: axe-core (installed from the npm registry with the
editor's build tools in admin/frontend) run on the page as it is now, WCAG 2 A and AA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE = (
    Path(__file__).resolve().parents[2]
    / "admin"
    / "frontend"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
RULE_SETS = ["wcag2a", "wcag2aa"]
#: How many offending elements of each violation the failure message names.
SHOWN_NODES = 3


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The WCAG 2 A/AA violations axe finds on the page in its current state."""
    if not AXE.is_file():
        pytest.fail(
            f"{AXE} is missing: install the frontend tools with `npm ci --prefix admin/frontend`"
        )
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # run as a function through the driver, not as a <script> tag: the pages'
        # Content-Security-Policy allows no inline script
        page.evaluate("() => {" + AXE.read_text(encoding="utf-8") + "\n}")
    result = page.evaluate("ruleSets => axe.run(document, {runOnly: ruleSets})", RULE_SETS)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation (rule, impact, help) and the first offending elements."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:SHOWN_NODES]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
        if len(violation["nodes"]) > SHOWN_NODES:
            lines.append(f"    … and {len(violation['nodes']) - SHOWN_NODES} more")
    return "\n".join(lines)


def assert_accessible(page: Page, context: str) -> None:
    """Fail, naming each violation, if axe finds WCAG 2 A/AA problems on ``page``;
    ``context`` says which screen (and state) was checked."""
    violations = axe_violations(page)
    assert not violations, (
        f"{context} ({page.url}): {len(violations)} accessibility violation(s)\n"
        + describe(violations)
    )
