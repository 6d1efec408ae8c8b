"""The studio's diff of two definitions: edits of the real Probebaya file, made by plain text
replacement, give exactly the structural items a reviewer sees, in a stable order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.language import parse_definition
from engine.studio.diff import KINDS, structural_diff, summary_lines, text_diff
from tests.unit.helpers import mini_definition

PROBEBAYA_TEXT = (
    Path(__file__).resolve().parent.parent.parent / "workflows" / "probebaya.yaml"
).read_text(encoding="utf-8")
PROBEBAYA = parse_definition(PROBEBAYA_TEXT, "probebaya.yaml")

QUORUM = ("\n  quorum_fraction: 0.5 ", "\n  quorum_fraction: 0.6667 ")
NEW_STATE = (
    "  - name: rembug_held\n",
    "  - name: sosialisasi\n"
    '    label: {id: "Sosialisasi program", en: "Programme briefing"}\n'
    "  - name: rembug_held\n",
)
NEW_TRANSITIONS = (
    "  - trigger: submit_proposal\n",
    "  - trigger: hold_sosialisasi\n"
    '    label: {id: "Adakan sosialisasi", en: "Hold the briefing"}\n'
    "    source: draft\n    dest: sosialisasi\n    roles: [pendamping]\n"
    "  - trigger: record_rembug\n"
    '    label: {id: "Catat rembug", en: "Record the rembug"}\n'
    "    source: sosialisasi\n    dest: rembug_held\n    roles: [ketua_rt]\n"
    "  - trigger: submit_proposal\n",
)
NO_CANCEL = (
    '  - trigger: cancel\n    label: {id: "Batalkan", en: "Cancel"}\n    source: "*"\n'
    "    dest: cancelled\n    roles: [city]\n    form: [cancel_reason]\n",
    "",
)
NO_CANCELLED = (
    '  - name: cancelled\n    final: true\n    label: {id: "Dibatalkan", en: "Cancelled"}\n',
    "",
)
EVALUATE_ROLES = ("roles: [pendamping, kelurahan]", "roles: [pendamping]")
VERIFY_DOCUMENTS = ("documents: [minutes, rab]", "documents: [minutes]")


def edited(*replacements: tuple[str, str]) -> str:
    """The Probebaya text with each ``(old, new)`` replaced; ``old`` must occur exactly once."""
    text = PROBEBAYA_TEXT
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def diff_of(*replacements: tuple[str, str]) -> dict[str, list[dict[str, Any]]]:
    return structural_diff(PROBEBAYA, parse_definition(edited(*replacements), "edited.yaml"))


def only_changed(*items: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {"added": [], "removed": [], "changed": list(items)}


def test_identical_definitions_have_no_differences() -> None:
    again = parse_definition(PROBEBAYA_TEXT, "again.yaml")
    assert structural_diff(PROBEBAYA, again) == {"added": [], "removed": [], "changed": []}


def test_a_changed_param_is_one_changed_item() -> None:
    assert diff_of(QUORUM) == only_changed(
        {
            "kind": "param",
            "name": "quorum_fraction",
            "path": ["quorum_fraction"],
            "scope": "params",
            "from": 0.5,
            "to": 0.6667,
        }
    )


def test_nested_params_keep_region_codes_whole_in_their_path() -> None:
    old = mini_definition(params='{quota: {"64.72": 20, "64.71": 15}}')
    new = mini_definition(params='{quota: {"64.72": 25}}')
    where = {"kind": "param", "scope": "params"}
    assert structural_diff(old, new) == {
        "added": [],
        "removed": [where | {"name": "quota.64.71", "path": ["quota", "64.71"], "value": 15}],
        "changed": [
            where | {"name": "quota.64.72", "path": ["quota", "64.72"], "from": 20, "to": 25}
        ],
    }


def test_program_settings_are_params_of_program_scope() -> None:
    diff = diff_of(('regions: ["64.72"]', 'regions: ["64.72", "64.71"]'))
    assert diff == only_changed(
        {
            "kind": "param",
            "name": "regions",
            "path": ["regions"],
            "scope": "program",
            "from": ["64.72"],
            "to": ["64.71", "64.72"],
        }
    )


def test_new_state_and_transitions_are_added_and_a_shared_trigger_names_its_source() -> None:
    diff = diff_of(NEW_STATE, NEW_TRANSITIONS)
    assert diff == {
        "added": [
            {
                "kind": "state",
                "name": "sosialisasi",
                "initial": False,
                "final": False,
                "label": {"id": "Sosialisasi program", "en": "Programme briefing"},
                "deadline": None,
            },
            {
                "kind": "transition",
                "name": "hold_sosialisasi",
                "trigger": "hold_sosialisasi",
                "sources": ["draft"],
                "dest": "sosialisasi",
                "roles": ["pendamping"],
                "label": {"id": "Adakan sosialisasi", "en": "Hold the briefing"},
            },
            {
                "kind": "transition",
                "name": "record_rembug (sosialisasi)",
                "trigger": "record_rembug",
                "sources": ["sosialisasi"],
                "dest": "rembug_held",
                "roles": ["ketua_rt"],
                "label": {"id": "Catat rembug", "en": "Record the rembug"},
            },
        ],
        "removed": [],
        # `cancel` (source "*") now also leaves sosialisasi, but its source is still "*"
        "changed": [],
    }


def test_a_removed_transition_and_state_are_removed_items() -> None:
    diff = diff_of(NO_CANCEL, NO_CANCELLED)
    assert diff["added"] == [] and diff["changed"] == []
    assert diff["removed"] == [
        {
            "kind": "state",
            "name": "cancelled",
            "initial": False,
            "final": True,
            "label": {"id": "Dibatalkan", "en": "Cancelled"},
            "deadline": None,
        },
        {
            "kind": "transition",
            "name": "cancel",
            "trigger": "cancel",
            "sources": ["*"],
            "dest": "cancelled",
            "roles": ["city"],
            "label": {"id": "Batalkan", "en": "Cancel"},
        },
    ]
    assert summary_lines(diff) == ["- state cancelled", "- transition cancel"]


def test_label_changes_say_what_they_label() -> None:
    diff = diff_of(
        ('{id: "Persiapan rembug warga"', '{id: "Persiapan musyawarah"'),
        ('(Samarinda)"', '(City of Samarinda)"'),
    )
    title_id = "Probebaya — Program Pembangunan dan Pemberdayaan Masyarakat (Kota Samarinda)"
    title_en = "Probebaya — Community Development and Empowerment Programme"
    assert diff == only_changed(
        {
            "kind": "label",
            "name": "draft",
            "of": "state",
            "attribute": "label",
            "from": {"id": "Persiapan rembug warga", "en": "Preparing the rembug warga"},
            "to": {"id": "Persiapan musyawarah", "en": "Preparing the rembug warga"},
        },
        {
            "kind": "label",
            "name": "probebaya",
            "of": "program",
            "attribute": "title",
            "from": {"id": title_id, "en": f"{title_en} (Samarinda)"},
            "to": {"id": title_id, "en": f"{title_en} (City of Samarinda)"},
        },
    )


def test_declared_roles_and_start_form_items_are_added() -> None:
    diff = diff_of(
        (
            "\nparams:\n",
            "\nroles: {fit_panel: {level: kelurahan}}\nstart_form: [households_total]\nparams:\n",
        )
    )
    assert diff == {
        "added": [
            {
                "kind": "field",
                "name": "start_form: households_total",
                "field": "households_total",
                "form": "start_form",
                "required": True,
            },
            {
                "kind": "role",
                "name": "fit_panel",
                "level": "kelurahan",
                "label": {"id": "Fit panel", "en": "Fit panel"},
            },
        ],
        "removed": [],
        "changed": [],
    }


def test_changed_roles_of_transitions_are_role_items_named_by_transition() -> None:
    lpj_roles = (
        "    roles: [pokmas]\n    form: [lpj_amount",
        "    roles: [pokmas, ketua_rt]\n    form: [lpj_amount",
    )
    diff = diff_of(EVALUATE_ROLES, lpj_roles)
    lpj = {
        "kind": "role",
        "trigger": "submit_lpj",
        "from": ["pokmas"],
        "to": ["ketua_rt", "pokmas"],
    }
    assert diff == only_changed(
        {
            "kind": "role",
            "name": "evaluate",
            "trigger": "evaluate",
            "sources": ["monitored"],
            "from": ["kelurahan", "pendamping"],
            "to": ["pendamping"],
        },
        # submit_lpj is declared once per state (a YAML merge key): both changed
        lpj | {"name": "submit_lpj (fully_disbursed)", "sources": ["fully_disbursed"]},
        lpj | {"name": "submit_lpj (implementing)", "sources": ["implementing"]},
    )


def test_deadlines_added_and_changed_per_state() -> None:
    diff = diff_of(
        (
            '"Disetujui kota", en: "Approved by the city"}\n',
            '"Disetujui kota", en: "Approved by the city"}\n'
            "    deadline: {working_days: 10, escalate_to: city}\n",
        ),
        (
            "deadline: {days: 14, escalate_to: kecamatan}",
            "deadline: {days: 21, escalate_to: kecamatan}",
        ),
    )
    assert diff == {
        "added": [
            {
                "kind": "deadline",
                "name": "approved",
                "to": {"days": None, "working_days": 10, "escalate_to": "city"},
            }
        ],
        "removed": [],
        "changed": [
            {
                "kind": "deadline",
                "name": "submitted",
                "from": {"days": 14, "working_days": None, "escalate_to": "kecamatan"},
                "to": {"days": 21, "working_days": None, "escalate_to": "kecamatan"},
            }
        ],
    }


def test_changed_guard_args_and_a_guard_among_several_of_its_name() -> None:
    diff = diff_of(VERIFY_DOCUMENTS, ('"progress_percent == 100"', '"progress_percent >= 100"'))
    assert diff == only_changed(
        {
            "kind": "guard",
            "name": "complete_implementation: expr #2",
            "guard": "expr",
            "trigger": "complete_implementation",
            "sources": ["fully_disbursed"],
            "from": {"expression": "progress_percent == 100"},
            "to": {"expression": "progress_percent >= 100"},
        },
        {
            "kind": "guard",
            "name": "verify: documents",
            "guard": "documents",
            "trigger": "verify",
            "sources": ["submitted"],
            "from": {"fields": ["minutes", "rab"]},
            "to": {"fields": ["minutes"]},
        },
    )


def test_form_items_fields_and_ledger_postings_that_changed() -> None:
    diff = diff_of(
        ("      - {field: rab, required: false}\n", "      - rab\n"),
        (
            "      - {value: poor,",
            "      - {value: excellent, label: Istimewa}\n      - {value: poor,",
        ),
        ("    max: 100\n", "    max: 110\n"),
        ("amount: tranche_1, date: tranche_1_date}", "amount: tranche_1}"),
    )
    rab = {"kind": "field", "attribute": "required", "field": "rab", "from": False, "to": True}

    def rab_in(trigger: str, source: str) -> dict[str, Any]:
        where = {"form": trigger, "trigger": trigger, "sources": [source]}
        return rab | where | {"name": f"{trigger}: rab"}

    assert diff == only_changed(
        {
            "kind": "transition",
            "name": "disburse_tranche_1",
            "attribute": "ledger",
            "trigger": "disburse_tranche_1",
            "sources": ["approved"],
            "from": {"post": "disburse", "amount": "tranche_1", "date": "tranche_1_date"},
            "to": {"post": "disburse", "amount": "tranche_1"},
        },
        {
            "kind": "field",
            "name": "evaluation_result",
            "attribute": "choices",
            "from": ["good", "adequate", "poor"],
            "to": ["good", "adequate", "excellent", "poor"],
        },
        {"kind": "field", "name": "progress_percent", "attribute": "max", "from": 100, "to": 110},
        rab_in("resubmit", "revision_requested"),
        rab_in("submit_proposal", "rembug_held"),
    )


def test_many_edits_give_json_items_in_a_stable_order() -> None:
    edits = (QUORUM, NEW_STATE, NEW_TRANSITIONS, NO_CANCEL, NO_CANCELLED, EVALUATE_ROLES)
    diff = diff_of(*edits, VERIFY_DOCUMENTS)
    assert json.loads(json.dumps(diff)) == diff
    assert diff == diff_of(*edits, VERIFY_DOCUMENTS)
    for items in diff.values():
        keys = [(KINDS.index(item["kind"]), item["name"]) for item in items]
        assert keys == sorted(keys)
    assert summary_lines(diff) == [
        "+ state sosialisasi",
        "+ transition hold_sosialisasi",
        "+ transition record_rembug (sosialisasi)",
        "- state cancelled",
        "- transition cancel",
        "~ param quorum_fraction: 0.5 -> 0.6667",
        '~ guard verify: documents: {"fields": ["minutes", "rab"]} -> {"fields": ["minutes"]}',
        '~ role evaluate: ["kelurahan", "pendamping"] -> ["pendamping"]',
    ]


def test_summary_lines_show_labels_and_deadlines_readably() -> None:
    diff = diff_of(
        ('{id: "Persiapan rembug warga"', '{id: "Persiapan musyawarah"'),
        ("deadline: {days: 14, escalate_to: kecamatan}", "deadline: {working_days: 10}"),
    )
    assert summary_lines(diff) == [
        '~ label state draft: "Persiapan rembug warga" / "Preparing the rembug warga"'
        ' -> "Persiapan musyawarah" / "Preparing the rembug warga"',
        "~ deadline submitted: 14 days, escalate to kecamatan -> 10 working days",
    ]


def test_text_diff_gives_unified_diff_lines_without_line_ends() -> None:
    lines = text_diff(PROBEBAYA_TEXT, edited(QUORUM), "a/probebaya.yaml", "b/probebaya.yaml", 0)
    assert lines[:2] == ["--- a/probebaya.yaml", "+++ b/probebaya.yaml"]
    assert [line[:1] for line in lines[2:]] == ["@", "-", "+"]
    assert lines[3].startswith("-  quorum_fraction: 0.5 ")
    assert lines[4].startswith("+  quorum_fraction: 0.6667 ")
    assert not any(line.endswith("\n") for line in lines)
    assert text_diff(PROBEBAYA_TEXT, PROBEBAYA_TEXT, "a", "b") == []


def test_templates_and_what_a_transition_generates_are_reviewed() -> None:
    title = '  berita_acara_verifikasi:\n    title: {id: "Berita acara verifikasi kelurahan",'
    generates = "    generates: [{template: berita_acara_verifikasi, field: ba_verifikasi}]\n"
    lampiran = (
        "  lampiran_lpj:\n"
        '    title: {id: "Lampiran LPJ", en: "LPJ attachment"}\n'
        "    html: |\n      <h1>Lampiran LPJ {{ case.year }}</h1>\n\n"
    )
    retitled = '  berita_acara_verifikasi:\n    title: {id: "BA verifikasi kelurahan",'
    diff = diff_of(
        (title, lampiran + retitled),
        ("<h1>Berita Acara Verifikasi Usulan Probebaya</h1>", "<h1>Berita Acara Verifikasi</h1>"),
        (generates, ""),
    )
    [added] = diff["added"]
    assert added["kind"] == "template" and added["name"] == "lampiran_lpj"
    assert added["title"] == {"id": "Lampiran LPJ", "en": "LPJ attachment"}
    assert len(added["html"]) == 12 and added["filename"]
    assert diff["removed"] == []
    changed = {(item["kind"], item.get("attribute")): item for item in diff["changed"]}
    assert set(changed) == {("transition", "generates"), ("template", "html"), ("label", "title")}
    assert changed["transition", "generates"]["name"] == "verify"
    assert changed["transition", "generates"]["from"] == [
        {"template": "berita_acara_verifikasi", "field": "ba_verifikasi"}
    ]
    assert changed["transition", "generates"]["to"] == []
    html = changed["template", "html"]
    assert html["name"] == "berita_acara_verifikasi" and html["from"] != html["to"]
    label = changed["label", "title"]
    assert label["of"] == "template" and label["to"]["id"] == "BA verifikasi kelurahan"
    lines = summary_lines(diff)
    assert "+ template lampiran_lpj" in lines[0]
    assert any(line.startswith("~ transition verify generates:") for line in lines)
