"""Local transparency log speed, with baselines measured in the same run (issue 4, "Speed").

    python bench/tlog.py [--seconds 5] [--sizes 1000,10000,100000]

Prints:

* durable appends/s (``POST /api/v1/log/entries`` answered 201, i.e. committed with ``synchronous=FULL``) to a real
  ``supplychain tlog serve`` process at 1 and 8 concurrent clients (goal >= 500/s), next to two baselines:
  a bare SQLite WAL ``synchronous=FULL`` one-row-per-commit insert loop on the same disk, and raw HTTP round trips
  to the same server's ``GET /api/v1/log``;
* inclusion-proof latency at 1k, 10k and 100k entries: building the audit path alone (``MerkleTree``), and a whole
  ``GET /api/v1/log/entries?logIndex=`` answer (database read, proof, signed checkpoint) over HTTP; O(log n) shows
  as a flat line while n grows 100-fold; plus how long the server takes to start (tree rebuild) at each size;
* verification rate: RFC 9162 inclusion proofs alone, and whole entries (SET + proof + checkpoint signature), against
  the raw SHA-256 calls an inclusion check needs.

The clients use ``http.client`` with pre-signed proposals, so the figures are the server's, not the client's.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from supplychain.formats.rekor import HashedRekord
from supplychain.tlog.evidence import parse_log_entries, verify_entry
from supplychain.tlog.merkle import MerkleTree, hash_leaf, verify_inclusion
from supplychain.tlog.server.directory import init_log_directory
from supplychain.tlog.server.storage import LogStorage, NewEntry
from supplychain.trust.keyring import public_key_keyring

REPO = Path(__file__).resolve().parents[1]


# -- a server process ------------------------------------------------------------------------------------------


class Server:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.create_server(("127.0.0.1", 0)) as sock:
            self.port = sock.getsockname()[1]
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "supplychain", "tlog", "serve", "--dir", str(directory), "--addr",
             f"127.0.0.1:{self.port}", "--quiet"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/api/v1/log")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.02)
        self.startup = time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def proposals(count: int) -> list[bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    bodies = []
    for n in range(count):
        digest = hashlib.sha256(b"bench artifact %d %s" % (n, os.urandom(8))).digest()
        signature = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        bodies.append(json.dumps(HashedRekord("sha256", digest, signature, pem).proposed_entry()).encode())
    return bodies


def hammer(port: int, clients: int, seconds: float, request: object) -> tuple[int, float]:
    """Run ``clients`` threads, each on its own keep-alive connection, for ``seconds``; return (done, elapsed)."""
    assert callable(request)
    done = [0] * clients
    stop = threading.Event()

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            request(connection, slot, done[slot])
            done[slot] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(done), time.perf_counter() - started


def appends_per_second(port: int, clients: int, seconds: float, pool: list[list[bytes]]) -> float:
    def append(connection: http.client.HTTPConnection, slot: int, n: int) -> None:
        connection.request("POST", "/api/v1/log/entries", body=pool[slot][n],
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"append answered {response.status}")

    done, elapsed = hammer(port, clients, seconds, append)
    return done / elapsed


def log_info_per_second(port: int, clients: int, seconds: float) -> float:
    def info(connection: http.client.HTTPConnection, slot: int, n: int) -> None:
        connection.request("GET", "/api/v1/log")
        connection.getresponse().read()

    done, elapsed = hammer(port, clients, seconds, info)
    return done / elapsed


def sqlite_commits_per_second(directory: Path, seconds: float) -> float:
    """The floor a durable append pays: one WAL, synchronous=FULL commit per row, no HTTP, no crypto."""
    connection = sqlite3.connect(directory / "baseline.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, body BLOB)")
    body = os.urandom(800)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t (body) VALUES (?)", (body,))
        connection.execute("COMMIT")
        done += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return done / elapsed


# -- proofs at size ----------------------------------------------------------------------------------------------


def synthetic_log(directory: Path, size: int) -> None:
    """A log directory whose database holds ``size`` entries (synthetic bodies; the server does not re-verify)."""
    init_log_directory(directory)
    storage = LogStorage(directory / "log.db")
    batch = 20_000
    for start in range(0, size, batch):
        storage.append([
            NewEntry(i, hashlib.sha256(b"\x00" + b"{%d}" % i).digest(), b"{%d}" % i, 1_700_000_000, b"0" * 70,
                     "hashedrekord", "0.0.1", ())
            for i in range(start, min(size, start + batch))
        ])
    storage.close()


def proof_latencies(size: int, workdir: Path, samples: int) -> tuple[float, float, float, int]:
    """(audit path build µs, HTTP GET entry ms, server start s, proof length) at ``size`` entries."""
    rng = random.Random(size)
    tree = MerkleTree(hashlib.sha256(b"%d" % i).digest() for i in range(size))
    indexes = [rng.randrange(size) for _ in range(samples)]
    started = time.perf_counter()
    for index in indexes:
        tree.inclusion_proof(index)
    build = (time.perf_counter() - started) / samples * 1e6
    directory = workdir / f"log-{size}"
    synthetic_log(directory, size)
    server = Server(directory)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        timings = []
        for index in indexes:
            started = time.perf_counter()
            connection.request("GET", f"/api/v1/log/entries?logIndex={index}")
            response = connection.getresponse()
            response.read()
            timings.append(time.perf_counter() - started)
            assert response.status == 200
        connection.close()
    finally:
        server.stop()
    return build, statistics.median(timings) * 1000, server.startup, len(tree.inclusion_proof(indexes[0]))


# -- verification --------------------------------------------------------------------------------------------


def verification_rates(workdir: Path, count: int) -> tuple[float, float, float]:
    """(inclusion proofs/s, whole entries/s, raw SHA-256 node hashes/s for the same work)."""
    from supplychain.tlog.kind import canonicalize
    from supplychain.tlog.server.log import Appended, LocalLog

    directory = init_log_directory(workdir / "verify-log")
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    entries = []
    with LocalLog(directory) as log:
        for n in range(1000):
            digest = hashlib.sha256(b"%d" % n).digest()
            signature = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            result = log.append(canonicalize(HashedRekord("sha256", digest, signature, pem).proposed_entry()))
            assert isinstance(result, Appended)
        for index in range(1000):
            fetched = log.entry_by_index(index)
            assert fetched is not None
            entries.append(parse_log_entries(fetched.to_wire())[0])
    keyring = public_key_keyring(directory.public_key_pem(), "http://bench")
    cases = [(hash_leaf(e.entry.body), e.inclusion_proof) for e in entries if e.inclusion_proof is not None]

    started = time.perf_counter()
    for n in range(count):
        leaf, proof = cases[n % len(cases)]
        verify_inclusion(leaf, proof.log_index, proof.tree_size, proof.hashes, proof.root_hash)
    proofs = count / (time.perf_counter() - started)

    whole = max(1, count // 10)
    started = time.perf_counter()
    for n in range(whole):
        verify_entry(entries[n % len(entries)], keyring, require_timestamp=True, require_inclusion=True)
    full = whole / (time.perf_counter() - started)

    # The floor: the bare node hashes those proofs need (one SHA-256 per proof hash), nothing else.
    per_proof = statistics.mean(len(proof.hashes) for _, proof in cases)
    left, right = hashlib.sha256(b"l").digest(), hashlib.sha256(b"r").digest()
    sha256 = hashlib.sha256
    calls = int(count * per_proof)
    started = time.perf_counter()
    for _ in range(calls):
        sha256(b"\x01" + left + right).digest()
    raw_proofs = count / (time.perf_counter() - started)
    return proofs, full, raw_proofs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput measurement")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")

    with tempfile.TemporaryDirectory(prefix="bench-tlog-") as temp:
        workdir = Path(temp)
        baseline_commits = sqlite_commits_per_second(workdir, args.seconds)
        print(f"\nbaseline: bare SQLite WAL synchronous=FULL, one row per commit: {baseline_commits:8.0f} commits/s")

        init_log_directory(workdir / "append-log")
        server = Server(workdir / "append-log")
        try:
            expected = int(args.seconds * 4000) + 1000  # enough pre-signed proposals for any client
            print(f"signing {expected} proposals for each client count ...", flush=True)
            for clients in (1, 8):
                pool = [proposals(expected // clients) for _ in range(clients)]
                rate = appends_per_second(server.port, clients, args.seconds, pool)
                info = log_info_per_second(server.port, clients, args.seconds)
                print(
                    f"{clients} client{'s' if clients > 1 else ' '}: durable appends {rate:7.0f}/s (goal >= 500/s) | "
                    f"GET /api/v1/log {info:6.0f}/s | appends / log-info = {rate / info:.2f} | "
                    f"appends / bare SQLite commits = {rate / baseline_commits:.2f}"
                )
        finally:
            server.stop()

        print("\ninclusion proofs (median of random indexes):")
        print("   entries | proof hashes | audit path build | HTTP GET entry | server start (tree rebuild)")
        for size in sizes:
            build, get, startup, length = proof_latencies(size, workdir, args.samples)
            print(f"{size:10d} | {length:12d} | {build:12.1f} µs | {get:11.2f} ms | {startup:8.2f} s")

        proofs, full, raw = verification_rates(workdir, 20_000)
        print("\nverification:")
        print(f"  RFC 9162 inclusion proofs:              {proofs:9.0f}/s (goal >= 5,000/s)")
        print(f"  whole entries (SET + proof + checkpoint): {full:7.0f}/s")
        print(f"  raw SHA-256 for the same proofs:          {raw:7.0f} proofs' worth/s "
              f"(inclusion overhead over raw hashing: {raw / proofs:.2f}x)")


if __name__ == "__main__":
    main()
