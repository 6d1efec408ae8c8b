"""Backing up and restoring an installation: the database and the document store together
(``rukun db backup`` / ``rukun db restore``), because the history names documents by
sha256 and a database restored without its files fails verification.

- SQLite: a consistent copy by SQLite's online backup API (safe while the app writes; the
  copy is one self-contained file), restored through the same API.
- PostgreSQL: ``pg_dump --format=custom`` inside an exported snapshot (the row counts of
  the manifest are read in that same snapshot), restored by ``pg_restore`` in one
  transaction into an empty database; run both as the tables' owner (docs/deploy.md).

The archive's format and its checks are in :mod:`engine.store.backup_archive`. A restore
checks the whole archive before it touches anything, then writes the documents (adding
files, never removing one) and only then the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from engine.errors import Conflict, InvalidData, RukunError
from engine.store.backup_archive import (
    CHUNK,
    DATABASE_MEMBERS,
    DOCUMENT_MEMBER,
    Manifest,
    unpack,
    utc_stamp,
    writing,
)
from engine.store.db import alembic_config

#: How to back up by hand when pg_dump is missing (docs/deploy.md explains it in full).
PG_RECIPE = """\
pg_dump is not on PATH: install the PostgreSQL client of the server's major version
(Debian: apt-get install postgresql-client) and run `rukun db backup` again, or by hand:
  pg_dump --format=custom --file=rukun.pgdump "$OWNER_URL"
  tar -czf rukun-documents.tar.gz -C "$RUKUN_STORAGE" .
(restore with pg_restore --no-owner --single-transaction into an empty database, unpack the
documents into RUKUN_STORAGE, then run `rukun audit verify`)"""


class ToolMissing(RukunError):
    """A PostgreSQL client program (pg_dump, pg_restore) is not installed."""

    kind = "tool_missing"


@dataclass(frozen=True)
class Restored:
    """What a restore did: the archive's manifest, documents written and already there,
    and where a replaced SQLite database was kept (``--force``)."""

    manifest: Manifest
    documents_written: int
    documents_present: int
    kept: Path | None

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest.to_json(),
            "documents_written": self.documents_written,
            "documents_present": self.documents_present,
            "kept": None if self.kept is None else str(self.kept),
        }


def archive_path(path: Path, now: dt.datetime) -> Path:
    """``path`` itself, or a dated archive name in it when ``path`` is a directory."""
    if path.is_dir():
        return path / f"rukun-backup-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    return path


# --------------------------------------------------------------------------- backup


def backup(engine: Engine, storage: Path, path: Path, now: dt.datetime) -> tuple[Path, Manifest]:
    """Write a backup of ``engine``'s database and the documents under ``storage`` to
    ``path`` (a file, or a directory for a dated one); refuses to overwrite a file."""
    target = archive_path(path, now)
    if target.exists():
        raise Conflict(f"{target} already exists: choose another name (a backup never overwrites)")
    if not target.parent.is_dir():
        raise InvalidData(f"cannot write {target}: directory {target.parent} does not exist")
    dialect = engine.dialect.name
    with (
        tempfile.TemporaryDirectory(dir=target.parent, prefix=".rukun-backup-") as tmp,
        writing(target, now.timestamp()) as archive,
    ):
        copy = Path(tmp) / DATABASE_MEMBERS[dialect]
        schema = None
        if dialect == "sqlite":
            revision, tables = _sqlite_copy(_sqlite_file(engine.url), copy)
        else:
            revision, tables, schema = _pg_dump(engine, copy)
        # documents are written before the transaction naming them commits: every file the
        # copy refers to is on disk already (later uploads may be included too, harmlessly)
        archive.add_file(copy.name, copy)
        for name, file in _document_files(storage):
            archive.add_file(name, file)
        manifest = Manifest(
            created_at=utc_stamp(now),
            rukun_version=_rukun_version(),
            dialect=dialect,
            alembic_revision=revision,
            tables=tables,
            schema=schema,
            members=dict(archive.members),
        )
        archive.add_manifest(manifest)
    return target, manifest


def _rukun_version() -> str:
    try:
        return version("rukun")
    except PackageNotFoundError:  # pragma: no cover (a source tree without metadata)
        return "unknown"


def _document_files(storage: Path) -> Iterator[tuple[str, Path]]:
    """The content-addressed files under ``storage`` (``ab/abcdef…``), in name order;
    anything else there (an interrupted upload's temporary file) is not a document."""
    if not storage.is_dir():
        return
    for folder in sorted(storage.iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        for file in sorted(folder.iterdir()):
            name = f"documents/{folder.name}/{file.name}"
            if DOCUMENT_MEMBER.fullmatch(name) and file.is_file() and not file.is_symlink():
                yield name, file


def _sqlite_file(url: URL) -> Path:
    database = url.database or ""
    if not database or database == ":memory:":
        raise InvalidData("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> tuple[str, dict[str, int]]:
    """Copy the SQLite database ``source`` to ``target`` with the online backup API: one
    step, so the copy is one consistent snapshot even while others write. Returns the
    copy's Alembic revision and row counts."""
    if not source.is_file():
        raise InvalidData(f"no SQLite database at {source}: nothing to back up")
    with (
        closing(sqlite3.connect(source, timeout=30)) as live,
        closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        problems = [row[0] for row in copy.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise RukunError(f"the copy of {source} is damaged: {'; '.join(problems[:5])}")
        revision, tables = _sqlite_contents(copy)
    if revision is None:
        raise InvalidData(f"database {source} is not initialised: nothing to back up")
    return revision, tables


def _sqlite_contents(connection: sqlite3.Connection) -> tuple[str | None, dict[str, int]]:
    """A SQLite database's Alembic revision (None: not initialised) and rows per table."""
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    revision = None
    if "alembic_version" in names:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    tables = {
        name: connection.execute(
            f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"'
        ).fetchone()[0]
        for name in names
        if name != "alembic_version"
    }
    return revision, tables


# --------------------------------------------------------------------------- PostgreSQL


def _pg_program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if name == "pg_dump":
            raise ToolMissing(PG_RECIPE)
        raise ToolMissing(
            f"{name} is not on PATH: install the PostgreSQL client of the server's major "
            "version (Debian: apt-get install postgresql-client)"
        )
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` (its query parameters included) and the
    environment passing the password, so it never shows in a process list."""
    words = {
        "host": url.host,
        "port": None if url.port is None else str(url.port),
        "dbname": url.database,
        "user": url.username,
    }
    for key, value in url.query.items():
        words[key] = value if isinstance(value, str) else value[-1]

    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    conninfo = " ".join(f"{k}={quoted(v)}" for k, v in words.items() if v is not None)
    environment = {**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "30")}
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    return conninfo, environment


def _run(command: list[str], environment: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise RukunError(f"{what} failed: " + ("; ".join(reason[-5:]) or f"exit {done.returncode}"))


def _pg_dump(engine: Engine, target: Path) -> tuple[str, dict[str, int], str]:
    """``pg_dump`` of the schema holding the tables, in a snapshot this connection
    exports, so the row counts read here describe exactly what was dumped."""
    program = _pg_program("pg_dump")
    conninfo, environment = _libpq(engine.url)
    with (
        engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
        connection.begin(),
    ):
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        if schema is None:
            raise InvalidData("the database URL's search_path names no existing schema")
        revision, tables = _pg_contents(connection, schema)
        if revision is None:
            raise InvalidData(f"schema {schema} is not initialised: nothing to back up")
        _run(
            [
                program,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--schema={_pattern(schema)}",
                f"--file={target}",
                f"--dbname={conninfo}",
            ],
            environment,
            "pg_dump",
        )
    return revision, tables, schema


def _pattern(schema: str) -> str:
    """A pg_dump name pattern matching exactly ``schema``."""
    return '"' + schema.replace('"', '""') + '"'


def _pg_contents(connection: Connection, schema: str) -> tuple[str | None, dict[str, int]]:
    names = list(
        connection.execute(
            text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            ),
            {"s": schema},
        ).scalars()
    )
    revision = None
    quoted_schema = '"' + schema.replace('"', '""') + '"'
    if "alembic_version" in names:
        revision = connection.execute(
            text(f"SELECT version_num FROM {quoted_schema}.alembic_version")
        ).scalar()
    tables = {
        name: int(
            connection.execute(
                text(f'SELECT count(*) FROM {quoted_schema}."{name.replace(chr(34), chr(34) * 2)}"')
            ).scalar_one()
        )
        for name in names
        if name != "alembic_version"
    }
    return revision, tables


def _search_path(connection: Connection) -> list[str]:
    """The schemas the connection's search_path names, ``$user`` resolved."""
    user = connection.execute(text("SELECT current_user")).scalar_one()
    setting = connection.execute(text("SELECT current_setting('search_path')")).scalar_one()
    names = []
    for part in setting.split(","):
        part = part.strip()
        if part.startswith('"') and part.endswith('"'):
            part = part[1:-1].replace('""', '"')
        names.append(user if part == "$user" else part)
    return names


def _pg_check_target(engine: Engine, schema: str, force: bool) -> bool:
    """Refuse a target that is not an empty PostgreSQL schema on the URL's search_path;
    returns whether the schema exists already (``public`` does in every new database)."""
    if force:
        raise Conflict(
            "--force does not replace a PostgreSQL database: restore into a new, empty "
            "database (createdb -O OWNER NAME), check it, then point RUKUN_DATABASE_URL at it"
        )
    with engine.connect() as connection:
        if schema not in _search_path(connection):
            raise InvalidData(
                f"the backup's tables are in schema {schema}, which the target URL's "
                f"search_path does not name (add ?options=-csearch_path%3D{schema} to it)"
            )
        namespace = connection.execute(
            text("SELECT oid FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ).scalar()
        if namespace is None:
            return False
        objects = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = :n) + "
                "(SELECT count(*) FROM pg_proc WHERE pronamespace = :n)"
            ),
            {"n": namespace},
        ).scalar_one()
    if objects:
        raise Conflict(
            f"database {_shown(engine)} already has tables or functions in schema {schema}: "
            "a backup is restored only into an empty database (create a new one, or drop "
            "and recreate this one)"
        )
    return True


def _pg_restore(engine: Engine, dump: Path, schema: str, schema_exists: bool) -> None:
    """``pg_restore`` into ``engine``'s database in one transaction (all or nothing), the
    objects owned by the restoring role; privileges are granted afresh afterwards
    (``rukun db grant-app-role``), as the roles of the new server may differ."""
    program = _pg_program("pg_restore")
    conninfo, environment = _libpq(engine.url)
    listing = subprocess.run(
        [program, "--list", str(dump)], env=environment, capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise InvalidData(f"the database dump cannot be read: {listing.stderr.strip()}")
    chosen = dump.with_suffix(".list")
    chosen.write_text(
        _restore_list(listing.stdout, schema if schema_exists else None), encoding="utf-8"
    )
    _run(
        [
            program,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--use-list={chosen}",
            f"--dbname={conninfo}",
            str(dump),
        ],
        environment,
        "pg_restore",
    )


def _restore_list(listing: str, existing_schema: str | None) -> str:
    """pg_restore's table of contents, without creating a schema that exists already
    (``public`` does in every new database)."""
    if existing_schema is None:
        return listing
    own = re.compile(
        rf"^\d+; \d+ \d+ (SCHEMA|COMMENT|ACL) - (SCHEMA )?{re.escape(existing_schema)} "
    )
    return "".join(
        ";" + line if own.match(line) else line for line in listing.splitlines(keepends=True)
    )


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


# --------------------------------------------------------------------------- restore


def restore(engine: Engine, storage: Path, archive: Path, force: bool = False) -> Restored:
    """Restore ``archive`` into ``engine``'s database and ``storage``. The archive is
    unpacked and checked first; the database must be empty (SQLite: ``force`` replaces
    it, keeping the old one beside it). Documents are added before the database."""
    dialect = engine.dialect.name
    staging_parent = storage.parent if storage.parent.is_dir() else Path.cwd()
    with tempfile.TemporaryDirectory(dir=staging_parent, prefix=".rukun-restore-") as tmp:
        staging = Path(tmp)
        manifest = unpack(archive, staging)
        if manifest.dialect != dialect:
            raise InvalidData(
                f"this is a backup of a {manifest.dialect} database; the target is {dialect}"
            )
        _check_revision(manifest.alembic_revision)
        database = staging / manifest.database_member
        kept = None
        schema_exists = False
        schema = manifest.schema or "public"
        if dialect == "sqlite":
            kept = _sqlite_prepare(_sqlite_file(engine.url), force)
        else:
            schema_exists = _pg_check_target(engine, schema, force)
        written, present = _restore_documents(manifest, staging, storage)
        engine.dispose()  # no pooled connection holds the old database open
        if dialect == "sqlite":
            _sqlite_restore(database, _sqlite_file(engine.url))
        else:
            _pg_restore(engine, database, schema, schema_exists)
        engine.dispose()
    return Restored(manifest, written, present, kept)


def _check_revision(revision: str) -> None:
    """The archive's schema revision must be one this Rukun knows (older is fine: upgrade
    after restoring; newer needs the newer Rukun)."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise InvalidData(
            f"the backup's schema revision {revision} is newer than this Rukun knows "
            f"(newest: {scripts.get_current_head()}): restore it with the Rukun that wrote it"
        )


def _sqlite_prepare(target: Path, force: bool) -> Path | None:
    """Refuse a target SQLite database that holds data unless ``force``; then keep a copy
    of it beside it (returned) so nothing is lost."""
    if not target.is_file() or target.stat().st_size == 0:
        return None
    with closing(sqlite3.connect(target, timeout=30)) as connection:
        try:
            _revision, tables = _sqlite_contents(connection)
        except sqlite3.DatabaseError as exc:
            raise Conflict(
                f"{target} is not a SQLite database ({exc}): move it away, or restore into "
                "a new RUKUN_DATABASE_URL"
            ) from exc
        if not any(tables.values()):
            return None
        if not force:
            raise Conflict(
                f"database {target} holds data ({_summary(tables)}): restoring would replace "
                "it; pass --force to replace it (a copy is kept beside it), or restore into "
                "a new RUKUN_DATABASE_URL"
            )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        with closing(sqlite3.connect(kept)) as copy:
            connection.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
    return kept


def _summary(tables: dict[str, int]) -> str:
    shown = [f"{tables[t]} {t}" for t in ("cases", "transition_records", "users") if t in tables]
    return ", ".join(shown) or f"{sum(tables.values())} rows"


def _sqlite_restore(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` with the online backup API, which takes SQLite's
    locks and keeps ``target``'s write-ahead log consistent (no stale -wal is replayed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source)) as staged,
        closing(sqlite3.connect(target, timeout=30)) as live,
    ):
        staged.backup(live)


def _restore_documents(manifest: Manifest, staging: Path, storage: Path) -> tuple[int, int]:
    """Add the archive's documents to ``storage``: a file already there with the right
    content is kept, any other is written (to a temporary name, then renamed)."""
    written = present = 0
    for member in manifest.documents:
        relative = member.name.removeprefix("documents/")
        target = storage / relative
        if target.is_file() and _file_sha256(target) == member.sha256:
            present += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(dir=target.parent, prefix=".restore-")
        try:
            with os.fdopen(fd, "wb") as handle, (staging / member.name).open("rb") as source:
                shutil.copyfileobj(source, handle, CHUNK)
            os.replace(part, target)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
        written += 1
    return written, present


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def restored_counts(engine: Engine, manifest: Manifest) -> list[str]:
    """Tables whose row count differs from what the manifest recorded (empty: all match)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            raw: Any = connection.connection.dbapi_connection
            _revision, tables = _sqlite_contents(raw)
        else:
            schema = manifest.schema or "public"
            _revision, tables = _pg_contents(connection, schema)
    return [
        f"{name}: {tables.get(name)} rows, the backup had {count}"
        for name, count in sorted(manifest.tables.items())
        if tables.get(name) != count
    ]
