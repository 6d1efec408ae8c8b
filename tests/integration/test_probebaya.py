"""Probebaya scenarios through the runtime: the happy path, the loops, rejections,
cancellation, and every guard refusing — with the case and its history left untouched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.errors import Conflict, InvalidData, NotFound, TransitionRefused
from engine.runtime import signals
from tests.builders import PROBEBAYA_PATH, PROBEBAYA_STATES, ROOT, Scenario


@contextmanager
def unchanged(scenario: Scenario, case_id: int) -> Iterator[None]:
    """Asserts the case (state, version, data) and its history are the same afterwards."""
    before = (scenario.app.cases.show(case_id), scenario.app.cases.history(case_id))
    yield
    after = (scenario.app.cases.show(case_id), scenario.app.cases.history(case_id))
    assert after == before


def refused(
    scenario: Scenario,
    case: dict[str, Any],
    trigger: str,
    role: str,
    values: dict[str, str],
    documents: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Fire and expect a guard refusal; return the failing guards' results."""
    with unchanged(scenario, case["id"]), pytest.raises(TransitionRefused) as caught:
        scenario.fire(case["id"], trigger, role, values, documents)
    return [g for g in caught.value.guards if g["ok"] is False]


def with_values(
    scenario: Scenario, trigger: str, **changes: str
) -> tuple[str, dict[str, str], tuple[str, ...]]:
    role, values, documents = scenario.step(trigger)
    values.update(changes)
    return role, values, documents


# ---------------------------------------------------------------- paths


def test_happy_path_visits_every_stage_and_closes(scenario: Scenario) -> None:
    case = scenario.probebaya_case("closed")
    history = scenario.app.cases.history(case["id"])
    assert [r["dest"] for r in history] == ["draft", *PROBEBAYA_STATES]
    ledger = case["ledger"]
    assert ledger["totals"] == {
        "budget": 0,
        "approved": 200_000_000,
        "disbursed": 200_000_000,
        "tranches": 2,
        "reported": 200_000_000,
        "spent": 200_000_000,
        "reports_accepted": 2,
        "reports_pending": 0,
    }
    assert [(t["tranche"], t["amount"], t["lpj"]["status"]) for t in ledger["tranches"]] == [
        (1, 120_000_000, "accepted"),
        (2, 80_000_000, "accepted"),
    ]
    assert case["data"]["approved_amount"] == 200_000_000
    assert [r["role"] for r in history][1:4] == ["ketua_rt", "ketua_rt", "kelurahan"]


def test_revision_loop_returns_to_the_rt_and_comes_back(scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    case = scenario.fire(
        case["id"], "return_for_revision", "kelurahan", {"revision_notes": "RAB belum rinci"}
    )
    assert case["state"] == "revision_requested"
    role, values, documents = with_values(scenario, "submit_proposal", budget="Rp 180.000.000")
    case = scenario.fire(case["id"], "resubmit", role, values, documents)
    assert case["state"] == "submitted"
    assert case["data"]["budget"] == 180_000_000
    case = scenario.fire(case["id"], "verify", "kelurahan")
    triggers = [r["trigger"] for r in scenario.app.cases.history(case["id"])]
    assert triggers[-4:] == ["submit_proposal", "return_for_revision", "resubmit", "verify"]


def test_return_for_revision_needs_notes(scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    with unchanged(scenario, case["id"]), pytest.raises(InvalidData, match="revision_notes"):
        scenario.fire(case["id"], "return_for_revision", "kelurahan", {"revision_notes": ""})


@pytest.mark.parametrize(
    ("state", "trigger", "role"),
    [
        ("verified", "reject_kecamatan", "kecamatan"),
        ("kecamatan_approved", "reject_city", "city"),
    ],
)
def test_rejection_is_final(scenario: Scenario, state: str, trigger: str, role: str) -> None:
    case = scenario.probebaya_case(state)
    case = scenario.fire(case["id"], trigger, role, {"rejection_reason": "Tidak sesuai prioritas"})
    assert case["state"] == "rejected"
    assert case["final"] is True
    assert scenario.app.cases.triggers(case["id"], scenario.users["city"]) == []
    with pytest.raises(Conflict):
        scenario.fire(case["id"], "cancel", "city", {"cancel_reason": "x"})


@pytest.mark.parametrize("state", ["draft", "submitted", "implementing"])
def test_city_may_cancel_from_any_open_state(scenario: Scenario, state: str) -> None:
    case = scenario.probebaya_case(state)
    case = scenario.fire(case["id"], "cancel", "city", {"cancel_reason": "RT dimekarkan"})
    assert case["state"] == "cancelled"
    assert scenario.app.cases.history(case["id"])[-1]["source"] == state


# ---------------------------------------------------------------- each guard refusing


def test_quorum_below_majority_is_refused_and_majority_passes(scenario: Scenario) -> None:
    case = scenario.start()
    role, values, documents = with_values(
        scenario, "record_rembug", households_total="40", attendees="20"
    )
    [failed] = refused(scenario, case, "record_rembug", role, values, documents)
    assert failed["guard"] == "quorum"
    assert failed["message"]["en"] == (
        "The rembug warga needs a majority of households: 20 of 40 attended, at least 21 needed"
    )
    values["attendees"] = "21"
    assert (
        scenario.fire(case["id"], "record_rembug", role, values, documents)["state"]
        == "rembug_held"
    )


def test_rembug_without_minutes_is_refused(scenario: Scenario) -> None:
    case = scenario.start()
    role, values, _ = scenario.step("record_rembug")
    [failed] = refused(scenario, case, "record_rembug", role, values, ("attendance_list",))
    assert failed["guard"] == "documents"
    assert "Minutes (berita acara) of the rembug warga" in failed["message"]["en"]


@pytest.mark.parametrize("budget", ["Rp 99.999.999", "Rp 300.000.001"])
def test_budget_outside_100_to_300_juta_is_refused(scenario: Scenario, budget: str) -> None:
    case = scenario.probebaya_case("rembug_held")
    role, values, documents = with_values(scenario, "submit_proposal", budget=budget)
    [failed] = refused(scenario, case, "submit_proposal", role, values, documents)
    assert failed["guard"] == "amount_between"
    assert failed["message"]["en"] == f"The amount requested must be Rp 100–300 juta (is {budget})"


@pytest.mark.parametrize("budget", ["100000000", "300.000.000", "Rp 300.000.000"])
def test_budget_at_the_bounds_in_any_money_notation_passes(scenario: Scenario, budget: str) -> None:
    case = scenario.probebaya_case("rembug_held")
    role, values, documents = with_values(scenario, "submit_proposal", budget=budget)
    assert (
        scenario.fire(case["id"], "submit_proposal", role, values, documents)["state"]
        == "submitted"
    )


def test_proposal_without_rab_is_refused(scenario: Scenario) -> None:
    case = scenario.probebaya_case("rembug_held")
    role, values, _ = scenario.step("submit_proposal")
    [failed] = refused(scenario, case, "submit_proposal", role, values)
    assert failed["guard"] == "documents"
    assert failed["message"]["en"] == "Required documents missing: Cost plan (RAB)"


def test_ikm_participation_needs_majority_approval_of_attendees(scenario: Scenario) -> None:
    case = scenario.probebaya_case("rembug_held")  # 25 attended
    role, values, documents = with_values(
        scenario,
        "submit_proposal",
        ikm_participation="ya",
        ikm_name="Kerupuk Amplang Bu Sri",
        ikm_approval_votes="12",
    )
    [failed] = refused(scenario, case, "submit_proposal", role, values, documents)
    assert failed["guard"] == "expr"
    assert (
        failed["message"]["en"]
        == "IKM participation needs the approval of a majority of the rembug attendees"
    )
    values["ikm_approval_votes"] = "13"
    case = scenario.fire(case["id"], "submit_proposal", role, values, documents)
    assert case["data"]["ikm_participation"] is True


def test_ikm_participation_without_recorded_votes_is_refused(scenario: Scenario) -> None:
    case = scenario.probebaya_case("rembug_held")
    role, values, documents = with_values(scenario, "submit_proposal", ikm_participation="true")
    [failed] = refused(scenario, case, "submit_proposal", role, values, documents)
    assert failed["guard"] == "expr"


def test_city_cannot_approve_more_than_requested(scenario: Scenario) -> None:
    case = scenario.probebaya_case("kecamatan_approved")  # requested Rp 200 juta
    [failed] = refused(
        scenario, case, "approve_city", "city", {"approved_amount": "Rp 200.000.001"}
    )
    assert failed["guard"] == "amount_between"
    assert "Rp 200.000.000" in failed["message"]["en"]


def test_approved_by_guard_is_recorded_with_its_result(scenario: Scenario) -> None:
    case = scenario.probebaya_case("kecamatan_approved")
    record = scenario.app.cases.history(case["id"])[-1]
    [approved_by] = [g for g in record["guards"] if g["guard"] == "approved_by"]
    assert approved_by["ok"] is True
    assert approved_by["args"]["role"] == "kelurahan"


def test_approved_by_refuses_when_the_role_never_fired(scenario: Scenario) -> None:
    # A variant where kecamatan may also act at the kelurahan's stage: verify by kecamatan
    # leaves no kelurahan approval behind, so the guard must refuse.
    text = (ROOT / "workflows" / "probebaya.yaml").read_text()
    text = text.replace(
        "    dest: verified\n    roles: [kelurahan]",
        "    dest: verified\n    roles: [kelurahan, kecamatan]",
    )
    scenario.app.definitions.publish_text(text, "probebaya-variant.yaml", "test")
    case = scenario.probebaya_case("submitted")
    case = scenario.fire(case["id"], "verify", "kecamatan")
    [failed] = refused(scenario, case, "approve_kecamatan", "kecamatan", {})
    assert failed["guard"] == "approved_by"
    assert failed["message"]["en"].startswith("Not yet approved by role kelurahan")


def test_first_tranche_above_70_percent_is_refused(scenario: Scenario) -> None:
    case = scenario.probebaya_case("approved")  # approved Rp 200 juta
    [failed] = refused(
        scenario,
        case,
        "disburse_tranche_1",
        "city",
        {"tranche_1": "Rp 140.000.001", "tranche_1_date": "2026-03-01"},
    )
    assert "at most 70%" in failed["message"]["en"]


def test_second_tranche_needs_the_lpj_of_the_first_accepted(scenario: Scenario) -> None:
    case = scenario.probebaya_case("implementing")  # tranche 1 disbursed, no LPJ yet
    role, values, _ = scenario.step("disburse_tranche_2")
    [failed] = refused(scenario, case, "disburse_tranche_2", role, values)
    assert failed["guard"] == "tranche_accounted"
    assert (
        failed["message"]["en"]
        == "Tranche 2 is released only after the LPJ of tranche 1 is accepted"
    )
    case = scenario.fire(
        case["id"], "submit_lpj", "pokmas", {"lpj_amount": "Rp 120.000.000"}, ("lpj_receipts",)
    )
    assert (
        refused(scenario, case, "disburse_tranche_2", role, values)[0]["guard"]
        == "tranche_accounted"
    )
    case = scenario.fire(case["id"], "return_lpj", "kelurahan", {"lpj_notes": "Kuitansi kurang"})
    assert case["ledger"]["tranches"][0]["lpj"]["status"] == "rejected"
    assert (
        refused(scenario, case, "disburse_tranche_2", role, values)[0]["guard"]
        == "tranche_accounted"
    )
    case = scenario.fire(
        case["id"], "submit_lpj", "pokmas", {"lpj_amount": "Rp 118.000.000"}, ("lpj_receipts",)
    )
    case = scenario.fire(case["id"], "accept_lpj", "kelurahan")
    case = scenario.fire(case["id"], "disburse_tranche_2", role, values)
    assert case["state"] == "fully_disbursed"
    assert case["ledger"]["totals"]["spent"] == 118_000_000


def test_lpj_cannot_report_more_than_was_disbursed(scenario: Scenario) -> None:
    case = scenario.probebaya_case("implementing")  # Rp 120 juta disbursed
    [failed] = refused(
        scenario, case, "submit_lpj", "pokmas", {"lpj_amount": "Rp 120.000.001"}, ("lpj_receipts",)
    )
    assert failed["message"]["en"] == "The LPJs report more than was disbursed"


def test_accepting_an_lpj_that_was_never_submitted_is_refused(scenario: Scenario) -> None:
    case = scenario.probebaya_case("implementing")
    [failed] = refused(scenario, case, "accept_lpj", "kelurahan", {})
    assert (failed["guard"], failed["message"]["en"]) == ("ledger", "No LPJ is awaiting a decision")


def test_tranches_together_may_not_exceed_the_approved_amount(scenario: Scenario) -> None:
    case = scenario.probebaya_case("implementing")
    case = scenario.fire(
        case["id"], "submit_lpj", "pokmas", {"lpj_amount": "Rp 120.000.000"}, ("lpj_receipts",)
    )
    case = scenario.fire(case["id"], "accept_lpj", "kelurahan")
    [failed] = refused(
        scenario,
        case,
        "disburse_tranche_2",
        "city",
        {"tranche_2": "Rp 80.000.001", "tranche_2_date": "2026-06-01"},
    )
    assert failed["guard"] == "sum_lte"
    assert failed["message"]["en"] == (
        "Total disbursed (Rp 200.000.001) would exceed the approved amount (Rp 200.000.000)"
    )


def test_completion_needs_every_lpj_accepted(scenario: Scenario) -> None:
    case = scenario.probebaya_case("fully_disbursed")  # tranche 2 disbursed, its LPJ not yet in
    [failed] = refused(
        scenario,
        case,
        "complete_implementation",
        "pokmas",
        {"progress_percent": "100"},
        ("lpj_final",),
    )
    assert failed["message"]["en"].startswith("Implementation is complete once both tranches")


def test_spending_more_than_disbursed_is_refused(scenario: Scenario) -> None:
    case = scenario.probebaya_case("implementing")  # tranche 1: Rp 120 juta
    [failed] = refused(
        scenario,
        case,
        "report_progress",
        "pokmas",
        {"progress_percent": "70", "spent_to_date": "Rp 120.000.001"},
        ("progress_report",),
    )
    assert failed["message"]["en"] == "Spending reported exceeds the funds disbursed so far"


def test_completion_below_100_percent_is_refused(scenario: Scenario) -> None:
    case = scenario.probebaya_case("monitoring")
    case = scenario.start()
    for trigger, role, values, documents in PROBEBAYA_PATH[:12]:
        case = scenario.fire(case["id"], trigger, role, values, documents)
    [failed] = refused(
        scenario,
        case,
        "complete_implementation",
        "pokmas",
        {"progress_percent": "99"},
        ("lpj_final",),
    )
    assert failed["message"]["en"] == "Implementation is complete only at 100% progress"


def test_monitoring_needs_a_majority_of_households(scenario: Scenario) -> None:
    case = scenario.probebaya_case("monitoring")  # 40 households
    role, values, documents = with_values(scenario, "record_monitoring", monitoring_attendees="20")
    [failed] = refused(scenario, case, "record_monitoring", role, values, documents)
    assert failed["guard"] == "quorum"
    assert "20 of 40 attended" in failed["message"]["en"]


# ---------------------------------------------------------------- data, staleness, versions


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {
                "program_area": "infrastructure",
                "proposal_title": "x",
                "budget": "Rp 200.000.000",
                "colour": "red",
            },
            "not part of this form: colour",
        ),
        (
            {"program_area": "infrastructure", "proposal_title": "x", "budget": "banyak sekali"},
            "budget: not an amount of money",
        ),
        (
            {"program_area": "roads", "proposal_title": "x", "budget": "Rp 200.000.000"},
            "program_area: Must be one of",
        ),
    ],
)
def test_invalid_form_data_is_refused_and_changes_nothing(
    scenario: Scenario, values: dict[str, str], message: str
) -> None:
    case = scenario.probebaya_case("rembug_held")
    with unchanged(scenario, case["id"]), pytest.raises(InvalidData, match=message):
        scenario.fire(case["id"], "submit_proposal", "ketua_rt", values, ("rab",))


def test_stale_expected_version_is_a_conflict(scenario: Scenario) -> None:
    case = scenario.probebaya_case("submitted")
    with unchanged(scenario, case["id"]), pytest.raises(Conflict, match="version"):
        scenario.fire(case["id"], "verify", "kelurahan", expected_version=case["version"] - 1)
    assert (
        scenario.fire(case["id"], "verify", "kelurahan", expected_version=case["version"])["state"]
        == "verified"
    )


def test_trigger_not_available_in_this_state_is_a_conflict(scenario: Scenario) -> None:
    case = scenario.start()
    with (
        unchanged(scenario, case["id"]),
        pytest.raises(Conflict, match=r"cannot be fired .* state 'draft'"),
    ):
        scenario.fire(case["id"], "verify", "kelurahan")


def test_unknown_trigger_and_unknown_case_are_not_found(scenario: Scenario) -> None:
    case = scenario.start()
    with pytest.raises(NotFound, match="no trigger 'approve_everything'"):
        scenario.fire(case["id"], "approve_everything", "city")
    with pytest.raises(NotFound, match="no case 999999"):
        scenario.fire(999999, "verify", "kelurahan")


def test_documents_are_stored_by_content_hash(scenario: Scenario) -> None:
    case = scenario.probebaya_case("rembug_held")
    record = scenario.app.cases.history(case["id"])[-1]
    storage: Path = scenario.app.context.settings.storage_dir
    for field in ("minutes", "attendance_list"):
        sha = record["documents"][field]
        assert case["data"][field]["sha256"] == sha
        stored = storage / sha[:2] / sha
        assert stored.read_bytes() == scenario.doc(field).read_bytes()


def test_publishing_a_new_version_leaves_running_cases_pinned(scenario: Scenario) -> None:
    running = scenario.probebaya_case("submitted")
    text = (
        (ROOT / "workflows" / "probebaya.yaml")
        .read_text()
        .replace('en: "Verify the proposal"', 'en: "Verify the RT proposal"')
    )
    published = scenario.app.definitions.publish_text(text, "probebaya.yaml", "test")
    assert (published.version, published.created) == (2, True)
    assert scenario.app.cases.show(running["id"])["definition_version"] == 1
    moved = scenario.fire(running["id"], "verify", "kelurahan")
    assert moved["definition_version"] == 1
    assert scenario.app.cases.history(running["id"])[-1]["definition_version"] == 1
    fresh = scenario.start(year=2027)
    assert fresh["definition_version"] == 2


def test_republishing_identical_content_creates_no_version(scenario: Scenario) -> None:
    again = scenario.app.definitions.publish(ROOT / "workflows" / "probebaya.yaml", "test")
    assert (again.version, again.created) == (1, False)


# ---------------------------------------------------------------- signals


def collect(signal: Any) -> tuple[list[dict[str, Any]], Callable[..., None]]:
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append({"sender": sender, **kwargs})

    signal.connect(receiver)
    return seen, receiver


def test_signals_announce_start_fire_refusal_and_publication(scenario: Scenario) -> None:
    started, r1 = collect(signals.case_started)
    fired, r2 = collect(signals.transition_fired)
    refusals, r3 = collect(signals.transition_refused)
    published, r4 = collect(signals.definition_published)
    try:
        case = scenario.start()
        role, values, documents = scenario.step("record_rembug")
        scenario.fire(case["id"], "record_rembug", role, values, documents)
        with pytest.raises(Conflict):
            scenario.fire(case["id"], "record_rembug", role, values, documents)
        text = (ROOT / "workflows" / "probebaya.yaml").read_text() + "\n# v2\n"
        scenario.app.definitions.publish_text(text, "probebaya.yaml", "test")
    finally:
        for signal, receiver in [
            (signals.case_started, r1),
            (signals.transition_fired, r2),
            (signals.transition_refused, r3),
            (signals.definition_published, r4),
        ]:
            signal.disconnect(receiver)
    assert [s["case"]["id"] for s in started] == [case["id"]]
    assert [s["record"]["trigger"] for s in fired] == ["record_rembug"]
    assert [(s["trigger"], s["reason"]) for s in refusals] == [("record_rembug", "conflict")]
    assert [(s["sender"], s["version"]) for s in published] == [("probebaya", 2)]


def test_a_failing_signal_receiver_does_not_undo_the_commit(scenario: Scenario) -> None:
    def explode(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.transition_fired.connect(explode)
    try:
        case = scenario.start()
        role, values, documents = scenario.step("record_rembug")
        moved = scenario.fire(case["id"], "record_rembug", role, values, documents)
    finally:
        signals.transition_fired.disconnect(explode)
    assert moved["state"] == "rembug_held"
    assert scenario.app.cases.show(case["id"])["state"] == "rembug_held"
