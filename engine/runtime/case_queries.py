"""The read side of cases: show, history, verify, the triggers an actor may fire and why
not, the case list and the inbox (one SQL query per page). Nothing here writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidData, NotFound, RukunError, TransitionRefused
from engine.guards import evaluate_guards
from engine.language import Definition, TransitionSpec
from engine.language.model import FormItem
from engine.privacy import masked_data, may_see_pii
from engine.runtime import queries
from engine.runtime.access import Actor
from engine.runtime.attachments import document_hashes
from engine.runtime.case_links import links_view
from engine.runtime.case_views import (
    CaseQuery,
    CaseRow,
    TriggerOption,
    case_json,
    record_json,
)
from engine.runtime.context import Context
from engine.runtime.evaluation import guard_context, posting, stored_ledger
from engine.runtime.forms import clean
from engine.runtime.ledger import LedgerState
from engine.store.models import Case, Document, Region, TransitionRecord, utcnow
from engine.text import Label


def load_case(session: Session, dialect: str, case_id: int, *, lock: bool = False) -> Case:
    """The case row; with ``lock``, locked for this transaction on PostgreSQL (SQLite's
    write transactions lock the whole database already)."""
    query = select(Case).where(Case.id == case_id)
    if lock and dialect == "postgresql":
        query = query.with_for_update(of=Case)
    case = session.scalar(query)
    if case is None:
        raise no_case(case_id)
    return case


def _both(error: RukunError) -> Label:
    """An engine error's message in both languages (English where it has no other)."""
    return Label(id=error.text("id"), en=error.message)


def no_case(case_id: int) -> NotFound:
    """The error of asking for a case that does not exist."""
    return NotFound(Label(id=f"tidak ada kasus {case_id}", en=f"no case {case_id}"))


def masked_case(
    case: Case | CaseRow, definition: Definition, viewer: Actor | None, **known: Any
) -> dict[str, Any]:
    """:func:`case_json` with personal data masked unless the ``viewer``'s roles may see
    it (``None``: an anonymous, trusted reader)."""
    view = case_json(case, definition, **known)
    if not may_see_pii(definition, None if viewer is None else viewer.roles()):
        view["data"] = masked_data(definition, view["data"])
    return view


class CaseQueries:
    """Reading cases, within the reader's region scope where one is named."""

    def __init__(self, context: Context) -> None:
        self.context = context

    @property
    def dialect(self) -> str:
        return self.context.engine.dialect.name

    def _case(self, session: Session, case_id: int, *, lock: bool = False) -> Case:
        return load_case(session, self.dialect, case_id, lock=lock)

    def _view(
        self,
        session: Session,
        case: Case | CaseRow,
        definition: Definition,
        viewer: Actor | None,
        ledger_state: LedgerState | None = None,
        **known: Any,
    ) -> dict[str, Any]:
        """The case as ``case show`` presents it: with ledger and links, personal data masked
        unless the viewer's roles may see it, and linked cases outside the viewer's scope
        shown by number only (``None``: an anonymous, trusted reader). ``known``: what
        :func:`case_json` need not look up (``version``, ``subject_name``)."""
        view = masked_case(case, definition, viewer, **known)
        view["ledger"] = (ledger_state or stored_ledger(session, case.id)).to_json()
        view["links"] = links_view(session, case.id, viewer)
        return view

    def _viewer(self, session: Session, case: Case, viewer: str | None) -> Actor | None:
        """The viewer after checking they may see this case (scope), or None."""
        if viewer is None:
            return None
        actor = self.context.actor(session, viewer)
        actor.check_view(case.id, case.region_path.split("/"))
        return actor

    def show(self, case_id: int, viewer: str | None = None) -> dict[str, Any]:
        """The case with ledger and links; personal data masked unless ``viewer`` may see it."""
        with self.context.sessions() as session:
            case = self._case(session, case_id)
            actor = self._viewer(session, case, viewer)
            return self._view(
                session, case, self.context.definition(case.definition_version), actor
            )

    def history(self, case_id: int, viewer: str | None = None) -> list[dict[str, Any]]:
        """The history records, oldest first; payloads masked like ``show``."""
        with self.context.sessions() as session:
            case = self._case(session, case_id)
            actor = self._viewer(session, case, viewer)
            definition = self.context.definition(case.definition_version)
            reveal = may_see_pii(definition, None if actor is None else actor.roles())
            records = [record_json(r) for r in self._records(session, case_id)]
        if not reveal:
            for record in records:
                record["payload"] = masked_data(definition, record["payload"])
        return records

    @staticmethod
    def _records(session: Session, case_id: int) -> list[TransitionRecord]:
        return list(
            session.scalars(
                select(TransitionRecord)
                .where(TransitionRecord.case_id == case_id)
                .order_by(TransitionRecord.seq)
            )
        )

    def documents(self, case_id: int, viewer: str | None = None) -> list[dict[str, Any]]:
        """Every document the case's history names, oldest first: each field's current
        one (``current``) and those it held before. Documents of personal-data fields are
        left out for a viewer whose roles may not see personal data."""
        with self.context.sessions() as session:
            case = self._case(session, case_id)
            actor = self._viewer(session, case, viewer)
            definition = self.context.definition(case.definition_version)
            reveal = may_see_pii(definition, None if actor is None else actor.roles())
            named = session.scalars(
                select(TransitionRecord.documents)
                .where(TransitionRecord.case_id == case_id)
                .order_by(TransitionRecord.seq)
            )
            found: dict[tuple[str, str], None] = {}
            for documents in named:
                for field, sha256 in (documents or {}).items():
                    spec = definition.fields.get(field)
                    if reveal or spec is None or not spec.pii:
                        found[(field, sha256)] = None
            stored = {
                d.sha256: d
                for d in session.scalars(
                    select(Document).where(Document.sha256.in_({sha for _, sha in found}))
                )
            }
            current = document_hashes(case.data)
        listed = []
        for field, sha256 in found:
            row = stored.get(sha256)
            value = case.data.get(field)
            is_current = current.get(field) == sha256
            filename = value.get("filename") if is_current and isinstance(value, dict) else None
            listed.append(
                {
                    "field": field,
                    "sha256": sha256,
                    "filename": filename or (row.filename if row else "") or sha256,
                    "size": row.size if row else 0,
                    "media_type": row.media_type if row else "application/octet-stream",
                    "current": is_current,
                }
            )
        return listed

    def document(self, case_id: int, sha256: str, viewer: str | None = None) -> dict[str, Any]:
        """One of :meth:`documents` by its sha256 (the field's current one first);
        :class:`NotFound` if the case names no such document the viewer may see."""
        matching = [d for d in self.documents(case_id, viewer) if d["sha256"] == sha256]
        if not matching:
            raise NotFound(
                Label(
                    id=f"kasus {case_id} tidak memiliki dokumen {sha256[:64]}",
                    en=f"case {case_id} has no document {sha256[:64]}",
                )
            )
        return max(matching, key=lambda d: d["current"])

    def verify(self, case_id: int) -> list[dict[str, Any]]:
        """Problems in the case's history chain and between it and the case's stored rows,
        ledger, links and documents (empty when intact): ``rukun audit verify`` for one
        case."""
        from engine.audit.verify import Verifier

        with self.context.sessions() as session:
            self._case(session, case_id)
        return [{"seq": f.seq, "reason": f.reason} for f in Verifier(self.context, case_id).run()]

    def triggers(
        self, case_id: int, actor_name: str, values: Mapping[str, Any] | None = None
    ) -> list[TriggerOption]:
        """Every trigger out of the case's state with whether ``actor_name`` may fire it now
        and why not; guards that read form fields not yet given are reported as pending."""
        with self.context.sessions() as session:
            case = self._case(session, case_id)
            definition = self.context.definition(case.definition_version)
            actor = self.context.actor(session, actor_name)
            options = []
            for transition in definition.transitions_from(case.state):
                options.append(
                    self._option(session, case, definition, actor, transition, values or {})
                )
            return options

    def _option(
        self,
        session: Session,
        case: Case,
        definition: Definition,
        actor: Actor,
        transition: TransitionSpec,
        values: Mapping[str, Any],
    ) -> TriggerOption:
        problems: list[Label] = []  # what refuses it besides its guards
        action = Label(
            id=f"menjalankan langkah '{transition.label.id}'", en=f"fire '{transition.trigger}'"
        )
        try:
            actor.authorize(transition.roles, case.region_path.split("/"), action)
        except RukunError as exc:
            problems.append(_both(exc))
        permitted = not problems
        given = {k: v for k, v in values.items() if k in transition.form_fields}
        try:
            payload = clean(definition, [FormItem(f, False) for f in transition.form_fields], given)
        except InvalidData as exc:
            payload = {}
            problems.append(_both(exc))
        pending = {f for f in transition.form_fields if f not in payload}
        data = {**case.data, **payload}
        try:  # guards see the ledger as this firing would leave it, as in fire()
            after: LedgerState | None = posting(
                stored_ledger(session, case.id), transition, data, case.id
            )[1]
        except TransitionRefused as refused:
            after = None
            problems.extend(Label(**g["message"]) for g in refused.guards if g.get("message"))
        results = evaluate_guards(
            transition.guards,
            guard_context(session, self.dialect, case, definition, data, after),
            pending,
        )
        reasons = [p.en for p in problems]
        reasons.extend(r.message.en for r in results if r.ok is False and r.message)
        return TriggerOption(
            transition.trigger,
            transition.label,
            transition.dest,
            not reasons,
            tuple(reasons),
            tuple(results),
            transition.form,
            permitted,
            tuple(problems),
        )

    def list(self, **query: Unpack[CaseQuery]) -> list[dict[str, Any]]:
        """The cases of one :meth:`page` (same arguments), without the next page's cursor."""
        return self.page(**query).rows

    def page(
        self,
        program: str | None = None,
        state: str | None = None,
        limit: int = 200,
        overdue: bool = False,
        viewer: str | None = None,
        now: dt.datetime | None = None,
        year: int | None = None,
        region: str | None = None,
        search: str | None = None,
        after_id: int | None = None,
        sort: str | None = None,
        cursor: str | None = None,
    ) -> queries.Page:
        """One page of cases in ``sort`` order (a column name, ``-name`` descending; default
        oldest first by id) and the cursor of the next page. With ``viewer``, only those
        within their region scope; ``overdue``: only those past their state's deadline at
        ``now`` (default: now); ``region``: within that region (any level); ``search``: a
        case number, or part of the subject's name, or the start of its code. ``cursor``
        (from the previous page) or ``after_id`` (a case id) say where the page starts:
        keyset paging, no counting, stable under any sort; NULL values sort last."""
        segments = queries.sort_segments(sort)
        order = sort or queries.DEFAULT_SORT
        dialect = self.dialect
        now = now or utcnow()
        with self.context.sessions() as session:
            query = select(Case)
            if program:
                query = query.where(Case.program == program)
            if state:
                query = query.where(Case.state == state)
            if year:
                query = query.where(Case.year == year)
            if region:
                path = session.scalar(select(Region.path).where(Region.code == region))
                if path is None:
                    raise NotFound(
                        Label(id=f"tidak ada wilayah {region}", en=f"no region {region}")
                    )
                query = query.where(queries.within(path, dialect))
            if search and search.strip():
                query = query.where(queries.search_filter(session, search, dialect, limit))
            if overdue:
                query = query.where(Case.due_at < now)
            roles: set[str] | None = None
            if viewer is not None:
                actor = self.context.actor(session, viewer)
                roles = actor.roles()
                scope = queries.scope_filter(session, actor, dialect)
                if scope is not None:
                    query = query.where(scope)
            start = self._start(session, segments, order, cursor, after_id)
            found, more = queries.page_cases(session, query, segments, start, limit)
            return self._page(session, found, more, segments, order, roles, now, None)

    def inbox(
        self,
        viewer: str,
        limit: int = 50,
        cursor: str | None = None,
        now: dt.datetime | None = None,
    ) -> queries.Page:
        """The cases ``viewer`` can act on now: not final, within the region where they hold
        a role that may fire a transition (other than a "*" one such as cancel) from the
        case's state. Overdue first, then oldest ``updated_at``; guards are not evaluated.
        One SQL query per page, built from the stored definitions."""
        dialect = self.dialect
        with self.context.sessions() as session:
            actor = self.context.actor(session, viewer)
            # the inbox's segments have the same sort keys at any time: check against now's
            shape = queries.inbox_segments(now or utcnow())
            start = queries.Cursor.decode(cursor, queries.INBOX, shape) if cursor else None
            now = (start.now if start else None) or now or utcnow()
            versions = queries.published_and_running(session)
            definitions = [(v.id, self.context.definition(v)) for v in versions]
            query = select(Case).where(
                queries.actionable_filter(session, actor, definitions, dialect)
            )
            segments = queries.inbox_segments(now)
            found, more = queries.page_cases(session, query, segments, start, limit)
            return self._page(
                session, found, more, segments, queries.INBOX, actor.roles(), now, now
            )

    @staticmethod
    def _start(
        session: Session,
        segments: Sequence[queries.Segment],
        order: str,
        cursor: str | None,
        after_id: int | None,
    ) -> queries.Cursor | None:
        """Where a page of the case list starts: the cursor, or after the case ``after_id``
        in this order (its sort value looked up once)."""
        if cursor:
            return queries.Cursor.decode(cursor, order, segments)
        if not after_id:
            return None
        if not queries.ID_MIN <= after_id <= queries.ID_MAX:
            raise no_case(after_id)
        if len(segments) == 1 and segments[0].key is None:  # by id: no lookup needed
            return queries.Cursor(order, 0, None, after_id)
        case = session.get(Case, after_id)
        if case is None:
            raise no_case(after_id)
        segment = next(
            i
            for i, s in enumerate(segments)
            if s.key is None or getattr(case, s.key.key) is not None
        )
        return queries.cursor_after(case, segment, segments, order, None)

    def _page(
        self,
        session: Session,
        found: Sequence[tuple[Case, int]],
        more: bool,
        segments: Sequence[queries.Segment],
        order: str,
        roles: set[str] | None,
        now: dt.datetime,
        pinned_now: dt.datetime | None,
    ) -> queries.Page:
        """The page as ``case_json`` rows, personal data masked unless ``roles`` may see it;
        definition versions and subjects' names are looked up once for the page."""
        versions, names = queries.page_lookups(session, [case for case, _ in found])
        rows = []
        for case, _segment in found:
            version = versions[case.definition_version_id]
            definition = self.context.definition(version)
            row = case_json(
                case, definition, now, version=version, subject_name=names[case.subject_code]
            )
            if not may_see_pii(definition, roles):
                row["data"] = masked_data(definition, row["data"])
            rows.append(row)
        next_cursor = None
        if more and found:
            last, segment = found[-1]
            next_cursor = queries.cursor_after(last, segment, segments, order, pinned_now).encode()
        return queries.Page(rows, next_cursor)
