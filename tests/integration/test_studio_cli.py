"""The studio through `rukun`: validate --strict, and `workflow diff | simulate | impact |
publish --as | migrate` — their JSON shapes, output lines and exit codes, and that a refusal
changes nothing. The features themselves are tested through the service in test_studio.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.builders import ROOT, Scenario, probebaya_revised
from tests.integration.test_cli import Cli, rembug_args

OFFICER = "officer"
BONTANG_OFFICER = "officer_btg"
NOTE = "Perwali 2027: sosialisasi"
LINT = ROOT / "tests" / "data" / "lint"
KUBE = ROOT / "workflows" / "kube.yaml"

#: The revised Probebaya's new start: a briefing, then a rembug that meets the 2/3 quorum.
STEPS: list[dict[str, Any]] = [
    {"trigger": "hold_sosialisasi", "role": "ketua_rt"},
    {
        "trigger": "record_rembug",
        "role": "ketua_rt",
        "set": {"rembug_date": "2026-01-15", "households_total": 40, "attendees": 27},
        "attach": ["minutes", "attendance_list"],
    },
]


@pytest.fixture
def cli(env: dict[str, str]) -> Cli:
    return Cli(env)


@pytest.fixture
def studio(scenario: Scenario, cli: Cli) -> Scenario:
    """The Probebaya scenario with a program officer for every region and one for Bontang
    only (Probebaya runs in Samarinda)."""
    scenario.app.users.add(OFFICER, "program_officer", [])
    scenario.app.users.add(BONTANG_OFFICER, "program_officer", ["64.74"])
    return scenario


@pytest.fixture
def revised(tmp_path: Path) -> Path:
    path = tmp_path / "revised.yaml"
    path.write_text(probebaya_revised(), encoding="utf-8")
    return path


@pytest.fixture
def renamed(tmp_path: Path) -> Path:
    """The revised Probebaya with its state 'submitted' renamed 'at_kelurahan'."""
    path = tmp_path / "renamed.yaml"
    path.write_text(probebaya_revised().replace("submitted", "at_kelurahan"), encoding="utf-8")
    return path


def write_steps(tmp_path: Path, steps: list[dict[str, Any]], name: str = "steps.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(steps, sort_keys=False), encoding="utf-8")
    return path


def publish(cli: Cli, path: Path, note: str = NOTE) -> dict[str, Any]:
    result: dict[str, Any] = cli.json(
        "workflow", "publish", str(path), "--as", OFFICER, "--note", note
    )
    return result


def snapshot(cli: Cli, *case_ids: int) -> list[tuple[Any, Any]]:
    """What `case show` and `case history` print for each case: to compare before/after."""
    return [
        (cli.json("case", "show", str(i)), cli.json("case", "history", str(i))) for i in case_ids
    ]


def migrate(*args: str) -> list[str]:
    return ["workflow", "migrate", "probebaya", *args]


# ---------------------------------------------------------------- validate --strict


def test_strict_validation_prints_warning_lines_at_the_escalation_and_exits_1(
    revised: Path,
) -> None:
    cli = Cli({})  # no database needed
    assert cli("validate", str(revised)).stdout == f"OK {revised}\n"  # valid without --strict
    lines = cli("validate", "--strict", str(revised), code=1).stdout.splitlines()
    assert lines, "expected warning lines"
    source = revised.read_text(encoding="utf-8").splitlines()
    pattern = re.compile(
        rf"^{re.escape(str(revised))}:(\d+):(\d+): warning: state '\w+' escalates to '(\w+)'"
    )
    for line in lines:
        found = pattern.match(line)
        assert found, line
        row, col, role = found.groups()
        assert source[int(row) - 1][int(col) - 1 :].startswith(role), line
    assert "state 'rembug_held' escalates to 'kelurahan'" in "\n".join(lines)
    assert not any(line.startswith("OK ") for line in lines)


def test_strict_validation_of_a_lint_fixture_and_a_clean_workflow() -> None:
    cli = Cli({})
    idle = LINT / "deadline_escalates_to_idle_role.yaml"
    assert cli("validate", "--strict", str(KUBE)).stdout == f"OK {KUBE}\n"
    result = cli("validate", "--strict", str(KUBE), str(idle), code=1)
    assert result.stdout.splitlines() == [
        f"OK {KUBE}",
        f"{idle}:8:39: warning: state 'submitted' escalates to 'kecamatan', which cannot act in"
        " 'submitted'; escalate to a role of a transition leaving it (kelurahan)",
    ]
    clean, flagged = cli.json("validate", "--strict", str(KUBE), str(idle), code=1)
    assert clean == {"path": str(KUBE), "ok": True, "problems": [], "warnings": []}
    assert (flagged["ok"], flagged["problems"]) == (False, [])
    assert flagged["warnings"] == [
        {
            "path": str(idle),
            "line": 8,
            "col": 39,
            "message": flagged["warnings"][0]["message"],
        }
    ]
    # an invalid file reports its problems, not warnings
    bad = ROOT / "tests" / "data" / "bad" / "unknown_role.yaml"
    [report] = cli.json("validate", "--strict", str(bad), code=1)
    assert report["ok"] is False and report["problems"][0]["line"] == 24


# ---------------------------------------------------------------- diff


def test_diff_against_a_file_shows_the_new_state_transition_and_quorum(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    diff = cli.json("workflow", "diff", "probebaya", "--file", str(revised))
    assert set(diff) == {"added", "removed", "changed"}
    added = {(i["kind"], i["name"]): i for i in diff["added"]}
    changed = {(i["kind"], i["name"]): i for i in diff["changed"]}
    assert set(added) == {("state", "sosialisasi"), ("transition", "hold_sosialisasi")}
    assert added["state", "sosialisasi"]["final"] is False
    hold = added["transition", "hold_sosialisasi"]
    assert (hold["sources"], hold["dest"], hold["roles"]) == (
        ["draft"],
        "sosialisasi",
        ["ketua_rt"],
    )
    assert diff["removed"] == []
    quorum = changed["param", "quorum_fraction"]
    assert (quorum["from"], quorum["to"], quorum["scope"]) == (0.5, 0.6667, "params")
    rembug = changed["transition", "record_rembug"]
    assert (rembug["attribute"], rembug["from"], rembug["to"]) == (
        "sources",
        ["draft"],
        ["sosialisasi"],
    )
    assert cli("workflow", "diff", "probebaya", "--file", str(revised)).stdout.splitlines() == [
        f"probebaya: version 1 -> {revised}",
        "+ state sosialisasi",
        "+ transition hold_sosialisasi",
        '~ transition record_rembug sources: ["draft"] -> ["sosialisasi"]',
        "~ param quorum_fraction: 0.5 -> 0.6667",
    ]
    text = cli("workflow", "diff", "probebaya", "--file", str(revised), "--text").stdout
    assert "\n--- probebaya v1\n" in text and f"\n+++ {revised}\n" in text
    assert "\n-  quorum_fraction: 0.5 " in text and "\n+  quorum_fraction: 0.6667 " in text
    assert "\n+  - name: sosialisasi\n" in text


def test_diff_between_stored_versions_and_its_errors(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    from_file = cli.json("workflow", "diff", "probebaya", "--file", str(revised))
    publish(cli, revised)
    assert cli.json("workflow", "diff", "probebaya", "--from", "1", "--to", "2") == from_file
    assert cli.json("workflow", "diff", "probebaya", "--from", "1") == from_file  # to the newest
    assert cli("workflow", "diff", "probebaya").stdout.splitlines() == [
        "probebaya: version 2 -> probebaya v2",  # the published version against the newest
        "no changes",
    ]
    usage = cli("workflow", "diff", "probebaya", "--to", "2", "--file", str(revised), code=2)
    assert "give --to or --file, not both" in usage.stderr
    for args in (["--to", "9"], ["--from", "9"]):
        [line] = cli("workflow", "diff", "probebaya", *args, code=5).stderr.splitlines()
        assert line == "error: no version 9 of program 'probebaya'"
    [line] = cli("workflow", "diff", "nope", code=5).stderr.splitlines()
    assert line.startswith("error: ") and "'nope'" in line
    broken = revised.with_name("broken.yaml")
    broken.write_text(probebaya_revised().replace("dest: sosialisasi", "dest: x"), "utf-8")
    result = cli("workflow", "diff", "probebaya", "--file", str(broken), code=1)
    assert re.search(rf"^{re.escape(str(broken))}:\d+:\d+: unknown state 'x'", result.stderr, re.M)


# ---------------------------------------------------------------- simulate


def test_simulating_a_passing_path_exits_0_and_stores_nothing(
    studio: Scenario, cli: Cli, revised: Path, tmp_path: Path
) -> None:
    steps = write_steps(tmp_path, STEPS)
    before = cli.json("case", "list")
    args = ["workflow", "simulate", str(revised), "--subject", studio.rt, "--steps", str(steps)]
    results = cli.json(*args)
    assert [set(r) for r in results] == [
        {"step", "trigger", "role", "source", "dest", "ok", "guards", "error", "error_text"}
    ] * 2
    assert [(r["step"], r["source"], r["dest"], r["ok"], r["error"]) for r in results] == [
        (1, "draft", "sosialisasi", True, None),
        (2, "sosialisasi", "rembug_held", True, None),
    ]
    assert {g["guard"]: g["ok"] for g in results[1]["guards"]} == {
        "quorum": True,
        "documents": True,
    }
    assert cli(*args).stdout.splitlines() == [
        " 1. ok      hold_sosialisasi as ketua_rt: draft -> sosialisasi",
        " 2. ok      record_rembug as ketua_rt: sosialisasi -> rembug_held",
        "      quorum: held",
        "      documents: held",
    ]
    assert cli.json("case", "list") == before
    # the published version has no briefing: the same path stops at its first step
    published = str(ROOT / "workflows" / "probebaya.yaml")
    [refused] = cli.json(
        "workflow", "simulate", published, "--subject", studio.rt, "--steps", str(steps), code=1
    )
    assert refused["ok"] is False and refused["dest"] is None
    assert "'hold_sosialisasi' cannot be fired in state 'draft'" in refused["error"]


def test_simulating_a_rembug_below_two_thirds_exits_1_at_the_quorum_guard(
    studio: Scenario, cli: Cli, revised: Path, tmp_path: Path
) -> None:
    short = [dict(s) for s in STEPS] + [{"trigger": "submit_proposal", "role": "ketua_rt"}]
    short[1] = {**short[1], "set": {**short[1]["set"], "attendees": 26}}
    steps = write_steps(tmp_path, short)
    args = ["workflow", "simulate", str(revised), "--subject", studio.rt, "--steps", str(steps)]
    results = cli.json(*args, code=1)
    assert [r["ok"] for r in results] == [True, False]  # the third step is never tried
    guards = {g["guard"]: g for g in results[1]["guards"]}
    assert guards["quorum"]["ok"] is False and guards["documents"]["ok"] is True
    assert guards["quorum"]["args"]["resolved"] == {"present": 26, "total": 40, "needed": 27}
    assert "26 of 40 attended, at least 27 needed" in guards["quorum"]["message"]["en"]
    assert results[1]["error"].startswith("quorum: ")
    lines = cli(*args, code=1).stdout.splitlines()
    assert lines[1] == " 2. REFUSED record_rembug as ketua_rt: sosialisasi -> rembug_held"
    assert lines[2].startswith("      quorum: FAILED — ") and lines[2].endswith("27 needed")
    assert "      documents: held" in lines
    assert len(cli.json("case", "list")) == 0


def test_simulate_refuses_a_bad_steps_file_or_subject_with_one_error_line(
    studio: Scenario, cli: Cli, revised: Path, tmp_path: Path
) -> None:
    def simulate(subject: str, steps: Path, code: int) -> str:
        args = ["workflow", "simulate", str(revised), "--subject", subject, "--steps", str(steps)]
        result = cli(*args, code=code)
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ")
        return line

    good = write_steps(tmp_path, STEPS)
    typo = write_steps(tmp_path, [{"trigger": "x", "role": "y", "sett": {}}], "typo.yaml")
    assert "step 1: unknown key sett" in simulate(studio.rt, typo, 1)
    assert "cannot read steps" in simulate(studio.rt, tmp_path / "missing.yaml", 1)
    assert "about a rt; 64.74 is a kota" in simulate("64.74", good, 1)
    assert simulate("99.99", good, 5) == "error: no region 99.99"


# ---------------------------------------------------------------- impact


def test_impact_lists_the_stranded_submitted_case_with_its_proposed_state(
    studio: Scenario, cli: Cli, revised: Path, renamed: Path
) -> None:
    submitted = studio.probebaya_case("submitted")
    studio.start()
    assert cli.json("workflow", "impact", str(renamed)) == {
        "program": "probebaya",
        "running": 2,
        "stranded": [
            {
                "case_id": submitted["id"],
                "subject": studio.rt,
                "version": 1,
                "state": "submitted",
                "problem": "state 'submitted' no longer exists",
                "proposed": "at_kelurahan",
            }
        ],
        "mapping": {"submitted": "at_kelurahan"},
    }
    assert cli("workflow", "impact", str(renamed)).stdout.splitlines() == [
        "probebaya: 2 running, 1 stranded",
        f"  case {submitted['id']} v1 submitted: state 'submitted' no longer exists;"
        " map to at_kelurahan",
    ]
    clean = cli.json("workflow", "impact", str(revised))
    assert (clean["running"], clean["stranded"], clean["mapping"]) == (2, [], {})


# ---------------------------------------------------------------- publish --as


def test_publishing_as_an_officer_keeps_the_note_and_an_officer_elsewhere_is_forbidden(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    running = studio.probebaya_case("submitted")
    before = cli.json("workflow", "list")
    for user in (BONTANG_OFFICER, studio.users["city"]):
        result = cli("workflow", "publish", str(revised), "--as", user, "--note", NOTE, code=3)
        [line] = result.stderr.splitlines()
        assert line.startswith(f"error: user '{user}' may not ")
    assert (
        "outside their grant"
        in cli("workflow", "publish", str(revised), "--as", BONTANG_OFFICER, code=3).stderr
    )
    assert cli.json("workflow", "list") == before
    result = cli("workflow", "publish", str(revised), "--as", OFFICER, "--note", NOTE)
    assert re.fullmatch(r"published probebaya version 2 \([0-9a-f]{12}\)\n", result.stdout)
    versions = {v["version"]: v for v in cli.json("workflow", "list")}
    assert (versions[1]["status"], versions[2]["status"]) == ("superseded", "published")
    assert (versions[2]["published_by"], versions[2]["change_note"]) == (OFFICER, NOTE)
    again = publish(cli, revised, "again")
    assert (again["version"], again["created"]) == (2, False)
    assert cli.json("case", "show", str(running["id"]))["definition_version"] == 1
    assert cli.json("workflow", "show", "probebaya")["version"] == 2


# ---------------------------------------------------------------- migrate


def test_a_dry_run_lists_where_each_case_would_land_and_changes_nothing(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    drafted, submitted = studio.start(), studio.probebaya_case("submitted")
    publish(cli, revised)
    ids = [str(drafted["id"]), str(submitted["id"])]
    before = snapshot(cli, *map(int, ids))
    args = migrate("--to", "2", "--case", ids[0], "--case", ids[1], "--map", "draft=sosialisasi")
    rows = cli.json(*args, "--dry-run", "--as", OFFICER)
    assert rows == [
        {
            "case_id": drafted["id"],
            "ok": True,
            "from_version": 1,
            "to_version": 2,
            "from_state": "draft",
            "to_state": "sosialisasi",
            "error": None,
        },
        {
            "case_id": submitted["id"],
            "ok": True,
            "from_version": 1,
            "to_version": 2,
            "from_state": "submitted",
            "to_state": "submitted",
            "error": None,
        },
    ]
    assert cli(*args, "--dry-run", "--as", OFFICER).stdout.splitlines() == [
        f"case {drafted['id']}: would move v1 draft -> v2 sosialisasi",
        f"case {submitted['id']}: would move v1 submitted -> v2 submitted",
    ]
    assert snapshot(cli, *map(int, ids)) == before


def test_a_migration_records_itself_verifies_and_the_new_version_s_triggers_fire(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    briefed, submitted, waiting = (
        studio.start(),
        studio.probebaya_case("submitted"),
        studio.start(),
    )
    publish(cli, revised)
    rt = studio.users["ketua_rt"]
    missing = cli("case", "fire", str(waiting["id"]), "hold_sosialisasi", "--as", rt, code=5)
    assert "hold_sosialisasi" in missing.stderr  # version 1 has no such trigger
    rows = cli.json(
        *migrate("--to", "2", "--case", str(briefed["id"]), "--case", str(submitted["id"])),
        "--map",
        "draft=sosialisasi",
        "--note",
        "Perwali 2027",
        "--as",
        OFFICER,
    )
    assert [(r["case_id"], r["ok"], r["to_state"]) for r in rows] == [
        (briefed["id"], True, "sosialisasi"),
        (submitted["id"], True, "submitted"),
    ]
    moved = cli(*migrate("--to", "2", "--case", str(waiting["id"]), "--as", OFFICER))
    assert moved.stdout == f"case {waiting['id']}: moved v1 draft -> v2 draft\n"

    record = cli.json("case", "history", str(briefed["id"]))[-1]
    assert (record["kind"], record["trigger"], record["actor"], record["role"]) == (
        "migration",
        "migrate",
        OFFICER,
        "program_officer",
    )
    assert (record["source"], record["dest"], record["definition_version"]) == (
        "draft",
        "sosialisasi",
        2,
    )
    assert record["payload"] == {
        "from_version": 1,
        "to_version": 2,
        "mapping": {"draft": "sosialisasi"},
        "note": "Perwali 2027",
    }
    last = cli.json("case", "history", str(waiting["id"]))[-1]
    assert (last["kind"], last["payload"]["mapping"], last["payload"]["note"]) == (
        "migration",
        {},
        "",
    )
    human = cli("case", "history", str(briefed["id"])).stdout.splitlines()
    migration_line = (
        r"#2 \S+ migrate: draft -> sosialisasi by officer \(program_officer\); "
        r"definition v1 -> v2 \("
    )
    assert re.match(migration_line, human[1]), human
    for case in (briefed, submitted, waiting):
        verified = cli("case", "verify", str(case["id"]))
        assert verified.stdout == f"case {case['id']}: history chain and rows intact\n"
        shown = cli.json("case", "show", str(case["id"]))
        assert shown["definition_version"] == 2

    fired = cli.json("case", "fire", str(waiting["id"]), "hold_sosialisasi", "--as", rt)
    assert (fired["state"], fired["definition_version"]) == ("sosialisasi", 2)
    # the briefed case now needs two thirds at its rembug
    refused = cli(*rembug_args(studio, briefed["id"], attendees="26"), code=1)
    assert "at least 27 needed" in refused.stderr
    held = cli.json(*rembug_args(studio, briefed["id"], attendees="27"))
    assert held["state"] == "rembug_held"
    cli("case", "verify", str(briefed["id"]))


def test_a_mapping_to_an_unknown_state_exits_1_naming_it_and_changes_nothing(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    cases = [studio.start()["id"], studio.probebaya_case("submitted")["id"]]
    publish(cli, revised)
    before = snapshot(cli, *cases)
    for pair, name in (("draft=nowhere", "nowhere"), ("drafty=draft", "drafty")):
        for extra in ([], ["--dry-run"]):
            result = cli(*migrate("--to", "2", "--map", pair, *extra, "--as", OFFICER), code=1)
            [line] = result.stderr.splitlines()
            assert line.startswith("error: mapping: ") and f"'{name}'" in line
            assert result.stdout == ""
    error = cli.json(*migrate("--to", "2", "--map", "draft=nowhere", "--as", OFFICER), code=1)
    assert error["error"]["kind"] == "invalid_data"
    assert "has no state 'nowhere'" in error["error"]["message"]
    cli(*migrate("--to", "2", "--map", "draft", "--as", OFFICER), code=2)
    assert snapshot(cli, *cases) == before


def test_a_migration_that_would_strand_a_case_exits_1_and_changes_nothing(
    studio: Scenario, cli: Cli, revised: Path, renamed: Path
) -> None:
    drafted, submitted = studio.start()["id"], studio.probebaya_case("submitted")["id"]
    publish(cli, revised)
    publish(cli, renamed, "rename submitted")  # version 3 has no state 'submitted'
    before = snapshot(cli, drafted, submitted)
    for extra in ([], ["--dry-run"]):
        lines = cli(*migrate("--to", "3", *extra, "--as", OFFICER), code=1).stdout.splitlines()
        assert len(lines) == 3
        assert lines[0].startswith(f"case {drafted}: ")
        assert lines[1].startswith(
            f"case {submitted}: version 3 has no state 'submitted': map it to one of "
        )
        assert "at_kelurahan" in lines[1]
        assert lines[2] == "nothing was changed"
    rows = cli.json(*migrate("--to", "3", "--as", OFFICER), code=1)
    assert [(r["case_id"], r["ok"], r["to_state"]) for r in rows] == [
        (drafted, True, "draft"),
        (submitted, False, None),
    ]
    assert snapshot(cli, drafted, submitted) == before
    mapping = ["--map", "submitted=at_kelurahan"]
    mapped = cli(*migrate("--to", "3", *mapping, "--dry-run", "--as", OFFICER))
    assert mapped.stdout.splitlines()[1] == (
        f"case {submitted}: would move v1 submitted -> v3 at_kelurahan"
    )
    assert snapshot(cli, drafted, submitted) == before


def test_a_migration_to_the_version_a_case_has_or_to_no_version_is_refused(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    case = studio.start()["id"]
    publish(cli, revised)
    before = snapshot(cli, case)
    same = cli(*migrate("--to", "1", "--case", str(case), "--as", OFFICER), code=1)
    assert "already runs on version 1" in same.stdout
    assert same.stdout.splitlines()[-1] == "nothing was changed"
    [row] = cli.json(*migrate("--to", "1", "--case", str(case), "--as", OFFICER), code=1)
    assert (row["ok"], row["error"]) == (False, f"case {case} already runs on version 1")
    for args, line in (
        (["--to", "99"], "error: probebaya has no version 99"),
        (["--to", "2", "--from", "7"], "error: probebaya has no version 7"),
        (["--to", "2", "--case", "4242"], "error: no probebaya case 4242"),
    ):
        result = cli(*migrate(*args, "--as", OFFICER), code=5)
        assert result.stderr.splitlines() == [line]
    assert snapshot(cli, case) == before
    # once moved, the case is on version 2: asking again is refused the same way
    cli(*migrate("--to", "2", "--case", str(case), "--as", OFFICER))
    again = cli(*migrate("--to", "2", "--case", str(case), "--as", OFFICER), code=1)
    assert "already runs on version 2" in again.stdout


def test_only_an_officer_whose_grant_covers_the_program_migrates(
    studio: Scenario, cli: Cli, revised: Path
) -> None:
    case = studio.start()["id"]
    publish(cli, revised)
    before = snapshot(cli, case)
    for user, reason in (
        (studio.users["city"], "it needs role program_officer or admin"),
        (BONTANG_OFFICER, "outside their grant"),
    ):
        for extra in ([], ["--dry-run"]):
            result = cli(*migrate("--to", "2", *extra, "--as", user), code=3)
            [line] = result.stderr.splitlines()
            assert line.startswith(f"error: user '{user}' may not ") and reason in line
    cli(*migrate("--to", "2", "--as", "nobody"), code=5)
    assert snapshot(cli, case) == before


# ---------------------------------------------------------------- the real executable


@pytest.mark.parametrize("command", ["simulate", "migrate"])
def test_the_installed_rukun_command_runs_the_studio_commands(
    studio: Scenario, env: dict[str, str], revised: Path, tmp_path: Path, command: str
) -> None:
    """In a fresh process nothing has imported engine.runtime before the command's own
    imports of engine.studio (under pytest, conftest already has)."""
    case = studio.start()
    studio.app.definitions.publish(revised, "test")
    steps = write_steps(tmp_path, STEPS)
    args = {
        "simulate": ["workflow", "simulate", str(revised), "--subject", studio.rt],
        "migrate": ["workflow", "migrate", "probebaya", "--to", "2", "--dry-run"],
    }[command]
    args += ["--steps", str(steps)] if command == "simulate" else ["--as", OFFICER]
    executable = Path(sys.executable).with_name("rukun")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RUKUN_")} | env
    run = subprocess.run(
        [str(executable), *args, "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, (
        f"BUG: `rukun {' '.join(args)}` fails in a fresh process (exit {run.returncode}): "
        f"{run.stderr.strip()}"
    )
    assert "Traceback" not in run.stderr
    if command == "migrate":
        assert [row["case_id"] for row in json.loads(run.stdout)] == [case["id"]]
