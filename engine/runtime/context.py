"""What every service shares: settings, database, sessions, machines, documents and the
cache of parsed definitions."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import NotFound
from engine.language import Definition, parse_definition
from engine.runtime.access import Actor, Grant
from engine.runtime.machines import MachineRegistry
from engine.settings import Settings
from engine.store.documents import DocumentStore
from engine.store.models import DefinitionVersion, User


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    documents: DocumentStore
    machines: MachineRegistry = field(default_factory=MachineRegistry)
    _definitions: dict[int, Definition] = field(default_factory=dict)

    def definition(self, version: DefinitionVersion) -> Definition:
        """The parsed definition of a stored version (parsed once per process)."""
        parsed = self._definitions.get(version.id)
        if parsed is None:
            parsed = parse_definition(version.source, version.source_name or version.program)
            self._definitions[version.id] = parsed
        return parsed

    def actor(self, session: Session, name: str) -> Actor:
        user = session.scalar(select(User).where(User.name == name))
        if user is None or not user.active:
            raise NotFound(f"no active user '{name}'")
        return Actor(user.name, tuple(Grant(g.role, g.region_code) for g in user.grants))
