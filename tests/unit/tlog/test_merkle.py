"""RFC 6962/9162 Merkle hashing and proofs: transparency-dev vectors, an independent reference, properties."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.errors import InvalidInputError, VerificationError
from supplychain.tlog.merkle import (
    EMPTY_ROOT,
    ConsistencyProofError,
    InclusionProofError,
    MerkleProofError,
    MerkleTree,
    TreeRangeError,
    hash_children,
    hash_leaf,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

from .vectors import FIXTURES, load_json

MERKLE = FIXTURES / "merkle"


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _vector_files(kind: str) -> list[Path]:
    return sorted((MERKLE / "testdata" / kind).rglob("*.json"))


def _vector_id(path: Path) -> str:
    return str(path.relative_to(MERKLE / "testdata"))


# -- an independent reference: RFC 9162 section 2.1 written as the recursive definitions -------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def _leaves(count: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(count)]


# -- transparency-dev vectors ------------------------------------------------------------------------------------


def test_vector_counts() -> None:
    assert len(_vector_files("inclusion")) == 98
    assert len(_vector_files("consistency")) == 98


@pytest.mark.parametrize("path", _vector_files("inclusion"), ids=_vector_id)
def test_inclusion_vector(path: Path) -> None:
    vector = load_json("merkle", "testdata", *path.relative_to(MERKLE / "testdata").parts)
    args = (
        _b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        [_b64(h) for h in vector["proof"] or []],
        _b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(InclusionProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_files("consistency"), ids=_vector_id)
def test_consistency_vector(path: Path) -> None:
    vector = load_json("merkle", "testdata", *path.relative_to(MERKLE / "testdata").parts)
    args = (
        vector["size1"],
        vector["size2"],
        [_b64(h) for h in vector["proof"] or []],
        _b64(vector["root1"]),
        _b64(vector["root2"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_hasher_vectors() -> None:
    vectors = load_json("merkle", "testonly", "constants.go.extracted.json")["hasher_vectors"]
    want = {v["desc"]: bytes.fromhex(v["want"]) for v in vectors}
    assert want["EmptyRoot = SHA256('')"] == EMPTY_ROOT
    assert hash_leaf(b"") == want["HashLeaf(b'')"]
    assert hash_leaf(b"L123456") == want["HashLeaf(b'L123456')"]
    assert hash_children(b"N123", b"N456") == want["HashChildren(b'N123', b'N456')"]


def test_reference_tree_of_eight_leaves() -> None:
    reference = load_json("merkle", "testonly", "constants.go.extracted.json")
    leaves = [bytes.fromhex(x) for x in reference["leaf_inputs_hex"]]
    tree = MerkleTree.from_entries(leaves)
    for size, root in enumerate(reference["root_hashes_by_tree_size_hex"]):
        assert tree.root(size).hex() == root, f"root of size {size}"
    # Every node of the complete tree: node i at level h covers leaves [i * 2^h, (i + 1) * 2^h).
    for level, row in enumerate(reference["node_hashes_by_level_hex"]):
        for index, node in enumerate(row):
            span = leaves[index << level : (index + 1) << level]
            assert MerkleTree.from_entries(span).root().hex() == node, f"node {index} at level {level}"
    for index, leaf in enumerate(leaves):
        assert tree.leaf_hash(index).hex() == reference["node_hashes_by_level_hex"][0][index]
        assert tree.leaf_hash(index) == hash_leaf(leaf)


# -- our tree against the RFC's recursive definitions --------------------------------------------------------------


def test_tree_matches_reference_for_every_size_and_index_up_to_64() -> None:
    leaves = _leaves(64)
    tree = MerkleTree.from_entries(leaves)
    for size in range(0, 65):
        root = tree.root(size)
        assert root == _mth(leaves[:size])
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == _path(index, leaves[:size])
            verify_inclusion(hash_leaf(leaves[index]), index, size, proof, root)
            assert root_from_inclusion_proof(hash_leaf(leaves[index]), index, size, proof) == root


def test_consistency_proofs_for_every_size_pair_up_to_64() -> None:
    leaves = _leaves(64)
    tree = MerkleTree.from_entries(leaves)
    for size2 in range(1, 65):
        for size1 in range(1, size2 + 1):
            proof = tree.consistency_proof(size1, size2)
            assert proof == _subproof(size1, leaves[:size2], True)
            verify_consistency(size1, size2, proof, tree.root(size1), tree.root(size2))


def test_incremental_appends_match_a_tree_built_at_once() -> None:
    leaves = _leaves(100)
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    for index, leaf in enumerate(leaves):
        assert tree.append(leaf) == index
        assert len(tree) == tree.size == index + 1
        assert tree.root() == _mth(leaves[: index + 1])
    assert MerkleTree(hash_leaf(leaf) for leaf in leaves).root() == tree.root()


def test_proofs_do_not_verify_for_another_leaf_index_or_size() -> None:
    leaves = _leaves(13)
    tree = MerkleTree.from_entries(leaves)
    root = tree.root()
    proof = tree.inclusion_proof(5)
    with pytest.raises(InclusionProofError, match="leads to root"):
        verify_inclusion(hash_leaf(leaves[6]), 5, 13, proof, root)  # proof for another leaf
    with pytest.raises(InclusionProofError):
        verify_inclusion(hash_leaf(leaves[5]), 4, 13, proof, root)
    with pytest.raises(InclusionProofError, match="expected 3"):
        verify_inclusion(hash_leaf(leaves[5]), 5, 8, proof, root)
    # The audit path alone does not pin the size: leaf 5 hashes the same way in any tree of 9..16 leaves. That is
    # why a proof is only evidence together with a signed checkpoint of the same size (see entry.py).
    verify_inclusion(hash_leaf(leaves[5]), 5, 12, proof, root)
    with pytest.raises(InclusionProofError, match="leads to root"):
        verify_inclusion(hash_leaf(leaves[5]), 5, 13, proof, tree.root(12))


# -- malformed and hostile input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [
        (-1, 8, "out of range"),
        (8, 8, "outside a tree of size 8"),
        (2**64, 2**64 + 1, "out of range"),
        (2**63, 8, "outside a tree of size 8"),
        (0, 0, "outside a tree of size 0"),
        (0, -1, "out of range"),
    ],
)
def test_inclusion_rejects_bad_numbers(index: int, size: int, message: str) -> None:
    with pytest.raises(InclusionProofError, match=message):
        verify_inclusion(hash_leaf(b"x"), index, size, [], EMPTY_ROOT)


def test_inclusion_rejects_proofs_of_the_wrong_length_or_hash_size() -> None:
    tree = MerkleTree.from_entries(_leaves(10))
    proof = tree.inclusion_proof(3)
    leaf, root = tree.leaf_hash(3), tree.root()
    with pytest.raises(InclusionProofError, match=f"has {len(proof) + 1} hashes, expected {len(proof)}"):
        verify_inclusion(leaf, 3, 10, [*proof, proof[0]], root)
    with pytest.raises(InclusionProofError, match=f"has {len(proof) - 1} hashes, expected {len(proof)}"):
        verify_inclusion(leaf, 3, 10, proof[:-1], root)
    with pytest.raises(InclusionProofError, match="proof hash 1 is 31 bytes"):
        verify_inclusion(leaf, 3, 10, [proof[0], proof[1][:31], *proof[2:]], root)
    with pytest.raises(InclusionProofError, match="leaf hash is 0 bytes"):
        verify_inclusion(b"", 3, 10, proof, root)


def test_consistency_rejects_bad_sizes_and_shapes() -> None:
    tree = MerkleTree.from_entries(_leaves(10))
    with pytest.raises(ConsistencyProofError, match="from size 0"):
        verify_consistency(0, 10, [], EMPTY_ROOT, tree.root())
    with pytest.raises(ConsistencyProofError, match="from size 0"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ConsistencyProofError, match="larger than size2"):
        verify_consistency(7, 6, tree.consistency_proof(6, 7), tree.root(7), tree.root(6))
    with pytest.raises(ConsistencyProofError, match="out of range"):
        verify_consistency(-1, 10, [], EMPTY_ROOT, tree.root())
    with pytest.raises(ConsistencyProofError, match="need an empty proof"):
        verify_consistency(4, 4, [tree.root(4)], tree.root(4), tree.root(4))
    with pytest.raises(ConsistencyProofError, match="different roots"):
        verify_consistency(4, 4, [], tree.root(4), tree.root(5))
    with pytest.raises(ConsistencyProofError, match="is empty"):
        verify_consistency(4, 10, [], tree.root(4), tree.root())
    proof = tree.consistency_proof(3, 10)
    with pytest.raises(ConsistencyProofError, match=f"has {len(proof) + 1} hashes, expected {len(proof)}"):
        verify_consistency(3, 10, [*proof, proof[0]], tree.root(3), tree.root())
    with pytest.raises(ConsistencyProofError, match="old root"):
        verify_consistency(3, 10, proof, tree.root(4), tree.root())
    with pytest.raises(ConsistencyProofError, match="new root"):
        verify_consistency(3, 10, proof, tree.root(3), tree.root(9))


def test_proof_errors_are_verification_failures() -> None:
    assert issubclass(MerkleProofError, VerificationError)
    assert issubclass(TreeRangeError, InvalidInputError)


def test_tree_refuses_requests_outside_its_range() -> None:
    tree = MerkleTree.from_entries(_leaves(5))
    with pytest.raises(TreeRangeError):
        tree.root(6)
    with pytest.raises(TreeRangeError):
        tree.inclusion_proof(5)
    with pytest.raises(TreeRangeError):
        tree.inclusion_proof(3, 3)
    with pytest.raises(TreeRangeError):
        tree.consistency_proof(0, 5)
    with pytest.raises(TreeRangeError):
        tree.consistency_proof(4, 3)
    with pytest.raises(TreeRangeError):
        tree.leaf_hash(-1)
    with pytest.raises(TreeRangeError):
        tree.append_hash(b"short")
    assert tree.consistency_proof(5) == []


# -- properties on random trees -----------------------------------------------------------------------------------

# Distinct leaves: with repeated ones, a proof can legitimately verify at another index ([a, b, a, b]).
_trees = st.lists(st.binary(max_size=16), min_size=1, max_size=300, unique=True)


@settings(max_examples=150, deadline=None)
@given(leaves=_trees, data=st.data())
def test_random_inclusion_proofs_verify_and_any_bit_flip_breaks_them(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_entries(leaves)
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    root = tree.root(size)
    assert root == _mth(leaves[:size])
    verify_inclusion(hash_leaf(leaves[index]), index, size, proof, root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, 255), label="bit")
        tampered = list(proof)
        flipped = bytearray(proof[position])
        flipped[bit // 8] ^= 1 << (bit % 8)
        tampered[position] = bytes(flipped)
        with pytest.raises(InclusionProofError):
            verify_inclusion(hash_leaf(leaves[index]), index, size, tampered, root)
    other = data.draw(st.integers(0, size - 1), label="other index")
    if other != index:
        with pytest.raises(InclusionProofError):
            verify_inclusion(hash_leaf(leaves[index]), other, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(leaves=_trees, data=st.data())
def test_random_consistency_proofs_verify_and_reject_other_roots(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_entries(leaves)
    size2 = data.draw(st.integers(1, len(leaves)), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    proof = tree.consistency_proof(size1, size2)
    verify_consistency(size1, size2, proof, tree.root(size1), tree.root(size2))
    if size1 < size2:
        forged = hashlib.sha256(b"forged").digest()
        with pytest.raises(ConsistencyProofError):
            verify_consistency(size1, size2, proof, forged, tree.root(size2))
        with pytest.raises(ConsistencyProofError):
            verify_consistency(size1, size2, proof, tree.root(size1), forged)
        with pytest.raises(ConsistencyProofError):
            verify_consistency(size1, size2, [*proof[:-1], forged], tree.root(size1), tree.root(size2))
