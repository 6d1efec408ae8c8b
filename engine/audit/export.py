"""History exports for auditors, streamed so memory stays flat: every history record in the
reader's scope as JSON lines, CSV or XLSX (one row per record, in :data:`COLUMNS`), with
cells a spreadsheet would read as formulas neutralised. Personal data is masked unless the
reader's roles may see it; a masked record says so. :class:`Exporter` is also the way in to
a case's evidence bundle (:mod:`engine.audit.bundle`) and its offline check
(:mod:`engine.audit.bundle_check`)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, BinaryIO, Protocol

import xlsxwriter
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from engine.audit.bundle import write_bundle
from engine.audit.bundle_check import check_bundle
from engine.audit.masking import Masking
from engine.audit.service import require_auditor
from engine.audit.vocabulary import FORMATS
from engine.errors import InvalidData, NotFound
from engine.runtime import queries
from engine.runtime.access import Actor
from engine.runtime.case_views import record_json
from engine.runtime.context import Context
from engine.store.models import Case, DefinitionVersion, Region, TransitionRecord
from engine.text import Label

#: One export row per history record, in this order.
COLUMNS = (
    "case_id",
    "program",
    "year",
    "subject",
    "seq",
    "kind",
    "trigger",
    "source",
    "dest",
    "actor",
    "role",
    "at",
    "definition_version",
    "definition_sha256",
    "payload",
    "guards",
    "documents",
    "effects",
    "rule",
    "masked",
    "prev_hash",
    "hash",
)
#: Columns holding structures: nested in JSON lines, JSON text in CSV and XLSX cells.
JSON_COLUMNS = frozenset({"payload", "guards", "documents", "effects"})
#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CASES_PER_BATCH = 500
RECORDS_PER_FETCH = 1000
XLSX_MAX_ROWS = 1_048_576


def _row(record: TransitionRecord, year: int, subject: str, masking: Masking) -> dict[str, Any]:
    view = record_json(record)
    payload, masked = masking.payload(view)
    view.update(year=year, subject=subject, payload=payload, masked=masked)
    return {name: view[name] for name in COLUMNS}


def neutralised(text: str) -> str:
    """``text`` with a leading apostrophe if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(name: str, value: Any) -> Any:
    """A row's value as a spreadsheet cell: JSON text for structures, strings neutralised."""
    if name in JSON_COLUMNS:
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralised(value) if isinstance(value, str) else value


class _Writer(Protocol):
    def write(self, row: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class _JsonLines:
    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def write(self, row: Mapping[str, Any]) -> None:
        self.out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")

    def close(self) -> None:
        self.out.flush()


class _Utf8:
    """What :func:`csv.writer` writes to: text, encoded onto the binary output at once (a
    TextIOWrapper would close the caller's stream when collected)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write(text.encode("utf-8"))


class _Csv:
    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.writer = csv.writer(_Utf8(out))
        self.writer.writerow(COLUMNS)

    def write(self, row: Mapping[str, Any]) -> None:
        cells = (_cell(name, row[name]) for name in COLUMNS)
        self.writer.writerow(json.dumps(c) if isinstance(c, bool) else c for c in cells)

    def close(self) -> None:
        self.out.flush()


class _Xlsx:
    """XlsxWriter in constant-memory mode (each row goes to disk as written); strings are
    always written as strings, never as formulas; a sheet that is full continues on the
    next one."""

    def __init__(self, out: IO[bytes]) -> None:
        self.book = xlsxwriter.Workbook(out, {"constant_memory": True})
        self.bold = self.book.add_format({"bold": True})
        self.sheets = 0
        self.row = 0
        self.truncated = 0
        self._sheet()

    def _sheet(self) -> None:
        self.sheets += 1
        self.sheet = self.book.add_worksheet(
            "history" if self.sheets == 1 else f"history {self.sheets}"
        )
        self.sheet.freeze_panes(1, 0)
        for column, name in enumerate(COLUMNS):
            self.sheet.write_string(0, column, name, self.bold)
        self.row = 1

    def write(self, row: Mapping[str, Any]) -> None:
        if self.row == XLSX_MAX_ROWS:
            self._sheet()
        for column, name in enumerate(COLUMNS):
            value = _cell(name, row[name])
            if isinstance(value, bool):
                self.sheet.write_boolean(self.row, column, value)
            elif isinstance(value, int):
                self.sheet.write_number(self.row, column, value)
            elif isinstance(value, str):
                # -2: longer than a cell holds (32767 characters), cut off
                self.truncated += self.sheet.write_string(self.row, column, value) == -2
        self.row += 1

    def close(self) -> None:
        self.book.close()


WRITERS: dict[str, type[_JsonLines | _Csv | _Xlsx]] = {
    "jsonl": _JsonLines,
    "csv": _Csv,
    "xlsx": _Xlsx,
}


class Exporter:
    """Exports of the history for auditors; every reader needs an audit role and sees only
    the cases within their region scope."""

    def __init__(self, context: Context) -> None:
        self.context = context

    @property
    def dialect(self) -> str:
        return self.context.engine.dialect.name

    def export(
        self,
        user: str,
        fmt: str,
        out: BinaryIO,
        program: str | None = None,
        year: int | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Write every history record in ``user``'s scope (and of ``program``, ``year``,
        within ``region``) to ``out`` as ``fmt``, by case and sequence number; returns the
        counts."""
        if fmt not in WRITERS:
            known = ", ".join(FORMATS)
            raise InvalidData(
                Label(
                    id=f"format ekspor '{fmt}' tidak dikenal (salah satu dari {known})",
                    en=f"unknown export format '{fmt}' (one of {known})",
                )
            )
        counts: dict[str, Any] = {"format": fmt, "cases": 0, "records": 0, "masked": 0}
        with self.context.sessions() as session:
            exporting = Label(id="mengekspor riwayat", en="export histories")
            actor = require_auditor(self.context, session, user, exporting)
            selection = self._selection(session, actor, program, year, region)
            masking = Masking(self.context, session, actor.roles())
            writer: _Writer = WRITERS[fmt](out)
            last_case = None
            for record, case_year, subject in self._records(session, selection):
                row = _row(record, case_year, subject, masking)
                writer.write(row)
                counts["records"] += 1
                counts["masked"] += row["masked"]
                if record.case_id != last_case:
                    counts["cases"] += 1
                    last_case = record.case_id
            writer.close()
        if isinstance(writer, _Xlsx):
            counts["truncated_cells"] = writer.truncated
        return counts

    def _selection(
        self,
        session: Session,
        actor: Actor,
        program: str | None,
        year: int | None,
        region: str | None,
    ) -> list[ColumnElement[bool]]:
        selection: list[ColumnElement[bool]] = []
        if program is not None:
            known = session.scalar(
                select(DefinitionVersion.id).where(DefinitionVersion.program == program).limit(1)
            )
            if known is None:
                raise NotFound(
                    Label(id=f"tidak ada program '{program}'", en=f"no program '{program}'")
                )
            selection.append(Case.program == program)
        if year is not None:
            selection.append(Case.year == year)
        if region is not None:
            path = session.scalar(select(Region.path).where(Region.code == region))
            if path is None:
                raise NotFound(Label(id=f"tidak ada wilayah {region}", en=f"no region {region}"))
            selection.append(queries.within(path, self.dialect))
        scope = queries.scope_filter(session, actor, self.dialect)
        if scope is not None:
            selection.append(scope)
        return selection

    def _records(
        self, session: Session, selection: Sequence[ColumnElement[bool]]
    ) -> Iterator[tuple[TransitionRecord, int, str]]:
        """The selected cases' records by case id and sequence number, with each case's year
        and subject: cases in keyset batches, their records fetched a slice at a time."""
        after = 0
        while True:
            batch = session.execute(
                select(Case.id, Case.year, Case.subject_code)
                .where(*selection, Case.id > after)
                .order_by(Case.id)
                .limit(CASES_PER_BATCH)
            ).all()
            if not batch:
                return
            after = batch[-1].id
            facts = {case_id: (year, subject) for case_id, year, subject in batch}
            records = session.scalars(
                select(TransitionRecord)
                .where(TransitionRecord.case_id.in_(list(facts)))
                .order_by(TransitionRecord.case_id, TransitionRecord.seq)
                .execution_options(yield_per=RECORDS_PER_FETCH)
            )
            for record in records:
                yield record, *facts[record.case_id]
            session.expunge_all()

    def bundle(self, user: str, case_id: int, out: BinaryIO) -> dict[str, Any]:
        """Write the evidence bundle of one case to ``out`` (see
        :func:`engine.audit.bundle.write_bundle`); returns what it holds."""
        return write_bundle(self.context, user, case_id, out)

    @staticmethod
    def check_bundle(path: str | os.PathLike[str]) -> list[str]:
        """See :func:`engine.audit.bundle_check.check_bundle` (a bundle is checked without
        the database)."""
        return check_bundle(path)
