"""The backup archive (``rukun db backup``): one gzip-compressed tar holding the database
copy, every document file and ``manifest.json`` with the sha256 of each of them.

Reading an archive trusts nothing in it: a member is only ever one of the names this
format writes (``manifest.json``, ``database.sqlite`` or ``database.pgdump``,
``documents/ab/ab…`` named by a sha256), a regular file, and listed in the manifest with
the sha256 its content has; anything else (``../`` or absolute names, links, devices,
unlisted or missing members, a truncated or damaged archive) refuses the whole archive.
Members are unpacked by name into a staging directory, never by ``extractall``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from engine.errors import InvalidData, RukunError

FORMAT = "rukun-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: The database copy's member name for each dialect.
DATABASE_MEMBERS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
DOCUMENT_MEMBER = re.compile(r"documents/([0-9a-f]{2})/(\1[0-9a-f]{62})")
#: A manifest is small (a line per document); a bigger one is not ours.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Member:
    """One file of the archive: its name there, its sha256 and size."""

    name: str
    sha256: str
    size: int


@dataclass
class Manifest:
    """What a backup holds and where it came from; written as ``manifest.json``."""

    created_at: str
    rukun_version: str
    dialect: str
    alembic_revision: str
    #: Rows per table of the database copy (``cases``, ``transition_records``, …).
    tables: dict[str, int]
    #: PostgreSQL: the schema the tables live in (``public`` unless the URL says otherwise).
    schema: str | None = None
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def database_member(self) -> str:
        return DATABASE_MEMBERS[self.dialect]

    @property
    def documents(self) -> list[Member]:
        return [m for name, m in sorted(self.members.items()) if name.startswith("documents/")]

    def to_json(self) -> dict[str, Any]:
        documents = self.documents
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "rukun_version": self.rukun_version,
            "database": {
                "dialect": self.dialect,
                "alembic_revision": self.alembic_revision,
                "schema": self.schema,
                "tables": self.tables,
            },
            "documents": {"count": len(documents), "bytes": sum(d.size for d in documents)},
            "members": {
                name: {"sha256": m.sha256, "size": m.size}
                for name, m in sorted(self.members.items())
            },
        }

    @classmethod
    def from_json(cls, raw: Any) -> Manifest:
        """The manifest in ``raw``; :class:`InvalidData` naming what is wrong with it."""
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise InvalidData("not a Rukun backup: manifest.json is not a rukun-backup manifest")
        if raw.get("format_version") != FORMAT_VERSION:
            raise InvalidData(
                f"backup format version {raw.get('format_version')!r} is not one this Rukun "
                f"reads ({FORMAT_VERSION}): restore it with the Rukun that wrote it"
            )
        try:
            database = raw["database"]
            tables = database["tables"]
            manifest = cls(
                created_at=_text(raw["created_at"]),
                rukun_version=_text(raw["rukun_version"]),
                dialect=_text(database["dialect"]),
                alembic_revision=_text(database["alembic_revision"]),
                tables={_text(k): _count(v) for k, v in tables.items()},
                schema=None if database.get("schema") is None else _text(database["schema"]),
            )
            for name, member in raw["members"].items():
                manifest.members[name] = Member(
                    _text(name), _sha256(member["sha256"]), _count(member["size"])
                )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InvalidData(f"backup manifest is malformed ({exc})") from exc
        if manifest.dialect not in DATABASE_MEMBERS:
            raise InvalidData(f"backup manifest names an unknown database {manifest.dialect!r}")
        expected = {manifest.database_member}
        for name in manifest.members:
            if name not in expected and not DOCUMENT_MEMBER.fullmatch(name):
                raise InvalidData(f"backup manifest lists a member {name!r} this format never has")
        if manifest.database_member not in manifest.members:
            raise InvalidData(f"backup manifest lists no {manifest.database_member}")
        return manifest


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def _sha256(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"{value!r} is not a sha256")
    return value


def utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- writing


class ArchiveWriter:
    """Adds files to the archive, hashing each as it is written."""

    def __init__(self, tar: tarfile.TarFile, mtime: float) -> None:
        self.tar = tar
        self.mtime = mtime
        self.members: dict[str, Member] = {}

    def add_file(self, name: str, path: Path) -> Member:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            reader = _HashingReader(handle)
            self.tar.addfile(self._info(name, size), reader)
        if reader.size != size:
            raise InvalidData(f"{path} changed while it was being backed up")
        member = Member(name, reader.digest.hexdigest(), size)
        self.members[name] = member
        return member

    def add_manifest(self, manifest: Manifest) -> None:
        content = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False).encode()
        reader = _HashingReader(_BytesReader(content))
        self.tar.addfile(self._info(MANIFEST, len(content)), reader)

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o600
        info.mtime = self.mtime
        return info


@contextmanager
def writing(path: Path, mtime: float) -> Iterator[ArchiveWriter]:
    """An archive that becomes ``path`` when the block succeeds (readable by its owner
    only: it holds personal data); a failed or interrupted backup leaves nothing."""
    part = path.with_name(f".{path.name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with (
            os.fdopen(fd, "wb") as handle,
            tarfile.open(fileobj=handle, mode="w:gz", format=tarfile.PAX_FORMAT) as tar,
        ):
            yield ArchiveWriter(tar, mtime)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


class _HashingReader:
    """A file-like reader that hashes and counts what is read through it."""

    def __init__(self, source: IO[bytes] | _BytesReader) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class _BytesReader:
    def __init__(self, content: bytes) -> None:
        self.content = content
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.content) if size < 0 else self.offset + size
        chunk = self.content[self.offset : end]
        self.offset += len(chunk)
        return chunk


# --------------------------------------------------------------------------- reading


def unpack(archive: Path, staging: Path) -> Manifest:
    """Unpack ``archive`` into the empty directory ``staging`` and return its manifest,
    after checking every member against it. :class:`InvalidData` (naming the problem) on
    anything unexpected; the caller removes ``staging`` then."""
    if not archive.is_file():
        raise InvalidData(f"no backup archive at {archive}")
    try:
        tar = tarfile.open(archive, mode="r:gz")  # noqa: SIM115 (closed below, or failed)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InvalidData(
            f"{archive} is not a Rukun backup archive (a gzip-compressed tar): {_one_line(exc)}"
        ) from exc
    try:
        with tar:
            found, manifest_bytes = _unpack_members(tar, staging)
            # tar stops at the first damaged header; the gzip checksum is checked only at
            # the end of the stream, so read on to it
            assert tar.fileobj is not None
            while tar.fileobj.read(CHUNK):
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InvalidData(
            f"backup archive {archive} is damaged or truncated: {_one_line(exc)}"
        ) from exc
    if manifest_bytes is None:
        raise InvalidData(f"{archive} is not a Rukun backup: it holds no {MANIFEST}")
    try:
        raw = json.loads(manifest_bytes)
    except ValueError as exc:
        raise InvalidData(f"backup manifest is not JSON ({exc})") from exc
    manifest = Manifest.from_json(raw)
    _compare(manifest, found)
    return manifest


def _unpack_members(tar: tarfile.TarFile, staging: Path) -> tuple[dict[str, Member], bytes | None]:
    """Every member but the manifest copied into ``staging``; and the manifest's bytes."""
    found: dict[str, Member] = {}
    manifest_bytes: bytes | None = None
    for info in tar:
        name = _checked_name(info)
        if name in found or (name == MANIFEST and manifest_bytes is not None):
            raise InvalidData(f"backup archive holds {name!r} twice: refused")
        source = tar.extractfile(info)
        assert source is not None  # a regular file (checked above)
        if name == MANIFEST:
            if info.size > MAX_MANIFEST_BYTES:
                raise InvalidData("backup manifest is implausibly large: refused")
            manifest_bytes = source.read()
        else:
            found[name] = _copy_out(source, staging / name, name, info.size)
    return found, manifest_bytes


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _checked_name(info: tarfile.TarInfo) -> str:
    """The member's name if it is one this format writes, as a regular file."""
    name = info.name
    known = name == MANIFEST or name in DATABASE_MEMBERS.values()
    if not known and not DOCUMENT_MEMBER.fullmatch(name):
        raise InvalidData(f"backup archive holds {name!r}, which a Rukun backup never has: refused")
    if not info.isreg():
        raise InvalidData(f"backup archive member {name!r} is not a regular file: refused")
    return name


def _copy_out(source: IO[bytes], target: Path, name: str, size: int) -> Member:
    digest = hashlib.sha256()
    written = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = target.open("xb")
    except OSError as exc:
        raise RukunError(f"cannot unpack the backup into {target.parent}: {exc}") from exc
    with handle:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            try:
                handle.write(chunk)
            except OSError as exc:
                raise RukunError(f"cannot unpack the backup into {target}: {exc}") from exc
            written += len(chunk)
    if written != size:
        raise InvalidData(f"backup archive member {name!r} is truncated")
    return Member(name, digest.hexdigest(), written)


def _compare(manifest: Manifest, found: dict[str, Member]) -> None:
    """Every member the manifest lists is there with its sha256, and nothing else is."""
    problems = []
    for name in sorted(set(manifest.members) - set(found)):
        problems.append(f"{name}: listed in the manifest but missing")
    for name in sorted(set(found) - set(manifest.members)):
        problems.append(f"{name}: in the archive but not in the manifest")
    for name in sorted(set(found) & set(manifest.members)):
        if found[name].sha256 != manifest.members[name].sha256:
            problems.append(f"{name}: sha256 {found[name].sha256} does not match the manifest")
    if problems:
        shown = problems[:10] + ([f"… and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise InvalidData(
            "backup archive does not match its manifest; nothing was restored:\n" + "\n".join(shown)
        )
