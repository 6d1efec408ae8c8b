"""A Probebaya case carried through the UI in a real browser: the ketua RT records the
rembug warga and proposes, the kelurahan returns it, the RT resubmits, and the kelurahan,
kecamatan and city take it to disbursement, the Pokmas implements and accounts for two
tranches, the residents monitor, the pendamping evaluates and the city closes it; the timeline
and the diagram follow."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.ui import PASSWORD, act, saved, sign_in
from tests.builders import Scenario


def test_probebaya_through_the_ui(
    browser: Browser, live_url: str, scenario: Scenario, artifacts: Path
) -> None:
    rt, kelurahan = scenario.rt, scenario.rt.rsplit(".", 2)[0]
    kecamatan = kelurahan.rsplit(".", 1)[0]
    for name, role, region in [
        ("b_rt", "ketua_rt", rt),
        ("b_lurah", "kelurahan", kelurahan),
        ("b_camat", "kecamatan", kecamatan),
        ("b_kota", "city", "64.72"),
        ("b_pokmas", "pokmas", rt),
        ("b_pendamping", "pendamping", kelurahan),
    ]:
        scenario.app.users.add(name, role, [region], PASSWORD)
    case = scenario.start()
    case_url = f"{live_url}/cases/{case['id']}"

    ketua = sign_in(browser, live_url, "b_rt")
    ketua.goto(case_url)
    act(
        ketua,
        "record_rembug",
        {"rembug_date": "2026-01-15", "households_total": "40", "attendees": "12"},
        {"minutes": scenario.doc("minutes"), "attendance_list": scenario.doc("hadir")},
    )
    expect(ketua.locator(".alert-danger")).to_contain_text("12 dari 40 hadir")
    ketua.screenshot(path=str(artifacts / "01-refused-quorum.png"), full_page=True)
    act(
        ketua,
        "record_rembug",
        {"rembug_date": "2026-01-15", "households_total": "40", "attendees": "25"},
        {"minutes": scenario.doc("minutes"), "attendance_list": scenario.doc("hadir")},
    )
    expect(ketua.locator(".badge-primary").first).to_contain_text("Rembug warga tercatat")
    proposal = {
        "program_area": "infrastructure",
        "proposal_title": "Drainase gang",
        "budget": "Rp 200.000.000",
    }
    act(ketua, "submit_proposal", proposal, {"rab": scenario.doc("rab")})
    expect(ketua.locator(".badge-primary").first).to_contain_text("Usulan di kelurahan")

    lurah = sign_in(browser, live_url, "b_lurah")
    expect(lurah.locator(f"a[href='/cases/{case['id']}']")).to_be_visible()  # in the inbox
    lurah.goto(case_url)
    lurah.screenshot(path=str(artifacts / "02-kelurahan-case.png"), full_page=True)
    act(lurah, "return_for_revision", {"revision_notes": "Rincian RAB drainase belum ada"})
    expect(lurah.locator(".badge-primary").first).to_contain_text("Perlu perbaikan")

    ketua.goto(case_url)
    act(ketua, "resubmit", {**proposal, "budget": "Rp 180.000.000"}, {"rab": scenario.doc("rab-2")})
    expect(ketua.locator(".badge-primary").first).to_contain_text("Usulan di kelurahan")

    lurah.goto(case_url)
    act(lurah, "verify")
    camat = sign_in(browser, live_url, "b_camat")
    camat.goto(case_url)
    act(camat, "approve_kecamatan")
    kota = sign_in(browser, live_url, "b_kota")
    kota.goto(case_url)
    act(kota, "approve_city", {"approved_amount": "Rp 180.000.000"})
    act(kota, "disburse_tranche_1", {"tranche_1": "Rp 120.000.000", "tranche_1_date": "2026-03-01"})
    expect(kota.locator(".badge-primary").first).to_contain_text("Pelaksanaan (tahap 1 cair)")
    timeline = kota.locator("ol.list-unstyled")
    for trigger in [
        "record_rembug",
        "submit_proposal",
        "return_for_revision",
        "resubmit",
        "verify",
        "approve_kecamatan",
        "approve_city",
        "disburse_tranche_1",
    ]:
        expect(timeline).to_contain_text(trigger)
    expect(kota.locator(".rukun-diagram svg")).to_be_visible()
    kota.screenshot(path=str(artifacts / "03-disbursed.png"), full_page=True)
    assert scenario.app.cases.show(case["id"])["state"] == "implementing"

    # implementation, the second tranche after the first LPJ, monitoring by the residents,
    # evaluation and closing: each by its own role, through the same generated forms
    pokmas = sign_in(browser, live_url, "b_pokmas")
    pendamping = sign_in(browser, live_url, "b_pendamping")
    steps: list[tuple[Page, str, dict[str, str], dict[str, Path]]] = [
        (
            pokmas,
            "report_progress",
            {"progress_percent": "50", "spent_to_date": "100000000"},
            {"progress_report": scenario.doc("kemajuan")},
        ),
        (
            pokmas,
            "submit_lpj",
            {"lpj_amount": "120000000"},
            {"lpj_receipts": scenario.doc("lpj-1")},
        ),
        (lurah, "accept_lpj", {}, {}),
        (kota, "disburse_tranche_2", {"tranche_2": "60000000", "tranche_2_date": "2026-06-01"}, {}),
        (pokmas, "submit_lpj", {"lpj_amount": "60000000"}, {"lpj_receipts": scenario.doc("lpj-2")}),
        (lurah, "accept_lpj", {}, {}),
        (
            pokmas,
            "complete_implementation",
            {"progress_percent": "100"},
            {"lpj_final": scenario.doc("lpj-akhir")},
        ),
        (
            ketua,
            "record_monitoring",
            {"monitoring_attendees": "30", "residents_assessment": "satisfied"},
            {"monitoring_minutes": scenario.doc("monitoring")},
        ),
        (pendamping, "evaluate", {"evaluation_result": "good", "evaluation_notes": "Baik"}, {}),
        (kota, "close", {}, {}),
    ]
    for page, trigger, values, files in steps:
        page.goto(case_url)
        act(page, trigger, values, files)
        saved(page)
    expect(kota.locator(".badge-secondary").first).to_contain_text("Selesai")
    kota.screenshot(path=str(artifacts / "04-closed.png"), full_page=True)
    closed = scenario.app.cases.show(case["id"])
    assert closed["state"] == "closed"
    assert closed["ledger"]["totals"]["disbursed"] == 180_000_000
    assert scenario.app.cases.verify(case["id"]) == []
