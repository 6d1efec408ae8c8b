"""The language's ``public`` flag on document fields: what the public page may show of a
case. Only documents may be public, never personal ones nor a list item's; the programs
make their berita acara and LPJ summaries public, never attendance lists or receipts."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DefinitionError
from engine.language import load_definition, parse_definition
from engine.studio.diff import structural_diff
from tests.unit.helpers import mini_definition, mini_workflow

WORKFLOWS = Path(__file__).resolve().parent.parent.parent / "workflows"


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "t.yaml")
    return [str(p) for p in caught.value.problems]


def public_documents(program: str) -> set[str]:
    definition = load_definition(WORKFLOWS / f"{program}.yaml")
    return {name for name, spec in definition.fields.items() if spec.public}


def test_a_document_field_may_be_public_and_is_not_by_default() -> None:
    definition = mini_definition(
        fields="{minutes: {type: document, public: true}, attendance: {type: document}}"
    )
    assert definition.fields["minutes"].public
    assert not definition.fields["attendance"].public


def test_public_on_a_field_that_is_not_a_document_is_refused_where_it_is_written() -> None:
    text = mini_workflow(fields="{notes: {type: text, public: true}}")
    assert problems(text) == [
        "t.yaml:6:30: unknown key 'public' in field 'notes' (text)",
    ]


def test_public_must_be_a_boolean_and_never_personal_data() -> None:
    text = mini_workflow(
        fields="{minutes: {type: document, public: yes please},"
        " ktp_scan: {type: document, pii: true, public: true}}"
    )
    assert problems(text) == [
        "t.yaml:6:44: public must be true or false",
        "t.yaml:6:103: a document with personal data (pii) cannot be public",
    ]


def test_a_document_in_a_list_item_cannot_be_public() -> None:
    text = mini_workflow(
        fields="{photos: {type: list, item: {photo: {type: document, public: true}}}}"
    )
    assert problems(text) == [
        "t.yaml:6:70: only a field of the case can be public, not a list item's",
    ]


def test_the_programs_publish_minutes_and_lpj_summaries_only() -> None:
    assert public_documents("probebaya") == {
        "minutes",
        "lpj_final",
        "monitoring_minutes",
        # generated: the berita acara of the rembug and of the verification, the approval
        "ba_rembug",
        "ba_verifikasi",
        "surat_persetujuan",
    }
    assert public_documents("prolita") == {
        "minutes",
        "monitoring_minutes",
        # generated, as Probebaya's: what residents decided, what was verified and approved
        "ba_rembug",
        "ba_verifikasi",
        "surat_persetujuan",
    }  # never the kuitansi of the disbursement (kuitansi_pencairan)
    # group business plans and reports, KUBE visit reports: about people, not public; so
    # are the paperwork generated for them (berita acara, approval letter, kuitansi)
    assert public_documents("rt_mandiri") == set()
    assert public_documents("kube") == set()


def test_making_a_document_public_is_a_change_the_studios_diff_shows() -> None:
    private = mini_definition(fields="{minutes: {type: document}}")
    public = mini_definition(fields="{minutes: {type: document, public: true}}")
    assert structural_diff(private, public)["changed"] == [
        {"kind": "field", "name": "minutes", "attribute": "public", "from": False, "to": True}
    ]
