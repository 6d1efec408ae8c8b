"""The database schema as SQLAlchemy 2 typed declarative models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use timezone-aware UTC")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Region(Base):
    """An administrative unit (provinsi .. rt) or a registered community group."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), index=True, default=None
    )
    #: Codes from the widest ancestor down to this region, joined by "/": fast scope checks.
    path: Mapped[str] = mapped_column(String(800), index=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    #: How residents reach this region's office (opening hours, address, a phone number):
    #: what the call centre tells a caller whose case waits for that office.
    contact: Mapped[str | None] = mapped_column(String(500), default=None)

    parent: Mapped[Region | None] = relationship(remote_side=[code])

    @property
    def ancestor_codes(self) -> list[str]:
        return self.path.split("/")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Where notification e-mails go (None: the bell only).
    email: Mapped[str | None] = mapped_column(String(254), default=None)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleGrant(Base):
    """One role of a user, optionally limited to a region (and everything under it)."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", "region_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), default=None)

    user: Mapped[User] = relationship(back_populates="grants")


class DefinitionVersion(Base):
    """One version of a program's YAML definition: ``published`` (new cases start on it) or
    ``superseded`` (a newer one was published; cases started on it stay pinned to it)."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("program", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(400), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    published_by: Mapped[str | None] = mapped_column(String(100), default=None)
    #: Why this version was published (required when published from the studio).
    change_note: Mapped[str | None] = mapped_column(Text, default=None)


class DefinitionDraft(Base):
    """A definition being edited in the studio. ``revision`` counts saves: a save names the
    revision it was based on and is refused when someone saved in between."""

    __tablename__ = "definition_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    #: The version it was started from (None: uploaded or written from scratch).
    base_version: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    #: ``open``, ``published`` (became ``published_version``) or ``discarded``.
    status: Mapped[str] = mapped_column(String(16), default="open")
    published_version: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


class DraftRevision(Base):
    """Every saved text of a draft (append-only): what a refused save is shown as changed."""

    __tablename__ = "draft_revisions"
    __table_args__ = (UniqueConstraint("draft_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("definition_drafts.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    saved_by: Mapped[str] = mapped_column(String(100))


class DefinitionEvent(Base):
    """The append-only definitions log: drafts created and saved, versions published, cases
    migrated (the database refuses UPDATE and DELETE, as for history)."""

    __tablename__ = "definition_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    program: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    draft_id: Mapped[int | None] = mapped_column(Integer, default=None)
    version: Mapped[int | None] = mapped_column(Integer, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Case(Base):
    """One run of a program's workflow about one subject in one fiscal year."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_program_state", "program", "state"),
        Index("ix_cases_program_year", "program", "year"),
        # scope filters: prefix LIKE on PostgreSQL needs the pattern operator class
        Index(
            "ix_cases_region_path",
            "region_path",
            postgresql_ops={"region_path": "varchar_pattern_ops"},
        ),
        # the list sorted by last change, and the inbox (oldest change first) of a kota or
        # wider, walked in order: the inbox's columns let SQLite skip the cases it does not
        # want without reading their rows (every firing rewrites the entry anyway)
        Index(
            "ix_cases_updated_at",
            "updated_at",
            "id",
            "definition_version_id",
            "state",
            "due_at",
            "region_path",
        ),
        # the inbox of a kecamatan or narrower: the (definition version, state) pairs a role
        # may act on, each a seek on the scope's range of paths, overdue or not
        Index(
            "ix_cases_definition_version_state",
            "definition_version_id",
            "state",
            "region_path",
            "due_at",
            "updated_at",
            postgresql_ops={"region_path": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program: Mapped[str] = mapped_column(String(64))
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    subject_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    #: The subject region's path, copied at start so scope filters need no join.
    region_path: Mapped[str] = mapped_column(String(800))
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state_entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    #: When `rukun tick` recorded that the current state's deadline passed (None: not yet).
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: The hash of the case's last history record: the next one links to it. Every record
    #: bumps ``version``, so the last record's sequence number is ``version``.
    head_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    definition_version: Mapped[DefinitionVersion] = relationship(lazy="joined")
    subject: Mapped[Region] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own attribute)


class TransitionRecord(Base):
    """One entry of a case's append-only, hash-chained history."""

    __tablename__ = "transition_records"
    #: The unique (case_id, seq) index also serves every lookup by case (migration 0010).
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    dest: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    program: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int] = mapped_column(Integer)
    definition_sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    guards: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    documents: Mapped[dict[str, str]] = mapped_column(JSONType)
    #: Which fields the hash covers (:mod:`engine.store.chain`): 1 for records written before
    #: the ledger, links and case facts were covered, 2 since.
    rule: Mapped[int] = mapped_column(Integer, default=2)
    #: What the record did besides moving the state (rule 2): ledger entries posted, links
    #: set, the new deadline, and for a start the subject, year and region path.
    effects: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Document(Base):
    """A stored file, addressed by the sha256 of its content."""

    __tablename__ = "documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))


class LedgerEntry(Base):
    """One append-only money movement of a case: a budget (RAB) line, the approved amount,
    a disbursed tranche, an LPJ (spending report) or the decision on it."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    #: The history record (sequence number) of the firing that posted it.
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    tranche: Mapped[int | None] = mapped_column(Integer, default=None)
    description: Mapped[str] = mapped_column(String(400), default="")
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    date: Mapped[str | None] = mapped_column(String(10), default=None)
    document_sha256: Mapped[str | None] = mapped_column(String(64), default=None)


class CaseLink(Base):
    """A case's `cases` field pointing at another case (e.g. a downstream RT Mandiri group
    processing an upstream group's products); kept current, the history keeps the past."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "field", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    link: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)


class GrantEvent(Base):
    """The append-only log of role grants given and taken and of users (de)activated: what
    replay reads to tell whether an actor held a role, in scope, when they acted."""

    __tablename__ = "grant_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    #: ``granted``, ``revoked``, ``deactivated`` or ``activated``.
    change: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(64), default=None)
    region_code: Mapped[str | None] = mapped_column(String(64), default=None)
    by: Mapped[str | None] = mapped_column(String(100), default=None)


class ChainAnchor(Base):
    """A digest (Merkle root) over every case's chain head at one moment; published outside
    the database, it proves later that none of the records it covers was changed or cut."""

    __tablename__ = "chain_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    cases: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(BigInteger)


class AnchorHead(Base):
    """One leaf of an anchor: a case's last record (sequence number and hash) when taken."""

    __tablename__ = "anchor_heads"
    __table_args__ = (UniqueConstraint("anchor_id", "case_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("chain_anchors.id"), index=True)
    case_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class SignInAttempt(Base):
    """One attempt to sign in to the UI (appended by the app, never changed): what the
    throttle counts and what an admin reads to see who tried which name from where."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_user_name_at", "user_name", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The name as typed (cut to 150 characters): unknown names are logged too.
    user_name: Mapped[str] = mapped_column(String(150))
    #: The client's address as the app sees it (behind a proxy: as the proxy reports it).
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    #: ``ok``, ``failed`` or ``throttled`` (refused unchecked: too many failures).
    outcome: Mapped[str] = mapped_column(String(16))
    user_agent: Mapped[str | None] = mapped_column(String(200), default=None)


class ApiToken(Base):
    """A token an app signs in to the API with, in its user's name (``Authorization:
    Bearer``). Only the sha256 of the secret is kept: the secret is shown once, when the
    token is made. A token is never deleted: revoking it records when and by whom."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: What the token is for, as its user named it ("Smart Probebaya app").
    name: Mapped[str] = mapped_column(String(100))
    #: The secret's sha256, hex: what a request's token is looked up by.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: The secret's first characters, shown in lists so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    #: When a request last used it (written at most once a minute).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)

    user: Mapped[User] = relationship()


class IdempotentRequest(Base):
    """The first answer to a request an API client sent with an ``Idempotency-Key``: a
    retry with the same key (by the same user, within a day) gets this answer back
    instead of firing again. Written in the firing's own transaction, so a firing and its
    key are committed together or not at all."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The user the request acted as (keys are theirs alone).
    actor: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    #: sha256 of what was asked (case, trigger, values, files, expected version): the same
    #: key with another request is refused, not answered with this one's result.
    fingerprint: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


#: A history record's id as other tables refer to it.
RecordId = BigInteger().with_variant(Integer, "sqlite")


class OutboxState(Base):
    """Where the outbox's fan-out stands (one row): every history record up to ``floor``
    has been handed out (webhooks, notifications), or predates the outbox."""

    __tablename__ = "outbox_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    floor: Mapped[int] = mapped_column(RecordId, default=0)


class DispatchedEvent(Base):
    """A history record the outbox has handed out: inserting this row is how one
    ``rukun outbox deliver`` process claims a record, so each is handed out once however
    many run at once. Events are the history records themselves, written in the same
    transaction as the change they record."""

    __tablename__ = "dispatched_events"

    record_id: Mapped[int] = mapped_column(
        RecordId, ForeignKey("transition_records.id"), primary_key=True
    )
    dispatched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Webhook(Base):
    """A URL that receives each event (of one program, or of all), signed with its
    secret: ``X-Rukun-Signature: sha256=<HMAC-SHA256 of the body>``."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: Kept as given: the server must compute the HMAC with it.
    secret: Mapped[str] = mapped_column(String(200))
    program: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebhookDelivery(Base):
    """One event to send to one webhook: retried with backoff until the receiver answers
    2xx or the attempts run out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "record_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    record_id: Mapped[int] = mapped_column(RecordId, ForeignKey("transition_records.id"))
    #: What receivers deduplicate on: ``<case id>.<seq>``, the same for every attempt.
    event_id: Mapped[str] = mapped_column(String(40))
    #: ``pending``, ``delivered`` or ``failed`` (attempts exhausted).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: A sender holds the delivery until then (another may take it over afterwards).
    leased_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(Base):
    """Something one user is told (on the bell, and by e-mail if they chose it): written
    for a history record as the outbox hands it out, or by ``rukun tick`` when a deadline
    is near. At most one per user and event, so handing an event out again adds nothing."""

    __tablename__ = "notifications"
    __table_args__ = (
        # one per event and user; its index also finds an event's notifications
        UniqueConstraint("event_id", "user_id"),
        # the bell's count: a user's unread rows
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        # the e-mails due to be sent
        Index("ix_notifications_email_due", "email_status", "email_next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The outbox event's id (``<case id>.<seq>``), or ``<case id>.due.<state entered>``.
    event_id: Mapped[str] = mapped_column(String(64))
    #: ``waiting``, ``returned``, ``escalated`` or ``due_soon``.
    kind: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    title_id: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    body_id: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    #: Shown on the bell (False: the user wanted this kind by e-mail only).
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: ``none`` (no e-mail wanted or possible), ``pending``, ``sent`` or ``failed``.
    email_status: Mapped[str] = mapped_column(String(16), default="none")
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_next_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: A sender holds the e-mail until then (another may take it over afterwards).
    email_leased_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    email_error: Mapped[str | None] = mapped_column(String(500), default=None)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class NotificationPreference(Base):
    """A user's choice of channels for one kind of notification (no row: the defaults)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    in_app: Mapped[bool] = mapped_column(Boolean)
    email: Mapped[bool] = mapped_column(Boolean)
