"""Each built-in guard holds and fails, and says why in both languages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from engine.guards import GuardContext, GuardResult, evaluate_guards
from engine.guards.registry import REGISTRY, Outcome, Param, guard
from engine.language import Definition, Label, parse_definition
from tests.unit.helpers import mini_definition

SOURCE = """
rukun: 1
program: sample
title: Sample
subject: rt
params: {fraction: 0.5, low: 100, high: 300, quota: 2}
fields:
  present: {type: integer}
  total: {type: integer}
  minutes: {type: document}
  notes: {type: text}
  budget: {type: money}
  first: {type: money}
  second: {type: money}
  approved: {type: money}
states:
  - {name: draft, initial: true}
  - {name: done, final: true}
transitions:
  - trigger: go
    source: draft
    dest: done
    roles: [ketua_rt]
    form: [present, total, minutes, notes, budget]
    guards:
      - quorum: {present: present, total: total, fraction: params.fraction}
      - documents: [minutes]
      - field_present: [notes]
      - amount_between: {field: budget, min: params.low, max: params.high}
      - approved_by: {role: kelurahan, trigger: go}
      - sum_lte: {fields: [first, second], max: approved}
      - count_lte: {max: params.quota, level: kelurahan}
      - expr: "budget > 200"
        message: {id: "Anggaran harus di atas 200", en: "Budget must exceed 200"}
"""
DEFINITION: Definition = parse_definition(SOURCE, "sample.yaml")
GUARDS = DEFINITION.transitions[0].guards
DOC = {"sha256": "a" * 64, "filename": "ba.pdf", "size": 10, "media_type": "application/pdf"}


def context(
    data: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]] = (),
    others: int = 0,
) -> GuardContext:
    return GuardContext(
        data=data,
        params=DEFINITION.params,
        fields=DEFINITION.fields,
        case={
            "year": 2026,
            "region": "64.72.01.1001.001.001",
            "ancestors": {"kelurahan": "64.72.01.1001"},
        },
        history=history,
        count_cases=lambda level, states: others,
    )


def result(name: str, data: Mapping[str, Any], **kwargs: Any) -> GuardResult:
    spec = next(g for g in GUARDS if g.name == name)
    [outcome] = evaluate_guards([spec], context(data, **kwargs))
    return outcome


@pytest.mark.parametrize(
    ("present", "total", "ok"),
    [
        (21, 40, True),
        (20, 40, False),
        (0, 40, False),
        (41, 40, False),
        (3, 0, False),
        (None, 40, False),
    ],
)
def test_quorum_needs_strictly_more_than_the_fraction(present: Any, total: int, ok: bool) -> None:
    assert result("quorum", {"present": present, "total": total}).ok is ok


def test_quorum_message_says_how_many_came_and_were_needed() -> None:
    outcome = result("quorum", {"present": 3, "total": 10})
    assert outcome.message is not None
    assert outcome.message.en == "Quorum not reached: 3 of 10 present, at least 6 needed"
    assert outcome.message.id == "Kuorum belum tercapai: 3 dari 10 hadir, perlu minimal 6"


def test_quorum_can_accept_exactly_the_fraction_when_not_strict() -> None:
    definition = parse_definition(
        SOURCE.replace("fraction: params.fraction}", "fraction: params.fraction, strict: false}")
    )
    spec = definition.transitions[0].guards[0]
    [outcome] = evaluate_guards([spec], context({"present": 20, "total": 40}))
    assert outcome.ok is True


def test_documents_needs_a_stored_file() -> None:
    assert result("documents", {"minutes": DOC}).ok is True
    missing = result("documents", {"minutes": None})
    assert missing.ok is False
    assert missing.message == Label(
        "Dokumen wajib belum dilampirkan: Minutes", "Required documents missing: Minutes"
    )


@pytest.mark.parametrize(("notes", "ok"), [("ada", True), ("", False), (None, False)])
def test_field_present(notes: Any, ok: bool) -> None:
    assert result("field_present", {"notes": notes}).ok is ok


@pytest.mark.parametrize(
    ("budget", "ok"), [(100, True), (300, True), (99, False), (301, False), (None, False)]
)
def test_amount_between_is_inclusive(budget: Any, ok: bool) -> None:
    assert result("amount_between", {"budget": budget}).ok is ok


def test_amount_between_shows_rupiah_for_money_fields() -> None:
    outcome = result("amount_between", {"budget": 350})
    assert outcome.message is not None
    assert outcome.message.en == "Budget must be between Rp 100 and Rp 300 (is Rp 350)"


def test_approved_by_looks_for_the_role_and_trigger_in_history() -> None:
    assert result("approved_by", {}, history=[{"trigger": "go", "role": "kelurahan"}]).ok is True
    assert result("approved_by", {}, history=[{"trigger": "go", "role": "kecamatan"}]).ok is False
    assert (
        result("approved_by", {}, history=[{"trigger": "other", "role": "kelurahan"}]).ok is False
    )


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        ({"first": 100, "second": 50, "approved": 150}, True),
        ({"first": 100, "second": 51, "approved": 150}, False),
        ({"first": 100, "approved": 150}, True),
        ({"first": 100, "second": 50}, False),
    ],
)
def test_sum_lte_treats_empty_as_zero(data: dict[str, int], ok: bool) -> None:
    assert result("sum_lte", data).ok is ok


@pytest.mark.parametrize(("others", "ok"), [(0, True), (1, True), (2, False)])
def test_count_lte_counts_this_case_with_the_others(others: int, ok: bool) -> None:
    assert result("count_lte", {}, others=others).ok is ok


def test_expr_uses_the_yaml_message() -> None:
    assert result("expr", {"budget": 201}).ok is True
    failed = result("expr", {"budget": 200})
    assert failed.ok is False
    assert failed.message == Label("Anggaran harus di atas 200", "Budget must exceed 200")


def test_expr_that_cannot_evaluate_fails_with_the_error() -> None:
    failed = result("expr", {"budget": None})
    assert failed.ok is False
    assert failed.args["resolved"]["error"]


def test_every_guard_is_evaluated_and_recorded() -> None:
    results = evaluate_guards(GUARDS, context({}))
    assert [r.name for r in results] == [g.name for g in GUARDS]
    assert all(isinstance(r.to_json()["args"], dict) for r in results)


def test_failing_guard_on_pending_form_input_is_reported_as_pending() -> None:
    spec = next(g for g in GUARDS if g.name == "amount_between")
    [outcome] = evaluate_guards([spec], context({}), pending_fields={"budget"})
    assert outcome.ok is None
    [held] = evaluate_guards([spec], context({"budget": 150}), pending_fields={"budget"})
    assert held.ok is True


def test_a_new_guard_is_one_registered_function() -> None:
    name = "test_even"

    @guard(
        name,
        params={"field": Param("field", field_types=("integer",))},
        message=Label("{value} ganjil", "{value} is odd"),
    )
    def even(ctx: GuardContext, args: Mapping[str, Any]) -> Outcome:
        value = ctx.data.get(args["field"])
        return Outcome(isinstance(value, int) and value % 2 == 0, {"value": value})

    try:
        definition = parse_definition(
            SOURCE.replace(
                "      - quorum: {present: present, total: total, fraction: params.fraction}",
                "      - test_even: {field: present}",
            )
        )
        spec = definition.transitions[0].guards[0]
        [outcome] = evaluate_guards([spec], context({"present": 3}))
        assert outcome.ok is False
        assert outcome.message == Label("3 ganjil", "3 is odd")
    finally:
        del REGISTRY[name]


# -- guards on small inline definitions -------------------------------------------------


def guards_of(guards: str, *, fields: str = "{}", params: str = "{}") -> tuple[Definition, Any]:
    definition = mini_definition(guards=guards, fields=fields, params=params)
    return definition, definition.transitions[0].guards


def run_guards(
    guards: str,
    data: Mapping[str, Any],
    *,
    fields: str = "{}",
    params: str = "{}",
    pending: frozenset[str] = frozenset(),
    ancestors: Mapping[str, str] | None = None,
    **context_values: Any,
) -> list[GuardResult]:
    """Run the inline guards of :func:`mini_definition` on ``data`` for a case of 2026."""
    definition, specs = guards_of(guards, fields=fields, params=params)
    ctx = GuardContext(
        data=data,
        params=definition.params,
        fields=definition.fields,
        case={"year": 2026, "region": "64.72.01.1001.001.001", "ancestors": ancestors or {}},
        **context_values,
    )
    return evaluate_guards(specs, ctx, pending_fields=pending)


MONEY = "{budget: {type: money, label: {id: Anggaran, en: Budget}}}"


def test_money_is_shown_as_rupiah_with_dotted_thousands() -> None:
    [outcome] = run_guards(
        "[{amount_between: {field: budget, min: params.low, max: params.high}}]",
        {"budget": 350_000_000},
        fields=MONEY,
        params="{low: 100000000, high: 150000000}",
    )
    assert outcome.ok is False
    assert outcome.message == Label(
        "Anggaran harus antara Rp 100.000.000 dan Rp 150.000.000 (tercatat Rp 350.000.000)",
        "Budget must be between Rp 100.000.000 and Rp 150.000.000 (is Rp 350.000.000)",
    )


def test_an_omitted_bound_and_a_missing_value_are_shown_as_a_dash() -> None:
    [outcome] = run_guards("[{amount_between: {field: budget, max: 150000000}}]", {}, fields=MONEY)
    assert outcome.ok is False
    assert outcome.message is not None
    assert outcome.message.en == "Budget must be between - and Rp 150.000.000 (is -)"


def test_a_bound_naming_an_empty_field_does_not_hold() -> None:
    fields = MONEY[:-1] + ", ceiling: {type: money}}"
    guard = "[{amount_between: {field: budget, max: ceiling}}]"
    [unset] = run_guards(guard, {"budget": 350_000_000}, fields=fields)
    assert unset.ok is False  # not "no limit"
    assert unset.message is not None
    assert unset.message.en == "Budget must be between - and - (is Rp 350.000.000)"
    [held] = run_guards(guard, {"budget": 350_000_000, "ceiling": 400_000_000}, fields=fields)
    assert held.ok is True


def test_sum_lte_shows_the_total_and_the_limit_in_rupiah() -> None:
    [outcome] = run_guards(
        "[{sum_lte: {fields: [first, second], max: params.ceiling}}]",
        {"first": 100_000_000, "second": 60_000_000},
        fields="{first: {type: money}, second: {type: money}}",
        params="{ceiling: 150000000}",
    )
    assert outcome.ok is False
    assert outcome.message is not None
    assert outcome.message.en == (
        "Total of First, Second (Rp 160.000.000) exceeds the limit Rp 150.000.000"
    )


def test_integer_fields_are_not_shown_as_money() -> None:
    [outcome] = run_guards(
        "[{amount_between: {field: votes, min: 5}}]",
        {"votes": 3},
        fields="{votes: {type: integer}}",
    )
    assert outcome.message is not None
    assert outcome.message.en == "Votes must be between 5 and - (is 3)"


def test_ledger_totals_can_be_compared_and_are_shown_as_money() -> None:
    guards = "[{sum_lte: {fields: [ledger.disbursed], max: ledger.approved}}]"
    [held] = run_guards(guards, {}, ledger={"disbursed": 150_000_000, "approved": 200_000_000})
    assert held.ok is True
    [refused] = run_guards(guards, {}, ledger={"disbursed": 250_000_000, "approved": 200_000_000})
    assert refused.ok is False
    assert refused.args["resolved"]["total"] == "Rp 250.000.000"
    assert refused.args["resolved"]["max"] == "Rp 200.000.000"


def test_quorum_message_carries_the_counts_in_the_resolved_arguments() -> None:
    [outcome] = run_guards(
        "[{quorum: {present: came, total: all}}]",
        {"came": 3, "all": 10},
        fields="{came: {type: integer}, all: {type: integer}}",
    )
    assert outcome.ok is False
    assert outcome.message is not None
    assert "3 of 10 present" in outcome.message.en
    assert "3 dari 10 hadir" in outcome.message.id
    assert outcome.to_json()["args"]["resolved"] == {"present": 3, "total": 10, "needed": 6}


def test_field_present_names_the_missing_fields_by_their_labels() -> None:
    [outcome] = run_guards(
        "[{field_present: [title, notes]}]",
        {"title": "Jalan", "notes": ""},
        fields="{title: {type: string}, notes: {type: text, label: {id: Catatan, en: Notes}}}",
    )
    assert outcome.message == Label(
        "Data wajib belum diisi: Catatan", "Required data missing: Notes"
    )


QUOTA = "{quota: {'64.72': 2, '64.71': 1}, cohort: {2026: 1}}"


@pytest.mark.parametrize(("others", "ok"), [(0, True), (1, True), (2, False)])
def test_count_lte_reads_the_quota_of_the_case_region(others: int, ok: bool) -> None:
    [outcome] = run_guards(
        "[{count_lte: {max: params.quota, level: kota}}]",
        {},
        params=QUOTA,
        count_cases=lambda level, states: others,
        ancestors={"kota": "64.72"},
    )
    assert outcome.ok is ok


def test_count_lte_refuses_a_region_missing_from_the_quota_map() -> None:
    [outcome] = run_guards(
        "[{count_lte: {max: params.quota, level: kota}}]",
        {},
        params=QUOTA,
        ancestors={"kota": "64.74"},
    )
    assert outcome.ok is False
    assert outcome.message is not None
    assert outcome.message.en.endswith("in 2026 in region 64.74 (maximum -)")


def test_count_lte_reads_a_quota_by_year_whose_yaml_keys_are_numbers() -> None:
    guards = "[{count_lte: {max: params.cohort, key: year, level: kota}}]"
    [first] = run_guards(guards, {}, params=QUOTA, ancestors={"kota": "64.72"})
    assert first.ok is True
    [second] = run_guards(
        guards,
        {},
        params=QUOTA,
        count_cases=lambda level, states: 1,
        ancestors={"kota": "64.72"},
    )
    assert second.ok is False


MEMBERS = "{members: {type: list, item: {nik: {type: nik}, name: {type: string}}}}"
NIK_A, NIK_B = "6472010101900001", "6472010101900002"


def test_not_in_other_cases_refuses_a_member_of_another_active_case_and_masks_the_nik() -> None:
    taken = {NIK_B}
    seen: list[tuple[str, str | None, Any]] = []

    def other_values(field: str, key: str | None, states: Any) -> set[Any]:
        seen.append((field, key, states))
        return taken

    guards = "[{not_in_other_cases: {field: members, key: nik, states: [draft]}}]"
    data = {"members": [{"nik": NIK_A, "name": "A"}, {"nik": NIK_B, "name": "B"}]}
    [outcome] = run_guards(guards, data, fields=MEMBERS, other_values=other_values)
    assert outcome.ok is False
    assert seen == [("members", "nik", ["draft"])]
    assert outcome.message is not None
    assert NIK_B not in outcome.message.en
    assert outcome.message.en.startswith("Already in another active case: 6472")
    taken = set()
    [held] = run_guards(guards, data, fields=MEMBERS, other_values=other_values)
    assert held.ok is True


def test_not_in_other_cases_on_a_plain_field_shows_the_value() -> None:
    [outcome] = run_guards(
        "[{not_in_other_cases: {field: title}}]",
        {"title": "Jalan RT 5"},
        fields="{title: {type: string}}",
        other_values=lambda field, key, states: {"Jalan RT 5"},
    )
    assert outcome.message is not None
    assert outcome.message.en == "Already in another active case: Jalan RT 5"


@pytest.mark.parametrize(
    ("tranches", "accepted", "ok"), [(1, 0, True), (2, 1, True), (2, 0, False), (3, 1, False)]
)
def test_tranche_accounted_needs_every_earlier_lpj_accepted(
    tranches: int, accepted: int, ok: bool
) -> None:
    [outcome] = run_guards(
        "[{tranche_accounted: {}}]",
        {},
        ledger={"tranches": tranches, "reports_accepted": accepted},
    )
    assert outcome.ok is ok
    if not ok:
        assert outcome.message is not None
        assert outcome.message.en == (
            f"Tranche {tranches} is released only after the LPJ of tranche "
            f"{tranches - 1} is accepted"
        )


def test_a_guard_reading_a_pending_field_is_pending_not_failed() -> None:
    guards = "[{quorum: {present: came, total: all}}, {expr: 'came > 0'}, {field_present: [title]}]"
    fields = "{came: {type: integer}, all: {type: integer}, title: {type: string}}"
    results = run_guards(guards, {"all": 10}, fields=fields, pending=frozenset({"came"}))
    assert [r.ok for r in results] == [None, None, False]
    assert results[0].fields == ("came", "all")
    assert results[1].fields == ("came",)
    assert results[0].message is not None  # still says what it waits for


def test_a_pending_field_does_not_hide_a_guard_that_holds() -> None:
    [outcome] = run_guards(
        "[{expr: 'came > 0'}]",
        {"came": 4},
        fields="{came: {type: integer}}",
        pending=frozenset({"came"}),
    )
    assert outcome.ok is True
    assert outcome.message is None


def test_approved_by_does_not_count_starting_the_case() -> None:
    spec = (
        parse_definition(
            SOURCE.replace(
                "approved_by: {role: kelurahan, trigger: go}", "approved_by: {role: ketua_rt}"
            ),
            "sample.yaml",
        )
        .transitions[0]
        .guards[4]
    )
    start = [{"trigger": "start", "role": "ketua_rt", "kind": "start"}]
    [outcome] = evaluate_guards([spec], context({}, history=start))
    assert outcome.ok is False
    fired = [*start, {"trigger": "go", "role": "ketua_rt", "kind": "transition"}]
    [outcome] = evaluate_guards([spec], context({}, history=fired))
    assert outcome.ok is True


def test_decimal_fields_are_compared_as_numbers() -> None:
    fields = "{area: {type: decimal, label: {id: Luas, en: Area}}}"
    [inside] = run_guards(
        "[{amount_between: {field: area, min: 0.5, max: 2.5}}]", {"area": "1.25"}, fields=fields
    )
    assert inside.ok is True
    [outside] = run_guards(
        "[{amount_between: {field: area, max: 1}}]", {"area": "1.25"}, fields=fields
    )
    assert outside.ok is False
    [expression] = run_guards('[{expr: "area > 1"}]', {"area": "1.25"}, fields=fields)
    assert expression.ok is True


def test_a_guard_that_cannot_evaluate_says_so_without_raw_placeholders() -> None:
    [crashed] = run_guards(
        "[{amount_between: {field: votes, min: 5}}]",
        {"votes": "lima"},  # not a number: the comparison raises
        fields="{votes: {type: integer}}",
    )
    assert crashed.ok is False
    assert crashed.message is not None
    assert "{" not in crashed.message.id + crashed.message.en
    assert crashed.message.en.startswith("Guard 'amount_between' could not be checked (error: ")


def test_attendance_above_the_total_is_refused_as_impossible_not_as_no_quorum() -> None:
    [outcome] = run_guards(
        "[{quorum: {present: hadir, total: kk}}]",
        {"hadir": 50, "kk": 40},
        fields="{hadir: {type: integer}, kk: {type: integer}}",
    )
    assert outcome.ok is False
    assert outcome.message is not None
    assert outcome.message.en == "Attendance (50) must be between 0 and the total (40)"
