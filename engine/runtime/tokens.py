"""API tokens: made for a user (the secret shown once), listed, revoked, and turned back
into the user a request acts as. Only the secret's sha256 is stored: a token is 256 random
bits, so a fast hash is enough (a slow one, as for passwords, would only slow every API
request) and a stolen table holds nothing to sign in with."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, contains_eager

from engine.errors import InvalidData, NotFound, Unauthenticated
from engine.runtime.context import Context
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.models import ApiToken, User, utcnow
from engine.text import Label

#: Every token starts so (and a secret scanner can recognise a leaked one by it).
PREFIX = "rukun_"
#: Who may list and revoke the tokens of other users.
ADMIN_ROLES = ("admin",)
#: A token lasts this many days unless made with another lifetime; at most MAX_DAYS.
DEFAULT_DAYS = 90
MAX_DAYS = 3650
#: A request writes the token's last use only if the one recorded is older than this.
LAST_USED_EVERY = dt.timedelta(minutes=1)
MAX_NAME = 100
#: Who made or revoked a token from the command line (the server's operator).
CLI = "(command line)"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_json(token: ApiToken, now: dt.datetime | None = None) -> dict[str, Any]:
    """A token as lists show it: never its secret or digest."""
    return {
        "id": token.id,
        "user": token.user.name,
        "name": token.name,
        "prefix": token.prefix,
        "status": status(token, now or utcnow()),
        "created_at": format_time(token.created_at),
        "created_by": token.created_by,
        "expires_at": _time(token.expires_at),
        "last_used_at": _time(token.last_used_at),
        "revoked_at": _time(token.revoked_at),
        "revoked_by": token.revoked_by,
    }


class Lifetime(Protocol):
    """What a token's status is read from: a stored token, or a row of its columns."""

    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None


def status(token: Lifetime, now: dt.datetime) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else format_time(value)


class Tokens:
    def __init__(self, context: Context) -> None:
        self.context = context

    def create(
        self,
        user: str,
        name: str | None = None,
        days: int | None = DEFAULT_DAYS,
        by: str | None = None,
    ) -> dict[str, Any]:
        """A new token for ``user``, valid ``days`` days (None: until revoked), as
        :func:`token_json` gives it plus ``token``, the secret (shown this once). ``by``
        is who asks (None: the command line, trusted): the user themself or an admin."""
        name = (name or "").strip() or "api"
        if len(name) > MAX_NAME or not name.isprintable():
            raise InvalidData(
                Label(
                    id=f"nama token paling banyak {MAX_NAME} karakter yang dapat dicetak",
                    en=f"a token's name is up to {MAX_NAME} printable characters",
                )
            )
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise InvalidData(
                Label(
                    id=f"token berlaku 1 sampai {MAX_DAYS} hari",
                    en=f"a token lasts from 1 to {MAX_DAYS} days",
                )
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        with write_session(self.context.sessions) as session:
            owner = self._owner(
                session, user, by, Label(id="membuat token untuk", en="make a token for")
            )
            if not owner.active:
                raise InvalidData(
                    Label(
                        id=f"pengguna '{user}' tidak aktif: tokennya tidak akan berfungsi",
                        en=f"user '{user}' is not active: a token of theirs would not work",
                    )
                )
            token = ApiToken(
                user=owner,
                name=name,
                digest=digest(secret),
                prefix=secret[: len(PREFIX) + 6],
                created_at=now,
                created_by=by or CLI,
                expires_at=None if days is None else now + dt.timedelta(days=days),
            )
            session.add(token)
            session.flush()
            return {**token_json(token, now), "token": secret}

    def list(self, user: str | None = None, by: str | None = None) -> list[dict[str, Any]]:
        """The tokens of ``user`` (None: everyone's, for an admin or the command line),
        newest first."""
        with self.context.sessions() as session:
            query = (
                select(ApiToken)
                .join(ApiToken.user)
                .options(contains_eager(ApiToken.user))
                .order_by(ApiToken.id.desc())
            )
            if user is None:
                if by is not None:
                    action = Label(id="melihat token semua pengguna", en="list everyone's tokens")
                    self._admin(session, by, action)
            else:
                what = Label(id="melihat token milik", en="list the tokens of")
                owner = self._owner(session, user, by, what)
                query = query.where(ApiToken.user_id == owner.id)
            now = utcnow()
            return [token_json(t, now) for t in session.scalars(query)]

    def revoke(self, token_id: int, by: str | None = None) -> dict[str, Any]:
        """Revoke token ``token_id`` from now on (its user or an admin; None: the command
        line). Revoking a revoked token changes nothing."""
        with write_session(self.context.sessions) as session:
            token = session.get(ApiToken, token_id)
            if token is None:
                raise NotFound(Label(id=f"tidak ada token {token_id}", en=f"no token {token_id}"))
            if by is not None and by != token.user.name:  # not naming whose it is
                action = Label(id=f"mencabut token {token_id}", en=f"revoke token {token_id}")
                self._admin(session, by, action)
            if token.revoked_at is None:
                token.revoked_at, token.revoked_by = utcnow(), by or CLI
            return token_json(token)

    def authenticate(self, secret: str) -> str:
        """The name of the active user whose token ``secret`` is, if the token is neither
        expired nor revoked; :class:`Unauthenticated` otherwise (one message for every
        reason, so a guesser learns nothing)."""
        refused = Unauthenticated(
            Label(
                id="token API tidak dikenal, kedaluwarsa, atau sudah dicabut",
                en="the API token is unknown, expired or revoked",
            )
        )
        if not secret.startswith(PREFIX) or len(secret) > 200:
            raise refused
        now = utcnow()
        with self.context.sessions() as session:
            row = session.execute(
                select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at)
                .add_columns(ApiToken.last_used_at, User.name, User.active)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.digest == digest(secret))
            ).one_or_none()
        if row is None or not row.active or status(row, now) != "active":
            raise refused
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            with write_session(self.context.sessions) as session:
                session.execute(
                    update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)
                )
        return str(row.name)

    def _owner(self, session: Session, user: str, by: str | None, what: Label) -> User:
        """The user ``user``, if ``by`` may handle their tokens: checked first, so that
        someone who may not learns nothing (not even whether ``user`` exists)."""
        if by is not None and by != user:
            self._admin(session, by, Label(id=f"{what.id} '{user}'", en=f"{what.en} '{user}'"))
        owner = session.scalar(select(User).where(User.name == user))
        if owner is None:
            raise NotFound(Label(id=f"tidak ada pengguna '{user}'", en=f"no user '{user}'"))
        if by == user:
            self.context.actor(session, by)  # an active user
        return owner

    def _admin(self, session: Session, by: str, what: Label) -> None:
        action = Label(
            id=f"{what.id} (hanya pengguna itu sendiri atau admin yang boleh)",
            en=f"{what.en} (only the user or an admin may)",
        )
        self.context.actor(session, by).require_role(ADMIN_ROLES, action)
