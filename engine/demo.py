"""The scripted demo: one Probebaya case carried from the rembug warga to closing, through
the same runtime calls the CLI and the admin UI use; and the demo's database
(:class:`DemoDatabase`), seeded once, reused by every later `rukun demo`, started over when
an earlier one stopped part-way or with ``--reset``."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import tempfile
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from engine.demo_plan import USER_PREFIX
from engine.errors import Conflict, TransitionRefused
from engine.money import format_money
from engine.runtime import Rukun
from engine.runtime.regions import RegionRow
from engine.settings import Settings
from engine.store.db import VERSION_TABLE
from engine.store.models import Base, Case, ChainAnchor, Document, Region, User

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
SCENARIOS = Path(__file__).resolve().parent / "demo_scenarios.yaml"
#: Who takes the anchor that ends :func:`run_demo`, its last write: a database holding one
#: holds every step before it (each committed before the next began).
DEMO_ANCHOR = "demo"
#: Who takes the anchor that ends the seeding of `rukun demo --scale`
#: (:func:`engine.demo_scale.run_scaled_demo`), likewise.
SCALE_ANCHOR = "demo --scale"
#: SQLite's ``application_id`` ("RKDM") in a database file `rukun demo` seeded from empty:
#: the file is the demo's own, which it may remove to start over (and no other).
DEMO_APPLICATION_ID = 0x524B444D
#: The tables whose rows make a database more than an empty schema.
HOLDING_TABLES = ("users", "cases", "regions", "definition_versions")


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
    """Set everything up and run one Probebaya case end to end, then take the anchor
    (:data:`DEMO_ANCHOR`) that marks the demo complete; returns the case id."""
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
    anchor = app.audit.anchor(DEMO_ANCHOR)
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


# --------------------------------------------------------------------------- the database


class DemoState(Enum):
    """What a database holds, as `rukun demo` sees it."""

    #: No database yet, or a schema without rows: the demo seeds it.
    EMPTY = "empty"
    #: A demo whose every step committed: reused.
    COMPLETE = "complete"
    #: Rows but no complete demo: a demo that stopped part-way, or data that is not a demo.
    PARTIAL = "partial"


def anchored(app: Rukun, by: str) -> bool:
    """Whether the database holds an anchor taken as ``by`` (:data:`DEMO_ANCHOR`,
    :data:`SCALE_ANCHOR`)."""
    with app.context.sessions() as session:
        found = session.scalar(select(ChainAnchor.id).where(ChainAnchor.created_by == by).limit(1))
    return found is not None


def demo_state(app: Rukun) -> DemoState:
    """What the database holds; read before migrating it, so that a database with tables
    of another application is left as it is (:attr:`DemoState.PARTIAL`)."""
    tables = set(inspect(app.engine).get_table_names())
    if not tables <= {*Base.metadata.tables, VERSION_TABLE}:
        return DemoState.PARTIAL
    with app.engine.connect() as connection:
        held = [
            table
            for table in HOLDING_TABLES
            if table in tables
            and connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
        ]
    if not held:
        return DemoState.EMPTY
    if "chain_anchors" not in tables or not anchored(app, DEMO_ANCHOR):
        return DemoState.PARTIAL
    with app.context.sessions() as session:
        scaled = session.scalar(
            select(Case.id).where(Case.created_by.startswith(USER_PREFIX, autoescape=True)).limit(1)
        )
    if scaled is not None and not anchored(app, SCALE_ANCHOR):
        return DemoState.PARTIAL
    return DemoState.COMPLETE


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (absolute); None for an in-memory database or
    another kind of database."""
    parsed = make_url(url)
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):  # a URI filename: may be in memory, or shared
        return None
    return Path(database).absolute()


class DemoDatabase:
    """The database `rukun demo` seeds (RUKUN_DATABASE_URL): seeded when empty, reused when
    it holds a complete demo, started over when it was left half-seeded or with ``--reset``,
    which removes it (the file, and the documents it lists). Only a SQLite file the demo
    seeded from empty, stamped :data:`DEMO_APPLICATION_ID`, is ever removed: another
    database might hold what no demo can give back."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.file = sqlite_file(settings.database_url)
        self.shown = make_url(settings.database_url).render_as_string(hide_password=True)

    def prepare(self, reset: bool, echo: Callable[[str], Any]) -> DemoState:
        """Make the database ready: :attr:`DemoState.COMPLETE` (to reuse) or
        :attr:`DemoState.EMPTY` (to seed), removing the demo's own file first with ``reset``
        or when it was left half-seeded. :class:`Conflict` for a reset of a database that
        is not the demo's own, or a half-seeded one (which the demo cannot tell from data of
        someone's)."""
        if self.file is not None and not self.file.exists():
            if reset:
                echo(f"nothing to reset: no demo database at {self.file} yet")
            return DemoState.EMPTY
        app = Rukun(self.settings)
        try:
            state = demo_state(app)
            own = self.file is not None and (state is DemoState.EMPTY or self._stamped(app))
            if reset and not own:
                raise Conflict(
                    "--reset removes only a SQLite file `rukun demo` seeded, and "
                    f"{self.where} is not one (it may hold someone's data): {self._remedy()}"
                )
            if state is DemoState.PARTIAL and not own:
                raise Conflict(
                    f"{self.where} holds data but no complete demo (a demo that stopped "
                    "part-way, or someone's data), and `rukun demo` seeds only an empty "
                    f"database or starts over its own SQLite file: {self._remedy()}"
                )
            if not reset and state is DemoState.COMPLETE:
                echo(
                    f"reusing the demo database {self.where}, seeded by an earlier "
                    "`rukun demo` (`rukun demo --reset` starts over)"
                )
            if not reset and state is not DemoState.PARTIAL:
                return state
            documents = self._documents(app)
        finally:
            app.close()
        if reset:
            echo(f"--reset: removing the demo database {self.where} and its documents")
        else:
            echo(
                f"the demo database {self.where} was left half-seeded (an earlier `rukun demo` "
                "stopped before it finished): starting over"
            )
        self._remove(documents)
        return DemoState.EMPTY

    def claim(self, app: Rukun) -> None:
        """Stamp the (new or empty) SQLite file as the demo's own, before anything is
        seeded in it; nothing for other databases."""
        if self.file is not None:
            with app.engine.begin() as connection:
                connection.exec_driver_sql(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")

    def _stamped(self, app: Rukun) -> bool:
        with app.engine.connect() as connection:
            stamp = connection.exec_driver_sql("PRAGMA application_id").scalar()
        return bool(stamp == DEMO_APPLICATION_ID)

    @property
    def where(self) -> str:
        """The database, for messages: its file, or its URL without the password."""
        return str(self.file) if self.file is not None else self.shown

    def _remedy(self) -> str:
        if self.file is None:
            return "empty it yourself, or unset RUKUN_DATABASE_URL for the demo's own file"
        return "move it away yourself, or point RUKUN_DATABASE_URL at a new file"

    def _documents(self, app: Rukun) -> list[Path]:
        """The stored files the database lists (none if it has no documents table)."""
        if "documents" not in inspect(app.engine).get_table_names():
            return []
        store = app.context.documents
        with app.context.sessions() as session:
            return [store.path_for(sha) for sha in session.scalars(select(Document.sha256))]

    def _remove(self, documents: Sequence[Path]) -> None:
        """The database file first (a reset stopped part-way leaves only files the next
        demo stores again, by the same content), then the documents, then the folders
        they leave empty: other files in the storage folder are someone else's."""
        assert self.file is not None
        for suffix in ("", "-wal", "-shm", "-journal"):
            self.file.with_name(self.file.name + suffix).unlink(missing_ok=True)
        for path in documents:
            path.unlink(missing_ok=True)
        for folder in [*sorted({p.parent for p in documents}), self.settings.storage_dir]:
            with contextlib.suppress(OSError):  # not empty: holds files the demo did not make
                folder.rmdir()
