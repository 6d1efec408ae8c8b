"""Sending a stored document to a reader the caller has already checked may see it."""

from __future__ import annotations

from typing import Any

from flask import abort, send_file

from admin.auth import engine


def send_document(
    sha256: str, filename: str | None, media_type: str | None, attachment: bool
) -> Any:
    """The file stored under ``sha256`` (404 if it is not in storage) named ``filename``."""
    path = engine().context.documents.path_for(sha256)
    if not path.is_file():
        abort(404)
    return send_file(
        path, mimetype=media_type, download_name=filename or sha256, as_attachment=attachment
    )
