"""A live server of the operator UI on a free port, and Playwright driving Debian's
chromium (`apt-get install chromium`; RUKUN_CHROMIUM points elsewhere)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

from admin import create_app
from engine.runtime import Rukun
from tests.builders import Scenario, World

CHROMIUM = os.environ.get("RUKUN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


class PolicyReports:
    """WSGI middleware: every response's Content-Security-Policy also reports violations to
    ``PATH``, and the reports are kept in ``reports``, so that any browser test fails when
    the UI does something the policy refuses (an inline script or style, a foreign load)."""

    PATH = "/__csp-report"

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.reports: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == self.PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            self.reports.append(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
            start_response("204 No Content", [])
            return []

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            reported = [
                (name, f"{value}; report-uri {self.PATH}")
                if name.lower() == "content-security-policy"
                else (name, value)
                for name, value in headers
            ]
            return start_response(status, reported, *exc_info)

        return self.app(environ, start)


@contextmanager
def serving(rukun: Rukun) -> Iterator[str]:
    """The operator UI of ``rukun`` on a free local port, for the length of the block;
    fails at its end if the browser reported a Content-Security-Policy violation."""
    app = create_app(rukun, {"SECRET_KEY": "browser-tests"})
    policy = PolicyReports(app.wsgi_app)
    app.wsgi_app = policy  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert policy.reports == [], "Content-Security-Policy violations:\n" + "\n".join(policy.reports)


@pytest.fixture
def live_url(scenario: Scenario) -> Iterator[str]:
    """Probebaya published and one RT (see tests.builders.Scenario)."""
    with serving(scenario.app) as url:
        yield url


@pytest.fixture
def live_world(world: World) -> Iterator[str]:
    """Every program published and the demo regions loaded (tests.builders.World)."""
    with serving(world.app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
