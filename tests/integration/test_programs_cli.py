"""RT Mandiri and KUBE carried end to end through the `rukun` command on real regions."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from engine.cli import main
from tests.builders import World, kube_members


def rukun(env: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_rt_mandiri_through_the_cli(world: World, env: dict[str, str]) -> None:
    group = world.groups("63.72")[0]
    pokmas = world.user("pokmas", world.ancestor(group, "rt"))
    skpd, city = world.user("skpd", "63.72"), world.user("city", "63.72")
    case = rukun(
        env, "case", "start", "rt_mandiri", "--subject", group, "--year", "2026", "--as", pokmas
    )
    cid = str(case["id"])
    rab = json.dumps([{"description": "Kambing 10 ekor", "amount": "Rp 75.000.000"}])
    steps: list[tuple[str, str, list[str]]] = [
        (
            "submit_proposal",
            pokmas,
            [
                "--set",
                "group_name=Kelompok Ternak Maju",
                "--set",
                "members_count=10",
                "--set",
                "stage=hulu",
                "--set",
                "commodity=goats",
                "--set",
                f"rab_lines={rab}",
                "--attach",
                f"business_plan={world.doc('rencana-usaha')}",
            ],
        ),
        ("verify", skpd, []),
        ("approve", city, ["--set", "approved_amount=Rp 75.000.000"]),
        ("disburse", city, ["--set", "disbursement_date=2026-05-01"]),
        (
            "report_business",
            pokmas,
            [
                "--set",
                "report_period=2026-S1",
                "--set",
                "capital=Rp 80.000.000",
                "--set",
                "revenue=Rp 6.000.000",
                "--attach",
                f"business_report={world.doc('laporan-s1')}",
            ],
        ),
        (
            "evaluate",
            skpd,
            ["--set", "evaluation_result=growing", "--set", "evaluation_notes=Berkembang"],
        ),
    ]
    for trigger, user, extra in steps:
        case = rukun(env, "case", "fire", cid, trigger, "--as", user, *extra)
    assert case["state"] == "evaluated"
    report = rukun(
        env, "report", "budget", "--program", "rt_mandiri", "--year", "2026", "--level", "kota"
    )
    assert report["regions"][0]["region"] == "63.72"
    assert report["total"]["disbursed"] == 75_000_000


def test_kube_through_the_cli(world: World, env: dict[str, str]) -> None:
    group = world.groups("64.71")[0]  # Balikpapan
    office, dinsos, pendamping = (
        world.user("dinsos_kota", "64.71"),
        world.user("dinsos", "64"),
        world.user("pendamping"),
    )
    case = rukun(env, "case", "start", "kube", "--subject", group, "--year", "2026", "--as", office)
    cid = str(case["id"])
    members_file = world.docs_dir / "anggota.json"
    members_file.write_text(json.dumps(kube_members(world.ancestor(group, "kecamatan"), 1)))
    members = f"@{members_file}"
    steps: list[tuple[str, str, list[str]]] = [
        (
            "propose",
            office,
            [
                "--set",
                "kube_name=KUBE Sejahtera",
                "--set",
                "business_type=grocery",
                "--set",
                f"members={members}",
            ],
        ),
        ("assign_pendamping", dinsos, ["--set", "pendamping_name=Yusuf"]),
        (
            "record_bimtek",
            pendamping,
            ["--set", "bimtek_date=2026-02-20", "--attach", f"bimtek_report={world.doc('bimtek')}"],
        ),
        ("verify", dinsos, ["--set", "assistance_amount=Rp 20.000.000"]),
        ("disburse", dinsos, ["--set", "disbursement_date=2026-03-01"]),
        (
            "record_visit",
            pendamping,
            ["--set", "visits=2", "--attach", f"visit_report={world.doc('visit')}"],
        ),
        (
            "evaluate",
            dinsos,
            ["--set", "evaluation_result=active", "--set", "evaluation_notes=Aktif"],
        ),
    ]
    for trigger, user, extra in steps:
        case = rukun(env, "case", "fire", cid, trigger, "--as", user, *extra)
    assert case["state"] == "evaluated"
    masked = rukun(env, "case", "show", cid)
    assert all("*" in m["nik"] for m in masked["data"]["members"])
    full = rukun(env, "case", "show", cid, "--as", dinsos)
    assert not any("*" in m["nik"] for m in full["data"]["members"])
