"""Shared fixtures: a migrated database per test on SQLite and, when
RUKUN_TEST_DATABASE_URL is set, on PostgreSQL too (a schema of its own per xdist worker)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.runtime import Rukun
from engine.settings import Settings
from tests.builders import Scenario, World

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("RUKUN_TEST_DATABASE_URL")


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def _postgres_schema_url(worker: str) -> str:
    """A fresh, empty schema for this worker; the URL sets it as the search path."""
    assert POSTGRES_URL is not None
    schema = f"rukun_test_{worker}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rukun.sqlite'}"
    return _postgres_schema_url(worker_id)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"RUKUN_DATABASE_URL": database_url, "RUKUN_STORAGE": str(tmp_path / "storage")}
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Rukun]:
    rukun = Rukun(settings)
    rukun.upgrade()
    yield rukun
    rukun.close()


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
