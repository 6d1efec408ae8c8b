"""Configuration: one settings object read from ``RUKUN_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_FILE = "rukun.sqlite"

#: Media types accepted for documents unless ``RUKUN_DOCUMENT_TYPES`` says otherwise.
DEFAULT_DOCUMENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a Rukun installation.

    - ``RUKUN_DATABASE_URL``: SQLAlchemy URL; default ``sqlite:///rukun.sqlite`` in the
      working directory (WAL mode).
    - ``RUKUN_STORAGE``: directory for documents; default ``rukun-storage`` next to the
      SQLite file (or in the working directory for other databases).
    - ``RUKUN_MAX_DOCUMENT_BYTES``: largest accepted document; default 20 MiB.
    - ``RUKUN_DOCUMENT_TYPES``: comma-separated media types accepted for documents.
    """

    database_url: str
    storage_dir: Path
    max_document_bytes: int = 20 * 1024 * 1024
    document_types: tuple[str, ...] = field(default=DEFAULT_DOCUMENT_TYPES)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        url = env.get("RUKUN_DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_FILE}"
        storage = env.get("RUKUN_STORAGE")
        storage_dir = Path(storage) if storage else _default_storage(url)
        types = env.get("RUKUN_DOCUMENT_TYPES")
        return cls(
            database_url=url,
            storage_dir=storage_dir,
            max_document_bytes=int(env.get("RUKUN_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024)),
            document_types=(
                tuple(t.strip() for t in types.split(",") if t.strip())
                if types
                else DEFAULT_DOCUMENT_TYPES
            ),
        )


def _default_storage(url: str) -> Path:
    """Storage lives next to the SQLite file, or in the working directory otherwise."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and len(url) > len(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :]).parent / "rukun-storage"
    return Path("rukun-storage")
