"""Property tests: whatever YAML arrives, the validator answers with problems, never a crash."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
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
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Each example parses the whole Probebaya file (~0.1 s in pure-Python PyYAML): fewer examples.
SLOW_SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROBEBAYA_DATA = yaml.safe_load(PROBEBAYA)

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
    """Valid, or refused with problems that point inside the text; nothing else escapes."""
    try:
        parse_definition(text, "fuzz.yaml")
    except DefinitionError as error:
        assert error.problems
        assert error.problems == sorted(error.problems)
        last_line = len(text.splitlines()) + 1
        for problem in error.problems:
            assert problem.path == "fuzz.yaml"
            assert 1 <= problem.line <= last_line
            assert problem.col >= 1
            assert problem.message


@SETTINGS
@given(documents)
def test_random_yaml_documents_never_crash_the_validator(document: object) -> None:
    assert_validates_or_reports(yaml.safe_dump(document, allow_unicode=True))


@SLOW_SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=10))
def test_random_top_level_mappings_never_crash_the_validator(document: dict[str, object]) -> None:
    assert_validates_or_reports(yaml.safe_dump(document, allow_unicode=True))


@SLOW_SETTINGS
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


@SLOW_SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, len(LINES) - 1), st.integers(0, len(LINES) - 1)),
        min_size=1,
        max_size=4,
    )
)
def test_probebaya_with_values_swapped_between_lines_never_crashes(
    swaps: list[tuple[int, int]],
) -> None:
    lines = list(LINES)
    for a, b in swaps:
        key_a, sep_a, value_a = lines[a].partition(": ")
        key_b, sep_b, value_b = lines[b].partition(": ")
        if sep_a and sep_b:
            lines[a], lines[b] = f"{key_a}: {value_b}", f"{key_b}: {value_a}"
    assert_validates_or_reports("\n".join(lines))


@SLOW_SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(LINES) - 1),
            st.integers(0, 6),
            st.one_of(st.sampled_from(KEYS), st.from_regex(r"[a-z_*<]{1,8}", fullmatch=True)),
            st.sampled_from(["", "x", "1", "[]", "{}", "*", "[a, b]", "{a: 1}", "&a 1", "*a"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_probebaya_with_random_keys_inserted_never_crashes(
    inserts: list[tuple[int, int, str, str]],
) -> None:
    lines = list(LINES)
    for index, indent, key, value in inserts:
        lines.insert(index, f"{'  ' * indent}{key}: {value}")
    assert_validates_or_reports("\n".join(lines))


def _paths(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found.extend(_paths(value, (*path, index)))
    return found


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


@SLOW_SETTINGS
@given(st.data())
def test_structural_mutations_of_probebaya_never_crash_the_validator(data: st.DataObject) -> None:
    # mutate the parsed tree (so the result is well-formed YAML that gets past the first checks
    # and into the deeper ones): replace, delete, add or swap nodes anywhere
    tree = copy.deepcopy(PROBEBAYA_DATA)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        paths = [p for p in _paths(tree) if p]
        path = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(st.sampled_from(["replace", "delete", "add", "swap"]), label="action")
        parent = _parent(tree, path)
        if action == "replace":
            parent[path[-1]] = data.draw(documents, label="value")
        elif action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(KEYS), label="key")] = data.draw(documents)
        elif action == "add":
            parent.insert(path[-1], data.draw(documents, label="item"))
        else:
            other = data.draw(st.sampled_from(paths), label="other")
            if other[: len(path)] != path and path[: len(other)] != other:
                other_parent = _parent(tree, other)
                parent[path[-1]], other_parent[other[-1]] = (
                    other_parent[other[-1]],
                    parent[path[-1]],
                )
    assert_validates_or_reports(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False))


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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 2000 + "]" * 2000, "document nested too deeply (more than 64 levels)"),
        ("".join("  " * i + "- \n" for i in range(1500)), "document nested too deeply"),
        ("a: &a [*a]\n", "an alias refers to a node that contains it"),
        ("a: &a {b: {c: *a}}\n", "an alias refers to a node that contains it"),
        ("a: {<<: 1}\n", "expected a mapping or list of mappings for merging"),
        ("b: &b [1]\na: {<<: *b}\n", "expected a mapping for merging"),
    ],
)
def test_hostile_yaml_is_a_problem_not_a_crash(text: str, message: str) -> None:
    # each of these once escaped parse_definition as RecursionError or ConstructorError
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "hostile.yaml")
    assert message in caught.value.problems[0].message


def test_expression_nested_too_deeply_is_a_problem_not_a_crash() -> None:
    text = PROBEBAYA.replace('"progress_percent == 100"', '"' + "-" * 1500 + 'progress_percent"')
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "probebaya.yaml")
    [problem] = caught.value.problems
    assert problem.message == ("guard 'expr': expression nested too deeply (more than 100 levels)")
