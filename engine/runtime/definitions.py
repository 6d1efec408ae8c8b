"""Publishing and reading workflow definition versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.errors import DefinitionError, NotFound, Problem
from engine.language import Definition, parse_definition
from engine.runtime import signals
from engine.runtime.context import Context
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.models import DefinitionVersion, utcnow


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
    }
    if definition is not None:
        result["title"] = definition.title.to_json()
        result["states"] = [s.name for s in definition.states]
        result["triggers"] = sorted(definition.triggers())
    return result


class Definitions:
    def __init__(self, context: Context) -> None:
        self.context = context

    def publish(self, path: str | Path, actor: str) -> PublishResult:
        """Validate and publish the file as the program's newest version, unless its content
        is identical to the current published version (then nothing changes)."""
        source_name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DefinitionError([Problem(source_name, 1, 1, f"cannot read file: {exc}")]) from exc
        return self.publish_text(text, source_name, actor)

    def publish_text(self, text: str, source_name: str, actor: str) -> PublishResult:
        definition = parse_definition(text, source_name)
        sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with write_session(self.context.sessions) as session:
            current = session.scalar(
                select(DefinitionVersion)
                .where(DefinitionVersion.program == definition.program)
                .where(DefinitionVersion.status == "published")
            )
            if current is not None and current.sha256 == sha256:
                return PublishResult(definition.program, current.version, sha256, created=False)
            last = session.scalar(
                select(func.max(DefinitionVersion.version)).where(
                    DefinitionVersion.program == definition.program
                )
            )
            if current is not None:
                current.status = "retired"
                session.flush()
            row = DefinitionVersion(
                program=definition.program,
                version=(last or 0) + 1,
                source=text,
                source_name=source_name,
                sha256=sha256,
                status="published",
                published_at=utcnow(),
                published_by=actor,
            )
            session.add(row)
        result = PublishResult(definition.program, row.version, sha256, created=True)
        signals.send(
            signals.definition_published,
            definition.program,
            version=row.version,
            sha256=sha256,
            actor=actor,
        )
        return result

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
                which = f"version {version} of " if version is not None else "a published "
                raise NotFound(f"no {which}program '{program}'")
            return row, self.context.definition(row)
