"""Checks beyond syntax (engine.studio.checks): warnings for definitions the validator accepts.

Each file under tests/data/lint/ is a valid definition carrying `# expect: LINE:COL: message`
comments, exactly the warnings lint must give, in order, or one `# expect no warnings: why`
comment. As in tests/data/bad/, the comments sit at the end of each file so that editing them
never moves the lines they talk about."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.language import load_definition
from engine.studio.checks import filled_fields, lint, unfilled_path
from tests.unit.helpers import mini_workflow

DATA = Path(__file__).resolve().parent.parent / "data"
LINT_FILES = sorted((DATA / "lint").glob("*.yaml"))
WORKFLOWS = Path(__file__).resolve().parent.parent.parent / "workflows"
PROBEBAYA_TEXT = (WORKFLOWS / "probebaya.yaml").read_text(encoding="utf-8")
EXPECT = "# expect: "
EXPECT_NONE = "# expect no warnings: "

#: Every kind of warning the corpus must keep covering (file stems).
REQUIRED_KINDS = {
    "guard_reads_field_unfilled_on_one_path",
    "guard_reads_field_nothing_fills_at_start",
    "expr_reads_field_filled_only_by_a_star_loop",
    "expr_reads_field_a_loop_fills_in_only_one_source",
    "ledger_reads_unfilled_field",
    "not_in_other_cases_reads_unfilled_list",
    "state_left_only_by_star",
    "state_roles_too_narrow",
    "transition_role_too_narrow",
    "amount_between_min_above_max",
    "amount_between_outside_declared_max",
    "amount_between_guards_disjoint",
    "expr_comparisons_contradict",
    "expr_against_amount_between",
    "deadline_escalates_to_idle_role",
}

#: Definitions the corpus must show lint accepts without a warning (file stems).
REQUIRED_QUIET = {
    "expr_reads_field_a_self_loop_fills",
}

#: The shipped programs' warnings, by file. All are genuine findings the programs accept:
#: probebaya/prolita escalate overdue cases to the supervising office, which has no
#: transition of its own in that state. (kube and rt_mandiri evaluate only once a self-loop,
#: a monitoring visit or a business report, has filled the field the guard reads: the
#: pattern the data-flow check deliberately accepts.)
WORKFLOW_WARNINGS = {
    "kube": [],
    "probebaya": [
        "state 'rembug_held' escalates to 'kelurahan', which cannot act in 'rembug_held'; "
        "escalate to a role of a transition leaving it (city, ketua_rt)",
        "state 'submitted' escalates to 'kecamatan', which cannot act in 'submitted'; "
        "escalate to a role of a transition leaving it (city, kelurahan)",
        "state 'revision_requested' escalates to 'kelurahan', which cannot act in "
        "'revision_requested'; escalate to a role of a transition leaving it (city, ketua_rt)",
    ],
    "prolita": [
        "state 'rembug_held' escalates to 'kelurahan', which cannot act in 'rembug_held'; "
        "escalate to a role of a transition leaving it (city, ketua_rt)",
        "state 'submitted' escalates to 'kecamatan', which cannot act in 'submitted'; "
        "escalate to a role of a transition leaving it (city, kelurahan)",
    ],
    "rt_mandiri": [],
}


def expected_warnings(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{path}:{line[len(EXPECT) :]}" for line in lines if line.startswith(EXPECT)]


def messages(text: str) -> list[str]:
    return [p.message for p in lint(text, "t.yaml")]


def probebaya_with(old: str, new: str) -> str:
    """The real Probebaya text with one unique snippet replaced."""
    assert PROBEBAYA_TEXT.count(old) == 1
    return PROBEBAYA_TEXT.replace(old, new)


# -- the corpus -------------------------------------------------------------------------


def test_corpus_covers_every_kind_of_warning() -> None:
    assert not REQUIRED_KINDS - {path.stem for path in LINT_FILES}
    assert not REQUIRED_QUIET - {path.stem for path in LINT_FILES}


@pytest.mark.parametrize("path", LINT_FILES, ids=lambda p: p.stem)
def test_every_corpus_file_is_valid_and_states_its_warnings(path: Path) -> None:
    load_definition(path)
    expected = expected_warnings(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    quiet = [line for line in lines if line.startswith(EXPECT_NONE)]
    assert bool(expected) != bool(quiet), (
        f"{path.name} needs '{EXPECT}LINE:COL: message' comments or one '{EXPECT_NONE}why' "
        "comment, not both"
    )
    assert len(quiet) <= 1
    assert all(re.fullmatch(r".+\.yaml:\d+:\d+: \S.*", line) for line in expected)
    assert quiet or path.stem not in REQUIRED_QUIET


@pytest.mark.parametrize("path", LINT_FILES, ids=lambda p: p.stem)
def test_lint_reports_exact_positions_and_messages(path: Path) -> None:
    warnings = lint(path.read_text(encoding="utf-8"), str(path))
    assert [str(p) for p in warnings] == expected_warnings(path)


# -- the shipped programs ---------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_workflows_give_exactly_their_known_warnings(path: Path) -> None:
    warnings = lint(path.read_text(encoding="utf-8"), str(path))
    assert sorted(p.message for p in warnings) == sorted(WORKFLOW_WARNINGS[path.stem])
    assert all(p.path == str(path) for p in warnings)


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_path_exists_exactly_when_the_analysis_says_unfilled(path: Path) -> None:
    definition = load_definition(path)
    filled = filled_fields(definition)
    for state in definition.states:
        for name in definition.fields:
            path_found = unfilled_path(definition, name, state.name)
            assert (path_found is None) == (name in filled[state.name]), (state.name, name)


# -- what does not parse ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        (DATA / "bad" / "unknown_role.yaml").read_text(encoding="utf-8"),
        "rukun: 1\nprogram: [unclosed\n",
        "",
    ],
    ids=["invalid", "yaml_syntax_error", "empty"],
)
def test_a_definition_that_fails_validation_lints_to_nothing(text: str) -> None:
    assert lint(text) == []


# -- data flow --------------------------------------------------------------------------


def test_probebaya_fills_rembug_data_before_the_proposal_and_notes_only_in_the_loop() -> None:
    filled = filled_fields(load_definition(WORKFLOWS / "probebaya.yaml"))
    assert {"attendees", "households_total", "minutes"} <= filled["submitted"]
    assert "budget" in filled["submitted"]
    assert "revision_notes" not in filled["submitted"]
    assert "revision_notes" in filled["revision_requested"]
    assert filled["draft"] == frozenset()


def test_example_path_goes_round_the_revision_loop() -> None:
    text = probebaya_with(
        "    form: *proposal_form\n    guards: *proposal_guards\n",
        "    form: *proposal_form\n    guards:\n      - field_present: [verification_notes]\n",
    )
    assert (
        "guard 'field_present' of 'resubmit' reads 'verification_notes', which no form fills "
        "on the path draft -> rembug_held -> submitted -> revision_requested (only 'verify' "
        "fills it); add 'verification_notes' to the form of 'resubmit' or of a transition on "
        "that path"
    ) in messages(text)


def test_a_field_filled_only_by_the_resubmission_is_missing_on_the_first_pass() -> None:
    text = probebaya_with(
        "    form: *proposal_form\n    guards: *proposal_guards\n",
        "    form: [kecamatan_notes]\n",
    ).replace("      - documents: [minutes, rab]\n", "      - field_present: [kecamatan_notes]\n")
    [warning] = [m for m in messages(text) if "reads 'kecamatan_notes'" in m]
    assert "on the path draft -> rembug_held -> submitted (only 'resubmit', " in warning


def test_a_field_filled_on_every_path_into_a_loop_is_available_after_it() -> None:
    text = probebaya_with(
        "      - approved_by: {role: kelurahan, trigger: verify}\n",
        "      - field_present: [budget, rembug_date, attendance_list]\n",
    )
    assert not [m for m in messages(text) if "reads" in m]


def test_start_form_fields_count_as_filled_at_the_initial_state() -> None:
    text = """\
rukun: 1
program: mini
title: Mini
subject: rt
fields: {amount: {type: money}}
start_form: [amount]
states:
  - {name: draft, initial: true}
  - {name: done, final: true}
transitions:
  - {trigger: go, source: draft, dest: done, roles: [ketua_rt],
     guards: [{amount_between: {field: amount, max: 100}}]}
"""
    assert lint(text) == []


def test_a_star_transition_is_an_edge_from_every_non_final_state() -> None:
    text = """\
rukun: 1
program: mini
title: Mini
subject: rt
fields: {amount: {type: money}}
states:
  - {name: draft, initial: true}
  - {name: review}
  - {name: on_hold}
  - {name: done, final: true}
transitions:
  - {trigger: submit, source: draft, dest: review, roles: [ketua_rt], form: [amount]}
  - {trigger: hold, source: "*", dest: on_hold, roles: [city]}
  - {trigger: resume, source: on_hold, dest: review, roles: [city]}
  - {trigger: approve, source: review, dest: done, roles: [kelurahan],
     guards: [{amount_between: {field: amount, max: 100}}]}
"""
    assert messages(text) == [
        "guard 'amount_between' of 'approve' reads 'amount', which no form fills on the path "
        "draft -> on_hold -> review (only 'submit' fills it); add 'amount' to the form of "
        "'approve' or of a transition on that path"
    ]


def test_ledger_totals_and_params_are_not_fields() -> None:
    text = mini_workflow(
        params="{ceiling: 100}",
        guards="[{amount_between: {field: ledger.budget, max: params.ceiling}},"
        " {expr: 'ledger.disbursed <= params.ceiling and case.year > 2020'}]",
    )
    assert lint(text) == []


# -- who can act ------------------------------------------------------------------------


def test_roles_without_a_region_level_can_act_on_any_subject() -> None:
    text = """\
rukun: 1
program: mini
title: Mini
subject: group
roles: {call_centre: {}}
states:
  - {name: draft, initial: true}
  - {name: done, final: true}
transitions:
  - {trigger: go, source: draft, dest: done, roles: [call_centre]}
  - {trigger: note, source: draft, dest: draft, roles: [program_officer]}
"""
    assert lint(text) == []


# -- impossible guards ------------------------------------------------------------------


def test_bounds_that_touch_or_are_not_numbers_are_not_contradictions() -> None:
    text = mini_workflow(
        params="{top: 300}",
        fields="{budget: {type: money, min: 0, max: 300}, other: {type: money}}",
        form="[budget, other]",
        guards="[{expr: 'budget == 300 and budget >= params.top'},"
        " {expr: 'budget > other and budget < 2 * other or budget < 0'},"
        " {amount_between: {field: budget, min: 300, max: other}}]",
    )
    assert lint(text) == []


def test_strict_bounds_on_the_same_value_contradict() -> None:
    text = mini_workflow(
        params="{top: 300}",
        fields="{budget: {type: money}}",
        form="[budget]",
        guards="[{expr: 'budget < params.top'}, {amount_between: {field: budget, min: 300}}]",
    )
    assert messages(text) == [
        "the guards of 'go' can never all hold: 'amount_between' needs 'budget' >= 300, but "
        "'expr' on line 16 needs 'budget' < params.top (300); make the bounds overlap"
    ]


def test_a_comparison_chain_with_negative_numbers_contradicts() -> None:
    text = mini_workflow(
        fields="{balance: {type: integer, min: 0}}",
        form="[balance]",
        guards="[{expr: '-10 < balance < -1'}]",
    )
    assert messages(text) == [
        "guard 'expr' of 'go' can never hold: it needs 'balance' < -1, but field 'balance' is "
        "declared with min: 0; change the bound or the field's min"
    ]
