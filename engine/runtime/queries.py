"""The read side of cases at scale: a page of the case list under any sort, and the inbox,
each one keyset page in SQL (no counting, no query per case).

Paging is by keyset: a page ends with an opaque cursor holding the last case's sort value
and id, and the next page starts strictly after it. A sort on a column that may be NULL
(``due_at``) or the inbox's "overdue first" is read in *segments* (non-NULL values, then
NULLs; overdue, then the rest), each an index-friendly range, so a page costs at most one
query per segment whatever the table's size.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    TypeDecorator,
    and_,
    case,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, defer, raiseload

from engine.errors import InvalidQuery
from engine.language import Definition
from engine.runtime.access import Actor
from engine.store.models import Case, DefinitionVersion, Region
from engine.text import Label

#: Sort names the case list accepts (``-name``: descending) and the column each reads.
SORTS: Mapping[str, InstrumentedAttribute[Any]] = {
    "id": Case.id,
    "updated_at": Case.updated_at,
    "created_at": Case.created_at,
    "due_at": Case.due_at,
    "year": Case.year,
    "state": Case.state,
    "subject": Case.subject_code,
    "program": Case.program,
}
DEFAULT_SORT = "id"
INBOX = "inbox"


@dataclass(frozen=True)
class Page:
    """One page of cases (as ``case_json`` shows them) and the cursor of the next page
    (None: this is the last one)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Segment:
    """A part of the ordering: cases matching ``where``, ordered by ``key`` (None: by id
    only) and then id, both ascending or both descending."""

    where: ColumnElement[bool] | None
    key: InstrumentedAttribute[Any] | None
    descending: bool


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the case ``id`` whose sort value is ``value`` in
    segment ``segment`` of the ordering ``order``; ``now`` pins the inbox's "overdue"."""

    order: str
    segment: int
    value: Any
    id: int
    now: dt.datetime | None = None

    def encode(self) -> str:
        raw = json.dumps(
            [self.order, self.segment, _encode_value(self.value), self.id, _encode_value(self.now)],
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, order: str, segments: Sequence[Segment]) -> Cursor:
        """The cursor in ``text``, checked against ``order`` and its ``segments``: the
        segment exists, the id is a case id and the value has the type its sort column
        holds. Cursors are not signed (the engine keeps no secret, and a forged one only
        starts a page elsewhere in what the reader may see anyway), so a hand-made one must
        be refused here rather than reach the database as something else. Raises
        :class:`InvalidQuery` saying what is wrong."""
        if len(text) > MAX_CURSOR_CHARS:
            raise _bad_cursor(
                f"lebih dari {MAX_CURSOR_CHARS} karakter",
                f"longer than {MAX_CURSOR_CHARS} characters",
            )
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, binascii.Error) as exc:
            raise _bad_cursor(
                "bukan buatan daftar ini", "not one this list made", _shown(text)
            ) from exc
        if not isinstance(raw, list) or len(raw) != 5:
            raise _bad_cursor("bukan buatan daftar ini", "not one this list made", _shown(text))
        name, segment, value, case_id, now = raw
        if name != order:
            shown = _clip(name) if isinstance(name, str) else "?"
            raise InvalidQuery(
                Label(
                    id=f"penanda halaman ini untuk urutan '{shown}', bukan '{order}'",
                    en=f"the page cursor is for the order '{shown}', not '{order}'",
                )
            )
        if not _is_int(segment) or not 0 <= segment < len(segments):
            raise _bad_cursor(*NO_SUCH_SEGMENT)
        if not _is_int(case_id) or not ID_MIN <= case_id <= ID_MAX:
            raise _bad_cursor("id kasus di dalamnya bukan id kasus", "the case id is not a case id")
        key = segments[segment].key
        if key is None and value is not None:
            raise _bad_cursor(
                "bagian urutan ini tidak memiliki nilai urut",
                "this part of the ordering has no sort value",
            )
        return cls(
            order,
            segment,
            None if key is None else _typed(value, key),
            case_id,
            None if now is None else _moment(now),
        )


#: Cursors this module makes are well under this; a longer one is not one of them.
MAX_CURSOR_CHARS = 1000
#: Case ids and other integer columns (``INTEGER`` on PostgreSQL: 32 bits).
ID_MIN, ID_MAX = -(2**31), 2**31 - 1


def _encode_value(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, dt.datetime) else value


#: Why a cursor naming a part of the ordering that is not there is refused (id, en).
NO_SUCH_SEGMENT = ("tidak ada bagian urutan seperti itu", "no such part of the ordering")


def _bad_cursor(id_reason: str, en_reason: str, shown: str = "") -> InvalidQuery:
    """The refusal of a page cursor this list did not make (``shown``: the cursor, clipped)."""
    named = f" {shown}" if shown else ""
    return InvalidQuery(
        Label(
            id=f"penanda halaman{named} tidak sah: {id_reason}",
            en=f"invalid page cursor{named}: {en_reason}",
        )
    )


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _shown(text: str) -> str:
    return repr(_clip(text))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _typed(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    """``value`` as the sort column ``column`` holds it; :class:`InvalidQuery` otherwise."""
    sql_type = column.type
    expected = (sql_type.impl if isinstance(sql_type, TypeDecorator) else sql_type).python_type
    if expected is dt.datetime:
        return _moment(value)
    if expected is int and _is_int(value) and ID_MIN <= value <= ID_MAX:
        return value
    if expected is str and isinstance(value, str) and "\x00" not in value:
        length = getattr(column.type, "length", None)
        if length is None or len(value) <= length:
            return value
    raise _bad_cursor(
        f"nilai {column.key} di dalamnya bukan nilai yang dapat dimiliki sebuah kasus",
        f"its {column.key} value is not one a case can have",
    )


def _moment(value: Any) -> dt.datetime:
    """A cursor's time: ``{"t": ISO 8601 with a zone}``."""
    if isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str):
        try:
            moment = dt.datetime.fromisoformat(value["t"])
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise _bad_cursor(
        "waktu di dalamnya bukan waktu dengan zona waktu", "a time in it is not a time with a zone"
    )


def parse_sort(sort: str | None) -> tuple[str, bool]:
    """``"-updated_at"`` -> ("updated_at", descending); :class:`InvalidQuery` if unknown."""
    sort = (sort or DEFAULT_SORT).strip()
    name = sort.removeprefix("-")
    if name not in SORTS:
        raise InvalidQuery(
            Label(
                id=f"tidak dapat mengurutkan menurut '{_clip(sort)}' (pilih dari "
                f"{', '.join(SORTS)}, atau -nama)",
                en=f"cannot sort by '{_clip(sort)}' (choose from {', '.join(SORTS)}, or -name)",
            )
        )
    return name, sort.startswith("-")


def sort_segments(sort: str | None) -> list[Segment]:
    """The ordering of a sort: one segment, or non-NULL values then NULLs (always last)."""
    name, descending = parse_sort(sort)
    column = SORTS[name]
    if name == "id":
        return [Segment(None, None, descending)]
    if column.nullable:
        return [
            Segment(column.is_not(None), column, descending),
            Segment(column.is_(None), None, descending),
        ]
    return [Segment(None, column, descending)]


def inbox_segments(now: dt.datetime) -> list[Segment]:
    """Overdue first, then the rest; oldest ``updated_at`` first in each."""
    return [
        Segment(Case.due_at < now, Case.updated_at, False),
        Segment(or_(Case.due_at.is_(None), Case.due_at >= now), Case.updated_at, False),
    ]


def broad(path: str) -> bool:
    """Whether the region with this path is a provinsi or a kota: it holds a large share of
    all cases, so a page of them is found faster along the sort order's index than by
    collecting the region's cases and sorting them."""
    return path.count("/") <= 1


def within(path: str, dialect: str) -> ColumnElement[bool]:
    """Cases whose subject lies in the region with this path (itself or below it).

    Written so an index holding ``region_path`` serves it: a range on SQLite (whose LIKE
    cannot use a binary-collated index), a prefix LIKE on PostgreSQL (whose indexes on
    ``region_path`` use ``varchar_pattern_ops``; a range would depend on the database's
    collation). The region and everything below it are one range of paths (``path`` up to
    ``path + "0"``: codes are digits and dots, so ``"<path>/..."`` sorts after ``"<path>/"``
    and before ``"<path>0"``), narrowed to the region itself or below a ``/``; the range
    alone lets the index seek it, as the third column of ``ix_cases_definition_version_state``
    too."""
    column: Any = Case.region_path
    if dialect == "sqlite":
        if broad(path):
            # Without statistics SQLite guesses any range on region_path is narrow and sorts
            # the whole scope; an expression it cannot index makes it walk the sort order's
            # index instead.
            column = Case.region_path.concat("")
            return or_(column == path, and_(column > path + "/", column < path + "0"))
        return and_(column >= path, column < path + "0", or_(column == path, column > path + "/"))
    escaped = path.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return and_(
        column.like(escaped + "%", escape="!"),
        or_(column == path, column.like(escaped + "/%", escape="!")),
    )


def region_paths(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Region code -> path for those codes that exist (one query)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = session.execute(select(Region.code, Region.path).where(Region.code.in_(wanted)))
    return {code: path for code, path in rows}


def scope_filter(session: Session, actor: Actor, dialect: str) -> ColumnElement[bool] | None:
    """A WHERE clause limiting cases to the actor's regions (None: no limit)."""
    if any(g.region_code is None for g in actor.grants):
        return None
    paths = region_paths(session, (g.region_code for g in actor.grants if g.region_code))
    if not paths:
        return false()
    return or_(*(within(path, dialect) for path in sorted(set(paths.values()))))


def search_filter(session: Session, text: str, dialect: str, limit: int) -> ColumnElement[bool]:
    """A case number, or part of the subject's name, or the start of its code. The subject
    matches are a subquery on the (small) regions table.

    PostgreSQL's statistics tell it whether to read the matching subjects' cases by index
    and sort them, or to walk the sort order and keep the matching ones. SQLite has none
    (it would always sort every match), so on SQLite one count on regions estimates how far
    a walk would go to fill a page (cases spread over regions alike): when that is within
    :data:`WALK_ROWS`, the subject is written so SQLite cannot index it and walks."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= ID_MAX:
        return Case.id == int(text)
    matches = Region.name.ilike(f"%{text}%") | Region.code.startswith(text, autoescape=True)
    subjects = select(Region.code).where(matches)
    column: Any = Case.subject_code
    if dialect == "sqlite":
        regions, matching = session.execute(
            select(func.count(), func.count(case((matches, 1))))
        ).one()
        if matching and (limit + 1) * regions <= WALK_ROWS * matching:
            column = Case.subject_code.concat("")
    return column.in_(subjects)


#: How many cases a page may walk past on SQLite before reading the matches by index and
#: sorting them is the better plan (a walk of this many rows takes about a millisecond).
WALK_ROWS = 2000


def actionable_filter(
    session: Session,
    actor: Actor,
    definitions: Sequence[tuple[int, Definition]],
    dialect: str,
) -> ColumnElement[bool]:
    """Cases where ``actor`` may fire a transition now (guards aside): for each region they
    hold roles in, the cases within it whose (definition version, state) is a source of a
    transition (not a "*" one) one of those roles may fire. Final states are never sources,
    so final cases never match."""
    roles_by_region: dict[str | None, set[str]] = {}
    for grant in actor.grants:
        roles_by_region.setdefault(grant.region_code, set()).add(grant.role)
    paths = region_paths(session, (code for code in roles_by_region if code))
    clauses = []
    for code, roles in sorted(roles_by_region.items(), key=lambda item: item[0] or ""):
        if code is not None and code not in paths:
            continue
        # a kota, a provinsi or everywhere: walk the updated_at index rather than collect
        # and sort every actionable case (SQLite; PostgreSQL's statistics choose for it)
        walk = dialect == "sqlite" and (code is None or broad(paths[code]))
        pairs = _sources(definitions, roles, indexed=not walk)
        if pairs is None:
            continue
        clauses.append(pairs if code is None else and_(within(paths[code], dialect), pairs))
    return or_(*clauses) if clauses else false()


def _sources(
    definitions: Sequence[tuple[int, Definition]], roles: set[str], *, indexed: bool
) -> ColumnElement[bool] | None:
    """(definition version, state) pairs from which one of ``roles`` may fire, as SQL; not
    ``indexed``: written so SQLite cannot look them up in an index."""
    version: Any = Case.definition_version_id if indexed else Case.definition_version_id + 0
    clauses = []
    for version_id, definition in definitions:
        states = sorted(
            {
                state
                for t in definition.transitions
                if not t.any_source and roles & set(t.roles)
                for state in t.sources
            }
        )
        if states:
            clauses.append(and_(version == version_id, Case.state.in_(states)))
    return or_(*clauses) if clauses else None


def page_cases(
    session: Session,
    query: Select[Case],
    segments: Sequence[Segment],
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[tuple[Case, int]], bool]:
    """Up to ``limit`` cases after ``cursor`` in the order of ``segments``, each with its
    segment, and whether more follow. One query per segment read, at most."""
    found: list[tuple[Case, int]] = []
    first = cursor.segment if cursor else 0
    if not 0 <= first < len(segments):
        raise _bad_cursor(*NO_SUCH_SEGMENT)
    # the relationships are looked up once per page (page_lookups), not joined per row
    loaded = query.options(raiseload(Case.definition_version), raiseload(Case.subject))
    for index in range(first, len(segments)):
        segment = segments[index]
        part = loaded if segment.where is None else loaded.where(segment.where)
        if cursor is not None and index == cursor.segment:
            part = part.where(_after(segment, cursor))
        order: list[Any] = [] if segment.key is None else [segment.key]
        order.append(Case.id)
        if segment.descending:
            order = [column.desc() for column in order]
        part = part.order_by(*order).limit(limit + 1 - len(found))
        found.extend((case, index) for case in session.scalars(part))
        if len(found) > limit:
            return found[:limit], True
    return found, False


def _after(segment: Segment, cursor: Cursor) -> ColumnElement[bool]:
    """Strictly after the cursor within its segment. ``key >= v AND (key > v OR id > i)``
    rather than a row comparison, so the key's index bounds the scan on every backend."""
    key, value, case_id = segment.key, cursor.value, cursor.id
    if key is None:
        return Case.id < case_id if segment.descending else Case.id > case_id
    if value is None:
        raise _bad_cursor("tidak ada nilai urut", "no sort value")
    if segment.descending:
        return and_(key <= value, or_(key < value, Case.id < case_id))
    return and_(key >= value, or_(key > value, Case.id > case_id))


def cursor_after(
    case: Case, segment_index: int, segments: Sequence[Segment], order: str, now: dt.datetime | None
) -> Cursor:
    """The cursor of the page that follows ``case``."""
    key = segments[segment_index].key
    value = None if key is None else getattr(case, key.key)
    return Cursor(order, segment_index, value, case.id, now)


def published_and_running(session: Session) -> list[DefinitionVersion]:
    """Every stored definition version (cases stay pinned to superseded ones), without their
    YAML source: the parsed definitions are cached by version id."""
    return list(
        session.scalars(
            select(DefinitionVersion)
            .where(DefinitionVersion.status != "draft")
            .options(defer(DefinitionVersion.source))
            .order_by(DefinitionVersion.id)
        )
    )


def page_lookups(
    session: Session, cases: Sequence[Case]
) -> tuple[dict[int, DefinitionVersion], dict[str, str]]:
    """The definition versions (without their source) and the subjects' names of a page of
    cases: two queries, whatever the page's size."""
    version_ids = sorted({case.definition_version_id for case in cases})
    codes = sorted({case.subject_code for case in cases})
    versions: dict[int, DefinitionVersion] = {}
    names: dict[str, str] = {}
    if version_ids:
        versions = {
            v.id: v
            for v in session.scalars(
                select(DefinitionVersion)
                .where(DefinitionVersion.id.in_(version_ids))
                .options(defer(DefinitionVersion.source))
            )
        }
    if codes:
        names = {
            code: name
            for code, name in session.execute(
                select(Region.code, Region.name).where(Region.code.in_(codes))
            )
        }
    return versions, names
