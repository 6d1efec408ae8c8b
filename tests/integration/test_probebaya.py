"""Probebaya scenarios through the runtime: the happy path, the loops, rejections,
cancellation, and every guard refusing — with the case and its history left untouched."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from blinker import ANY

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
    assert case["final"] is True
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
    assert scenario.app.cases.verify(case["id"]) == []
    assert scenario.app.cases.triggers(case["id"], scenario.users["city"]) == []


def test_every_fired_transition_records_each_guard_with_its_args_and_result(
    scenario: Scenario,
) -> None:
    case = scenario.probebaya_case("kecamatan_approved")
    _, definition = scenario.app.definitions.get("probebaya")
    transitions = [r for r in scenario.app.cases.history(case["id"]) if r["kind"] == "transition"]
    assert [r["trigger"] for r in transitions] == [
        "record_rembug",
        "submit_proposal",
        "verify",
        "approve_kecamatan",
    ]
    for record in transitions:
        spec = definition.transition(record["trigger"], record["source"])
        assert spec is not None and spec.guards
        declared = [(g.name, dict(g.args)) for g in spec.guards]
        recorded = [
            (g["guard"], {k: v for k, v in g["args"].items() if k != "resolved"})
            for g in record["guards"]
        ]
        assert recorded == declared
        assert all(g["ok"] is True for g in record["guards"]), record["guards"]
    quorum = transitions[0]["guards"][0]
    assert quorum["args"]["fraction"] == "params.quorum_fraction"
    assert quorum["args"]["resolved"] == {"present": 25, "total": 40, "needed": 21}


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
    assert scenario.app.cases.history(case["id"])[-1]["payload"] == {
        "rejection_reason": "Tidak sesuai prioritas"
    }
    for user in scenario.users.values():
        assert scenario.app.cases.triggers(case["id"], user) == []
    with unchanged(scenario, case["id"]), pytest.raises(Conflict, match="state 'rejected'"):
        scenario.fire(case["id"], "cancel", "city", {"cancel_reason": "x"})
    with unchanged(scenario, case["id"]), pytest.raises(Conflict):
        scenario.fire(case["id"], "approve_city", "city", {"approved_amount": "Rp 200.000.000"})


@pytest.mark.parametrize("state", ["draft", "submitted", "verified", "implementing"])
def test_city_may_cancel_from_any_open_state(scenario: Scenario, state: str) -> None:
    case = scenario.probebaya_case(state)
    case = scenario.fire(case["id"], "cancel", "city", {"cancel_reason": "RT dimekarkan"})
    assert (case["state"], case["final"]) == ("cancelled", True)
    last = scenario.app.cases.history(case["id"])[-1]
    assert (last["trigger"], last["source"], last["dest"]) == ("cancel", state, "cancelled")
    assert case["data"]["cancel_reason"] == "RT dimekarkan"
    with unchanged(scenario, case["id"]), pytest.raises(Conflict, match="state 'cancelled'"):
        scenario.fire(case["id"], "cancel", "city", {"cancel_reason": "lagi"})


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_cancel_needs_a_reason_that_is_not_blank(scenario: Scenario, reason: str | None) -> None:
    case = scenario.start()
    values = {} if reason is None else {"cancel_reason": reason}
    with unchanged(scenario, case["id"]), pytest.raises(InvalidData, match="cancel_reason"):
        scenario.fire(case["id"], "cancel", "city", values)


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


@pytest.mark.parametrize(
    ("budget", "amount"),
    [
        ("150000000", 150_000_000),
        ("150.000.000", 150_000_000),
        ("Rp 150.000.000", 150_000_000),
        ("Rp 100.000.000", 100_000_000),
        ("300.000.000", 300_000_000),
    ],
)
def test_budget_in_any_money_notation_within_bounds_passes(
    scenario: Scenario, budget: str, amount: int
) -> None:
    case = scenario.probebaya_case("rembug_held")
    role, values, documents = with_values(scenario, "submit_proposal", budget=budget)
    case = scenario.fire(case["id"], "submit_proposal", role, values, documents)
    assert (case["state"], case["data"]["budget"]) == ("submitted", amount)


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


def test_a_vote_count_past_the_sandbox_bound_refuses_the_transition_saying_why(
    scenario: Scenario,
) -> None:
    # a resident types a 60-digit number: the guard's `ikm_approval_votes * 2` would make a
    # number past the sandbox's bound, so the guard fails with that reason (not the YAML's
    # misleading "needs a majority"), and nothing about the case changes
    case = scenario.probebaya_case("rembug_held")
    role, values, documents = with_values(
        scenario,
        "submit_proposal",
        ikm_participation="ya",
        ikm_name="Kerupuk Amplang Bu Sri",
        ikm_approval_votes="9" * 60,
    )
    [failed] = refused(scenario, case, "submit_proposal", role, values, documents)
    assert failed["guard"] == "expr"
    assert failed["message"]["en"] == (
        "Guard 'expr' could not be checked (error: a number in the expression grew past 2**128)"
    )


def test_ikm_participation_without_recorded_votes_is_refused(scenario: Scenario) -> None:
    case = scenario.probebaya_case("rembug_held")
    role, values, documents = with_values(scenario, "submit_proposal", ikm_participation="true")
    [failed] = refused(scenario, case, "submit_proposal", role, values, documents)
    assert failed["guard"] == "expr"


def test_city_cannot_approve_more_than_requested_nor_under_100_juta(scenario: Scenario) -> None:
    case = scenario.probebaya_case("kecamatan_approved")  # requested Rp 200 juta
    for amount in ("Rp 200.000.001", "Rp 99.999.999"):
        [failed] = refused(scenario, case, "approve_city", "city", {"approved_amount": amount})
        assert failed["guard"] == "amount_between"
        assert failed["message"]["en"] == (
            "The approved amount must lie between Rp 100 juta and the amount requested "
            f"(Rp 200.000.000); is {amount}"
        )
    case = scenario.fire(case["id"], "approve_city", "city", {"approved_amount": "Rp 150.000.000"})
    assert case["ledger"]["totals"]["approved"] == 150_000_000


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


def test_first_tranche_above_70_percent_is_refused_and_70_percent_passes(
    scenario: Scenario,
) -> None:
    case = scenario.probebaya_case("approved")  # approved Rp 200 juta
    values = {"tranche_1": "Rp 140.000.001", "tranche_1_date": "2026-03-01"}
    [failed] = refused(scenario, case, "disburse_tranche_1", "city", values)
    assert failed["guard"] == "expr"
    assert failed["message"]["en"] == (
        "Tranche 1 must be more than 0 and at most 70% of the approved amount"
    )
    values["tranche_1"] = "Rp 140.000.000"
    case = scenario.fire(case["id"], "disburse_tranche_1", "city", values)
    assert (case["state"], case["ledger"]["totals"]["disbursed"]) == ("implementing", 140_000_000)


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
    case = scenario.start()  # up to the second LPJ accepted, just before completion
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
        content = scenario.doc(field).read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        assert record["documents"][field] == sha
        assert case["data"][field]["sha256"] == sha
        assert (storage / sha[:2] / sha).read_bytes() == content


def test_the_same_document_attached_twice_is_stored_once(scenario: Scenario) -> None:
    storage: Path = scenario.app.context.settings.storage_dir
    first = scenario.probebaya_case("rembug_held")
    second = scenario.start(year=2027)
    role, values, documents = scenario.step("record_rembug")
    second = scenario.fire(second["id"], "record_rembug", role, values, documents)
    sha = first["data"]["minutes"]["sha256"]
    assert second["data"]["minutes"]["sha256"] == sha
    uploaded = {first["data"][f]["sha256"] for f in ("minutes", "attendance_list")}
    generated = {case["data"]["ba_rembug"]["sha256"] for case in (first, second)}
    assert len(generated) == 2  # each case's own berita acara
    assert sorted(p.name for p in storage.rglob("*") if p.is_file()) == sorted(uploaded | generated)


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


@contextmanager
def receiving(signal: Any, sender: Any = ANY) -> Iterator[list[dict[str, Any]]]:
    """Collects what ``signal`` delivers (from ``sender``) while the block runs."""
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append({"sender": sender, **kwargs})

    signal.connect(receiver, sender=sender)
    try:
        yield seen
    finally:
        signal.disconnect(receiver)


def test_signals_announce_start_fire_refusal_and_publication(scenario: Scenario) -> None:
    with (
        receiving(signals.case_started) as started,
        receiving(signals.transition_fired) as fired,
        receiving(signals.transition_refused) as refusals,
        receiving(signals.definition_published) as published,
    ):
        case = scenario.start()
        role, values, documents = scenario.step("record_rembug")
        with pytest.raises(TransitionRefused):
            scenario.fire(case["id"], "record_rembug", role, {**values, "attendees": "20"})
        scenario.fire(case["id"], "record_rembug", role, values, documents)
        with pytest.raises(Conflict):
            scenario.fire(case["id"], "record_rembug", role, values, documents)
        text = (ROOT / "workflows" / "probebaya.yaml").read_text() + "\n# v2\n"
        scenario.app.definitions.publish_text(text, "probebaya.yaml", "test")
    assert [(s["sender"], s["case"]["id"], s["actor"]) for s in started] == [
        ("probebaya", case["id"], scenario.users["ketua_rt"])
    ]
    [moved] = fired
    assert (moved["sender"], moved["record"]["trigger"], moved["case"]["state"]) == (
        "probebaya",
        "record_rembug",
        "rembug_held",
    )
    assert moved["record"] == scenario.app.cases.history(case["id"])[-1]
    assert [(s["sender"], s["trigger"], s["reason"]) for s in refusals] == [
        ("probebaya", "record_rembug", "refused"),
        ("probebaya", "record_rembug", "conflict"),
    ]
    assert {g["guard"] for g in refusals[0]["guards"] if g["ok"] is False} == {
        "quorum",
        "documents",
    }
    assert [(s["sender"], s["version"]) for s in published] == [("probebaya", 2)]


def test_refusals_reach_receivers_connected_to_the_program(scenario: Scenario) -> None:
    case = scenario.start()
    with (
        receiving(signals.transition_refused, sender="probebaya") as refusals,
        pytest.raises(Conflict),
    ):
        scenario.fire(case["id"], "verify", "kelurahan")
    assert [(s["case_id"], s["reason"]) for s in refusals] == [(case["id"], "conflict")]


def test_a_failing_signal_receiver_does_not_undo_the_commit(scenario: Scenario) -> None:
    def explode(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.transition_fired.connect(explode)
    try:
        with receiving(signals.transition_fired) as fired:
            case = scenario.start()
            role, values, documents = scenario.step("record_rembug")
            moved = scenario.fire(case["id"], "record_rembug", role, values, documents)
    finally:
        signals.transition_fired.disconnect(explode)
    assert moved["state"] == "rembug_held"
    assert scenario.app.cases.show(case["id"])["state"] == "rembug_held"
    assert [r["trigger"] for r in scenario.app.cases.history(case["id"])] == [
        "start",
        "record_rembug",
    ]
    assert len(fired) == 1  # the other receivers still hear about it
