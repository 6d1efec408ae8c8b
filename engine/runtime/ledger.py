"""The money of one case: RAB lines, the approved amount, tranches (tahap) and their LPJ.

Entries are append-only; the state is a fold over them. A transition with a ``ledger``
posting adds entries; guards read the totals as they would be *after* the posting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import TransitionRefused
from engine.language.model import Label, LedgerPosting


@dataclass
class Tranche:
    number: int
    amount: int
    date: str | None
    lpj_amount: int | None = None
    lpj_status: str | None = None  # pending | accepted | rejected
    lpj_document: str | None = None


@dataclass
class LedgerState:
    entries: list[Mapping[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    approved: int = 0
    tranches: list[Tranche] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        live = [t for t in self.tranches if t.lpj_status in ("pending", "accepted")]
        accepted = [t for t in self.tranches if t.lpj_status == "accepted"]
        return {
            "budget": sum(line["amount"] for line in self.lines),
            "approved": self.approved,
            "disbursed": sum(t.amount for t in self.tranches),
            "tranches": len(self.tranches),
            "reported": sum(t.lpj_amount or 0 for t in live),
            "spent": sum(t.lpj_amount or 0 for t in accepted),
            "reports_accepted": len(accepted),
            "reports_pending": sum(1 for t in self.tranches if t.lpj_status == "pending"),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "tranches": [
                {
                    "tranche": t.number,
                    "amount": t.amount,
                    "date": t.date,
                    "lpj": None
                    if t.lpj_status is None
                    else {
                        "amount": t.lpj_amount,
                        "status": t.lpj_status,
                        "document": t.lpj_document,
                    },
                }
                for t in self.tranches
            ],
            "totals": self.totals(),
        }


def fold(entries: Iterable[Mapping[str, Any]]) -> LedgerState:
    """The ledger state from entries in posting order."""
    state = LedgerState()
    budget_seq = None
    for entry in entries:
        state.entries.append(entry)
        kind = entry["kind"]
        if kind in ("budget", "budget_cleared"):
            if entry["seq"] != budget_seq:  # a new RAB replaces the previous one
                state.lines, budget_seq = [], entry["seq"]
            if kind == "budget":
                state.lines.append({"description": entry["description"], "amount": entry["amount"]})
        elif kind == "approval":
            state.approved = entry["amount"]
        elif kind == "tranche":
            state.tranches.append(Tranche(entry["tranche"], entry["amount"], entry["date"]))
        elif kind == "lpj":
            tranche = state.tranches[entry["tranche"] - 1]
            tranche.lpj_amount, tranche.lpj_status = entry["amount"], "pending"
            tranche.lpj_document = entry["document_sha256"]
        elif kind in ("lpj_accepted", "lpj_rejected"):
            state.tranches[entry["tranche"] - 1].lpj_status = kind.removeprefix("lpj_")
    return state


def _refuse(trigger: str, case_id: int | None, id_text: str, en_text: str) -> TransitionRefused:
    message = Label(id_text, en_text)
    result = {"guard": "ledger", "args": {}, "ok": False, "message": message.to_json()}
    where = Label(id=f"langkah '{trigger}' ditolak", en=f"'{trigger}' refused")
    if case_id is not None:
        where = Label(id=f"{where.id} pada kasus {case_id}", en=f"{where.en} on case {case_id}")
    return TransitionRefused(
        Label(id=f"{where.id}: pembukuan: {id_text}", en=f"{where.en}: ledger: {en_text}"),
        [result],
    )


def plan(
    posting: LedgerPosting,
    state: LedgerState,
    data: Mapping[str, Any],
    trigger: str,
    case_id: int | None = None,
) -> list[dict[str, Any]]:
    """The entries ``posting`` adds given the current ``state`` and the case's new data
    (without ``seq``); refuses postings that make no sense (an LPJ with no tranche...)."""
    amount = int(data.get(posting.amount) or 0) if posting.amount else 0
    if posting.post == "budget":
        lines = data.get(posting.lines or "") or []
        if not lines:  # an empty RAB replaces the previous one too
            return [{"kind": "budget_cleared", "amount": 0}]
        return [
            {
                "kind": "budget",
                "description": str(line.get("description", ""))[:400],
                "amount": int(line.get("amount") or 0),
            }
            for line in lines
        ]
    if posting.post == "approve":
        return [{"kind": "approval", "amount": amount}]
    if posting.post == "disburse":
        date = data.get(posting.date) if posting.date else None
        return [
            {"kind": "tranche", "tranche": len(state.tranches) + 1, "amount": amount, "date": date}
        ]
    if posting.post == "report":
        open_tranches = [t for t in state.tranches if t.lpj_status in (None, "rejected")]
        if not open_tranches:
            raise _refuse(
                trigger,
                case_id,
                "Tidak ada tahap yang menunggu LPJ",
                "No tranche is awaiting an LPJ",
            )
        document = data.get(posting.document) if posting.document else None
        sha = document.get("sha256") if isinstance(document, Mapping) else None
        return [
            {
                "kind": "lpj",
                "tranche": open_tranches[0].number,
                "amount": amount,
                "document_sha256": sha,
            }
        ]
    pending = [t for t in state.tranches if t.lpj_status == "pending"]
    if not pending:
        raise _refuse(
            trigger,
            case_id,
            "Tidak ada LPJ yang menunggu keputusan",
            "No LPJ is awaiting a decision",
        )
    kind = "lpj_accepted" if posting.post == "accept_report" else "lpj_rejected"
    return [{"kind": kind, "tranche": pending[0].number, "amount": pending[0].lpj_amount or 0}]


def entry_defaults(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "tranche": None,
        "description": "",
        "amount": 0,
        "date": None,
        "document_sha256": None,
        **entry,
    }


def entry_of(row: Any) -> dict[str, Any]:
    """A stored ledger row (``engine.store.models.LedgerEntry``) as a fold entry."""
    return {
        "seq": row.seq,
        "kind": row.kind,
        "tranche": row.tranche,
        "description": row.description,
        "amount": row.amount,
        "date": row.date,
        "document_sha256": row.document_sha256,
    }
