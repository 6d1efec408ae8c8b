"""The per-case ledger: a new RAB replaces the previous one, an empty one included."""

from __future__ import annotations

import pytest

from engine.errors import TransitionRefused
from engine.language.model import LedgerPosting
from engine.runtime import ledger


def entries(seq: int, planned: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{"seq": seq, **ledger.entry_defaults(p)} for p in planned]


def test_a_new_rab_replaces_the_previous_lines() -> None:
    posting = LedgerPosting(post="budget", lines="rab_lines")
    first = ledger.plan(
        posting,
        ledger.LedgerState(),
        {
            "rab_lines": [
                {"description": "Semen", "amount": 30},
                {"description": "Pasir", "amount": 20},
            ]
        },
        "submit",
    )
    second = ledger.plan(
        posting,
        ledger.fold(entries(1, first)),
        {"rab_lines": [{"description": "Cat", "amount": 5}]},
        "resubmit",
    )
    state = ledger.fold([*entries(1, first), *entries(2, second)])
    assert state.lines == [{"description": "Cat", "amount": 5}]
    assert state.totals()["budget"] == 5


def test_an_empty_rab_clears_the_previous_lines() -> None:
    posting = LedgerPosting(post="budget", lines="rab_lines")
    first = ledger.plan(
        posting,
        ledger.LedgerState(),
        {"rab_lines": [{"description": "Semen", "amount": 30}]},
        "submit",
    )
    empty = ledger.plan(posting, ledger.fold(entries(1, first)), {"rab_lines": []}, "resubmit")
    assert [e["kind"] for e in empty] == ["budget_cleared"]
    state = ledger.fold([*entries(1, first), *entries(2, empty)])
    assert state.lines == []
    assert state.totals()["budget"] == 0


def test_a_refused_posting_names_the_trigger_and_the_case() -> None:
    posting = LedgerPosting(post="report", amount="lpj_amount")
    with pytest.raises(TransitionRefused) as refused:
        ledger.plan(posting, ledger.LedgerState(), {"lpj_amount": 10}, "submit_lpj", 7)
    assert refused.value.message == (
        "'submit_lpj' refused on case 7: ledger: No tranche is awaiting an LPJ"
    )
