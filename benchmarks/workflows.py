"""The equivalent processes the benchmarks run: a linear Rukun workflow of N steps (with a
self-loop for growing a long history) and the same process as BPMN for SpiffWorkflow."""

from __future__ import annotations

import itertools


def linear_yaml(steps: int, program: str | None = None) -> str:
    """States ``s0`` .. ``s<steps>``, transitions ``t0`` .. ``t<steps-1>`` moving one state
    on, and ``note`` looping on ``s0``; all fired by a ketua RT."""
    states = "\n".join(
        f"  - {{name: s{i}"
        + (", initial: true" if i == 0 else ", final: true" if i == steps else "")
        + "}"
        for i in range(steps + 1)
    )
    transitions = "\n".join(
        f"  - {{trigger: t{i}, source: s{i}, dest: s{i + 1}, roles: [ketua_rt]}}"
        for i in range(steps)
    )
    return (
        f"rukun: 1\nprogram: {program or f'linear{steps}'}\ntitle: Linear {steps}\n"
        f"subject: rt\nstates:\n{states}\ntransitions:\n{transitions}\n"
        "  - {trigger: note, source: s0, dest: s0, roles: [ketua_rt]}\n"
    )


def linear_bpmn(steps: int) -> str:
    """A BPMN process ``linear``: start event, ``steps`` user tasks in a row, end event."""
    tasks = "".join(f'<bpmn:userTask id="t{i}" name="Step {i}"/>' for i in range(steps))
    nodes = ["start", *(f"t{i}" for i in range(steps)), "end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="linear_definitions" targetNamespace="http://bpmn.io/schema/bpmn">'
        '<bpmn:process id="linear" isExecutable="true"><bpmn:startEvent id="start"/>'
        f'{tasks}<bpmn:endEvent id="end"/>{flows}</bpmn:process></bpmn:definitions>'
    )
