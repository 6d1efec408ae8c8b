"""Who is told what about a case, and in which words (Indonesian and English).

- ``waiting``: the record moved the case into a state (a start, a transition to another
  state, a migration) that is not final, and the case is still there: every active user
  holding a role of a transition out of it (not a ``"*"`` one such as cancel) in a region
  covering the case. A self-loop (a progress report, an LPJ) leaves the case waiting for
  the same roles, who were told when it entered the state.
- ``returned``: a transition that refuses or sends back (:func:`is_return`): everyone who
  acted on the case before.
- ``escalated``: an escalation record, while the case is still in that state: everyone
  who acted on it before, those who must act now, and the holders of the deadline's
  ``escalate_to`` role covering the case.
- ``due_soon`` (:meth:`~engine.runtime.notifications.Notifications.deadlines`): those who
  must act, when the state's deadline is near.

Never the record's own actor; earlier actors only while a grant of theirs still covers the
case (they may still see it). A user to whom several kinds apply gets one notification:
the first of :data:`PRECEDENCE` they have not turned off. Texts name the case number, the
program, the subject, the state and the step, never a value of the case's data.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from engine.language import Definition
from engine.language.model import Label
from engine.language.roles import BUILTIN_ROLES
from engine.store.models import RoleGrant, TransitionRecord, User

if TYPE_CHECKING:
    from engine.runtime.outbox import Event

KINDS = ("waiting", "returned", "escalated", "due_soon")
CHANNELS = ("in_app", "email")
#: Most specific first: of the kinds that apply to a user for one event, the one they get.
PRECEDENCE = ("escalated", "returned", "waiting", "due_soon")
#: A transition refuses or sends back when its trigger is ``reject`` or ``return`` or
#: starts with ``reject_`` or ``return_`` (reject_city, return_for_revision, return_lpj),
#: or when it leads to a state of one of these names (every workflows/*.yaml uses them).
RETURN_TRIGGER = re.compile(r"(?:reject|return)(?:_\w*)?")
RETURN_STATES = frozenset({"rejected", "revision_requested"})
#: Who the engine itself acts as (escalations): never a recipient.
SYSTEM = "system"
#: Times in texts, as on screen: WITA.
WITA = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Channels:
    in_app: bool
    email: bool


#: Without a choice of their own: every kind on the bell; e-mail (for a user with an
#: address) when a case waits for them or was escalated.
DEFAULTS = {kind: Channels(True, kind in ("waiting", "escalated")) for kind in KINDS}


@dataclass(frozen=True)
class Recipient:
    id: int
    name: str
    email: str | None


@dataclass(frozen=True)
class Texts:
    title: Label
    body: Label


@dataclass(frozen=True)
class CaseFacts:
    """What a text says about its case."""

    case_id: int
    definition: Definition
    subject_name: str
    year: int
    state: str


def is_return(record: dict[str, object]) -> bool:
    """The record is a transition that refuses the case or sends it back."""
    return record.get("kind") == "transition" and bool(
        RETURN_TRIGGER.fullmatch(str(record.get("trigger") or ""))
        or record.get("dest") in RETURN_STATES
    )


def acting_roles(definition: Definition, state: str) -> frozenset[str]:
    """The roles that may move a case on from ``state`` (none from a final or unknown
    state; a ``"*"`` transition such as cancel does not count)."""
    if not definition.has_state(state) or definition.state(state).final:
        return frozenset()
    return frozenset(role for t in definition.steps_from(state) for role in t.roles)


def _covering(region_path: Sequence[str]) -> Select[int, str, str | None]:
    """Active users with a grant covering a case whose subject's path is ``region_path``."""
    return (
        select(User.id, User.name, User.email)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.active.is_(True), User.name != SYSTEM)
        .where(or_(RoleGrant.region_code.is_(None), RoleGrant.region_code.in_(region_path)))
        .distinct()
    )


def _recipients(session: Session, query: Select[int, str, str | None]) -> list[Recipient]:
    return [Recipient(row.id, row.name, row.email) for row in session.execute(query)]


def holders(
    session: Session, roles: Collection[str], region_path: Sequence[str]
) -> list[Recipient]:
    """Active users holding one of ``roles`` in a region covering the case."""
    if not roles:
        return []
    return _recipients(session, _covering(region_path).where(RoleGrant.role.in_(roles)))


def earlier_actors(
    session: Session, case_id: int, seq: int, region_path: Sequence[str]
) -> list[Recipient]:
    """Who acted on the case before record ``seq``, if still active and in scope."""
    actors = select(TransitionRecord.actor).where(
        TransitionRecord.case_id == case_id, TransitionRecord.seq < seq
    )
    return _recipients(session, _covering(region_path).where(User.name.in_(actors)))


def kinds_for(session: Session, event: Event) -> dict[Recipient, set[str]]:
    """Each recipient of ``event`` with the kinds that apply to them (see the module)."""
    record = event.record
    dest, definition = str(record["dest"]), event.definition
    here = event.state == dest  # the case has not moved on since the record
    found: dict[Recipient, set[str]] = {}

    def add(kind: str, recipients: list[Recipient]) -> None:
        for recipient in recipients:
            found.setdefault(recipient, set()).add(kind)

    path = event.region_path
    if record["kind"] == "escalation":
        if here:
            deadline = definition.state(dest).deadline if definition.has_state(dest) else None
            roles = set(acting_roles(definition, dest))
            if deadline is not None and deadline.escalate_to:
                roles.add(deadline.escalate_to)
            add("escalated", earlier_actors(session, event.case_id, int(record["seq"]), path))
            add("escalated", holders(session, roles, path))
    else:
        if is_return(record):
            add("returned", earlier_actors(session, event.case_id, int(record["seq"]), path))
        if here and record.get("source") != dest:
            add("waiting", holders(session, acting_roles(definition, dest), path))
    return {r: kinds for r, kinds in found.items() if r.name != record.get("actor")}


# ------------------------------------------------------------------------------ texts


def plain(text: object) -> str:
    """``text`` on one line: control and format characters (line breaks among them)
    become spaces, so that no name can break a header or fake a line of a message."""
    cleaned = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(text))
    return " ".join(cleaned.split())


def _step(record: dict[str, object], definition: Definition) -> Label:
    """What the record did, as the workflow names it."""
    kind = record.get("kind")
    if kind == "start":
        return Label("Kasus dibuka", "Case opened")
    if kind == "migration":
        return Label("Dipindahkan ke versi alur kerja baru", "Moved to a new workflow version")
    source = record.get("source")
    transition = definition.transition(str(record["trigger"]), str(source)) if source else None
    return transition.label if transition else Label(str(record["trigger"]), str(record["trigger"]))


def _state(definition: Definition, state: str) -> Label:
    return definition.state(state).label if definition.has_state(state) else Label(state, state)


def _role(definition: Definition, role: str) -> Label:
    spec = definition.roles.get(role) or BUILTIN_ROLES.get(role)
    return spec.label if spec is not None else Label(role, role)


def _lines(facts: CaseFacts, *rows: tuple[str, str, Label | str]) -> Label:
    """The body: the program, subject and year, then ``(id caption, en caption, value)``
    rows."""
    title = facts.definition.title
    subject = plain(facts.subject_name)
    lines = {
        "id": [f"{plain(title.id)} · {subject} · {facts.year}"],
        "en": [f"{plain(title.en)} · {subject} · {facts.year}"],
    }
    for caption_id, caption_en, value in rows:
        value_id = plain(value.id if isinstance(value, Label) else value)
        value_en = plain(value.en if isinstance(value, Label) else value)
        lines["id"].append(f"{caption_id}: {value_id}")
        lines["en"].append(f"{caption_en}: {value_en}")
    return Label("\n".join(lines["id"]), "\n".join(lines["en"]))


def event_texts(kind: str, event: Event) -> Texts:
    """The title and body of a ``waiting``, ``returned`` or ``escalated`` notification."""
    record, definition = event.record, event.definition
    number = event.case_id
    dest = str(record["dest"])
    facts = CaseFacts(number, definition, event.subject_name, event.year, dest)
    state = _state(definition, dest)
    if kind == "escalated":
        deadline = definition.state(dest).deadline if definition.has_state(dest) else None
        rows: list[tuple[str, str, Label | str]] = [("Tahap", "Stage", state)]
        if deadline is not None and deadline.escalate_to:
            rows.append(("Diteruskan ke", "Escalated to", _role(definition, deadline.escalate_to)))
        title = Label(f"Kasus #{number} melewati tenggat", f"Case #{number} is past its deadline")
        return Texts(title, _lines(facts, *rows))
    body = _lines(
        facts,
        ("Tahap sekarang", "Stage now", state),
        ("Langkah terakhir", "Last step", _step(record, definition)),
        ("Oleh", "By", plain(record.get("actor") or "")),
    )
    if kind == "returned":
        refused = definition.has_state(dest) and definition.state(dest).final
        title = (
            Label(f"Kasus #{number} ditolak", f"Case #{number} was refused")
            if refused
            else Label(f"Kasus #{number} dikembalikan", f"Case #{number} was sent back")
        )
        return Texts(title, body)
    title = Label(f"Kasus #{number} menunggu tindakan Anda", f"Case #{number} is waiting for you")
    return Texts(title, body)


def due_texts(facts: CaseFacts, due_at: dt.datetime) -> Texts:
    """The title and body of a ``due_soon`` notification."""
    number = facts.case_id
    due = due_at.astimezone(WITA).strftime("%d-%m-%Y %H:%M WITA")
    body = _lines(
        facts,
        ("Tahap", "Stage", _state(facts.definition, facts.state)),
        ("Tenggat", "Due", due),
    )
    title = Label(f"Tenggat kasus #{number} sudah dekat", f"The deadline of case #{number} is near")
    return Texts(title, body)
