"""Anchors: a Merkle root over every case's chain head, stored (append-only) and printed so
it can be published outside the database (the public page, a signed report, a newspaper).

Someone with full database rights can rewrite a history consistently: cut its last
records, fix the case row, recompute every hash. The chain alone cannot show that; an
anchor taken before can, because the head it covers (case, seq, hash) is gone or changed.
The tree is RFC 6962's (Certificate Transparency): leaves and inner nodes hashed with
distinct prefixes, so a leaf can never pass for a node."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engine.audit.merkle import inclusion_proof, leaf_hash, merkle_root
from engine.errors import InvalidData, NotFound
from engine.store.chain import format_time
from engine.store.models import AnchorHead, ChainAnchor, TransitionRecord, utcnow
from engine.text import Label


def proof_for(session: Session, case_id: int) -> dict[str, Any] | None:
    """The newest anchor covering ``case_id`` with the case's head then and the audit path
    from it to the anchor's digest (None: no anchor covers the case)."""
    anchor = session.scalar(
        select(ChainAnchor)
        .join(AnchorHead, AnchorHead.anchor_id == ChainAnchor.id)
        .where(AnchorHead.case_id == case_id)
        .order_by(ChainAnchor.id.desc())
        .limit(1)
    )
    if anchor is None:
        return None
    _anchor, heads = find(session, anchor.root)
    index = next(i for i, h in enumerate(heads) if h.case_id == case_id)
    leaves = [leaf_hash(h.case_id, h.seq, h.hash) for h in heads]
    head = heads[index]
    return {
        **anchor_json(anchor),
        "leaf": {"case_id": head.case_id, "seq": head.seq, "hash": head.hash},
        "index": index,
        "size": len(heads),
        "proof": inclusion_proof(leaves, index),
    }


@dataclass(frozen=True)
class Head:
    case_id: int
    seq: int
    hash: str


def current_heads(session: Session, case_ids: Sequence[int] | None = None) -> Iterator[Head]:
    """Each case's last record, by case id."""
    last = select(
        TransitionRecord.case_id.label("case_id"), func.max(TransitionRecord.seq).label("seq")
    ).group_by(TransitionRecord.case_id)
    if case_ids is not None:
        last = last.where(TransitionRecord.case_id.in_(case_ids))
    newest = last.subquery()
    rows = session.execute(
        select(TransitionRecord.case_id, TransitionRecord.seq, TransitionRecord.hash)
        .join(
            newest,
            (TransitionRecord.case_id == newest.c.case_id) & (TransitionRecord.seq == newest.c.seq),
        )
        .order_by(TransitionRecord.case_id)
        .execution_options(yield_per=2000)
    )
    for case_id, seq, digest in rows:
        yield Head(case_id, seq, digest)


def root_of(heads: Sequence[Head]) -> str:
    ordered = sorted(heads, key=lambda h: h.case_id)
    return merkle_root([leaf_hash(h.case_id, h.seq, h.hash) for h in ordered])


def anchor_json(anchor: ChainAnchor) -> dict[str, Any]:
    return {
        "id": anchor.id,
        "digest": anchor.root,
        "at": format_time(anchor.at),
        "created_by": anchor.created_by,
        "cases": anchor.cases,
        "records": anchor.records,
    }


def take(session: Session, actor: str) -> ChainAnchor:
    """Store an anchor over every case's current head (in the caller's transaction)."""
    heads = list(current_heads(session))
    anchor = ChainAnchor(
        root=root_of(heads),
        at=utcnow(),
        created_by=actor,
        cases=len(heads),
        records=sum(h.seq for h in heads),
    )
    existing = session.scalar(select(ChainAnchor).where(ChainAnchor.root == anchor.root))
    if existing is not None:  # nothing changed since: the same digest, already stored
        return existing
    session.add(anchor)
    session.flush()
    for start in range(0, len(heads), 1000):
        session.execute(
            insert(AnchorHead),
            [
                {"anchor_id": anchor.id, "case_id": h.case_id, "seq": h.seq, "hash": h.hash}
                for h in heads[start : start + 1000]
            ],
        )
    return anchor


def find(session: Session, digest: str) -> tuple[ChainAnchor, list[Head]]:
    """The stored anchor with ``digest`` and its heads; a clear error if there is none."""
    digest = digest.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidData(
            Label(
                id=f"digest jangkar terdiri atas 64 karakter heksadesimal, bukan {digest!r}",
                en=f"an anchor digest is 64 hexadecimal characters, not {digest!r}",
            )
        )
    anchor = session.scalar(select(ChainAnchor).where(ChainAnchor.root == digest))
    if anchor is None:
        raise NotFound(
            Label(
                id=f"tidak ada jangkar {digest} di basis data ini: jangkar itu tidak pernah "
                "diambil di sini, atau sudah dihapus (maka riwayat yang dicakupnya tidak dapat "
                "dipercaya)",
                en=f"no anchor {digest} in this database: it was never taken here, or it was "
                "removed (then the history it covered cannot be trusted)",
            )
        )
    heads = [
        Head(case_id, seq, digest_)
        for case_id, seq, digest_ in session.execute(
            select(AnchorHead.case_id, AnchorHead.seq, AnchorHead.hash)
            .where(AnchorHead.anchor_id == anchor.id)
            .order_by(AnchorHead.case_id)
        )
    ]
    return anchor, heads


def latest(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    rows = session.scalars(select(ChainAnchor).order_by(ChainAnchor.id.desc()).limit(limit))
    return [anchor_json(a) for a in rows]
