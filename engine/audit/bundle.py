"""Writing a case's evidence bundle: a zip of its history (personal data masked unless the
maker's roles may see it), every document ever attached, its verification and replay, a
manifest and SHA256SUMS, that anyone can re-check offline with
:func:`engine.audit.bundle_check.check_bundle` or ``sha256sum -c SHA256SUMS``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import anchors
from engine.audit.bundle_check import CHUNK, HISTORY, MANIFEST, SUMS, VERIFICATION
from engine.audit.masking import Masking
from engine.audit.service import Audit, require_auditor
from engine.audit.verify import Verifier
from engine.runtime.case_queries import load_case
from engine.runtime.case_views import record_json
from engine.runtime.context import Context
from engine.store.chain import format_time
from engine.store.models import Document, TransitionRecord
from engine.text import Label

README = "README.txt"
RECORDS_PER_FETCH = 1000

README_TEXT = """\
Evidence bundle of Rukun case {case_id} ({program}), made {generated_at} by {generated_by}.

history.jsonl      every history record of the case, oldest first, one JSON object a line
documents/         every document any record attached, named <sha256>-<file name>
verification.json  `rukun audit verify` and `rukun audit replay` of the case when it was made
manifest.json      what is in the bundle: each file's sha256 and size, the chain head, verdict
SHA256SUMS         the sha256 of every other file

Two ways to re-verify it:

1. sha256sum -c SHA256SUMS       (after unzipping, in this directory): no file was changed.
2. rukun audit check-bundle FILE.zip
   also recomputes the hash chain of history.jsonl (each record's hash over its content and
   the previous record's hash), checks every document against the sha256 in its name and
   every file against the manifest.

The chain head (manifest.json "chain_head") is the hash of the last record. If an anchor
covered the case when the bundle was made, manifest.json "anchor" holds it: the digest,
the case's head it covered and the audit path from that head to the digest (RFC 6962).
check-bundle follows the path; compare the digest with the one that was published, and the
history in this bundle is shown to be the one recorded then.

Records marked "masked": true had personal data (NIK, KK numbers) masked for the reader
who made the bundle: their hash cannot be recomputed from the masked payload, only their
place in the chain is checked. A bundle made by a role that may see personal data has no
masked records.
"""


def write_bundle(context: Context, user: str, case_id: int, out: BinaryIO) -> dict[str, Any]:
    """Write the evidence bundle of one case (a zip, see :data:`README_TEXT`) to ``out``;
    returns what it holds."""
    with context.sessions() as session:
        making = Label(id="membuat paket bukti", en="make an evidence bundle")
        actor = require_auditor(context, session, user, making)
        case = load_case(session, context.engine.dialect.name, case_id)
        actor.check_view(case.id, case.region_path.split("/"))
        facts = {
            "case_id": case.id,
            "program": case.program,
            "year": case.year,
            "subject": case.subject_code,
            "generated_at": format_time(dt.datetime.now(dt.UTC)),
            "generated_by": user,
        }
        masking = Masking(context, session, actor.roles())
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            writer = _BundleWriter(archive)
            history = writer.history(_case_records(session, case_id), masking)
            documents = writer.documents(session, context, history.documents)
            verdict = writer.verification(_verification(context, case_id, user))
            writer.text(README, README_TEXT.format(**facts))
            manifest = {
                "format": "rukun-evidence-bundle/1",
                **facts,
                "records": history.records,
                "masked_records": history.masked,
                "chain_head": history.head,
                # the newest anchor covering the case, and the audit path from the case's
                # head then to its digest: checkable against the published digest alone
                "anchor": anchors.proof_for(session, case_id),
                "verification": verdict,
                "files": list(writer.files.values()),
                "documents": documents,
            }
            writer.text(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
            writer.text(
                SUMS, "".join(f"{f['sha256']}  {f['name']}\n" for f in writer.files.values())
            )
    return {
        "case_id": case_id,
        "records": history.records,
        "masked_records": history.masked,
        "documents": sum(d["status"] != "missing" for d in documents),
        "missing_documents": sum(d["status"] == "missing" for d in documents),
        "verification": verdict,
        "chain_head": history.head,
    }


def _case_records(session: Session, case_id: int) -> Iterable[TransitionRecord]:
    """The case's records oldest first, fetched a slice at a time."""
    return session.scalars(
        select(TransitionRecord)
        .where(TransitionRecord.case_id == case_id)
        .order_by(TransitionRecord.seq)
        .execution_options(yield_per=RECORDS_PER_FETCH)
    )


def _verification(context: Context, case_id: int, user: str) -> dict[str, Any]:
    verifier = Verifier(context, case_id=case_id)
    findings = [finding.to_json() for finding in verifier.run()]
    replay = Audit(context).replay(case_id, viewer=user)
    return {
        "case_id": case_id,
        "intact": verifier.summary.intact and not replay["divergences"],
        "findings": findings,
        "summary": verifier.summary.to_json(),
        "replay": {
            "state": replay["state"],
            "version": replay["version"],
            "definition_version": replay["definition_version"],
            "old_rule_records": replay["old_rule_records"],
            "divergences": replay["divergences"],
        },
    }


@dataclass
class _History:
    records: int = 0
    masked: int = 0
    head: dict[str, Any] | None = None
    #: sha256 -> every (seq, field) that attached it
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class _Member:
    """A zip member being written, hashed and counted as it goes."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)


class _BundleWriter:
    """Writes an evidence bundle's members, remembering each one's sha256 and size."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.files: dict[str, dict[str, Any]] = {}

    @contextmanager
    def member(self, name: str) -> Iterator[_Member]:
        with self.archive.open(name, "w", force_zip64=True) as handle:
            member = _Member(handle)
            yield member
        self.files[name] = {"name": name, "sha256": member.digest.hexdigest(), "size": member.size}

    def text(self, name: str, text: str) -> None:
        with self.member(name) as member:
            member.write(text.encode("utf-8"))

    def history(self, records: Iterable[TransitionRecord], masking: Masking) -> _History:
        history = _History()
        with self.member(HISTORY) as member:
            for record in records:
                view = record_json(record)
                view["payload"], view["masked"] = masking.payload(view)
                member.write(json.dumps(view, ensure_ascii=False).encode("utf-8") + b"\n")
                history.records += 1
                history.masked += view["masked"]
                history.head = {"seq": view["seq"], "hash": view["hash"]}
                for name, sha256 in (view["documents"] or {}).items():
                    references = history.documents.setdefault(sha256, [])
                    references.append({"seq": view["seq"], "field": name})
        return history

    def documents(
        self, session: Session, context: Context, wanted: Mapping[str, list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Every referenced document's file (``documents/<sha256>-<name>``); one missing from
        storage is listed as missing, one whose content changed as ``altered``."""
        rows = {
            d.sha256: d
            for d in session.scalars(select(Document).where(Document.sha256.in_(list(wanted))))
        }
        listed = []
        for sha256, references in wanted.items():
            row = rows.get(sha256)
            name = f"documents/{sha256}-{safe_filename(row.filename if row else '')}"
            entry: dict[str, Any] = {
                "sha256": sha256,
                "filename": row.filename if row else None,
                "media_type": row.media_type if row else None,
                "size": row.size if row else None,
                "member": name,
                "references": references,
            }
            try:
                source = context.documents.path_for(sha256).open("rb")
            except OSError:
                entry.update(member=None, status="missing")
            else:
                with source, self.member(name) as member:
                    while chunk := source.read(CHUNK):
                        member.write(chunk)
                actual = self.files[name]["sha256"]
                entry["status"] = "included" if actual == sha256 else "altered"
            listed.append(entry)
        return listed

    def verification(self, verification: dict[str, Any]) -> dict[str, Any]:
        self.text(VERIFICATION, json.dumps(verification, ensure_ascii=False, indent=2))
        return {
            "verdict": "intact" if verification["intact"] else "problems",
            "findings": len(verification["findings"]),
            "divergences": len(verification["replay"]["divergences"]),
        }


def safe_filename(name: str) -> str:
    """A document's file name fit for a zip member: its last path part only, letters,
    digits, ``.``, ``_`` and ``-``, no leading dot (so no ``..``), at most 100 characters."""
    base = re.split(r"[/\\]", name)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base)
    base = re.sub(r"\.{2,}", ".", base).lstrip(".")
    if len(base) > 100:
        stem, ext = os.path.splitext(base)
        ext = ext[:16]
        base = stem[: 100 - len(ext)] + ext
    return base or "document"
