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
from engine.text import Label

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
        raise InvalidData(
            Label(
                id="langkah-langkah berupa daftar tak kosong {trigger, role, set, attach}",
                en="steps must be a non-empty list of {trigger, role, set, attach}",
            )
        )
    steps = []
    for number, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            raise InvalidData(
                Label(
                    id=f"langkah {number}: harus berupa pemetaan dengan trigger dan role",
                    en=f"step {number}: must be a mapping with trigger and role",
                )
            )
        unknown, known = ", ".join(sorted(set(item) - set(STEP_KEYS))), ", ".join(STEP_KEYS)
        if unknown:
            raise InvalidData(
                Label(
                    id=f"langkah {number}: kunci {unknown} tidak dikenal (salah satu dari {known})",
                    en=f"step {number}: unknown key {unknown} (one of {known})",
                )
            )
        trigger, role = item.get("trigger"), item.get("role")
        if not isinstance(trigger, str) or not isinstance(role, str):
            raise InvalidData(
                Label(
                    id=f"langkah {number}: memerlukan 'trigger' dan 'role'",
                    en=f"step {number}: needs a 'trigger' and a 'role'",
                )
            )
        values = item.get("set") or {}
        attach = item.get("attach") or []
        if not isinstance(values, Mapping) or not isinstance(attach, list):
            raise InvalidData(
                Label(
                    id=f"langkah {number}: 'set' berupa pemetaan, 'attach' berupa daftar isian",
                    en=f"step {number}: 'set' is a mapping, 'attach' a list of fields",
                )
            )
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
        """Each step's ``{step, trigger, role, source, dest, ok, guards, error, error_text}``
        (why a step is refused in English, and as ``{id, en}``), up to and including the first
        refused one."""
        with self.context.sessions() as session:
            region = session.get(Region, subject)
            if region is None:
                raise NotFound(Label(id=f"tidak ada wilayah {subject}", en=f"no region {subject}"))
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
            "error_text": None,
        }
        transition = definition.transition(step.trigger, source)
        if transition is None:
            available = ", ".join(t.trigger for t in definition.transitions_from(source))
            _refused(
                result,
                Label(
                    id=f"'{step.trigger}' tidak dapat dijalankan pada tahap '{source}' "
                    f"(yang tersedia di sana: {available or 'tidak ada'})",
                    en=f"'{step.trigger}' cannot be fired in state '{source}' "
                    f"(available there: {available or 'none'})",
                ),
            )
            return result, books
        result["dest"] = transition.dest
        if step.role not in transition.roles:
            _refused(
                result,
                Label(
                    id=f"peran '{step.role}' tidak dapat menjalankan '{step.trigger}' "
                    f"(diperlukan {' atau '.join(transition.roles)})",
                    en=f"role '{step.role}' may not fire '{step.trigger}' "
                    f"(it needs {' or '.join(transition.roles)})",
                ),
            )
            return result, books
        try:
            unexpected = ", ".join(sorted(set(step.attach) - set(transition.form_fields)))
            if unexpected:
                raise InvalidData(
                    Label(
                        id=f"bukan bagian formulir ini: {unexpected}",
                        en=f"not part of this form: {unexpected}",
                    )
                )
            raw = {**step.values, **{name: _document(name) for name in step.attach}}
            payload = clean(definition, transition.form, raw)
            data = {**case.data, **payload}
            after = posting(books, transition, data, None)[1]
        except RukunError as error:
            _refused(result, Label(id=error.text("id"), en=error.message))
            return result, books
        context = guard_context(session, self.dialect, case, definition, data, after, history)
        guards = evaluate_guards(transition.guards, context)
        result["guards"] = [g.to_json() for g in guards]
        failed = [g for g in guards if not g.ok]
        if failed:
            reasons = [
                (g.name, g.message or Label(id="tidak terpenuhi", en="failed")) for g in failed
            ]
            _refused(
                result,
                Label(
                    id="; ".join(f"{name}: {why.id}" for name, why in reasons),
                    en="; ".join(f"{name}: {why.en}" for name, why in reasons),
                ),
            )
            return result, books
        result["ok"] = True
        case.state, case.data = transition.dest, data
        history.append({"trigger": step.trigger, "role": step.role, "kind": "transition"})
        return result, after


def _refused(result: dict[str, Any], why: Label) -> None:
    result["error"], result["error_text"] = why.en, why.to_json()
