"""RFC 6962 Merkle trees (Certificate Transparency) over chain heads: the root, a leaf's
audit path, and checking a path against a published root. Pure functions: checking an
evidence bundle needs no database."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_LEAF, _NODE = b"\x00", b"\x01"


def leaf_hash(case_id: int, seq: int, record_hash: str) -> bytes:
    """The leaf of one case's head: its id, the head's seq and the head's hash."""
    return hashlib.sha256(_LEAF + f"{case_id}:{seq}:{record_hash}".encode()).digest()


def merkle_root(leaves: Sequence[bytes]) -> str:
    """RFC 6962 Merkle tree hash of ``leaves`` (already leaf-hashed), as hex."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = list(leaves)
    while len(level) > 1:  # pairs from the left; an odd last node moves up unchanged
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (RFC 6962's k)."""
    k = 1
    while k * 2 < size:
        k *= 2
    return k


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[str]:
    """The audit path of leaf ``index`` (RFC 6962 section 2.1.1), as hex, leaf to root."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(leaves[:k], index), merkle_root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), merkle_root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[str], root: str) -> bool:
    """True if ``proof`` shows ``leaf`` at ``index`` of a tree of ``size`` leaves has
    ``root`` (RFC 9162 section 2.1.3.2): what anyone holding a published digest can check."""
    if not 0 <= index < size:
        return False
    try:
        path = [bytes.fromhex(p) for p in proof]
    except ValueError:
        return False
    fn, sn, digest = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            digest = _node(sibling, digest)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            digest = _node(digest, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and digest.hex() == root
