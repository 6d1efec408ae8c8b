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
from tests.builders import ROOT, Scenario

PROBEBAYA = str(ROOT / "workflows" / "probebaya.yaml")


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


def test_db_upgrade_creates_the_schema_and_is_repeatable(tmp_path: Path) -> None:
    cli = Cli({"RUKUN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    cli("case", "list", code=1)  # not initialised yet: one clear line
    assert "rukun db upgrade" in CliRunner().invoke(main, ["case", "list"], env=cli.env).stderr
    cli("db", "upgrade")
    cli("db", "upgrade")
    assert cli.json("case", "list") == []


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
    assert shown["states"][0] == "draft"
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


def test_region_import_upserts_by_code(ready: Scenario, cli: Cli, tmp_path: Path) -> None:
    kelurahan = ready.rt.rsplit(".", 2)[0]
    csv = tmp_path / "rt.csv"
    csv.write_text(
        "code,level,name,parent_code\n"
        f"{kelurahan}.009,rw,RW 009,{kelurahan}\n"
        f"{kelurahan}.009.001,rt,RT 001 RW 009,{kelurahan}.009\n"
        f"{ready.rt},rt,RT 001 RW 001 (renamed),{ready.rt.rsplit('.', 1)[0]}\n"
    )
    assert cli.json("region", "import", str(csv)) == {"imported": 3}
    children = cli.json("region", "list", "--parent", f"{kelurahan}.009")
    assert children == [
        {
            "code": f"{kelurahan}.009.001",
            "level": "rt",
            "name": "RT 001 RW 009",
            "parent_code": f"{kelurahan}.009",
            "demo": False,
        }
    ]
    assert any(
        r["name"] == "RT 001 RW 001 (renamed)" for r in cli.json("region", "list", "--level", "rt")
    )


def test_region_import_with_a_bad_row_imports_nothing(
    ready: Scenario, cli: Cli, tmp_path: Path
) -> None:
    kelurahan = ready.rt.rsplit(".", 2)[0]
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "code,level,name,parent_code\n"
        f"{kelurahan}.008,rw,RW 008,{kelurahan}\n"
        f"{kelurahan}.008.001,desa,RT 001,{kelurahan}.008\n"
        f"{kelurahan}.008.002,rt,,{kelurahan}.008\n"
        f"{kelurahan}.008.003,rt,RT 003,99.99\n"
        f"{kelurahan}.008.004,rt,RT 004\n"
    )
    result = cli("region", "import", str(csv), code=1)
    assert result.stderr.splitlines() == [
        f"error: {csv}:3: unknown level 'desa' "
        "(one of provinsi, kota, kecamatan, kelurahan, rw, rt, group)",
        f"error: {csv}:4: name is empty",
        f"error: {csv}:5: unknown parent 99.99 (it must exist or come earlier in the file)",
        f"error: {csv}:6: expected 4 columns, got 3",
    ]
    assert cli.json("region", "list", "--parent", kelurahan) == [
        r
        for r in cli.json("region", "list", "--parent", kelurahan)
        if not r["code"].endswith(".008")
    ]
    assert cli.json("region", "list", "--level", "rw", "--parent", kelurahan) == [
        r for r in cli.json("region", "list", "--level", "rw") if r["parent_code"] == kelurahan
    ]
    assert not any(r["code"].startswith(f"{kelurahan}.008") for r in cli.json("region", "list"))


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
    assert (
        fired["data"]["minutes"]["sha256"]
        == cli.json("case", "show", str(started["id"]))["data"]["minutes"]["sha256"]
    )
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
    listed = cli.json("case", "list", "--program", "probebaya", "--state", "rembug_held")
    assert [c["id"] for c in listed] == [started["id"]]
    assert "rembug_held" in cli("case", "show", str(started["id"])).stdout
    assert (
        "record_rembug: draft -> rembug_held" in cli("case", "history", str(started["id"])).stdout
    )
    assert cli.json("case", "verify", str(started["id"]))["intact"] is True


def test_set_parses_money_in_any_notation(ready: Scenario, cli: Cli) -> None:
    case = start_case(ready, cli)
    cli(*rembug_args(ready, case["id"]))
    for budget, code in [("Rp 250.000.000", 0)]:
        fired = cli.json(
            "case",
            "fire",
            str(case["id"]),
            "submit_proposal",
            "--as",
            ready.users["ketua_rt"],
            "--set",
            "program_area=infrastructure",
            "--set",
            "proposal_title=Drainase",
            "--set",
            f"budget={budget}",
            "--attach",
            f"rab={ready.doc('rab')}",
            code=code,
        )
        assert fired["data"]["budget"] == 250_000_000
    assert "Rp 250.000.000" in cli("case", "show", str(case["id"])).stdout


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
        (["case", "triggers", "1", "--as", "nobody"], 5),
    ],
)
def test_usage_and_not_found_exit_codes(
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
    env = {**os.environ, "RUKUN_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}"}
    run = subprocess.run(
        [str(executable), "demo", "--year", "2026"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "case 1 is closed" in run.stdout
    assert "history chain: intact" in run.stdout
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
