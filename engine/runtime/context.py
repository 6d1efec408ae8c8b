"""What every service shares: settings, database, sessions, machines, documents and the
caches of what never changes once stored (parsed definitions, definition versions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import NotFound
from engine.language import Definition, parse_definition
from engine.paperwork.render import Bounds
from engine.runtime.access import Actor, Grant
from engine.runtime.machines import MachineRegistry
from engine.runtime.transaction import DEFERRED, Transaction
from engine.settings import Settings
from engine.store.db import WRITE
from engine.store.documents import DocumentStore
from engine.store.models import DefinitionVersion, RoleGrant, User
from engine.text import Label

#: A user's active flag and grants in one statement (no grant: one row of NULLs).
_ACTOR = (
    select(User.active, RoleGrant.role, RoleGrant.region_code)
    .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
    .where(User.name == bindparam("name"))
    .order_by(RoleGrant.id)
)


@dataclass(frozen=True)
class PinnedVersion:
    """A stored definition version as cases pinned to it need it: a version never changes
    once stored (a new one is published instead), so this is read once per process."""

    id: int
    program: str
    version: int
    sha256: str
    definition: Definition


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    documents: DocumentStore
    machines: MachineRegistry = field(default_factory=MachineRegistry)
    _definitions: dict[int, Definition] = field(default_factory=dict)
    _pinned: dict[int, PinnedVersion] = field(default_factory=dict)

    @cached_property
    def paperwork_bounds(self) -> Bounds:
        """What rendering one generated document may spend (settings)."""
        return Bounds(
            seconds=float(self.settings.paperwork_seconds),
            memory_bytes=self.settings.paperwork_memory_mb * 1024 * 1024,
        )

    @cached_property
    def write_engine(self) -> Engine:
        """The engine whose connections start write transactions, set once rather than on
        every connection: ``BEGIN IMMEDIATE`` on SQLite, deferred on PostgreSQL (see
        :mod:`engine.runtime.transaction`)."""
        if self.engine.dialect.name == "postgresql":
            return self.engine.execution_options(**DEFERRED)
        return self.engine.execution_options(**WRITE)

    def definition(self, version: DefinitionVersion) -> Definition:
        """The parsed definition of a stored version (parsed once per process; its text
        passed the same parse when it was published)."""
        parsed = self._definitions.get(version.id)
        if parsed is None:
            source_name = version.source_name or version.program
            parsed = parse_definition(version.source, source_name, read_before=True)
            self._definitions[version.id] = parsed
        return parsed

    def pinned(self, reader: Session | Transaction, version_id: int) -> PinnedVersion:
        """The definition version ``version_id`` with its parsed definition (read and
        parsed once per process)."""
        pinned = self._pinned.get(version_id)
        if pinned is None:
            session = reader.session if isinstance(reader, Transaction) else reader
            version = session.get(DefinitionVersion, version_id)
            if version is None:
                raise NotFound(
                    Label(
                        id=f"tidak ada versi definisi {version_id}",
                        en=f"no definition version {version_id}",
                    )
                )
            pinned = PinnedVersion(
                id=version.id,
                program=version.program,
                version=version.version,
                sha256=version.sha256,
                definition=self.definition(version),
            )
            self._pinned[version_id] = pinned
        return pinned

    def actor(self, session: Session | Connection, name: str) -> Actor:
        """The active user ``name`` with their grants, read now (a grant taken away counts
        at once); :class:`NotFound` for an unknown or inactive user."""
        connection = session.connection() if isinstance(session, Session) else session
        return actor_of(name, connection.execute(_ACTOR, {"name": name}).all())


def actor_of(name: str, rows: Sequence[Any]) -> Actor:
    """The actor from rows with the user's ``active`` flag and each grant's ``role`` and
    ``region_code`` (outer-joined: NULLs for a user without grants, no rows or a NULL
    ``active`` for no such user)."""
    if not rows or not rows[0].active:
        raise NotFound(
            Label(id=f"tidak ada pengguna aktif '{name}'", en=f"no active user '{name}'")
        )
    return Actor(name, tuple(Grant(r.role, r.region_code) for r in rows if r.role is not None))
