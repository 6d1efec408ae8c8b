"""The studio's way in: what program officers see and do with workflow definitions. Every
method checks the actor may work on the program (role and region grant) here, in the
service layer, whatever calls it (views, commands)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import DefinitionError, Forbidden, InvalidData, NotFound, Problem
from engine.language import Definition, parse_definition
from engine.language.loader import parse_with_positions
from engine.runtime.access import Actor
from engine.runtime.context import Context
from engine.runtime.definition_log import event_json
from engine.runtime.definitions import Definitions, PublishResult, sha256_text, version_json
from engine.store.models import Case, DefinitionEvent, DefinitionVersion
from engine.studio.access import STUDIO_ROLES, may_work_on, program_role
from engine.studio.checks import lint_definition
from engine.studio.diff import structural_diff, text_diff
from engine.studio.drafts import NO_CHANGE_NOTE, Drafts
from engine.studio.migration import (
    Migrations,
    Plan,
    Progress,
    Selection,
    program_versions,
    proposed_state,
)
from engine.studio.simulation import Simulator, Step
from engine.text import Label


@dataclass(frozen=True)
class Check:
    """A draft text checked: its definition (None when invalid), errors and warnings."""

    definition: Definition | None
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    def to_json(self) -> dict[str, Any]:
        def one(problem: Problem, severity: str) -> dict[str, Any]:
            return {
                "line": problem.line,
                "col": problem.col,
                "message": problem.message,
                "severity": severity,
            }

        return {
            "valid": self.definition is not None,
            "problems": [one(p, "error") for p in self.problems]
            + [one(w, "warning") for w in self.warnings],
        }


class Studio:
    def __init__(self, context: Context, definitions: Definitions) -> None:
        self.context = context
        self.definitions = definitions
        self.drafts = Drafts(context, definitions)
        self.simulator = Simulator(context)
        self.migrations = Migrations(context)

    # ---------------------------------------------------------------- access
    def _actor(self, session: Session, name: str) -> Actor:
        """The user, who must hold a studio role somewhere (Forbidden otherwise)."""
        actor = self.context.actor(session, name)
        if not any(g.role in STUDIO_ROLES for g in actor.grants):
            raise Forbidden(
                Label(
                    id=f"pengguna '{name}' tidak dapat memakai studio: diperlukan peran "
                    "program_officer atau admin",
                    en=f"user '{name}' may not use the studio: it needs role program_officer "
                    "or admin",
                )
            )
        return actor

    def _published(self, session: Session) -> dict[str, DefinitionVersion]:
        rows = session.scalars(
            select(DefinitionVersion).where(DefinitionVersion.status == "published")
        )
        return {row.program: row for row in rows}

    def authorize(self, actor_name: str, program: str, action: Label) -> str:
        """The actor's studio role for ``program`` (its published regions), or Forbidden."""
        with self.context.sessions() as session:
            actor = self._actor(session, actor_name)
            published = self._published(session).get(program)
            regions = self.context.definition(published).regions if published else ()
            return program_role(session, actor, program, regions, action)

    # ---------------------------------------------------------------- reads
    def programs(self, actor_name: str) -> list[dict[str, Any]]:
        """The programs the actor may work on, each with its versions (and the running
        cases on each by state) and open drafts."""
        with self.context.sessions() as session:
            actor = self._actor(session, actor_name)
            published = self._published(session)
            allowed = [
                p
                for p, row in sorted(published.items())
                if may_work_on(session, actor, p, self.context.definition(row).regions)
            ]
            return self._overviews(session, published, allowed)

    def program(self, program: str, actor_name: str) -> dict[str, Any]:
        """One program as :meth:`programs` shows it, plus its definitions log (newest first)
        and every draft (open, published, discarded)."""
        self.authorize(actor_name, program, Label(id=f"membuka {program}", en=f"open {program}"))
        with self.context.sessions() as session:
            published = self._published(session)
            if program not in published:
                raise NotFound(
                    Label(
                        id=f"tidak ada program '{program}' yang diterbitkan",
                        en=f"no published program '{program}'",
                    )
                )
            (found,) = self._overviews(session, published, [program], drafts=None)
            found["events"] = [
                event_json(e)
                for e in session.scalars(
                    select(DefinitionEvent)
                    .where(DefinitionEvent.program == program)
                    .order_by(DefinitionEvent.id.desc())
                    .limit(200)
                )
            ]
        return found

    def _overviews(
        self,
        session: Session,
        published: Mapping[str, DefinitionVersion],
        programs: Sequence[str],
        drafts: str | None = "open",
    ) -> list[dict[str, Any]]:
        """Each of ``programs`` with its versions, cases by state and drafts (of status
        ``drafts``; None: all)."""
        counts = self._case_counts(session, programs)
        versions: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in session.scalars(
            select(DefinitionVersion)
            .where(DefinitionVersion.program.in_(list(programs)))
            .order_by(DefinitionVersion.program, DefinitionVersion.version.desc())
        ):
            versions[row.program].append(self._version(row, counts))
        listed = self.drafts.list(programs, status=drafts)
        result = []
        for program in programs:
            definition = self.context.definition(published[program])
            result.append(
                {
                    "program": program,
                    "title": definition.title.to_json(),
                    "regions": list(definition.regions),
                    "published_version": published[program].version,
                    "versions": versions[program],
                    "drafts": [d for d in listed if d["program"] == program],
                }
            )
        return result

    @staticmethod
    def _case_counts(session: Session, programs: Sequence[str]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        for version_id, state, count in session.execute(
            select(Case.definition_version_id, Case.state, func.count(Case.id))
            .where(Case.program.in_(list(programs)))
            .group_by(Case.definition_version_id, Case.state)
        ):
            counts[version_id][state] = count
        return counts

    def _version(
        self, row: DefinitionVersion, counts: Mapping[int, dict[str, int]]
    ) -> dict[str, Any]:
        definition = self.context.definition(row)
        by_state = counts.get(row.id, {})
        view = version_json(row)
        view["cases"] = [
            {
                "state": s.name,
                "label": s.label.to_json(),
                "final": s.final,
                "count": by_state[s.name],
            }
            for s in definition.states
            if by_state.get(s.name)
        ]
        view["running"] = sum(c["count"] for c in view["cases"] if not c["final"])
        return view

    def version_source(self, program: str, version: int, actor_name: str) -> str:
        self.authorize(actor_name, program, Label(id=f"membaca {program}", en=f"read {program}"))
        return self.definitions.get(program, version)[0].source

    def diff(
        self,
        program: str,
        from_version: int | None = None,
        to_version: int | None = None,
        text: str | None = None,
        source: str = "<file>",
    ) -> dict[str, Any]:
        """The structural and text diff from version ``from_version`` (default: the
        published one) to ``to_version`` (default: the newest) or to ``text``."""
        old_row, old = self.definitions.get(program, from_version)
        if text is not None:
            new_name, new_text, new = source, text, parse_definition(text, source)
        else:
            if to_version is None:
                with self.context.sessions() as session:
                    to_version = max(v.version for v in program_versions(session, program).values())
            new_row, new = self.definitions.get(program, to_version)
            new_name, new_text = f"{program} v{new_row.version}", new_row.source
        result = structural_diff(old, new)
        return {
            "from": old_row.version,
            "to": new_name,
            "structural": result,
            "text": text_diff(old_row.source, new_text, f"{program} v{old_row.version}", new_name),
        }

    def publish_text(
        self, text: str, source_name: str, actor_name: str, note: str | None
    ) -> PublishResult:
        """Publish a file as ``actor_name`` (checked like a draft's publication, which
        needs a change note too, unless the file is the published version already)."""
        definition = parse_definition(text, source_name)
        with self.context.sessions() as session:
            actor = self._actor(session, actor_name)
            publish = Label(id="menerbitkannya", en="publish it")
            self.drafts.authorize(session, actor, definition.program, text, publish)
            current = self._published(session).get(definition.program)
        unchanged = current is not None and current.sha256 == sha256_text(text)
        if not (note or "").strip() and not unchanged:
            raise InvalidData(NO_CHANGE_NOTE)
        return self.definitions.publish_text(text, source_name, actor_name, note)

    @staticmethod
    def check(text: str, source: str = "<draft>") -> Check:
        """What the editor shows as the officer types: the validator's problems, and when
        the text is valid the checks beyond syntax (warnings) and the parsed definition."""
        try:
            definition, positions = parse_with_positions(text, source)
        except DefinitionError as error:
            return Check(None, tuple(error.problems), ())
        return Check(definition, (), tuple(lint_definition(definition, positions)))

    def migration_choices(self, program: str, to_version: int, actor_name: str) -> dict[str, Any]:
        """What the migration form offers: the versions, and each state running cases of
        other versions are in, with how many, whether the target has it, and a proposal."""
        self.authorize(actor_name, program, _migrate(program))
        target_row, target = self.definitions.get(program, to_version)
        with self.context.sessions() as session:
            versions = program_versions(session, program)
            rows = session.execute(
                select(Case.definition_version_id, Case.state, func.count(Case.id))
                .where(Case.program == program, Case.definition_version_id != target_row.id)
                .group_by(Case.definition_version_id, Case.state)
            ).all()
        states: dict[str, dict[str, Any]] = {}
        for version_id, state, count in rows:
            old = self.context.definition(versions[version_id])
            if old.state(state).final:
                continue
            entry = states.setdefault(
                state,
                {
                    "state": state,
                    "label": old.state(state).label.to_json(),
                    "count": 0,
                    "versions": [],
                    "exists": target.has_state(state),
                    "proposed": proposed_state(old, state, target),
                },
            )
            entry["count"] += count
            entry["versions"] = sorted({*entry["versions"], versions[version_id].version})
        return {
            "program": program,
            "to_version": target_row.version,
            "versions": sorted(v.version for v in versions.values()),
            "states": sorted(states.values(), key=lambda e: e["state"]),
            "target_states": [
                {"state": s.name, "label": s.label.to_json(), "final": s.final}
                for s in target.states
            ],
        }

    # ---------------------------------------------------------------- try it
    def simulate(
        self,
        text: str,
        subject: str,
        steps: Sequence[Step],
        year: int = 2026,
        source: str = "<draft>",
    ) -> list[dict[str, Any]]:
        """Run ``steps`` against the definition ``text`` (see :class:`Simulator`)."""
        return self.simulator.run(parse_definition(text, source), subject, steps, year)

    def impact(self, text: str, source: str = "<draft>") -> dict[str, Any]:
        """The program's running cases that the definition ``text`` would strand (their state
        is gone, is final there, or only a "*" transition leaves it), with a mapping."""
        new = parse_definition(text, source)
        stranded: list[dict[str, Any]] = []
        running = 0
        with self.context.sessions() as session:
            versions = program_versions(session, new.program)
            for case_id, subject, version_id, state in session.execute(
                select(Case.id, Case.subject_code, Case.definition_version_id, Case.state)
                .where(Case.program == new.program)
                .order_by(Case.id)
            ):
                old = self.context.definition(versions[version_id])
                if old.state(state).final:
                    continue
                running += 1
                problem = self._stranding(new, state)
                if problem:
                    stranded.append(
                        {
                            "case_id": case_id,
                            "subject": subject,
                            "version": versions[version_id].version,
                            "state": state,
                            "problem": problem,
                            "proposed": proposed_state(old, state, new),
                        }
                    )
        mapping = {c["state"]: c["proposed"] for c in stranded}
        return {
            "program": new.program,
            "running": running,
            "stranded": stranded,
            "mapping": mapping,
        }

    @staticmethod
    def _stranding(new: Definition, state: str) -> str | None:
        if not new.has_state(state):
            return f"state '{state}' no longer exists"
        if new.state(state).final:
            return f"state '{state}' is final in the new definition: the case would stop there"
        exits = new.transitions_from(state)
        if exits and all(t.any_source for t in exits):
            names = ", ".join(sorted({t.trigger for t in exits}))
            return f"only {names} leaves state '{state}' in the new definition"
        return None

    # ---------------------------------------------------------------- migrate
    def migrate(
        self,
        program: str,
        to_version: int,
        actor_name: str,
        selection: Selection | None = None,
        mapping: Mapping[str, str] | None = None,
        note: str = "",
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> Plan:
        """Validate the migration of the selected cases; unless ``dry_run`` and when valid,
        apply it (rows then say what happened to each case)."""
        role = self.authorize(actor_name, program, _migrate(program))
        with self.context.sessions() as session:
            plan = self.migrations.plan(
                session, program, to_version, selection or Selection(), mapping or {}
            )
        if dry_run or not plan.valid:
            return plan
        plan.rows = self.migrations.apply(plan, actor_name, role, note.strip(), progress)
        return plan


def _migrate(program: str) -> Label:
    return Label(id=f"memindahkan kasus {program}", en=f"migrate {program} cases")
