"""One shared ``transitions.Machine`` per definition version.

Building a machine per case per request is wasteful (see benchmarks/): each machine keeps one
stand-in model, and a firing puts it in the case's state, triggers the event and reads the
state it reached — under a lock, so threads never share a half-done firing.
"""

from __future__ import annotations

import threading

from transitions import Machine, MachineError

from engine.errors import Conflict
from engine.language.model import Definition
from engine.text import Label


class _CaseModel:
    """The stand-in for a case while an event runs on the shared machine."""

    state: str


def build_machine(definition: Definition) -> Machine:
    """A model-less machine with the definition's states and transitions (no guards: the
    runtime evaluates and records guards itself before triggering)."""
    return Machine(
        model=None,
        states=[state.name for state in definition.states],
        transitions=[
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
            for t in definition.transitions
        ],
        initial=definition.initial_state.name,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )


class MachineRegistry:
    """Caches a machine per definition version id; safe to use from several threads."""

    def __init__(self) -> None:
        self._machines: dict[int, tuple[Machine, _CaseModel]] = {}
        self._reached: dict[tuple[int, str, str], str] = {}
        self._lock = threading.Lock()

    def _entry(self, version_id: int, definition: Definition) -> tuple[Machine, _CaseModel]:
        entry = self._machines.get(version_id)
        if entry is None:
            machine = build_machine(definition)
            model = _CaseModel()
            machine.add_model(model)
            entry = self._machines[version_id] = (machine, model)
        return entry

    def next_state(self, version_id: int, definition: Definition, state: str, trigger: str) -> str:
        """The state reached by firing ``trigger`` from ``state``; Conflict if impossible.
        A version's machine never changes, so each answer is asked of it once."""
        key = (version_id, state, trigger)
        reached = self._reached.get(key)
        if reached is None:
            reached = self._reached[key] = self._ask(version_id, definition, state, trigger)
        return reached

    def _ask(self, version_id: int, definition: Definition, state: str, trigger: str) -> str:
        with self._lock:
            machine, model = self._entry(version_id, definition)
            try:
                machine.set_state(state, model=model)
                model.trigger(trigger)  # type: ignore[attr-defined]
            except (MachineError, AttributeError, ValueError) as exc:
                raise Conflict(
                    Label(
                        id=f"langkah '{trigger}' tidak dapat dijalankan dari tahap '{state}'",
                        en=f"'{trigger}' cannot be fired from state '{state}'",
                    )
                ) from exc
            return model.state
