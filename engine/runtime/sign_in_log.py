"""Reading the sign-in log (admins only): attempts newest first, by name and outcome."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.errors import InvalidData
from engine.runtime.context import Context
from engine.runtime.sign_in import OUTCOMES
from engine.store.chain import format_time
from engine.store.models import SignInAttempt
from engine.text import Label

#: Who may read the log.
LOG_ROLES = ("admin",)
MAX_LIMIT = 1000


def attempt_json(attempt: SignInAttempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "at": format_time(attempt.at),
        "name": attempt.user_name,
        "address": attempt.address,
        "outcome": attempt.outcome,
        "user_agent": attempt.user_agent,
    }


class SignInLog:
    def __init__(self, context: Context) -> None:
        self.context = context

    def list(
        self,
        viewer: str,
        *,
        name: str | None = None,
        outcome: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Attempts newest first: those whose name contains ``name`` (ignoring case), of
        ``outcome``, older than attempt ``before`` (the next page); Forbidden unless
        ``viewer`` holds a role of :data:`LOG_ROLES`."""
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidData(
                Label(
                    id=f"hasil '{outcome}' tidak dikenal (salah satu dari {', '.join(OUTCOMES)})",
                    en=f"unknown outcome '{outcome}' (one of {', '.join(OUTCOMES)})",
                )
            )
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidData(
                Label(
                    id=f"batas harus antara 1 dan {MAX_LIMIT}",
                    en=f"limit must be between 1 and {MAX_LIMIT}",
                )
            )
        with self.context.sessions() as session:
            action = Label(id="membaca log upaya masuk", en="read the sign-in log")
            self.context.actor(session, viewer).require_role(LOG_ROLES, action)
            query = select(SignInAttempt).order_by(SignInAttempt.id.desc()).limit(limit)
            if name:
                query = query.where(SignInAttempt.user_name.icontains(name, autoescape=True))
            if outcome:
                query = query.where(SignInAttempt.outcome == outcome)
            if before is not None:
                query = query.where(SignInAttempt.id < before)
            return [attempt_json(row) for row in session.scalars(query)]
