"""The corpus of bad definitions: each file under tests/data/bad/ ends with
`# expect: LINE:COL: message` comments, exactly the problems the validator must report."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import DefinitionError
from engine.language import load_definition

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
WORKFLOWS = Path(__file__).resolve().parent.parent.parent / "workflows"
BAD_FILES = sorted(BAD.glob("*.yaml"))


def expected_problems(path: Path) -> list[str]:
    prefix = "# expect: "
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{path}:{line[len(prefix) :]}" for line in lines if line.startswith(prefix)]


def test_corpus_covers_every_kind_of_problem() -> None:
    assert len(BAD_FILES) >= 40
    assert all(expected_problems(path) for path in BAD_FILES)


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_definition_reports_exact_positions_and_messages(path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert [str(p) for p in caught.value.problems] == expected_problems(path)


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_workflows_are_valid(path: Path) -> None:
    assert load_definition(path).program == path.stem


def test_validate_command_prints_ok_and_problem_lines_and_exits_1() -> None:
    good = WORKFLOWS / "probebaya.yaml"
    bad = [BAD / "unknown_role.yaml", BAD / "expr_import.yaml"]
    result = CliRunner().invoke(main, ["validate", str(good), *map(str, bad)])
    assert result.exit_code == 1
    expected = [f"OK {good}", *expected_problems(bad[0]), *expected_problems(bad[1])]
    assert result.output.splitlines() == expected


def test_validate_command_exits_0_when_every_file_is_valid() -> None:
    paths = [str(p) for p in sorted(WORKFLOWS.glob("*.yaml"))]
    result = CliRunner().invoke(main, ["validate", *paths])
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"OK {p}" for p in paths]


def test_validate_reports_an_unreadable_file_without_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["validate", str(missing)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{missing}:1:1: cannot read file:")
    assert "Traceback" not in result.output


def test_validate_json_lists_problems_with_positions() -> None:
    import json

    path = BAD / "transition_to_unknown_state.yaml"
    result = CliRunner().invoke(main, ["validate", "--json", str(path)])
    assert result.exit_code == 1
    [report] = json.loads(result.output)
    assert report["ok"] is False
    assert report["problems"] == [
        {
            "path": str(path),
            "line": 23,
            "col": 11,
            "message": "unknown state 'dne' (did you mean 'done'?)",
        }
    ]
