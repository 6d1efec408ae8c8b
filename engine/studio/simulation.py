"""Try a definition before publishing it: run a path of steps (trigger, acting role, values,
documents) on an imagined case about a real subject region, with the real forms, ledger and
guards; report every step and every guard. Nothing is stored."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidData, NotFound, RukunError
from engine.guards import evaluate_guards
from engine.language import Definition
from engine.runtime.cases import check_subject
from engine.runtime.context import Context
from engine.runtime.evaluation import guard_context, posting
from engine.runtime.forms import clean
from engine.runtime.ledger import LedgerState
from engine.store.models import Case, Region

STEP_KEYS = ("trigger", "role", "set", "attach")


@dataclass(frozen=True)
class Step:
    trigger: str
    role: str
    values: Mapping[str, Any]
    attach: tuple[str, ...]


def parse_steps(raw: Any) -> list[Step]:
    """Steps as written in a STEPS.yaml file or the studio's form: a list of
    ``{trigger, role, set: {field: value}, attach: [field]}``."""
    if not isinstance(raw, list) or not raw:
        raise InvalidData("steps must be a non-empty list of {trigger, role, set, attach}")
    steps = []
    for number, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            raise InvalidData(f"step {number}: must be a mapping with trigger and role")
        unknown = sorted(set(item) - set(STEP_KEYS))
        if unknown:
            raise InvalidData(
                f"step {number}: unknown key {', '.join(unknown)} (one of {', '.join(STEP_KEYS)})"
            )
        trigger, role = item.get("trigger"), item.get("role")
        if not isinstance(trigger, str) or not isinstance(role, str):
            raise InvalidData(f"step {number}: needs a 'trigger' and a 'role'")
        values = item.get("set") or {}
        attach = item.get("attach") or []
        if not isinstance(values, Mapping) or not isinstance(attach, list):
            raise InvalidData(f"step {number}: 'set' is a mapping, 'attach' a list of fields")
        steps.append(Step(trigger, role, dict(values), tuple(str(a) for a in attach)))
    return steps


def _document(field: str) -> dict[str, Any]:
    """A stand-in for an attached file: nothing is stored, the guards see a document."""
    digest = hashlib.sha256(f"simulated document {field}".encode()).hexdigest()
    return {
        "sha256": digest,
        "filename": f"{field}.pdf",
        "size": 0,
        "media_type": "application/pdf",
    }


class Simulator:
    """Runs steps against a definition in a read-only session (counts of other cases and
    the region tree are real; the case, its documents and its ledger are imagined)."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.dialect = context.engine.dialect.name

    def run(
        self, definition: Definition, subject: str, steps: Sequence[Step], year: int = 2026
    ) -> list[dict[str, Any]]:
        """Each step's ``{step, trigger, role, source, dest, ok, guards, error}``, up to and
        including the first refused one."""
        with self.context.sessions() as session:
            region = session.get(Region, subject)
            if region is None:
                raise NotFound(f"no region {subject}")
            check_subject(definition, region)
            case = Case(
                program=definition.program,
                subject_code=region.code,
                region_path=region.path,
                year=year,
                state=definition.initial_state.name,
                data={},
            )
            history: list[dict[str, Any]] = [{"trigger": "start", "role": None, "kind": "start"}]
            books = LedgerState()
            results = []
            for number, step in enumerate(steps, 1):
                result, books = self._step(session, definition, case, books, history, step)
                results.append({"step": number, **result})
                if not result["ok"]:
                    break
            session.rollback()
            return results

    def _step(
        self,
        session: Any,
        definition: Definition,
        case: Case,
        books: LedgerState,
        history: list[dict[str, Any]],
        step: Step,
    ) -> tuple[dict[str, Any], LedgerState]:
        source = case.state
        result: dict[str, Any] = {
            "trigger": step.trigger,
            "role": step.role,
            "source": source,
            "dest": None,
            "ok": False,
            "guards": [],
            "error": None,
        }
        transition = definition.transition(step.trigger, source)
        if transition is None:
            available = ", ".join(t.trigger for t in definition.transitions_from(source))
            result["error"] = (
                f"'{step.trigger}' cannot be fired in state '{source}' "
                f"(available there: {available or 'none'})"
            )
            return result, books
        result["dest"] = transition.dest
        if step.role not in transition.roles:
            result["error"] = (
                f"role '{step.role}' may not fire '{step.trigger}' "
                f"(it needs {' or '.join(transition.roles)})"
            )
            return result, books
        try:
            unexpected = sorted(set(step.attach) - set(transition.form_fields))
            if unexpected:
                raise InvalidData(f"not part of this form: {', '.join(unexpected)}")
            raw = {**step.values, **{name: _document(name) for name in step.attach}}
            payload = clean(definition, transition.form, raw)
            data = {**case.data, **payload}
            after = posting(books, transition, data, None)[1]
        except RukunError as error:
            result["error"] = error.message
            return result, books
        context = guard_context(session, self.dialect, case, definition, data, after, history)
        guards = evaluate_guards(transition.guards, context)
        result["guards"] = [g.to_json() for g in guards]
        failed = [g for g in guards if not g.ok]
        if failed:
            result["error"] = "; ".join(
                f"{g.name}: {g.message.en if g.message else 'failed'}" for g in failed
            )
            return result, books
        result["ok"] = True
        case.state, case.data = transition.dest, data
        history.append({"trigger": step.trigger, "role": step.role, "kind": "transition"})
        return result, after
