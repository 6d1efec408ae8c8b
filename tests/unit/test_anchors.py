"""Anchors are RFC 6962 Merkle trees: the root equals the recursive definition for every
size, and each leaf's audit path proves it is in the tree (and nothing else is)."""

from __future__ import annotations

import hashlib

import pytest

from engine.audit.merkle import inclusion_proof, leaf_hash, merkle_root, verify_inclusion


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) as RFC 6962 section 2.1 writes it, recursively."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = rfc6962_root(leaves[:k]), rfc6962_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i + 1, i + 2, hashlib.sha256(bytes([i % 256])).hexdigest()) for i in range(n)]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 31, 33, 100])
def test_root_and_every_audit_path(size: int) -> None:
    tree = leaves(size)
    root = merkle_root(tree)
    assert root == rfc6962_root(tree).hex()
    for index in range(size):
        proof = inclusion_proof(tree, index)
        assert verify_inclusion(tree[index], index, size, proof, root)
        assert not verify_inclusion(leaf_hash(0, 0, "0" * 64), index, size, proof, root)
        if proof:  # a changed sibling, a wrong place or a wrong size: refused
            bad = [proof[0][:-1] + ("0" if proof[0][-1] != "0" else "1"), *proof[1:]]
            assert not verify_inclusion(tree[index], index, size, bad, root)
            assert not verify_inclusion(tree[index], (index + 1) % size, size, proof, root) or (
                tree[index] == tree[(index + 1) % size]
            )
        assert not verify_inclusion(tree[index], size, size, proof, root)  # out of range


def test_empty_tree_and_leaf_domain_separation() -> None:
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    # a leaf is hashed with 0x00, a node with 0x01: two leaves never pass for their parent
    pair = leaves(2)
    parent = bytes.fromhex(merkle_root(pair))
    assert parent != leaf_hash(1, 2, pair[0].hex())
    assert not verify_inclusion(parent, 0, 1, [], merkle_root(pair[:1]))
