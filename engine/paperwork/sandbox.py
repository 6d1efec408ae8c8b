"""The template language of generated paperwork: Jinja in its immutable sandbox, with the
names a template may read (a plain view of the case, built by
:mod:`engine.runtime.paperwork`) and filters for Indonesian official documents: Rupiah,
terbilang, dates and region names.

A template sees only plain values (text, numbers, lists and mappings of them): no object
of the engine, no file, no loader (``include``, ``extends`` and ``import`` have nothing to
read), and the sandbox refuses attributes that start with ``_`` and methods that change
a value. What rendering may spend is bounded by the process it runs in
(:mod:`engine.paperwork.render`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Undefined, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.language.model import LEDGER_TOTALS

#: Dates and times on paper are in the cities' own time (WITA).
LOCAL_TIME = ZoneInfo("Asia/Makassar")
#: The largest template a definition may hold, in characters.
MAX_TEMPLATE_LENGTH = 100_000
#: ``range()`` in a template makes at most this many numbers.
MAX_RANGE = 1_000

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

#: What a template may read, and the keys of each (``None``: keys are the definition's
#: fields or params, checked against it).
CASE_KEYS = (
    "id",
    "program",
    "year",
    "state",
    "state_label",
    "created",
    "subject_code",
    "subject_name",
    "region",
    "regions",
)
ACT_KEYS = ("trigger", "label", "actor", "role", "role_label", "at", "date")
PROGRAM_KEYS = ("code", "title")
DOCUMENT_KEYS = ("title", "reference", "template")
NAMES: Mapping[str, tuple[str, ...] | None] = {
    "case": CASE_KEYS,
    "data": None,
    "shown": None,
    "labels": None,
    "params": None,
    "ledger": LEDGER_TOTALS,
    "act": ACT_KEYS,
    "program": PROGRAM_KEYS,
    "document": DOCUMENT_KEYS,
}
#: The names that hold the definition's fields (``data.budget``, ``shown.program_area``).
FIELD_NAMES = ("data", "shown", "labels")
#: Region levels, widest first: the keys of ``case.region``.
REGION_LEVELS = ("provinsi", "kota", "kecamatan", "kelurahan", "rw", "rt", "group")


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or isinstance(value, Undefined):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def rupiah(value: Any) -> str:
    """``150000000`` -> ``Rp150.000.000`` (lokal-id's Indonesian format); empty if not a
    whole amount."""
    amount = _number(value)
    if amount is None:
        return ""
    from lokal import format_rupiah

    return str(format_rupiah(amount))


def terbilang(value: Any, currency: bool = True) -> str:
    """``150000000`` -> ``seratus lima puluh juta rupiah`` (lokal-id), as kuitansi write
    amounts out; ``currency=False`` leaves out ``rupiah``."""
    amount = _number(value)
    if amount is None:
        return ""
    from lokal import terbilang as spell

    return str(spell(amount, currency=currency))


def _moment(value: Any) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is None else value.astimezone(LOCAL_TIME)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if len(value) <= 10:
            return moment.date()
        return moment if moment.tzinfo is None else moment.astimezone(LOCAL_TIME)
    return None


def tanggal(value: Any) -> str:
    """A date (or an ISO text of one) as written on letters: ``2 Desember 2026``."""
    moment = _moment(value)
    if moment is None:
        return ""
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def hari(value: Any) -> str:
    """The day of the week of a date: ``Rabu``."""
    moment = _moment(value)
    return "" if moment is None else DAYS[moment.weekday()]


def waktu(value: Any) -> str:
    """A moment in WITA: ``2 Desember 2026 pukul 10.15 WITA``."""
    moment = _moment(value)
    if not isinstance(moment, dt.datetime):
        return tanggal(value)
    return f"{tanggal(moment)} pukul {moment:%H.%M} WITA"


@pass_context
def wilayah(context: Context, code: Any) -> str:
    """The name of a region on the case's path, by its code (``64.72`` -> ``Kota
    Samarinda``); the code itself for any other region (a template reads no table)."""
    names = context.get("case", {}).get("regions", {})
    text = "" if code is None or isinstance(code, Undefined) else str(code)
    return str(names.get(text, text)) if isinstance(names, Mapping) else text


def bounded_range(*args: int) -> range:
    """``range()`` of at most :data:`MAX_RANGE` numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise OverflowError(f"range() is limited to {MAX_RANGE} numbers in a template")
    return numbers


FILTERS: Mapping[str, Callable[..., str]] = {
    "rupiah": rupiah,
    "terbilang": terbilang,
    "tanggal": tanggal,
    "hari": hari,
    "waktu": waktu,
    "wilayah": wilayah,
}


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, except that reaching for an unsafe attribute fails the
    rendering at once (Jinja's own gives an empty value that fails only when used)."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(
            f"{attribute!r} of a {type(obj).__name__} is not reachable from a template"
        )


def environment() -> Sandbox:
    """A fresh sandbox for templates: HTML autoescaped, no loader, the paperwork filters,
    and no globals but a bounded ``range``."""
    env = Sandbox(autoescape=True, loader=None)
    env.filters.update(FILTERS)
    env.globals.clear()
    env.globals["range"] = bounded_range
    return env
