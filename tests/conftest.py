"""Shared fixtures: a migrated database per test on SQLite and, when
RUKUN_TEST_DATABASE_URL is set, on PostgreSQL too (a schema of its own per xdist worker).

On PostgreSQL the tests run as production does when RUKUN_TEST_APP_DATABASE_URL names a
second role (CI sets both): RUKUN_TEST_DATABASE_URL's role owns the schema and migrates it,
then `grant_app_role` gives the app role its least privileges (no UPDATE, DELETE or
TRUNCATE on the evidence tables), and the app under test signs in as that role. Tests that
play an attacker with full rights use ``owner_engine``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from engine.runtime import Rukun
from engine.settings import Settings
from engine.store.db import make_engine, upgrade
from engine.store.privileges import grant_app_role
from tests.builders import Scenario, World

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("RUKUN_TEST_DATABASE_URL")
APP_ROLE_URL = os.environ.get("RUKUN_TEST_APP_DATABASE_URL")


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def only_on(name: str) -> pytest.MarkDecorator:
    """Run a test on one backend only: for what only that database has (pg_dump, roles),
    where the other backend would merely repeat the test. No run at all when that backend
    is not configured (CI configures both)."""
    return pytest.mark.parametrize("backend", [b for b in backends() if b == name], indirect=True)


def _in_schema(url: str, schema: str) -> str:
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def _postgres_schema(worker: str) -> str:
    """A fresh, empty schema for this worker."""
    assert POSTGRES_URL is not None
    schema = f"rukun_test_{worker}"
    as_owner(f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}")
    return schema


def as_owner(*statements: str) -> None:
    """Run ``statements`` on the test database as its owner, each on its own (autocommit:
    CREATE DATABASE may not run inside a transaction)."""
    assert POSTGRES_URL is not None
    owner = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    owner.dispose()


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> tuple[str, str]:
    """(the URL the app signs in with, the URL of the role owning the tables)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rukun.sqlite'}"
        return url, url
    assert POSTGRES_URL is not None
    schema = _postgres_schema(worker_id)
    owner = _in_schema(POSTGRES_URL, schema)
    return (_in_schema(APP_ROLE_URL, schema) if APP_ROLE_URL else owner), owner


@pytest.fixture
def database_url(backend: tuple[str, str]) -> str:
    return backend[0]


@pytest.fixture
def owner_url(backend: tuple[str, str]) -> str:
    return backend[1]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"RUKUN_DATABASE_URL": database_url, "RUKUN_STORAGE": str(tmp_path / "storage")}
    )


@pytest.fixture
def app(settings: Settings, owner_url: str) -> Iterator[Rukun]:
    if owner_url != settings.database_url:  # migrate as the owner, then run as the app role
        owner = make_engine(owner_url)
        upgrade(owner)
        grant_app_role(owner, make_url(settings.database_url).username or "")
        owner.dispose()
    rukun = Rukun(settings)
    rukun.upgrade()
    yield rukun
    rukun.close()


@pytest.fixture
def owner_engine(app: Rukun, owner_url: str) -> Iterator[Engine]:
    """An engine signed in as the tables' owner: full rights, as an attacker might have."""
    if owner_url == app.context.settings.database_url:
        yield app.engine
        return
    engine = make_engine(owner_url)
    yield engine
    engine.dispose()


@pytest.fixture
def scenario(app: Rukun, tmp_path: Path) -> Scenario:
    """Probebaya published, demo regions loaded, one user per role on one RT's chain."""
    return Scenario.probebaya(app, tmp_path)


@pytest.fixture
def world(app: Rukun, tmp_path: Path) -> World:
    """All four programs published, the four cities' demo regions loaded."""
    return World(app, tmp_path)


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """Environment for running `rukun` (in-process or as a subprocess) on the test database."""
    return {
        "RUKUN_DATABASE_URL": settings.database_url,
        "RUKUN_STORAGE": str(settings.storage_dir),
    }
