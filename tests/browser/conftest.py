"""A live server of the operator UI on a free port, and Playwright driving Debian's
chromium (`apt-get install chromium`; RUKUN_CHROMIUM points elsewhere)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

from admin import create_app
from engine.runtime import Rukun
from tests.builders import Scenario, World

CHROMIUM = os.environ.get("RUKUN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@contextmanager
def serving(rukun: Rukun) -> Iterator[str]:
    """The operator UI of ``rukun`` on a free local port, for the length of the block."""
    app = create_app(rukun, {"SECRET_KEY": "browser-tests"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


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
