"""Inclusion-proof verification rate over a 100,000-leaf RFC 9162 tree, against raw SHA-256 in the same run.

    python bench/bench_tlog_verify.py [--leaves 100000] [--proofs 20000]

Prints proofs verified per second (goal: >= 5,000/s), the rate of the same number of bare
``hashlib.sha256(0x01 || left || right)`` calls the verifications perform (the floor any Python verifier pays),
the ratio of the two times (our overhead over raw hashing), and, for the local log, how long building the tree,
producing one inclusion proof (O(log n)) and one consistency proof take at 1k, 10k and 100k leaves.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time

from supplychain.tlog.merkle import MerkleTree, verify_consistency, verify_inclusion


def _median_of(repeat: int, run: object) -> float:
    """The median wall time of ``repeat`` calls (an in-process library figure: no start-up to measure)."""
    assert callable(run)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _interleaved(repeat: int, ours: object, baseline: object) -> tuple[float, float]:
    """Medians of ``ours`` and ``baseline`` run in interleaved rounds, alternating which goes first."""
    assert callable(ours) and callable(baseline)
    times: dict[object, list[float]] = {ours: [], baseline: []}
    for index in range(repeat):
        for run in (ours, baseline) if index % 2 == 0 else (baseline, ours):
            start = time.perf_counter()
            run()
            times[run].append(time.perf_counter() - start)
    return statistics.median(times[ours]), statistics.median(times[baseline])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(9162)  # fixed seed: the same proofs every run

    start = time.perf_counter()
    tree = MerkleTree.from_entries(f"entry {i}".encode() for i in range(args.leaves))
    build = time.perf_counter() - start
    root = tree.root()
    indexes = [rng.randrange(args.leaves) for _ in range(args.proofs)]
    cases = [(tree.leaf_hash(i), i, tree.inclusion_proof(i)) for i in indexes]
    hash_count = sum(len(proof) for _, _, proof in cases)
    size = args.leaves

    def verify_all() -> None:
        for leaf_hash, index, proof in cases:
            verify_inclusion(leaf_hash, index, size, proof, root)

    left, right = hashlib.sha256(b"l").digest(), hashlib.sha256(b"r").digest()
    sha256 = hashlib.sha256

    def raw_hashes() -> None:
        for _ in range(hash_count):
            sha256(b"\x01" + left + right).digest()

    verify_time, baseline_time = _interleaved(args.repeat, verify_all, raw_hashes)
    rate = args.proofs / verify_time
    print(
        f"tree: {args.leaves:,} leaves built in {build:.2f} s; {args.proofs:,} random proofs, "
        f"{hash_count / args.proofs:.1f} hashes each"
    )
    print(
        f"inclusion-proof verification: {rate:,.0f} proofs/s (goal >= 5,000/s: {'met' if rate >= 5000 else 'MISSED'})"
    )
    print(
        f"baseline, {hash_count:,} bare sha256(0x01||l||r) calls: {hash_count / baseline_time:,.0f} hashes/s, "
        f"i.e. {args.proofs / baseline_time:,.0f} proof-equivalents/s"
    )
    print(f"ratio verify / raw hashing time: {verify_time / baseline_time:.2f}x")

    pairs = [(rng.randrange(1, size), size) for _ in range(2_000)]
    consistency = [(a, b, tree.consistency_proof(a, b), tree.root(a)) for a, b in pairs]

    def verify_consistency_all() -> None:
        for size1, size2, proof, root1 in consistency:
            verify_consistency(size1, size2, proof, root1, root)

    consistency_time = _median_of(args.repeat, verify_consistency_all)
    print(f"consistency-proof verification: {len(consistency) / consistency_time:,.0f} proofs/s")

    for leaves in (1_000, 10_000, 100_000):
        if leaves > args.leaves:
            break
        sample = [rng.randrange(leaves) for _ in range(1_000)]
        proof_time = _median_of(args.repeat, lambda n=leaves, s=sample: [tree.inclusion_proof(i, n) for i in s])
        consistency_sample = [rng.randrange(1, leaves) for _ in range(1_000)]
        cons_time = _median_of(
            args.repeat, lambda n=leaves, s=consistency_sample: [tree.consistency_proof(m, n) for m in s]
        )
        print(
            f"at {leaves:>7,} leaves: inclusion proof {proof_time * 1e3:.1f} us, "
            f"consistency proof {cons_time * 1e3:.1f} us (mean of 1,000; median of the repeats)"
        )


if __name__ == "__main__":
    main()
