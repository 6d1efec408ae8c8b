"""Content-addressed document storage: files live under ``<storage>/ab/abcdef...`` by sha256."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InvalidData
from engine.text import Label

ZIP_CONTAINERS = ("application/vnd.openxmlformats", "application/vnd.oasis.opendocument")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    filename: str

    def to_json(self) -> dict[str, str | int]:
        return {
            "sha256": self.sha256,
            "filename": self.filename,
            "size": self.size,
            "media_type": self.media_type,
        }


@dataclass(frozen=True)
class Pending:
    """A checked file not yet stored: its record and its content."""

    file: StoredFile
    content: bytes = field(repr=False)


#: Names of files being written (a crash can leave one behind: ``rukun documents gc``).
TEMPORARY_PREFIX = ".upload-"
#: Names of files being removed by :meth:`DocumentStore.collect`.
TRASH_PREFIX = ".removing-"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Collected:
    """What :meth:`DocumentStore.collect` removed (or would remove) and kept."""

    removed: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)
    bytes: int = 0
    kept: int = 0
    recent: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "removed": self.removed,
            "temporary": self.temporary,
            "bytes": self.bytes,
            "kept": self.kept,
            "recent": self.recent,
        }


class DocumentStore:
    """Stores files once per content; checks size and media type before accepting them."""

    def __init__(self, root: Path, max_bytes: int, allowed_types: tuple[str, ...]) -> None:
        # absolute from the start: a relative RUKUN_STORAGE means the directory the process
        # started in, whatever a library later resolves relative paths against
        self.root = root.absolute()
        self.max_bytes = max_bytes
        self.allowed_types = allowed_types

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put_file(self, path: Path, filename: str | None = None) -> StoredFile:
        return self.write(self.check_file(path, filename))

    def put_bytes(self, content: bytes, filename: str) -> StoredFile:
        return self.write(self.check_bytes(content, filename))

    def check_file(self, path: Path, filename: str | None = None) -> Pending:
        """Read and check a file without storing it (see :meth:`check_bytes`)."""
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidData(
                Label(
                    id=f"{path} tidak dapat dibaca: {exc.strerror}",
                    en=f"cannot read {path}: {exc.strerror}",
                )
            ) from exc
        if size > self.max_bytes:
            raise self._too_large(path.name, size)
        return self.check_bytes(path.read_bytes(), filename or path.name)

    def check_bytes(self, content: bytes, filename: str) -> Pending:
        """Check size and media type and hash the content; nothing is written until
        :meth:`write` (a transition stores its documents only once nothing can refuse it)."""
        if len(content) > self.max_bytes:
            raise self._too_large(filename, len(content))
        if not content:
            raise InvalidData(Label(id=f"{filename} kosong", en=f"{filename} is empty"))
        media_type = self.media_type(content, filename)
        if media_type not in self.allowed_types:
            raise InvalidData(
                Label(
                    id=f"{filename}: jenis berkas {media_type} tidak diterima (yang diterima: "
                    "PDF, gambar, dokumen perkantoran, teks biasa)",
                    en=f"{filename}: file type {media_type} is not accepted "
                    f"(accepted: PDF, images, office documents, plain text)",
                )
            )
        sha256 = hashlib.sha256(content).hexdigest()
        return Pending(StoredFile(sha256, len(content), media_type, Path(filename).name), content)

    def _too_large(self, filename: str, size: int) -> InvalidData:
        return InvalidData(
            Label(
                id=f"{filename} berukuran {size} byte; batasnya {self.max_bytes} byte",
                en=f"{filename} is {size} bytes; the limit is {self.max_bytes} bytes",
            )
        )

    def write(self, pending: Pending) -> StoredFile:
        """Store a checked file under its hash: written in full under a temporary name,
        flushed to disk, then renamed into place. Written again even when the content is
        stored already, so that the file is fresh for :meth:`collect`'s grace period."""
        target = self.path_for(pending.file.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pending.content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return pending.file

    def collect(self, keep: Callable[[str], bool], older_than: float, dry_run: bool) -> Collected:
        """Remove stored documents that ``keep`` does not want and temporary files, of those
        last written before ``older_than`` (a POSIX time); files the store did not make are
        never touched. A file written while it is being removed is put back."""
        collected = Collected()
        for path in self.files():
            name = path.name
            if name.startswith(TRASH_PREFIX):  # left by a collection that was interrupted
                original = path.with_name(name.removeprefix(TRASH_PREFIX).rsplit("-", 1)[0])
                if keep(original.name) and not original.exists():
                    os.replace(path, original)
                    collected.kept += 1
                    continue
            temporary = name.startswith((TEMPORARY_PREFIX, TRASH_PREFIX))
            if not temporary and not (_SHA256.fullmatch(name) and path.parent.name == name[:2]):
                continue
            if not temporary and keep(name):
                collected.kept += 1
                continue
            stat = path.stat()
            if stat.st_mtime >= older_than:
                collected.recent += 1
                continue
            if not dry_run and not self._remove(path, older_than):
                collected.recent += 1
                continue
            (collected.temporary if temporary else collected.removed).append(name)
            collected.bytes += stat.st_size
        return collected

    @staticmethod
    def _remove(path: Path, older_than: float) -> bool:
        """Remove ``path`` unless it was written again meanwhile (then it stays)."""
        trash = path.with_name(f"{TRASH_PREFIX}{path.name}-{os.getpid()}")
        try:
            os.replace(path, trash)
        except FileNotFoundError:
            return False
        if trash.stat().st_mtime >= older_than:  # written between the check and the move
            if path.exists():
                trash.unlink()
            else:
                os.replace(trash, path)
            return False
        trash.unlink()
        return True

    def files(self) -> Iterator[Path]:
        """Every file under the store's root: stored documents and temporary ones."""
        if self.root.is_dir():
            for folder in sorted(self.root.iterdir()):
                if folder.is_dir() and not folder.is_symlink():
                    yield from sorted(p for p in folder.iterdir() if p.is_file())

    @staticmethod
    def media_type(content: bytes, filename: str) -> str:
        """The type from the content's magic bytes, else from the file name."""
        import puremagic  # only when storing: reading cases needs no magic (~5 ms to import)

        try:
            detected = puremagic.from_string(content, mime=True)
        except (puremagic.PureError, ValueError):
            detected = ""
        guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if not detected:
            return guessed
        if detected == "text/plain" and guessed.startswith("text/"):
            return guessed  # text/csv and friends have no magic of their own
        if detected == "application/zip" and guessed.startswith(ZIP_CONTAINERS):
            return guessed  # office documents are zip archives inside
        return detected
