"""Hostile drafts, run in a child process under a memory limit (prlimit --as) and a time
limit so that a regression cannot take the machine down: alias bombs and deep nesting are
refused by the form edits and the editor's check as by the validator, and a definition too
big to draw gets no diagram instead of a long Graphviz run."""

from __future__ import annotations

import pytest

from tests.limited import run_limited

LAUGHS = "\n".join(
    ["program: probebaya", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 8)}]" for i in range(1, 10)]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LAUGHS, "document too large"),
        ("program: probebaya\nx: " + "[" * 200 + "]" * 200 + "\n", "nested too deeply"),
    ],
)
def test_a_hostile_draft_is_refused_by_form_edits_and_the_check(text: str, expected: str) -> None:
    code = f"""
        from engine.errors import InvalidData
        from engine.studio.edits import apply_edit
        from engine.studio.service import Studio
        text = {text!r}
        try:
            apply_edit(text, {{"op": "set_param", "path": ["quorum_fraction"], "value": 1}})
        except InvalidData as error:
            print("edit:", error.message)
        check = Studio.check(text)
        print("check:", check.definition is None, check.problems[0].message)
    """
    result = run_limited(code)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("edit: ") and expected in lines[0]
    assert lines[1].startswith("check: True") and expected in lines[1]


def test_a_definition_too_big_to_draw_gets_no_diagram() -> None:
    code = """
        from engine.diagram import MAX_DRAWN_STATES, render_svg, workflow_graph
        from engine.language.model import Definition, Label, StateSpec, TransitionSpec
        states = [StateSpec(f"s{i}", Label(f"s{i}", f"s{i}"), initial=i == 0) for i in range(2000)]
        transitions = [
            TransitionSpec(f"t{i}", (f"s{i}",), f"s{i + 1}", ("city",), Label("t", "t"))
            for i in range(1999)
        ]
        big = Definition(
            "big", Label("b", "b"), "rt", {}, {}, tuple(states), tuple(transitions), {}
        )
        print(MAX_DRAWN_STATES < 2000, render_svg(workflow_graph(big)) is None)
    """
    result = run_limited(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True"]
