"""Merkle tree hashing and proofs of RFC 6962 / RFC 9162 (Certificate Transparency 2.0), as Rekor uses them.

A log is a Merkle tree over its entries (RFC 9162 section 2.1.1):

* the hash of an empty tree is ``SHA-256()``;
* a leaf hash is ``SHA-256(0x00 || entry)``;
* an interior node is ``SHA-256(0x01 || left || right)``, where the left subtree holds the largest power of two
  of leaves strictly smaller than the tree size.

The 0x00/0x01 prefixes keep a leaf from ever being mistaken for a node (second-preimage protection).

Verification follows RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency), written with the equivalent
"inner/border" decomposition of the audit path: for a leaf ``index`` in a tree of ``size`` leaves, the first
``inner = bit_length(index ^ (size - 1))`` proof hashes are siblings below the level where the leaf's path joins
the right border of the tree (left or right sibling by the index bit), and the remaining ``popcount(index >> inner)``
hashes are left siblings on that border. This gives the exact proof length up front, so a proof that is too short
or too long is refused before any hashing. As in the transparency-dev reference code, a consistency proof from
size 0 is always an error (an empty tree proves nothing), as is an index outside the tree.

Verification failures raise ``MerkleProofError`` subclasses (``VerificationError`` family) carrying "expected X,
got Y" detail. ``MerkleTree`` builds roots and proofs for a list of leaves (the local log's in-memory tree).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from supplychain.errors import InvalidInputError, VerificationError

HASH_SIZE = 32
"""Length in bytes of every hash in a SHA-256 tree."""

MAX_TREE_SIZE = 2**64 - 1
"""Sizes and indexes are unsigned 64-bit numbers in RFC 9162 (and signed 64-bit in Rekor, which is smaller)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = HASH(): the root hash of the empty tree (RFC 9162 section 2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256


class MerkleProofError(VerificationError):
    """A Merkle proof does not prove what it claims: wrong shape, wrong numbers or wrong hashes."""

    default_hint = "the proof, the root or the tree size is not the log's; fetch them again from the log"


class InclusionProofError(MerkleProofError):
    """An inclusion (audit) proof that does not lead from the leaf to the root (RFC 9162 section 2.1.3)."""


class ConsistencyProofError(MerkleProofError):
    """A consistency proof that does not show the smaller tree is a prefix of the larger (RFC 9162 section 2.1.4)."""


class TreeRangeError(InvalidInputError):
    """A size or index outside what a ``MerkleTree`` holds (a request for a proof the log cannot give)."""

    default_hint = "ask for a size or index inside the log's current tree (supplychain tlog info shows its size)"


def hash_leaf(data: bytes) -> bytes:
    """The leaf hash ``SHA-256(0x00 || data)`` of one log entry (RFC 9162 section 2.1.1)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The interior node hash ``SHA-256(0x01 || left || right)`` (RFC 9162 section 2.1.1)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split the audit path of leaf ``index`` in a tree of ``size`` leaves into (inner, border) lengths.

    Levels below ``inner`` are where ``index`` and the last leaf ``size - 1`` are in different subtrees, so the
    sibling exists on every level. From ``inner`` up, the path runs along the right border of the tree and has a
    (left) sibling only where the index bit is set; elsewhere the node is promoted unchanged (RFC 9162 2.1.1:
    the right subtree of an incomplete tree is shorter).
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _check_hash(value: bytes, what: str, error: type[MerkleProofError]) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} is {len(value)} bytes, expected a {HASH_SIZE}-byte SHA-256 hash")


def _check_number(value: int, what: str, error: type[MerkleProofError]) -> None:
    if value < 0 or value > MAX_TREE_SIZE:
        raise error(f"{what} {value} is out of range: expected 0 <= {what} <= 2^64-1")


def root_from_inclusion_proof(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes]) -> bytes:
    """The root hash that ``proof`` implies for leaf ``index`` with hash ``leaf_hash`` (RFC 9162 2.1.3.2).

    Raise ``InclusionProofError`` when the inputs cannot form a proof: ``index`` outside ``[0, tree_size)``,
    a proof of the wrong length for that position, or hashes that are not 32 bytes.
    """
    _check_number(index, "index", InclusionProofError)
    _check_number(tree_size, "tree size", InclusionProofError)
    if index >= tree_size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    _check_hash(leaf_hash, "leaf hash", InclusionProofError)
    inner, border = _decompose(index, tree_size)
    if len(proof) != inner + border:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of {tree_size} has {len(proof)} hashes, expected {inner + border}"
        )
    node = leaf_hash
    for level, sibling in enumerate(proof):
        if len(sibling) != HASH_SIZE:
            _check_hash(sibling, f"proof hash {level}", InclusionProofError)
        # Inner levels: the index bit says whether we are the right child (sibling on the left) or the left one.
        # Border levels: every proof hash is a left sibling (RFC 9162 2.1.3.2 step 4b, where fn == sn).
        if level >= inner or (index >> level) & 1:
            node = _sha256(_NODE_PREFIX + sibling + node).digest()
        else:
            node = _sha256(_NODE_PREFIX + node + sibling).digest()
    return node


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` leaves with root hash ``root``.

    RFC 9162 section 2.1.3.2. Return ``None`` on success; raise ``InclusionProofError`` saying what differs.
    """
    computed = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)
    if computed != root:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of {tree_size} leads to root {computed.hex()}, expected {root.hex()}"
        )


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of ``size1`` leaves with ``root1`` is a prefix of the one of ``size2`` with ``root2``.

    RFC 9162 section 2.1.4.2, with the transparency-dev conventions: equal sizes need an empty proof and equal
    roots; ``size1 == 0`` is always an error (a proof from the empty tree proves nothing, so a caller that asks for
    one has a bug); ``size1 > size2`` is an error. Raise ``ConsistencyProofError`` saying what differs.
    """
    _check_number(size1, "size1", ConsistencyProofError)
    _check_number(size2, "size2", ConsistencyProofError)
    if size1 > size2:
        raise ConsistencyProofError(f"size1 {size1} is larger than size2 {size2}: a log never shrinks")
    if size1 == 0:
        raise ConsistencyProofError("consistency proof from size 0: the empty tree is consistent with any tree")
    if size1 == size2:
        if proof:
            raise ConsistencyProofError(f"equal sizes ({size1}) need an empty proof, got {len(proof)} hashes")
        if root1 != root2:
            raise ConsistencyProofError(
                f"trees of equal size {size1} have different roots: {root1.hex()} and {root2.hex()}"
            )
        return
    if not proof:
        raise ConsistencyProofError(f"consistency proof from {size1} to {size2} is empty")
    for position, value in enumerate(proof):
        _check_hash(value, f"proof hash {position}", ConsistencyProofError)

    # The old tree's last leaf is size1 - 1. Its lowest `shift` levels are a complete subtree shared by both
    # trees (RFC 9162 2.1.4.2 steps 3-4: shift right while the low bit is set), so the walk starts there.
    shift = (size1 & -size1).bit_length() - 1
    inner, border = _decompose(size1 - 1, size2)
    inner -= shift
    if size1 == 1 << shift:
        # The old tree is itself a complete subtree: its root is the seed (RFC 9162 2.1.4.2 step 2).
        seed, rest = root1, proof
    else:
        seed, rest = proof[0], proof[1:]
    if len(rest) != inner + border:
        expected = inner + border + (len(proof) - len(rest))
        raise ConsistencyProofError(
            f"consistency proof from {size1} to {size2} has {len(proof)} hashes, expected {expected}"
        )
    mask = (size1 - 1) >> shift
    old = new = seed
    for level, sibling in enumerate(rest):
        if level >= inner or (mask >> level) & 1:
            # A left sibling belongs to both trees.
            old = _sha256(_NODE_PREFIX + sibling + old).digest()
            new = _sha256(_NODE_PREFIX + sibling + new).digest()
        else:
            # A right sibling holds only leaves added after size1.
            new = _sha256(_NODE_PREFIX + new + sibling).digest()
    if old != root1:
        raise ConsistencyProofError(
            f"consistency proof from {size1} to {size2} leads to old root {old.hex()}, expected {root1.hex()}"
        )
    if new != root2:
        raise ConsistencyProofError(
            f"consistency proof from {size1} to {size2} leads to new root {new.hex()}, expected {root2.hex()}"
        )


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 section 2.1.1: the largest power of two strictly smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only Merkle tree that computes roots and proofs for any size it has held.

    It keeps every complete subtree hash, level by level: ``levels[h][i]`` is the hash of leaves
    ``[i * 2^h, (i + 1) * 2^h)``. That is ``2n`` hashes for ``n`` leaves (about 64 bytes plus Python object
    overhead per leaf: ~20 MB at 100,000 leaves), and gives:

    * ``append``: amortised O(1) hashes (one per completed subtree);
    * ``root(size)`` for any ``size <= len(tree)``: O(log n) hashes (one per set bit of ``size``);
    * ``inclusion_proof``: O(log n) look-ups, plus O(log n) hashes for the one incomplete sibling on the right
      border, if any;
    * ``consistency_proof``: O(log n) subtree hashes of O(log n) each, O(log^2 n) in the worst case.

    Not thread-safe: the local log serialises appends and reads around it.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Build a tree from leaf hashes (already ``hash_leaf``-ed), e.g. when a log reopens its store."""
        self._levels: list[list[bytes]] = [[]]
        for leaf_hash in leaf_hashes:
            self.append_hash(leaf_hash)

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> MerkleTree:
        """Build a tree from raw entries, hashing each with ``hash_leaf``."""
        return cls(hash_leaf(entry) for entry in entries)

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def append(self, entry: bytes) -> int:
        """Add one raw entry (hashed with ``hash_leaf``); return its leaf index."""
        return self.append_hash(hash_leaf(entry))

    def append_hash(self, leaf_hash: bytes) -> int:
        """Add one leaf by its leaf hash; return its leaf index."""
        if len(leaf_hash) != HASH_SIZE:
            raise TreeRangeError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        levels = self._levels
        index = len(levels[0])
        levels[0].append(leaf_hash)
        # Every time a level gets an even count, the last two hashes complete a subtree one level up.
        level, node = 0, index
        while node & 1:
            row = levels[level]
            parent = _sha256(_NODE_PREFIX + row[-2] + row[-1]).digest()
            level += 1
            if level == len(levels):
                levels.append([])
            levels[level].append(parent)
            node >>= 1
        return index

    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        self._check_index(index, self.size)
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all), RFC 9162 section 2.1.1."""
        size = self.size if size is None else size
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._subtree_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 section 2.1.3.1, leaf-side first (as Rekor and verifiers expect)."""
        size = self.size if size is None else size
        self._check_size(size)
        self._check_index(index, size)
        inner, _ = _decompose(index, size)
        proof: list[bytes] = []
        for level in range(inner):
            sibling = (index >> level) ^ 1
            start = sibling << level
            proof.append(self._subtree_hash(start, min(start + (1 << level), size)))
        # On the right border, only levels where the index bit is set have a (left, complete) sibling.
        for level in range(inner, (size - 1).bit_length()):
            if (index >> level) & 1:
                proof.append(self._levels[level][(index >> level) - 1])
        return proof

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """PROOF(size1, D[size2]) of RFC 9162 section 2.1.4.1 (SUBPROOF with b = true).

        ``0 < size1 <= size2 <= len(tree)``; for ``size1 == size2`` the proof is empty.
        """
        size2 = self.size if size2 is None else size2
        self._check_size(size2)
        if not 0 < size1 <= size2:
            raise TreeRangeError(f"consistency proof needs 0 < size1 <= size2, got size1={size1}, size2={size2}")
        proof: list[bytes] = []
        # SUBPROOF(m, D[start:end], b), unrolled: each step descends into one half and records the other.
        m, start, end, complete = size1, 0, size2, True
        while m != end - start:
            k = _largest_power_of_two_below(end - start)
            if m <= k:
                proof.append(self._subtree_hash(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree_hash(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            proof.append(self._subtree_hash(start, end))
        proof.reverse()
        return proof

    def _subtree_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range the RFC recursion produces (``start`` aligned to a power of two)."""
        levels = self._levels
        # Decompose [start, end) into complete subtrees from the left, largest first, then fold from the right.
        nodes: list[bytes] = []
        while start < end:
            level = min((end - start).bit_length() - 1, (start & -start).bit_length() - 1 if start else 64)
            nodes.append(levels[level][start >> level])
            start += 1 << level
        node = nodes.pop()
        while nodes:
            node = _sha256(_NODE_PREFIX + nodes.pop() + node).digest()
        return node

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise TreeRangeError(f"tree size {size} is outside 0..{self.size}")

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise TreeRangeError(f"leaf index {index} is outside a tree of size {size}")
