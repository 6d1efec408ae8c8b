"""Property tests: whatever YAML arrives, the validator answers with problems, never a crash."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import DefinitionError
from engine.language import parse_definition

PROBEBAYA = (
    Path(__file__).resolve().parent.parent.parent / "workflows" / "probebaya.yaml"
).read_text()
LINES = PROBEBAYA.splitlines()
KEYS = [
    "rukun",
    "program",
    "title",
    "subject",
    "params",
    "fields",
    "states",
    "transitions",
    "roles",
    "name",
    "initial",
    "final",
    "trigger",
    "source",
    "dest",
    "form",
    "guards",
    "type",
    "choices",
    "quorum",
    "expr",
    "documents",
    "deadline",
    "days",
    "min",
    "max",
    "field",
    "required",
    "*",
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.sampled_from(KEYS),
    st.text(max_size=20),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=6
        ),
    ),
    max_leaves=40,
)


def assert_validates_or_reports(text: str) -> None:
    try:
        parse_definition(text, "fuzz.yaml")
    except DefinitionError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.path == "fuzz.yaml"
            assert problem.line >= 1 and problem.col >= 1
            assert problem.message


@SETTINGS
@given(documents)
def test_random_yaml_documents_never_crash_the_validator(document: object) -> None:
    assert_validates_or_reports(yaml.safe_dump(document, allow_unicode=True))


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=10))
def test_random_top_level_mappings_never_crash_the_validator(document: dict[str, object]) -> None:
    assert_validates_or_reports(yaml.safe_dump(document, allow_unicode=True))


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(LINES) - 1),
            st.sampled_from(["drop", "dup", "swap", "garble"]),
            st.text(max_size=12),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_probebaya_never_crashes_the_validator(edits: list[tuple[int, str, str]]) -> None:
    lines = list(LINES)
    for index, action, junk in edits:
        index %= len(lines)
        if action == "drop":
            del lines[index]
        elif action == "dup":
            lines.insert(index, lines[index])
        elif action == "swap":
            lines[index], lines[-1 - index] = lines[-1 - index], lines[index]
        else:
            head, _, tail = lines[index].partition(":")
            lines[index] = f"{head}: {junk}" if tail else junk
        if not lines:
            lines = ["x"]
    assert_validates_or_reports("\n".join(lines))


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_validator(text: str) -> None:
    assert_validates_or_reports(text)


def test_alias_bomb_is_refused_with_a_problem() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(8):
        name, previous = chr(98 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    try:
        parse_definition("\n".join(lines), "bomb.yaml")
    except DefinitionError as error:
        assert any("too large" in p.message for p in error.problems)
    else:  # pragma: no cover - the bomb must not validate
        raise AssertionError("alias bomb accepted")
