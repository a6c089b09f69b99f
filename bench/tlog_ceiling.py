"""The ceiling for ``bench/tlog.py``: the least a Python log server must do per durable append, and nothing else.

    python bench/tlog_ceiling.py PORT DATABASE     (started by bench/tlog.py; prints ``serving`` when it listens)

This is not a log and not part of supplychain. It answers the bench's clients the way ``tlog serve`` does (one
asyncio loop, keep-alive connections, 201 with a JSON entry of about the same size), doing only the work that no
implementation of a Rekor-style log can skip for a hashedrekord proposal:

- find the request's head and body, ``json.loads`` the proposal;
- load the PEM public key and check the ECDSA signature over the prehashed artifact digest (Rekor's
  hashedrekord rule: the log refuses what does not verify);
- the canonical body (``json.dumps`` with sorted keys, no JCS check), its RFC 6962 leaf hash;
- number it and sign its SET (ECDSA P-256 over the canonical JSON of body, integratedTime, logIndex, logID);
- group commit: every append that arrived while the previous transaction ran goes into the next one
  (``executemany`` and ``COMMIT`` on one thread, WAL, ``synchronous=FULL``), one checkpoint signature per batch;
- answer each append after its batch is durable.

What it skips and ``tlog serve`` does: the Merkle tree and the inclusion proof (it sends a fake one of the same
size), the duplicate check, the proposal's full schema and JCS validation, HTTP parsing beyond Content-Length,
errors, limits, logging and fail-stop. So its rate bounds from above what any single-process Python server
reaches against the same clients on the same machine.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import queue
import sqlite3
import sys
import threading
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

PREHASHED = ec.ECDSA(utils.Prehashed(hashes.SHA256()))
SHA256 = ec.ECDSA(hashes.SHA256())
PROOF_HASHES = 14  # about log2 of the bench's log sizes


class CeilingLog:
    def __init__(self, database: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")
        self.connection.execute("CREATE TABLE IF NOT EXISTS entries (log_index INTEGER PRIMARY KEY, leaf BLOB, "
                                "body BLOB, timestamp_signature BLOB)")
        self.jobs: queue.SimpleQueue[tuple[list[tuple[Any, ...]], list[tuple[asyncio.Transport, bytes]]]] = (
            queue.SimpleQueue())
        self.pending: list[tuple[asyncio.Transport, bytes, bytes]] = []
        self.size = 0
        self.committing = False
        self.loop = asyncio.get_running_loop()
        threading.Thread(target=self._committer, daemon=True).start()

    def _committer(self) -> None:
        while True:
            rows, answers = self.jobs.get()
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", rows)
            self.connection.execute("COMMIT")
            self.loop.call_soon_threadsafe(self._durable, answers)

    def _durable(self, answers: list[tuple[asyncio.Transport, bytes]]) -> None:
        self.key.sign(b"checkpoint %d" % self.size, SHA256)
        for transport, answer in answers:
            transport.write(answer)
        self.committing = False
        self.flush()

    def append(self, transport: asyncio.Transport, body: bytes, leaf: bytes) -> None:
        self.pending.append((transport, body, leaf))
        self.loop.call_soon(self.flush)

    def flush(self) -> None:
        if self.committing or not self.pending:
            return
        batch, self.pending = self.pending, []
        rows: list[tuple[Any, ...]] = []
        answers: list[tuple[asyncio.Transport, bytes]] = []
        for transport, body, leaf in batch:
            index, self.size = self.size, self.size + 1
            now = int(time.time())
            encoded = base64.b64encode(body).decode()
            payload = json.dumps({"body": encoded, "integratedTime": now, "logID": "ab" * 32, "logIndex": index},
                                 sort_keys=True, separators=(",", ":")).encode()
            signature = self.key.sign(payload, SHA256)
            rows.append((index, leaf, body, signature))
            answer = json.dumps({leaf.hex(): {
                "body": encoded, "integratedTime": now, "logID": "ab" * 32, "logIndex": index,
                "verification": {
                    "signedEntryTimestamp": base64.b64encode(signature).decode(),
                    "inclusionProof": {"logIndex": index, "treeSize": index + 1, "rootHash": leaf.hex(),
                                       "hashes": [leaf.hex()] * PROOF_HASHES, "checkpoint": "x" * 200},
                },
            }}).encode()
            answers.append((transport, b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                       b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)))
        self.committing = True
        self.jobs.put((rows, answers))


class Connection(asyncio.Protocol):
    def __init__(self, log: CeilingLog) -> None:
        self.log = log
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            start = head.index(b"content-length:") + len(b"content-length:")
            stop = head.find(b"\r\n", start)
            length = int(head[start:stop if stop >= 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            body, self.buffer = self.buffer[end + 4:end + 4 + length], self.buffer[end + 4 + length:]
            self.create(body)

    def create(self, raw: bytes) -> None:
        proposal = json.loads(raw)
        spec = proposal["spec"]
        signature = base64.b64decode(spec["signature"]["content"])
        key = serialization.load_pem_public_key(base64.b64decode(spec["signature"]["publicKey"]["content"]))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(signature, bytes.fromhex(spec["data"]["hash"]["value"]), PREHASHED)
        body = json.dumps(proposal, sort_keys=True, separators=(",", ":")).encode()
        assert self.transport is not None
        self.log.append(self.transport, body, hashlib.sha256(b"\x00" + body).digest())


async def serve(port: int, database: str) -> None:
    log = CeilingLog(database)
    await asyncio.get_running_loop().create_server(lambda: Connection(log), "127.0.0.1", port)
    print("serving", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
