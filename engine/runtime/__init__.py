"""The service layer: every change of a case goes through here (CLI, admin, bulk, API)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from engine.runtime.context import Context
from engine.settings import Settings
from engine.store.db import check_current, make_engine, make_sessionmaker, upgrade
from engine.store.documents import DocumentStore

if TYPE_CHECKING:
    from engine.audit.service import Audit
    from engine.runtime.call_centre import CallCentre
    from engine.runtime.cases import Cases
    from engine.runtime.definitions import Definitions
    from engine.runtime.documents import Documents
    from engine.runtime.notifications import Notifications
    from engine.runtime.outbox import Outbox
    from engine.runtime.paperwork import Paperwork
    from engine.runtime.public import Public
    from engine.runtime.regions import Regions
    from engine.runtime.reports import Reports
    from engine.runtime.sign_in import SignIn
    from engine.runtime.sign_in_log import SignInLog
    from engine.runtime.tokens import Tokens
    from engine.runtime.users import Users
    from engine.studio.service import Studio


class Rukun:
    """The engine, wired to one database and one document store.

    Each service is built, and its modules imported, on first use: a command that reads
    one case loads neither users and sign-in (Argon2) nor regions, documents or reports.
    """

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

    @cached_property
    def definitions(self) -> Definitions:
        """Publishing and reading definition versions."""
        from engine.runtime.definitions import Definitions

        return Definitions(self.context)

    @cached_property
    def regions(self) -> Regions:
        """The region tree: importing (CSV, official, demo) and listing."""
        from engine.runtime.regions import Regions

        return Regions(self.context)

    @cached_property
    def users(self) -> Users:
        """Users, their roles and region scopes."""
        from engine.runtime.users import Users

        return Users(self.context)

    @cached_property
    def sign_in(self) -> SignIn:
        """Signing in: the throttle, the password check and the sign-in log."""
        from engine.runtime.sign_in import SignIn

        return SignIn(self.context, self.users)

    @cached_property
    def sign_in_log(self) -> SignInLog:
        """Reading the sign-in log (admins only)."""
        from engine.runtime.sign_in_log import SignInLog

        return SignInLog(self.context)

    @cached_property
    def tokens(self) -> Tokens:
        """API tokens: made, listed, revoked, and checked for each API request."""
        from engine.runtime.tokens import Tokens

        return Tokens(self.context)

    @cached_property
    def outbox(self) -> Outbox:
        """The events handed out to webhooks and notifications (``rukun outbox``)."""
        from engine.runtime.outbox import Outbox

        notifications = self.notifications
        return Outbox(self.context, [notifications.on_event], notifications.send_emails)

    @cached_property
    def notifications(self) -> Notifications:
        """The bell of each user and notification e-mails: written from the outbox's events
        and near deadlines, read and marked by their user."""
        from engine.runtime.notifications import Notifications

        return Notifications(self.context)

    @cached_property
    def cases(self) -> Cases:
        """Starting, firing, escalating and reading cases."""
        from engine.runtime.cases import Cases

        return Cases(self.context)

    @cached_property
    def call_centre(self) -> CallCentre:
        """Finding a case for a caller and who must act on it next (read-only)."""
        from engine.runtime.call_centre import CallCentre

        return CallCentre(self.context, self.cases)

    @cached_property
    def documents(self) -> Documents:
        """Stored documents as a whole (removing those no case refers to)."""
        from engine.runtime.documents import Documents

        return Documents(self.context)

    @cached_property
    def paperwork(self) -> Paperwork:
        """Generated paperwork: a program's document templates and their previews."""
        from engine.runtime.paperwork import Paperwork

        return Paperwork(self.context)

    @cached_property
    def reports(self) -> Reports:
        """Program-level reports: money per region and year."""
        from engine.runtime.reports import Reports

        return Reports(self.context)

    @cached_property
    def public(self) -> Public:
        """What anyone may read without signing in: the public page for residents."""
        from engine.runtime.public import Public

        return Public(self.context)

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
