"""What anyone may read without signing in (the public page for residents): the region
tree with how many cases lie below each region, and for one RT (or another region cases
belong to) and year each case's program, state, money, decisions and public documents,
and the newest anchor over the history.

Every value is picked here, one by one, from what is public: a case's data, a record's
payload, actors, user and file names never leave this module. Who decided is said by role.
A read-only query module: it never writes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.language import Definition
from engine.language.checking import humanize
from engine.language.model import Label
from engine.runtime import queries
from engine.runtime.context import Context
from engine.runtime.evaluation import stored_ledger
from engine.store.models import (
    AnchorHead,
    Case,
    ChainAnchor,
    DefinitionVersion,
    Document,
    Region,
    TransitionRecord,
)

#: The level residents start browsing at; groups are shown on the page of their RT.
TOP_LEVEL = "kota"
GROUP = "group"
#: Years a public URL may name: anything else is no page (and never reaches the database
#: as a number its integer column cannot hold).
YEARS = range(1900, 10000)
NO_DOCUMENT = Label(id="tidak ada dokumen publik seperti itu", en="no such public document")
SHA256 = re.compile(r"[0-9a-f]{64}")
#: What a record that is not a transition of the workflow did, and who made the system's.
KIND_LABELS = {
    "start": Label("Kasus dibuka", "Case opened"),
    "escalation": Label("Tenggat terlewati, diteruskan ke atasan", "Deadline passed, escalated"),
    "migration": Label("Dipindahkan ke versi baru alur kerja", "Moved to a new workflow version"),
}
SYSTEM = Label("Sistem", "System")


@dataclass(frozen=True)
class PublicRegion:
    code: str
    level: str
    name: str


@dataclass(frozen=True)
class RegionEntry:
    """A region below the one shown: how many cases lie in it, the years of its own cases
    (those with a page of their own), and for an RW its RTs."""

    region: PublicRegion
    cases: int
    years: tuple[int, ...]
    children: tuple[RegionEntry, ...] = ()


@dataclass(frozen=True)
class RegionPage:
    """A region (None: the top, the kota list), the regions above it, those below it, and
    the years in which it has cases of its own."""

    region: PublicRegion | None
    ancestors: tuple[PublicRegion, ...]
    children: tuple[RegionEntry, ...]
    years: tuple[int, ...]


@dataclass(frozen=True)
class Decision:
    """One history record: when, what (the transition's label), by which role, to which state."""

    at: dt.datetime
    label: Label
    role: Label
    state: Label


@dataclass(frozen=True)
class PublicDocument:
    """A document of a field the definition marks ``public``, as the record that attached
    it has it (never its uploaded file name)."""

    case_id: int
    field: str
    label: Label
    sha256: str
    at: dt.datetime
    size: int
    media_type: str


@dataclass(frozen=True)
class AnchorFacts:
    digest: str
    at: dt.datetime
    cases: int


@dataclass(frozen=True)
class PublicCase:
    id: int
    program: str
    title: Label
    subject: PublicRegion
    state: Label
    final: bool
    approved: int
    disbursed: int
    #: Spent as the accepted LPJs account for it.
    accounted: int
    decisions: tuple[Decision, ...]
    documents: tuple[PublicDocument, ...]
    #: The newest anchor covering the case, and whether the case changed after it.
    anchor: AnchorFacts | None
    changed_since_anchor: bool


@dataclass(frozen=True)
class RegionYear:
    """The public page of a region (an RT, usually) and a year."""

    region: PublicRegion
    ancestors: tuple[PublicRegion, ...]
    year: int
    cases: tuple[PublicCase, ...]
    #: The newest anchor over every case's history.
    anchor: AnchorFacts | None


def _region(row: Region) -> PublicRegion:
    return PublicRegion(row.code, row.level, row.name)


def _anchor(row: ChainAnchor | None) -> AnchorFacts | None:
    return None if row is None else AnchorFacts(row.root, row.at, row.cases)


class Public:
    """The public page's reads (no sign-in, so no scope: only what anyone may see)."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def regions(self, code: str | None = None) -> RegionPage:
        """The region ``code`` with the regions below it (an RW with its RTs) and how many
        cases each holds; without ``code`` the kota that have cases. Groups are not
        regions to browse: their cases belong to the page of the region above them."""
        with self.context.sessions() as session:
            if code is None:
                kota = session.scalars(
                    select(Region).where(Region.level == TOP_LEVEL).order_by(Region.code)
                )
                tally = _Tally(self._case_rows(session, None))
                children = tuple(e for e in tally.entries(kota) if e.cases)
                return RegionPage(None, (), children, ())
            region = self._browsable(session, code)
            tally = _Tally(self._case_rows(session, region.path))
            below = list(self._children(session, [region.code]))
            rws = [r.code for r in below if r.level == "rw"]
            nested: dict[str | None, list[Region]] = defaultdict(list)
            for row in self._children(session, rws) if rws else ():
                nested[row.parent_code].append(row)
            children = tuple(
                entry
                if entry.region.level != "rw"
                else RegionEntry(
                    entry.region,
                    entry.cases,
                    entry.years,
                    tuple(tally.entries(nested[entry.region.code])),
                )
                for entry in tally.entries(below)
            )
            return RegionPage(
                _region(region),
                self._ancestors(session, region),
                children,
                tally.own_years(region.code),
            )

    def rt_year(self, code: str, year: int) -> RegionYear:
        """The cases of ``year`` that belong to region ``code`` (an RT, or any region that
        is not a group): those about the region itself or about a group registered
        directly under it. :class:`NotFound` if there are none."""
        with self.context.sessions() as session:
            region = self._browsable(session, code)
            if year not in YEARS:
                raise NotFound(
                    Label(
                        id=f"tidak ada halaman publik untuk {code} pada tahun {year}",
                        en=f"no public page for {code} in {year}",
                    )
                )
            groups = select(Region.code).where(
                Region.parent_code == region.code, Region.level == GROUP
            )
            cases = list(
                session.scalars(
                    select(Case)
                    .where(Case.year == year)
                    .where(or_(Case.subject_code == region.code, Case.subject_code.in_(groups)))
                    .order_by(Case.id)
                )
            )
            if not cases:
                raise NotFound(
                    Label(
                        id=f"tidak ada kasus {region.code} pada tahun {year}",
                        en=f"no cases of {region.code} in {year}",
                    )
                )
            labels = _Labels(self.context, session)
            latest = session.scalar(select(ChainAnchor).order_by(ChainAnchor.id.desc()).limit(1))
            return RegionYear(
                _region(region),
                self._ancestors(session, region),
                year,
                tuple(self._case(session, case, labels) for case in cases),
                _anchor(latest),
            )

    def document(self, case_id: int, sha256: str) -> PublicDocument:
        """The document ``sha256`` if one of case ``case_id``'s records attached it to a
        public document field; :class:`NotFound` otherwise, whatever else it may be (a
        private document of the same case, a public one of another case)."""
        if not (queries.ID_MIN <= case_id <= queries.ID_MAX and SHA256.fullmatch(sha256)):
            raise NotFound(NO_DOCUMENT)
        with self.context.sessions() as session:
            case = session.get(Case, case_id)
            if case is not None:
                for document in self._documents(session, case):
                    if document.sha256 == sha256:
                        return document
        raise NotFound(NO_DOCUMENT)

    # -- the parts ----------------------------------------------------------------------

    def _browsable(self, session: Session, code: str) -> Region:
        region = session.get(Region, code) if len(code) <= 64 else None
        if region is None or region.level == GROUP:
            raise NotFound(
                Label(
                    id=f"tidak ada halaman publik untuk wilayah {code}",
                    en=f"no public page for region {code}",
                )
            )
        return region

    @staticmethod
    def _children(session: Session, parents: Sequence[str]) -> Iterable[Region]:
        return session.scalars(
            select(Region)
            .where(Region.parent_code.in_(parents), Region.level != GROUP)
            .order_by(Region.code)
        )

    @staticmethod
    def _ancestors(session: Session, region: Region) -> tuple[PublicRegion, ...]:
        codes = region.ancestor_codes[:-1]
        found = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
        return tuple(_region(found[c]) for c in codes if c in found)

    def _case_rows(self, session: Session, path: str | None) -> list[tuple[str, int, bool, int]]:
        """(region path, year, whether the subject is a group, cases) of every case in the
        region with ``path`` (None: everywhere)."""
        query = (
            select(Case.region_path, Case.year, Region.level == GROUP, func.count(Case.id))
            .join(Region, Region.code == Case.subject_code)
            .group_by(Case.region_path, Case.year, Region.level)
        )
        if path is not None:
            query = query.where(queries.within(path, self.context.engine.dialect.name))
        return [(p, y, bool(g), n) for p, y, g, n in session.execute(query)]

    def _case(self, session: Session, case: Case, labels: _Labels) -> PublicCase:
        definition = self.context.definition(case.definition_version)
        state = definition.state(case.state)
        totals = stored_ledger(session, case.id).totals()
        records = session.execute(
            select(
                TransitionRecord.kind,
                TransitionRecord.trigger,
                TransitionRecord.source,
                TransitionRecord.dest,
                TransitionRecord.role,
                TransitionRecord.at,
                TransitionRecord.definition_version,
            )
            .where(TransitionRecord.case_id == case.id)
            .order_by(TransitionRecord.seq)
        )
        decisions = tuple(
            labels.decision(case.program, kind, trigger, source, dest, role, at, version)
            for kind, trigger, source, dest, role, at, version in records
        )
        covering = session.execute(
            select(ChainAnchor, AnchorHead.seq)
            .join(AnchorHead, AnchorHead.anchor_id == ChainAnchor.id)
            .where(AnchorHead.case_id == case.id)
            .order_by(ChainAnchor.id.desc())
            .limit(1)
        ).first()
        return PublicCase(
            id=case.id,
            program=case.program,
            title=definition.title,
            subject=_region(case.subject),
            state=state.label,
            final=state.final,
            approved=totals["approved"],
            disbursed=totals["disbursed"],
            accounted=totals["spent"],
            decisions=decisions,
            documents=self._documents(session, case),
            anchor=_anchor(covering[0]) if covering else None,
            changed_since_anchor=covering is None or covering[1] < case.version,
        )

    def _documents(self, session: Session, case: Case) -> tuple[PublicDocument, ...]:
        """The case's public documents, each once, in the order its records attached them
        (the case's data holds nothing its records did not bring)."""
        definition = self.context.definition(case.definition_version)
        public = _public_fields(definition)
        if not public:
            return ()
        attached: dict[tuple[str, str], dt.datetime] = {}
        records = session.execute(
            select(TransitionRecord.documents, TransitionRecord.at)
            .where(TransitionRecord.case_id == case.id)
            .order_by(TransitionRecord.seq)
        )
        for documents, at in records:
            for name, sha256 in (documents or {}).items():
                if name in public and isinstance(sha256, str):
                    attached.setdefault((name, sha256), at)
        if not attached:
            return ()
        stored = {
            row.sha256: row
            for row in session.scalars(
                select(Document).where(Document.sha256.in_({sha for _, sha in attached}))
            )
        }
        return tuple(
            PublicDocument(
                case.id,
                name,
                public[name],
                sha256,
                at,
                stored[sha256].size,
                stored[sha256].media_type,
            )
            for (name, sha256), at in attached.items()
            if sha256 in stored
        )


def _public_fields(definition: Definition) -> dict[str, Label]:
    return {
        name: spec.label
        for name, spec in definition.fields.items()
        if spec.type == "document" and spec.public
    }


class _Tally:
    """Cases counted by every region on their paths, and the years of each region's own
    cases (a case about a group belongs to the region the group is registered under)."""

    def __init__(self, rows: Iterable[tuple[str, int, bool, int]]) -> None:
        self.cases: dict[str, int] = defaultdict(int)
        self.years: dict[str, set[int]] = defaultdict(set)
        for path, year, about_group, count in rows:
            codes = path.split("/")
            for code in codes:
                self.cases[code] += count
            owner = codes[-2] if about_group and len(codes) > 1 else codes[-1]
            self.years[owner].add(year)

    def own_years(self, code: str) -> tuple[int, ...]:
        return tuple(sorted(self.years.get(code, ()), reverse=True))

    def entries(self, regions: Iterable[Region]) -> list[RegionEntry]:
        return [
            RegionEntry(_region(r), self.cases.get(r.code, 0), self.own_years(r.code))
            for r in regions
        ]


class _Labels:
    """A record's labels under the definition version it was made in (a migrated case's
    earlier records name the transitions of its earlier version)."""

    def __init__(self, context: Context, session: Session) -> None:
        self.context, self.session = context, session
        self._definitions: dict[tuple[str, int], Definition | None] = {}

    def definition(self, program: str, version: int) -> Definition | None:
        key = (program, version)
        if key not in self._definitions:
            row = self.session.scalar(
                select(DefinitionVersion).where(
                    DefinitionVersion.program == program, DefinitionVersion.version == version
                )
            )
            self._definitions[key] = None if row is None else self.context.definition(row)
        return self._definitions[key]

    def decision(
        self,
        program: str,
        kind: str,
        trigger: str,
        source: str | None,
        dest: str,
        role: str | None,
        at: dt.datetime,
        version: int,
    ) -> Decision:
        definition = self.definition(program, version)
        label = KIND_LABELS.get(kind)
        if label is None:
            transition = definition.transition(trigger, source) if definition and source else None
            label = transition.label if transition else humanize(trigger)
        return Decision(
            at=at,
            label=label,
            role=SYSTEM if role is None else _role_label(definition, role),
            state=definition.state(dest).label
            if definition and definition.has_state(dest)
            else humanize(dest),
        )


def _role_label(definition: Definition | None, role: str) -> Label:
    spec = definition.roles.get(role) if definition else None
    return spec.label if spec else humanize(role)
