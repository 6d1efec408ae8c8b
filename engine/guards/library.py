"""The built-in guard library. Each guard is one registered function; YAML names it."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from engine.guards.expressions import evaluate
from engine.guards.registry import ArgPath, GuardContext, Outcome, Param, Scope, guard, hint
from engine.language.model import NUMERIC_TYPES, Label
from engine.language.roles import LEVELS, level_rank
from engine.money import format_money
from engine.privacy import mask

NUMERIC = NUMERIC_TYPES
#: Ledger totals that are amounts of money (the others count tranches and reports).
LEDGER_MONEY = ("budget", "approved", "disbursed", "reported", "spent")


def _show(context: GuardContext, value: Any, like_field: str | None = None) -> str:
    """Display a number: Rupiah when it measures a money field."""
    spec = context.fields.get(like_field or "")
    is_money = (spec is not None and spec.type == "money") or (like_field or "").removeprefix(
        "ledger."
    ) in LEDGER_MONEY
    if isinstance(value, int) and not isinstance(value, bool) and is_money:
        return format_money(value)
    return str(value)


def _labels(context: GuardContext, names: list[str]) -> dict[str, str]:
    return {
        "id": ", ".join(context.label(n, "id") for n in names),
        "en": ", ".join(context.label(n, "en") for n in names),
    }


def _number(value: Any) -> Fraction:
    if value is None or isinstance(value, bool):
        raise ValueError("no value")
    return Fraction(str(value))


@guard(
    "quorum",
    params={
        "present": Param("field", field_types=NUMERIC),
        "total": Param("field", field_types=NUMERIC),
        "fraction": Param("value", required=False, default=0.5),
        "strict": Param("bool", required=False, default=True),
    },
    message=Label(
        "Kuorum belum tercapai: {present} dari {total} hadir, perlu minimal {needed}",
        "Quorum not reached: {present} of {total} present, at least {needed} needed",
    ),
)
def quorum(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """Attendance reaches a fraction of the total (strictly more than it by default:
    a majority with fraction 0.5)."""
    present = context.data.get(args["present"])
    total = context.data.get(args["total"])
    fraction = _number(context.resolve(args.get("fraction", 0.5)))
    if present is None or total is None or total <= 0:
        return Outcome(False, {"present": present, "total": total, "needed": "?"})
    threshold = fraction * int(total)
    strict = args.get("strict", True)
    needed = int(threshold) + 1 if strict else -(-threshold.numerator // threshold.denominator)
    values = {"present": present, "total": total, "needed": needed}
    if not 0 <= present <= total:
        return Outcome(False, values, IMPOSSIBLE_ATTENDANCE)
    return Outcome(present >= needed, values)


IMPOSSIBLE_ATTENDANCE = Label(
    "Jumlah hadir ({present}) harus antara 0 dan jumlah total ({total})",
    "Attendance ({present}) must be between 0 and the total ({total})",
)


@guard(
    "documents",
    params={"fields": Param("fields", field_types=("document",))},
    shorthand="fields",
    message=Label(
        "Dokumen wajib belum dilampirkan: {missing_id}", "Required documents missing: {missing_en}"
    ),
)
def documents(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """Each named document field has a stored file attached."""
    missing = [
        name
        for name in args["fields"]
        if not (isinstance(context.data.get(name), Mapping) and context.data[name].get("sha256"))
    ]
    labels = _labels(context, missing)
    return Outcome(not missing, {"missing_id": labels["id"], "missing_en": labels["en"]})


@guard(
    "field_present",
    params={"fields": Param("fields")},
    shorthand="fields",
    message=Label("Data wajib belum diisi: {missing_id}", "Required data missing: {missing_en}"),
)
def field_present(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """Each named field has a value (not empty)."""
    missing = [n for n in args["fields"] if context.data.get(n) in (None, "", [], {})]
    labels = _labels(context, missing)
    return Outcome(not missing, {"missing_id": labels["id"], "missing_en": labels["en"]})


@guard(
    "amount_between",
    params={
        "field": Param("amount", field_types=NUMERIC),
        "min": Param("value", required=False),
        "max": Param("value", required=False),
    },
    message=Label(
        "{label_id} harus antara {min} dan {max} (tercatat {value})",
        "{label_en} must be between {min} and {max} (is {value})",
    ),
)
def amount_between(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """A numeric field (or ledger total) lies within [min, max] (both inclusive, either may
    be omitted). A bound that is written but names an empty field does not hold: no limit
    is never assumed."""
    name = args["field"]
    value = context.resolve(name)
    low = context.resolve(args.get("min"))
    high = context.resolve(args.get("max"))
    unset = (args.get("min") is not None and low is None) or (
        args.get("max") is not None and high is None
    )
    ok = (
        not unset
        and value is not None
        and (low is None or value >= low)
        and (high is None or value <= high)
    )
    return Outcome(
        bool(ok),
        {
            "label_id": context.label(name, "id"),
            "label_en": context.label(name, "en"),
            "value": "-" if value is None else _show(context, value, name),
            "min": "-" if low is None else _show(context, low, name),
            "max": "-" if high is None else _show(context, high, name),
        },
    )


@guard(
    "approved_by",
    params={"role": Param("role"), "trigger": Param("trigger", required=False)},
    message=Label(
        "Belum disetujui oleh peran {role} {trigger}",
        "Not yet approved by role {role} {trigger}",
    ),
)
def approved_by(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """An earlier transition in this case's history was fired by ``role`` (and is ``trigger``
    when given)."""
    role, trigger = args["role"], args.get("trigger")
    ok = any(
        record.get("kind") != "start"  # starting a case approves nothing
        and record.get("role") == role
        and (trigger is None or record.get("trigger") == trigger)
        for record in context.history
    )
    return Outcome(ok, {"role": role, "trigger": f"({trigger})" if trigger else ""})


@guard(
    "sum_lte",
    params={"fields": Param("amounts", field_types=NUMERIC), "max": Param("value")},
    message=Label(
        "Jumlah {labels_id} ({total}) melebihi batas {max}",
        "Total of {labels_en} ({total}) exceeds the limit {max}",
    ),
)
def sum_lte(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """The sum of numeric fields or ledger totals (empty counts as 0) is at most ``max``."""
    names = list(args["fields"])
    total = sum(context.resolve(n) or 0 for n in names)
    limit = context.resolve(args["max"])
    labels = _labels(context, names)
    return Outcome(
        limit is not None and total <= limit,
        {
            "labels_id": labels["id"],
            "labels_en": labels["en"],
            "total": _show(context, total, names[0]),
            "max": _show(context, limit, names[0]),
        },
    )


def _check_count_level(args: Mapping[str, Any], scope: Scope) -> list[tuple[ArgPath, str]]:
    """Cases are counted per region at ``level``: it must contain the subjects."""
    level = args.get("level", "kota")
    subject = scope.subject_level
    if subject is None or level not in LEVELS or level_rank(level) <= level_rank(subject):
        return []
    return [
        (
            ("level",),
            f"cases are counted per {level}, but this program's subjects are {subject}s, "
            f"which no {level} contains (use {subject} or a wider level)",
        )
    ]


@guard(
    "count_lte",
    params={
        "max": Param("limit"),
        "level": Param("level", required=False, default="kota"),
        "states": Param("states", required=False),
        "key": Param("enum", required=False, default="region", choices=("region", "year")),
    },
    check=_check_count_level,
    message=Label(
        "Kuota penuh: {count} kasus program ini tahun {year} di wilayah {region} (maksimum {max})",
        "Quota reached: {count} cases of this program in {year} in region {region} (maximum {max})",
    ),
)
def count_lte(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """At most ``max`` cases of this program and year in the same region (at ``level``),
    counting this case and the others currently in ``states`` (all states if omitted).
    ``max`` may be a params mapping: by the region's code (``key: region``) or by the
    fiscal year (``key: year``)."""
    level = args.get("level", "kota")
    region = context.case.get("ancestors", {}).get(level, "?")
    year = context.case.get("year")
    limit = context.resolve(args["max"])
    if isinstance(limit, Mapping):
        lookup = region if args.get("key", "region") == "region" else year
        limit = limit.get(lookup, limit.get(str(lookup)))
    count = context.count_cases(level, args.get("states")) + 1
    return Outcome(
        limit is not None and count <= limit,
        {"count": count, "max": "-" if limit is None else limit, "year": year, "region": region},
    )


@guard(
    "expr",
    params={"expression": Param("expression")},
    shorthand="expression",
    message=Label("Syarat tidak terpenuhi: {expression}", "Condition not met: {expression}"),
)
def expr(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """A safe expression over the case's fields, ``params``, ``case.year`` and ``case.region``."""
    fields = {name: context.field_value(name) for name in context.fields}
    case = {"year": context.case.get("year"), "region": context.case.get("region")}
    result = evaluate(
        args["expression"], fields, context.params, case, context.today, context.ledger
    )
    return Outcome(bool(result), {"expression": args["expression"]})


def _check_item_key(args: Mapping[str, Any], scope: Scope) -> list[tuple[ArgPath, str]]:
    spec = scope.fields[args["field"]]
    key = args.get("key")
    if spec.type == "list":
        if key is None:
            return [(("field",), f"'{spec.name}' is a list: say which item 'key' to compare")]
        if spec.item is None or key not in spec.item:
            known_keys = sorted(spec.item or {})
            message = f"'{key}' is not a field of {spec.name}'s items{hint(str(key), known_keys)}"
            return [(("key",), message)]
    elif key is not None:
        return [(("key",), f"'{spec.name}' is not a list; 'key' applies to list fields only")]
    return []


@guard(
    "not_in_other_cases",
    params={
        "field": Param("field"),
        "key": Param("name", required=False),
        "states": Param("states", required=False),
    },
    message=Label(
        "Sudah terdaftar di kasus lain yang masih aktif: {duplicates}",
        "Already in another active case: {duplicates}",
    ),
    check=_check_item_key,
)
def not_in_other_cases(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """No value of ``field`` (for a list: of ``key`` in its items) appears in another case of
    this program that is in ``states`` (e.g. no household in two active KUBE)."""
    value = context.data.get(args["field"])
    key = args.get("key")
    if isinstance(value, list):
        mine = {item.get(key) for item in value if isinstance(item, Mapping)} - {None, ""}
    else:
        mine = set() if value in (None, "") else {value}
    taken = mine & context.other_values(args["field"], key, args.get("states"))
    spec = context.fields.get(args["field"])
    item_spec = spec.item.get(key) if spec is not None and spec.item and key else spec
    personal = item_spec is not None and item_spec.pii
    shown = sorted(mask(str(v)) if personal else str(v) for v in taken)
    return Outcome(not taken, {"duplicates": ", ".join(shown)})


@guard(
    "tranche_accounted",
    params={},
    message=Label(
        "Tahap {tranche} baru dapat dicairkan setelah LPJ tahap {previous} diterima",
        "Tranche {tranche} is released only after the LPJ of tranche {previous} is accepted",
    ),
)
def tranche_accounted(context: GuardContext, args: Mapping[str, Any]) -> Outcome:
    """Every tranche before the newest one has its LPJ accepted (read from the ledger as it
    would be after this transition)."""
    tranches = context.ledger.get("tranches", 0)
    accepted = context.ledger.get("reports_accepted", 0)
    values = {"tranche": tranches, "previous": max(tranches - 1, 1)}
    return Outcome(accepted >= tranches - 1, values)
