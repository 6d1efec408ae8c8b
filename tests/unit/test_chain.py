"""The hash chain's canonical JSON: byte for byte what ``json.dumps`` with the documented
options gives, so every stored hash keeps verifying whatever the encoder is built like."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.store.chain import (
    GENESIS,
    HASHED_FIELDS,
    HASHED_FIELDS_2,
    canonical_json,
    format_time,
    record_hash,
)


def reference(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def outcome(function: Callable[[Any], Any], value: Any) -> Any:
    """What ``function`` returns, or the type of what it raises (a lone surrogate cannot
    be UTF-8: both sides must refuse it alike)."""
    try:
        return function(value)
    except ValueError as error:
        return type(error)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.text(st.characters(min_codepoint=0x80))
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
#: A record field: a scalar, or a flat list or object of them (nesting is covered above).
FIELD_VALUES = (
    SCALARS
    | st.lists(SCALARS, max_size=3)
    | st.dictionaries(st.text(max_size=8), SCALARS, max_size=3)
)


@settings(max_examples=500)
@given(JSON_VALUES)
def test_canonical_json_is_json_dumps_sorted_compact_utf8(value: Any) -> None:
    assert outcome(canonical_json, value) == outcome(reference, value)


TIMES = st.datetimes(timezones=st.just(dt.UTC))


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """Any value in any hashed field (``at`` also a datetime), under rule 1, 2 or none."""
    record = draw(st.fixed_dictionaries(dict.fromkeys(HASHED_FIELDS_2, FIELD_VALUES)))
    record["at"] = draw(TIMES | FIELD_VALUES)
    rule = draw(st.sampled_from([None, 1, 2]) | FIELD_VALUES)
    if rule is None:
        del record["rule"]
    else:
        record["rule"] = rule
    record["hash"] = draw(st.text())  # not hashed
    return record


@settings(max_examples=200)
@given(records())
def test_record_hash_is_sha256_of_json_dumps_of_its_fields(record: dict[str, Any]) -> None:
    names = HASHED_FIELDS if (record.get("rule") or 1) == 1 else HASHED_FIELDS_2
    body = {name: record[name] for name in names}
    if isinstance(body["at"], dt.datetime):
        body["at"] = format_time(body["at"])

    def expected(body: dict[str, Any]) -> str:
        return hashlib.sha256(reference(body)).hexdigest()

    assert outcome(record_hash, record) == outcome(expected, body)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"x": [float("-inf")]}])
def test_canonical_json_refuses_what_json_cannot_carry(value: Any) -> None:
    with pytest.raises(ValueError):
        canonical_json(value)


def test_record_hash_of_a_known_record_is_unchanged() -> None:
    """A start record as the engine writes it under rule 2, with its hash pinned."""
    record = {
        "case_id": 7,
        "seq": 1,
        "kind": "start",
        "trigger": "start",
        "source": None,
        "dest": "diajukan",
        "actor": "rt_001",
        "role": "ketua_rt",
        "at": dt.datetime(2026, 3, 1, 2, 30, 0, 123456, tzinfo=dt.UTC),
        "program": "probebaya",
        "definition_version": 3,
        "definition_sha256": "ab" * 32,
        "payload": {"judul": "Perbaikan saluran", "anggaran": 12_500_000, "nilai": 0.5},
        "guards": [{"name": "quorum", "passed": True}],
        "documents": {"notulen": "cd" * 32},
        "prev_hash": GENESIS,
        "rule": 2,
        "effects": {"ledger": [], "links": {}, "due_at": None, "case": {"year": 2026}},
    }
    # taken with the json.dumps-based canonical_json this module replaced
    assert record_hash(record) == "eb38f5b8523082a60d084b6b93737bdd3826b396d268ca71ceac86d18463bd2c"
