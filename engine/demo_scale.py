"""`rukun demo --scale N`: N cases with realistic histories across the four programs, for
benchmarks and load tests; 100,000 in minutes.

Each path of ``demo_scale.yaml`` (:mod:`engine.demo_plan`) is driven once through the engine
(``cases.start`` and ``cases.fire``, every check applied) as a template case. Every other
seeded case copies a prefix of one template's history onto another subject, other actors
and other times (:mod:`engine.demo_copies`): its records are re-hashed into a chain of its
own, and its case row, ledger entries and links are what the projection `rukun audit
verify` compares with makes of those records. Rows are written with SQLAlchemy Core in
batches, so memory stays flat however many cases are seeded.

What is seeded besides cases: demo RWs, RTs and groups under every kelurahan of the demo
cities, and one user per role and region (named ``scale_<role>_<region>``) whose grants
date from before the oldest seeded record, so that replay finds every actor holding their
role, in scope, when they acted. Guard results are copied from the templates (with names
and regions swapped): quotas and duplicate checks are not evaluated again per copy."""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from engine.demo import DEMO_ANCHOR, SCALE_ANCHOR, anchored, demo_pdf, run_demo
from engine.demo_copies import BATCH, Choices, Copier, mentions, write_batch
from engine.demo_plan import (
    PATHS,
    USER_PREFIX,
    WITA,
    ProgramPlan,
    RegionIndex,
    Template,
    actor_for,
    household_members,
    load_paths,
    user_name,
)
from engine.errors import Conflict, InvalidData
from engine.runtime import Rukun
from engine.runtime.case_views import record_json
from engine.runtime.regions import DEFAULT_KOTA, DEMO_GROUPS, RegionRow
from engine.store.db import write_session
from engine.store.models import Case, GrantEvent, Region, RoleGrant, TransitionRecord, User, utcnow

Echo = Callable[[str], Any]


# --------------------------------------------------------------------------- entry points


def scale_cases(app: Rukun) -> int:
    """How many cases of the database were seeded by :func:`seed_scale`."""
    with app.context.sessions() as session:
        return (
            session.scalar(
                select(func.count(Case.id)).where(
                    Case.created_by.startswith(USER_PREFIX, autoescape=True)
                )
            )
            or 0
        )


def run_scaled_demo(app: Rukun, year: int | None, count: int, echo: Echo) -> None:
    """The demo (:func:`~engine.demo.run_demo`, unless the database holds it complete) plus
    ``count`` seeded cases, then the anchor (:data:`~engine.demo.SCALE_ANCHOR`) that marks
    the seeding complete. Nothing again when the database holds that many already; refused
    when it holds fewer, or seeded cases without that anchor (a seeding that stopped
    part-way)."""
    app.upgrade()
    existing = scale_cases(app)
    if existing and not anchored(app, SCALE_ANCHOR):
        raise Conflict(
            f"the database holds {existing} seeded cases but not the anchor that ends "
            "`rukun demo --scale`: an earlier seeding stopped part-way; start over with "
            f"`rukun demo --reset --scale {count}`, or on a new database (RUKUN_DATABASE_URL)"
        )
    if existing >= count:
        echo(f"the database holds {existing} seeded cases already: nothing seeded")
        return
    if existing:
        raise Conflict(
            f"the database holds {existing} seeded cases, fewer than {count}: "
            f"`rukun demo --reset --scale {count}` starts over with {count}"
        )
    if not anchored(app, DEMO_ANCHOR):
        run_demo(app, year, echo)
    seed_scale(app, count, year, echo)
    anchor = app.audit.anchor(SCALE_ANCHOR)
    echo(f"scale: anchor over {anchor['cases']:,} cases: {anchor['digest']}")


@dataclass
class Seeded:
    """What :func:`seed_scale` wrote."""

    cases: int = 0
    records: int = 0
    templates: int = 0
    seconds: float = 0.0


def seed_scale(
    app: Rukun, count: int, year: int | None = None, echo: Echo = print, seed: int = 2026
) -> Seeded:
    """Seed ``count`` cases (the templates among them) on a database with the four
    programs published and the demo regions loaded; ``seed`` makes the copies repeatable."""
    started = time.perf_counter()
    year = year or dt.date.today().year
    plan = load_paths(app)
    if count < sum(len(p.paths) for p in plan):
        raise InvalidData(
            f"--scale {count} is too few: at least one case per path of {PATHS.name} "
            f"({sum(len(p.paths) for p in plan)})"
        )
    now = utcnow()
    first = seeding_start(now)
    regions = ensure_regions(app)
    for program in plan:
        program.sites = regions.sites(program)
    ensure_users(app, regions, plan, first - dt.timedelta(days=1))
    echo(f"scale: {sum(len(p.sites) for p in plan)} sites, users up to date")
    templates = drive_templates(app, regions, plan, year)
    echo(f"scale: {len(templates)} template cases driven through the engine")
    done = Seeded(cases=len(templates), templates=len(templates))
    done.records = sum(len(t.records) for t in templates)
    copier = Copier(regions, random.Random(seed), first, now)
    choices = Choices(plan, templates, copier.rng)
    report_every = max(BATCH, count // 10)
    reported = 0
    for batch in choices.batches(count - len(templates)):
        done.records += write_batch(app, copier, batch)
        done.cases += sum(len(family) for family in batch)
        if done.cases - reported >= report_every or done.cases == count:
            reported = done.cases
            echo(
                f"scale: {done.cases:,} / {count:,} cases, {done.records:,} records "
                f"({time.perf_counter() - started:.0f} s)"
            )
    if app.engine.dialect.name == "postgresql":
        # what autovacuum does soon after a bulk load: the planner needs the new row counts
        with app.engine.begin() as connection:
            for table in ("cases", "transition_records", "ledger_entries", "case_links"):
                connection.execute(text(f"ANALYZE {table}"))
    done.seconds = time.perf_counter() - started
    echo(
        f"scale: seeded {done.cases:,} cases with {done.records:,} records "
        f"({done.records / done.cases:.1f} per case) in {done.seconds:.1f} s"
    )
    return done


def seeding_start(now: dt.datetime) -> dt.datetime:
    """The oldest time a seeded record may have: 330 days back, or the start of this year
    when the holiday calendar (which working-day deadlines need) knows no earlier one."""
    from lokal import add_working_days

    start = now - dt.timedelta(days=330)
    try:
        add_working_days(start.astimezone(WITA).date(), 1)
    except Exception:  # lokal knows only the years whose SKB holidays are published
        start = dt.datetime(now.astimezone(WITA).year, 1, 2, tzinfo=WITA).astimezone(dt.UTC)
    return start


# --------------------------------------------------------------------------- regions, users


def ensure_regions(app: Rukun) -> RegionIndex:
    """The demo RWs, RTs and groups of :meth:`~engine.runtime.regions.Regions.load_demo`
    under every kelurahan of the demo cities, not only the first two of each."""
    app.regions.load_demo()
    with app.context.sessions() as session:
        rows = session.execute(select(Region.code, Region.level, Region.path)).all()
    parents = {path.split("/")[-2] for _, _, path in rows if "/" in path}
    missing = [
        code
        for code, level, _ in rows
        if level == "kelurahan" and code[:5] in DEFAULT_KOTA and code not in parents
    ]
    if missing:
        app.regions.upsert(
            [(0, row) for kelurahan in missing for row in demo_rows(kelurahan)], "demo --scale"
        )
        with app.context.sessions() as session:
            rows = session.execute(select(Region.code, Region.level, Region.path)).all()
    return RegionIndex({c: lv for c, lv, _ in rows}, {c: p for c, _, p in rows})


def demo_rows(kelurahan: str) -> Iterator[RegionRow]:
    """Two RWs of three RTs, two community groups per RT: the demo shape of a kelurahan."""
    for rw in range(1, 3):
        rw_code = f"{kelurahan}.{rw:03d}"
        yield RegionRow(rw_code, "rw", f"RW {rw:03d} (demo)", kelurahan, True)
        for rt in range(1, 4):
            rt_code = f"{rw_code}.{rt:03d}"
            yield RegionRow(rt_code, "rt", f"RT {rt:03d} RW {rw:03d} (demo)", rw_code, True)
            for number, kind in enumerate(DEMO_GROUPS, start=1):
                name = f"Kelompok {kind} RT {rt:03d}/{rw:03d} (demo)"
                yield RegionRow(f"{rt_code}.k{number}", "group", name, rt_code, True)


def ensure_users(
    app: Rukun, regions: RegionIndex, plan: Sequence[ProgramPlan], since: dt.datetime
) -> None:
    """One user per role the paths use and region of that role's level over their sites,
    granted at ``since`` (before the oldest seeded record) as the grant log says."""
    wanted: set[tuple[str, str | None]] = set()
    for program in plan:
        for role in set().union(*(p.roles for p in program.paths)):
            level = program.level(role)
            for site in program.sites:
                wanted.add((role, regions.ancestor(site, level) if level else None))
    with write_session(app.context.sessions) as session:
        existing = set(session.scalars(select(User.name).where(User.name.startswith(USER_PREFIX))))
        for role, region in sorted(wanted, key=lambda w: (w[0], w[1] or "")):
            name = user_name(role, region)
            if name in existing:
                continue
            session.add(
                User(name=name, created_at=since, grants=[RoleGrant(role=role, region_code=region)])
            )
            session.add(
                GrantEvent(
                    at=since,
                    user_name=name,
                    change="granted",
                    role=role,
                    region_code=region,
                    by="demo --scale",
                )
            )


# --------------------------------------------------------------------------- templates


def drive_templates(
    app: Rukun, regions: RegionIndex, plan: Sequence[ProgramPlan], year: int
) -> list[Template]:
    """Each path once, through ``cases.start`` and ``cases.fire``, in the program's first
    site (paths that link to another path after it)."""
    templates = []
    today = dt.datetime.now(WITA).date().isoformat()
    with tempfile.TemporaryDirectory() as tmp:

        def document(name: str) -> Path:
            path = Path(tmp) / f"{name}.pdf"
            if not path.exists():
                path.write_bytes(demo_pdf(name.replace("_", " ").title()))
            return path

        for program in plan:
            site = program.sites[0]
            driven: dict[str, int] = {}
            for path in program.paths:
                subject = site + path.subject
                first_role = path.steps[0][1]
                starter = actor_for(program, regions, first_role, subject)
                case_id = app.cases.start(program.program, subject, year, starter)["id"]
                kecamatan = regions.ancestor(subject, "kecamatan")
                for trigger, role, values, files in path.steps:
                    filled = {
                        key: _fill(
                            str(value), today, year, kecamatan, case_id, driven, program, key
                        )
                        for key, value in values.items()
                    }
                    attachments = {name: document(doc) for name, doc in files.items()}
                    actor = actor_for(program, regions, role, subject)
                    app.cases.fire(case_id, trigger, actor, filled, attachments)
                driven[path.name] = case_id
                records = history(app, case_id)
                names = {actor_for(program, regions, r, subject) for r in path.roles}
                names.update(regions.paths[subject].split("/"))
                named = {i for i, r in enumerate(records) if mentions(r["guards"], names, year)}
                templates.append(Template(program, path, case_id, site, year, records, named))
    return templates


def _fill(
    value: str,
    today: str,
    year: int,
    kecamatan: str,
    case_id: int,
    driven: Mapping[str, int],
    program: ProgramPlan,
    name: str,
) -> str:
    if value == "{members}":
        spec = program.definition.fields[name]
        return json.dumps(household_members(spec, kecamatan, case_id))
    if value.startswith("{link:"):
        return json.dumps([driven[value[6:-1]]])
    return value.replace("{today}", today).replace("{year}", str(year))


def history(app: Rukun, case_id: int) -> list[dict[str, Any]]:
    with app.context.sessions() as session:
        return [
            record_json(r)
            for r in session.scalars(
                select(TransitionRecord)
                .where(TransitionRecord.case_id == case_id)
                .order_by(TransitionRecord.seq)
            )
        ]
