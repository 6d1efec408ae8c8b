"""The call centre's view of cases (issue 13): a resident calls and asks "where is our RT's
proposal?"; the call centre finds the case by its number, the RT's, Pokmas' or group's
name or code, or the kelurahan's or kecamatan's name, and tells them where it is stuck,
which role must act next, since when, whether it is overdue, and how to reach that office.
A query module: nothing here writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from engine.errors import InvalidQuery
from engine.language import Definition
from engine.language.roles import READ_ONLY_ROLES, level_rank
from engine.runtime.access import Actor
from engine.runtime.cases import Cases
from engine.runtime.context import Context
from engine.store.chain import format_time
from engine.store.models import Case, Region, utcnow
from engine.text import Label

#: Who may use the view: the call centre, and admins (who set it up and answer for it).
CALL_CENTRE_ROLES = ("call_centre", "admin")
#: Whose name a search matches to find the cases inside them (besides the cases' subjects).
AREA_LEVELS = ("kecamatan", "kelurahan")
#: At most this many such regions are searched (one query each); a longer search narrows it.
AREA_MATCHES = 10
#: The longest search text (a case number, a name or the start of a code).
MAX_QUERY = 200


@dataclass(frozen=True)
class Office:
    """The region whose office a role acts for, and how residents reach it."""

    code: str
    level: str
    name: str
    contact: str | None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "level": self.level, "name": self.name, "contact": self.contact}


def case_number(text: str) -> int | None:
    """The case number in ``123`` or ``#123``, or None when ``text`` is not one."""
    digits = text.removeprefix("#").strip()
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 9 else None


def office_for(level: str | None, path: Sequence[Office]) -> Office | None:
    """The office at ``level`` along a case's region ``path`` (widest first), or the
    nearest wider one when the path has no region of that level; None for a role without
    a level (it acts anywhere: no one office)."""
    if level is None:
        return None
    for region in reversed(path):
        if level_rank(region.level) <= level_rank(level):
            return region
    return None


def next_actors(definition: Definition, state: str, path: Sequence[Office]) -> list[dict[str, Any]]:
    """The roles that must act for the case to move on from ``state``: those of the
    transitions leaving it (not a "*" one such as cancel), in the definition's order, each
    with the triggers it may fire there and its office along ``path``."""
    triggers: dict[str, list[dict[str, Any]]] = {}
    for transition in definition.steps_from(state):
        for role in transition.roles:
            if role in READ_ONLY_ROLES:
                continue
            listed = triggers.setdefault(role, [])
            if all(t["trigger"] != transition.trigger for t in listed):
                listed.append({"trigger": transition.trigger, "label": transition.label.to_json()})
    actors = []
    for role, fired in triggers.items():
        spec = definition.roles.get(role)
        office = office_for(spec.level if spec else None, path)
        actors.append(
            {
                "role": role,
                "role_label": spec.label.to_json() if spec else {"id": role, "en": role},
                "triggers": fired,
                "office": office.to_json() if office else None,
            }
        )
    return actors


class CallCentre:
    """Finding cases for callers, within the call centre's region scope."""

    def __init__(self, context: Context, cases: Cases) -> None:
        self.context = context
        self.cases = cases

    def find(
        self, viewer: str, q: str, limit: int = 50, now: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """Cases within ``viewer``'s scope that ``q`` names: a case number (``123`` or
        ``#123``); else cases whose subject's name contains it or whose code starts with it
        (an RT, a Pokmas or group), then the cases inside the kecamatan and kelurahan whose
        name contains it (at most :data:`AREA_MATCHES` of them). Most recently changed
        first within each, at most ``limit``; each with where it stands, since when,
        whether it is overdue at ``now`` (default: now), and who must act next and how to
        reach that office. :class:`Forbidden` unless the viewer holds one of
        :data:`CALL_CENTRE_ROLES`."""
        text = q.strip()
        if len(text) > MAX_QUERY:
            raise InvalidQuery(
                Label(
                    id=f"pencarian paling banyak {MAX_QUERY} karakter, bukan {len(text)}",
                    en=f"a search has at most {MAX_QUERY} characters, not {len(text)}",
                )
            )
        number = case_number(text)
        with self.context.sessions() as session:
            actor = self.context.actor(session, viewer)
            actor.require_role(
                CALL_CENTRE_ROLES,
                Label(id="membuka tampilan Pusat layanan", en="use the call-centre view"),
            )
            areas = self._areas(session, actor, text) if text and number is None else []
        if not text:
            return []
        found = dict.fromkeys(
            self._ids(viewer, limit, search=text if number is None else str(number))
        )
        for code in areas:
            if len(found) >= limit:
                break
            found.update(dict.fromkeys(self._ids(viewer, limit, region=code)))
        return self._results(list(found)[:limit], now or utcnow())

    def _ids(self, viewer: str, limit: int, **query: Any) -> list[int]:
        """The cases of one :meth:`Cases.page` (scoped to the viewer), newest change first."""
        page = self.cases.page(viewer=viewer, limit=limit, sort="-updated_at", **query)
        return [row["id"] for row in page.rows]

    @staticmethod
    def _areas(session: Session, actor: Actor, text: str) -> list[str]:
        """Codes of the kecamatan and kelurahan within the actor's scope whose name contains
        ``text`` (ignoring case), by code, at most :data:`AREA_MATCHES`."""
        query = (
            select(Region.code)
            .where(Region.level.in_(AREA_LEVELS))
            .where(Region.name.icontains(text, autoescape=True))
        )
        if all(g.region_code is not None for g in actor.grants):
            scopes = session.scalars(
                select(Region.path).where(Region.code.in_({g.region_code for g in actor.grants}))
            )
            query = query.where(
                or_(
                    false(),
                    *(
                        or_(Region.path == p, Region.path.startswith(p + "/", autoescape=True))
                        for p in scopes
                    ),
                )
            )
        return list(session.scalars(query.order_by(Region.code).limit(AREA_MATCHES)))

    def _results(self, case_ids: Sequence[int], now: dt.datetime) -> list[dict[str, Any]]:
        """The found cases as the call centre reads them: where each stands (no case data
        at all; its state and since when from one read of its row, so they agree), and the
        next roles with their offices; at most three queries."""
        if not case_ids:
            return []
        with self.context.sessions() as session:
            cases = {
                case.id: case
                for case in session.execute(
                    select(
                        Case.id,
                        Case.program,
                        Case.definition_version_id,
                        Case.subject_code,
                        Case.region_path,
                        Case.year,
                        Case.state,
                        Case.state_entered_at,
                        Case.due_at,
                    ).where(Case.id.in_(case_ids))
                )
            }
            offices = _offices(
                session, (c for case in cases.values() for c in case.region_path.split("/"))
            )
            definitions = {
                case.definition_version_id: self.context.pinned(
                    session, case.definition_version_id
                ).definition
                for case in cases.values()
            }
        results = []
        for case_id in case_ids:
            case = cases[case_id]
            definition = definitions[case.definition_version_id]
            state = definition.state(case.state)
            chain = [offices[code] for code in case.region_path.split("/") if code in offices]
            results.append(
                {
                    "id": case.id,
                    "program": case.program,
                    "program_title": definition.title.to_json(),
                    "subject": case.subject_code,
                    "subject_name": chain[-1].name if chain else case.subject_code,
                    "year": case.year,
                    "state": state.name,
                    "state_label": state.label.to_json(),
                    "final": state.final,
                    "since": format_time(case.state_entered_at),
                    "due_at": format_time(case.due_at) if case.due_at else None,
                    "overdue": bool(case.due_at and case.due_at < now),
                    "next": [] if state.final else next_actors(definition, state.name, chain),
                }
            )
        return results


def _offices(session: Session, codes: Iterable[str]) -> dict[str, Office]:
    """The regions of ``codes`` with their contacts, by code (one query)."""
    wanted = sorted(set(codes))
    rows = session.execute(
        select(Region.code, Region.level, Region.name, Region.contact).where(
            Region.code.in_(wanted)
        )
    )
    return {code: Office(code, level, name, contact) for code, level, name, contact in rows}
