"""The history hash chain: canonical JSON of a record plus the previous record's hash."""

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


def format_time(value: dt.datetime) -> str:
    """UTC ISO 8601 with microseconds and a ``Z``: the one textual form of a timestamp."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(fields: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON of the hashed fields (``at`` as canonical text)."""
    body = {name: fields[name] for name in HASHED_FIELDS}
    if isinstance(body["at"], dt.datetime):
        body["at"] = format_time(body["at"])
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(records: Iterable[Mapping[str, Any]]) -> list[ChainBreak]:
    """Check sequence numbers, links and hashes of one case's records, oldest first."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS
    expected_seq = 1
    for record in records:
        seq = record["seq"]
        if seq != expected_seq:
            breaks.append(ChainBreak(seq, f"sequence gap: expected {expected_seq}, found {seq}"))
        if record["prev_hash"] != expected_prev:
            breaks.append(ChainBreak(seq, "prev_hash does not match the previous record's hash"))
        if record_hash(record) != record["hash"]:
            breaks.append(ChainBreak(seq, "hash does not match the record's content"))
        expected_prev = record["hash"]
        expected_seq = seq + 1
    return breaks
