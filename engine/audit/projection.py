"""A case rebuilt from its history records alone: the state, data, ledger, links and row
facts each record leaves behind, under the definition version pinned at that record.

The stored ``cases``, ``ledger_entries`` and ``case_links`` rows are projections of the
history; :func:`compare` names every place where they differ from the rebuilt one. What a
record did to the ledger and links is read from its hashed ``effects`` (rule 2) and also
derived again from the definition, so a rule-1 record is rebuilt too, and an engine that
once posted something its definition does not say shows up as a divergence."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import RukunError
from engine.language import Definition
from engine.runtime import ledger as money
from engine.runtime.deadlines import due_at
from engine.store.chain import format_time

#: The case row's columns a projection rebuilds, in the order divergences are reported.
CASE_FIELDS = (
    "program",
    "subject",
    "year",
    "region_path",
    "state",
    "data",
    "version",
    "definition_version",
    "created_by",
    "created_at",
    "updated_at",
    "state_entered_at",
    "due_at",
    "escalated_at",
    "head_hash",
)
#: A ledger entry's stored columns besides its case.
LEDGER_FIELDS = ("seq", "kind", "tranche", "description", "amount", "date", "document_sha256")


@dataclass(frozen=True)
class Divergence:
    """A place where the stored rows (or a record) and the replay disagree."""

    seq: int | None
    field: str
    stored: Any
    replayed: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "field": self.field,
            "stored": self.stored,
            "replayed": self.replayed,
        }

    def __str__(self) -> str:
        return f"{self.field}: stored {short(self.stored)}, replayed {short(self.replayed)}"


def short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Projection:
    """The case as its records up to now have made it."""

    case_id: int
    values: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(CASE_FIELDS))
    ledger: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, list[int]] = field(default_factory=dict)
    #: The seq of the last record applied (0: none yet).
    seq: int = 0

    @property
    def state(self) -> str | None:
        return self.values["state"]

    @property
    def data(self) -> dict[str, Any]:
        return self.values["data"] or {}

    def books(self) -> money.LedgerState:
        return money.fold(self.ledger)

    def snapshot(self) -> dict[str, Any]:
        """The rebuilt case as JSON: what replay prints for a moment."""
        return {
            **copy.deepcopy(self.values),
            "ledger": self.books().to_json(),
            "links": copy.deepcopy(self.links),
        }

    def apply(self, record: Mapping[str, Any], definition: Definition | None) -> list[Divergence]:
        """Apply one record (as :func:`~engine.runtime.case_views.record_json` gives it);
        returns what in it disagrees with the definition or with the case so far."""
        seq, kind = record["seq"], record["kind"]
        at = record["at"]
        problems: list[Divergence] = []
        values = self.values
        if kind != "start" and record["source"] != values["state"]:
            problems.append(Divergence(seq, "source", record["source"], values["state"]))
        effects = record.get("effects") if (record.get("rule") or 1) >= 2 else None
        if effects is not None and not isinstance(effects, dict):
            problems.append(Divergence(seq, "effects", effects, "an object"))
            effects = {}
        payload = record["payload"] or {}
        if not isinstance(payload, dict):
            problems.append(Divergence(seq, "payload", payload, "an object"))
            payload = {}
        if kind == "start":
            facts = (effects or {}).get("case") or {}
            values.update(
                program=record["program"],
                subject=facts.get("subject"),
                year=facts.get("year"),
                region_path=facts.get("region_path"),
                data=_copied(payload),
                created_by=record["actor"],
                created_at=at,
                state_entered_at=at,
                escalated_at=None,
            )
        elif kind == "transition":
            values["data"] = {**self.data, **_copied(payload)}
        entries = self._ledger(record, definition, effects, problems)
        if entries:
            self.ledger.extend({"seq": seq, **money.entry_defaults(e)} for e in entries)
        self._links(record, definition, effects, payload, problems)
        moved = kind != "start" and record["dest"] != values["state"]
        values["state"] = record["dest"]
        if moved:
            values["state_entered_at"] = at
            values["escalated_at"] = None
        if kind == "escalation":
            values["escalated_at"] = at
        else:
            values["updated_at"] = at
            derived = self._due_at(definition, record["dest"], values["state_entered_at"])
            if effects is not None:
                if derived is not _UNKNOWN and effects.get("due_at") != derived:
                    problems.append(
                        Divergence(seq, "effects.due_at", effects.get("due_at"), derived)
                    )
                values["due_at"] = effects.get("due_at")
            elif derived is not _UNKNOWN and (moved or kind in ("start", "migration")):
                values["due_at"] = derived
        values["version"] = seq
        values["head_hash"] = record.get("hash")
        values["definition_version"] = record["definition_version"]
        values["program"] = record["program"]
        self.seq = seq
        return problems

    def _ledger(
        self,
        record: Mapping[str, Any],
        definition: Definition | None,
        effects: Mapping[str, Any] | None,
        problems: list[Divergence],
    ) -> list[dict[str, Any]]:
        """The entries the record posted: its effects (rule 2), compared with what the
        definition's posting gives on the ledger so far; derived alone under rule 1."""
        recorded = None if effects is None else list(effects.get("ledger") or [])
        derived: list[dict[str, Any]] | None = []
        transition = None
        if record["kind"] == "transition" and definition is not None:
            transition = definition.transition(record["trigger"], record["source"] or "")
            if transition is None:
                derived = None
            elif transition.ledger is not None:
                try:
                    planned = money.plan(
                        transition.ledger, self.books(), self.data, record["trigger"]
                    )
                    derived = [money.entry_defaults(p) for p in planned]
                except RukunError as error:
                    problems.append(
                        Divergence(record["seq"], "effects.ledger", recorded, error.message)
                    )
                    derived = None
        elif definition is None:
            derived = None
        if recorded is None:
            return derived or []
        if derived is not None and recorded != derived:
            problems.append(Divergence(record["seq"], "effects.ledger", recorded, derived))
        return recorded

    def _links(
        self,
        record: Mapping[str, Any],
        definition: Definition | None,
        effects: Mapping[str, Any] | None,
        payload: Mapping[str, Any],
        problems: list[Divergence],
    ) -> None:
        derived: dict[str, list[int]] | None = None
        if definition is not None and record["kind"] in ("start", "transition"):
            derived = {
                name: list(dict.fromkeys(value or []))
                for name, value in payload.items()
                if name in definition.fields and definition.fields[name].type == "cases"
            }
        recorded = None if effects is None else dict(effects.get("links") or {})
        if recorded is not None and derived is not None and recorded != derived:
            problems.append(Divergence(record["seq"], "effects.links", recorded, derived))
        for name, targets in (recorded if recorded is not None else derived or {}).items():
            self.links[name] = list(targets)

    @staticmethod
    def _due_at(definition: Definition | None, state: str, entered: str | None) -> Any:
        if definition is None or entered is None or not definition.has_state(state):
            return _UNKNOWN
        spec = definition.state(state)
        if spec.deadline is None:  # no deadline: no time to parse
            return None
        due = due_at(spec, dt.datetime.fromisoformat(entered))
        return format_time(due) if due else None


_UNKNOWN: Any = object()


def _copied(value: Any) -> Any:
    """A deep copy of a JSON value (what a record's payload is), several times faster than
    :func:`copy.deepcopy`; anything that is not JSON is copied by ``deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def stored_case(row: Any) -> dict[str, Any]:
    """The stored case row (``engine.store.models.Case``) in a projection's terms."""
    pinned = row.definition_version
    return case_columns(row, pinned.version if pinned is not None else None)


def case_columns(row: Any, definition_version: int | None) -> dict[str, Any]:
    """A case's columns (an ORM ``Case`` or a Core row of ``cases``) in a projection's
    terms; ``definition_version`` is the version its ``definition_version_id`` names."""

    def when(value: Any) -> str | None:
        return format_time(value) if value is not None else None

    return {
        "program": row.program,
        "subject": row.subject_code,
        "year": row.year,
        "region_path": row.region_path,
        "state": row.state,
        "data": row.data,
        "version": row.version,
        "definition_version": definition_version,
        "created_by": row.created_by,
        "created_at": when(row.created_at),
        "updated_at": when(row.updated_at),
        "state_entered_at": when(row.state_entered_at),
        "due_at": when(row.due_at),
        "escalated_at": when(row.escalated_at),
        "head_hash": row.head_hash,
    }


def stored_entry(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in LEDGER_FIELDS}


def compare(
    projection: Projection,
    row: Any,
    entries: Iterable[Mapping[str, Any]],
    links: Iterable[tuple[str, int]],
    old_rule: bool = False,
) -> list[Divergence]:
    """Every difference between the stored rows of a case (its ``Case`` row, ledger entries
    and links) and its projection. Under rule 1 (``old_rule``: the start record predates
    migration 0006) the subject, year and region path are not in the history, so they are
    not compared."""
    return compare_columns(projection, stored_case(row), entries, links, old_rule)


def compare_columns(
    projection: Projection,
    case: Mapping[str, Any],
    entries: Iterable[Mapping[str, Any]],
    links: Iterable[tuple[str, int]],
    old_rule: bool = False,
) -> list[Divergence]:
    """:func:`compare` with the case row already in a projection's terms
    (:func:`case_columns`)."""
    seq = projection.seq or None
    found = []
    for name in CASE_FIELDS:
        if old_rule and name in ("subject", "year", "region_path"):
            continue
        if case.get(name) != projection.values.get(name):
            found.append(Divergence(seq, name, case.get(name), projection.values.get(name)))
    stored = [dict(e) for e in entries]
    replayed = [{name: e.get(name) for name in LEDGER_FIELDS} for e in projection.ledger]
    for index, (mine, theirs) in enumerate(zip(stored, replayed, strict=False)):
        for name in LEDGER_FIELDS:
            if mine[name] != theirs[name]:
                found.append(
                    Divergence(theirs["seq"], f"ledger[{index}].{name}", mine[name], theirs[name])
                )
    if len(stored) != len(replayed):
        found.append(Divergence(seq, "ledger entries", len(stored), len(replayed)))
    have = sorted((f, t) for f, t in links)
    want = sorted((f, t) for f, targets in projection.links.items() for t in targets)
    if have != want:
        found.append(Divergence(seq, "links", have, want))
    return found
