"""Why one shared ``transitions.Machine`` per definition version: building a machine per
firing costs far more than attaching a model to a shared one. Run with
``pytest benchmarks -p no:xdist``; the summary line prints the ratio."""

from __future__ import annotations

import time
from pathlib import Path

from pytest_benchmark.fixture import BenchmarkFixture

from engine.language import load_definition
from engine.runtime.machines import MachineRegistry, build_machine

DEFINITION = load_definition(
    Path(__file__).resolve().parent.parent / "workflows" / "probebaya.yaml"
)


class _Model:
    state: str


def fire_on_new_machine() -> str:
    machine = build_machine(DEFINITION)
    model = _Model()
    machine.add_model(model, initial="submitted")
    model.verify()  # type: ignore[attr-defined]
    return model.state


def test_fire_on_shared_machine(benchmark: BenchmarkFixture) -> None:
    registry = MachineRegistry()
    result = benchmark(registry.next_state, 1, DEFINITION, "submitted", "verify")
    assert result == "verified"


def test_fire_on_machine_built_per_request(benchmark: BenchmarkFixture) -> None:
    assert benchmark(fire_on_new_machine) == "verified"


def test_shared_machine_is_cheaper_ratio() -> None:
    """Prints how many times cheaper the shared machine is (no timing assertion)."""
    registry = MachineRegistry()
    rounds = 300
    start = time.perf_counter()
    for _ in range(rounds):
        registry.next_state(1, DEFINITION, "submitted", "verify")
    shared = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(rounds):
        fire_on_new_machine()
    per_request = time.perf_counter() - start
    print(f"\nmachine per request / shared machine: {per_request / shared:.1f}x")
