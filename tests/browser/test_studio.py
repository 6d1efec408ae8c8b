"""The studio in the browser: a program officer edits a draft in the code editor (built from
admin/frontend), which validates as they type, marks each problem at its line and redraws
the diagram; every studio screen passes axe's WCAG 2 A/AA rules in the UI language; and
without the editor's bundle the page is still a plain form that saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.a11y import assert_accessible
from tests.browser.ui import PASSWORD, sign_in
from tests.builders import Scenario

BUNDLE = Path(__file__).resolve().parents[2] / "admin" / "static" / "build" / "studio.js"
VALID_WITH_WARNINGS = "Definisi sah, dengan peringatan."  # the published Probebaya warns
INVALID = "Definisi belum sah."

# Typed into the draft before "- name: rembug_held" (a state no transition reaches yet) and
# before "- trigger: record_rembug" (into the new state and back out of it).
NEW_STATE = (
    '- name: sosialisasi\n    label: {id: "Sosialisasi program", en: "Programme briefing"}\n  '
)
NEW_TRANSITIONS = (
    "- trigger: hold_briefing\n"
    '    label: {id: "Adakan sosialisasi", en: "Hold the briefing"}\n'
    "    source: draft\n"
    "    dest: sosialisasi\n"
    "    roles: [ketua_rt]\n"
    "\n"
    "  - trigger: end_briefing\n"
    '    label: {id: "Tutup sosialisasi", en: "End the briefing"}\n'
    "    source: sosialisasi\n"
    "    dest: draft\n"
    "    roles: [ketua_rt]\n"
    "\n"
    "  "
)

# The studio's other screens; {draft} is the draft's number.
SCREENS = {
    "programs": "/definitions/",
    "program": "/definitions/probebaya/",
    "form": "/definitions/drafts/{draft}/form?guard=count_lte&at=submit_proposal|",
    "diff": "/definitions/drafts/{draft}/diff",
    "try": "/definitions/drafts/{draft}/try",
    "impact": "/definitions/drafts/{draft}/impact",
    "migrate": "/definitions/probebaya/migrate",
}


@pytest.fixture
def editor_bundle() -> Path:
    if not BUNDLE.is_file():
        pytest.fail(
            f"{BUNDLE} is missing: build the editor with `npm ci --prefix admin/frontend && "
            "npm run --prefix admin/frontend build`"
        )
    return BUNDLE


@pytest.fixture
def officer(browser: Browser, live_url: str, scenario: Scenario) -> Page:
    """A program officer (no region grant needed for the studio), signed in."""
    scenario.app.users.add("officer", "program_officer", [], PASSWORD)
    return sign_in(browser, live_url, "officer")


@pytest.fixture
def draft(scenario: Scenario, officer: Page) -> dict[str, Any]:
    """A draft copied from the published Probebaya."""
    return scenario.app.studio.drafts.create("officer", program="probebaya")


def open_editor(page: Page, url: str, draft_id: int) -> None:
    """Open the draft and wait until the editor has checked the text once."""
    with page.expect_response(lambda response: response.url.endswith("/check")) as checked:
        page.goto(f"{url}/definitions/drafts/{draft_id}/")
    assert checked.value.ok
    expect(page.locator(".cm-content")).to_be_visible()


def find_in_editor(page: Page, text: str) -> None:
    """Select the first occurrence of ``text`` with the editor's own search (Ctrl+F)."""
    page.locator(".cm-content").focus()
    page.keyboard.press("Control+f")
    search = page.locator(".cm-search input[name=search]")
    expect(search).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")  # closes the search, the match stays selected
    expect(page.locator(".cm-content")).to_be_focused()


def type_block(page: Page, text: str) -> None:
    """Type several lines at the cursor as they are: Enter in the editor indents the next
    line itself, so ``text`` (indented already) is entered as one input, like a paste."""
    page.keyboard.insert_text(text)


def line_of(source: str, text: str) -> int:
    """The 1-based number of the line of ``source`` that holds ``text``."""
    return source[: source.index(text)].count("\n") + 1


def line_beside(page: Page, selector: str) -> int | None:
    """The line number the editor's gutter shows level with the element ``selector``."""
    found: int | None = page.evaluate(
        """selector => {
            const box = document.querySelector(selector).getBoundingClientRect();
            const middle = box.top + box.height / 2;
            for (const cell of document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")) {
                const row = cell.getBoundingClientRect();
                if (row.height && middle >= row.top && middle < row.bottom) {
                    return Number(cell.textContent);
                }
            }
            return null;
        }""",
        selector,
    )
    return found


def switch_language(page: Page, to: str) -> None:
    """Press the navbar's language button (it names the other language)."""
    page.locator("nav.navbar button", has_text=to).click()
    page.wait_for_load_state()


def test_a_misspelt_state_is_marked_at_its_line_as_the_officer_types(
    editor_bundle: Path,
    officer: Page,
    draft: dict[str, Any],
    live_url: str,
    artifacts: Path,
) -> None:
    page = officer
    open_editor(page, live_url, draft["id"])
    line = line_of(draft["source"], "    dest: rembug_held\n")
    problems = page.locator("#draft-problems")
    status = page.locator("#draft-status")
    expect(status).to_have_text(VALID_WITH_WARNINGS)

    find_in_editor(page, "dest: rembug_held")
    page.keyboard.press("ArrowRight")  # to the end of the match: "rembug_held|"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Backspace")  # "rembug_h|ld"

    error = problems.locator("li.rukun-problem.rukun-error")
    expect(error).to_contain_text("did you mean 'rembug_held'")
    expect(error).to_have_attribute("data-line", str(line))
    expect(status).to_have_text(INVALID)
    expect(page.locator(".cm-lintRange-error")).to_have_count(1)
    expect(page.locator(".cm-lintRange-error")).to_have_text("rembug_hld")
    assert line_beside(page, ".cm-lintRange-error") == line
    assert line_beside(page, ".cm-lint-marker-error") == line
    # the form submits what the editor shows
    assert "    dest: rembug_hld\n" in page.locator("#draft-source").input_value()
    page.screenshot(path=str(artifacts / "30-studio-lint-error.png"), full_page=True)

    error.click()  # puts the cursor at the problem: "|rembug_hld"
    for _ in "rembug_h":
        page.keyboard.press("ArrowRight")
    page.keyboard.type("e")

    expect(problems.locator("li.rukun-error")).to_have_count(0)
    expect(problems.locator("li.rukun-warning").first).to_be_visible()
    expect(status).to_have_text(VALID_WITH_WARNINGS)
    expect(page.locator(".cm-lintRange-error")).to_have_count(0)
    assert page.locator("#draft-source").input_value() == draft["source"]
    page.screenshot(path=str(artifacts / "31-studio-lint-fixed.png"), full_page=True)


def test_the_diagram_shows_a_new_state_once_the_definition_is_valid(
    editor_bundle: Path,
    officer: Page,
    draft: dict[str, Any],
    live_url: str,
    artifacts: Path,
) -> None:
    page = officer
    open_editor(page, live_url, draft["id"])
    diagram = page.locator("#draft-diagram svg")
    status = page.locator("#draft-status")
    expect(diagram).to_have_count(1)
    expect(diagram).not_to_contain_text("Sosialisasi program")

    find_in_editor(page, "- name: rembug_held")
    page.keyboard.press("ArrowLeft")  # to the start of the match
    type_block(page, NEW_STATE)
    # no transition reaches the state yet: not valid, and the last diagram stays
    expect(status).to_have_text(INVALID)
    expect(page.locator("#draft-problems li.rukun-error")).to_contain_text("'sosialisasi'")
    expect(diagram).not_to_contain_text("Sosialisasi program")

    find_in_editor(page, "- trigger: record_rembug")
    page.keyboard.press("ArrowLeft")
    type_block(page, NEW_TRANSITIONS)
    expect(status).to_have_text(VALID_WITH_WARNINGS)
    expect(diagram).to_contain_text("Sosialisasi program")
    page.screenshot(path=str(artifacts / "32-studio-diagram-new-state.png"), full_page=True)


def test_the_editor_is_accessible_in_both_languages(
    editor_bundle: Path,
    officer: Page,
    draft: dict[str, Any],
    live_url: str,
    artifacts: Path,
) -> None:
    page = officer
    open_editor(page, live_url, draft["id"])
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("textbox", name="Definisi (YAML)")).to_be_visible()
    page.screenshot(path=str(artifacts / "33-studio-editor-id.png"), full_page=True)
    assert_accessible(page, "draft editor (id)")

    # with an error marked in the editor and listed beside it
    find_in_editor(page, "dest: rembug_held")
    page.keyboard.press("ArrowRight")
    page.keyboard.type("x")
    expect(page.locator(".cm-lintRange-error")).to_have_count(1)
    assert_accessible(page, "draft editor with an error (id)")

    switch_language(page, "English")
    open_editor(page, live_url, draft["id"])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("textbox", name="Definition (YAML)")).to_be_visible()
    expect(page.locator("#draft-status")).to_have_text("The definition is valid, with warnings.")
    page.screenshot(path=str(artifacts / "34-studio-editor-en.png"), full_page=True)
    assert_accessible(page, "draft editor (en)")


@pytest.mark.parametrize("screen", SCREENS)
def test_each_studio_screen_is_accessible(
    screen: str,
    officer: Page,
    draft: dict[str, Any],
    live_url: str,
    artifacts: Path,
) -> None:
    page = officer
    page.goto(live_url + SCREENS[screen].format(draft=draft["id"]))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / f"35-studio-{screen}.png"), full_page=True)
    expect(page.locator("html")).to_have_attribute("lang", "id")
    assert_accessible(page, f"studio screen '{screen}' (id)")


def test_without_the_bundle_the_editor_is_a_form_that_saves(
    editor_bundle: Path,
    officer: Page,
    draft: dict[str, Any],
    scenario: Scenario,
    live_url: str,
    artifacts: Path,
) -> None:
    page = officer
    asked: list[str] = []

    def not_built(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(status=404, body="not built")

    page.route("**/static/build/studio.js", not_built)
    page.goto(f"{live_url}/definitions/drafts/{draft['id']}/")
    page.wait_for_load_state("networkidle")
    assert asked, "the editor page did not ask for the bundle"
    source = page.locator("#draft-source")
    expect(source).to_be_visible()
    expect(page.locator(".cm-editor")).to_have_count(0)

    text = draft["source"].replace("Persiapan rembug warga", "Persiapan rembug warga RT", 1)
    source.fill(text)
    page.locator("#draft-form button[type=submit]").click()
    page.wait_for_load_state()

    expect(page.locator(".alert-success")).to_contain_text("Draf disimpan.")
    expect(page.locator(".cm-editor")).to_have_count(0)
    saved = scenario.app.studio.drafts.get(draft["id"], "officer")
    assert saved["source"] == text
    assert saved["revision"] == draft["revision"] + 1
    page.screenshot(path=str(artifacts / "36-studio-editor-without-bundle.png"), full_page=True)
