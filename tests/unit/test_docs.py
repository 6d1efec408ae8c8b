"""The language reference's examples are real: each complete YAML example validates, or
reports exactly the problems printed after it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.errors import DefinitionError
from engine.language import parse_definition

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "workflow-language.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
PROBLEM = re.compile(r"^[\w.-]+\.yaml:\d+:\d+: .+$")


def examples() -> list[tuple[str, list[str]]]:
    blocks = [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))]
    found = []
    for index, (language, body) in enumerate(blocks):
        if language != "yaml" or not body.startswith("rukun: 1"):
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        lines = following[1].strip().splitlines()
        expected = (
            lines if following[0] == "" and lines and all(PROBLEM.match(x) for x in lines) else []
        )
        found.append((body, expected))
    return found


EXAMPLES = examples()


def test_the_reference_has_an_example_per_feature() -> None:
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize(("body", "expected"), EXAMPLES, ids=lambda value: str(value)[:30])
def test_documented_example_behaves_as_documented(body: str, expected: list[str]) -> None:
    program = re.search(r"^program: (\w+)$", body, re.M)
    assert program is not None
    source = f"{program.group(1)}.yaml"
    if not expected:
        assert parse_definition(body, source).program == program.group(1)
        return
    with pytest.raises(DefinitionError) as caught:
        parse_definition(body, source)
    assert [str(p) for p in caught.value.problems] == expected
