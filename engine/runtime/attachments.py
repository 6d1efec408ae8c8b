"""Files attached to a start or a firing: checked (and their ``documents`` rows added)
inside the transaction, written to the store just before it commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import InvalidData
from engine.language import Definition
from engine.store.documents import DocumentStore, Pending, StoredFile
from engine.store.models import Document
from engine.text import Label


def refuse_document_values(definition: Definition, values: Mapping[str, Any]) -> None:
    """A document field is filled by attaching a file, never by a value naming a stored
    document: such a value could name another case's document (whose sha256 the caller
    learnt somewhere) and so read it through a case of their own."""
    named = sorted(
        name
        for name in values
        if name in definition.fields and definition.fields[name].type == "document"
    )
    if named:
        raise InvalidData(
            Label(
                id=f"{', '.join(named)}: dokumen dilampirkan sebagai berkas, bukan diisi "
                "sebagai nilai",
                en=f"{', '.join(named)}: a document is attached as a file, not given as a value",
            ),
            {name: ["attach the file"] for name in named},
        )


def check_documents(
    store: DocumentStore, session: Session, attachments: Mapping[str, Path], actor: str
) -> tuple[dict[str, Any], list[Pending]]:
    """Check each attached file and add its ``documents`` row to the transaction; returns
    the form values naming them and the files still to write (:func:`write_documents`,
    once nothing can refuse the transition, so a refused attempt leaves no file behind)."""
    checked: dict[str, Any] = {}
    pending: list[Pending] = []
    for name, path in attachments.items():
        document = store.check_file(Path(path))
        add_document_row(session, document.file, actor)
        checked[name] = document.file.to_json()
        pending.append(document)
    return checked, pending


def add_document_row(session: Session, file: StoredFile, actor: str) -> None:
    """The ``documents`` row of ``file`` in the transaction, unless it is stored already."""
    if session.get(Document, file.sha256) is None:
        session.add(
            Document(
                sha256=file.sha256,
                size=file.size,
                media_type=file.media_type,
                filename=file.filename,
                created_by=actor,
            )
        )


def write_documents(store: DocumentStore, pending: Sequence[Pending]) -> None:
    """Store the checked files, just before the transaction commits. Should the commit
    still fail (or the process die before it), a file no record names may stay behind:
    ``rukun documents gc`` removes it; no record ever names a file not yet written."""
    for document in pending:
        store.write(document)


def document_hashes(values: Mapping[str, Any]) -> dict[str, str]:
    """The sha256 of each document among form values, by field: what history records."""
    return {k: v["sha256"] for k, v in values.items() if isinstance(v, dict) and "sha256" in v}
