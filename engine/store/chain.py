"""The history hash chain: canonical JSON of a record plus the previous record's hash.

Two rules say which fields a record's hash covers. Rule 1 (records written before
migration 0006) covers the transition, its payload, guard results and documents; rule 2
adds ``rule`` itself and ``effects``: the ledger entries the record posted, the links it
set, the deadline it started, and for a start the case's subject, year and region path.
Under rule 2 every stored row of a case (the case, its ledger, its links) can be rebuilt
from its records and compared (:mod:`engine.audit.projection`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

#: The record fields covered by the hash, in the order documented for auditors.
HASHED_FIELDS = (
    "case_id",
    "seq",
    "kind",
    "trigger",
    "source",
    "dest",
    "actor",
    "role",
    "at",
    "program",
    "definition_version",
    "definition_sha256",
    "payload",
    "guards",
    "documents",
    "prev_hash",
)
#: Rule 2: everything of rule 1, the rule and the record's effects.
HASHED_FIELDS_2 = (*HASHED_FIELDS, "rule", "effects")
CURRENT_RULE = 2


def format_time(value: dt.datetime) -> str:
    """UTC ISO 8601 with microseconds and a ``Z``: the one textual form of a timestamp
    (``%Y-%m-%dT%H:%M:%S.%fZ``; ``isoformat`` writes it in half the time of ``strftime``)."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z"


#: Built once: ``json.dumps`` with these options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, no NaN: what every record hash is taken over (the
    output of ``json.dumps`` with those options, byte for byte)."""
    return _CANONICAL.encode(value).encode("utf-8")


def record_hash(fields: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON of the fields its rule hashes (``at`` as canonical
    text); a record without ``rule`` is of rule 1."""
    rule = fields.get("rule") or 1
    members = _MEMBERS_1 if rule == 1 else _MEMBERS_2
    return hashlib.sha256(_hashed_json(fields, members)).hexdigest()


def _members(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Each name in sorted order with the text before its value: ``{"actor":``,
    ``,"at":``, ..."""
    ordered = sorted(names)
    return tuple(
        (name, ("{" if index == 0 else ",") + _string(name) + ":")
        for index, name in enumerate(ordered)
    )


def _hashed_json(fields: Mapping[str, Any], members: tuple[tuple[str, str], ...]) -> bytes:
    """:func:`canonical_json` of the object of the named fields, written member by member:
    the names are sorted once, and the usual values (text, whole numbers, null, empty
    objects and lists) are written without a call into the encoder. Byte for byte what
    ``canonical_json`` gives (``tests/unit/test_chain.py``); it is most of what checking a
    record costs."""
    parts: list[str] = []
    add = parts.append
    for name, member in members:
        value = fields[name]
        kind = type(value)
        add(member)
        if kind is str:
            add(_string(value))
        elif kind is int:
            add(int.__repr__(value))
        elif value is None:
            add("null")
        elif kind is dict and not value:
            add("{}")
        elif kind is list and not value:
            add("[]")
        elif name == "at" and isinstance(value, dt.datetime):
            add(_string(format_time(value)))
        else:
            add(_CANONICAL.encode(value))
    add("}")
    return "".join(parts).encode("utf-8")


#: How the encoder above writes a string (``ensure_ascii=False``).
_string = json.encoder.encode_basestring
_MEMBERS_1 = _members(HASHED_FIELDS)
_MEMBERS_2 = _members(HASHED_FIELDS_2)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(records: Iterable[Mapping[str, Any]]) -> list[ChainBreak]:
    """Check sequence numbers, links, hashes and rules of one case's records, oldest first."""
    checker = ChainChecker()
    for record in records:
        checker.add(record)
    return checker.breaks


class ChainChecker:
    """Checks one case's records fed oldest first, one at a time (so whole databases can be
    streamed through it): sequence numbers without gaps, each ``prev_hash`` equal to the
    previous record's hash, each hash equal to the record's content, and rules that never
    go back (a rule-2 record followed by a rule-1 one was rewritten to escape coverage)."""

    def __init__(self) -> None:
        self.breaks: list[ChainBreak] = []
        self.expected_prev = GENESIS
        self.expected_seq = 1
        self.rule = 1
        #: Sequence numbers of the records written under rule 1.
        self.old_rule: list[int] = []

    @property
    def started_under_rule_1(self) -> bool:
        """The case's first record is of rule 1: its start predates the rule that covers
        the subject, year and region path."""
        return bool(self.old_rule) and self.old_rule[0] == 1

    def add(self, record: Mapping[str, Any]) -> None:
        seq = record["seq"]
        if seq != self.expected_seq:
            reason = (
                f"sequence gap: expected {self.expected_seq}, found {seq}"
                if seq > self.expected_seq
                else f"out of order: expected {self.expected_seq}, found {seq}"
            )
            self.breaks.append(ChainBreak(seq, reason))
        if record["prev_hash"] != self.expected_prev:
            self.breaks.append(
                ChainBreak(seq, "prev_hash does not match the previous record's hash")
            )
        if record_hash(record) != record["hash"]:
            self.breaks.append(ChainBreak(seq, "hash does not match the record's content"))
        rule = record.get("rule") or 1
        if rule < self.rule:
            self.breaks.append(
                ChainBreak(seq, f"written under rule {rule} after a rule-{self.rule} record")
            )
        if rule == 1:
            self.old_rule.append(seq)
        self.rule = max(self.rule, rule)
        self.expected_prev = record["hash"]
        self.expected_seq = seq + 1
