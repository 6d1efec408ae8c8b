"""Document templates as the validator reads them (refused at publish with file:line:col)
and the filters Indonesian paperwork needs."""

from __future__ import annotations

import datetime as dt

import pytest
from lokal import terbilang as lokal_terbilang

from engine.errors import DefinitionError
from engine.language import parse_definition
from engine.paperwork import sandbox
from engine.paperwork.checks import check_template
from tests.unit.helpers import mini_workflow

FIELDS = (
    "{amount: {type: money}, minutes: {type: document}, ba: {type: document}, note: {type: text}}"
)


def with_template(
    html: str, generates: str = "[{template: ba, field: ba}]", form: str = "[]"
) -> str:
    """The mini workflow whose step ``go`` generates template ``ba`` (``html``, a block)."""
    text = mini_workflow(fields=FIELDS, form=form)
    text = text.replace("    guards: []\n", f"    guards: []\n    generates: {generates}\n")
    block = "\n".join("      " + line for line in html.splitlines())
    return text + f"templates:\n  ba:\n    title: Berita acara\n    html: |\n{block}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as refused:
        parse_definition(text, "mini.yaml")
    return [str(p) for p in refused.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_valid_template_is_part_of_the_definition() -> None:
    definition = parse_definition(
        with_template("<h1>BA</h1>\n<p>{{ data.amount | rupiah }}</p>"), "mini.yaml"
    )
    assert definition.templates["ba"].filename == "ba"
    assert definition.transitions[0].generates[0].field == "ba"
    assert "{{ data.amount | rupiah }}" in definition.templates["ba"].html


def test_an_unknown_field_is_refused_at_its_line_and_column() -> None:
    text = with_template("<h1>BA</h1>\n<p>Nilai: {{ data.amont | rupiah }}</p>")
    line = line_of(text, "data.amont")
    column = text.splitlines()[line - 1].index("amont") + 1
    assert problems(text) == [
        f"mini.yaml:{line}:{column}: unknown field 'data.amont' (did you mean 'amount'?)"
    ]


def test_a_syntax_error_is_refused_at_its_line() -> None:
    text = with_template("<h1>BA</h1>\n<p>{% if data.note %}catatan</p>")
    (problem,) = problems(text)
    assert problem.startswith("mini.yaml:")
    assert "template error" in problem and "endif" in problem


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("{{ data.amount | harga }}", "No filter named 'harga'"),
        ("{% include 'other.html' %}", "cannot include or import another"),
        ("{% extends 'base.html' %}", "cannot include or import another"),
        ("{{ data.__class__ }}", "'__class__' is not reachable from a template"),
        ("{{ case['_private'] }}", "'_private' is not reachable"),
        ("{{ config.SECRET_KEY }}", "unknown name 'config'"),
        ("{{ ledger.owed }}", "unknown key of 'ledger' 'ledger.owed'"),
        ("{{ params.ceiling }}", "unknown param 'params.ceiling'"),
        ("{{ shown.amont }}", "unknown field 'shown.amont'"),
    ],
)
def test_what_a_template_may_not_reach_is_refused(html: str, message: str) -> None:
    text = with_template(f"<p>x</p>\n{html}")
    found = problems(text)
    assert any(message in p for p in found), found
    assert all(p.startswith(f"mini.yaml:{line_of(text, html[:12])}:") for p in found), found


def test_names_a_template_binds_itself_are_its_own() -> None:
    html = (
        "{% set total = data.amount %}{% for i in range(3) %}{{ loop.index }}{% endfor %}"
        "{% macro sign(who) %}{{ who }}{% endmacro %}{{ sign(act.actor) }}{{ total }}"
    )
    assert check_template(html, {"amount": None}, {}) == []


@pytest.mark.parametrize(
    ("generates", "form", "message"),
    [
        ("[{template: bah, field: ba}]", "[]", "unknown template 'bah' (did you mean 'ba'?)"),
        ("[{template: ba, field: note}]", "[]", "field 'note' is not a declared document field"),
        (
            "[{template: ba, field: ba}]",
            "[{field: ba, required: false}]",
            "cannot also be in the form",
        ),
        ("[{template: ba, field: ba}, {template: ba, field: ba}]", "[]", "generated twice"),
        ("[{template: ba}]", "[]", "needs 'field'"),
    ],
)
def test_what_a_step_generates_must_name_a_template_and_a_document_field(
    generates: str, form: str, message: str
) -> None:
    found = problems(with_template("<p>BA</p>", generates, form))
    assert any(message in p for p in found), found


def test_a_bad_file_name_is_refused() -> None:
    text = with_template("<p>BA</p>").replace("    title: Berita acara\n", "    filename: ../etc\n")
    assert any("filename must be lower-case" in p for p in problems(text))


def test_rupiah_and_terbilang_come_from_lokal() -> None:
    assert sandbox.rupiah(150_000_000) == "Rp150.000.000"
    assert sandbox.terbilang(150_000_000) == "seratus lima puluh juta rupiah"
    assert sandbox.terbilang(1_500_000) == lokal_terbilang(1_500_000, currency=True)
    assert sandbox.terbilang(75_000_000, currency=False) == "tujuh puluh lima juta"
    assert sandbox.rupiah(None) == sandbox.terbilang("abc") == ""


def test_dates_are_written_in_indonesian_in_wita() -> None:
    assert sandbox.tanggal("2026-12-02") == "2 Desember 2026"
    assert sandbox.hari("2026-12-02") == "Rabu"
    # 23:30 UTC is already the next day in Samarinda (UTC+8)
    moment = dt.datetime(2026, 8, 16, 23, 30, tzinfo=dt.UTC)
    assert sandbox.waktu(moment.isoformat()) == "17 Agustus 2026 pukul 07.30 WITA"
    assert sandbox.tanggal(moment) == "17 Agustus 2026"
    assert sandbox.tanggal("not a date") == ""


def test_the_sandbox_renders_plain_values_and_refuses_the_rest() -> None:
    env = sandbox.environment()
    values = {"case": {"regions": {"64.72": "Kota Samarinda"}}, "data": {"amount": 5}}
    assert env.from_string("{{ '64.72' | wilayah }}").render(values) == "Kota Samarinda"
    assert env.from_string("{{ '<b>' }}").render() == "&lt;b&gt;"  # autoescaped
    with pytest.raises(Exception, match="not reachable"):
        env.from_string("{{ data.__class__ }}").render(values)
    with pytest.raises(OverflowError):
        env.from_string("{{ range(10**6) | list }}").render()
