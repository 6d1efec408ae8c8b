"""The scripted demo: one Probebaya case carried from the rembug warga to closing, through
the same runtime calls the CLI and the admin UI use."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from engine.errors import TransitionRefused
from engine.money import format_money
from engine.runtime import Rukun
from engine.runtime.regions import RegionRow
from engine.store.models import Region, User

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
SCENARIOS = Path(__file__).resolve().parent / "demo_scenarios.yaml"


def demo_pdf(title: str) -> bytes:
    """A tiny but well-formed PDF standing in for a scanned document."""
    text = f"BT /F1 12 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def ensure_demo_users(app: Rukun, rt_code: str) -> dict[str, str]:
    """One demo user per role on the demo RT's chain of regions; returns role -> user name."""
    with app.context.sessions() as session:
        rt = session.get(Region, rt_code)
        assert rt is not None
        ancestors = {
            r.level: r.code
            for r in session.scalars(select(Region).where(Region.code.in_(rt.ancestor_codes)))
        }
        existing = set(session.scalars(select(User.name)))
    plan = {
        "ketua_rt": ("demo_ketua_rt", [rt_code]),
        "pokmas": ("demo_pokmas", [rt_code]),
        "kelurahan": ("demo_kelurahan", [ancestors["kelurahan"]]),
        "pendamping": ("demo_pendamping", [ancestors["kelurahan"]]),
        "kecamatan": ("demo_kecamatan", [ancestors["kecamatan"]]),
        "city": ("demo_city", [ancestors["kota"]]),
    }
    for role, (name, regions) in plan.items():
        if name not in existing:
            app.users.add(name, role, regions)
    return {role: name for role, (name, _) in plan.items()}


#: The demo's office contacts by region level: opening hours only, no phone numbers or
#: addresses that could be mistaken for real ones, and each marked "(demo)".
DEMO_CONTACTS = {
    "provinsi": "Dinas Sosial Provinsi {name} (demo): layanan Senin–Jumat 08.00–16.00",
    "kota": "Bappeda {name} (demo): layanan Senin–Jumat 08.00–16.00",
    "kecamatan": "Kantor Kecamatan {name} (demo): layanan Senin–Jumat 08.00–16.00",
    "kelurahan": "Kantor Kelurahan {name} (demo): layanan Senin–Jumat 08.00–16.00",
    "rt": "Ketua {name}: hubungi melalui kantor kelurahan",
}


def demo_contacts(app: Rukun) -> int:
    """Contacts for the offices on the chains of the demo RTs that have none yet (what the
    call centre reads to callers); returns how many were set."""
    regions = {r["code"]: r for r in app.regions.list()}
    offices: set[str] = set()
    for code, region in regions.items():
        if region["demo"] and region["level"] == "rt":
            offices.update(_chain(regions, code))
    rows = []
    for code in sorted(offices):
        region = regions[code]
        template = DEMO_CONTACTS.get(region["level"])
        if template and region["contact"] is None:
            level, name, parent = region["level"], region["name"], region["parent_code"]
            contact = template.format(name=name)
            rows.append((0, RegionRow(code, level, name, parent, region["demo"], contact)))
    return app.regions.upsert(rows, "demo") if rows else 0


def _chain(regions: dict[str, dict[str, Any]], code: str | None) -> list[str]:
    """``code`` and the codes of its ancestors."""
    chain = []
    while code is not None:
        chain.append(code)
        code = regions[code]["parent_code"]
    return chain


def demo_passwords(app: Rukun) -> dict[str, str]:
    """Fresh random passwords for every demo user (hashed in the database, shown once)."""
    names = sorted(u["name"] for u in app.users.list() if u["name"].startswith("demo_"))
    passwords = {name: secrets.token_urlsafe(9) for name in names}
    for name, password in passwords.items():
        app.users.set_password(name, password)
    return passwords


def run_demo(app: Rukun, year: int | None, echo: Callable[[str], Any]) -> int:
    """Set everything up and run one Probebaya case end to end; returns the case id."""
    year = year or dt.date.today().year
    app.upgrade()
    echo(f"database: {app.engine.url.render_as_string(hide_password=True)}")
    for path in sorted(WORKFLOWS.glob("*.yaml")):
        result = app.definitions.publish(path, "demo")
        echo(
            f"workflow {result.program} v{result.version} "
            + ("published" if result.created else "unchanged")
        )
    app.regions.load_demo()
    echo(f"office contacts for the call centre: {demo_contacts(app)} (marked demo)")
    rt_code = next(
        r["code"] for r in app.regions.list(level="rt") if r["code"].startswith("64.72.")
    )
    users = ensure_demo_users(app, rt_code)
    echo("demo users: " + ", ".join(f"{name} ({role})" for role, name in users.items()))

    with tempfile.TemporaryDirectory() as tmp:
        docs = {}
        for name in (
            "berita_acara_rembug",
            "daftar_hadir",
            "rab",
            "laporan_kemajuan",
            "lpj_tahap_1",
            "lpj_tahap_2",
            "lpj_akhir",
            "berita_acara_monitoring",
        ):
            docs[name] = Path(tmp) / f"{name}.pdf"
            docs[name].write_bytes(demo_pdf(name.replace("_", " ").title()))

        case = app.cases.start("probebaya", rt_code, year, users["ketua_rt"])
        case_id = case["id"]
        echo(f"\ncase {case_id}: Probebaya {year} for {case['subject_name']} ({rt_code})")

        def fire(
            trigger: str,
            role: str,
            values: dict[str, Any] | None = None,
            files: dict[str, Path] | None = None,
        ) -> None:
            result = app.cases.fire(case_id, trigger, users[role], values or {}, files or {})
            echo(f"  {trigger:<24} by {users[role]:<16} -> {result['state']}")

        fire(
            "record_rembug",
            "ketua_rt",
            {"rembug_date": f"{year}-01-15", "households_total": "48", "attendees": "31"},
            {"minutes": docs["berita_acara_rembug"], "attendance_list": docs["daftar_hadir"]},
        )
        proposal = {
            "program_area": "infrastructure",
            "proposal_title": "Semenisasi gang dan drainase",
            "budget": "Rp 350.000.000",
        }
        try:
            fire("submit_proposal", "ketua_rt", proposal, {"rab": docs["rab"]})
        except TransitionRefused as refused:
            echo(f"  submit_proposal refused: {refused.guards[0]['message']['en']}")
        proposal["budget"] = "Rp 250.000.000"
        fire("submit_proposal", "ketua_rt", proposal, {"rab": docs["rab"]})
        fire("return_for_revision", "kelurahan", {"revision_notes": "RAB drainase belum rinci"})
        proposal["budget"] = "Rp 240.000.000"
        fire("resubmit", "ketua_rt", proposal, {"rab": docs["rab"]})
        fire("verify", "kelurahan", {"verification_notes": "Lengkap"})
        fire("approve_kecamatan", "kecamatan")
        fire("approve_city", "city", {"approved_amount": "240.000.000"})
        fire(
            "disburse_tranche_1",
            "city",
            {"tranche_1": "Rp 160.000.000", "tranche_1_date": f"{year}-03-01"},
        )
        fire(
            "report_progress",
            "pokmas",
            {"progress_percent": "60", "spent_to_date": "155000000"},
            {"progress_report": docs["laporan_kemajuan"]},
        )
        tranche_2 = {"tranche_2": "Rp 80.000.000", "tranche_2_date": f"{year}-06-01"}
        try:
            fire("disburse_tranche_2", "city", tranche_2)
        except TransitionRefused as refused:
            echo(f"  disburse_tranche_2 refused: {refused.guards[0]['message']['en']}")
        fire(
            "submit_lpj",
            "pokmas",
            {"lpj_amount": "Rp 158.500.000"},
            {"lpj_receipts": docs["lpj_tahap_1"]},
        )
        fire("accept_lpj", "kelurahan")
        fire("disburse_tranche_2", "city", tranche_2)
        fire(
            "submit_lpj",
            "pokmas",
            {"lpj_amount": "Rp 80.000.000"},
            {"lpj_receipts": docs["lpj_tahap_2"]},
        )
        fire("accept_lpj", "kelurahan")
        fire(
            "complete_implementation",
            "pokmas",
            {"progress_percent": "100"},
            {"lpj_final": docs["lpj_akhir"]},
        )
        fire(
            "record_monitoring",
            "ketua_rt",
            {"monitoring_attendees": "29", "residents_assessment": "satisfied"},
            {"monitoring_minutes": docs["berita_acara_monitoring"]},
        )
        fire(
            "evaluate",
            "pendamping",
            {"evaluation_result": "good", "evaluation_notes": "Tepat sasaran"},
        )
        fire("close", "city")

        others = seed_scenarios(app, year, Path(tmp))
        echo(f"demo cases of every program for {len(others)} more demo users")

    final = app.cases.show(case_id)
    echo(
        f"\ncase {case_id} is {final['state']}; "
        f"approved {format_money(final['data']['approved_amount'])}"
    )
    echo("history:")
    for r in app.cases.history(case_id):
        echo(
            f"  #{r['seq']:<2} {r['at']}  {r['trigger']:<24} "
            f"{r['source'] or '-':>18} -> {r['dest']:<18}"
            f" {r['actor']} ({r['role']})  {r['hash'][:16]}"
        )
    breaks = app.cases.verify(case_id)
    echo("history chain: " + ("intact" if not breaks else f"BROKEN {breaks}"))
    anchor = app.audit.anchor("demo")
    echo(
        f"anchor over {anchor['cases']} cases: {anchor['digest']} "
        "(`rukun audit verify --anchor DIGEST` proves nothing it covers changes)"
    )
    return case_id


def demo_members(kecamatan: str, first: int, count: int = 10) -> list[dict[str, str]]:
    """Demo household heads with well-formed NIK and KK numbers from a kecamatan code."""
    prefix = kecamatan.replace(".", "")[:6]
    return [
        {
            "name": f"Kepala Keluarga Demo {n}",
            "nik": f"{prefix}0101{80 + n % 20:02d}{n:04d}",
            "kk_number": f"{prefix}0101{n:06d}",
        }
        for n in range(first, first + count)
    ]


def seed_scenarios(app: Rukun, year: int, docs_dir: Path) -> dict[str, str]:
    """Users and cases of every program from demo_scenarios.yaml; returns user -> role."""
    plan = yaml.safe_load(SCENARIOS.read_text(encoding="utf-8"))
    regions = app.regions.list()
    by_code = {r["code"]: r for r in regions}

    def region(selector: dict[str, Any]) -> str:
        kota, level = selector["kota"], selector["level"]
        if level == "kota":
            return str(kota)
        if level == "provinsi":
            return str(kota).split(".")[0]
        codes = sorted(
            r["code"] for r in regions if r["level"] == level and r["code"].startswith(kota + ".")
        )
        return codes[selector.get("index", 0)]

    existing = {u["name"] for u in app.users.list()}
    users: dict[str, str] = {}
    for entry in plan["users"]:
        if entry["name"] not in existing:
            app.users.add(
                entry["name"], entry["role"], [region(entry["region"])] if "region" in entry else []
            )
        users[entry["name"]] = entry["role"]

    def document(name: str) -> Path:
        path = docs_dir / f"{name}.pdf"
        if not path.exists():
            path.write_bytes(demo_pdf(name.replace("_", " ").title()))
        return path

    named: dict[str, int] = {}
    for number, spec in enumerate(plan["cases"]):
        subject = region(spec["subject"])
        kecamatan = subject
        while by_code[kecamatan]["level"] != "kecamatan":
            kecamatan = by_code[kecamatan]["parent_code"]
        steps = spec["steps"]
        starter = spec.get("starter") or steps[0][1]
        case = app.cases.start(spec["program"], subject, year + spec.get("year", 0), starter)
        for trigger, user, values, *files in steps:
            filled = {}
            for key, value in values.items():
                text = str(value).replace("{year}", str(year + spec.get("year", 0)))
                if text.startswith("{members:"):
                    text = json.dumps(demo_members(kecamatan, 100 * number + int(text[9:-1])))
                elif text.startswith("{link:"):
                    text = json.dumps([named[spec["links"][text[6:-1]]]])
                filled[key] = text
            attachments = {
                field: document(name) for field, name in (files[0] if files else {}).items()
            }
            app.cases.fire(case["id"], trigger, user, filled, attachments)
        if "name" in spec:
            named[spec["name"]] = case["id"]
    return users
