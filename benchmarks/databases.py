"""The databases a benchmark runs on: a fresh SQLite file (WAL) and, when
``RUKUN_TEST_DATABASE_URL`` is set, a fresh schema of its own in that PostgreSQL database
(its sessions with ``synchronous_commit=off``), each migrated to the newest schema with the
demo regions and a ketua RT loaded."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.runtime import Rukun
from engine.settings import Settings

POSTGRES_URL = os.environ.get("RUKUN_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
#: The RT every benchmark case is about, and the user acting on it.
RT = "64.72.01.1001.001.001"
ACTOR = "bench_rt"


def _schema(name: str, create: bool) -> str:
    """``name`` dropped (and created again when ``create``) in the PostgreSQL database; the
    URL that works in it."""
    assert POSTGRES_URL is not None
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        if create:
            connection.execute(text(f"CREATE SCHEMA {name}"))
    admin.dispose()
    # synchronous_commit off in the benchmark's sessions, for rukun and floor alike: the
    # WAL flush of every commit (1-4 ms on this machine's disk) would otherwise be most of
    # each step on both sides and hide what the engines themselves cost (RESULTS.md)
    options = f"-csearch_path={name} -csynchronous_commit=off"
    url = make_url(POSTGRES_URL).update_query_dict({"options": options})
    return url.render_as_string(hide_password=False)


@contextmanager
def bench_app(backend: str, name: str, folder: Path) -> Iterator[Rukun]:
    """A migrated Rukun on a fresh database of ``backend`` (schema ``rukun_bench_<name>``
    on PostgreSQL, dropped afterwards), with the demo regions and :data:`ACTOR`."""
    schema = f"rukun_bench_{name}"
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'{name}.sqlite'}"
    else:
        url = _schema(schema, create=True)
    settings = dataclasses.replace(
        Settings.from_env(), database_url=url, storage_dir=folder / f"{name}-storage"
    )
    app = Rukun(settings)
    try:
        app.upgrade()
        app.regions.load_demo()
        app.users.add(ACTOR, "ketua_rt", [RT])
        yield app
    finally:
        app.close()
        if backend == "postgresql":
            _schema(schema, create=False)
