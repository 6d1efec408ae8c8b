"""The per-case ledger: a new RAB replaces the previous one, an empty one included."""

from __future__ import annotations

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
