"""Sending a stored document to a reader the caller has already checked may see it.

A document is whatever someone uploaded, so it is always a download, never a page: sent
as an attachment under a cleaned file name, with ``nosniff``, a sandboxing
Content-Security-Policy, and as ``application/octet-stream`` when its media type is one a
browser would run (HTML, SVG, XML, script).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import abort, send_file

from admin.auth import engine
from admin.security import DOCUMENT_POLICY

#: Media types a browser renders as an active page whatever the disposition says.
ACTIVE_TYPE = re.compile(r"(html|xml|svg|javascript|ecmascript|xsl)\b", re.IGNORECASE)
#: Characters that file systems refuse or that end a header value.
UNSAFE_CHARACTERS = frozenset("\"'<>:*?|;`")
MAX_NAME_LENGTH = 150


def send_document(sha256: str, filename: str | None, media_type: str | None) -> Any:
    """The file stored under ``sha256`` (404 if it is not in storage) as a download."""
    path = engine().context.documents.path_for(sha256)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=served_type(media_type),
        download_name=safe_filename(filename, sha256),
        as_attachment=True,
    )
    response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    return response


def served_type(media_type: str | None) -> str:
    """``media_type`` unless it is missing or a type browsers execute (text/html,
    image/svg+xml, application/xhtml+xml, text/xml, …): those go as opaque bytes."""
    essence = (media_type or "").split(";", 1)[0].strip().lower()
    subtype = essence.partition("/")[2]
    if not subtype or ACTIVE_TYPE.search(subtype):
        return "application/octet-stream"
    return essence


def safe_filename(name: str | None, fallback: str) -> str:
    """The last part of ``name`` without control characters, quotes or characters file
    systems refuse, leading dots or spaces, at most 150 characters keeping the extension;
    ``fallback`` if nothing is left."""
    base = re.split(r"[/\\]", name or "")[-1]
    kept = "".join(
        "_" if c in UNSAFE_CHARACTERS else c
        for c in unicodedata.normalize("NFC", base)
        if unicodedata.category(c)[0] != "C"
    )
    cleaned = " ".join(kept.split()).strip(". ")
    if len(cleaned) > MAX_NAME_LENGTH:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            cleaned = stem[: MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            cleaned = cleaned[:MAX_NAME_LENGTH]
    return cleaned or fallback
