"""Firing at most once per ``Idempotency-Key``: a client that retries a firing (its
connection dropped before the answer came) sends the same key, and gets the first firing's
answer back instead of a second firing. Keys belong to the user who sent them and are kept
for :data:`KEEP` (``rukun tick`` removes older ones).

The key and the first answer are written in the firing's own transaction: either both are
committed or neither is, so no crash leaves a firing without its key (which a retry would
repeat) or a key without its firing (which a retry would wrongly answer). Only a firing
that moved the case is remembered: a refused one changed nothing, and its retry is decided
again on the case as it is then."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.errors import InvalidData
from engine.store.models import IdempotentRequest, utcnow
from engine.text import Label

#: How long a key is remembered (a retry later than this fires anew).
KEEP = dt.timedelta(hours=24)
MAX_KEY = 255


def check_key(key: str) -> str:
    """``key`` if it is 1 to :data:`MAX_KEY` visible ASCII characters; InvalidData else."""
    if not 1 <= len(key) <= MAX_KEY or not all(33 <= ord(c) < 127 for c in key):
        raise InvalidData(
            Label(
                id=f"Idempotency-Key terdiri atas 1 sampai {MAX_KEY} karakter ASCII yang "
                "terlihat (misalnya sebuah UUID)",
                en=f"an Idempotency-Key is 1 to {MAX_KEY} visible ASCII characters (a UUID, say)",
            )
        )
    return key


def fingerprint(
    case_id: int,
    trigger: str,
    values: Mapping[str, Any],
    attachments: Mapping[str, Path],
    expected_version: int | None,
) -> str:
    """The sha256 of everything a firing is asked to do: two requests with the same
    fingerprint would fire the same way on the same case."""
    files = {
        name: hashlib.sha256(Path(path).read_bytes()).hexdigest()
        for name, path in attachments.items()
    }
    asked = {
        "case": case_id,
        "trigger": trigger,
        "values": values,
        "files": files,
        "expected_version": expected_version,
    }
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Once:
    """One firing asked for with ``key`` by ``actor``; ``replayed`` tells, after the
    firing, whether its answer is the remembered first one."""

    actor: str
    key: str
    fingerprint: str
    replayed: bool = False

    def first(self, session: Session, now: dt.datetime | None = None) -> dict[str, Any] | None:
        """The first answer to this key, if one is remembered; InvalidData if the key was
        used for another request."""
        now = now or utcnow()
        row = session.scalar(
            select(IdempotentRequest)
            .where(IdempotentRequest.actor == self.actor)
            .where(IdempotentRequest.key == self.key)
        )
        if row is None:
            return None
        if row.created_at <= now - KEEP:  # forgotten: this request fires anew
            session.delete(row)
            session.flush()
            return None
        if row.fingerprint != self.fingerprint:
            raise InvalidData(
                Label(
                    id="Idempotency-Key ini sudah dipakai untuk permintaan lain: kirim kunci "
                    "baru untuk permintaan baru",
                    en="this Idempotency-Key was used for another request: send a new key"
                    " for a new request",
                )
            )
        self.replayed = True
        return dict(row.result)

    def remember(self, session: Session, case_id: int, result: Mapping[str, Any]) -> None:
        session.add(
            IdempotentRequest(
                actor=self.actor,
                key=self.key,
                fingerprint=self.fingerprint,
                case_id=case_id,
                result=dict(result),
                created_at=utcnow(),
            )
        )


def forget_expired(session: Session, now: dt.datetime) -> int:
    """Remove the keys older than :data:`KEEP`; how many."""
    removed = session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.created_at <= now - KEEP)
    )
    return int(getattr(removed, "rowcount", 0) or 0)
