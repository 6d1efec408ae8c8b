"""The case list and the inbox as SQL: sorts with keyset paging, the inbox equal to its
Python definition, region scopes, a bounded number of statements per page, and the
migrations agreeing with the models."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event

from engine.demo import ensure_demo_users, run_demo
from engine.errors import InvalidData
from engine.runtime import Rukun
from engine.runtime.queries import SORTS
from engine.store.models import Base
from tests.builders import Scenario

LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def demo(app: Rukun, tmp_path: Path) -> Scenario:
    """The demo's cases and users, plus Probebaya cases in several states and RTs."""
    run_demo(app, 2026, lambda _line: None)
    rts = sorted(r["code"] for r in app.regions.list(level="rt") if r["code"].startswith("64.72."))
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    scenario = Scenario(app, ensure_demo_users(app, rts[0]), rts[0], docs)
    for state in ("draft", "rembug_held", "submitted", "verified", "approved"):
        scenario.probebaya_case(state)
    app.cases.start("probebaya", rts[1], 2026, "demo_admin")
    return scenario


def python_inbox(app: Rukun, user: str, now: dt.datetime) -> list[int]:
    """The inbox as the UI computed it before it moved to SQL: every case in the user's
    scope, kept if one of the user's roles may fire a non-"*" transition from its state."""
    [account] = [u for u in app.users.list() if u["name"] == user]
    roles = {g["role"] for g in account["grants"]}
    waiting = []
    for case in app.cases.list(viewer=user, limit=100_000, now=now):
        if case["final"]:
            continue
        definition = app.definitions.get(case["program"], case["definition_version"])[1]
        if any(
            set(t.roles) & roles
            for t in definition.transitions_from(case["state"])
            if not t.any_source
        ):
            waiting.append(case)
    waiting.sort(key=lambda c: (not c["overdue"], c["updated_at"], c["id"]))
    return [c["id"] for c in waiting]


def all_pages(app: Rukun, **query: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = app.cases.page(limit=2, cursor=cursor, **query)
        rows.extend(page.rows)
        cursor = page.next_cursor
        if cursor is None:
            return rows


def inbox_pages(app: Rukun, user: str, now: dt.datetime, limit: int = 2) -> list[int]:
    ids: list[int] = []
    cursor = None
    while True:
        page = app.cases.inbox(user, limit=limit, cursor=cursor, now=now)
        ids.extend(row["id"] for row in page.rows)
        cursor = page.next_cursor
        if cursor is None:
            return ids


@pytest.mark.parametrize("sort", [*SORTS, *(f"-{name}" for name in SORTS)])
def test_every_sort_pages_through_all_cases_once_in_order(demo: Scenario, sort: str) -> None:
    everything = demo.app.cases.list(limit=1000)
    name = sort.removeprefix("-")
    descending = sort.startswith("-")

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row[name]
        return (value is None, value if value is not None else 0, row["id"])

    present = sorted((r for r in everything if r[name] is not None), key=key, reverse=descending)
    missing = sorted((r for r in everything if r[name] is None), key=key, reverse=descending)
    paged = all_pages(demo.app, sort=sort)
    assert [r["id"] for r in paged] == [r["id"] for r in present + missing]  # NULLs last


def test_due_at_sort_puts_cases_without_deadline_last_both_ways(demo: Scenario) -> None:
    for sort in ("due_at", "-due_at"):
        dues = [row["due_at"] for row in all_pages(demo.app, sort=sort)]
        assert None in dues and dues[-1] is None
        assert dues[: dues.index(None)] and None not in dues[: dues.index(None)]
        assert set(dues[dues.index(None) :]) == {None}


def test_sorted_pages_keep_filters_and_after_id_still_pages_by_id(demo: Scenario) -> None:
    rows = all_pages(demo.app, program="probebaya", sort="-updated_at")
    assert rows and {r["program"] for r in rows} == {"probebaya"}
    assert [r["updated_at"] for r in rows] == sorted((r["updated_at"] for r in rows), reverse=True)
    ids = [r["id"] for r in demo.app.cases.list(limit=1000)]
    assert [r["id"] for r in demo.app.cases.list(after_id=ids[2], limit=3)] == ids[3:6]
    by_state = [r["id"] for r in demo.app.cases.list(sort="state", limit=1000)]
    after = demo.app.cases.list(sort="state", after_id=by_state[3], limit=1000)
    assert [r["id"] for r in after] == by_state[4:]


def test_a_cursor_of_another_sort_or_garbage_is_invalid_data(demo: Scenario) -> None:
    cursor = demo.app.cases.page(limit=1, sort="year").next_cursor
    assert cursor
    with pytest.raises(InvalidData, match="order 'year'"):
        demo.app.cases.page(limit=1, sort="state", cursor=cursor)
    with pytest.raises(InvalidData, match="cursor"):
        demo.app.cases.page(limit=1, cursor="not-a-cursor")
    tampered = base64.urlsafe_b64encode(b'["id",0,{"x":1},3,null]').decode()
    with pytest.raises(InvalidData, match="cursor"):
        demo.app.cases.page(limit=1, cursor=tampered)
    with pytest.raises(InvalidData, match="cannot sort by"):
        demo.app.cases.page(sort="password")


@pytest.mark.parametrize("now", [None, LATER], ids=["today", "all-overdue"])
def test_sql_inbox_equals_the_python_definition_for_every_demo_user(
    demo: Scenario, now: dt.datetime | None
) -> None:
    when = now or dt.datetime.now(dt.UTC)
    users = [u["name"] for u in demo.app.users.list()]
    assert len(users) > 10
    nonempty = 0
    for user in users:
        expected = python_inbox(demo.app, user, when)
        assert inbox_pages(demo.app, user, when) == expected, user
        assert [r["id"] for r in demo.app.cases.inbox(user, limit=500, now=when).rows] == expected
        nonempty += bool(expected)
    assert nonempty >= 8


def test_inbox_roles_count_only_in_the_region_they_are_held(demo: Scenario) -> None:
    """A user who is lurah in one kelurahan and ketua RT of an RT elsewhere acts on
    kelurahan steps only in their kelurahan, and on RT steps only in their RT."""
    app = demo.app
    regions = {r["code"]: r for r in app.regions.list()}
    kelurahan = regions[demo.rt]["parent_code"]
    while regions[kelurahan]["level"] != "kelurahan":
        kelurahan = regions[kelurahan]["parent_code"]
    other_rt = next(
        code
        for code, r in sorted(regions.items())
        if r["level"] == "rt" and code.startswith("64.72.") and not code.startswith(kelurahan + ".")
    )
    app.users.add("dua_peran", "kelurahan", [kelurahan])
    app.users.add("dua_peran_rt", "ketua_rt", [other_rt])
    mine = demo.app.cases.start("probebaya", other_rt, 2026, "dua_peran_rt")
    app.users.grant("dua_peran", "ketua_rt", other_rt)  # one user holding both grants
    inbox = {row["id"]: row for row in app.cases.inbox("dua_peran", limit=500).rows}
    assert mine["id"] in inbox  # ketua_rt in their RT: draft waits for the rembug
    assert inbox and all(
        row["subject"] == other_rt or row["subject"].startswith(kelurahan + ".")
        for row in inbox.values()
    )
    # the draft cases in the kelurahan wait for its ketua RT, not for this user
    drafts_here = [
        c["id"]
        for c in app.cases.list(state="draft", region=kelurahan, limit=500)
        if c["subject"] != other_rt
    ]
    assert drafts_here and not set(drafts_here) & set(inbox)


def test_inbox_is_empty_outside_the_scope_and_for_any_source_only_roles(demo: Scenario) -> None:
    app = demo.app
    elsewhere = next(r["code"] for r in app.regions.list(level="kelurahan") if r["code"] > "64.74")
    app.users.add("lurah_jauh", "kelurahan", [elsewhere])
    assert all(
        not row["subject"].startswith("64.72.") for row in app.cases.inbox("lurah_jauh").rows
    )
    assert app.cases.inbox("demo_auditor").rows == []


@contextmanager
def counted(app: Rukun) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(app.engine, "before_cursor_execute", count)


def test_a_list_page_and_an_inbox_page_take_the_same_statements_for_10_or_200_cases(
    scenario: Scenario,
) -> None:
    def measure() -> tuple[int, int, int, int]:
        app, rt_user = scenario.app, scenario.users["ketua_rt"]
        app.cases.page(limit=50, viewer="demo_city")  # parsed definitions cached
        with counted(app) as listing:
            first = app.cases.page(limit=50, viewer="demo_city", sort="-updated_at")
            app.cases.page(
                limit=50, viewer="demo_city", sort="-updated_at", cursor=first.next_cursor
            )
        with counted(app) as searching:
            app.cases.page(limit=50, viewer="demo_kelurahan", search="RT", program="probebaya")
        with counted(app) as inbox:
            page = app.cases.inbox(rt_user, limit=50)
        with counted(app) as next_inbox:
            if page.next_cursor:
                app.cases.inbox(rt_user, limit=50, cursor=page.next_cursor)
        return len(listing), len(searching), len(inbox), len(next_inbox)

    for _ in range(10):
        scenario.start()
    few = measure()
    for _ in range(190):
        scenario.start()
    many = measure()
    assert few[:3] == many[:3]
    assert many[2] <= 10 and many[3] <= 10 and many[0] <= 16


def test_the_migrations_create_the_schema_the_models_declare(app: Rukun) -> None:
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_case_list_headers_sort_both_ways_and_next_page_keeps_sort_and_filters(
    scenario: Scenario,
) -> None:
    from admin.app import create_app
    from tests.integration.test_admin import login, user_with_password

    for year in (2026, 2027, 2028) * 20:
        scenario.start(year=year)
    name = user_with_password(scenario, "city", "64.72")
    client = create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
    login(client, name)

    def ids(page: str) -> list[int]:
        return [int(i) for i in re.findall(r'name="case_id" value="(\d+)"', page)]

    first = client.get("/cases/", query_string={"sort": "-year", "program": "probebaya"})
    page = first.get_data(as_text=True)
    assert len(ids(page)) == 50
    assert 'href="/cases/?program=probebaya&amp;sort=year"' in page  # toggles to ascending
    assert "&darr;" in page and 'aria-sort="descending"' in page
    [next_href] = re.findall(r'href="([^"]*cursor=[^"]*)"', page)
    assert "sort=-year" in next_href and "program=probebaya" in next_href
    second = client.get(next_href.replace("&amp;", "&")).get_data(as_text=True)
    everything = scenario.app.cases.list(sort="-year", limit=1000)
    assert ids(page) + ids(second) == [c["id"] for c in everything]


def test_inbox_screen_pages_the_sql_inbox(scenario: Scenario) -> None:
    from admin.app import create_app
    from tests.integration.test_admin import login, user_with_password

    name = user_with_password(scenario, "ketua_rt", scenario.rt)
    for _ in range(55):
        scenario.start()
    client = create_app(scenario.app, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
    login(client, name)
    page = client.get("/").get_data(as_text=True)
    shown = re.findall(r'href="/cases/(\d+)"', page)
    assert len(shown) == 50
    [next_href] = re.findall(r'href="([^"]*cursor=[^"]*)"', page)
    rest = re.findall(r'href="/cases/(\d+)"', client.get(next_href).get_data(as_text=True))
    assert len(rest) == 5 and not set(rest) & set(shown)
