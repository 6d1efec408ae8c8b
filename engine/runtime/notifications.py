"""Notifications: the bell of each signed-in user and, for those who chose it, e-mail.

They are written as the outbox hands each history record out (:meth:`Notifications.on_event`,
in the transaction that claims it) and by ``rukun tick`` for deadlines that are near
(:meth:`Notifications.deadlines`); who is told what is
:mod:`engine.runtime.notification_rules`. E-mails are sent afterwards, outside any
transaction, by :meth:`Notifications.send_emails` (``rukun outbox deliver``, ``rukun
notify send``), retried with backoff when the mail server fails.

Without ``RUKUN_SMTP_URL`` no e-mail is queued (a notification's e-mail status is
``none``): the bell only. E-mails queued while it was set wait until it is set again.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.errors import InvalidData, NotFound
from engine.runtime import mail
from engine.runtime.context import Context
from engine.runtime.notification_rules import (
    CHANNELS,
    DEFAULTS,
    KINDS,
    PRECEDENCE,
    CaseFacts,
    Channels,
    Recipient,
    Texts,
    acting_roles,
    due_texts,
    event_texts,
    holders,
    kinds_for,
)
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.models import (
    Case,
    Notification,
    NotificationPreference,
    User,
    utcnow,
)
from engine.text import Label

if TYPE_CHECKING:
    from engine.runtime.outbox import Event

ADMIN_ROLES = ("admin",)
#: E-mails one :meth:`Notifications.send_emails` takes on at most.
EMAIL_BATCH = 100
#: A sender holds the e-mails it took this long; after that another may send them.
EMAIL_LEASE = dt.timedelta(minutes=10)
#: Minutes before each further try of an e-mail the mail server did not take; after the
#: last, the e-mail is ``failed``.
RETRY_MINUTES = (1, 5, 15, 60, 180, 360)
MAX_EMAIL_ATTEMPTS = len(RETRY_MINUTES) + 1
MAX_LIST = 200


def notification_json(row: Notification) -> dict[str, Any]:
    """A notification as the bell lists it."""
    return {
        "id": row.id,
        "kind": row.kind,
        "case_id": row.case_id,
        "title": {"id": row.title_id, "en": row.title_en},
        "body": {"id": row.body_id, "en": row.body_en},
        "created_at": format_time(row.created_at),
        "read": row.read_at is not None,
        "read_at": None if row.read_at is None else format_time(row.read_at),
        "email_status": row.email_status,
    }


def _insert(session: Session) -> Any:
    """An INSERT into notifications that skips rows already there (same user and event),
    so that an event handed out twice, or two ticks at once, add nothing."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(Notification).on_conflict_do_nothing(
        index_elements=["event_id", "user_id"]
    )


class Notifications:
    def __init__(self, context: Context) -> None:
        self.context = context

    @property
    def email_enabled(self) -> bool:
        """Whether this installation sends e-mail (``RUKUN_SMTP_URL`` is set)."""
        return self.context.settings.smtp_url is not None

    # ------------------------------------------------------------------ writing

    def on_event(self, session: Session, event: Event) -> None:
        """The outbox's consumer: the notifications ``event`` calls for, written in
        ``session`` (the outbox's claiming transaction; never committed or sent here)."""
        found = kinds_for(session, event)
        if not found:
            return
        texts = {kind: event_texts(kind, event) for kind in set().union(*found.values())}
        self._write(session, event.id, event.case_id, found, texts, utcnow())

    def deadlines(self, now: dt.datetime | None = None) -> int:
        """Tell those who must act on each case whose state's deadline is at most
        ``RUKUN_NOTIFY_DUE_HOURS`` away (and not passed, not escalated): once per entry
        into the state. Returns how many notifications were written."""
        now = now or utcnow()
        window = now + dt.timedelta(hours=self.context.settings.notify_due_hours)
        written = 0
        with write_session(self.context.sessions) as session:
            due = session.scalars(
                select(Case)
                .where(Case.due_at > now, Case.due_at <= window, Case.escalated_at.is_(None))
                .order_by(Case.due_at)
            ).all()
            events = {case.id: _due_event(case) for case in due}
            told = set(
                session.scalars(
                    select(Notification.event_id)
                    .where(Notification.event_id.in_(events.values()))
                    .distinct()
                )
            )
            for case in due:
                if events[case.id] in told:
                    continue
                assert case.due_at is not None  # selected for it
                definition = self.context.pinned(session, case.definition_version_id).definition
                roles = acting_roles(definition, case.state)
                path = tuple(case.region_path.split("/"))
                found = {r: {"due_soon"} for r in holders(session, roles, path)}
                facts = CaseFacts(case.id, definition, case.subject.name, case.year, case.state)
                texts = due_texts(facts, case.due_at)
                written += self._write(
                    session, events[case.id], case.id, found, {"due_soon": texts}, now
                )
        return written

    def _write(
        self,
        session: Session,
        event_id: str,
        case_id: int,
        found: Mapping[Recipient, set[str]],
        texts: Mapping[str, Texts],
        now: dt.datetime,
    ) -> int:
        """One notification per recipient: the first kind in :data:`PRECEDENCE` of theirs
        that they want by some channel; none if they want none. Returns how many rows
        were new."""
        choices = self._choices(session, [r.id for r in found])
        rows = []
        for recipient, kinds in found.items():
            for kind in (k for k in PRECEDENCE if k in kinds):
                channels = choices.get((recipient.id, kind), DEFAULTS[kind])
                email = channels.email and recipient.email is not None and self.email_enabled
                if channels.in_app or email:
                    text = texts[kind]
                    rows.append(
                        {
                            "user_id": recipient.id,
                            "event_id": event_id,
                            "kind": kind,
                            "case_id": case_id,
                            "title_id": text.title.id[:300],
                            "title_en": text.title.en[:300],
                            "body_id": text.body.id,
                            "body_en": text.body.en,
                            "in_app": channels.in_app,
                            "created_at": now,
                            "email_status": "pending" if email else "none",
                            "email_attempts": 0,
                            "email_next_at": now if email else None,
                        }
                    )
                    break
        if not rows:
            return 0
        inserted = session.execute(_insert(session).values(rows).returning(Notification.id))
        return len(inserted.all())

    def _choices(
        self, session: Session, user_ids: Sequence[int]
    ) -> dict[tuple[int, str], Channels]:
        rows = session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids))
        )
        return {(p.user_id, p.kind): Channels(p.in_app, p.email) for p in rows}

    # ------------------------------------------------------------------ the bell

    def list(self, user: str, unread_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        """``user``'s notifications on the bell, newest first (only their own)."""
        with self.context.sessions() as session:
            query = (
                select(Notification)
                .where(
                    Notification.user_id == _user_id(session, user), Notification.in_app.is_(True)
                )
                .order_by(Notification.id.desc())
                .limit(max(1, min(limit, MAX_LIST)))
            )
            if unread_only:
                query = query.where(Notification.read_at.is_(None))
            return [notification_json(row) for row in session.scalars(query)]

    def unread_count(self, user: str) -> int:
        """How many of ``user``'s notifications on the bell are unread."""
        with self.context.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .join(User, User.id == Notification.user_id)
                    .where(User.name == user, Notification.in_app.is_(True))
                    .where(Notification.read_at.is_(None))
                )
                or 0
            )

    def mark_read(self, user: str, ids: Sequence[int] | None = None) -> int:
        """Mark ``user``'s notifications ``ids`` (None: all of them) read; ids of someone
        else's are passed over. Returns how many were unread."""
        with write_session(self.context.sessions) as session:
            query = (
                update(Notification)
                .where(
                    Notification.user_id == _user_id(session, user), Notification.in_app.is_(True)
                )
                .where(Notification.read_at.is_(None))
                .values(read_at=utcnow())
            )
            if ids is not None:
                query = query.where(Notification.id.in_(list(ids)))
            return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ preferences

    def preferences(self, user: str) -> dict[str, Any]:
        """``user``'s channels per kind (their choice, or :data:`DEFAULTS`), their e-mail
        address and whether this installation sends e-mail at all."""
        with self.context.sessions() as session:
            return self._preferences(session, _user(session, user))

    def _preferences(self, session: Session, user: User) -> dict[str, Any]:
        chosen = self._choices(session, [user.id])
        kinds = {}
        for kind in KINDS:
            channels = chosen.get((user.id, kind), DEFAULTS[kind])
            kinds[kind] = {"in_app": channels.in_app, "email": channels.email}
        return {
            "user": user.name,
            "email": user.email,
            "email_enabled": self.email_enabled,
            "kinds": kinds,
        }

    def set_preferences(
        self, user: str, changes: Mapping[str, Mapping[str, bool]], by: str | None = None
    ) -> dict[str, Any]:
        """Set ``user``'s channels for the kinds in ``changes`` (``{kind: {"in_app": bool,
        "email": bool}}``; a channel left out keeps its value). ``by`` is who asks: the
        user themself or an admin (None: the command line)."""
        for kind, channels in changes.items():
            if kind not in KINDS:
                raise InvalidData(
                    Label(
                        id=f"jenis notifikasi '{kind}' tidak dikenal (salah satu dari "
                        f"{', '.join(KINDS)})",
                        en=f"unknown notification kind '{kind}' (one of {', '.join(KINDS)})",
                    )
                )
            for channel, value in channels.items():
                if channel not in CHANNELS or not isinstance(value, bool):
                    raise InvalidData(
                        Label(
                            id=f"saluran notifikasi adalah {' dan '.join(CHANNELS)}, masing-"
                            "masing true atau false",
                            en=f"notification channels are {' and '.join(CHANNELS)}, "
                            "each true or false",
                        )
                    )
        with write_session(self.context.sessions) as session:
            if by is not None:
                asking = self.context.actor(session, by)
                if by != user:
                    action = Label(
                        id=f"mengubah notifikasi '{user}' (hanya pengguna itu sendiri atau "
                        "admin yang boleh)",
                        en=f"change the notifications of '{user}' (only the user or an admin may)",
                    )
                    asking.require_role(ADMIN_ROLES, action)
            owner = _user(session, user)
            current = self._preferences(session, owner)["kinds"]
            stored = {
                p.kind: p
                for p in session.scalars(
                    select(NotificationPreference).where(NotificationPreference.user_id == owner.id)
                )
            }
            for kind, channels in changes.items():
                merged = {**current[kind], **channels}
                row = stored.get(kind)
                if row is None:
                    row = NotificationPreference(user_id=owner.id, kind=kind)
                    session.add(row)
                row.in_app, row.email = merged["in_app"], merged["email"]
            session.flush()
            return self._preferences(session, owner)

    # ------------------------------------------------------------------ e-mail

    def send_emails(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """Send the e-mails that are due (at most :data:`EMAIL_BATCH`), each held for
        this sender meanwhile; never raises for the mail server's sake. Returns how many
        were ``sent``, will be tried again (``retrying``) or ``failed`` for good, and
        whether e-mail is ``enabled`` at all."""
        now = now or utcnow()
        counts: dict[str, Any] = {"enabled": self.email_enabled, "sent": 0, "retrying": 0}
        counts["failed"] = 0
        settings = self.context.settings
        if settings.smtp_url is None:
            return counts
        letters = self._claim_emails(now)
        server = mail.SmtpServer.from_url(settings.smtp_url)
        for outcome in mail.send(server, settings.smtp_from, letters, now):
            counts[self._record_email(outcome, now)] += 1
        return counts

    def _claim_emails(self, now: dt.datetime) -> builtins.list[mail.Letter]:
        """Take the due e-mails for this sender; those whose user has no address any more
        (or was deactivated) are not sent (``none``)."""
        with write_session(self.context.sessions) as session:
            query = (
                select(Notification, User.email, User.active)
                .join(User, User.id == Notification.user_id)
                .where(Notification.email_status == "pending", Notification.email_next_at <= now)
                .where(
                    or_(
                        Notification.email_leased_until.is_(None),
                        Notification.email_leased_until < now,
                    )
                )
                .order_by(Notification.id)
                .limit(EMAIL_BATCH)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(of=Notification, skip_locked=True)
            letters = []
            for row, address, active in session.execute(query):
                if not address or not active:
                    row.email_status, row.email_error = "none", "no e-mail address or inactive user"
                    continue
                row.email_leased_until = now + EMAIL_LEASE
                letters.append(mail.Letter(row.id, address, _subject(row), self._letter_body(row)))
            return letters

    def _letter_body(self, row: Notification) -> str:
        """Indonesian, then English; a link to the case when ``RUKUN_BASE_URL`` is set."""
        base = self.context.settings.base_url
        link = f"{base}/cases/{row.case_id}" if base else None
        parts = [row.title_id, "", row.body_id]
        if link:
            parts += ["", f"Buka kasus: {link}"]
        parts += ["", "-- ", "", row.title_en, "", row.body_en]
        if link:
            parts += ["", f"Open the case: {link}"]
        parts += [
            "",
            "Pesan otomatis dari Rukun; atur pemberitahuan Anda di layar Notifikasi.",
            "An automatic message from Rukun; choose your notifications on the Notifications"
            " screen.",
        ]
        return "\n".join(parts) + "\n"

    def _record_email(self, outcome: mail.Outcome, now: dt.datetime) -> str:
        """Write one e-mail's outcome; returns which count it adds to."""
        with write_session(self.context.sessions) as session:
            row = session.get(Notification, outcome.key)
            assert row is not None  # notifications are never deleted
            row.email_attempts += 1
            row.email_leased_until = None
            if outcome.sent:
                row.email_status, row.emailed_at, row.email_error = "sent", now, None
                row.email_next_at = None
                return "sent"
            row.email_error = outcome.error
            if outcome.permanent or row.email_attempts >= MAX_EMAIL_ATTEMPTS:
                row.email_status, row.email_next_at = "failed", None
                return "failed"
            delay = RETRY_MINUTES[row.email_attempts - 1]
            row.email_next_at = now + dt.timedelta(minutes=delay)
            return "retrying"


def _subject(row: Notification) -> str:
    return f"[Rukun] {row.title_id} / {row.title_en}"


def _due_event(case: Case) -> str:
    """The event a near deadline is: the case and when it entered its state."""
    return f"{case.id}.due.{case.state_entered_at.strftime('%Y%m%dT%H%M%S%f')}"


def _no_user(name: str) -> NotFound:
    return NotFound(Label(id=f"tidak ada pengguna '{name}'", en=f"no user '{name}'"))


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise _no_user(name)
    return user


def _user_id(session: Session, name: str) -> int:
    found = session.scalar(select(User.id).where(User.name == name))
    if found is None:
        raise _no_user(name)
    return found
