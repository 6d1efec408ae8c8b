"""The studio through the service layer: drafts with revisions, publishing with a note,
simulation, impact, and the migration of running cases with its history records."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from engine.errors import Conflict, DefinitionError, Forbidden, InvalidData, NotFound
from engine.runtime import signals
from engine.studio.drafts import DraftConflict
from engine.studio.migration import Selection
from engine.studio.simulation import parse_steps
from tests.builders import PROBEBAYA_FILE, ROOT, Scenario, probebaya_revised

OFFICER = "officer_all"
SAMARINDA_OFFICER = "officer_smd"
BONTANG_OFFICER = "officer_btg"


@pytest.fixture
def studio(scenario: Scenario) -> Scenario:
    """The Probebaya scenario with every program published and three program officers:
    one for every program, one for Samarinda, one for Bontang."""
    app = scenario.app
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        app.definitions.publish(path, "test")
    app.users.add(OFFICER, "program_officer", [])
    app.users.add(SAMARINDA_OFFICER, "program_officer", ["64.72"])
    app.users.add(BONTANG_OFFICER, "program_officer", ["64.74"])
    return scenario


def revised_version(studio: Scenario) -> int:
    """Publish the revised Probebaya through a draft; its version number."""
    draft = studio.app.studio.drafts.create(OFFICER, program="probebaya")
    saved = studio.app.studio.drafts.save(draft["id"], probebaya_revised(), 1, OFFICER)
    return studio.app.studio.drafts.publish(
        saved["id"], OFFICER, "Perwali 2027: sosialisasi"
    ).version


def test_officers_see_only_the_programs_inside_their_grant(studio: Scenario) -> None:
    programs = {
        name: [p["program"] for p in studio.app.studio.programs(name)]
        for name in (OFFICER, SAMARINDA_OFFICER, BONTANG_OFFICER)
    }
    assert programs[OFFICER] == ["kube", "probebaya", "prolita", "rt_mandiri"]
    assert programs[SAMARINDA_OFFICER] == ["probebaya"]  # KUBE runs in three cities
    assert programs[BONTANG_OFFICER] == ["prolita"]
    with pytest.raises(Forbidden, match="outside their grant"):
        studio.app.studio.drafts.create(BONTANG_OFFICER, program="probebaya")
    with pytest.raises(Forbidden, match="program_officer or admin"):
        studio.app.studio.programs(studio.users["city"])


def test_a_draft_cannot_widen_a_program_beyond_the_officers_grant(studio: Scenario) -> None:
    draft = studio.app.studio.drafts.create(SAMARINDA_OFFICER, program="probebaya")
    wider = draft["source"].replace('regions: ["64.72"]', 'regions: ["64.72", "64.74"]')
    with pytest.raises(Forbidden, match=r"64\.74"):
        studio.app.studio.drafts.save(draft["id"], wider, 1, SAMARINDA_OFFICER)
    assert studio.app.studio.drafts.get(draft["id"], OFFICER)["revision"] == 1


def test_a_stale_save_is_refused_and_shows_what_the_other_officer_changed(
    studio: Scenario,
) -> None:
    drafts = studio.app.studio.drafts
    draft = drafts.create(OFFICER, program="probebaya")
    theirs = draft["source"].replace("budget_max: 300000000", "budget_max: 350000000")
    drafts.save(draft["id"], theirs, 1, SAMARINDA_OFFICER)
    mine = draft["source"].replace("budget_min: 100000000", "budget_min: 50000000")
    with pytest.raises(DraftConflict) as refused:
        drafts.save(draft["id"], mine, 1, OFFICER)
    assert refused.value.saved_by == SAMARINDA_OFFICER and refused.value.revision == 2
    assert "-  budget_max: 300000000         # Rp 300 juta per RT per year" in refused.value.changes
    assert "+  budget_max: 350000000         # Rp 300 juta per RT per year" in refused.value.changes
    assert drafts.get(draft["id"], OFFICER)["source"] == theirs


def test_concurrent_saves_of_one_revision_have_exactly_one_winner(studio: Scenario) -> None:
    drafts = studio.app.studio.drafts
    draft = drafts.create(OFFICER, program="probebaya")
    outcomes: list[Any] = []
    barrier = threading.Barrier(4)

    def save(number: int) -> None:
        text = draft["source"].replace("budget_max: 300000000", f"budget_max: 30000000{number}")
        barrier.wait()
        try:
            outcomes.append(drafts.save(draft["id"], text, 1, OFFICER)["revision"])
        except Conflict as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["2", "DraftConflict", "DraftConflict", "DraftConflict"]
    assert drafts.get(draft["id"], OFFICER)["revision"] == 2


def test_an_uploaded_file_names_its_program_and_big_or_binary_text_is_refused(
    studio: Scenario,
) -> None:
    drafts = studio.app.studio.drafts
    text = (ROOT / "workflows" / "prolita.yaml").read_text(encoding="utf-8")
    assert drafts.create(BONTANG_OFFICER, text=text)["program"] == "prolita"
    with pytest.raises(Forbidden):
        drafts.create(SAMARINDA_OFFICER, text=text)
    with pytest.raises(InvalidData, match="names no program"):
        drafts.create(OFFICER, text="title: x\n")
    with pytest.raises(InvalidData, match="at most 512 KiB"):
        drafts.create(OFFICER, text="program: probebaya\n" + "#" * 600_000)
    with pytest.raises(InvalidData, match="NUL"):
        drafts.create(OFFICER, text="program: probebaya\n\x00")


def test_publishing_needs_a_note_and_a_valid_draft_and_keeps_running_cases_on_their_version(
    studio: Scenario,
) -> None:
    running = studio.probebaya_case("submitted")
    drafts = studio.app.studio.drafts
    draft = drafts.create(OFFICER, program="probebaya")
    with pytest.raises(InvalidData, match="identical to version 1"):
        drafts.publish(draft["id"], OFFICER, "nothing")
    broken = drafts.save(
        draft["id"], draft["source"].replace("dest: rembug_held", "dest: x"), 1, OFFICER
    )
    with pytest.raises(DefinitionError, match="unknown state 'x'"):
        drafts.publish(broken["id"], OFFICER, "broken")
    drafts.save(draft["id"], probebaya_revised(), 2, OFFICER)
    with pytest.raises(InvalidData, match="change note"):
        drafts.publish(draft["id"], OFFICER, "  ")
    published: list[dict[str, Any]] = []

    def receive(sender: str, **kwargs: Any) -> None:
        published.append({"program": sender, **kwargs})

    signals.definition_published.connect(receive)
    try:
        result = drafts.publish(draft["id"], OFFICER, "Perwali 2027: sosialisasi", base_revision=3)
    finally:
        signals.definition_published.disconnect(receive)
    assert result.version == 2 and published[0]["version"] == 2
    assert studio.app.cases.show(running["id"])["definition_version"] == 1
    new_case = studio.start()
    assert new_case["definition_version"] == 2
    versions = {
        v["version"]: v for v in studio.app.studio.program("probebaya", OFFICER)["versions"]
    }
    assert versions[1]["status"] == "superseded" and versions[2]["status"] == "published"
    assert versions[2]["change_note"] == "Perwali 2027: sosialisasi"
    assert versions[1]["cases"] == [
        {
            "state": "submitted",
            "label": versions[1]["cases"][0]["label"],
            "final": False,
            "count": 1,
        }
    ]
    with pytest.raises(Conflict, match="published as version 2"):
        drafts.save(draft["id"], probebaya_revised(), 4, OFFICER)


def test_the_definitions_log_records_each_event_and_signals_it(studio: Scenario) -> None:
    seen: list[str] = []

    def receive(sender: str, event: dict[str, Any]) -> None:
        seen.append(f"{sender}:{event['kind']}")

    case = studio.start()
    signals.definition_event.connect(receive)
    try:
        version = revised_version(studio)
        studio.app.studio.migrate("probebaya", version, OFFICER, Selection(case_ids=(case["id"],)))
    finally:
        signals.definition_event.disconnect(receive)
    expected = ["draft_created", "draft_saved", "published", "migrated"]
    assert seen == [f"probebaya:{kind}" for kind in expected]
    log = studio.app.studio.program("probebaya", OFFICER)["events"]
    assert [e["kind"] for e in log][:4] == list(reversed(expected))
    assert log[0]["details"]["cases"] == [case["id"]]


def test_the_definitions_log_is_append_only(studio: Scenario, owner_engine: Engine) -> None:
    revised_version(studio)
    from sqlalchemy import text

    with pytest.raises(Exception, match="append-only"), owner_engine.begin() as connection:
        connection.execute(text("UPDATE definition_events SET actor = 'someone'"))
    with pytest.raises(Exception, match="append-only"), owner_engine.begin() as connection:
        connection.execute(text("DELETE FROM draft_revisions"))


# ------------------------------------------------------------------ simulation and impact

STEPS = [
    {"trigger": "hold_sosialisasi", "role": "ketua_rt"},
    {
        "trigger": "record_rembug",
        "role": "ketua_rt",
        "set": {"rembug_date": "2026-01-15", "households_total": 40, "attendees": 27},
        "attach": ["minutes", "attendance_list"],
    },
]


def test_a_path_is_tried_against_the_draft_and_nothing_is_stored(studio: Scenario) -> None:
    before = studio.app.cases.list()
    results = studio.app.studio.simulate(probebaya_revised(), studio.rt, parse_steps(STEPS))
    assert [(r["source"], r["dest"], r["ok"]) for r in results] == [
        ("draft", "sosialisasi", True),
        ("sosialisasi", "rembug_held", True),
    ]
    assert {g["guard"]: g["ok"] for g in results[1]["guards"]} == {
        "quorum": True,
        "documents": True,
    }
    assert studio.app.cases.list() == before


def test_a_simulated_refusal_shows_every_guard_and_stops(studio: Scenario) -> None:
    steps = [dict(s) for s in STEPS] + [{"trigger": "submit_proposal", "role": "ketua_rt"}]
    steps[1] = {**steps[1], "set": {**steps[1]["set"], "attendees": 26}, "attach": ["minutes"]}
    results = studio.app.studio.simulate(probebaya_revised(), studio.rt, parse_steps(steps))
    assert len(results) == 2 and not results[1]["ok"]
    guards = {g["guard"]: g for g in results[1]["guards"]}
    assert (
        guards["quorum"]["ok"] is False
        and "at least 27 needed" in guards["quorum"]["message"]["en"]
    )
    assert guards["documents"]["ok"] is False
    # the same step against the published version: a majority is enough there
    published = PROBEBAYA_FILE.read_text(encoding="utf-8")
    old = studio.app.studio.simulate(published, studio.rt, parse_steps([steps[1]]))
    assert {g["guard"]: g["ok"] for g in old[0]["guards"]}["quorum"] is True


def test_a_simulated_step_by_the_wrong_role_or_out_of_place_is_refused(studio: Scenario) -> None:
    wrong_role = studio.app.studio.simulate(
        probebaya_revised(),
        studio.rt,
        parse_steps([{"trigger": "hold_sosialisasi", "role": "city"}]),
    )
    assert (
        wrong_role[0]["error"] == "role 'city' may not fire 'hold_sosialisasi' (it needs ketua_rt)"
    )
    out_of_place = studio.app.studio.simulate(
        probebaya_revised(), studio.rt, parse_steps([{"trigger": "verify", "role": "kelurahan"}])
    )
    assert "cannot be fired in state 'draft'" in out_of_place[0]["error"]
    bontang_rt = next(
        r["code"] for r in studio.app.regions.list(level="rt") if r["code"].startswith("64.74.")
    )
    with pytest.raises(InvalidData, match=r"runs only in 64\.72"):
        studio.app.studio.simulate(probebaya_revised(), bontang_rt, parse_steps(STEPS))
    with pytest.raises(InvalidData, match=r"about a rt; 64\.74 is a kota"):
        studio.app.studio.simulate(probebaya_revised(), "64.74", parse_steps(STEPS))
    with pytest.raises(NotFound):
        studio.app.studio.simulate(probebaya_revised(), "99.99", parse_steps(STEPS))
    with pytest.raises(InvalidData, match="unknown key"):
        parse_steps([{"trigger": "x", "role": "y", "sett": {}}])


def test_impact_lists_the_cases_a_draft_would_strand_with_a_mapping(studio: Scenario) -> None:
    submitted = studio.probebaya_case("submitted")
    drafted = studio.start()
    renamed = probebaya_revised().replace("submitted", "at_kelurahan")
    impact = studio.app.studio.impact(renamed)
    assert impact["running"] == 2
    assert impact["stranded"] == [
        {
            "case_id": submitted["id"],
            "subject": studio.rt,
            "version": 1,
            "state": "submitted",
            "problem": "state 'submitted' no longer exists",
            "proposed": "at_kelurahan",  # where submit_proposal, which led there, leads now
        }
    ]
    assert drafted["id"] not in {c["case_id"] for c in impact["stranded"]}
    assert studio.app.studio.impact(probebaya_revised())["stranded"] == []


# ------------------------------------------------------------------ migration


def test_a_dry_run_says_where_each_case_lands_and_changes_nothing(studio: Scenario) -> None:
    first, second = studio.start(), studio.probebaya_case("submitted")
    version = revised_version(studio)
    before = [studio.app.cases.history(c["id"]) for c in (first, second)]
    plan = studio.app.studio.migrate(
        "probebaya", version, OFFICER, mapping={"draft": "sosialisasi"}, dry_run=True
    )
    assert plan.valid
    assert [(r["case_id"], r["from_state"], r["to_state"]) for r in plan.rows] == [
        (first["id"], "draft", "sosialisasi"),
        (second["id"], "submitted", "submitted"),
    ]
    assert [studio.app.cases.history(c["id"]) for c in (first, second)] == before
    assert studio.app.cases.show(first["id"])["definition_version"] == 1


def test_a_bad_mapping_changes_nothing_for_any_case(studio: Scenario) -> None:
    cases = [studio.start(), studio.probebaya_case("submitted")]
    version = revised_version(studio)
    before = [studio.app.cases.show(c["id"]) for c in cases]
    with pytest.raises(InvalidData, match="has no state 'nowhere'"):
        studio.app.studio.migrate("probebaya", version, OFFICER, mapping={"draft": "nowhere"})
    with pytest.raises(InvalidData, match="no state 'drafty' in any version"):
        studio.app.studio.migrate("probebaya", version, OFFICER, mapping={"drafty": "draft"})
    # a version without 'submitted': the submitted case would be stranded, so nobody moves
    drafts = studio.app.studio.drafts
    draft = drafts.create(OFFICER, program="probebaya", from_version=version)
    drafts.save(draft["id"], draft["source"].replace("submitted", "at_kelurahan"), 1, OFFICER)
    stranding = drafts.publish(draft["id"], OFFICER, "rename").version
    plan = studio.app.studio.migrate("probebaya", stranding, OFFICER, note="try")
    assert not plan.valid
    assert [r["ok"] for r in plan.rows] == [True, False]
    assert "has no state 'submitted'" in plan.rows[1]["error"]
    assert [studio.app.cases.show(c["id"]) for c in cases] == before


def test_a_migration_to_the_version_a_case_already_has_is_refused(studio: Scenario) -> None:
    case = studio.start()
    plan = studio.app.studio.migrate("probebaya", 1, OFFICER, Selection(case_ids=(case["id"],)))
    assert (
        not plan.valid and plan.rows[0]["error"] == f"case {case['id']} already runs on version 1"
    )
    with pytest.raises(NotFound, match="no version 9"):
        studio.app.studio.migrate("probebaya", 9, OFFICER)


def test_a_migrated_case_records_it_verifies_and_fires_a_trigger_of_the_new_version(
    studio: Scenario,
) -> None:
    case = studio.start()
    version = revised_version(studio)
    with pytest.raises(NotFound, match="no trigger 'hold_sosialisasi'"):
        studio.fire(case["id"], "hold_sosialisasi", "ketua_rt")
    plan = studio.app.studio.migrate(
        "probebaya", version, OFFICER, Selection(case_ids=(case["id"],)), note="Perwali 2027"
    )
    assert plan.valid and plan.rows[0]["ok"]
    record = studio.app.cases.history(case["id"])[-1]
    assert record["kind"] == "migration" and record["actor"] == OFFICER
    assert record["role"] == "program_officer"
    assert (record["source"], record["dest"], record["definition_version"]) == ("draft", "draft", 2)
    assert record["payload"] == {
        "from_version": 1,
        "to_version": 2,
        "mapping": {},
        "note": "Perwali 2027",
    }
    assert studio.app.cases.verify(case["id"]) == []
    moved = studio.fire(case["id"], "hold_sosialisasi", "ketua_rt")
    assert moved["state"] == "sosialisasi" and moved["definition_version"] == 2
    assert studio.app.cases.verify(case["id"]) == []


def test_only_officers_whose_grant_covers_the_program_migrate(studio: Scenario) -> None:
    case = studio.start()
    version = revised_version(studio)
    for name in (BONTANG_OFFICER, studio.users["city"]):
        with pytest.raises(Forbidden):
            studio.app.studio.migrate("probebaya", version, name)
    assert studio.app.cases.show(case["id"])["definition_version"] == 1
    plan = studio.app.studio.migrate("probebaya", version, SAMARINDA_OFFICER)
    assert plan.valid and studio.app.cases.show(case["id"])["definition_version"] == 2


def test_a_scoped_officer_works_on_the_draft_of_a_new_program_inside_their_grant(
    studio: Scenario,
) -> None:
    text = (ROOT / "workflows" / "prolita.yaml").read_text(encoding="utf-8")
    text = text.replace("program: prolita", "program: prolita_plus")
    draft = studio.app.studio.drafts.create(BONTANG_OFFICER, text=text)
    assert studio.app.studio.drafts.get(draft["id"], BONTANG_OFFICER)["program"] == "prolita_plus"
    with pytest.raises(Forbidden):
        studio.app.studio.drafts.get(draft["id"], SAMARINDA_OFFICER)
    published = studio.app.studio.drafts.publish(draft["id"], BONTANG_OFFICER, "Prolita plus")
    assert published.program == "prolita_plus" and published.version == 1


def test_a_region_filter_moves_the_running_cases_and_leaves_closed_ones_alone(
    studio: Scenario,
) -> None:
    running = studio.start()
    closed = studio.start()
    studio.fire(closed["id"], "cancel", "city", {"cancel_reason": "double entry"})
    version = revised_version(studio)
    kelurahan = studio.rt.rsplit(".", 2)[0]
    plan = studio.app.studio.migrate("probebaya", version, OFFICER, Selection(region=kelurahan))
    assert plan.valid and [r["case_id"] for r in plan.rows] == [running["id"]]
    assert studio.app.cases.show(closed["id"])["definition_version"] == 1
    named = studio.app.studio.migrate(
        "probebaya", version, OFFICER, Selection(case_ids=(closed["id"],))
    )
    assert not named.valid and "is closed" in named.rows[0]["error"]
