"""The service layer: every change of a case goes through here (CLI, admin, bulk, API)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from engine.runtime.cases import Cases
from engine.runtime.context import Context
from engine.runtime.definitions import Definitions
from engine.runtime.documents import Documents
from engine.runtime.regions import Regions
from engine.runtime.reports import Reports
from engine.runtime.sign_in import SignIn
from engine.runtime.sign_in_log import SignInLog
from engine.runtime.users import Users
from engine.settings import Settings
from engine.store.db import check_current, make_engine, make_sessionmaker, upgrade
from engine.store.documents import DocumentStore

if TYPE_CHECKING:
    from engine.audit.service import Audit
    from engine.studio.service import Studio


class Rukun:
    """The engine, wired to one database and one document store."""

    def __init__(self, settings: Settings | None = None, engine: Engine | None = None) -> None:
        settings = settings or Settings.from_env()
        engine = engine or make_engine(settings.database_url)
        self.context = Context(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            documents=DocumentStore(
                settings.storage_dir, settings.max_document_bytes, settings.document_types
            ),
        )
        self.definitions = Definitions(self.context)
        self.regions = Regions(self.context)
        self.users = Users(self.context)
        self.sign_in = SignIn(self.context, self.users)
        self.sign_in_log = SignInLog(self.context)
        self.cases = Cases(self.context)
        self.documents = Documents(self.context)
        self.reports = Reports(self.context)

    @cached_property
    def studio(self) -> Studio:
        """Definitions as program officers edit them (built on first use: the studio's
        modules import the runtime's)."""
        from engine.studio.service import Studio

        return Studio(self.context, self.definitions)

    @cached_property
    def audit(self) -> Audit:
        """Replay, verification and anchors for auditors (built on first use)."""
        from engine.audit.service import Audit

        return Audit(self.context)

    @property
    def engine(self) -> Engine:
        return self.context.engine

    def upgrade(self) -> None:
        """Bring the database schema to the newest migration."""
        upgrade(self.engine)

    def check_schema(self) -> None:
        check_current(self.engine)

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["Rukun"]
