"""Builders for tests: a published program, users per role, documents, and cases driven to
a given state along the happy path (``scenario.probebaya_case(state="verified")``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.demo import demo_pdf, ensure_demo_users
from engine.runtime import Rukun

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2026

#: The Probebaya happy path: (trigger, role, values, documents) in order.
PROBEBAYA_PATH: list[tuple[str, str, dict[str, str], tuple[str, ...]]] = [
    (
        "record_rembug",
        "ketua_rt",
        {"rembug_date": "2026-01-15", "households_total": "40", "attendees": "25"},
        ("minutes", "attendance_list"),
    ),
    (
        "submit_proposal",
        "ketua_rt",
        {
            "program_area": "infrastructure",
            "proposal_title": "Drainase gang",
            "budget": "Rp 200.000.000",
        },
        ("rab",),
    ),
    ("verify", "kelurahan", {}, ()),
    ("approve_kecamatan", "kecamatan", {}, ()),
    ("approve_city", "city", {"approved_amount": "Rp 200.000.000"}, ()),
    (
        "disburse_tranche_1",
        "city",
        {"tranche_1": "Rp 120.000.000", "tranche_1_date": "2026-03-01"},
        (),
    ),
    (
        "report_progress",
        "pokmas",
        {"progress_percent": "50", "spent_to_date": "Rp 100.000.000"},
        ("progress_report",),
    ),
    ("submit_lpj", "pokmas", {"lpj_amount": "Rp 120.000.000"}, ("lpj_receipts",)),
    ("accept_lpj", "kelurahan", {}, ()),
    (
        "disburse_tranche_2",
        "city",
        {"tranche_2": "Rp 80.000.000", "tranche_2_date": "2026-06-01"},
        (),
    ),
    ("submit_lpj", "pokmas", {"lpj_amount": "Rp 80.000.000"}, ("lpj_receipts_2",)),
    ("accept_lpj", "kelurahan", {}, ()),
    ("complete_implementation", "pokmas", {"progress_percent": "100"}, ("lpj_final",)),
    (
        "record_monitoring",
        "ketua_rt",
        {"monitoring_attendees": "30", "residents_assessment": "satisfied"},
        ("monitoring_minutes",),
    ),
    ("evaluate", "pendamping", {"evaluation_result": "good", "evaluation_notes": "Baik"}, ()),
    ("close", "city", {}, ()),
]

#: State reached after each step of the happy path.
PROBEBAYA_STATES = [
    "rembug_held",
    "submitted",
    "verified",
    "kecamatan_approved",
    "approved",
    "implementing",
    "implementing",
    "implementing",
    "implementing",
    "fully_disbursed",
    "fully_disbursed",
    "fully_disbursed",
    "monitoring",
    "monitored",
    "evaluated",
    "closed",
]


@dataclass
class Scenario:
    app: Rukun
    users: dict[str, str]
    rt: str
    docs_dir: Path
    docs: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def probebaya(cls, app: Rukun, tmp_path: Path) -> Scenario:
        app.definitions.publish(ROOT / "workflows" / "probebaya.yaml", "test")
        app.regions.load_demo()
        rt = next(r["code"] for r in app.regions.list(level="rt") if r["code"].startswith("64.72."))
        users = ensure_demo_users(app, rt)
        docs_dir = tmp_path / "docs"
        docs_dir.mkdir(exist_ok=True)
        return cls(app, users, rt, docs_dir)

    def doc(self, name: str) -> Path:
        """A small PDF for a document field (distinct content per name)."""
        if name not in self.docs:
            path = self.docs_dir / f"{name}.pdf"
            path.write_bytes(demo_pdf(name))
            self.docs[name] = path
        return self.docs[name]

    def start(self, subject: str | None = None, year: int = YEAR) -> dict[str, Any]:
        return self.app.cases.start("probebaya", subject or self.rt, year, self.users["ketua_rt"])

    def fire(
        self,
        case_id: int,
        trigger: str,
        role: str,
        values: Mapping[str, str] | None = None,
        documents: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        # "field_2" attaches another file to "field" (e.g. the second tranche's LPJ)
        files = {name.removesuffix("_2"): self.doc(name) for name in documents}
        kwargs.setdefault("view", True)  # with ledger and links, as the tests read them
        return self.app.cases.fire(
            case_id, trigger, self.users[role], dict(values or {}), files, **kwargs
        )

    def step(self, trigger: str) -> tuple[str, dict[str, str], tuple[str, ...]]:
        """The role, values and documents the happy path uses for ``trigger``."""
        for name, role, values, documents in PROBEBAYA_PATH:
            if name == trigger:
                return role, dict(values), documents
        raise KeyError(trigger)

    def probebaya_case(self, state: str = "draft", subject: str | None = None) -> dict[str, Any]:
        """A new case moved along the happy path until it first reaches ``state``."""
        case = self.start(subject)
        if state == "draft":
            return case
        for (trigger, role, values, documents), reached in zip(
            PROBEBAYA_PATH, PROBEBAYA_STATES, strict=True
        ):
            case = self.fire(case["id"], trigger, role, values, documents)
            if reached == state:
                return case
        raise ValueError(f"the happy path never reaches {state!r}")


class World:
    """Every workflow published, the demo regions loaded, and users made on demand for a
    role in a region (``world.user("kelurahan", code)``)."""

    def __init__(self, app: Rukun, tmp_path: Path) -> None:
        self.app = app
        self.docs_dir = tmp_path / "docs"
        self.docs_dir.mkdir(exist_ok=True)
        for path in sorted((ROOT / "workflows").glob("*.yaml")):
            app.definitions.publish(path, "test")
        app.regions.load_demo()
        self.regions = {r["code"]: r for r in app.regions.list()}
        self._users: set[str] = set()

    def rts(self, kota: str) -> list[str]:
        return sorted(
            c for c, r in self.regions.items() if r["level"] == "rt" and c.startswith(kota + ".")
        )

    def groups(self, kota: str) -> list[str]:
        return sorted(
            c for c, r in self.regions.items() if r["level"] == "group" and c.startswith(kota + ".")
        )

    def ancestor(self, code: str, level: str) -> str:
        while self.regions[code]["level"] != level:
            parent = self.regions[code]["parent_code"]
            assert parent is not None, f"{code} has no {level}"
            code = parent
        return code

    def user(self, role: str, region: str | None = None) -> str:
        """A user holding ``role`` in ``region`` (or everywhere), created once."""
        name = f"{role}@{region or 'all'}"
        if name not in self._users:
            self.app.users.add(name, role, [region] if region else [])
            self._users.add(name)
        return name

    def fire(
        self,
        case: dict[str, Any],
        trigger: str,
        user: str,
        values: dict[str, Any] | None = None,
        **files: str,
    ) -> dict[str, Any]:
        """Fire as ``user``; ``files`` maps document fields to (generated) file names.
        Returns the case's full view (with ledger and links)."""
        attachments = {field: self.doc(name) for field, name in files.items()}
        return self.app.cases.fire(case["id"], trigger, user, values or {}, attachments, view=True)

    def doc(self, name: str) -> Path:
        path = self.docs_dir / f"{name}.pdf"
        if not path.exists():
            path.write_bytes(demo_pdf(name))
        return path


def nik(kecamatan: str, serial: int, birth: str = "010190") -> str:
    """A valid-looking NIK: kecamatan code digits, birth date DDMMYY, serial number."""
    return kecamatan.replace(".", "")[:6] + birth + f"{serial:04d}"


def kube_members(kecamatan: str, first_serial: int, count: int = 10) -> list[dict[str, str]]:
    return [
        {
            "name": f"Kepala Keluarga {serial}",
            "nik": nik(kecamatan, serial),
            "kk_number": kecamatan.replace(".", "")[:6] + f"0101{serial:06d}",
        }
        for serial in range(first_serial, first_serial + count)
    ]


PROBEBAYA_FILE = ROOT / "workflows" / "probebaya.yaml"


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected one {old!r} in probebaya.yaml"
    return text.replace(old, new)


def probebaya_revised() -> str:
    """Probebaya as the studio's acceptance story revises it: the rembug quorum raised to
    two thirds, and a "sosialisasi" state (a briefing of the residents) before the rembug,
    reached by the new trigger ``hold_sosialisasi``."""
    text = PROBEBAYA_FILE.read_text(encoding="utf-8")
    text = _replace_once(text, "  quorum_fraction: 0.5 ", "  quorum_fraction: 0.6667 ")
    text = _replace_once(
        text,
        "  - name: rembug_held\n",
        "  - name: sosialisasi\n"
        '    label: {id: "Sosialisasi program", en: "Programme briefing (sosialisasi)"}\n'
        "  - name: rembug_held\n",
    )
    text = _replace_once(
        text,
        "transitions:\n  - trigger: record_rembug\n",
        "transitions:\n"
        "  - trigger: hold_sosialisasi\n"
        '    label: {id: "Catat sosialisasi", en: "Record the briefing"}\n'
        "    source: draft\n"
        "    dest: sosialisasi\n"
        "    roles: [ketua_rt]\n"
        "  - trigger: record_rembug\n",
    )
    return _replace_once(
        text,
        "    source: draft\n    dest: rembug_held\n",
        "    source: sosialisasi\n    dest: rembug_held\n",
    )
