"""Content-addressed document storage: files live under ``<storage>/ab/abcdef...`` by sha256."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import puremagic

from engine.errors import InvalidData

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


class DocumentStore:
    """Stores files once per content; checks size and media type before accepting them."""

    def __init__(self, root: Path, max_bytes: int, allowed_types: tuple[str, ...]) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.allowed_types = allowed_types

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put_file(self, path: Path, filename: str | None = None) -> StoredFile:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidData(f"cannot read {path}: {exc.strerror}") from exc
        if size > self.max_bytes:
            raise InvalidData(f"{path.name} is {size} bytes; the limit is {self.max_bytes} bytes")
        return self.put_bytes(path.read_bytes(), filename or path.name)

    def put_bytes(self, content: bytes, filename: str) -> StoredFile:
        if len(content) > self.max_bytes:
            raise InvalidData(
                f"{filename} is {len(content)} bytes; the limit is {self.max_bytes} bytes"
            )
        if not content:
            raise InvalidData(f"{filename} is empty")
        media_type = self.media_type(content, filename)
        if media_type not in self.allowed_types:
            raise InvalidData(
                f"{filename}: file type {media_type} is not accepted "
                f"(accepted: PDF, images, office documents, plain text)"
            )
        sha256 = hashlib.sha256(content).hexdigest()
        target = self.path_for(sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredFile(sha256, len(content), media_type, Path(filename).name)

    @staticmethod
    def media_type(content: bytes, filename: str) -> str:
        """The type from the content's magic bytes, else from the file name."""
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
