"""One shared ``transitions.Machine`` per definition version.

Building a machine per case per request is wasteful; instead each firing attaches a light
model in the case's current state, triggers the event, reads the new state and detaches it.
"""

from __future__ import annotations

import threading

from transitions import Machine, MachineError

from engine.errors import Conflict
from engine.language.model import Definition


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
        self._machines: dict[int, Machine] = {}
        self._lock = threading.Lock()

    def machine(self, version_id: int, definition: Definition) -> Machine:
        with self._lock:
            machine = self._machines.get(version_id)
            if machine is None:
                machine = self._machines[version_id] = build_machine(definition)
            return machine

    def next_state(self, version_id: int, definition: Definition, state: str, trigger: str) -> str:
        """The state reached by firing ``trigger`` from ``state``; Conflict if impossible."""
        machine = self.machine(version_id, definition)
        model = _CaseModel()
        with self._lock:
            machine.add_model(model, initial=state)
            try:
                model.trigger(trigger)  # type: ignore[attr-defined]
                return model.state
            except (MachineError, AttributeError) as exc:
                raise Conflict(f"'{trigger}' cannot be fired from state '{state}'") from exc
            finally:
                machine.remove_model(model)
