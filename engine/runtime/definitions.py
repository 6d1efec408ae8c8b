"""Publishing and reading workflow definition versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.language import Definition, parse_definition, read_definition_text
from engine.runtime import signals
from engine.runtime.context import Context
from engine.runtime.definition_log import announce, append_event, event_json
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.models import DefinitionVersion, utcnow
from engine.text import Label


@dataclass(frozen=True)
class PublishResult:
    program: str
    version: int
    sha256: str
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "program": self.program,
            "version": self.version,
            "sha256": self.sha256,
            "created": self.created,
        }


def version_json(row: DefinitionVersion, definition: Definition | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "program": row.program,
        "version": row.version,
        "sha256": row.sha256,
        "status": row.status,
        "source_name": row.source_name,
        "published_at": format_time(row.published_at) if row.published_at else None,
        "published_by": row.published_by,
        "change_note": row.change_note,
    }
    if definition is not None:
        result["title"] = definition.title.to_json()
        result["states"] = [s.name for s in definition.states]
        result["triggers"] = sorted(definition.triggers())
    return result


def sha256_text(text: str) -> str:
    """The sha256 of a definition's text: what tells versions apart."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Definitions:
    def __init__(self, context: Context) -> None:
        self.context = context

    def publish(self, path: str | Path, actor: str, note: str | None = None) -> PublishResult:
        """Validate and publish the file as the program's newest version, unless its content
        is identical to the current published version (then nothing changes). Who may
        publish is not checked here: this is the installation's own deployment (the demo,
        `rukun workflow publish` without ``--as``); officers publish through the studio."""
        return self.publish_text(read_definition_text(path), str(path), actor, note)

    def publish_text(
        self, text: str, source_name: str, actor: str, note: str | None = None
    ) -> PublishResult:
        """Publish ``text`` in a transaction of its own (see :meth:`publish`)."""
        definition = parse_definition(text, source_name)
        with write_session(self.context.sessions) as session:
            result, event = self.publish_in(session, definition, text, source_name, actor, note)
        self.announce(result, actor, event)
        return result

    @staticmethod
    def announce(result: PublishResult, actor: str, event: dict[str, Any] | None) -> None:
        """The signals of a publication, sent after its commit (nothing if nothing changed)."""
        if not result.created:
            return
        signals.send(
            signals.definition_published,
            result.program,
            version=result.version,
            sha256=result.sha256,
            actor=actor,
        )
        if event is not None:
            announce(event)

    @staticmethod
    def publish_in(
        session: Session,
        definition: Definition,
        text: str,
        source_name: str,
        actor: str,
        note: str | None = None,
        draft_id: int | None = None,
    ) -> tuple[PublishResult, dict[str, Any] | None]:
        """Publish in the caller's transaction (the studio publishes a draft and marks it in
        one); returns the result and the log entry to :meth:`announce` after commit."""
        sha256 = sha256_text(text)
        program = definition.program
        current = session.scalar(
            select(DefinitionVersion)
            .where(DefinitionVersion.program == program)
            .where(DefinitionVersion.status == "published")
        )
        if current is not None and current.sha256 == sha256:
            return PublishResult(program, current.version, sha256, False), None
        last = session.scalar(
            select(func.max(DefinitionVersion.version)).where(DefinitionVersion.program == program)
        )
        if current is not None:
            current.status = "superseded"
            session.flush()
        row = DefinitionVersion(
            program=program,
            version=(last or 0) + 1,
            source=text,
            source_name=source_name,
            sha256=sha256,
            status="published",
            published_at=utcnow(),
            published_by=actor,
            change_note=note or None,
        )
        session.add(row)
        event = append_event(
            session,
            program,
            "published",
            actor,
            draft_id=draft_id,
            version=row.version,
            details={
                "sha256": sha256,
                "note": note or "",
                "superseded": current.version if current is not None else None,
            },
        )
        session.flush()
        return PublishResult(program, row.version, sha256, True), event_json(event)

    def list(self) -> list[dict[str, Any]]:
        with self.context.sessions() as session:
            rows = session.scalars(
                select(DefinitionVersion).order_by(
                    DefinitionVersion.program, DefinitionVersion.version
                )
            )
            return [version_json(row) for row in rows]

    def get(self, program: str, version: int | None = None) -> tuple[DefinitionVersion, Definition]:
        """A stored version (the published one when ``version`` is None) and its definition."""
        with self.context.sessions() as session:
            query = select(DefinitionVersion).where(DefinitionVersion.program == program)
            if version is None:
                query = query.where(DefinitionVersion.status == "published")
            else:
                query = query.where(DefinitionVersion.version == version)
            row = session.scalar(query)
            if row is None:
                which = f"version {version} of " if version is not None else "published "
                in_id = f"versi {version}" if version is not None else "yang diterbitkan"
                raise NotFound(
                    Label(
                        id=f"tidak ada program '{program}' {in_id}",
                        en=f"no {which}program '{program}'",
                    )
                )
            return row, self.context.definition(row)
