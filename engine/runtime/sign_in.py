"""Signing in: the throttle, the password check and the sign-in log.

The throttle counts the failures in the log itself (per user name as typed and per client
address), so every worker process over the same database refuses alike. A throttled attempt
is refused without checking the password, so the right password does not get in during the
wait either. The policy is :class:`engine.settings.SignInPolicy`.

The count is read before the password is checked and the attempt logged after, without a
lock: requests for one name that arrive within one Argon2 check of each other are all
checked: a client sending many at once gets one guess for each (bounded by the workers'
concurrency), not one in all."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.runtime.context import Context
from engine.runtime.users import Users
from engine.settings import SignInPolicy
from engine.store.db import write_session
from engine.store.models import SignInAttempt, utcnow

#: What an attempt comes to: signed in, wrong name or password, refused unchecked.
OUTCOMES = ("ok", "failed", "throttled")
#: The longest name, address and user agent the log keeps (longer ones are cut).
NAME_LENGTH = 150
ADDRESS_LENGTH = 64
USER_AGENT_LENGTH = 200
#: Beyond this many doublings the wait is the policy's longest anyway.
MAX_DOUBLINGS = 32


@dataclass(frozen=True)
class SignInResult:
    """The outcome of one attempt; ``retry_after`` (seconds) says how long a throttled
    caller must wait before an attempt is checked again."""

    outcome: str
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def throttled(self) -> bool:
        return self.outcome == "throttled"


class SignIn:
    """Sign-in attempts: throttled, checked against the password hash, and logged."""

    def __init__(self, context: Context, users: Users) -> None:
        self.context = context
        self.users = users
        #: Where "now" comes from when an attempt names none (tests move it forward).
        self.clock: Callable[[], dt.datetime] = utcnow

    @property
    def policy(self) -> SignInPolicy:
        return self.context.settings.sign_in

    def attempt(
        self,
        name: str,
        password: str,
        address: str | None,
        *,
        user_agent: str | None = None,
        now: dt.datetime | None = None,
    ) -> SignInResult:
        """Try to sign in as ``name`` from ``address``: ``throttled`` (the password is not
        checked) while too many attempts failed, else ``ok`` or ``failed``; logged either way."""
        now = now or self.clock()
        key = name.replace("\x00", "\\0")[:NAME_LENGTH]  # the log is text: no NUL on PostgreSQL
        address = address[:ADDRESS_LENGTH] if address else None
        wait = self.wait(key, address, now)
        if wait:
            result = SignInResult("throttled", wait)
        else:
            result = SignInResult("ok" if self.users.check_password(name, password) else "failed")
        with write_session(self.context.sessions) as session:
            session.add(
                SignInAttempt(
                    at=now,
                    user_name=key,
                    address=address,
                    outcome=result.outcome,
                    user_agent=user_agent[:USER_AGENT_LENGTH] if user_agent else None,
                )
            )
        return result

    def wait(self, name: str, address: str | None, now: dt.datetime) -> int:
        """Whole seconds until an attempt for ``name`` from ``address`` is checked (0: now)."""
        with self.context.sessions() as session:
            ends = [
                end
                for end in (
                    self._name_wait_ends(session, name, now),
                    self._address_wait_ends(session, address, now),
                )
                if end is not None and end > now
            ]
        return math.ceil((max(ends) - now).total_seconds()) if ends else 0

    def _name_wait_ends(self, session: Session, name: str, now: dt.datetime) -> dt.datetime | None:
        """After ``name_limit`` failures since the name's last success: the latest failure
        plus ``first_wait``, doubled per further failure, at most ``max_wait``."""
        policy = self.policy
        if policy.name_limit <= 0:
            return None
        since = now - dt.timedelta(seconds=policy.name_memory)
        of_name = (SignInAttempt.user_name == name, SignInAttempt.at > since)
        last_success = session.scalar(
            select(func.max(SignInAttempt.at)).where(*of_name, SignInAttempt.outcome == "ok")
        )
        failures, latest = session.execute(
            select(func.count(), func.max(SignInAttempt.at)).where(
                *of_name,
                SignInAttempt.outcome == "failed",
                SignInAttempt.at > (last_success or since),
            )
        ).one()
        if failures < policy.name_limit or latest is None:
            return None
        doublings = min(failures - policy.name_limit, MAX_DOUBLINGS)
        seconds = min(policy.first_wait * 2**doublings, policy.max_wait)
        ends: dt.datetime = latest + dt.timedelta(seconds=seconds)
        return ends

    def _address_wait_ends(
        self, session: Session, address: str | None, now: dt.datetime
    ) -> dt.datetime | None:
        """With ``address_limit`` failures from ``address`` in the last ``address_window``:
        when the oldest of them leaves the window."""
        policy = self.policy
        if address is None or policy.address_limit <= 0:
            return None
        window = dt.timedelta(seconds=policy.address_window)
        oldest_counted = session.scalar(
            select(SignInAttempt.at)
            .where(
                SignInAttempt.address == address,
                SignInAttempt.at > now - window,
                SignInAttempt.outcome == "failed",
            )
            .order_by(SignInAttempt.at.desc())
            .offset(policy.address_limit - 1)
            .limit(1)
        )
        return oldest_counted + window if oldest_counted is not None else None
