"""Why one shared ``transitions.Machine`` per definition version: building a machine per
firing costs far more than attaching a model to a shared one. An extra row (7) of the
table, without a target."""

from __future__ import annotations

from pathlib import Path

from benchmarks.table import ROWS, Row, paired, rate
from engine.language import load_definition
from engine.runtime.machines import MachineRegistry, build_machine

DEFINITION = load_definition(
    Path(__file__).resolve().parent.parent / "workflows" / "probebaya.yaml"
)
ROUNDS = 300


class _Model:
    state: str


def fire_on_new_machine() -> str:
    machine = build_machine(DEFINITION)
    model = _Model()
    machine.add_model(model, initial="submitted")
    model.verify()  # type: ignore[attr-defined]
    return model.state


def test_shared_machine_against_machine_per_firing() -> None:
    registry = MachineRegistry()
    assert registry.next_state(1, DEFINITION, "submitted", "verify") == "verified"
    assert fire_on_new_machine() == "verified"

    def shared(_: int) -> None:
        for _ in range(ROUNDS):
            registry.next_state(1, DEFINITION, "submitted", "verify")

    def per_firing(_: int) -> None:
        for _ in range(ROUNDS):
            fire_on_new_machine()

    mine, theirs = paired(shared, per_firing, 3)
    ROWS.append(
        Row(
            "memory",
            7,
            "shared machine vs a machine built per firing",
            rate(ROUNDS, mine, "fires"),
            rate(ROUNDS, theirs, "fires"),
            theirs / mine,
        )
    )
