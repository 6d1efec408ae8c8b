"""How form input (from the CLI, the admin UI or an API) is parsed, validated and
normalised to JSON-safe case data, by marshmallow schemas generated from the definition's
fields (:mod:`engine.runtime.form_fields`, imported on the first form checked: reading
cases needs none)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import InvalidData
from engine.language.model import Definition, FieldSpec, FormItem
from engine.text import Label

#: Where a message sits in the form: field names, and list indexes from 0.
Path = tuple[str | int, ...]


def clean(
    definition: Definition, items: Iterable[FormItem], raw: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate ``raw`` input against ``items``; return JSON-safe values or raise InvalidData
    (its ``errors`` marshmallow's, in English; its message in both languages, the fields
    named by their labels in Indonesian)."""
    items = tuple(items)
    allowed = {item.field for item in items}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        what = ", ".join(unknown)
        if not allowed:
            raise InvalidData(
                Label(
                    id=f"langkah ini tidak menerima data, tetapi diberi: {what}",
                    en=f"this step takes no data, got: {what}",
                )
            )
        takes = ", ".join(sorted(allowed))
        raise InvalidData(
            Label(
                id=f"bukan bagian dari formulir ini: {what} (formulir ini menerima: {takes})",
                en=f"not part of this form: {what} (the form takes: {takes})",
            ),
            {name: ["not part of this form"] for name in unknown},
        )
    from marshmallow import ValidationError

    from engine.runtime.form_fields import schema_for

    schema = schema_for(definition, items)
    try:
        loaded = schema.load(dict(raw))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        found = _flatten(messages)
        raise InvalidData(
            Label(
                id="data tidak sah: "
                + "; ".join(
                    f"{_where_id(definition, path)}: {in_indonesian(text)}" for path, text in found
                ),
                en="invalid data: " + "; ".join(f"{_where(path)}: {text}" for path, text in found),
            ),
            dict(messages),
        ) from exc
    dumped: dict[str, Any] = schema.dump(loaded)
    return {name: dumped.get(name) for name in loaded}


def _flatten(messages: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """``(where, message)`` pairs, e.g. ``(("members", 2, "nik"), "Not a valid NIK ...")``."""
    if isinstance(messages, str):
        return [(path, messages)]
    if isinstance(messages, Mapping):
        found = []
        for key, value in sorted(messages.items(), key=lambda kv: str(kv[0])):
            found.extend(_flatten(value, path if key == "_schema" else (*path, key)))
        return found
    return [pair for value in messages for pair in _flatten(value, path)]


def _where(path: Path) -> str:
    """``members[2].nik``: a message's place as the English message writes it."""
    where = ""
    for key in path:
        where = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else key
    return where


def _where_id(definition: Definition, path: Path) -> str:
    """``Anggota baris ke-3, NIK``: the place by the fields' Indonesian labels."""
    parts: list[str] = []
    specs: Mapping[str, FieldSpec] | None = definition.fields
    spec: FieldSpec | None = None
    for key in path:
        if isinstance(key, int):
            row = "baris" if spec is not None and spec.type == "list" else "butir"
            parts[-1:] = [f"{parts[-1] if parts else ''} {row} ke-{key + 1}".strip()]
        else:
            spec = specs.get(key) if specs is not None else None
            parts.append(spec.label.id if spec is not None else key)
            specs = spec.item if spec is not None else None
    return ", ".join(parts)


#: marshmallow's messages, and this project's own (engine.runtime.form_fields, and the
#: amounts engine.money refuses), in Indonesian; ``{name}`` stands for what varies. A
#: message of one template must not fit an earlier one.
INDONESIAN = {
    "Missing data for required field.": "Wajib diisi.",
    "Field may not be null.": "Tidak boleh kosong.",
    "Invalid value.": "Nilai tidak sah.",
    "Invalid input type.": "Jenis masukan tidak sah.",
    "Invalid type.": "Jenis masukan tidak sah.",
    "Unknown field.": "Isian tidak dikenal.",
    "Not a valid string.": "Bukan teks yang sah.",
    "Not a valid utf-8 string.": "Bukan teks UTF-8 yang sah.",
    "Not a valid integer.": "Bukan bilangan bulat yang sah.",
    "Not a valid number.": "Bukan angka yang sah.",
    "Number too large.": "Angka terlalu besar.",
    "Special numeric values (nan or infinity) are not permitted.": (
        "Nilai angka khusus (nan atau tak hingga) tidak diperbolehkan."
    ),
    "Not a valid date.": "Bukan tanggal yang sah.",
    '"{input}" cannot be formatted as a date.': '"{input}" tidak dapat dibaca sebagai tanggal.',
    "Not a valid boolean.": "Bukan nilai ya/tidak yang sah.",
    "Not a valid list.": "Bukan daftar yang sah.",
    "Must be greater than or equal to {min} and less than or equal to {max}.": (
        "Harus paling sedikit {min} dan paling banyak {max}."
    ),
    "Must be greater than or equal to {min}.": "Harus paling sedikit {min}.",
    "Must be less than or equal to {max}.": "Harus paling banyak {max}.",
    "Shorter than minimum length {min}.": "Kurang dari panjang minimum {min}.",
    "Longer than maximum length {max}.": "Melebihi panjang maksimum {max}.",
    "Length must be between {min} and {max}.": "Panjang harus antara {min} dan {max}.",
    "Length must be {equal}.": "Panjang harus {equal}.",
    "Must be one of: {choices}.": "Harus salah satu dari: {choices}.",
    "Must not be blank.": "Tidak boleh hanya berisi spasi.",
    "Must not contain NUL characters.": "Tidak boleh memuat karakter NUL.",
    "Not an amount of money (write e.g. Rp 150.000.000).": (
        "Bukan jumlah uang (tulis misalnya Rp 150.000.000)."
    ),
    "not an amount of money: {input} (write e.g. Rp 150.000.000)": (
        "bukan jumlah uang: {input} (tulis misalnya Rp 150.000.000)"
    ),
    "not an amount of money": "bukan jumlah uang",
    "amount of money cannot be negative": "jumlah uang tidak boleh negatif",
    "amount of money must be whole Rupiah: {input}": (
        "jumlah uang harus dalam Rupiah bulat: {input}"
    ),
    "Attach a file (a stored document).": "Lampirkan berkas (dokumen tersimpan).",
    "Not a list (write JSON, e.g. [1, 2]).": "Bukan daftar (tulis JSON, misalnya [1, 2]).",
    "Not a valid NIK (16 digits: region, birth date, number).": (
        "NIK tidak sah (16 angka: wilayah, tanggal lahir, nomor urut)."
    ),
    "Not a valid KK number (16 digits).": "Nomor KK tidak sah (16 angka).",
}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)  # literal, name, literal, name, ...
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


_PATTERNS = [(_pattern(en), id_text) for en, id_text in INDONESIAN.items()]


def in_indonesian(message: str) -> str:
    """A validation message in Indonesian (one :data:`INDONESIAN` does not know: as it is),
    its numbers written the Indonesian way (``200.000.000``, ``2,5``)."""
    for pattern, text in _PATTERNS:
        match = pattern.fullmatch(message)
        if match is not None:
            found = match.groupdict()
            return text.format(**{k: v if k == "input" else _number(v) for k, v in found.items()})
    return message


def _number(text: str) -> str:
    """``200000000.0`` as ``200.000.000`` and ``2.5`` as ``2,5``; anything else as it is."""
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        return text
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return grouped if fraction.strip("0") == "" else f"{grouped},{fraction}"
