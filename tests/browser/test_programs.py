"""Prolita, RT Mandiri and KUBE each carried from a new case to their final state through the
UI alone, in a real browser, each step by the role the workflow names: cases are opened from
the start form, list fields are typed as rows, linked cases are picked from a list, money is
typed as digits (the page groups them), guards are checked while typing, and a batch of
proposals is moved with the bulk action and its progress bar."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.ui import PASSWORD, act, saved, sign_in, start_case
from tests.builders import World, kube_members

YEAR = 2026


class Operators:
    """Users made on demand (with the browser password), one signed-in page each."""

    def __init__(self, world: World, browser: Browser, url: str) -> None:
        self.world, self.browser, self.url = world, browser, url
        self.pages: dict[str, Page] = {}

    def page(self, role: str, region: str | None = None) -> Page:
        name = self.world.user(role, region)
        if name not in self.pages:
            self.world.app.users.set_password(name, PASSWORD)
            self.pages[name] = sign_in(self.browser, self.url, name)
        return self.pages[name]

    def open(self, role: str, region: str | None, case_id: int) -> Page:
        page = self.page(role, region)
        page.goto(f"{self.url}/cases/{case_id}")
        return page


def state_of(world: World, case_id: int) -> str:
    return str(world.app.cases.show(case_id)["state"])


def test_prolita_from_rembug_to_monitoring(
    browser: Browser, live_world: str, world: World, artifacts: Path
) -> None:
    rt = world.rts("64.74")[0]  # Bontang
    kelurahan = world.ancestor(rt, "kelurahan")
    ops = Operators(world, browser, live_world)
    ketua = ops.page("ketua_rt", rt)
    case_id = start_case(ketua, live_world, "prolita", rt)

    form = ketua.locator("form[action$='/fire/record_rembug']")
    form.locator("[name=households_total]").fill("30")
    form.locator("[name=attendees]").fill("10")
    # the quorum is checked while typing, before anything is submitted
    expect(form.locator("[data-guard=quorum]")).to_have_attribute("data-ok", "no")
    form.locator("[name=attendees]").fill("17")
    expect(form.locator("[data-guard=quorum]")).to_have_attribute("data-ok", "yes")
    act(
        ketua,
        "record_rembug",
        {"rembug_date": f"{YEAR}-02-01"},
        {"minutes": world.doc("berita-acara")},
    )
    saved(ketua)
    act(
        ketua,
        "submit_proposal",
        {"activity": "Semenisasi jalan lingkungan"},
        rows={
            "rab_lines": [
                {"description": "Semen dan pasir", "amount": "32000000"},
                {"description": "Upah tukang", "amount": "18000000"},
            ]
        },
    )
    saved(ketua)
    assert world.app.cases.show(case_id)["ledger"]["totals"]["budget"] == 50_000_000

    act(ops.open("kelurahan", kelurahan, case_id), "verify")
    act(ops.open("kecamatan", world.ancestor(rt, "kecamatan"), case_id), "recommend")
    city = ops.open("city", "64.74", case_id)
    amount = city.locator("form[action$='/fire/approve'] [name=approved_amount]")
    amount.fill("50000000")
    expect(amount).to_have_value("50.000.000")  # grouped as typed
    act(city, "approve")
    saved(city)
    act(city, "disburse", {"disbursement_date": f"{YEAR}-03-01"})
    saved(city)
    ketua.goto(f"{live_world}/cases/{case_id}")
    act(ketua, "submit_lpj", {"lpj_amount": "50000000"}, {"lpj_receipts": world.doc("kuitansi")})
    saved(ketua)
    act(ops.open("kelurahan", kelurahan, case_id), "accept_lpj")
    ketua.goto(f"{live_world}/cases/{case_id}")
    act(
        ketua,
        "record_monitoring",
        {"monitoring_attendees": "20"},
        {"monitoring_minutes": world.doc("monitoring")},
    )
    saved(ketua)
    expect(ketua.locator(".badge-secondary").first).to_contain_text("Selesai")
    ketua.screenshot(path=str(artifacts / "10-prolita-closed.png"), full_page=True)
    assert state_of(world, case_id) == "closed"
    assert world.app.cases.verify(case_id) == []


def test_rt_mandiri_upstream_and_downstream_groups(
    browser: Browser, live_world: str, world: World, artifacts: Path
) -> None:
    hulu, hilir = world.groups("63.72")[:2]  # Banjarbaru
    ops = Operators(world, browser, live_world)
    pokmas = ops.page("pokmas", world.ancestor(hulu, "rt"))
    upstream = start_case(pokmas, live_world, "rt_mandiri", hulu)
    act(
        pokmas,
        "submit_proposal",
        {
            "group_name": "Kelompok Bioflok Sejahtera",
            "members_count": "12",
            "stage": "hulu",
            "commodity": "bioflok_fish",
        },
        {"business_plan": world.doc("rencana-usaha")},
        rows={
            "rab_lines": [
                {"description": "Kolam bioflok", "amount": "45000000"},
                {"description": "Benih dan pakan", "amount": "30000000"},
            ]
        },
    )
    saved(pokmas)

    downstream_pokmas = ops.page("pokmas", world.ancestor(hilir, "rt"))
    downstream = start_case(downstream_pokmas, live_world, "rt_mandiri", hilir)
    act(
        downstream_pokmas,
        "submit_proposal",
        {
            "group_name": "Kelompok Abon Ikan",
            "members_count": "9",
            "stage": "hilir",
            "commodity": "abon",
        },
        {"business_plan": world.doc("rencana-hilir")},
        rows={"rab_lines": [{"description": "Alat dan kemasan", "amount": "75000000"}]},
        pick={"upstream_groups": [str(upstream)]},
    )
    saved(downstream_pokmas)
    expect(downstream_pokmas.locator(f"a[href='/cases/{upstream}']").first).to_be_visible()

    skpd = ops.open("skpd", "63.72", upstream)
    act(skpd, "verify", {"verification_notes": "Lokasi kolam sesuai"})
    saved(skpd)
    city = ops.open("city", "63.72", upstream)
    act(city, "approve", {"approved_amount": "75000000"})
    saved(city)
    act(city, "disburse", {"disbursement_date": f"{YEAR}-03-01"})
    saved(city)
    pokmas.goto(f"{live_world}/cases/{upstream}")
    act(
        pokmas,
        "report_business",
        {"report_period": f"{YEAR}-Q2", "capital": "79500000", "revenue": "8250000"},
        {"business_report": world.doc("laporan-usaha")},
    )
    saved(pokmas)
    skpd.goto(f"{live_world}/cases/{upstream}")
    act(skpd, "evaluate", {"evaluation_result": "growing", "evaluation_notes": "Panen kedua"})
    saved(skpd)
    expect(skpd.locator("li", has_text="dirujuk sebagai kelompok hulu pemasok")).to_contain_text(
        f"Kasus {downstream}"
    )
    skpd.screenshot(path=str(artifacts / "11-rt-mandiri-evaluated.png"), full_page=True)
    assert state_of(world, upstream) == "evaluated"
    assert state_of(world, downstream) == "proposed"


def test_kube_members_typed_as_rows_through_to_evaluation(
    browser: Browser, live_world: str, world: World, artifacts: Path
) -> None:
    group = world.groups("64.72")[0]  # Samarinda
    members = kube_members(world.ancestor(group, "kecamatan"), 1)
    ops = Operators(world, browser, live_world)
    office = ops.page("dinsos_kota", "64.72")
    case_id = start_case(office, live_world, "kube", group)
    act(
        office,
        "propose",
        {"kube_name": "KUBE Maju Bersama", "business_type": "food_stall"},
        rows={"members": members},
    )
    saved(office)
    office.screenshot(path=str(artifacts / "12-kube-proposed.png"), full_page=True)

    dinsos = ops.open("dinsos", "64", case_id)
    act(dinsos, "assign_pendamping", {"pendamping_name": "Rahmawati"})
    saved(dinsos)
    pendamping = ops.open("pendamping", None, case_id)
    act(
        pendamping,
        "record_bimtek",
        {"bimtek_date": f"{YEAR}-03-10"},
        {"bimtek_report": world.doc("bimtek")},
    )
    saved(pendamping)
    dinsos.goto(f"{live_world}/cases/{case_id}")
    verify = dinsos.locator("form[action$='/fire/verify']")
    verify.locator("[name=assistance_amount]").fill("25000000")  # above the Rp 20 juta limit
    expect(verify.locator("[data-guard=amount_between]")).to_have_attribute("data-ok", "no")
    act(dinsos, "verify", {"assistance_amount": "15000000"})
    saved(dinsos)
    act(dinsos, "disburse", {"disbursement_date": f"{YEAR}-04-01"})
    saved(dinsos)
    pendamping.goto(f"{live_world}/cases/{case_id}")
    act(pendamping, "record_visit", {"visits": "1"}, {"visit_report": world.doc("kunjungan")})
    saved(pendamping)
    dinsos.goto(f"{live_world}/cases/{case_id}")
    act(dinsos, "evaluate", {"evaluation_result": "active", "evaluation_notes": "Usaha jalan"})
    saved(dinsos)
    assert state_of(world, case_id) == "evaluated"
    stored = world.app.cases.show(case_id, world.user("dinsos", "64"))
    assert [m["nik"] for m in stored["data"]["members"]] == [m["nik"] for m in members]


def test_bulk_action_shows_progress_and_a_result_per_case(
    browser: Browser, live_world: str, world: World, artifacts: Path
) -> None:
    kecamatan = world.ancestor(world.rts("64.74")[0], "kecamatan")
    rts = [rt for rt in world.rts("64.74") if rt.startswith(kecamatan + ".")]
    ids = []
    for rt in rts:
        ketua = world.user("ketua_rt", rt)
        case = world.app.cases.start("prolita", rt, YEAR, ketua)
        case = world.fire(
            case,
            "record_rembug",
            ketua,
            {"rembug_date": f"{YEAR}-02-01", "households_total": "30", "attendees": "20"},
            minutes="ba",
        )
        case = world.fire(
            case,
            "submit_proposal",
            ketua,
            {"activity": "Drainase", "rab_lines": [{"description": "Pipa", "amount": "40000000"}]},
        )
        ids.append(case["id"])
    # one proposal is not verified yet, so it cannot be recommended
    for case_id in ids[1:]:
        world.fire(
            world.app.cases.show(case_id),
            "verify",
            world.user(
                "kelurahan", world.ancestor(world.app.cases.show(case_id)["subject"], "kelurahan")
            ),
        )
    ops = Operators(world, browser, live_world)
    camat = ops.page("kecamatan", kecamatan)
    camat.goto(f"{live_world}/cases/?program=prolita")
    for case_id in ids:
        camat.locator(f"input[name=case_id][value='{case_id}']").check()
    camat.locator("#bulk-trigger").select_option("recommend")
    camat.locator("#bulk-form button[type=submit]").click()
    progress = camat.locator("#bulk-progress")
    expect(progress.locator(".rukun-progress-text")).to_contain_text(
        f"{len(ids)} dari {len(ids)} kasus diproses: {len(ids) - 1} berhasil, 1 gagal"
    )
    expect(progress.locator("tbody tr")).to_have_count(len(ids))
    expect(progress.locator("tbody tr.table-danger")).to_contain_text(str(ids[0]))
    expect(progress.locator("tbody tr.table-success").first).to_contain_text(
        "Direkomendasikan kecamatan"
    )
    expect(progress.locator(".rukun-progress-done")).to_be_visible()
    camat.screenshot(path=str(artifacts / "13-bulk-progress.png"), full_page=True)
    assert [state_of(world, case_id) for case_id in ids] == ["submitted"] + ["recommended"] * (
        len(ids) - 1
    )
