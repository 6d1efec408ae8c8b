"""The public page for residents (issue 13): the engine's read service, the routes without
sign-in (no cookie, cacheable, Indonesian or English, 404s in the public layout), the short
URL with its QR code and poster, public documents only, and a privacy scanner that crawls
every public page of the demo data for NIK and KK numbers, phone numbers and names."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import segno
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from admin import create_app
from engine.demo import run_demo
from engine.errors import NotFound
from engine.language.model import PII_TYPES
from engine.runtime import Rukun
from engine.store.models import Case, Document
from tests.builders import YEAR, Scenario
from tests.integration.test_admin import PASSWORD, csrf, login
from tests.integration.test_hardening_http import security_header_problems

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Demo:
    """`rukun demo`'s data (its closed Probebaya case in RT ``rt``) and the web app on it."""

    app: Rukun
    web: Flask
    case_id: int
    rt: str
    client: FlaskClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.web.test_client()

    def case(self, case_id: int | None = None) -> dict[str, Any]:
        return self.app.cases.show(case_id or self.case_id)

    def get(self, url: str) -> TestResponse:
        return self.client.get(url)


@pytest.fixture
def demo(app: Rukun) -> Demo:
    case_id = run_demo(app, YEAR, lambda _line: None)
    web = create_app(app, {"TESTING": True, "SECRET_KEY": "test"})
    return Demo(app, web, case_id, app.cases.show(case_id)["subject"])


def page_text(response: TestResponse) -> str:
    """The page's text as a reader sees it: no tags, entities resolved, spaces collapsed."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(text).split())


def links(response: TestResponse) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'(?:href|src)="([^"]+)"', response.text)]


# ------------------------------------------------------------------ the engine's service


def test_the_top_lists_the_kota_that_have_cases_with_their_counts(demo: Demo) -> None:
    top = demo.app.public.regions()
    counts = {entry.region.code: entry.cases for entry in top.children}
    cases = demo.app.cases.list(limit=1000)
    assert counts == Counter(c["subject"][:5] for c in cases)
    assert set(counts) == {"63.72", "64.72", "64.74"}  # the demo has none in Balikpapan
    assert top.region is None and top.ancestors == () and top.years == ()


def test_a_kelurahan_lists_its_rts_under_their_rw_with_the_years_of_their_cases(
    demo: Demo,
) -> None:
    rw = demo.rt.rsplit(".", 1)[0]
    page = demo.app.public.regions(rw.rsplit(".", 1)[0])
    assert page.region is not None and page.region.level == "kelurahan"
    assert [a.level for a in page.ancestors] == ["provinsi", "kota", "kecamatan"]
    first_rw = next(e for e in page.children if e.region.code == rw)
    assert first_rw.region.level == "rw" and first_rw.years == ()
    rt = next(e for e in first_rw.children if e.region.code == demo.rt)
    # the demo's RT has Probebaya cases of three years, and KUBE whose subjects are groups
    # registered under the RT; the years are the RT's page, newest first
    below = [c for c in demo.app.cases.list(limit=1000) if c["subject"].startswith(demo.rt)]
    assert {c["program"] for c in below} == {"probebaya", "kube"}
    assert rt.years == tuple(sorted({c["year"] for c in below}, reverse=True))
    assert len(rt.years) == 3 and rt.cases == len(below)
    assert first_rw.cases == sum(e.cases for e in first_rw.children)


def test_a_group_case_belongs_to_the_page_of_its_rt_and_groups_are_not_pages(
    demo: Demo,
) -> None:
    page = demo.app.public.rt_year(demo.rt, YEAR)
    by_program = {c.program for c in page.cases}
    assert by_program == {"probebaya", "kube"}
    groups = [c.subject for c in page.cases if c.program == "kube"]
    assert groups and all(g.level == "group" and g.code.startswith(demo.rt + ".") for g in groups)
    with pytest.raises(NotFound):
        demo.app.public.regions(groups[0].code)
    with pytest.raises(NotFound):
        demo.app.public.rt_year(groups[0].code, YEAR)


def test_an_rt_year_shows_the_ledgers_money_and_each_decision_by_role(demo: Demo) -> None:
    page = demo.app.public.rt_year(demo.rt, YEAR)
    case = next(c for c in page.cases if c.id == demo.case_id)
    totals = demo.case()["ledger"]["totals"]
    assert (case.approved, case.disbursed, case.accounted) == (
        totals["approved"],
        totals["disbursed"],
        totals["spent"],
    )
    assert (case.approved, case.disbursed, case.accounted) == (
        240_000_000,
        240_000_000,
        238_500_000,
    )
    history = demo.app.cases.history(demo.case_id)
    assert len(case.decisions) == len(history)
    approval = next(d for d in case.decisions if d.label.id == "Setujui dan tetapkan nilai (kota)")
    assert (
        approval.role.id == "Pemerintah kota (Bappeda)"
        and approval.state.en == "Approved by the city"
    )
    assert case.decisions[0].label.en == "Case opened"
    assert (case.state.id, case.final) == ("Selesai", True)
    assert page.anchor is not None and case.anchor == page.anchor
    assert not case.changed_since_anchor


def test_nothing_personal_is_in_what_the_service_returns(demo: Demo) -> None:
    """The whole returned structure (its repr holds every field) names no user, no file and
    no value a form took."""
    everything = repr(
        [demo.app.public.rt_year(rt, year) for rt, year in rt_years(demo.app)]
        + [demo.app.public.regions()]
    )
    assert whole_words(private_words(demo.app)).findall(everything) == []
    assert [v for v in private_values(demo.app) if v in everything] == []


def test_a_draft_case_is_listed_with_its_state_and_no_money(scenario: Scenario) -> None:
    case = scenario.start()
    page = scenario.app.public.rt_year(scenario.rt, YEAR)
    (shown,) = page.cases
    assert shown.id == case["id"]
    assert shown.state.id == "Persiapan rembug warga" and not shown.final
    assert (shown.approved, shown.disbursed, shown.accounted) == (0, 0, 0)
    assert [d.label.id for d in shown.decisions] == ["Kasus dibuka"]
    assert shown.documents == () and shown.anchor is None and page.anchor is None


def test_a_case_changed_after_the_anchor_says_its_latest_changes_are_not_covered(
    scenario: Scenario,
) -> None:
    case = scenario.probebaya_case("rembug_held")
    scenario.app.audit.anchor("test")
    assert not scenario.app.public.rt_year(scenario.rt, YEAR).cases[0].changed_since_anchor
    scenario.fire(case["id"], "submit_proposal", *scenario.step("submit_proposal")[:2], ("rab",))
    (shown,) = scenario.app.public.rt_year(scenario.rt, YEAR).cases
    assert shown.changed_since_anchor and shown.anchor is not None


def test_unknown_regions_years_and_groups_have_no_public_page(demo: Demo) -> None:
    public = demo.app.public
    for code, year in (
        ("99.99", YEAR),
        (demo.rt, 1999),  # no case that year
        (demo.rt, 10**20),  # no integer column holds it
        ("x" * 500, YEAR),
    ):
        with pytest.raises(NotFound):
            public.rt_year(code, year)
    with pytest.raises(NotFound):
        public.regions("99.99")


def test_only_a_public_document_of_the_case_itself_is_served(demo: Demo) -> None:
    data = demo.case()["data"]
    minutes, attendance = data["minutes"]["sha256"], data["attendance_list"]["sha256"]
    found = demo.app.public.document(demo.case_id, minutes)
    assert (found.field, found.media_type) == ("minutes", "application/pdf")
    other = next(c["id"] for c in demo.app.cases.list(limit=1000) if c["id"] != demo.case_id)
    for case_id, sha256 in (
        (demo.case_id, attendance),  # a private document of the same case
        (other, minutes),  # a public one, asked for under another case
        (demo.case_id, minutes.upper()),
        (demo.case_id, minutes[:-1]),
        (10**12, minutes),
    ):
        with pytest.raises(NotFound):
            demo.app.public.document(case_id, sha256)


# ------------------------------------------------------------------ the routes


def public_urls(demo: Demo) -> list[str]:
    kelurahan = demo.rt.rsplit(".", 2)[0]
    data = demo.case()["data"]
    return [
        "/public/",
        "/public/64.72/",
        f"/public/{kelurahan}/",
        f"/public/{demo.rt}/",
        f"/public/{demo.rt}/{YEAR}",
        f"/p/{demo.rt}/{YEAR}",
        f"/public/{demo.rt}/{YEAR}/poster",
        f"/public/{demo.rt}/{YEAR}/qr.svg",
        f"/public/cases/{demo.case_id}/documents/{data['minutes']['sha256']}",
    ]


def test_the_public_pages_answer_anyone_and_never_set_a_cookie(demo: Demo) -> None:
    for url in public_urls(demo):
        response = demo.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers, url
        assert response.headers["Cache-Control"] == "public, max-age=300", url
        assert security_header_problems(response) == [], url


def test_a_signed_in_user_gets_the_same_pages_and_keeps_their_session(demo: Demo) -> None:
    name = "public_page_reader"
    demo.app.users.add(name, "kelurahan", [demo.rt.rsplit(".", 2)[0]], PASSWORD)
    login(demo.client, name)
    token = csrf(demo.client, "/login")
    demo.client.post("/language/en", data={"csrf_token": token})
    for url in public_urls(demo):
        response = demo.get(url)
        assert "Set-Cookie" not in response.headers, url
    page = demo.get(f"/public/{demo.rt}/{YEAR}")
    assert '<html lang="id">' in page.text  # the URL says the language, not the session
    assert name not in page.text
    inbox = demo.get("/")
    assert inbox.status_code == 200 and name in inbox.text and '<html lang="en">' in inbox.text


@pytest.mark.parametrize(
    "url",
    [
        "/public/99.99/",
        "/public/RT%20001/",
        "/public/%3Cscript%3Ealert(1)%3C%2Fscript%3E/",
        "/public/{rt}/1999",
        "/public/{rt}/99999999999999999999",
        "/public/{rt}/1999/poster",
        "/public/{rt}/1999/qr.svg",
        "/public/{rt}/2026/nothing",
        "/public/{rt}.k1/",
        "/public/no/such/page/at/all",
        "/public/cases/1/documents/not-a-digest",
        "/public/cases/99999999999999/documents/" + "0" * 64,
    ],
)
def test_an_unknown_public_page_is_a_404_in_the_public_layout(demo: Demo, url: str) -> None:
    response = demo.get(url.format(rt=demo.rt) + "?lang=en")
    assert response.status_code == 404
    body = response.text
    assert '<html lang="en">' in body and "Page not found." in body
    assert 'href="/public/?lang=en"' in body and "Set-Cookie" not in response.headers
    # what was asked for is not echoed but in the language switch's link, percent-encoded
    assert "<script" not in body and "alert(1)</script>" not in html.unescape(body)
    assert security_header_problems(response) == []


def test_a_malformed_public_url_is_a_400_in_the_public_layout(demo: Demo) -> None:
    response = demo.get(f"/public/{demo.rt}/{YEAR}?lang=en&q=" + "x" * 1001)
    assert response.status_code == 400
    assert '<html lang="en">' in response.text and "This address is not valid." in response.text
    assert "Set-Cookie" not in response.headers


def test_the_short_url_serves_the_rt_year_page_whose_canonical_url_is_the_long_one(
    demo: Demo,
) -> None:
    long, short = demo.get(f"/public/{demo.rt}/{YEAR}"), demo.get(f"/p/{demo.rt}/{YEAR}")
    assert short.status_code == 200
    canonical = f'<link rel="canonical" href="http://localhost/public/{demo.rt}/{YEAR}">'
    assert canonical in short.text and canonical in long.text
    nonce = re.compile(r'nonce="[^"]*"')
    assert nonce.sub("", short.text) == nonce.sub("", long.text)
    assert f">http://localhost/p/{demo.rt}/{YEAR}</a>" in long.text  # the address to share


def test_the_qr_code_is_an_svg_of_the_short_url(demo: Demo) -> None:
    response = demo.get(f"/public/{demo.rt}/{YEAR}/qr.svg")
    assert response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag == f"{SVG}svg"
    (drawn,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == "qrline"]
    short_url = f"http://localhost/p/{demo.rt}/{YEAR}"

    def modules(url: str) -> str | None:
        """The dark modules of ``url``'s QR code, as segno draws them."""
        return ElementTree.fromstring(segno.make(url, error="m").svg_inline()).find("path").get("d")  # type: ignore[union-attr]

    assert drawn.get("d") == modules(short_url)
    assert drawn.get("d") != modules(f"http://localhost/public/{demo.rt}/{YEAR}")


def test_the_poster_shows_the_rt_the_year_the_qr_code_and_the_short_url(demo: Demo) -> None:
    poster = demo.get(f"/public/{demo.rt}/{YEAR}/poster")
    text = page_text(poster)
    assert "RT 001 RW 001 (demo)" in text and str(YEAR) in text
    assert f'src="/public/{demo.rt}/{YEAR}/qr.svg"' in poster.text
    assert f"http://localhost/p/{demo.rt}/{YEAR}" in text
    assert "Kelurahan Rawa Makmur, Kecamatan Palaran, Kota Samarinda" in text


def test_a_resident_sees_the_money_and_the_decisions_in_indonesian_or_english(
    demo: Demo,
) -> None:
    indonesian = demo.get(f"/public/{demo.rt}/{YEAR}")
    text = page_text(indonesian)
    assert '<html lang="id">' in indonesian.text
    assert "Dana disetujui" in text and "Rp 240.000.000" in text and "Rp 238.500.000" in text
    assert "Setujui dan tetapkan nilai (kota) · oleh Pemerintah kota (Bappeda)" in text
    assert "Berita acara rembug warga" in text and "Daftar hadir" not in text
    assert f'href="/public/{demo.rt}/{YEAR}?lang=en"' in indonesian.text  # the switch
    english = demo.get(f"/public/{demo.rt}/{YEAR}?lang=en")
    text = page_text(english)
    assert '<html lang="en">' in english.text
    assert "Funds approved" in text and "Rp 240.000.000" in text
    assert "Approve and set the amount (city) · by City government (Bappeda)" in text
    switch = f"/public/{demo.rt}/{YEAR}"  # back to Indonesian
    assert f'href="{switch}" hreflang="id"' in english.text
    pages = [u for u in links(english) if u.startswith(("/public/", "/p/")) and u != switch]
    assert len(pages) > 8
    assert [u for u in pages if not u.endswith("lang=en") and "/documents/" not in u] == []
    assert '<html lang="id">' in demo.get(f"/public/{demo.rt}/{YEAR}?lang=xx").text


def test_the_pages_need_no_script(demo: Demo) -> None:
    for url in public_urls(demo)[:7]:
        assert "<script" not in demo.get(url).text, url


def test_a_public_document_downloads_and_a_private_one_does_not(demo: Demo) -> None:
    data = demo.case()["data"]
    minutes = data["minutes"]["sha256"]
    response = demo.get(f"/public/cases/{demo.case_id}/documents/{minutes}")
    assert response.status_code == 200
    assert response.data == demo.app.context.documents.path_for(minutes).read_bytes()
    disposition = response.headers["Content-Disposition"]
    assert disposition == f"attachment; filename=minutes-{demo.case_id}.pdf"
    assert data["minutes"]["filename"] not in disposition  # the uploaded name may name someone
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "public, max-age=300"
    attendance = data["attendance_list"]["sha256"]
    assert demo.get(f"/public/cases/{demo.case_id}/documents/{attendance}").status_code == 404
    other = next(c["id"] for c in demo.app.cases.list(limit=1000) if c["id"] != demo.case_id)
    assert demo.get(f"/public/cases/{other}/documents/{minutes}").status_code == 404


def test_a_region_name_is_escaped(scenario: Scenario, web: Flask) -> None:
    rw = scenario.rt.rsplit(".", 1)[0]
    scenario.app.regions.upsert(
        [(1, _rt(f"{rw}.009", "<script>alert(1)</script> RT 009", rw))], "test"
    )
    scenario.app.users.add("rt_009", "ketua_rt", [f"{rw}.009"])
    scenario.app.cases.start("probebaya", f"{rw}.009", YEAR, "rt_009")
    for url in (f"/public/{rw}/", f"/public/{rw}.009/{YEAR}", f"/public/{rw}.009/{YEAR}/poster"):
        body = web.test_client().get(url).text
        assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; RT 009" in body


def _rt(code: str, name: str, parent: str) -> Any:
    from engine.runtime.regions import RegionRow

    return RegionRow(code, "rt", name, parent)


# ------------------------------------------------------------------ the privacy scanner

#: A NIK or KK number: 16 digits (sha256 digests are taken out first: they are hex).
SIXTEEN_DIGITS = re.compile(r"\d{16}")
DIGEST = re.compile(r"[0-9a-f]{64}")
#: An Indonesian phone number: 08… or +62 8… / 62 8…, spaces or dashes allowed.
PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[ -]?8\d{1,3}(?:[ -]?\d{3,4}){2}(?!\w)")


def whole_words(phrases: set[str]) -> re.Pattern[str]:
    """Any of ``phrases`` as whole words (a name inside a longer word is not that name)."""
    longest_first = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, longest_first)) + r")(?!\w)")


def rt_years(app: Rukun) -> set[tuple[str, int]]:
    """Every (region, year) a public page shows: a case's subject, or a group's RT."""
    regions = {r["code"]: r for r in app.regions.list()}
    found = set()
    for case in app.cases.list(limit=1000):
        region = regions[case["subject"]]
        code = region["parent_code"] if region["level"] == "group" else region["code"]
        found.add((code, case["year"]))
    return found


def private_words(app: Rukun) -> set[str]:
    """User names and everything typed into a text field (names of KUBE members and the
    pendamping, notes, titles): the scanner matches them as whole words."""
    names = {u["name"] for u in app.users.list()}
    assert len(names) > 20 and min(len(n) for n in names) >= 8  # long: none is a common word
    return names | _typed_values(app)


def private_values(app: Rukun) -> set[str]:
    """NIK and KK numbers in full, and the stored documents' uploaded file names."""
    values = {v for v in _typed_values(app, PII_TYPES)}
    with app.context.sessions() as session:
        values |= set(session.scalars(select(Document.filename)))
    return values


def _typed_values(app: Rukun, types: tuple[str, ...] = ("string", "text", *PII_TYPES)) -> set[str]:
    """The values of fields of ``types`` (and in list items) in every case's stored data,
    unmasked (read from the table: the engine masks them for an anonymous reader)."""
    found: set[str] = set()
    with app.context.sessions() as session:
        cases = [
            (c.data, app.context.definition(c.definition_version))
            for c in session.scalars(select(Case))
        ]
    for data, definition in cases:
        for name, value in data.items():
            spec = definition.fields.get(name)
            if spec is None or value is None:
                continue
            if spec.type in types and isinstance(value, str):
                found.add(value)
            if spec.type == "list" and spec.item:
                for item in value:
                    found |= {
                        str(v)
                        for k, v in item.items()
                        if k in spec.item and spec.item[k].type in types and v
                    }
    return found


def crawl(client: FlaskClient) -> Iterator[tuple[str, TestResponse]]:
    """Every page reachable by links from /public/ (both languages, posters, QR codes;
    documents are fetched, their bytes are the documents')."""
    seen, queue = {"/public/"}, ["/public/"]
    while queue:
        url = queue.pop()
        response = client.get(url)
        yield url, response
        if response.mimetype != "text/html":
            continue
        for link in links(response):
            parts = urlsplit(link)
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc not in ("", "localhost") or not local.startswith(("/public/", "/p/")):
                continue
            if local not in seen:
                seen.add(local)
                queue.append(local)


def test_no_public_page_of_the_demo_shows_a_nik_kk_phone_number_or_name(demo: Demo) -> None:
    words = private_words(demo.app)
    names = whole_words(words)
    values = private_values(demo.app)
    assert any(v.isdigit() and len(v) == 16 for v in values)  # the KUBE members' numbers
    assert "Rahmawati" in words and any(w.startswith("Kepala Keluarga Demo") for w in words)
    visited: dict[str, int] = {}
    problems: list[str] = []
    for url, response in crawl(demo.client):
        visited[url] = response.status_code
        if "/documents/" in url:
            continue
        text = DIGEST.sub("#", html.unescape(response.get_data(as_text=True)))
        problems += [f"{url}: 16 digits {m}" for m in SIXTEEN_DIGITS.findall(text)]
        problems += [f"{url}: phone {m}" for m in PHONE.findall(text)]
        problems += [f"{url}: name {w!r}" for w in names.findall(text)]
        problems += [f"{url}: value {v!r}" for v in values if v in text]
    assert problems == []
    assert set(visited.values()) == {200}
    # the crawl reached every RT and year with cases, in both languages, and their posters
    for code, year in rt_years(demo.app):
        for suffix in ("", "?lang=en", "/poster", "/poster?lang=en"):
            assert f"/public/{code}/{year}{suffix}" in visited, (code, year, suffix)
    assert sum("/documents/" in u for u in visited) >= 6
    assert len(visited) > 300


def test_the_scanner_finds_what_it_looks_for() -> None:
    """Each pattern catches what it is for and passes what pages show."""
    assert SIXTEEN_DIGITS.findall(DIGEST.sub("#", "NIK 6472010101800001 · " + "ab12" * 16))
    assert not SIXTEEN_DIGITS.findall(DIGEST.sub("#", "Rp 240.000.000 · " + "0123456789abcdef" * 4))
    for phone in ("0812-3456-7890", "+62 812 3456 7890", "081234567890", "62 8123456789"):
        assert PHONE.findall(f"hubungi {phone} segera"), phone
    for ordinary in ("Rp 240.000.000", "2026-03-01", "64.72.01.1001.001.001", "Kasus nomor 12"):
        assert not PHONE.findall(ordinary), ordinary
    names = whole_words({"demo_ketua_rt", "Kepala Keluarga Demo 1"})
    assert names.findall("oleh demo_ketua_rt → Kepala Keluarga Demo 1.") == [
        "demo_ketua_rt",
        "Kepala Keluarga Demo 1",
    ]
    assert names.findall("oleh demo_ketua_rt_2, Kepala Keluarga Demo 10") == []
