"""`rukun db backup` and `rukun db restore` on every configured database: a backup restored
into a fresh database and document store passes the full history verification and holds
the same cases and histories; a damaged, tampered or hostile archive (path traversal,
links, members the manifest does not list) is refused and changes nothing; a database
that holds data is not overwritten without --force."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from engine.runtime import Rukun
from engine.settings import Settings
from engine.store.db import alembic_config
from tests.builders import PROBEBAYA_PATH, Scenario
from tests.conftest import POSTGRES_URL, as_owner, only_on
from tests.integration.test_cli import Cli


@dataclass
class Target:
    """Where a restore goes: a database nobody has used yet and an empty document store."""

    env: dict[str, str]

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    @property
    def storage(self) -> Path:
        return Path(self.env["RUKUN_STORAGE"])

    def files(self) -> list[Path]:
        return (
            sorted(p for p in self.storage.rglob("*") if p.is_file())
            if self.storage.exists()
            else []
        )


@pytest.fixture
def owner_env(owner_url: str, env: dict[str, str]) -> dict[str, str]:
    """The installation's environment as its operator has it: backups run as the owner."""
    return {**env, "RUKUN_DATABASE_URL": owner_url}


@pytest.fixture
def target(owner_url: str, tmp_path: Path, worker_id: str) -> Iterator[Target]:
    """A fresh restore target: a new SQLite file, or a new PostgreSQL database (made by the
    owner role, which may create databases) whose search_path names the test's schema."""
    storage = str(tmp_path / "restored" / "storage")
    if owner_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'restored' / 'rukun.sqlite'}"
        yield Target({"RUKUN_DATABASE_URL": url, "RUKUN_STORAGE": storage})
        return
    assert POSTGRES_URL is not None
    name = f"{make_url(POSTGRES_URL).database}_restore_{worker_id}"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    as_owner(drop, f'CREATE DATABASE "{name}"')
    url = make_url(owner_url).set(database=name).render_as_string(hide_password=False)
    yield Target({"RUKUN_DATABASE_URL": url, "RUKUN_STORAGE": storage})
    as_owner(drop)


@pytest.fixture
def cases(scenario: Scenario) -> list[int]:
    """Cases with history, documents (one replaced by a later step), money and an anchor."""
    ids = [
        scenario.probebaya_case("fully_disbursed")["id"],
        scenario.probebaya_case("submitted")["id"],
        scenario.probebaya_case("draft")["id"],
    ]
    scenario.app.audit.anchor("system")
    return ids


def backup(env: dict[str, str], path: Path) -> Path:
    made = Cli(env).json("db", "backup", str(path))
    return Path(made["archive"])


def snapshot(app: Rukun) -> dict[str, Any]:
    """Everything a reader sees of the installation: cases, their histories, users."""
    return {
        "cases": {c["id"]: app.cases.show(c["id"]) for c in app.cases.list(limit=1000)},
        "history": {c["id"]: app.cases.history(c["id"]) for c in app.cases.list(limit=1000)},
        "users": app.users.list(),
        "anchors": app.audit.anchors(10),
    }


def test_a_restored_backup_verifies_and_holds_the_same_cases_and_histories(
    scenario: Scenario, cases: list[int], owner_env: dict[str, str], target: Target, tmp_path: Path
) -> None:
    archive = backup(owner_env, tmp_path)
    assert archive.parent == tmp_path and archive.name.startswith("rukun-backup-")
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # it holds personal data

    restored = Cli(target.env).json("db", "restore", str(archive))

    verification = restored["verification"]
    assert verification["problems"] == []
    assert verification["summary"]["intact"] is True
    assert verification["summary"]["cases"] == len(cases)
    assert verification["summary"]["documents"] == restored["documents_written"] > 0
    again = Cli(target.env)("audit", "verify")  # the auditors' own command agrees
    assert "intact" in again.stdout
    copy = Rukun(target.settings)
    try:
        assert snapshot(copy) == snapshot(scenario.app)
    finally:
        copy.close()


@only_on("postgresql")
def test_a_restored_postgresql_database_serves_the_app_role(
    scenario: Scenario, cases: list[int], owner_env: dict[str, str], target: Target, tmp_path: Path
) -> None:
    app_url = make_url(scenario.app.context.settings.database_url)
    archive = backup(owner_env, tmp_path / "rukun.tar.gz")
    Cli(target.env)("db", "restore", str(archive), "--app-role", app_url.username or "")
    as_app = {
        **target.env,
        "RUKUN_DATABASE_URL": make_url(target.env["RUKUN_DATABASE_URL"])
        .set(username=app_url.username, password=app_url.password)
        .render_as_string(hide_password=False),
    }
    assert Cli(as_app).json("case", "show", str(cases[0]))["state"] == "fully_disbursed"


@only_on("sqlite")
def test_a_backup_taken_while_a_case_is_fired_is_one_consistent_moment(
    scenario: Scenario, owner_env: dict[str, str], target: Target, tmp_path: Path
) -> None:
    """SQLite's online backup copies one snapshot: a firing commits wholly before or
    after it, so the restored history verifies whatever the timing."""
    case = scenario.start()["id"]
    fired = threading.Event()
    done = threading.Event()
    failures: list[BaseException] = []

    def fire_along_the_happy_path() -> None:
        try:
            for trigger, role, values, documents in PROBEBAYA_PATH[:8]:
                scenario.fire(case, trigger, role, values, documents)
                fired.set()
        except BaseException as error:  # reported by the test thread
            failures.append(error)
        finally:
            fired.set()
            done.set()

    writer = threading.Thread(target=fire_along_the_happy_path)
    writer.start()
    fired.wait(60)
    archive = backup(owner_env, tmp_path)
    writer.join(120)
    assert not failures and done.is_set()

    restored = Cli(target.env).json("db", "restore", str(archive))
    assert restored["verification"]["problems"] == []
    copy = Rukun(target.settings)
    try:
        version = copy.cases.show(case)["version"]
        assert 2 <= version <= 9
        assert copy.cases.history(case) == scenario.app.cases.history(case)[:version]
    finally:
        copy.close()


def test_restoring_onto_a_database_that_holds_data_is_refused_without_force(
    scenario: Scenario, cases: list[int], owner_env: dict[str, str], tmp_path: Path
) -> None:
    archive = backup(owner_env, tmp_path / "rukun.tar.gz")
    scenario.probebaya_case("submitted")  # written after the backup: must survive a refusal
    before = snapshot(scenario.app)

    refused = Cli(owner_env)("db", "restore", str(archive), code=4)

    assert "holds data" in refused.stderr or "already has tables" in refused.stderr
    assert snapshot(scenario.app) == before
    if owner_env["RUKUN_DATABASE_URL"].startswith("postgresql"):  # never replaced in place
        assert (
            "--force does not replace"
            in Cli(owner_env)("db", "restore", str(archive), "--force", code=4).stderr
        )
        return
    replaced = Cli(owner_env).json("db", "restore", str(archive), "--force")
    assert replaced["verification"]["summary"]["intact"] is True
    kept = Path(replaced["kept"])
    assert kept.is_file() and kept.name.startswith("rukun.sqlite.before-restore-")
    assert len(scenario.app.cases.list(limit=1000)) == len(before["cases"]) - 1
    old = Rukun(Settings.from_env({**owner_env, "RUKUN_DATABASE_URL": f"sqlite:///{kept}"}))
    try:
        assert snapshot(old) == before  # what --force replaced is all still there
    finally:
        old.close()


def test_a_backup_never_overwrites_a_file(
    scenario: Scenario, owner_env: dict[str, str], tmp_path: Path
) -> None:
    existing = tmp_path / "rukun.tar.gz"
    existing.write_bytes(b"yesterday's backup")
    result = Cli(owner_env)("db", "backup", str(existing), code=4)
    assert "already exists" in result.stderr
    assert existing.read_bytes() == b"yesterday's backup"
    assert not list(tmp_path.glob(".rukun*")) and not list(tmp_path.glob(".*.part"))


@only_on("postgresql")
def test_without_pg_dump_the_backup_fails_and_prints_the_recipe(
    scenario: Scenario, owner_env: dict[str, str], tmp_path: Path
) -> None:
    result = Cli({**owner_env, "PATH": str(tmp_path / "nothing")})(
        "db", "backup", str(tmp_path / "rukun.tar.gz"), code=1
    )
    assert "pg_dump is not on PATH" in result.stderr
    assert "pg_dump --format=custom" in result.stderr
    assert not (tmp_path / "rukun.tar.gz").exists()


# ------------------------------------------------------------------ hostile archives


def members(archive: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(archive) as tar:
        return [(info, tar.extractfile(info).read()) for info in tar]  # type: ignore[union-attr]


def rewrite(
    archive: Path,
    out: Path,
    change: Callable[[list[tuple[tarfile.TarInfo, bytes]]], list[tuple[tarfile.TarInfo, bytes]]],
) -> Path:
    """A copy of ``archive`` with its members changed by ``change``."""
    with tarfile.open(out, "w:gz") as tar:
        for info, content in change(members(archive)):
            info.size = len(content) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(content) if info.isreg() else None)
    return out


def _document(items: list[tuple[tarfile.TarInfo, bytes]]) -> int:
    return next(i for i, (info, _) in enumerate(items) if info.name.startswith("documents/"))


def _with(name: str, content: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = "") -> Any:
    def change(items: list[tuple[tarfile.TarInfo, bytes]]) -> list[tuple[tarfile.TarInfo, bytes]]:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        return [(info, content), *items]

    return change


def _replaced_document(items: list[tuple[tarfile.TarInfo, bytes]]) -> Any:
    index = _document(items)
    info, content = items[index]
    return [*items[:index], (info, content + b"% tampered"), *items[index + 1 :]]


def _missing_document(items: list[tuple[tarfile.TarInfo, bytes]]) -> Any:
    index = _document(items)
    return items[:index] + items[index + 1 :]


def _manifest(edit: Callable[[dict[str, Any]], None]) -> Any:
    def change(items: list[tuple[tarfile.TarInfo, bytes]]) -> list[tuple[tarfile.TarInfo, bytes]]:
        changed = []
        for info, content in items:
            if info.name == "manifest.json":
                raw = json.loads(content)
                edit(raw)
                content = json.dumps(raw).encode()
            changed.append((info, content))
        return changed

    return change


def _version(raw: dict[str, Any]) -> None:
    raw["format_version"] = 99


def _future_schema(raw: dict[str, Any]) -> None:
    raw["database"]["alembic_revision"] = "9999"


def _listed_traversal(raw: dict[str, Any]) -> None:
    raw["members"]["../../etc/x"] = {"sha256": "0" * 64, "size": 1}


Attack = Callable[[Path, Path], Path]
#: Each attack on a good archive, and what the refusal says.
ATTACKS: dict[str, tuple[Attack, str]] = {
    "truncated": (lambda a, out: _cut(a, out), "is damaged or truncated"),
    "flipped byte": (lambda a, out: _flip(a, out), "is damaged or truncated"),
    "not an archive": (
        lambda a, out: _write(out, b"%PDF-1.4 not a backup"),
        "is not a Rukun backup archive",
    ),
    "gzip of garbage": (
        lambda a, out: _write(out, gzip.compress(b"garbage" * 1000)),
        "is not a Rukun backup archive",
    ),
    "document changed": (
        lambda a, out: rewrite(a, out, _replaced_document),
        "does not match the manifest",
    ),
    "document missing": (
        lambda a, out: rewrite(a, out, _missing_document),
        "listed in the manifest but missing",
    ),
    "unlisted member": (
        lambda a, out: rewrite(a, out, _with("documents/ab/ab" + "0" * 62)),
        "in the archive but not in the manifest",
    ),
    "parent traversal": (
        lambda a, out: rewrite(a, out, _with("../../etc/x")),
        "holds '../../etc/x', which a Rukun backup never has",
    ),
    "absolute path": (
        lambda a, out: rewrite(a, out, _with("/etc/x")),
        "holds '/etc/x', which a Rukun backup never has",
    ),
    "dotted document": (
        lambda a, out: rewrite(a, out, _with("documents/../../x")),
        "which a Rukun backup never has",
    ),
    "symlink": (
        lambda a, out: rewrite(
            a, out, _with("documents/ab/ab" + "1" * 62, b"", tarfile.SYMTYPE, "/etc/passwd")
        ),
        "is not a regular file",
    ),
    "hard link": (
        lambda a, out: rewrite(
            a, out, _with("database.pgdump", b"", tarfile.LNKTYPE, "/etc/passwd")
        ),
        "is not a regular file",
    ),
    "directory": (
        lambda a, out: rewrite(a, out, _with("documents", b"", tarfile.DIRTYPE)),
        "which a Rukun backup never has",
    ),
    "device": (
        lambda a, out: rewrite(a, out, _with("documents/ab/ab" + "2" * 62, b"", tarfile.CHRTYPE)),
        "is not a regular file",
    ),
    "manifest format": (
        lambda a, out: rewrite(a, out, _manifest(_version)),
        "backup format version 99 is not one this Rukun reads",
    ),
    "newer schema": (
        lambda a, out: rewrite(a, out, _manifest(_future_schema)),
        "schema revision 9999 is newer than this Rukun knows",
    ),
    "manifest lists a traversal": (
        lambda a, out: rewrite(a, out, _manifest(_listed_traversal)),
        "lists a member '../../etc/x' this format never has",
    ),
    "no manifest": (
        lambda a, out: rewrite(
            a, out, lambda items: [m for m in items if m[0].name != "manifest.json"]
        ),
        "it holds no manifest.json",
    ),
}


def _write(out: Path, content: bytes) -> Path:
    out.write_bytes(content)
    return out


def _cut(archive: Path, out: Path) -> Path:
    return _write(out, archive.read_bytes()[: archive.stat().st_size // 2])


def _flip(archive: Path, out: Path) -> Path:
    content = bytearray(archive.read_bytes())
    content[len(content) // 2] ^= 0xFF
    return _write(out, bytes(content))


@pytest.fixture
def sqlite_backup(scenario: Scenario, env: dict[str, str], tmp_path: Path) -> Path:
    scenario.probebaya_case("submitted")
    return backup(env, tmp_path / "good.tar.gz")


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@only_on("sqlite")  # the archive's checks come before any database is touched
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_damaged_or_hostile_archive_is_refused_and_changes_nothing(
    sqlite_backup: Path, target: Target, tmp_path: Path, attack: str
) -> None:
    build, refusal = ATTACKS[attack]
    hostile = build(sqlite_backup, tmp_path / "hostile.tar.gz")
    target.storage.mkdir(parents=True)
    before = tree(tmp_path)

    result = Cli(target.env)("db", "restore", str(hostile), code=1)

    assert result.stderr.startswith("error: ") and refusal in result.stderr, result.stderr
    assert tree(tmp_path) == before  # no database, no document, no staging left behind
    assert not (tmp_path.parent / "etc").exists() and not Path("/etc/x").exists()


def test_a_tampered_archive_leaves_the_target_database_untouched(
    scenario: Scenario, cases: list[int], owner_env: dict[str, str], target: Target, tmp_path: Path
) -> None:
    """The same on PostgreSQL: the sha256 check comes before the database is touched."""
    archive = backup(owner_env, tmp_path / "good.tar.gz")
    hostile = rewrite(archive, tmp_path / "hostile.tar.gz", _replaced_document)
    result = Cli(target.env)("db", "restore", str(hostile), code=1)
    assert "does not match the manifest" in result.stderr
    assert target.files() == []
    assert Cli(target.env)("case", "list", code=1).stderr.startswith("error: database")
    # and the untouched target still takes the good archive
    assert Cli(target.env).json("db", "restore", str(archive))["verification"]["problems"] == []


def test_the_manifest_names_revision_counts_and_each_file_sha256(
    scenario: Scenario, cases: list[int], owner_env: dict[str, str], tmp_path: Path
) -> None:
    archive = backup(owner_env, tmp_path / "rukun.tar.gz")
    content = dict((info.name, data) for info, data in members(archive))
    manifest = json.loads(content.pop("manifest.json"))
    assert manifest["format"] == "rukun-backup" and manifest["format_version"] == 1
    database = manifest["database"]
    assert database["tables"]["cases"] == len(cases)
    assert database["tables"]["transition_records"] == sum(
        len(scenario.app.cases.history(case)) for case in cases
    )
    assert set(manifest["members"]) == set(content)
    for name, data in content.items():
        assert manifest["members"][name]["sha256"] == hashlib.sha256(data).hexdigest()
        if name.startswith("documents/"):
            assert name.rsplit("/", 1)[1] == hashlib.sha256(data).hexdigest()
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert database["alembic_revision"] == head


@only_on("sqlite")
def test_restoring_onto_a_file_that_is_no_database_is_refused_and_keeps_it(
    sqlite_backup: Path, target: Target
) -> None:
    database = Path(target.settings.database_url.removeprefix("sqlite:///"))
    database.parent.mkdir(parents=True)
    database.write_bytes(b"someone's notes")
    result = Cli(target.env)("db", "restore", str(sqlite_backup), "--force", code=4)
    assert "is not a SQLite database" in result.stderr
    assert database.read_bytes() == b"someone's notes"
    assert target.files() == []
