"""Whole-database verification, streamed: every case's chain (gaps, changed, removed,
reordered records), its rows against the projection its records give, its version against
its last record, every document file against its sha256, definitions against the sha256
their records name, and optionally an anchor's heads. Cases are read in batches, so memory
stays flat however many records there are; a missing row or file is reported, never a
crash."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, bindparam, exists, func, select
from sqlalchemy.orm import Session

from engine.audit import anchors
from engine.audit.projection import (
    LEDGER_FIELDS,
    Projection,
    case_columns,
    compare_columns,
    short,
    stored_entry,
)
from engine.language import Definition
from engine.runtime.case_views import RECORD_FIELDS, CaseRow
from engine.runtime.context import Context
from engine.runtime.definitions import sha256_text
from engine.store.chain import ChainChecker, format_time
from engine.store.models import (
    Case,
    CaseLink,
    DefinitionVersion,
    LedgerEntry,
    TransitionRecord,
)

BATCH = 500
#: A history record's columns, under the names record_json gives them.
RECORD_COLUMNS = tuple(getattr(TransitionRecord, name) for name in RECORD_FIELDS)
#: A ledger entry's columns, under the names a projection gives them.
LEDGER_COLUMNS = tuple(getattr(LedgerEntry, name) for name in LEDGER_FIELDS)
SHA256 = re.compile(r"[0-9a-f]{64}")


#: A case's columns in the order of :class:`CaseRow`'s fields (read as plain rows: looking a
#: column up by name on SQLAlchemy's ``Row`` costs as much as formatting it).
CASE_COLUMNS = tuple(getattr(Case, field.name) for field in dataclasses.fields(CaseRow))
#: Each batch's cases go in as a parameter, not into a statement of their own: a statement
#: holding the batch's ids is garbage in a reference cycle, and the ids of many batches
#: would wait in memory for the cyclic collector.
BATCH_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
LEDGER_QUERY = (
    select(LedgerEntry.case_id, *LEDGER_COLUMNS)
    .where(LedgerEntry.case_id.in_(BATCH_IDS))
    .order_by(LedgerEntry.id)
)
LINKS_QUERY = select(CaseLink.case_id, CaseLink.field, CaseLink.target_id).where(
    CaseLink.case_id.in_(BATCH_IDS)
)
# plain rows, not ORM objects: a record is read once, checked and dropped, so an identity
# map and instrumented attributes would only cost time
RECORDS_QUERY = (
    select(*RECORD_COLUMNS)
    .where(TransitionRecord.case_id.in_(BATCH_IDS))
    .order_by(TransitionRecord.case_id, TransitionRecord.seq)
    .execution_options(yield_per=1000)
)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Finding:
    """One thing wrong: ``case N seq S: reason``."""

    case_id: int | None
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"case {self.case_id}" if self.case_id is not None else "database"
        return f"{where} seq {self.seq if self.seq is not None else '-'}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "seq": self.seq, "reason": self.reason}


@dataclass
class Summary:
    cases: int = 0
    records: int = 0
    documents: int = 0
    problems: int = 0
    #: Records whose hash follows rule 1 (written before migration 0006).
    old_rule_records: int = 0
    old_rule_cases: int = 0
    anchor: dict[str, Any] | None = None

    @property
    def intact(self) -> bool:
        return self.problems == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "cases": self.cases,
            "records": self.records,
            "documents": self.documents,
            "problems": self.problems,
            "old_rule_records": self.old_rule_records,
            "old_rule_cases": self.old_rule_cases,
            "anchor": self.anchor,
        }

    def lines(self) -> list[str]:
        verdict = "intact" if self.intact else f"{self.problems} problem(s)"
        lines = [
            f"{self.cases} case(s), {self.records} record(s), {self.documents} document(s) "
            f"checked: {verdict}"
        ]
        if self.old_rule_records:
            lines.append(
                f"{self.old_rule_records} record(s) of {self.old_rule_cases} case(s) were "
                "written under chain rule 1 (before migration 0006): their hash does not "
                "cover ledger and links, which were checked by deriving them again from the "
                "definition"
            )
        if self.anchor:
            lines.append(
                f"anchor {self.anchor['digest']} of {self.anchor['at']} covers "
                f"{self.anchor['cases']} case(s), {self.anchor['records']} record(s)"
            )
        return lines


@dataclass
class PinnedDefinitions:
    """Definition versions by (program, version), each checked once against its sha256."""

    context: Context
    rows: dict[tuple[str, int], DefinitionVersion] = field(default_factory=dict)
    parsed: dict[tuple[str, int], Definition | None] = field(default_factory=dict)
    #: The version number of each definition row, by its id (what a case row names).
    versions: dict[int, int] = field(default_factory=dict)

    def load(self, session: Session) -> list[Finding]:
        findings = []
        for row in session.scalars(select(DefinitionVersion)):
            self.rows[(row.program, row.version)] = row
            self.versions[row.id] = row.version
            if sha256_text(row.source) != row.sha256:
                findings.append(
                    Finding(
                        None,
                        None,
                        f"definition {row.program} v{row.version}: its text no longer has "
                        f"the sha256 it was published with",
                    )
                )
        return findings

    def get(self, program: str, version: int) -> Definition | None:
        key = (program, version)
        if key not in self.parsed:
            row = self.rows.get(key)
            try:
                self.parsed[key] = None if row is None else self.context.definition(row)
            except Exception:  # a tampered text that no longer parses
                self.parsed[key] = None
        return self.parsed[key]

    def record_problem(self, record: dict[str, Any]) -> str | None:
        row = self.rows.get((record["program"], record["definition_version"]))
        if row is None:
            return (
                f"names definition {record['program']} v{record['definition_version']}, "
                "which is not stored"
            )
        if row.sha256 != record["definition_sha256"]:
            return (
                f"names definition {row.program} v{row.version} with sha256 "
                f"{record['definition_sha256'][:12]}, but that version's is {row.sha256[:12]}"
            )
        return None


class Verifier:
    """One verification run; :meth:`run` yields findings as it goes, :attr:`summary` holds
    the counts when it is done."""

    def __init__(
        self,
        context: Context,
        case_id: int | None = None,
        program: str | None = None,
        anchor: str | None = None,
        progress: Progress | None = None,
        scope: Any = None,
        case_ids: Sequence[int] | None = None,
    ) -> None:
        """``scope``: a filter on cases (a reader's region scope, see
        :func:`engine.runtime.queries.scope_filter`); then only those cases are checked, and
        nothing is said of history rows whose case is gone (they have no region)."""
        self.context = context
        self.case_id, self.program, self.anchor = case_id, program, anchor
        self.scope = scope
        self.case_ids = None if case_ids is None else list(case_ids)
        self.progress = progress
        self.summary = Summary()
        self._documents_seen: set[str] = set()

    def _filtered(self, query: Any) -> Any:
        if self.case_id is not None:
            query = query.where(Case.id == self.case_id)
        if self.program is not None:
            query = query.where(Case.program == self.program)
        if self.scope is not None:
            query = query.where(self.scope)
        if self.case_ids is not None:
            query = query.where(Case.id.in_(self.case_ids))
        return query

    def run(self) -> Iterator[Finding]:
        for finding in self._run():
            self.summary.problems += 1
            yield finding

    def _run(self) -> Iterator[Finding]:
        with self.context.sessions() as session:
            definitions = PinnedDefinitions(self.context)
            yield from definitions.load(session)
            heads: dict[int, anchors.Head] = {}
            if self.anchor is not None:
                anchor, covered = anchors.find(session, self.anchor)
                self.summary.anchor = anchors.anchor_json(anchor)
                if anchors.root_of(covered) != anchor.root:
                    yield Finding(
                        None,
                        None,
                        f"anchor {anchor.root}: its stored heads no longer give this digest "
                        "(the anchor's rows were changed)",
                    )
                heads = {h.case_id: h for h in covered}
            total = session.scalar(self._filtered(select(func.count(Case.id)))) or 0
            seen: set[int] = set()
            after = 0
            # plain rows, as the records below; the definition version each names is looked
            # up among the definitions loaded above, not joined in
            next_cases = (
                self._filtered(select(*CASE_COLUMNS))
                .where(Case.id > bindparam("after"))
                .order_by(Case.id)
                .limit(BATCH)
            )
            while True:
                cases = [CaseRow(*row) for row in session.execute(next_cases, {"after": after})]
                if not cases:
                    break
                after = cases[-1].id
                yield from self._batch(session, cases, definitions, heads)
                seen.update(c.id for c in cases if c.id in heads)  # only what is asked below
                self.summary.cases += len(cases)
                if self.progress is not None:
                    self.progress(self.summary.cases, total)
            if self.scope is not None or self.case_ids is not None:
                return
            yield from self._orphans(session)
            for case_id, head in heads.items():
                if case_id in seen:
                    continue
                if self.case_id is not None and case_id != self.case_id:
                    continue
                if session.get(Case, case_id) is None:
                    yield Finding(
                        case_id,
                        head.seq,
                        f"covered by anchor {self.anchor}, but the case is gone",
                    )

    def _orphans(self, session: Session) -> Iterator[Finding]:
        """History records whose case row is missing."""
        query = (
            select(TransitionRecord.case_id, func.max(TransitionRecord.seq))
            .where(~exists().where(Case.id == TransitionRecord.case_id))
            .group_by(TransitionRecord.case_id)
            .order_by(TransitionRecord.case_id)
        )
        if self.case_id is not None:
            query = query.where(TransitionRecord.case_id == self.case_id)
        if self.program is not None:
            query = query.where(TransitionRecord.program == self.program)
        for case_id, seq in session.execute(query):
            yield Finding(case_id, seq, "history records exist, but the case row is missing")

    def _batch(
        self,
        session: Session,
        cases: Sequence[CaseRow],
        definitions: PinnedDefinitions,
        heads: dict[int, anchors.Head],
    ) -> Iterator[Finding]:
        batch = {"ids": [c.id for c in cases]}
        entries: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for entry in session.execute(LEDGER_QUERY, batch):
            entries[entry.case_id].append(stored_entry(entry))
        links: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for case_id, name, target in session.execute(LINKS_QUERY, batch):
            links[case_id].append((name, target))
        rows = session.connection().execute(RECORDS_QUERY, batch)
        by_id = {c.id: c for c in cases}
        current: _CaseCheck | None = None
        for row in rows:
            record = dict(zip(RECORD_FIELDS, row, strict=True))  # as record_json gives it
            record["at"] = format_time(record["at"])
            if current is None or current.case.id != record["case_id"]:
                if current is not None:
                    yield from current.finish(entries, links)
                    by_id.pop(current.case.id, None)
                current = _CaseCheck(
                    self, by_id[record["case_id"]], heads.get(record["case_id"]), definitions
                )
            found = current.add(record)
            if found:
                yield from found
        if current is not None:
            yield from current.finish(entries, links)
            by_id.pop(current.case.id, None)
        for case in by_id.values():  # cases without a single record
            yield Finding(case.id, None, "the case has no history records")

    def check_document(self, case_id: int, seq: int, name: str, sha256: str) -> Iterator[Finding]:
        if sha256 in self._documents_seen:
            return
        self._documents_seen.add(sha256)
        self.summary.documents += 1
        if not SHA256.fullmatch(sha256):
            yield Finding(case_id, seq, f"document {name}: {short(sha256)} is not a sha256")
            return
        path = self.context.documents.path_for(sha256)
        try:
            with path.open("rb") as file:
                actual = hashlib.file_digest(file, "sha256").hexdigest()
        except OSError:
            yield Finding(case_id, seq, f"document {name} ({sha256[:12]}) is missing from storage")
            return
        if actual != sha256:
            yield Finding(
                case_id,
                seq,
                f"document {name} ({sha256[:12]}) was changed: its file's sha256 is now "
                f"{actual[:12]}",
            )


class _CaseCheck:
    """The checks of one case as its records stream past."""

    def __init__(
        self,
        verifier: Verifier,
        case: CaseRow,
        head: anchors.Head | None,
        definitions: PinnedDefinitions,
    ) -> None:
        self.verifier, self.case, self.head = verifier, case, head
        self.definitions = definitions
        self.chain = ChainChecker()
        self.projection = Projection(case.id)
        self.head_seen = False
        #: The definition the last record named, what is wrong with that naming, and
        #: the definition parsed: a case's records name one version, mostly.
        self.pinned: tuple[Any, Any, Any] | None = None
        self.pinned_problem: str | None = None
        self.definition: Definition | None = None

    def add(self, record: dict[str, Any]) -> list[Finding]:
        """The findings of one record (mostly none)."""
        case_id, seq = self.case.id, record["seq"]
        self.verifier.summary.records += 1
        found: list[Finding] = []
        breaks = self.chain.breaks
        before = len(breaks)
        self.chain.add(record)
        if len(breaks) > before:
            found.extend(Finding(case_id, broken.seq, broken.reason) for broken in breaks[before:])
        pinned = (record["program"], record["definition_version"], record["definition_sha256"])
        if pinned != self.pinned:
            self.pinned = pinned
            self.pinned_problem = self.definitions.record_problem(record)
            self.definition = self.definitions.get(pinned[0], pinned[1])
        if self.pinned_problem:
            found.append(Finding(case_id, seq, self.pinned_problem))
        for divergence in self.projection.apply(record, self.definition):
            found.append(
                Finding(case_id, seq, f"record disagrees with its definition: {divergence}")
            )
        documents = record["documents"] or {}
        for name, sha256 in documents.items() if isinstance(documents, dict) else ():
            found.extend(self.verifier.check_document(case_id, seq, name, str(sha256)))
        if self.head is not None and seq == self.head.seq:
            self.head_seen = True
            if record["hash"] != self.head.hash:
                found.append(
                    Finding(
                        case_id,
                        seq,
                        f"record differs from the one anchor {self.verifier.anchor} covers",
                    )
                )
        return found

    def finish(
        self,
        entries: dict[int, list[dict[str, Any]]],
        links: dict[int, list[tuple[str, int]]],
    ) -> Iterator[Finding]:
        case, projection = self.case, self.projection
        summary = self.verifier.summary
        if self.chain.old_rule:
            summary.old_rule_records += len(self.chain.old_rule)
            summary.old_rule_cases += 1
        if self.head is not None and not self.head_seen:
            yield Finding(
                case.id,
                self.head.seq,
                f"record covered by anchor {self.verifier.anchor} is missing "
                f"(the history now ends at seq {projection.seq})",
            )
        if case.version != projection.seq:
            yield Finding(
                case.id,
                projection.seq,
                f"the case is at version {case.version}, but its history ends at seq "
                f"{projection.seq}"
                + (" (records are missing from its end)" if case.version > projection.seq else ""),
            )
        stored = case_columns(case, self.definitions.versions.get(case.definition_version_id))
        for divergence in compare_columns(
            projection,
            stored,
            entries.get(case.id, []),
            links.get(case.id, []),
            self.chain.started_under_rule_1,
        ):
            if divergence.field == "version":
                continue  # reported above, in words
            if divergence.field == "data":  # name the fields, not their (personal) values
                yield Finding(
                    case.id,
                    divergence.seq,
                    "case data differs from its history in: "
                    + ", ".join(_differing(divergence.stored, divergence.replayed)),
                )
                continue
            yield Finding(
                case.id,
                divergence.seq,
                f"{_label(divergence.field)} differs from its history: stored "
                f"{short(divergence.stored)}, history gives {short(divergence.replayed)}",
            )
        for entry in entries.get(case.id, []):
            if entry.get("document_sha256"):
                yield from self.verifier.check_document(
                    case.id, entry["seq"], "ledger", entry["document_sha256"]
                )


def _differing(stored: Any, replayed: Any) -> list[str]:
    """The fields in which two data objects differ, by name."""
    mine = stored if isinstance(stored, dict) else {}
    theirs = replayed if isinstance(replayed, dict) else {}
    names = sorted(k for k in set(mine) | set(theirs) if mine.get(k, _GONE) != theirs.get(k, _GONE))
    return names or ["(its type)"]


_GONE = object()


def _label(name: str) -> str:
    return name if name.startswith(("ledger", "links")) else f"case {name}"
