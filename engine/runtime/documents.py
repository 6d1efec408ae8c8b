"""Stored documents as a whole: removing the files no case refers to (``rukun documents
gc``)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import select

from engine.runtime.context import Context
from engine.store.models import Document, TransitionRecord

#: A file written less than this long ago may belong to a transition still committing.
GRACE = dt.timedelta(hours=1)


class Documents:
    """What ``rukun.documents`` offers."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def referenced(self) -> set[str]:
        """The sha256 of every document a ``documents`` row or any history record names."""
        with self.context.sessions() as session:
            names = set(session.scalars(select(Document.sha256)))
            for documents in session.scalars(
                select(TransitionRecord.documents).execution_options(yield_per=1000)
            ):
                names.update(v for v in (documents or {}).values() if isinstance(v, str))
        return names

    def gc(
        self, grace: dt.timedelta = GRACE, dry_run: bool = False, now: float | None = None
    ) -> dict[str, Any]:
        """Remove the stored files no record names, and temporary files a crash left, of
        those written longer than ``grace`` ago; a file any history record names is never
        removed. ``dry_run`` only says what would go."""
        referenced = self.referenced()
        older_than = (time.time() if now is None else now) - grace.total_seconds()
        collected = self.context.documents.collect(referenced.__contains__, older_than, dry_run)
        return {"dry_run": dry_run, "grace_seconds": int(grace.total_seconds())} | (
            collected.to_json()
        )
