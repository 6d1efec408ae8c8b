"""Drafts of workflow definitions stored in the database: started from a version or an
uploaded file, saved with a revision counter (a save over someone else's newer save is
refused and shows what they changed), discarded, or published as the next version."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict, DefinitionError, InvalidData, NotFound
from engine.language import parse_definition
from engine.runtime.access import Actor
from engine.runtime.context import Context
from engine.runtime.definition_log import announce, append_event, event_json
from engine.runtime.definitions import Definitions, PublishResult
from engine.store.chain import format_time
from engine.store.db import write_session
from engine.store.models import DefinitionDraft, DefinitionVersion, DraftRevision, utcnow
from engine.studio.access import program_role
from engine.studio.diff import text_diff
from engine.studio.edits import apply_edit
from engine.text import Label

#: A definition file is a few dozen KiB; anything far larger is not one.
MAX_DRAFT_BYTES = 512 * 1024
_PROGRAM_LINE = re.compile(r"""^program:[ \t]*["']?([a-z][a-z0-9_]*)["']?[ \t]*(?:#.*)?$""", re.M)
NO_CHANGE_NOTE = Label(
    id="penerbitan memerlukan catatan perubahan: tuliskan apa yang berubah dan alasannya",
    en="publishing needs a change note: say what changed and why",
)


class DraftConflict(Conflict):
    """Someone saved the draft after the revision this save was based on."""

    def __init__(self, draft: DefinitionDraft, base: int, changes: list[str]) -> None:
        at = format_time(draft.updated_at)
        super().__init__(
            Label(
                id=f"draf {draft.id} disimpan oleh {draft.updated_by} pada {at} (revisi "
                f"{draft.revision}) setelah revisi {base} yang Anda sunting; teks Anda tidak "
                "disimpan — gabungkan perubahan mereka lalu simpan lagi",
                en=f"draft {draft.id} was saved by {draft.updated_by} at {at} (revision "
                f"{draft.revision}) after revision {base} you edited; your text is not saved "
                "— merge their changes and save again",
            )
        )
        self.revision = draft.revision
        self.saved_by = draft.updated_by
        self.saved_at = format_time(draft.updated_at)
        self.changes = changes
        self.current_source = draft.source

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "revision": self.revision,
            "saved_by": self.saved_by,
            "saved_at": self.saved_at,
            "changes": self.changes,
        }


def draft_json(draft: DefinitionDraft, *, source: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": draft.id,
        "program": draft.program,
        "title": draft.title,
        "base_version": draft.base_version,
        "revision": draft.revision,
        "status": draft.status,
        "published_version": draft.published_version,
        "created_at": format_time(draft.created_at),
        "created_by": draft.created_by,
        "updated_at": format_time(draft.updated_at),
        "updated_by": draft.updated_by,
    }
    if source:
        result["source"] = draft.source
    return result


def program_of(text: str) -> str:
    """The program slug a YAML text names on its top-level ``program:`` line."""
    found = _PROGRAM_LINE.search(text)
    if found is None:
        raise InvalidData(
            Label(
                id="berkas tidak menyebut program: perlu baris seperti 'program: probebaya'",
                en="the file names no program: it needs a line like 'program: probebaya'",
            )
        )
    return found.group(1)


def _checked_text(text: str) -> str:
    if len(text.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise InvalidData(
            Label(
                id=f"alur kerja paling besar {MAX_DRAFT_BYTES // 1024} KiB; teks ini lebih besar",
                en=f"a definition is at most {MAX_DRAFT_BYTES // 1024} KiB; this text is larger",
            )
        )
    if "\x00" in text:
        raise InvalidData(
            Label(
                id="alur kerja berupa teks; teks ini memuat karakter NUL",
                en="a definition is text; this contains NUL characters",
            )
        )
    return text.replace("\r\n", "\n")


@lru_cache(maxsize=32)  # texts of at most MAX_DRAFT_BYTES each
def regions_of(text: str) -> tuple[str, ...]:
    """The regions a draft's text declares, when it is a valid definition (else none).
    Cached by text: every request on a draft checks them, and drafts change by saving."""
    try:
        return parse_definition(text, "<draft>").regions
    except DefinitionError:
        return ()


class Drafts:
    """Commands and reads on drafts; every one checks the actor may work on the program."""

    def __init__(self, context: Context, definitions: Definitions) -> None:
        self.context = context
        self.definitions = definitions

    # ---------------------------------------------------------------- access
    def authorize(
        self, session: Session, actor: Actor, program: str, text: str | None, action: Label
    ) -> str:
        """The actor's studio role for ``program``: the regions of its published version and
        of ``text`` (when it parses) must lie inside one of their grants."""
        regions: list[str] = []
        published = session.scalar(
            select(DefinitionVersion).where(
                DefinitionVersion.program == program, DefinitionVersion.status == "published"
            )
        )
        if published is not None:
            regions.extend(self.context.definition(published).regions)
        if text is not None:
            regions.extend(r for r in regions_of(text) if r not in regions)
        return program_role(session, actor, program, regions, action)

    def _draft(
        self, session: Session, draft_id: int, actor: Actor, action: Label
    ) -> DefinitionDraft:
        draft = session.get(DefinitionDraft, draft_id)
        if draft is None:
            raise NotFound(Label(id=f"tidak ada draf {draft_id}", en=f"no draft {draft_id}"))
        # the draft's own regions count too: a new program has no published version yet
        self.authorize(session, actor, draft.program, draft.source, action)
        return draft

    # ---------------------------------------------------------------- commands
    def create(
        self,
        actor_name: str,
        *,
        program: str | None = None,
        from_version: int | None = None,
        text: str | None = None,
        title: str = "",
    ) -> dict[str, Any]:
        """A new draft: a copy of ``program``'s version ``from_version`` (default: the
        published one), or the uploaded ``text`` (its ``program:`` line names the program)."""
        with write_session(self.context.sessions) as session:
            actor = self.context.actor(session, actor_name)
            if text is None:
                if program is None:
                    raise InvalidData(
                        Label(
                            id="mulailah draf dari sebuah versi program atau dari berkas",
                            en="start a draft from a program's version or from a file",
                        )
                    )
                row, _ = self.definitions.get(program, from_version)
                text, base = row.source, row.version
            else:
                text = _checked_text(text)
                named = program_of(text)
                if program is not None and named != program:
                    raise InvalidData(
                        Label(
                            id=f"berkas ini untuk program '{named}', bukan '{program}'",
                            en=f"the file is for program '{named}', not '{program}'",
                        )
                    )
                program, base = named, None
            start = Label(id="memulai draf", en="start a draft")
            self.authorize(session, actor, program, text, start)
            now = utcnow()
            draft = DefinitionDraft(
                program=program,
                title=title.strip()[:200],
                base_version=base,
                source=text,
                revision=1,
                status="open",
                created_at=now,
                created_by=actor.name,
                updated_at=now,
                updated_by=actor.name,
            )
            session.add(draft)
            session.flush()
            session.add(
                DraftRevision(
                    draft_id=draft.id, revision=1, source=text, saved_at=now, saved_by=actor.name
                )
            )
            event = append_event(
                session,
                program,
                "draft_created",
                actor.name,
                draft_id=draft.id,
                version=base,
                details={"from": "version" if base is not None else "upload", "title": title},
            )
            session.flush()
            result, logged = draft_json(draft), event_json(event)
        announce(logged)
        return result

    def save(self, draft_id: int, text: str, base_revision: int, actor_name: str) -> dict[str, Any]:
        """Store ``text`` as the draft's next revision if nobody saved since
        ``base_revision``; otherwise :class:`DraftConflict` with what they changed."""
        text = _checked_text(text)
        with write_session(self.context.sessions) as session:
            actor = self.context.actor(session, actor_name)
            draft = self._draft(session, draft_id, actor, _edit(draft_id))
            self._open(draft)
            named = program_of(text)
            if named != draft.program:
                raise InvalidData(
                    Label(
                        id=f"draf {draft_id} untuk program '{draft.program}'; teksnya menyebut "
                        f"'{named}' (mulailah draf baru untuk program lain)",
                        en=f"draft {draft_id} is for program '{draft.program}'; the text names "
                        f"'{named}' (start a new draft for another program)",
                    )
                )
            self.authorize(session, actor, draft.program, text, _edit(draft_id))
            if draft.revision != base_revision:
                raise self._conflict(session, draft, base_revision)
            now = utcnow()
            moved = session.execute(
                update(DefinitionDraft)
                .where(DefinitionDraft.id == draft_id, DefinitionDraft.revision == base_revision)
                .values(
                    source=text, revision=base_revision + 1, updated_at=now, updated_by=actor.name
                )
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                session.rollback()
                with self.context.sessions() as fresh:
                    current = fresh.get(DefinitionDraft, draft_id)
                    assert current is not None
                    raise self._conflict(fresh, current, base_revision)
            session.add(
                DraftRevision(
                    draft_id=draft_id,
                    revision=base_revision + 1,
                    source=text,
                    saved_at=now,
                    saved_by=actor.name,
                )
            )
            event = append_event(
                session,
                draft.program,
                "draft_saved",
                actor.name,
                draft_id=draft_id,
                details={"revision": base_revision + 1},
            )
            session.flush()
            session.refresh(draft)
            result, logged = draft_json(draft), event_json(event)
        announce(logged)
        return result

    def edit(
        self, draft_id: int, edit: Mapping[str, Any], base_revision: int, actor_name: str
    ) -> dict[str, Any]:
        """Apply one form edit (:func:`engine.studio.edits.apply_edit`: comments, key order
        and layout kept) to the draft as it was at ``base_revision`` and save the result as
        the next revision; refused like a save when someone saved in between."""
        with self.context.sessions() as session:
            actor = self.context.actor(session, actor_name)
            draft = self._draft(session, draft_id, actor, _edit(draft_id))
            self._open(draft)
            if draft.revision != base_revision:
                raise self._conflict(session, draft, base_revision)
            text = draft.source
        return self.save(draft_id, apply_edit(text, edit), base_revision, actor_name)

    @staticmethod
    def _open(draft: DefinitionDraft) -> None:
        if draft.status != "open":
            what = (
                Label(
                    id=f"diterbitkan sebagai versi {draft.published_version}",
                    en=f"published as version {draft.published_version}",
                )
                if draft.status == "published"
                else Label(id="dibuang", en="discarded")
            )
            raise Conflict(
                Label(
                    id=f"draf {draft.id} sudah {what.id}; mulailah draf baru untuk mengubahnya",
                    en=f"draft {draft.id} was {what.en}; start a new draft to change it",
                )
            )

    @staticmethod
    def _conflict(session: Session, draft: DefinitionDraft, base: int) -> DraftConflict:
        old = session.scalar(
            select(DraftRevision.source).where(
                DraftRevision.draft_id == draft.id, DraftRevision.revision == base
            )
        )
        if old is None:
            raise InvalidData(
                Label(
                    id=f"draf {draft.id} tidak memiliki revisi {base}",
                    en=f"draft {draft.id} has no revision {base}",
                )
            )
        changes = text_diff(old, draft.source, f"revision {base}", f"revision {draft.revision}")
        return DraftConflict(draft, base, changes)

    def discard(self, draft_id: int, actor_name: str) -> dict[str, Any]:
        with write_session(self.context.sessions) as session:
            actor = self.context.actor(session, actor_name)
            discard = Label(id=f"membuang draf {draft_id}", en=f"discard draft {draft_id}")
            draft = self._draft(session, draft_id, actor, discard)
            self._open(draft)
            draft.status, draft.updated_at, draft.updated_by = "discarded", utcnow(), actor.name
            event = append_event(
                session, draft.program, "draft_discarded", actor.name, draft_id=draft_id
            )
            session.flush()
            result, logged = draft_json(draft, source=False), event_json(event)
        announce(logged)
        return result

    def publish(
        self, draft_id: int, actor_name: str, note: str, base_revision: int | None = None
    ) -> PublishResult:
        """Publish the draft as the program's next version; running cases stay on theirs."""
        note = note.strip()
        if not note:
            raise InvalidData(NO_CHANGE_NOTE)
        with write_session(self.context.sessions) as session:
            actor = self.context.actor(session, actor_name)
            publish = Label(id=f"menerbitkan draf {draft_id}", en=f"publish draft {draft_id}")
            draft = self._draft(session, draft_id, actor, publish)
            self._open(draft)
            if base_revision is not None and base_revision != draft.revision:
                raise self._conflict(session, draft, base_revision)
            source_name = f"{draft.program}.yaml"
            definition = parse_definition(draft.source, source_name)
            if definition.program != draft.program:
                raise InvalidData(
                    Label(
                        id=f"draf {draft_id} untuk '{draft.program}'",
                        en=f"draft {draft_id} is for '{draft.program}'",
                    )
                )
            it = Label(id="menerbitkannya", en="publish it")
            self.authorize(session, actor, draft.program, draft.source, it)
            result, event = self.definitions.publish_in(
                session, definition, draft.source, source_name, actor.name, note, draft_id
            )
            if not result.created:
                raise InvalidData(
                    Label(
                        id=f"draf {draft_id} sama persis dengan versi {result.version} yang sudah "
                        "diterbitkan: tidak ada yang perlu diterbitkan",
                        en=f"draft {draft_id} is identical to version {result.version}, which is "
                        "published: nothing to publish",
                    )
                )
            draft.status, draft.published_version = "published", result.version
            draft.updated_at, draft.updated_by = utcnow(), actor.name
        self.definitions.announce(result, actor.name, event)
        return result

    # ---------------------------------------------------------------- reads
    def get(self, draft_id: int, actor_name: str) -> dict[str, Any]:
        with self.context.sessions() as session:
            actor = self.context.actor(session, actor_name)
            opening = Label(id=f"membuka draf {draft_id}", en=f"open draft {draft_id}")
            return draft_json(self._draft(session, draft_id, actor, opening))

    def list(self, programs: Sequence[str], *, status: str | None = "open") -> list[dict[str, Any]]:
        """Drafts of ``programs`` (already checked by the caller), newest change first."""
        with self.context.sessions() as session:
            query = select(DefinitionDraft).where(DefinitionDraft.program.in_(list(programs)))
            if status is not None:
                query = query.where(DefinitionDraft.status == status)
            rows = session.scalars(query.order_by(DefinitionDraft.updated_at.desc()))
            return [draft_json(d, source=False) for d in rows]


def _edit(draft_id: int) -> Label:
    return Label(id=f"menyunting draf {draft_id}", en=f"edit draft {draft_id}")
