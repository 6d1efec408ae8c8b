"""Fixtures of the screen tests: the Flask app over the scenario, and an admin client."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin import create_app
from tests.builders import Scenario
from tests.integration.test_admin import PASSWORD, login

ADMIN = "web_admin"


@pytest.fixture
def web(scenario: Scenario) -> Flask:
    return create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def admin(web: Flask, scenario: Scenario) -> FlaskClient:
    """A client signed in as an admin (a user holding only the unscoped admin role)."""
    scenario.app.users.add(ADMIN, "admin", [], PASSWORD)
    client = web.test_client()
    login(client, ADMIN)
    return client
