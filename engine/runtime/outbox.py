"""The outbox: every history record (a start, a transition, an escalation, a migration)
is an event, written in the same transaction as the change it records. ``rukun outbox
deliver`` hands each new event out once (to the registered webhooks and to the
notifications), and sends the webhook deliveries that are due, with retries and backoff.

Handing out is claimed record by record (a ``dispatched_events`` row inserted in the
transaction that also writes the event's deliveries and notifications), so several
processes may deliver at once and each event is handed out exactly once. Webhooks are
at-least-once: a receiver may see an event again (a send whose answer was lost), and
deduplicates on its ``id``."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.errors import InvalidData, NotFound
from engine.language import Definition
from engine.runtime.case_views import record_json
from engine.runtime.context import Context
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.models import (
    Case,
    DefinitionVersion,
    DispatchedEvent,
    OutboxState,
    TransitionRecord,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from engine.text import Label


@dataclass(frozen=True)
class Event:
    """One history record as the outbox hands it out, with what consumers need to know
    about its case (read when it is handed out)."""

    #: ``<case id>.<seq>``: the same for every delivery and retry of the event.
    id: str
    #: The record as :func:`~engine.runtime.case_views.record_json` gives it (``kind``:
    #: start, transition, escalation or migration; the payload is not masked).
    record: dict[str, Any]
    case_id: int
    program: str
    #: The case's subject (a region code) and its name.
    subject: str
    subject_name: str
    #: The region codes from the top of the tree down to the subject.
    region_path: tuple[str, ...]
    year: int
    #: Where the case stands now, and the definition version it is pinned to now.
    state: str
    definition: Definition


#: What is given each event, in the transaction that claims it: write rows, never send.
Consumer = Callable[[Session, Event], None]


# ----------------------------------------------------------------------------- service

#: How many records one fan-out transaction claims at most.
DISPATCH_BATCH = 200
#: A record this old is committed if it ever will be (no transaction lasts so long): the
#: fan-out's floor may pass it once it is handed out.
SETTLED = dt.timedelta(minutes=10)
#: How long a sender holds a delivery it took (another process may take it after).
LEASE = dt.timedelta(seconds=60)
#: Seconds to wait for a receiver; the first retry's wait, doubled each time up to MAX_WAIT;
#: attempts before a delivery is given up (``failed``; about two days of retries).
TIMEOUT = 10
FIRST_WAIT = dt.timedelta(seconds=30)
MAX_WAIT = dt.timedelta(hours=6)
MAX_ATTEMPTS = 15
SEND_BATCH = 50
MIN_SECRET = 16
#: Who added or removed a webhook from the command line (the server's operator).
CLI = "(command line)"
ADMIN_ROLES = ("admin",)
SIGNATURE_HEADER = "X-Rukun-Signature"


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: what a receiver recomputes to trust a call."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def event_id(record: TransitionRecord) -> str:
    return f"{record.case_id}.{record.seq}"


def event_of(context: Context, record: TransitionRecord, case: Case, state: str) -> Event:
    """``record`` of ``case`` as the outbox hands it out, saying the case is in ``state``."""
    return Event(
        id=event_id(record),
        record=record_json(record),
        case_id=case.id,
        program=case.program,
        subject=case.subject_code,
        subject_name=case.subject.name,
        region_path=tuple(case.region_path.split("/")),
        year=case.year,
        state=state,
        definition=context.definition(case.definition_version),
    )


def webhook_body(event: Event) -> dict[str, Any]:
    """What a webhook receives: the event, its case and its record, without the values
    the record's form carried (they may be personal data: fetch the case through the API
    with a token for that)."""
    record = event.record
    return {
        "id": event.id,
        "type": record["kind"],
        "at": record["at"],
        "program": event.program,
        "case": {
            "id": event.case_id,
            "subject": event.subject,
            "subject_name": event.subject_name,
            "year": event.year,
            "state": event.state,
        },
        "record": {
            name: record[name]
            for name in (
                "seq",
                "kind",
                "trigger",
                "source",
                "dest",
                "actor",
                "role",
                "at",
                "definition_version",
                "documents",
                "hash",
            )
        },
    }


def webhook_json(hook: Webhook) -> dict[str, Any]:
    """A webhook as lists show it: never its secret."""
    return {
        "id": hook.id,
        "url": hook.url,
        "program": hook.program,
        "created_at": format_time(hook.created_at),
        "created_by": hook.created_by,
        "removed_at": format_time(hook.removed_at) if hook.removed_at else None,
    }


def check_url(url: str) -> str:
    """An http(s) URL with a host, without credentials, up to 2,000 characters.
    Loopback and private addresses are allowed: an admin registers the URLs."""
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidData(
            Label(
                id=f"URL webhook diawali http:// atau https:// dan memuat host: {url[:200]!r}",
                en=f"a webhook URL is http:// or https:// with a host: {url[:200]!r}",
            )
        )
    if parts.username or parts.password:
        raise InvalidData(
            Label(
                id="URL webhook tidak memuat nama pengguna atau kata sandi: pakai --secret",
                en="a webhook URL carries no user or password: use --secret",
            )
        )
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidData(
            Label(
                id="URL webhook tidak boleh memuat spasi atau karakter kendali",
                en="a webhook URL has no spaces or control characters",
            )
        )
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A receiver that redirects has not accepted the event (and a POST is not replayed
    elsewhere)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects())


def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str | None]:
    """POST ``body``: the status and, unless 2xx, why (never raises)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            status = int(response.status)
            response.read(1024)
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, timed out, DNS, TLS, a bad URL
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= status < 300:
        return status, None
    return status, f"HTTP {status}"


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed send."""
    return min(FIRST_WAIT * (2 ** (attempts - 1)), MAX_WAIT)


class Outbox:
    """``rukun outbox deliver`` and ``rukun webhook``: the events handed out once, the
    webhooks registered, and their deliveries sent."""

    def __init__(
        self,
        context: Context,
        consumers: Sequence[Consumer] = (),
        mailer: Callable[[dt.datetime | None], dict[str, Any]] | None = None,
    ) -> None:
        self.context = context
        #: Given each event in the transaction that claims it (the notifications').
        self.consumers = list(consumers)
        #: Sends the e-mails that are due (the notifications'), after the webhooks.
        self.mailer = mailer

    # ----------------------------------------------------------------- webhooks

    def add_webhook(
        self, url: str, secret: str, program: str | None = None, by: str | None = None
    ) -> dict[str, Any]:
        """Register ``url`` for the events of ``program`` (None: every program), signed
        with ``secret``; ``by``: an admin (None: the command line)."""
        url = check_url(url)
        if not MIN_SECRET <= len(secret) <= 200 or not secret.isprintable():
            raise InvalidData(
                Label(
                    id=f"rahasia webhook terdiri atas {MIN_SECRET} sampai 200 karakter yang "
                    "dapat dicetak",
                    en=f"a webhook secret is {MIN_SECRET} to 200 printable characters",
                )
            )
        with write_session(self.context.sessions) as session:
            self._admin(session, by, Label(id="menambah webhook", en="add a webhook"))
            if (
                program is not None
                and session.scalar(
                    select(DefinitionVersion.id)
                    .where(DefinitionVersion.program == program)
                    .limit(1)
                )
                is None
            ):
                raise NotFound(
                    Label(id=f"tidak ada program '{program}'", en=f"no program '{program}'")
                )
            hook = Webhook(url=url, secret=secret, program=program, created_by=by or CLI)
            session.add(hook)
            session.flush()
            return webhook_json(hook)

    def webhooks(self, by: str | None = None) -> list[dict[str, Any]]:
        """Every webhook, removed ones too, with its deliveries counted by status."""
        with self.context.sessions() as session:
            self._admin(session, by, Label(id="melihat daftar webhook", en="list the webhooks"))
            counts: dict[int, dict[str, int]] = {}
            for hook_id, status, count in session.execute(
                select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count()).group_by(
                    WebhookDelivery.webhook_id, WebhookDelivery.status
                )
            ):
                counts.setdefault(hook_id, {})[status] = count
            return [
                {**webhook_json(h), "deliveries": counts.get(h.id, {})}
                for h in session.scalars(select(Webhook).order_by(Webhook.id))
            ]

    def remove_webhook(self, hook_id: int, by: str | None = None) -> dict[str, Any]:
        """Stop sending to webhook ``hook_id`` (its pending deliveries are dropped)."""
        with write_session(self.context.sessions) as session:
            self._admin(session, by, Label(id="menghapus webhook", en="remove a webhook"))
            hook = session.get(Webhook, hook_id)
            if hook is None:
                raise NotFound(Label(id=f"tidak ada webhook {hook_id}", en=f"no webhook {hook_id}"))
            if hook.removed_at is None:
                hook.removed_at = utcnow()
                session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.webhook_id == hook_id)
                    .where(WebhookDelivery.status == "pending")
                    .values(status="dropped", leased_until=None)
                )
            return webhook_json(hook)

    def _admin(self, session: Session, by: str | None, what: Label) -> None:
        if by is not None:
            self.context.actor(session, by).require_role(ADMIN_ROLES, what)

    # ----------------------------------------------------------------- fan-out

    def dispatch(self, now: dt.datetime | None = None, batch: int = DISPATCH_BATCH) -> int:
        """Hand out the events not handed out yet, oldest first, ``batch`` per
        transaction: each to the webhooks of its program (a delivery each) and to the
        consumers. How many were handed out."""
        handed = 0
        while True:
            with write_session(self.context.sessions) as session:
                floor = session.scalar(select(OutboxState.floor).where(OutboxState.id == 1))
                claimed = self._claim(session, floor or 0, batch)
                if claimed:
                    self._fan_out(session, claimed)
                self._advance_floor(session, floor or 0, now or utcnow())
            handed += len(claimed)
            if len(claimed) < batch:
                return handed

    def _claim(self, session: Session, floor: int, batch: int) -> list[TransitionRecord]:
        candidates = list(
            session.scalars(
                select(TransitionRecord.id)
                .where(TransitionRecord.id > floor)
                .where(~exists().where(DispatchedEvent.record_id == TransitionRecord.id))
                .order_by(TransitionRecord.id)
                .limit(batch)
            )
        )
        if not candidates:
            return []
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        now = utcnow()
        statement = (
            insert(DispatchedEvent)
            .values([{"record_id": i, "dispatched_at": now} for i in candidates])
            .on_conflict_do_nothing()
            .returning(DispatchedEvent.record_id)
        )
        mine = set(session.scalars(statement))  # another process's claims are skipped
        records = session.scalars(select(TransitionRecord).where(TransitionRecord.id.in_(mine)))
        return sorted(records, key=lambda r: r.id)

    def _fan_out(self, session: Session, records: Sequence[TransitionRecord]) -> None:
        cases = {
            c.id: c
            for c in session.scalars(select(Case).where(Case.id.in_({r.case_id for r in records})))
        }
        hooks = list(session.scalars(select(Webhook).where(Webhook.removed_at.is_(None))))
        now = utcnow()
        for record in records:
            case = cases[record.case_id]
            event = event_of(self.context, record, case, case.state)
            for hook in hooks:
                if hook.program in (None, case.program):
                    session.add(
                        WebhookDelivery(
                            webhook_id=hook.id,
                            record_id=record.id,
                            event_id=event.id,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
            for consume in self.consumers:
                consume(session, event)
        session.flush()

    def _advance_floor(self, session: Session, floor: int, now: dt.datetime) -> None:
        """Move the floor up to the newest settled record below which every record is
        handed out, and forget the claims below it."""
        gap = session.scalar(
            select(func.min(TransitionRecord.id))
            .where(TransitionRecord.id > floor)
            .where(~exists().where(DispatchedEvent.record_id == TransitionRecord.id))
        )
        settled = session.scalar(
            select(func.max(TransitionRecord.id))
            .where(TransitionRecord.id > floor)
            .where(TransitionRecord.at < now - SETTLED)
        )
        if settled is None:
            return
        new = settled if gap is None else min(settled, gap - 1)
        if new > floor:
            session.execute(update(OutboxState).where(OutboxState.id == 1).values(floor=new))
            session.execute(delete(DispatchedEvent).where(DispatchedEvent.record_id <= new))

    # ----------------------------------------------------------------- sending

    def send_due(self, now: dt.datetime | None = None, batch: int = SEND_BATCH) -> dict[str, int]:
        """Send every delivery that is due (a batch at a time), each outside any database
        transaction: a slow or failing receiver holds up no firing. Counts by outcome."""
        outcome = {"delivered": 0, "retrying": 0, "failed": 0}
        while True:
            taken = self._lease(now or utcnow(), batch)
            for delivery_id, event, url, secret, body in taken:
                headers = self._headers(delivery_id, event, secret, body)
                status, error = post(url, body, headers)
                outcome[self._settle(delivery_id, status, error)] += 1
            if len(taken) < batch:
                return outcome

    def _lease(self, now: dt.datetime, batch: int) -> list[tuple[int, str, str, str, bytes]]:
        """Take up to ``batch`` due deliveries for LEASE, with the body each sends."""
        with write_session(self.context.sessions) as session:
            query = (
                select(WebhookDelivery)
                .where(WebhookDelivery.status == "pending")
                .where(WebhookDelivery.next_attempt_at <= now)
                .where(
                    or_(
                        WebhookDelivery.leased_until.is_(None),
                        WebhookDelivery.leased_until < now,
                    )
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            due = list(session.scalars(query))
            taken = []
            for delivery in due:
                delivery.leased_until = now + LEASE
                body = self._body(session, delivery)
                hook = session.get(Webhook, delivery.webhook_id)
                assert hook is not None
                taken.append((delivery.id, delivery.event_id, hook.url, hook.secret, body))
            return taken

    def _body(self, session: Session, delivery: WebhookDelivery) -> bytes:
        record = session.get(TransitionRecord, delivery.record_id)
        assert record is not None
        case = session.get(Case, record.case_id)
        assert case is not None
        event = event_of(self.context, record, case, record.dest)
        text = json.dumps(webhook_body(event), ensure_ascii=False, sort_keys=True)
        return text.encode("utf-8")

    @staticmethod
    def _headers(delivery_id: int, event: str, secret: str, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": "Rukun-Webhook/1",
            SIGNATURE_HEADER: signature(secret, body),
            "X-Rukun-Event": event,
            "X-Rukun-Delivery": str(delivery_id),
        }

    def _settle(self, delivery_id: int, status: int | None, error: str | None) -> str:
        now = utcnow()
        with write_session(self.context.sessions) as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            delivery.attempts += 1
            delivery.leased_until = None
            delivery.last_status = status
            delivery.last_error = error
            if error is None:
                delivery.status, delivery.delivered_at = "delivered", now
                return "delivered"
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
                return "failed"
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            return "retrying"

    def deliver(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """What ``rukun outbox deliver`` does once: hand out the new events, then send
        the webhook deliveries and the e-mails that are due."""
        handed = self.dispatch(now)
        result: dict[str, Any] = {"events": handed, **self.send_due(now)}
        if self.mailer is not None:
            mailed = self.mailer(now)
            result["emails"] = {k: mailed[k] for k in ("sent", "retrying", "failed")}
        return result
