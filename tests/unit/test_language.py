"""The workflow language as read from YAML: the real Probebaya file, labels, form items,
"*" sources, YAML anchors, aliases and merge keys, and how problems are reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.language import Label, load_definition, parse_definition
from engine.language.model import FormItem
from engine.language.source import Positions, YamlSourceError, load_yaml
from tests.unit.helpers import mini_definition, mini_workflow

ROOT = Path(__file__).resolve().parent.parent.parent
PROBEBAYA_PATH = ROOT / "workflows" / "probebaya.yaml"
PROBEBAYA = load_definition(PROBEBAYA_PATH)


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "t.yaml")
    return [str(p) for p in caught.value.problems]


# -- the real file ----------------------------------------------------------------------


def test_probebaya_loads_with_its_program_subject_regions_and_params() -> None:
    assert PROBEBAYA.program == "probebaya"
    assert PROBEBAYA.subject == "rt"
    assert PROBEBAYA.regions == ("64.72",)
    assert PROBEBAYA.params["budget_max"] == 300_000_000
    assert PROBEBAYA.initial_state.name == "draft"
    assert {s.name for s in PROBEBAYA.states if s.final} == {"closed", "rejected", "cancelled"}


def test_probebaya_states_carry_deadlines_with_escalation() -> None:
    submitted = PROBEBAYA.state("submitted")
    assert submitted.deadline is not None
    assert (submitted.deadline.days, submitted.deadline.escalate_to) == (14, "kecamatan")
    assert PROBEBAYA.state("approved").deadline is None


def test_transition_lookup_by_trigger_and_state() -> None:
    verify = PROBEBAYA.transition("verify", "submitted")
    assert verify is not None and verify.dest == "verified"
    assert PROBEBAYA.transition("verify", "draft") is None
    assert {"record_rembug", "cancel"} <= {t.trigger for t in PROBEBAYA.transitions_from("draft")}


# -- labels -----------------------------------------------------------------------------


def test_labels_are_indonesian_and_english() -> None:
    title = PROBEBAYA.title
    assert title.get().startswith("Probebaya — Program Pembangunan")
    assert title.get("en").startswith("Probebaya — Community Development")
    assert PROBEBAYA.state("verified").label == Label(
        "Terverifikasi kelurahan", "Verified by the kelurahan"
    )
    assert PROBEBAYA.fields["budget"].label.en == "Amount requested (RAB total)"


def test_a_text_label_serves_both_languages_and_a_missing_one_is_made_from_the_name() -> None:
    definition = mini_definition(fields="{rembug_date: {type: date, label: Tanggal}}")
    assert definition.fields["rembug_date"].label == Label("Tanggal", "Tanggal")
    assert definition.state("draft").label == Label("Draft", "Draft")
    assert definition.transitions[0].label == Label("Go", "Go")


def test_a_label_with_one_language_uses_it_for_both() -> None:
    definition = mini_definition(fields="{notes: {type: text, label: {en: Notes}}}")
    assert definition.fields["notes"].label == Label("Notes", "Notes")


def test_label_format_leaves_unknown_placeholders_alone() -> None:
    label = Label("{present} dari {total}", "{present} of {nothing}")
    assert label.format(present=3, total=10) == Label("3 dari 10", "{present} of {nothing}")


# -- form items -------------------------------------------------------------------------


def test_form_items_may_be_optional() -> None:
    record = PROBEBAYA.transition("record_rembug", "draft")
    assert record is not None
    assert record.form == (
        FormItem("rembug_date"),
        FormItem("households_total"),
        FormItem("attendees"),
        FormItem("minutes", required=False),
        FormItem("attendance_list", required=False),
    )
    assert record.form_fields[-1] == "attendance_list"


def test_form_item_required_must_be_a_boolean() -> None:
    text = mini_workflow(
        fields="{notes: {type: text}}", form="[{field: notes, required: sometimes}]"
    )
    assert problems(text) == ["t.yaml:15:37: 'required' must be true or false"]


# -- "*" sources ------------------------------------------------------------------------


def test_star_source_expands_to_every_non_final_state_in_order() -> None:
    cancel = PROBEBAYA.transition("cancel", "draft")
    assert cancel is not None and cancel.any_source
    assert cancel.sources == tuple(s.name for s in PROBEBAYA.states if not s.final)
    assert PROBEBAYA.transition("cancel", "closed") is None


def test_star_source_skips_final_states_declared_between_others() -> None:
    text = mini_workflow().replace(
        "  - {name: done, final: true}\n",
        "  - {name: done, final: true}\n  - {name: parked}\n",
    ) + (
        "  - {trigger: park, source: draft, dest: parked, roles: [city]}\n"
        '  - {trigger: stop, source: "*", dest: done, roles: [city]}\n'
    )
    definition = parse_definition(text, "t.yaml")
    stop = definition.transitions[-1]
    assert stop.sources == ("draft", "parked")


# -- anchors, aliases, merge keys -------------------------------------------------------


def test_aliases_repeat_the_anchored_form_and_guards() -> None:
    submit = PROBEBAYA.transition("submit_proposal", "rembug_held")
    resubmit = PROBEBAYA.transition("resubmit", "revision_requested")
    assert submit is not None and resubmit is not None
    assert resubmit.form == submit.form
    assert resubmit.guards == submit.guards


def test_merge_keys_repeat_a_transition_for_another_state() -> None:
    during_1 = PROBEBAYA.transition("submit_lpj", "implementing")
    during_2 = PROBEBAYA.transition("submit_lpj", "fully_disbursed")
    assert during_1 is not None and during_2 is not None
    assert during_2.sources == ("fully_disbursed",)
    assert during_2.dest == "fully_disbursed"
    assert (during_2.label, during_2.roles, during_2.ledger, during_2.guards) == (
        during_1.label,
        during_1.roles,
        during_1.ledger,
        during_1.guards,
    )


def test_a_key_after_a_merge_overrides_the_merged_value() -> None:
    # `parked` takes done's keys but is not final: so it is a dead end, and unreachable
    text = mini_workflow().replace(
        "  - {name: done, final: true}",
        "  - &state {name: done, final: true}\n  - {<<: *state, name: parked, final: false}",
    )
    assert problems(text) == [
        "t.yaml:10:24: state 'parked' is not final but has no transition out of it",
        "t.yaml:10:24: state 'parked' is unreachable from the initial state 'draft'",
    ]


def test_a_problem_inside_an_anchored_block_is_reported_once_at_the_anchor() -> None:
    text = mini_workflow(
        fields="{amount: {type: money}}", guards="&checks [{amount_between: {field: amonut}}]"
    ) + ("  - {trigger: again, source: draft, dest: done, roles: [city], guards: *checks}\n")
    assert problems(text) == [
        "t.yaml:16:47: guard 'amount_between': unknown field 'amonut' (did you mean 'amount'?)"
    ]


def test_yaml_timestamps_and_numbers_keep_their_types_in_params() -> None:
    definition = mini_definition(params="{start: 2026-01-15, share: 0.7, cap: 150000000}")
    assert str(definition.params["start"]) == "2026-01-15"
    assert definition.params["share"] == 0.7
    assert definition.params["cap"] == 150_000_000


# -- problems ---------------------------------------------------------------------------


def test_every_problem_is_reported_sorted_by_position() -> None:
    text = mini_workflow(guards="[{no_such_guard: {}}]").replace("subject: rt", "subject: town")
    assert problems(text) == [
        "t.yaml:4:10: unknown subject 'town' (one of rt, rw, kelurahan, group, household_group)",
        "t.yaml:16:15: unknown guard 'no_such_guard'",
    ]


def test_an_unreadable_file_is_a_definition_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_definition(missing)
    [problem] = caught.value.problems
    assert (problem.path, problem.line, problem.col) == (str(missing), 1, 1)
    assert problem.message.startswith("cannot read file:")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("title: Bontang é\n".encode("latin-1"))
    with pytest.raises(DefinitionError, match="cannot read file"):
        load_definition(latin1)


def test_definition_error_lists_problems_as_json() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition("rukun: 1\n", "t.yaml")
    report = caught.value.to_json()
    assert report["kind"] == "invalid_definition"
    assert report["problems"][0] == {
        "path": "t.yaml",
        "line": 1,
        "col": 1,
        "message": "missing required key 'program'",
    }


def test_a_guard_without_parameters_may_be_written_without_a_value() -> None:
    definition = mini_definition(guards="[{tranche_accounted: }]")
    [transition] = definition.transitions
    assert [g.name for g in transition.guards] == ["tranche_accounted"]


# -- text read before (stored definition versions) --------------------------------------

HOSTILE = {
    "deep_flow": "[" * 2000 + "]" * 2000,
    "deep_block": "".join("  " * i + "- \n" for i in range(1500)),
    "deep_but_libyaml_allows_it": "[" * 70 + "]" * 70,
    "recursive_alias": "a: &a {b: {c: *a}}\n",
    "merge_of_a_scalar": "a: {<<: 1}\n",
    "alias_bomb": "\n".join(
        ["a0: &a0 [x]"]
        + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 8)]
    ),
    "not_utf8_encodable": "a: \ud800\n",
}


def read(text: str, **options: bool) -> tuple[Any, Positions] | str:
    try:
        return load_yaml(text, "t.yaml", **options)
    except YamlSourceError as error:
        return str(error.problem)


@pytest.mark.parametrize(
    "text",
    [
        *(
            pytest.param(p.read_text(encoding="utf-8"), id=p.name)
            for folder in ("workflows", "tests/data")
            for p in sorted((ROOT / folder).rglob("*.yaml"))
        ),
        *(pytest.param(text, id=name) for name, text in HOSTILE.items()),
    ],
)
def test_text_read_before_gives_the_same_data_positions_and_problems(text: str) -> None:
    # libyaml reads what was read before; what it refuses is read again the usual way
    assert read(text, read_before=True) == read(text)


def test_a_stored_version_parses_to_the_same_definition_as_its_file() -> None:
    text = PROBEBAYA_PATH.read_text(encoding="utf-8")
    stored = parse_definition(text, str(PROBEBAYA_PATH), read_before=True)
    assert repr(stored) == repr(PROBEBAYA)  # a Definition is equal only to itself
