"""Replay: a case rebuilt from its records alone, step by step, under the definition version
pinned at each step (across migrations), every guard evaluated again with the data, ledger
and other cases as they stood then, and the actor's role checked against the grant log as
it was then. The outcome at any moment (``at``), and every divergence from what is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.projection import Divergence, Projection, compare, stored_entry
from engine.audit.verify import PinnedDefinitions
from engine.errors import NotFound
from engine.guards import evaluate_guards
from engine.language import Definition
from engine.runtime.access import Grant
from engine.runtime.case_views import record_json
from engine.runtime.cases import starter_roles
from engine.runtime.context import Context
from engine.runtime.evaluation import guard_context
from engine.store.chain import ChainChecker, format_time
from engine.store.models import Case, CaseLink, GrantEvent, LedgerEntry, TransitionRecord
from engine.studio.access import STUDIO_ROLES
from engine.text import Label


@dataclass
class GrantLog:
    """Who held which role where, at any moment, from the grant log."""

    events: dict[str, list[GrantEvent]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, users: Sequence[str]) -> GrantLog:
        log = cls()
        for event in session.scalars(
            select(GrantEvent)
            .where(GrantEvent.user_name.in_(list(set(users))))
            .order_by(GrantEvent.at, GrantEvent.id)
        ):
            log.events.setdefault(event.user_name, []).append(event)
        return log

    def grants_at(self, user: str, moment: dt.datetime) -> set[Grant] | None:
        """The user's grants at ``moment`` (None: the user was not active)."""
        grants: set[Grant] = set()
        active, known = True, False
        for event in self.events.get(user, []):
            if event.at > moment:
                break
            known = True
            if event.change == "granted" and event.role:
                grants.add(Grant(event.role, event.region_code))
            elif event.change == "revoked" and event.role:
                grants.discard(Grant(event.role, event.region_code))
            elif event.change in ("deactivated", "activated"):
                active = event.change == "activated"
        return grants if known and active else None


@dataclass
class Step:
    seq: int
    kind: str
    trigger: str
    source: str | None
    dest: str
    actor: str
    role: str | None
    at: str
    definition_version: int
    role_ok: bool
    guards_ok: bool
    matches: bool
    guards: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Replayer:
    def __init__(self, context: Context) -> None:
        self.context = context

    def replay(self, session: Session, case: Case, at: dt.datetime | None = None) -> dict[str, Any]:
        """The case rebuilt from its records up to ``at`` (default: all of them), with each
        step's checks and every divergence; compared with the stored rows when ``at`` is
        not given (or is after the last record)."""
        records = [
            record_json(r)
            for r in session.scalars(
                select(TransitionRecord)
                .where(TransitionRecord.case_id == case.id)
                .order_by(TransitionRecord.seq)
            )
        ]
        if records and at is not None and _time(records[0]["at"]) > at:
            asked, opened = format_time(at), records[0]["at"]
            raise NotFound(
                Label(
                    id=f"kasus {case.id} belum ada pada {asked}: kasus itu dibuka pada {opened}",
                    en=f"case {case.id} did not exist yet at {asked}: it was opened at {opened}",
                )
            )
        definitions = PinnedDefinitions(self.context)
        definitions.load(session)
        grants = GrantLog.load(session, [r["actor"] for r in records])
        projection = Projection(case.id)
        chain = ChainChecker()
        steps: list[Step] = []
        divergences: list[Divergence] = []
        seen: list[dict[str, Any]] = []
        complete = True
        for record in records:
            if at is not None and _time(record["at"]) > at:
                complete = False
                break
            before = len(chain.breaks)
            chain.add(record)
            found = [Divergence(b.seq, "chain", b.reason, None) for b in chain.breaks[before:]]
            problem = definitions.record_problem(record)
            if problem:
                found.append(Divergence(record["seq"], "definition", problem, None))
            definition = definitions.get(record["program"], record["definition_version"])
            found.extend(projection.apply(record, definition))
            step = self._step(session, case, record, definition, projection, grants, seen, found)
            steps.append(step)
            divergences.extend(found)
            seen.append(
                {"trigger": record["trigger"], "role": record["role"], "kind": record["kind"]}
            )
        if complete:
            entries = [
                stored_entry(e)
                for e in session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.case_id == case.id)
                    .order_by(LedgerEntry.id)
                )
            ]
            links = [
                (name, target)
                for name, target in session.execute(
                    select(CaseLink.field, CaseLink.target_id).where(CaseLink.case_id == case.id)
                )
            ]
            divergences.extend(
                compare(projection, case, entries, links, chain.started_under_rule_1)
            )
        snapshot = projection.snapshot()
        return {
            "case_id": case.id,
            "at": format_time(at) if at is not None else None,
            "state": snapshot["state"],
            "version": snapshot["version"],
            "definition_version": snapshot["definition_version"],
            "program": snapshot["program"],
            "data": snapshot["data"] or {},
            "ledger": snapshot["ledger"],
            "links": snapshot["links"],
            "steps": [s.to_json() for s in steps],
            "divergences": [d.to_json() for d in divergences],
            "old_rule_records": chain.old_rule,
            "matches": not divergences,
        }

    def _step(
        self,
        session: Session,
        case: Case,
        record: dict[str, Any],
        definition: Definition | None,
        projection: Projection,
        grants: GrantLog,
        seen: list[dict[str, Any]],
        found: list[Divergence],
    ) -> Step:
        seq, kind, trigger = record["seq"], record["kind"], record["trigger"]
        moment = _time(record["at"])
        region_codes = (projection.values["region_path"] or case.region_path).split("/")
        roles: tuple[str, ...] = ()
        replayed_guards: list[dict[str, Any]] = []
        if definition is None:
            found.append(Divergence(seq, "definition", "unreadable or missing", None))
        elif kind == "start":
            roles = tuple(starter_roles(definition))
        elif kind == "transition":
            transition = definition.transition(trigger, record["source"] or "")
            if transition is None:
                found.append(
                    Divergence(
                        seq,
                        "trigger",
                        trigger,
                        f"no '{trigger}' from '{record['source']}' in "
                        f"v{record['definition_version']}",
                    )
                )
            else:
                roles = transition.roles
                if transition.dest != record["dest"]:
                    found.append(Divergence(seq, "dest", record["dest"], transition.dest))
                context = guard_context(
                    session,
                    self.context.engine.dialect.name,
                    case,
                    definition,
                    projection.data,
                    projection.books(),
                    history=list(seen),
                    as_of=moment,
                )
                replayed_guards = [r.to_json() for r in evaluate_guards(transition.guards, context)]
                stored_ok = [(g.get("guard"), g.get("ok")) for g in record["guards"] or []]
                replayed_ok = [(g["guard"], g["ok"]) for g in replayed_guards]
                if stored_ok != replayed_ok:
                    found.append(Divergence(seq, "guards", stored_ok, replayed_ok))
        elif kind == "migration":
            roles = STUDIO_ROLES
        role_ok = self._role_ok(record, roles, region_codes, grants, moment)
        if not role_ok:
            found.append(
                Divergence(
                    seq,
                    "role",
                    f"{record['actor']} as {record['role']}",
                    "role not held in scope then"
                    if record["role"] in roles or kind == "escalation"
                    else f"needs {' or '.join(roles) or 'no role'}",
                )
            )
        guards_ok = all(g["ok"] for g in replayed_guards)
        return Step(
            seq=seq,
            kind=kind,
            trigger=trigger,
            source=record["source"],
            dest=record["dest"],
            actor=record["actor"],
            role=record["role"],
            at=record["at"],
            definition_version=record["definition_version"],
            role_ok=role_ok,
            guards_ok=guards_ok,
            matches=not found,
            guards=replayed_guards,
        )

    @staticmethod
    def _role_ok(
        record: dict[str, Any],
        roles: Sequence[str],
        region_codes: Sequence[str],
        grants: GrantLog,
        moment: dt.datetime,
    ) -> bool:
        if record["kind"] == "escalation":
            return record["actor"] == "system" and record["role"] is None
        if record["role"] not in roles:
            return False
        held = grants.grants_at(record["actor"], moment)
        return held is not None and any(
            g.role == record["role"] and g.covers(region_codes) for g in held
        )


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
