"""Prolita (Bontang): a program that is YAML only, run end to end through the CLI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.builders import ROOT, World

BONTANG = "64.74"


class Run:
    """`rukun` through click, on the world's database; returns parsed --json output."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(main, [*args, "--json"], env=self.env, catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return json.loads(result.stdout)


@pytest.fixture
def run(world: World, env: dict[str, str]) -> Run:
    return Run(env)


def bontang_case(
    world: World, run: Run, rt: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    rt = rt or world.rts(BONTANG)[0]
    users = {
        "ketua_rt": world.user("ketua_rt", rt),
        "kelurahan": world.user("kelurahan", world.ancestor(rt, "kelurahan")),
        "kecamatan": world.user("kecamatan", world.ancestor(rt, "kecamatan")),
        "city": world.user("city", BONTANG),
    }
    case = run(
        "case", "start", "prolita", "--subject", rt, "--year", "2026", "--as", users["ketua_rt"]
    )
    return case, users


def fire(
    run: Run, case: dict[str, Any], trigger: str, user: str, *extra: str, code: int = 0
) -> Any:
    return run("case", "fire", str(case["id"]), trigger, "--as", user, *extra, code=code)


def rembug(
    world: World,
    run: Run,
    case: dict[str, Any],
    users: dict[str, str],
    attendees: str = "16",
    code: int = 0,
) -> Any:
    """Record a rembug warga of 30 households with ``attendees`` present and minutes."""
    return fire(
        run,
        case,
        "record_rembug",
        users["ketua_rt"],
        "--set",
        "rembug_date=2026-02-01",
        "--set",
        "households_total=30",
        "--set",
        f"attendees={attendees}",
        "--attach",
        f"minutes={world.doc('ba')}",
        code=code,
    )


RAB = json.dumps(
    [
        {"description": "Semen dan pasir", "amount": "Rp 30.000.000"},
        {"description": "Upah tukang", "amount": "Rp 20.000.000"},
    ]
)


def propose(
    run: Run,
    case: dict[str, Any],
    users: dict[str, str],
    activity: str,
    rab: str = RAB,
    code: int = 0,
) -> Any:
    """The ketua RT submits the proposal: an activity and its RAB lines (JSON)."""
    return fire(
        run,
        case,
        "submit_proposal",
        users["ketua_rt"],
        "--set",
        f"activity={activity}",
        "--set",
        f"rab_lines={rab}",
        code=code,
    )


def to_accounted(
    world: World, run: Run, case: dict[str, Any], users: dict[str, str]
) -> dict[str, Any]:
    rembug(world, run, case, users)
    propose(run, case, users, "Jalan lingkungan")
    fire(run, case, "verify", users["kelurahan"])
    fire(run, case, "recommend", users["kecamatan"])
    fire(run, case, "approve", users["city"], "--set", "approved_amount=Rp 50.000.000")
    fire(run, case, "disburse", users["city"], "--set", "disbursement_date=2026-04-01")
    fire(
        run,
        case,
        "submit_lpj",
        users["ketua_rt"],
        "--set",
        "lpj_amount=49.750.000",
        "--attach",
        f"lpj_receipts={world.doc('kuitansi')}",
    )
    return fire(run, case, "accept_lpj", users["kelurahan"])


def test_prolita_runs_end_to_end_through_the_cli(world: World, run: Run) -> None:
    case, users = bontang_case(world, run)
    accounted = to_accounted(world, run, case, users)
    assert accounted["state"] == "accounted"
    assert accounted["ledger"]["totals"] == {
        "budget": 50_000_000,
        "approved": 50_000_000,
        "disbursed": 50_000_000,
        "tranches": 1,
        "reported": 49_750_000,
        "spent": 49_750_000,
        "reports_accepted": 1,
        "reports_pending": 0,
    }
    assert [line["description"] for line in accounted["ledger"]["lines"]] == [
        "Semen dan pasir",
        "Upah tukang",
    ]
    closed = fire(
        run,
        case,
        "record_monitoring",
        users["ketua_rt"],
        "--set",
        "monitoring_attendees=20",
        "--attach",
        f"monitoring_minutes={world.doc('monev')}",
    )
    assert closed["state"] == "closed"
    assert run("case", "verify", str(case["id"]))["intact"] is True


def test_rab_over_fifty_juta_is_refused(world: World, run: Run) -> None:
    case, users = bontang_case(world, run)
    rembug(world, run, case, users)
    too_much = json.dumps([{"description": "Paving", "amount": "Rp 50.000.001"}])
    error = propose(run, case, users, "Paving", too_much, code=1)["error"]
    [failed] = [g for g in error["guards"] if g["ok"] is False]
    assert failed["message"]["en"] == "The RAB total must be at most Rp 50 juta (is Rp 50.000.001)"
    assert run("case", "show", str(case["id"]))["ledger"]["lines"] == []


def test_quorum_not_reached_is_refused(world: World, run: Run) -> None:
    case, users = bontang_case(world, run)
    error = rembug(world, run, case, users, attendees="15", code=1)["error"]
    assert [g["guard"] for g in error["guards"] if g["ok"] is False] == ["quorum"]
    assert len(run("case", "history", str(case["id"]))) == 1


def test_revision_loop_replaces_the_rab(world: World, run: Run) -> None:
    case, users = bontang_case(world, run)
    rembug(world, run, case, users)
    propose(run, case, users, "Jalan")
    fire(
        run,
        case,
        "return_for_revision",
        users["kelurahan"],
        "--set",
        "revision_notes=Upah terlalu besar",
    )
    smaller = json.dumps(
        [
            {"description": "Semen dan pasir", "amount": "Rp 30.000.000"},
            {"description": "Upah tukang", "amount": "Rp 15.000.000"},
        ]
    )
    resubmitted = propose(run, case, users, "Jalan", smaller)
    assert resubmitted["ledger"]["totals"]["budget"] == 45_000_000
    assert [line["amount"] for line in resubmitted["ledger"]["lines"]] == [30_000_000, 15_000_000]


def test_rejection_and_cancellation_are_final(world: World, run: Run) -> None:
    first, users = bontang_case(world, run)
    rembug(world, run, first, users)
    propose(run, first, users, "Jalan")
    fire(run, first, "verify", users["kelurahan"])
    assert (
        fire(run, first, "reject", users["kecamatan"], "--set", "rejection_reason=Duplikasi")[
            "state"
        ]
        == "rejected"
    )
    second, _ = bontang_case(world, run, world.rts(BONTANG)[0])
    assert (
        fire(run, second, "cancel", users["city"], "--set", "cancel_reason=RT digabung")["state"]
        == "cancelled"
    )


def test_deadlines_in_working_days_escalate_once(world: World, run: Run) -> None:
    case, users = bontang_case(world, run)
    rembug(world, run, case, users)
    shown = run("case", "show", str(case["id"]))
    assert shown["due_at"] is not None
    assert run("tick", "--now", "2026-11-26T00:00:00Z") == []
    [escalated] = run("tick", "--now", "2027-06-01T00:00:00Z")
    assert escalated["id"] == case["id"]
    assert run("tick", "--now", "2027-06-01T00:00:00Z") == []
    last = run("case", "history", str(case["id"]))[-1]
    assert (last["kind"], last["payload"]["escalate_to"]) == ("escalation", "kelurahan")


def test_budget_report_sums_the_ledgers_per_kecamatan(world: World, run: Run) -> None:
    case, users = bontang_case(world, run)
    to_accounted(world, run, case, users)
    report = run("report", "budget", "--program", "prolita", "--year", "2026")
    [row] = report["regions"]
    assert row["region"] == world.ancestor(world.rts(BONTANG)[0], "kecamatan")
    assert (row["cases"], row["approved"], row["disbursed"], row["spent"]) == (
        1,
        50_000_000,
        50_000_000,
        49_750_000,
    )
    assert report["total"]["budget"] == 50_000_000


def test_prolita_is_yaml_only(world: World) -> None:
    """No Python in the engine or the admin knows the program: it is configuration only."""
    sources = [p for folder in ("engine", "admin") for p in (ROOT / folder).rglob("*.py")]
    assert sources
    mentions = [
        str(p) for p in sources if re.search(r"prolita", p.read_text(encoding="utf-8"), re.I)
    ]
    assert mentions == []
    assert (ROOT / "workflows" / "prolita.yaml").is_file()


def test_prolita_runs_only_in_bontang(world: World, run: Run) -> None:
    samarinda_rt = world.rts("64.72")[0]
    user = world.user("ketua_rt", samarinda_rt)
    error = run(
        "case",
        "start",
        "prolita",
        "--subject",
        samarinda_rt,
        "--year",
        "2026",
        "--as",
        user,
        code=1,
    )
    assert "runs only in 64.74" in error["error"]["message"]
