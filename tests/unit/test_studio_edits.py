"""Form edits of workflow YAML in the studio: each edit changes exactly the lines it is
about, keeps every comment, leaves a definition the validator accepts, and refuses a bad
target with a message naming what exists."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from admin.studio_forms import edit_from_form
from engine.errors import InvalidData
from engine.language import Definition, TransitionSpec, parse_definition
from engine.studio import edits
from engine.studio.yamledit import Document

ROOT = Path(__file__).resolve().parent.parent.parent
WORKFLOWS = sorted((ROOT / "workflows").glob("*.yaml"))
PROBEBAYA = (ROOT / "workflows" / "probebaya.yaml").read_text(encoding="utf-8")
KUBE = (ROOT / "workflows" / "kube.yaml").read_text(encoding="utf-8")
MINI = """\
rukun: 1
program: mini
title: Mini
subject: rt
fields:
  budget: {type: money}
states:
  - {name: draft, initial: true}
  - {name: done, final: true}
transitions:
  - {trigger: finish, source: draft, dest: done, roles: [ketua_rt]}
"""


QUORUM = "  quorum_fraction: {:<13}# rembug warga needs a majority of households (strictly more)"


def changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """The lines removed from ``old`` and the lines added in ``new``, in order."""
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm=""))
    body = [line for line in diff if not line.startswith(("---", "+++", "@@"))]
    return [ln[1:] for ln in body if ln[0] == "-"], [ln[1:] for ln in body if ln[0] == "+"]


def comments(text: str) -> list[str]:
    """Every comment of the text: whole comment lines and the ones after a value."""
    found = []
    for line in text.splitlines():
        match = re.search(r"(^|\s)(#.*)$", line)
        if match:
            found.append(match.group(2))
    return found


def edited(old: str, new: str, *, removed: list[str], added: list[str]) -> Definition:
    """Assert ``new`` differs from ``old`` in exactly these lines, keeps every comment and
    is a valid definition; return the definition."""
    assert changes(old, new) == (removed, added)
    assert comments(new) == comments(old)
    return parse_definition(new)


def refused(edit: object, *args: object, **kwargs: object) -> str:
    """The message of the InvalidData an edit raises."""
    assert callable(edit)
    with pytest.raises(InvalidData) as caught:
        edit(*args, **kwargs)
    return caught.value.message


def transition(definition: Definition, trigger: str, source: str) -> TransitionSpec:
    return next(t for t in definition.transitions if t.trigger == trigger and source in t.sources)


# -- round trip -------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_loading_and_writing_back_a_workflow_changes_no_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert Document(text).dump() == text


@pytest.mark.parametrize(
    "text",
    [
        MINI,
        "---\nrukun: 1\nlist:\n- a\n- b\n",  # document start, sequences not indented
        "a: &unused {x: 1}\nb:\n    c: 1\n    d:\n      - 1\n",  # an anchor nothing uses
    ],
)
def test_other_layouts_survive_the_round_trip(text: str) -> None:
    assert Document(text).dump() == text


def test_text_that_is_not_yaml_is_refused_with_its_position() -> None:
    assert refused(edits.set_param, "a: [1,\nb: 2\n", "x", 1).startswith("3:1: YAML syntax error")
    assert "duplicate key" in refused(edits.set_param, "a: 1\na: 2\n", "x", 1)
    assert "top level must be a mapping" in refused(edits.set_param, "- a\n", "x", 1)


# -- params -----------------------------------------------------------------------------


def test_raising_the_rembug_quorum_changes_only_its_value_and_keeps_the_comment() -> None:
    new = edits.set_param(PROBEBAYA, "quorum_fraction", 0.6667)
    definition = edited(
        PROBEBAYA,
        new,
        removed=[QUORUM.format("0.5")],
        added=[QUORUM.format("0.6667")],
    )
    assert definition.params["quorum_fraction"] == 0.6667


def test_a_new_param_goes_last_in_params_before_the_blank_line() -> None:
    new = edits.set_param(PROBEBAYA, ["quota", "64.72"], 20)
    definition = edited(PROBEBAYA, new, removed=[], added=['  quota: {"64.72": 20}'])
    assert definition.params["quota"] == {"64.72": 20}
    assert '  quota: {"64.72": 20}\n\nfields:' in new


def test_a_param_key_is_added_into_an_existing_nested_mapping() -> None:
    with_quota = edits.set_param(PROBEBAYA, ["quota", "64.72"], 20)
    new = edits.set_param(with_quota, ["quota", "64.74"], 15)
    definition = edited(
        with_quota,
        new,
        removed=['  quota: {"64.72": 20}'],
        added=['  quota: {"64.72": 20, "64.74": 15}'],
    )
    assert definition.params["quota"] == {"64.72": 20, "64.74": 15}


def test_setting_a_param_creates_the_params_mapping() -> None:
    new = edits.set_param(MINI, "ceiling", 50_000_000)
    definition = edited(MINI, new, removed=[], added=["params:", "  ceiling: 50000000"])
    assert definition.params == {"ceiling": 50_000_000}
    assert new.index("params:") < new.index("fields:")


def test_text_that_yaml_would_read_otherwise_is_quoted() -> None:
    new = edits.set_param(MINI, "answer", "yes")
    assert parse_definition(new).params["answer"] == "yes"
    assert '  answer: "yes"' in new


def test_bad_params_are_refused() -> None:
    assert "snake_case" in refused(edits.set_param, MINI, "Ceiling", 1)
    assert "not None" in refused(edits.set_param, MINI, "ceiling", None)
    assert "not a mapping" in refused(edits.set_param, PROBEBAYA, ["budget_min", "x"], 1)


def test_removing_a_param_nothing_reads_gives_back_the_text_before_it_was_added() -> None:
    with_extra = edits.set_param(PROBEBAYA, "extra_quorum", 0.75)
    assert edits.remove_param(with_extra, "extra_quorum") == PROBEBAYA
    nested = edits.set_param(PROBEBAYA, ["quota", "64.72"], 20)
    assert changes(nested, edits.remove_param(nested, ["quota", "64.72"])) == (
        ['  quota: {"64.72": 20}'],
        ["  quota: {}"],
    )


def test_removing_a_param_a_guard_reads_is_refused() -> None:
    message = refused(edits.remove_param, PROBEBAYA, "budget_max")
    assert "param 'budget_max' is still named by a guard of transition 'submit_proposal'" in message


def test_removing_an_unknown_param_names_the_ones_there_are() -> None:
    message = refused(edits.remove_param, PROBEBAYA, "quorum_fracton")
    assert "no param 'quorum_fracton' in params (did you mean 'quorum_fraction'?)" in message
    assert "budget_min" in message


# -- labels, roles, deadlines -----------------------------------------------------------


def test_a_state_label_is_replaced_in_place() -> None:
    new = edits.set_label(PROBEBAYA, ("state", "draft"), "Persiapan", "Preparing")
    definition = edited(
        PROBEBAYA,
        new,
        removed=['    label: {id: "Persiapan rembug warga", en: "Preparing the rembug warga"}'],
        added=['    label: {id: "Persiapan", en: "Preparing"}'],
    )
    assert definition.state("draft").label.en == "Preparing"


def test_a_plain_text_label_becomes_a_label_in_both_languages() -> None:
    new = edits.set_label(MINI, ["program"], "Contoh", "Example")
    definition = edited(
        MINI, new, removed=["title: Mini"], added=['title: {id: "Contoh", en: "Example"}']
    )
    assert (definition.title.id, definition.title.en) == ("Contoh", "Example")
    new = edits.set_label(MINI, ["transition", "finish", None], "Selesai", "Finish")
    assert parse_definition(new).transitions[0].label.id == "Selesai"


def test_labelling_one_of_two_merged_transitions_leaves_the_other() -> None:
    target = ("transition", "report_progress", "fully_disbursed")
    new = edits.set_label(PROBEBAYA, target, "Lapor tahap 2", "Report, tranche 2")
    definition = edited(
        PROBEBAYA,
        new,
        removed=[],
        added=['    label: {id: "Lapor tahap 2", en: "Report, tranche 2"}'],
    )
    assert transition(definition, "report_progress", "fully_disbursed").label.id == "Lapor tahap 2"
    assert transition(definition, "report_progress", "implementing").label.id == "Laporkan kemajuan"


def test_a_declared_role_gets_a_new_label() -> None:
    new = edits.set_label(KUBE, ("role", "dinsos_kota"), "Dinsos kota", "City Dinsos")
    definition = edited(
        KUBE,
        new,
        removed=[
            '  dinsos_kota: {level: kota, label: {id: "Dinas Sosial kota", '
            'en: "City social affairs office"}}'
        ],
        added=['  dinsos_kota: {level: kota, label: {id: "Dinsos kota", en: "City Dinsos"}}'],
    )
    assert definition.roles["dinsos_kota"].label.en == "City Dinsos"


def test_bad_label_targets_are_refused() -> None:
    assert "(did you mean 'draft'?)" in refused(
        edits.set_label, PROBEBAYA, ("state", "drat"), "a", "b"
    )
    assert "built in" in refused(edits.set_label, PROBEBAYA, ("role", "kelurahan"), "a", "b")
    assert "unknown label target" in refused(edits.set_label, PROBEBAYA, ("flow",), "a", "b")
    assert "both languages" in refused(edits.set_label, PROBEBAYA, ("program",), "a", " ")


def test_roles_of_one_merged_transition_change_without_the_other() -> None:
    roles = ["pokmas", "ketua_rt"]
    new = edits.set_roles(PROBEBAYA, "report_progress", roles, source="implementing")
    definition = edited(
        PROBEBAYA,
        new,
        removed=["    roles: [pokmas]"],
        added=["    roles: [pokmas, ketua_rt]", "    roles: [pokmas]"],
    )
    assert transition(definition, "report_progress", "implementing").roles == ("pokmas", "ketua_rt")
    assert transition(definition, "report_progress", "fully_disbursed").roles == ("pokmas",)


def test_roles_are_refused_for_an_ambiguous_trigger_or_an_unknown_role() -> None:
    message = refused(edits.set_roles, PROBEBAYA, "report_progress", ["pokmas"])
    assert "has 2 transitions (from implementing, fully_disbursed): say which source" in message
    message = refused(edits.set_roles, PROBEBAYA, "verify", ["kelurhan"])
    assert "no role 'kelurhan' (did you mean 'kelurahan'?)" in message
    assert "(did you mean 'verify'?)" in refused(edits.set_roles, PROBEBAYA, "verfy", ["city"])


def test_a_deadline_switches_to_working_days_and_keeps_its_escalation() -> None:
    new = edits.set_deadline(PROBEBAYA, "rembug_held", working_days=10, escalate_to="kelurahan")
    definition = edited(
        PROBEBAYA,
        new,
        removed=["    deadline: {days: 30, escalate_to: kelurahan}"],
        added=["    deadline: {working_days: 10, escalate_to: kelurahan}"],
    )
    deadline = definition.state("rembug_held").deadline
    assert deadline is not None
    assert (deadline.working_days, deadline.escalate_to) == (10, "kelurahan")


def test_a_deadline_is_added_and_removed() -> None:
    new = edits.set_deadline(PROBEBAYA, "approved", days=7, escalate_to="city")
    edited(PROBEBAYA, new, removed=[], added=["    deadline: {days: 7, escalate_to: city}"])
    new = edits.set_deadline(PROBEBAYA, "rembug_held")
    definition = edited(
        PROBEBAYA, new, removed=["    deadline: {days: 30, escalate_to: kelurahan}"], added=[]
    )
    assert definition.state("rembug_held").deadline is None


def test_bad_deadlines_are_refused() -> None:
    assert "not both" in refused(edits.set_deadline, PROBEBAYA, "draft", days=1, working_days=1)
    assert "positive whole number" in refused(edits.set_deadline, PROBEBAYA, "draft", days=0)
    assert "is final" in refused(edits.set_deadline, PROBEBAYA, "closed", days=3)
    assert "needs a deadline" in refused(edits.set_deadline, PROBEBAYA, "draft", escalate_to="city")


# -- states -----------------------------------------------------------------------------


def test_a_new_state_goes_before_the_first_final_state_unless_placed() -> None:
    new = edits.add_state(PROBEBAYA, "archived", "Arsip", "Archived")
    names = [s["name"] for s in Document(new).root["states"]]
    assert names[names.index("archived") + 1] == "closed"
    new = edits.add_state(MINI, "middle", "Tengah", "Middle", after="draft")
    assert changes(MINI, new) == (
        [],
        ['  - {name: middle, label: {id: "Tengah", en: "Middle"}}'],
    )


def test_adding_a_state_is_refused_for_a_taken_or_bad_name_or_two_places() -> None:
    assert "exists already" in refused(edits.add_state, PROBEBAYA, "verified")
    assert "snake_case" in refused(edits.add_state, PROBEBAYA, "Verified 2")
    message = refused(edits.add_state, PROBEBAYA, "x", before="draft", after="closed")
    assert "not both" in message
    assert "(did you mean 'rembug_held'?)" in refused(
        edits.add_state, PROBEBAYA, "x", before="rembug"
    )


def test_renaming_a_state_renames_sources_destinations_and_guard_state_lists() -> None:
    new = edits.rename_state(KUBE, "verified", "terverifikasi")
    removed, added = changes(KUBE, new)
    assert len(removed) == len(added) == 5
    assert not any(re.search(r"\bverified\b", line) for line in added)
    definition = parse_definition(new)
    assert definition.state("terverifikasi").label.en == "Verified by Dinsos"
    assert transition(definition, "verify", "trained").dest == "terverifikasi"
    assert transition(definition, "disburse", "terverifikasi").dest == "assisted"
    guards = transition(definition, "propose", "draft").guards
    assert "terverifikasi" in guards[0].args["states"]
    assert "terverifikasi" in guards[1].args["states"]
    assert comments(new) == comments(KUBE)


def test_renaming_a_state_renames_it_in_merged_transitions_too() -> None:
    new = edits.rename_state(PROBEBAYA, "implementing", "pelaksanaan")
    definition = parse_definition(new)
    assert "implementing" not in new
    assert transition(definition, "report_progress", "pelaksanaan").dest == "pelaksanaan"
    assert transition(definition, "report_progress", "fully_disbursed").dest == "fully_disbursed"
    assert comments(new) == comments(PROBEBAYA)


def test_renaming_a_state_to_a_taken_name_is_refused() -> None:
    assert "'submitted' exists already" in refused(
        edits.rename_state, PROBEBAYA, "draft", "submitted"
    )
    assert "(did you mean 'verified'?)" in refused(edits.rename_state, PROBEBAYA, "verifed", "x")


def test_removing_a_state_is_refused_while_transitions_or_guards_name_it() -> None:
    assert "initial state" in refused(edits.remove_state, PROBEBAYA, "draft")
    message = refused(edits.remove_state, PROBEBAYA, "monitored")
    assert "transition 'record_monitoring' (from monitoring)" in message
    assert "transition 'evaluate' (from monitored)" in message
    message = refused(edits.remove_state, KUBE, "verified", with_transitions=True)
    assert "a guard of transition 'propose' (count_lte)" in message


def test_removing_a_state_with_its_transitions_after_rewiring_leaves_a_valid_definition() -> None:
    rewired = edits.set_transition_ends(PROBEBAYA, "record_monitoring", new_dest="evaluated")
    new = edits.remove_state(rewired, "monitored", with_transitions=True)
    definition = parse_definition(new)
    assert "monitored" not in [s.name for s in definition.states]
    assert [t.trigger for t in definition.transitions if t.trigger == "evaluate"] == []
    assert comments(new) == comments(PROBEBAYA)
    assert "\n\n\n" not in new


# -- transitions ------------------------------------------------------------------------


def test_a_new_transition_is_appended_with_its_label_and_form() -> None:
    new = edits.add_transition(
        PROBEBAYA,
        "review_rembug",
        "rembug_held",
        "rembug_held",
        ["kelurahan"],
        "Tinjau rembug",
        "Review the rembug",
        form=["rembug_date", ("minutes", False)],
    )
    definition = edited(
        PROBEBAYA,
        new,
        removed=[],
        added=[  # before the templates that follow the transitions
            "  - trigger: review_rembug",
            '    label: {id: "Tinjau rembug", en: "Review the rembug"}',
            "    source: rembug_held",
            "    dest: rembug_held",
            "    roles: [kelurahan]",
            "    form: [rembug_date, {field: minutes, required: false}]",
            "",
        ],
    )
    added = transition(definition, "review_rembug", "rembug_held")
    assert [(item.field, item.required) for item in added.form] == [
        ("rembug_date", True),
        ("minutes", False),
    ]


def test_a_transition_from_every_state_is_written_with_a_quoted_star() -> None:
    new = edits.add_transition(PROBEBAYA, "withdraw", "*", "cancelled", "ketua_rt")
    assert '    source: "*"' in new
    assert transition(parse_definition(new), "withdraw", "draft").any_source
    message = refused(edits.add_transition, PROBEBAYA, "cancel", "draft", "cancelled", "city")
    assert "trigger 'cancel' already leaves every state (\"*\")" in message


def test_adding_a_transition_is_refused_for_duplicates_and_unknown_names() -> None:
    message = refused(edits.add_transition, PROBEBAYA, "verify", "submitted", "verified", "city")
    assert "trigger 'verify' already leaves submitted" in message
    message = refused(edits.add_transition, PROBEBAYA, "x", "draft", "rejcted", "city")
    assert "no state 'rejcted' (did you mean 'rejected'?); the states are: draft," in message
    message = refused(
        edits.add_transition, PROBEBAYA, "x", "draft", "closed", "city", form=["budgt"]
    )
    assert "no field 'budgt' (did you mean 'budget'?)" in message
    assert "is final" in refused(edits.add_transition, PROBEBAYA, "x", "closed", "draft", "city")
    assert "at least one role" in refused(
        edits.add_transition, PROBEBAYA, "x", "draft", "closed", []
    )


def test_removing_a_merged_from_transition_writes_out_the_copy_that_merged_it() -> None:
    new = edits.remove_transition(PROBEBAYA, "report_progress", source="implementing")
    definition = parse_definition(new)
    reports = [t for t in definition.transitions if t.trigger == "report_progress"]
    assert [t.sources for t in reports] == [("fully_disbursed",)]
    assert reports[0].roles == ("pokmas",)
    assert len(reports[0].guards) == 2
    assert "*report_progress" not in new
    assert comments(new) == comments(PROBEBAYA)


def test_removing_one_source_of_a_transition_keeps_the_others() -> None:
    new = edits.remove_transition(KUBE, "reject", source="trained")
    definition = edited(
        KUBE,
        new,
        removed=["    source: [proposed, pendamping_assigned, trained]"],
        added=["    source: [proposed, pendamping_assigned]"],
    )
    assert transition(definition, "reject", "proposed").sources == (
        "proposed",
        "pendamping_assigned",
    )


def test_removing_a_transition_is_refused_when_ambiguous_or_still_named() -> None:
    assert "say which source" in refused(edits.remove_transition, PROBEBAYA, "submit_lpj")
    message = refused(edits.remove_transition, PROBEBAYA, "verify")
    assert "trigger 'verify' is still named by a guard of transition 'approve_kecamatan'" in message
    message = refused(edits.remove_transition, PROBEBAYA, "submit_lpj", source="draft")
    assert "does not leave 'draft'; it leaves: implementing, fully_disbursed" in message


def test_a_transition_can_be_rewired_to_other_states() -> None:
    new = edits.set_transition_ends(PROBEBAYA, "reject_city", new_dest="cancelled")
    definition = edited(
        PROBEBAYA, new, removed=["    dest: rejected"], added=["    dest: cancelled"]
    )
    assert transition(definition, "reject_city", "kecamatan_approved").dest == "cancelled"
    message = refused(
        edits.set_transition_ends,
        PROBEBAYA,
        "report_progress",
        source="fully_disbursed",
        new_sources="implementing",
    )
    assert "trigger 'report_progress' already leaves implementing" in message
    assert "new_sources, new_dest" in refused(edits.set_transition_ends, PROBEBAYA, "verify")


def test_a_form_set_on_a_transition_that_shares_it_leaves_the_other_alone() -> None:
    new = edits.set_form_fields(PROBEBAYA, "resubmit", ["budget", ("rab", False)])
    definition = edited(
        PROBEBAYA,
        new,
        removed=["    form: *proposal_form"],
        added=["    form: [budget, {field: rab, required: false}]"],
    )
    assert transition(definition, "resubmit", "revision_requested").form_fields == ("budget", "rab")
    assert len(transition(definition, "submit_proposal", "rembug_held").form) == 7


# -- guards -----------------------------------------------------------------------------


def test_a_guard_is_appended_with_its_message() -> None:
    args = {"max": 60, "level": "kota", "states": ["verified", "approved"]}
    new = edits.add_guard(
        PROBEBAYA, "verify", "count_lte", args, message_id="Kuota penuh", message_en="Quota full"
    )
    definition = edited(
        PROBEBAYA,
        new,
        removed=[],
        added=[
            "      - count_lte: {max: 60, level: kota, states: [verified, approved]}",
            "        message:",
            '          id: "Kuota penuh"',
            '          en: "Quota full"',
        ],
    )
    guard = transition(definition, "verify", "submitted").guards[-1]
    assert (guard.name, guard.args["states"]) == ("count_lte", ["verified", "approved"])


def test_a_guard_with_only_its_shorthand_argument_uses_the_shorthand() -> None:
    args = {"fields": ["evaluation_notes"]}
    new = edits.add_guard(PROBEBAYA, "evaluate", "field_present", args)
    edited(
        PROBEBAYA,
        new,
        removed=[],
        added=["    guards:", "      - field_present: [evaluation_notes]"],
    )


def test_a_guard_added_to_a_transition_sharing_its_guards_leaves_the_other_alone() -> None:
    new = edits.add_guard(PROBEBAYA, "resubmit", "expr", {"expression": "budget > 0"})
    definition = parse_definition(new)
    assert len(transition(definition, "resubmit", "revision_requested").guards) == 4
    assert len(transition(definition, "submit_proposal", "rembug_held").guards) == 3
    assert '      - expr: "budget > 0"' in new
    assert comments(new) == comments(PROBEBAYA)


def test_adding_a_guard_is_refused_for_unknown_guards_and_parameters() -> None:
    message = refused(edits.add_guard, PROBEBAYA, "verify", "quorm", {})
    assert "no guard 'quorm' (did you mean 'quorum'?)" in message
    message = refused(edits.add_guard, PROBEBAYA, "verify", "quorum", {"presnt": "attendees"})
    assert "has no parameter 'presnt' (did you mean 'present'?)" in message
    assert "needs present, total" in refused(edits.add_guard, PROBEBAYA, "verify", "quorum", {})


def test_a_guard_is_removed_by_position_and_the_last_one_takes_the_key_along() -> None:
    new = edits.remove_guard(PROBEBAYA, "record_rembug", 1)
    definition = edited(
        PROBEBAYA, new, removed=["      - documents: [minutes, attendance_list]"], added=[]
    )
    assert [g.name for g in transition(definition, "record_rembug", "draft").guards] == ["quorum"]
    new = edits.remove_guard(PROBEBAYA, "verify", 0)
    edited(PROBEBAYA, new, removed=["    guards:", "      - documents: [minutes, rab]"], added=[])


def test_removing_a_guard_that_is_not_there_lists_the_guards() -> None:
    message = refused(edits.remove_guard, PROBEBAYA, "record_rembug", 2)
    assert "has no guard 2; its guards: 0: quorum, 1: documents" in message


def test_the_guard_catalogue_describes_every_guard_for_a_form() -> None:
    catalogue = edits.guard_catalogue()
    json.dumps(catalogue)
    names = [entry["name"] for entry in catalogue]
    assert names == sorted(names) and "count_lte" in names
    count_lte = next(entry for entry in catalogue if entry["name"] == "count_lte")
    params = {p["name"]: p for p in count_lte["params"]}
    assert params["states"]["names"] == ["state"] and params["states"]["multiple"] is True
    assert params["level"]["default"] == "kota" and "kelurahan" in params["level"]["choices"]
    assert params["key"]["choices"] == ["region", "year"]
    quorum = next(entry for entry in catalogue if entry["name"] == "quorum")
    assert quorum["message"]["en"].startswith("Quorum not reached")
    assert {p["name"]: p["default"] for p in quorum["params"]}["fraction"] == 0.5


# -- edits as data ----------------------------------------------------------------------


def test_an_edit_described_as_data_is_applied() -> None:
    edit = {"op": "set_param", "path": ["quorum_fraction"], "value": 0.6667}
    assert edits.apply_edit(PROBEBAYA, edit) == edits.set_param(
        PROBEBAYA, "quorum_fraction", 0.6667
    )
    edit = {"op": "set_label", "target": ["state", "draft"], "id_text": "A", "en_text": "B"}
    assert parse_definition(edits.apply_edit(PROBEBAYA, edit)).state("draft").label.id == "A"


def test_an_edit_with_an_unknown_op_or_argument_is_refused() -> None:
    message = refused(edits.apply_edit, PROBEBAYA, {"op": "set_rols"})
    assert "unknown edit 'set_rols' (did you mean 'set_roles'?)" in message
    message = refused(
        edits.apply_edit, PROBEBAYA, {"op": "set_roles", "trigger": "verify", "role": []}
    )
    assert "unknown argument 'role' (did you mean 'roles'?)" in message
    message = refused(edits.apply_edit, PROBEBAYA, {"op": "set_roles", "trigger": "verify"})
    assert "set_roles: missing roles" in message


# -- the acceptance scenario ------------------------------------------------------------


def test_probebaya_gets_a_two_thirds_quorum_and_a_sosialisasi_before_the_rembug() -> None:
    text = edits.set_param(PROBEBAYA, "quorum_fraction", 0.6667)
    text = edits.add_state(
        text, "sosialisasi", "Sosialisasi program", "Programme briefing", before="rembug_held"
    )
    text = edits.add_transition(
        text,
        "hold_sosialisasi",
        "draft",
        "sosialisasi",
        ["ketua_rt"],
        "Catat sosialisasi",
        "Record the briefing",
    )
    text = edits.set_transition_ends(text, "record_rembug", new_sources="sosialisasi")
    definition = parse_definition(text)
    assert definition.params["quorum_fraction"] == 0.6667
    names = [s.name for s in definition.states]
    assert names[:3] == ["draft", "sosialisasi", "rembug_held"]
    hold = transition(definition, "hold_sosialisasi", "draft")
    assert (hold.dest, hold.roles) == ("sosialisasi", ("ketua_rt",))
    assert transition(definition, "record_rembug", "sosialisasi").dest == "rembug_held"
    assert comments(text) == comments(PROBEBAYA)
    removed, added = changes(PROBEBAYA, text)
    assert removed == [QUORUM.format("0.5"), "    source: draft"]
    assert added == [
        QUORUM.format("0.6667"),
        "  - name: sosialisasi",
        '    label: {id: "Sosialisasi program", en: "Programme briefing"}',
        "    source: sosialisasi",
        "",
        "  - trigger: hold_sosialisasi",
        '    label: {id: "Catat sosialisasi", en: "Record the briefing"}',
        "    source: draft",
        "    dest: sosialisasi",
        "    roles: [ketua_rt]",
    ]


def test_a_form_path_or_target_that_is_not_json_is_refused_in_both_languages() -> None:
    for name in ("path", "target"):
        form = MultiDict({"op": "set_param" if name == "path" else "set_label", name: "[oops"})
        with pytest.raises(InvalidData) as refused:
            edit_from_form(form)
        assert refused.value.text("id") == f"{name}: bukan JSON yang sah (kolom 2: Expecting value)"
        assert refused.value.text("en") == f"{name}: not valid JSON (column 2: Expecting value)"
        deep = MultiDict({**form, name: "[" * 100_000})
        with pytest.raises(InvalidData, match="nested too deeply"):
            edit_from_form(deep)
