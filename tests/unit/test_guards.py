"""Each built-in guard holds and fails, and says why in both languages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from engine.guards import GuardContext, GuardResult, evaluate_guards
from engine.guards.registry import REGISTRY, Outcome, Param, guard
from engine.language import Definition, Label, parse_definition

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
