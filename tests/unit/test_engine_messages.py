"""Engine refusals an operator can meet are bilingual: every error the runtime, the guards,
the document store, the studio and the audit raise is made with a :class:`Label` (checked on
the source, so a new English-only message cannot slip in; the English text stays what the
CLI, the API and the logs show), and form validation speaks Indonesian too."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.errors import InvalidData, RukunError
from engine.language import Definition
from engine.language.model import FormItem
from engine.runtime.form_fields import field_for
from engine.runtime.forms import clean, in_indonesian
from engine.text import Label
from tests.unit.helpers import mini_definition
from tests.unit.labels import unlabelled

ROOT = Path(__file__).resolve().parents[2]
#: The modules whose errors must carry a Label.
CHECKED = sorted(
    [
        *(ROOT / "engine" / "runtime").glob("*.py"),
        *(ROOT / "engine" / "guards").glob("*.py"),
        *(ROOT / "engine" / "studio").glob("*.py"),
        *(ROOT / "engine" / "audit").glob("*.py"),
        ROOT / "engine" / "store" / "documents.py",
        ROOT / "engine" / "store" / "privileges.py",
    ]
)


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("path", CHECKED, ids=_module)
def test_every_engine_error_is_made_with_a_label(path: Path) -> None:
    namespace = vars(importlib.import_module(_module(path)))
    lines = unlabelled(path.read_text(encoding="utf-8"), namespace)
    assert lines == [], [f"{path.relative_to(ROOT)}:{line}" for line in lines]


def test_the_check_finds_an_english_only_message() -> None:
    from engine import errors

    source = """
NOTE = Label(id="perlu catatan", en="a note is needed")

class Stale(Conflict):
    def __init__(self, revision):
        super().__init__(f"revision {revision} is stale")

def _gone(name) -> Label:
    return Label(id=f"{name} hilang", en=f"{name} is gone")

def refuse(name, quiet, why: Label):
    held = Label(id="ada", en="held")
    if quiet:
        raise InvalidData(NOTE)
    raise NotFound(f"no {name}")
    raise errors.Forbidden("may not")
    raise NotFound(_gone(name) if quiet else held)
    raise Stale(3)
    raise Conflict(why.format(name=name))
    raise Forbidden
    return InvalidData(message=f"bad {name}")
"""
    namespace: dict[str, Any] = {**vars(errors), "errors": errors, "Label": Label}
    exec(source, namespace)  # the module's globals, as the check sees them after an import
    assert unlabelled(source, namespace) == [6, 15, 16, 20, 21]


def test_the_check_knows_the_errors_of_the_runtime() -> None:
    import engine.runtime.firing as firing

    assert issubclass(firing.Stale, RukunError)
    source = "raise Stale('case 1 changed')\n"
    assert unlabelled(source, vars(firing)) == [1]


# -- form validation in Indonesian ---------------------------------------------------------

FIELDS = """{
  attendees: {type: integer, min: 1, max: 500, label: {id: "Jumlah KK hadir", en: "Attendees"}},
  budget: {type: money, label: {id: "Nilai usulan", en: "Budget"}},
  members: {type: list, label: {id: "Anggota", en: "Members"},
            item: {nik: {type: nik, label: {id: "NIK anggota", en: "Member's NIK"}}}}
}"""


@pytest.fixture(scope="module")
def definition() -> Definition:
    return mini_definition(fields=FIELDS, form="[attendees, budget, members]")


def _refusal(definition: Definition, raw: dict[str, object]) -> InvalidData:
    items = [FormItem(name, False) for name in definition.fields]
    with pytest.raises(InvalidData) as refused:
        clean(definition, items, raw)
    return refused.value


def test_a_letter_in_an_integer_field_is_refused_by_its_label_in_indonesian(
    definition: Definition,
) -> None:
    error = _refusal(definition, {"attendees": "dua"})
    assert error.message == "invalid data: attendees: Not a valid integer."
    assert error.text("id") == "data tidak sah: Jumlah KK hadir: Bukan bilangan bulat yang sah."
    assert error.errors == {"attendees": ["Not a valid integer."]}  # marshmallow's, as it was


def test_a_list_row_is_named_by_its_row_and_sub_field(definition: Definition) -> None:
    error = _refusal(definition, {"members": [{"nik": "123"}]})
    assert error.message.startswith("invalid data: members[0].nik: Not a valid NIK")
    assert error.text("id").startswith("data tidak sah: Anggota baris ke-1, NIK anggota: NIK")


def test_limits_and_amounts_are_written_the_indonesian_way(definition: Definition) -> None:
    assert "Harus paling sedikit 1 dan paling banyak 500." in _refusal(
        definition, {"attendees": "900"}
    ).text("id")
    assert in_indonesian("Must be less than or equal to 200000000.") == (
        "Harus paling banyak 200.000.000."
    )
    money = _refusal(definition, {"budget": "banyak"}).text("id")
    assert "Nilai usulan: bukan jumlah uang: 'banyak' (tulis misalnya Rp 150.000.000)" in money


def test_unknown_fields_are_refused_in_both_languages(definition: Definition) -> None:
    error = _refusal(definition, {"colour": "red"})
    assert error.message.startswith("not part of this form: colour")
    assert error.text("id").startswith("bukan bagian dari formulir ini: colour")


#: A value for each placeholder marshmallow's message templates use.
SAMPLE = {"input": "x", "min": 1, "max": 9, "equal": 3, "choices": "a, b", "obj_type": "date"}
TYPES = ["string", "integer", "money", "decimal", "date", "boolean", "choice", "document"]


@pytest.mark.parametrize("kind", [*TYPES, "nik", "kk_number", "list", "cases"])
def test_every_message_a_form_field_can_give_has_an_indonesian_text(
    kind: str, definition: Definition
) -> None:
    spec = definition.fields["attendees"]
    item = {"nik": definition.fields["members"].item["nik"]}  # type: ignore[index]
    field = field_for(replace(spec, type=kind, item=item if kind == "list" else None), True)
    for key, template in field.error_messages.items():
        if key == "invalid_awareness":  # a time zone, which a date never has
            continue
        message = str(template).format(**SAMPLE)
        assert in_indonesian(message) != message, message
