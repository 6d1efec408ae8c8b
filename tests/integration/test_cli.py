"""The `rukun` command end to end: output, --json shapes, and the exit code of each outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engine.cli import main
from engine.store.db import SCHEMA_REVISION, make_engine, upgrade
from tests.builders import ROOT, Scenario
from tests.unit.test_cli_startup import rukun_imports

PROBEBAYA = str(ROOT / "workflows" / "probebaya.yaml")
REGIONS = ROOT / "tests" / "data" / "regions"
#: A Samarinda kelurahan without demo RWs/RTs: the region CSVs add them.
MANGKUPALAS = "64.72.02.1009"


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, code: int = 0, stdin: str | None = None) -> Result:
        result = CliRunner().invoke(
            main, list(args), env=self.env, input=stdin, catch_exceptions=False
        )
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self(*args, "--json", code=code).stdout)


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


@pytest.fixture
def ready(scenario: Scenario, cli: Cli) -> Scenario:
    """A migrated database with Probebaya, demo regions and users (made through the runtime)."""
    return scenario


def start_case(ready: Scenario, cli: Cli) -> dict[str, Any]:
    return cli.json(
        "case",
        "start",
        "probebaya",
        "--subject",
        ready.rt,
        "--year",
        "2026",
        "--as",
        ready.users["ketua_rt"],
    )


def fire_args(
    case_id: int,
    trigger: str,
    user: str,
    sets: dict[str, str] | None = None,
    attach: dict[str, Path] | None = None,
) -> list[str]:
    args = ["case", "fire", str(case_id), trigger, "--as", user]
    for name, value in (sets or {}).items():
        args += ["--set", f"{name}={value}"]
    for name, path in (attach or {}).items():
        args += ["--attach", f"{name}={path}"]
    return args


def rembug_args(ready: Scenario, case_id: int, attendees: str = "25") -> list[str]:
    return [
        "case",
        "fire",
        str(case_id),
        "record_rembug",
        "--as",
        ready.users["ketua_rt"],
        "--set",
        "households_total=40",
        "--set",
        f"attendees={attendees}",
        "--set",
        "rembug_date=2026-01-15",
        "--attach",
        f"minutes={ready.doc('minutes')}",
        "--attach",
        f"attendance_list={ready.doc('hadir')}",
    ]


# ---------------------------------------------------------------- set-up commands


def test_validate_prints_ok_or_problem_lines_and_exits_accordingly() -> None:
    cli = Cli({})  # no database needed
    assert cli("validate", PROBEBAYA).stdout == f"OK {PROBEBAYA}\n"
    bad = ROOT / "tests" / "data" / "bad" / "unknown_role.yaml"
    result = cli("validate", PROBEBAYA, str(bad), code=1)
    assert result.stdout.splitlines() == [
        f"OK {PROBEBAYA}",
        f"{bad}:24:13: unknown role 'lurah' (did you mean 'kelurahan'?)",
    ]
    [report] = json.loads(cli("validate", str(bad), "--json", code=1).stdout)
    assert report["ok"] is False
    assert report["problems"][0] == {
        "path": str(bad),
        "line": 24,
        "col": 13,
        "message": "unknown role 'lurah' (did you mean 'kelurahan'?)",
    }
    assert cli("validate", code=2).stderr.startswith("error: Missing argument")


def test_db_upgrade_creates_the_schema_and_is_repeatable(tmp_path: Path) -> None:
    cli = Cli({"RUKUN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    cli("case", "list", code=1)  # not initialised yet: one clear line
    assert "rukun db upgrade" in CliRunner().invoke(main, ["case", "list"], env=cli.env).stderr
    assert "is up to date" in cli("db", "upgrade").stdout
    assert cli.json("db", "upgrade")["status"] == "current"
    assert cli.json("case", "list") == []


def test_a_database_at_an_older_revision_is_refused_until_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    upgrade(engine, "0007")
    engine.dispose()
    cli = Cli({"RUKUN_DATABASE_URL": url})
    refused = cli("case", "show", "1", code=1)
    assert refused.stderr == (
        f"error: database {url} is at revision 0007, code expects {SCHEMA_REVISION}: "
        "run `rukun db upgrade`\n"
    )
    assert cli.json("case", "list", code=1)["error"]["kind"] == "database"
    cli("db", "upgrade")
    cli("case", "show", "1", code=5)  # current now: only the case is missing


#: What reading a case does without: the web UI, Alembic (the schema check reads the
#: revision with SQLAlchemy) and the audit's exports.
NOT_FOR_READING = (
    "alembic",
    "flask",
    "waitress",
    "admin.app",
    "engine.audit.export",
    "engine.store.backup",
    "xlsxwriter",
)


def test_reading_cases_imports_neither_the_web_ui_nor_alembic(
    ready: Scenario, cli: Cli, env: dict[str, str]
) -> None:
    case = start_case(ready, cli)
    shown, imported = rukun_imports(["case", "show", str(case["id"])], NOT_FOR_READING, env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"case {case['id']}: probebaya")
    assert imported == []
    listed, imported = rukun_imports(["case", "list"], NOT_FOR_READING, env)
    assert listed.returncode == 0, listed.stderr
    assert imported == []


def test_publish_twice_keeps_one_version_and_list_show_describe_it(
    ready: Scenario, cli: Cli
) -> None:
    again = cli.json("workflow", "publish", PROBEBAYA)
    assert again == {
        "program": "probebaya",
        "version": 1,
        "sha256": again["sha256"],
        "created": False,
    }
    assert "unchanged" in cli("workflow", "publish", PROBEBAYA).stdout
    [row] = cli.json("workflow", "list")
    assert (row["program"], row["version"], row["status"]) == ("probebaya", 1, "published")
    shown = cli.json("workflow", "show", "probebaya")
    assert {"program", "version", "sha256", "status", "title", "states", "triggers"} <= set(shown)
    assert (shown["program"], shown["version"], shown["sha256"]) == (
        "probebaya",
        1,
        again["sha256"],
    )
    assert shown["states"][0] == "draft"
    assert {"trigger", "source", "dest", "roles", "form", "guards"} == set(shown["transitions"][0])
    assert shown["transitions"][0]["guards"] == ["quorum", "documents"]
    assert {"trigger": "cancel", "dest": "cancelled"}.items() <= next(
        t for t in shown["transitions"] if t["trigger"] == "cancel"
    ).items()
    assert cli("workflow", "show", "probebaya", "--source").stdout == Path(PROBEBAYA).read_text()
    cli("workflow", "show", "kube", code=5)


def test_publish_refuses_an_invalid_file_with_its_problems(ready: Scenario, cli: Cli) -> None:
    bad = ROOT / "tests" / "data" / "bad" / "unknown_role.yaml"
    result = cli("workflow", "publish", str(bad), code=1)
    assert result.stderr.strip() == f"{bad}:24:13: unknown role 'lurah' (did you mean 'kelurahan'?)"


def test_publish_as_a_user_needs_the_program_officer_role(ready: Scenario, cli: Cli) -> None:
    cli("workflow", "publish", PROBEBAYA, "--as", ready.users["ketua_rt"], code=3)
    cli("user", "add", "officer", "--role", "program_officer")
    cli("workflow", "publish", PROBEBAYA, "--as", "officer")


def test_region_import_adds_rows_whose_parents_exist_or_come_first_and_upserts_by_code(
    ready: Scenario, cli: Cli
) -> None:
    before = len(cli.json("region", "list"))
    assert cli.json("region", "import", str(REGIONS / "mangkupalas_rt.csv")) == {"imported": 5}
    assert [r["code"] for r in cli.json("region", "list", "--parent", MANGKUPALAS)] == [
        f"{MANGKUPALAS}.001",
        f"{MANGKUPALAS}.002",
    ]
    rw1 = cli.json("region", "list", "--level", "rt", "--parent", f"{MANGKUPALAS}.001")
    assert rw1 == [
        {
            "code": f"{MANGKUPALAS}.001.001",
            "level": "rt",
            "name": "RT 001 RW 001",
            "parent_code": f"{MANGKUPALAS}.001",
            "demo": False,
            "contact": None,
        },
        {
            "code": f"{MANGKUPALAS}.001.002",
            "level": "rt",
            "name": "RT 002 RW 001",
            "parent_code": f"{MANGKUPALAS}.001",
            "demo": False,
            "contact": None,
        },
    ]
    # a second file renames one RT and adds one under an RW that is already stored
    update = REGIONS / "mangkupalas_rt_update.csv"
    assert "imported 2 regions" in cli("region", "import", str(update)).stdout
    names = {r["code"]: r["name"] for r in cli.json("region", "list", "--level", "rt")}
    assert names[f"{MANGKUPALAS}.001.002"] == "RT 002 RW 001 Gang Mawar"
    assert names[f"{MANGKUPALAS}.002.002"] == "RT 002 RW 002"
    cli("region", "import", str(update))  # importing again changes nothing
    assert len(cli.json("region", "list")) == before + 6


def test_region_import_with_bad_rows_reports_each_and_imports_nothing(
    ready: Scenario, cli: Cli
) -> None:
    before = cli.json("region", "list")
    bad = REGIONS / "mangkupalas_bad_rows.csv"
    result = cli("region", "import", str(bad), code=1)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {bad}:{line}: {reason}"
        for line, reason in [
            (
                3,
                "unknown level 'desa' (one of provinsi, kota, kecamatan, kelurahan, rw, rt, group)",
            ),
            (4, "name is empty"),
            (5, "unknown parent 99.99 (it must exist or come earlier in the file)"),
            (6, "expected 4 columns, got 3"),
            (
                7,
                f"unknown parent {MANGKUPALAS}.004 (it must exist or come earlier in the file)",
            ),
            (10, f"code {MANGKUPALAS}.003.005 appears twice in the file"),
            (11, f"a kelurahan cannot be under a rw ({MANGKUPALAS}.003)"),
            (12, "a rw needs a parent_code"),
            (
                13,
                "64.72.02.1001 exists as kelurahan under 64.72.02; "
                "changing level or parent is not supported by import",
            ),
        ]
    ]
    assert cli.json("region", "list") == before  # not even the good rows (2, 8, 9)
    header = REGIONS / "bad_header.csv"
    assert cli("region", "import", str(header), code=1).stderr == (
        f"error: {header}:1: header must be code,level,name,parent_code, "
        "got kode,tingkat,nama,induk\n"
    )
    assert "cannot read" in cli("region", "import", str(REGIONS / "missing.csv"), code=1).stderr
    assert cli.json("region", "list") == before


def test_region_list_filters_and_json_shape(ready: Scenario, cli: Cli) -> None:
    kecamatan = cli.json("region", "list", "--level", "kecamatan", "--parent", "64.72")
    assert len(kecamatan) == 10
    assert set(kecamatan[0]) >= {"code", "level", "name", "parent_code"}
    cli("region", "list", "--level", "village", code=1)
    cli("region", "list", "--parent", "00.00", code=5)


def test_user_add_reads_the_password_from_stdin(ready: Scenario, cli: Cli) -> None:
    kelurahan = ready.rt.rsplit(".", 2)[0]
    added = json.loads(
        cli(
            "user",
            "add",
            "sari",
            "--role",
            "pendamping",
            "--region",
            kelurahan,
            "--password-stdin",
            "--json",
            stdin="kata-sandi-123\n",
        ).stdout
    )
    assert added["grants"] == [{"role": "pendamping", "region": kelurahan}]
    cli("user", "add", "budi", "--role", "pendamping", "--password-stdin", stdin="rahasia-sekali\n")
    assert ready.app.users.check_password("budi", "rahasia-sekali")
    assert not ready.app.users.check_password("budi", "salah")
    cli("user", "add", "budi", "--role", "pendamping", code=4)
    cli("user", "add", "eko", "--role", "bupati", code=1)
    cli("user", "add", "eko", "--role", "kelurahan", "--region", "99.99", code=5)


# ---------------------------------------------------------------- cases


def test_case_start_fire_show_history_json_shapes(ready: Scenario, cli: Cli) -> None:
    started = start_case(ready, cli)
    required = {
        "id",
        "program",
        "definition_version",
        "subject",
        "year",
        "state",
        "version",
        "data",
    }
    assert required <= set(started)
    assert (started["state"], started["version"], started["year"]) == ("draft", 1, 2026)
    fired = cli.json(*rembug_args(ready, started["id"]))
    assert required <= set(fired)
    assert (fired["state"], fired["version"]) == ("rembug_held", 2)
    sha = fired["data"]["minutes"]["sha256"]
    assert cli.json("case", "show", str(started["id"]))["data"]["minutes"]["sha256"] == sha
    stored = Path(cli.env["RUKUN_STORAGE"]) / sha[:2] / sha
    assert stored.read_bytes() == ready.doc("minutes").read_bytes()
    history = cli.json("case", "history", str(started["id"]))
    assert [r["seq"] for r in history] == [1, 2]
    assert {
        "seq",
        "trigger",
        "source",
        "dest",
        "actor",
        "role",
        "at",
        "guards",
        "prev_hash",
        "hash",
    } <= set(history[1])
    assert history[1]["prev_hash"] == history[0]["hash"]
    assert history[1]["documents"]["minutes"] == sha
    assert [g["guard"] for g in history[1]["guards"]] == ["quorum", "documents"]
    listed = cli.json("case", "list", "--program", "probebaya", "--state", "rembug_held")
    assert [c["id"] for c in listed] == [started["id"]]
    assert required <= set(listed[0])
    assert cli.json("case", "list", "--state", "closed") == []
    assert "rembug_held" in cli("case", "show", str(started["id"])).stdout
    assert (
        "record_rembug: draft -> rembug_held" in cli("case", "history", str(started["id"])).stdout
    )
    assert cli.json("case", "verify", str(started["id"])) == {
        "case_id": started["id"],
        "intact": True,
        "breaks": [],
    }
    verified = cli("case", "verify", str(started["id"]))
    assert verified.stdout == f"case {started['id']}: history chain and rows intact\n"


def test_set_parses_money_in_any_notation(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    cli(*rembug_args(ready, case["id"]))
    rt, lurah = ready.users["ketua_rt"], ready.users["kelurahan"]
    proposal = {"program_area": "infrastructure", "proposal_title": "Drainase"}
    rab = {"rab": ready.doc("rab")}
    trigger = "submit_proposal"
    for budget in ("150000000", "150.000.000", "Rp 150.000.000"):
        sets = {**proposal, "budget": budget}
        fired = cli.json(*fire_args(case["id"], trigger, rt, sets, rab))
        assert (fired["state"], fired["data"]["budget"]) == ("submitted", 150_000_000)
        cli(*fire_args(case["id"], "return_for_revision", lurah, {"revision_notes": "ulang"}))
        trigger = "resubmit"
    assert "budget: Rp 150.000.000" in cli("case", "show", str(case["id"])).stdout
    bad = cli(*fire_args(case["id"], trigger, rt, {**proposal, "budget": "banyak"}, rab), code=1)
    assert "budget: not an amount of money: 'banyak'" in bad.stderr


def test_set_parses_each_field_by_its_type(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    rt = ready.users["ketua_rt"]
    wrong = {"rembug_date": "15/01/2026", "households_total": "empat puluh", "attendees": "25"}
    result = cli(*fire_args(case["id"], "record_rembug", rt, wrong), code=1)
    [line] = result.stderr.splitlines()
    assert "households_total: Not a valid integer." in line
    assert "rembug_date: Not a valid date." in line
    fired = cli.json(*rembug_args(ready, case["id"]))
    assert {k: fired["data"][k] for k in ("rembug_date", "households_total", "attendees")} == {
        "rembug_date": "2026-01-15",
        "households_total": 40,
        "attendees": 25,
    }
    sets = {
        "program_area": "socio_economic",
        "proposal_title": "Pelatihan amplang",
        "budget": "Rp 120.000.000",
        "ikm_participation": "ya",
        "ikm_name": "Amplang Bu Sri",
        "ikm_approval_votes": "13",
    }
    result = cli(
        *fire_args(case["id"], "submit_proposal", rt, {**sets, "program_area": "jalan"}), code=1
    )
    assert "program_area: Must be one of: infrastructure, human_resources, socio_economic." in (
        result.stderr
    )
    fired = cli.json(*fire_args(case["id"], "submit_proposal", rt, sets, {"rab": ready.doc("rab")}))
    assert (fired["data"]["ikm_participation"], fired["data"]["ikm_approval_votes"]) == (True, 13)


def test_unknown_field_in_set_is_refused(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    result = cli(
        "case",
        "fire",
        str(case["id"]),
        "record_rembug",
        "--as",
        ready.users["ketua_rt"],
        "--set",
        "colour=red",
        code=1,
    )
    assert "not part of this form: colour" in result.stderr
    cli(
        "case",
        "fire",
        str(case["id"]),
        "record_rembug",
        "--as",
        ready.users["ketua_rt"],
        "--set",
        "novalue",
        code=2,
    )


def test_refusal_exits_1_and_names_the_guard_and_its_message(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    result = cli(*rembug_args(ready, case["id"], attendees="20"), code=1)
    assert (
        "refused by guard quorum: The rembug warga needs a majority of households: "
        "20 of 40 attended, at least 21 needed"
    ) in result.stderr
    assert cli.json("case", "show", str(case["id"]))["state"] == "draft"
    assert len(cli.json("case", "history", str(case["id"]))) == 1
    error = json.loads(
        cli(*rembug_args(ready, case["id"], attendees="20"), "--json", code=1).stdout
    )["error"]
    assert error["kind"] == "refused"
    assert [g["guard"] for g in error["guards"] if g["ok"] is False] == ["quorum"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["case", "fire", "1", "verify"], 2),  # missing --as
        (["case", "fire", "notanumber", "verify", "--as", "x"], 2),  # bad argument
        (["case", "show", "424242"], 5),
        (["case", "history", "424242"], 5),
        (["case", "verify", "424242"], 5),
        (["case", "triggers", "1", "--as", "nobody"], 5),
        (["case", "fire", "1", "cancel", "--as", "nobody", "--set", "cancel_reason=x"], 5),
        (["case", "fire", "1", "approve_everything", "--as", "demo_city"], 5),
        (["case", "start", "kube", "--subject", "64", "--year", "2026", "--as", "x"], 5),
        (["case", "fire", "1", "verify", "--as", "demo_kelurahan"], 4),
        (["case", "fire", "1", "cancel", "--as", "demo_kelurahan", "--set", "cancel_reason=x"], 3),
    ],
)
def test_each_failure_has_its_exit_code_and_one_error_line(
    ready: Scenario, cli: Cli, args: list[str], code: int
) -> None:
    start_case(ready, cli)
    result = cli(*args, code=code)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")


def test_forbidden_exits_3_and_stale_version_exits_4(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    result = cli(
        "case",
        "fire",
        str(case["id"]),
        "cancel",
        "--as",
        ready.users["ketua_rt"],
        "--set",
        "cancel_reason=x",
        code=3,
    )
    assert result.stderr.startswith("error: user 'demo_ketua_rt' may not fire 'cancel'")
    cli(*rembug_args(ready, case["id"]), "--expect-version", "7", code=4)
    cli(*rembug_args(ready, case["id"]), "--expect-version", "1")
    cli(*rembug_args(ready, case["id"]), code=4)  # no longer available in rembug_held


def test_triggers_lists_allowed_and_reasons(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    options = cli.json("case", "triggers", str(case["id"]), "--as", ready.users["kelurahan"])
    by_trigger = {o["trigger"]: o for o in options}
    assert set(by_trigger) == {"record_rembug", "cancel"}
    assert all({"trigger", "dest", "allowed", "reasons"} <= set(o) for o in options)
    assert by_trigger["record_rembug"]["allowed"] is False
    assert by_trigger["record_rembug"]["reasons"]
    human = cli("case", "triggers", str(case["id"]), "--as", ready.users["ketua_rt"]).stdout
    assert "yes record_rembug -> rembug_held" in human
    assert "pending form input: quorum" in human
    [rembug] = [
        o
        for o in cli.json("case", "triggers", str(case["id"]), "--as", ready.users["ketua_rt"])
        if o["trigger"] == "record_rembug"
    ]
    assert (rembug["allowed"], rembug["reasons"]) == (True, [])
    assert {g["guard"]: g["ok"] for g in rembug["guards"]} == {"quorum": None, "documents": None}


def test_attach_of_a_missing_file_is_invalid_data(
    ready: Scenario, cli: Cli, tmp_path: Path
) -> None:
    case = start_case(ready, cli)
    result = cli(
        "case",
        "fire",
        str(case["id"]),
        "record_rembug",
        "--as",
        ready.users["ketua_rt"],
        "--attach",
        f"minutes={tmp_path / 'nope.pdf'}",
        code=1,
    )
    assert "no such file" in result.stderr


def test_attach_of_a_disallowed_type_is_refused(ready: Scenario, cli: Cli, tmp_path: Path) -> None:
    case = start_case(ready, cli)
    script = tmp_path / "minutes.exe"
    script.write_bytes(b"MZ\x90\x00" + b"\x00" * 64)
    args = rembug_args(ready, case["id"])
    args[args.index(f"minutes={ready.doc('minutes')}")] = f"minutes={script}"
    result = cli(*args, code=1)
    assert "is not accepted" in result.stderr


def test_tick_escalates_overdue_cases_once(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    cli(*rembug_args(ready, case["id"]))
    assert cli.json("tick") == []
    [escalated] = cli.json("tick", "--now", "2099-01-01T00:00:00Z")
    assert escalated["id"] == case["id"]
    assert cli.json("tick", "--now", "2099-01-01T00:00:00Z") == []
    last = cli.json("case", "history", str(case["id"]))[-1]
    assert (last["kind"], last["trigger"], last["payload"]["escalate_to"]) == (
        "escalation",
        "escalate",
        "kelurahan",
    )
    assert cli.json("case", "list", "--overdue") == []  # not overdue in real time yet


# ---------------------------------------------------------------- the real executable


def test_the_installed_rukun_command_runs_the_demo(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("rukun")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUKUN_")}
    env["RUKUN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    run = subprocess.run(
        [str(executable), "demo", "--year", "2026", "--no-serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "case 1 is closed" in run.stdout
    assert "history chain: intact" in run.stdout
    listed = subprocess.run(
        [str(executable), "case", "list", "--json"], env=env, capture_output=True, text=True
    )
    states = {(c["program"], c["state"]) for c in json.loads(listed.stdout)}
    assert {
        ("probebaya", "closed"),
        ("probebaya", "submitted"),
        ("prolita", "recommended"),
        ("rt_mandiri", "funded"),
        ("rt_mandiri", "proposed"),
        ("kube", "pendamping_assigned"),
    } <= states
    assert (tmp_path / "rukun-storage").is_dir()
    bad = subprocess.run(
        [str(executable), "case", "show", "99"], env=env, capture_output=True, text=True
    )
    assert (bad.returncode, bad.stderr) == (5, "error: no case 99\n")


@pytest.mark.parametrize(
    ("kota", "kecamatan", "kelurahan"),
    [("64.72", 10, 59), ("64.74", 3, 15), ("64.71", 6, 34), ("63.72", 5, 20)],
)
def test_official_regions_have_kemendagri_codes(
    cli: Cli, app: Any, kota: str, kecamatan: int, kelurahan: int
) -> None:
    cli("region", "load-official")
    listed = cli.json("region", "list", "--level", "kecamatan", "--parent", kota)
    assert len(listed) == kecamatan
    assert all(set(r) >= {"code", "level", "name", "parent_code"} for r in listed)
    assert all(r["code"].startswith(kota + ".") and r["parent_code"] == kota for r in listed)
    villages = [
        r
        for r in cli.json("region", "list", "--level", "kelurahan")
        if r["code"].startswith(kota + ".")
    ]
    assert len(villages) == kelurahan
    assert not any(r["demo"] for r in villages)


def test_official_regions_of_an_unknown_kota_are_not_found(cli: Cli, app: Any) -> None:
    cli("region", "load-official", "--kota", "99.99", code=5)


def test_overdue_cases_are_listed(scenario: Scenario) -> None:
    import datetime as dt

    case = scenario.probebaya_case("rembug_held")  # 30-day deadline
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert scenario.app.cases.list(overdue=True) == []
    [overdue] = scenario.app.cases.list(overdue=True, now=later)
    assert (overdue["id"], overdue["overdue"]) == (case["id"], True)


def test_case_show_writes_approved_amounts_in_words(scenario: Scenario, cli: Cli) -> None:
    case = scenario.probebaya_case("approved")
    assert (
        "approved Rp 200.000.000 (dua ratus juta rupiah)"
        in cli("case", "show", str(case["id"])).stdout
    )
