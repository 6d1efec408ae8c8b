"""The corpus of bad definitions: each file under tests/data/bad/ carries
`# expect: LINE:COL: message` comments, exactly the problems the validator must report, in
order. Adding a case is adding a file. The comments sit at the end of each file so that
editing them never moves the lines they talk about."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import DefinitionError
from engine.language import load_definition

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
WORKFLOWS = Path(__file__).resolve().parent.parent.parent / "workflows"
BAD_FILES = sorted(BAD.glob("*.yaml"))
EXPECT = "# expect: "

#: Every kind of problem the corpus must keep covering (file stems).
REQUIRED_KINDS = {
    "yaml_syntax_error",
    "yaml_tab_indentation",
    "yaml_duplicate_key",
    "yaml_recursive_alias",
    "yaml_nested_too_deeply",
    "yaml_merge_not_a_mapping",
    "empty_file",
    "not_a_mapping",
    "wrong_language_version",
    "missing_required_key",
    "unknown_top_level_key",
    "unknown_state_key",
    "unknown_transition_key",
    "unknown_field_key",
    "unknown_subject",
    "missing_initial_state",
    "two_initial_states",
    "duplicate_state",
    "duplicate_trigger_source",
    "duplicate_trigger_via_star",
    "transition_to_unknown_state",
    "transition_from_unknown_state",
    "transition_out_of_final_state",
    "unreachable_state",
    "dead_end_state",
    "unknown_guard",
    "guard_unknown_parameter",
    "guard_missing_parameter",
    "guard_wrong_field_type",
    "guard_unknown_param_reference",
    "unknown_role",
    "read_only_role_acts",
    "form_field_not_declared",
    "expr_syntax_error",
    "expr_unknown_name",
    "expr_import",
    "expr_dunder_attribute",
    "expr_lambda",
    "expr_comprehension",
    "expr_power",
    "expr_unknown_function",
    "expr_nested_too_deeply",
    "deadline_without_span",
    "deadline_not_positive",
    "deadline_unknown_role",
    "deadline_on_final_state",
}


def expected_problems(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{path}:{line[len(EXPECT) :]}" for line in lines if line.startswith(EXPECT)]


def test_corpus_covers_every_kind_of_problem() -> None:
    missing = REQUIRED_KINDS - {path.stem for path in BAD_FILES}
    assert not missing


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_every_corpus_file_states_its_problems_as_line_col_message(path: Path) -> None:
    expected = expected_problems(path)
    assert expected, f"{path.name} has no '{EXPECT}LINE:COL: message' comment"
    assert all(re.fullmatch(r".+\.yaml:\d+:\d+: \S.*", line) for line in expected)


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
