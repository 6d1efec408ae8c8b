"""Oversight figures (engine.audit.statistics) over cases with known paths: counts by state,
time in state from the recorded times, revision and rejection rates, overdue cases and
money; who may see them and in which scope; the CSV tables, the SVG charts and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engine.audit import charts
from engine.audit.statistics import Oversight, table, table_csv
from engine.audit.vocabulary import TABLES
from engine.cli import main
from engine.errors import Forbidden, InvalidData, NotFound
from engine.runtime import Rukun
from tests.builders import PROBEBAYA_FILE, YEAR, Scenario, World, probebaya_revised

MILLION = 1_000_000
DAY = dt.timedelta(days=1)
SVG = "{http://www.w3.org/2000/svg}"


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def days(span: dt.timedelta) -> float:
    return span.total_seconds() / 86_400


def expected_time(stays: Sequence[dt.timedelta]) -> dict[str, Any]:
    """Entries, median and p90 as the figures must give them, by the standard library's
    interpolating quantiles (an implementation independent of the engine's)."""
    values = sorted(days(s) for s in stays)
    p90 = (
        statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    )
    return {
        "entries": len(values),
        "median_days": round(statistics.median(values), 1),
        "p90_days": round(p90, 1),
    }


def by_state(figures: dict[str, Any], key: str) -> dict[str, Any]:
    """``key`` of every state whose value is not 0."""
    return {s["state"]: s[key] for s in figures["states"] if s[key]}


@dataclass
class Story:
    """Five Probebaya cases with known paths, escalated once by ``tick``, and the time the
    figures are read at (20 days after the last firing)."""

    scenario: Scenario
    cases: dict[str, int]
    ticked_at: dt.datetime
    now: dt.datetime
    auditor: str = "auditor_all"

    @property
    def app(self) -> Rukun:
        return self.scenario.app

    def figures(self, viewer: str | None = None, **query: Any) -> dict[str, Any]:
        return Oversight(self.app.context).figures(
            viewer or self.auditor, "probebaya", now=self.now, **query
        )

    def at(self, case: str, trigger: str, occurrence: int = -1) -> dt.datetime:
        """When ``trigger`` was recorded on the case (its last occurrence by default)."""
        times = [
            parse_time(r["at"])
            for r in self.app.cases.history(self.cases[case])
            if r["trigger"] == trigger
        ]
        return times[occurrence]


@pytest.fixture
def story(scenario: Scenario) -> Story:
    """money: on to tranche 2, its LPJ submitted but not yet accepted (a transition within
    the state); revised: returned for revision and resubmitted, then escalated in
    ``submitted``; rejected by the kecamatan; waiting at rembug_held; cancelled from draft."""
    fire = scenario.fire
    money = scenario.probebaya_case("fully_disbursed")["id"]
    fire(money, "submit_lpj", "pokmas", {"lpj_amount": "Rp 80.000.000"}, ("lpj_receipts_2",))
    revised = scenario.probebaya_case("submitted")["id"]
    fire(revised, "return_for_revision", "kelurahan", {"revision_notes": "RAB belum rinci"})
    role, values, documents = scenario.step("submit_proposal")
    fire(revised, "resubmit", role, values, documents)
    rejected = scenario.probebaya_case("verified")["id"]
    fire(rejected, "reject_kecamatan", "kecamatan", {"rejection_reason": "Bukan prioritas"})
    waiting = scenario.probebaya_case("rembug_held")["id"]
    cancelled = scenario.start()["id"]
    last = fire(cancelled, "cancel", "city", {"cancel_reason": "RT dimekarkan"})
    last_at = parse_time(last["updated_at"])
    ticked_at = last_at + 15 * DAY  # past submitted's 14 days, before rembug_held's 30
    escalated = scenario.app.cases.tick(ticked_at)
    assert [c["id"] for c in escalated] == [revised]
    scenario.app.users.add("auditor_all", "auditor")
    cases = {
        "money": money,
        "revised": revised,
        "rejected": rejected,
        "waiting": waiting,
        "cancelled": cancelled,
    }
    return Story(scenario, cases, ticked_at, last_at + 20 * DAY)


# ---------------------------------------------------------------- figures


def test_counts_states_in_the_published_order_with_their_labels(story: Story) -> None:
    figures = story.figures(year=YEAR)
    _, definition = story.app.definitions.get("probebaya")
    assert figures["cases"] == 5
    assert [s["state"] for s in figures["states"]] == [s.name for s in definition.states]
    assert [s["label"] for s in figures["states"]] == [s.label.to_json() for s in definition.states]
    assert by_state(figures, "final") == {"closed": True, "rejected": True, "cancelled": True}
    assert by_state(figures, "count") == {
        "fully_disbursed": 1,
        "submitted": 1,
        "rejected": 1,
        "rembug_held": 1,
        "cancelled": 1,
    }


def test_overdue_counts_open_cases_past_their_deadline_at_now(story: Story) -> None:
    assert by_state(story.figures(), "overdue") == {"submitted": 1}
    before_deadline = Oversight(story.app.context).figures(
        story.auditor, "probebaya", now=story.at("revised", "resubmit") + 13 * DAY
    )
    assert by_state(before_deadline, "overdue") == {}


def test_rates_count_revision_loops_rejections_and_cancellations(story: Story) -> None:
    assert story.figures()["rates"] == {
        "decided": 2,
        "revised": 1,
        "revision_rate": 0.2,
        "rejected": 1,
        "rejection_rate": 0.5,
        "cancelled": 1,
    }


def test_money_is_approved_disbursed_and_accounted_by_accepted_lpj(story: Story) -> None:
    figures = story.figures()
    assert figures["money"] == {
        "budget": 0,
        "approved": 200 * MILLION,
        "disbursed": 200 * MILLION,
        "accounted": 120 * MILLION,
    }
    kecamatan = story.app.regions.list(level="kecamatan")
    code = next(r["code"] for r in kecamatan if story.scenario.rt.startswith(r["code"] + "."))
    name = next(r["name"] for r in kecamatan if r["code"] == code)
    assert figures["level"] == "kecamatan"
    assert figures["by_region"] == [
        {
            "region": code,
            "name": name,
            "cases": 5,
            "approved": 200 * MILLION,
            "disbursed": 200 * MILLION,
            "accounted": 120 * MILLION,
        }
    ]


def test_time_in_state_runs_from_entry_to_the_next_other_state(story: Story) -> None:
    at, now = story.at, story.now
    rows = {t["state"]: t for t in story.figures()["time_in_state"]}
    submitted = [
        at("money", "verify") - at("money", "submit_proposal"),
        at("revised", "return_for_revision") - at("revised", "submit_proposal"),
        now - at("revised", "resubmit"),  # still there: the escalation is no leave
        at("rejected", "verify") - at("rejected", "submit_proposal"),
    ]
    rembug_held = [
        *(at(c, "submit_proposal") - at(c, "record_rembug") for c in ("money", "revised")),
        at("rejected", "submit_proposal") - at("rejected", "record_rembug"),
        now - at("waiting", "record_rembug"),
    ]
    draft = [at(c, "record_rembug") - at(c, "start") for c in ("money", "revised", "rejected")]
    draft += [at("waiting", "record_rembug") - at("waiting", "start")]
    draft += [at("cancelled", "cancel") - at("cancelled", "start")]
    for state, stays in [("submitted", submitted), ("rembug_held", rembug_held), ("draft", draft)]:
        assert {k: rows[state][k] for k in ("entries", "median_days", "p90_days")} == (
            expected_time(stays)
        ), state
    # three stays of milliseconds and one of 20 days: interpolated, not the nearest rank
    assert (rows["submitted"]["median_days"], rows["submitted"]["p90_days"]) == (0.0, 14.0)


def test_time_in_the_current_state_is_not_restarted_by_a_transition_within_it(
    story: Story,
) -> None:
    rows = {t["state"]: t for t in story.figures()["time_in_state"]}
    entered = story.at("money", "disburse_tranche_2")
    assert story.at("money", "submit_lpj") > entered
    assert rows["fully_disbursed"]["entries"] == 1
    assert rows["fully_disbursed"]["median_days"] == round(days(story.now - entered), 1)
    assert rows["revision_requested"] == {
        "state": "revision_requested",
        "label": {"id": "Perlu perbaikan", "en": "Revision requested"},
        **expected_time(
            [story.at("revised", "resubmit") - story.at("revised", "return_for_revision")]
        ),
    }


def test_final_states_have_no_running_time(story: Story) -> None:
    states = {t["state"] for t in story.figures()["time_in_state"]}
    assert {"rejected", "cancelled", "closed"}.isdisjoint(states)
    assert {"draft", "submitted", "implementing"} <= states
    unvisited = next(t for t in story.figures()["time_in_state"] if t["state"] == "monitoring")
    assert (unvisited["entries"], unvisited["median_days"], unvisited["p90_days"]) == (
        0,
        None,
        None,
    )


def test_year_and_region_choose_the_cases(story: Story) -> None:
    assert story.figures(year=YEAR + 1)["cases"] == 0
    elsewhere = next(
        r["code"]
        for r in story.app.regions.list(level="kecamatan")
        if r["code"].startswith("64.72.") and not story.scenario.rt.startswith(r["code"] + ".")
    )
    assert story.figures(region=elsewhere)["cases"] == 0
    kelurahan = story.scenario.rt.rsplit(".", 2)[0]
    within = story.figures(region=kelurahan)
    assert within["cases"] == 5
    assert within["level"] == "rw"
    assert [r["region"] for r in within["by_region"]] == [story.scenario.rt.rsplit(".", 1)[0]]


def test_a_state_only_an_older_version_has_is_listed_after_the_published_ones(
    scenario: Scenario,
) -> None:
    app = scenario.app
    app.definitions.publish_text(probebaya_revised(), "revised.yaml", "test")
    case = scenario.start()
    scenario.fire(case["id"], "hold_sosialisasi", "ketua_rt")
    assert app.definitions.publish(PROBEBAYA_FILE, "test").version == 3
    app.users.add("auditor_all", "auditor")
    figures = Oversight(app.context).figures("auditor_all", "probebaya")
    _, published = app.definitions.get("probebaya")
    assert [s["state"] for s in figures["states"]] == [
        *(s.name for s in published.states),
        "sosialisasi",
    ]
    assert figures["states"][-1] == {
        "state": "sosialisasi",
        "label": {"id": "Sosialisasi program", "en": "Programme briefing (sosialisasi)"},
        "final": False,
        "count": 1,
        "overdue": 0,
    }


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("role", ["ketua_rt", "kecamatan"])
def test_operator_roles_may_not_see_the_figures(story: Story, role: str) -> None:
    with pytest.raises(Forbidden, match="auditor or program_officer"):
        story.figures(story.scenario.users[role])


def test_a_city_user_sees_its_city_only(story: Story) -> None:
    app = story.app
    assert story.figures(story.scenario.users["city"])["cases"] == 5
    app.users.add("city_bontang", "city", ["64.74"])
    assert story.figures("city_bontang")["cases"] == 0
    # a ketua_rt grant in the cases' RT does not widen an oversight scope
    app.users.grant("city_bontang", "ketua_rt", story.scenario.rt)
    assert story.figures("city_bontang")["cases"] == 0
    assert story.figures("city_bontang")["money"]["approved"] == 0


def test_unknown_program_region_or_year_out_of_range_are_refused(story: Story) -> None:
    service = Oversight(story.app.context)
    with pytest.raises(NotFound, match="no program 'probebayaa'"):
        service.figures(story.auditor, "probebayaa")
    with pytest.raises(NotFound, match=re.escape("no region 64.72.99")):
        story.figures(region="64.72.99")
    for year in (1999, 2101):
        with pytest.raises(InvalidData, match=f"year {year} is out of range"):
            story.figures(year=year)


def test_city_users_see_kube_cases_of_their_own_city(world: World) -> None:
    app = world.app
    started = {
        kota: [
            app.cases.start("kube", group, YEAR, world.user("dinsos_kota", kota))["id"]
            for group in world.groups(kota)[:count]
        ]
        for kota, count in (("64.72", 2), ("64.74", 1))
    }
    assert len(started["64.72"]) == 2
    service = Oversight(app.context)
    samarinda = service.figures(world.user("city", "64.72"), "kube", YEAR)
    assert samarinda["cases"] == 2
    kecamatan = {world.ancestor(g, "kecamatan") for g in world.groups("64.72")[:2]}
    assert {r["region"] for r in samarinda["by_region"]} == kecamatan
    assert sum(r["cases"] for r in samarinda["by_region"]) == 2
    assert service.figures(world.user("city", "64.74"), "kube", YEAR)["cases"] == 1
    everyone = service.figures(world.user("auditor"), "kube", YEAR)
    assert everyone["cases"] == 3
    province = service.figures(world.user("auditor"), "kube", YEAR, region="64")
    assert province["level"] == "kota"
    assert [(r["region"], r["cases"]) for r in province["by_region"]] == [
        ("64.72", 2),
        ("64.74", 1),
    ]


# ---------------------------------------------------------------- tables, CSV, charts


@pytest.mark.parametrize("name", list(TABLES))
def test_each_table_is_csv_with_a_header_row(story: Story, name: str) -> None:
    figures = story.figures()
    rows = list(csv.DictReader(io.StringIO(table_csv(figures, name))))
    assert rows, name
    assert list(rows[0]) == list(TABLES[name])
    expected = table(figures, name)
    assert rows == [
        {k: "" if row[k] is None else str(row[k]) for k in TABLES[name]} for row in expected
    ]


def test_csv_of_by_region_holds_the_money(story: Story) -> None:
    [row] = csv.DictReader(io.StringIO(table_csv(story.figures(), "by_region")))
    assert (row["cases"], row["approved"], row["accounted"]) == ("5", "200000000", "120000000")


def test_unknown_table_is_refused(story: Story) -> None:
    with pytest.raises(InvalidData, match="unknown table 'cases'"):
        table_csv(story.figures(), "cases")


CHARTS: list[Callable[[dict[str, Any], str], str]] = [
    charts.state_chart,
    charts.time_chart,
    charts.money_chart,
]


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_charts_are_self_contained_svg_with_a_title_and_labels(
    story: Story, chart: Callable[[dict[str, Any], str], str], lang: str
) -> None:
    figures = story.figures(year=YEAR)
    svg = chart(figures, lang)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert not svg.startswith("<?xml")
    assert root.find(f".//{SVG}script") is None
    references = set(re.findall(r"(?:https?:)?//[^\s\"'()<>]+", svg))
    assert all(r.startswith("http://www.w3.org/") for r in references), references
    title = root.find(f"{SVG}title")
    table_name = charts.CHART_TABLES[chart.__name__]
    assert title is not None and title.text == (
        f"{charts.TITLES[table_name].get(lang)} — probebaya {YEAR}"
    )
    text = " ".join(root.itertext())
    first = figures[table_name][0]
    assert (first["label"][lang] if "label" in first else first["name"]) in text


def test_charts_of_no_cases_say_so(story: Story) -> None:
    figures = story.figures(year=YEAR + 1)
    for chart in (charts.time_chart, charts.money_chart):
        assert (
            ET.fromstring(chart(figures, "id")).find(f".//{SVG}text[@class='no_data']") is not None
        )
    assert "Tidak ada data" in charts.money_chart(figures, "id")
    assert "No data" in charts.time_chart(figures, "en")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        charts.state_chart(figures, "fr")


def contrast_with_white(colour: str) -> float:
    """The WCAG 2 contrast ratio of a #rrggbb colour against white."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def test_chart_colours_meet_wcag_aa_contrast_on_white(story: Story) -> None:
    colours = [*charts.PALETTE, charts.TEXT, charts.SUBTLE_TEXT]
    assert all(contrast_with_white(c) >= 4.5 for c in colours), {
        c: round(contrast_with_white(c), 2) for c in colours
    }
    svg = charts.money_chart(story.figures(), "en")
    assert all(c in svg for c in charts.PALETTE[:3])
    assert re.search(r"\.reactive\{fill-opacity:1;", svg), "bars must be opaque"


# ---------------------------------------------------------------- CLI


def run(env: dict[str, str], *args: str, code: int = 0) -> Result:
    """`rukun report oversight ARGS`: errors become one line and an exit code."""
    result = CliRunner().invoke(
        main, ["report", "oversight", *args], env=env, catch_exceptions=False
    )
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.output
    return result


def test_cli_prints_tables_json_and_csv(story: Story, env: dict[str, str]) -> None:
    args = ["--program", "probebaya", "--year", str(YEAR), "--as", story.auditor]
    shown = json.loads(run(env, *args, "--json").stdout)
    expected = story.figures(year=YEAR)
    # the CLI reads at the real time: everything but what depends on it is the same
    for key in ("cases", "rates", "money", "by_region"):
        assert shown[key] == expected[key], key
    assert [(s["state"], s["count"]) for s in shown["states"]] == [
        (s["state"], s["count"]) for s in expected["states"]
    ]
    lines = run(env, *args).stdout.splitlines()
    assert lines[0].startswith(f"probebaya {YEAR}, all regions: 5 cases")
    assert re.search(r"^submitted\s+Proposal at the kelurahan\s+1\s+[01]$", "\n".join(lines), re.M)
    assert "revised 1 of 5 (20.0%); decided 2: rejected 1 (50.0%), cancelled 1" in lines
    assert any(re.match(r"64\.72\.\d+\s+\S.*\s5\s+Rp 200\.000\.000", line) for line in lines)
    states = list(csv.DictReader(io.StringIO(run(env, *args, "--csv", "states").stdout)))
    assert [r["state"] for r in states] == [s["state"] for s in expected["states"]]


def test_cli_exit_codes(story: Story, env: dict[str, str]) -> None:
    rt_head = story.scenario.users["ketua_rt"]
    refused = run(env, "--program", "probebaya", "--as", rt_head, code=3)
    assert refused.stderr.startswith(f"error: user '{rt_head}' may not see oversight figures")
    missing = run(env, "--program", "nope", "--as", story.auditor, "--json", code=5)
    assert json.loads(missing.stdout)["error"]["kind"] == "not_found"
    run(env, "--program", "probebaya", "--as", story.auditor, "--year", "1999", code=1)
    both = ["--csv", "states", "--json"]
    run(env, "--program", "probebaya", "--as", story.auditor, *both, code=2)
    run(env, "--program", "probebaya", "--as", story.auditor, "--csv", "cases", code=2)
