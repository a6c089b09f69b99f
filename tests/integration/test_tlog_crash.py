"""Crash safety of the local log (issue 4, item 4): ``kill -9`` during a load of concurrent appends loses no
acknowledged entry, and the restarted log proves consistency with every checkpoint it handed out."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from supplychain.errors import SupplyChainError
from supplychain.tlog.checkpoint import Checkpoint
from tests.support.tlog import LogProcess, Signer

pytestmark = pytest.mark.integration

CLIENTS = 8
ROUNDS = 2  # kill -9 and restart this many times
ACKS_BEFORE_KILL = 150  # per round, across all clients


@dataclass
class Record:
    """What the clients were told: acknowledged entries (UUID -> (index, body)) and every checkpoint seen."""

    acked: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def load(proc: LogProcess, record: Record, worker: int, stop: threading.Event, round_: int) -> None:
    """Append until the log dies; record each acknowledged (verified) entry and each checkpoint handed out."""
    signer = Signer()
    client = proc.client()
    n = 0
    try:
        while not stop.is_set():
            n += 1
            try:
                created = client.create_hashedrekord(signer.hashedrekord(f"r{round_} w{worker} n{n}".encode()))
                if n % 5 == 0:
                    info = client.log_info()
                    with record.lock:
                        record.checkpoints.append(info.checkpoint)
            except SupplyChainError:
                return  # the log was killed under us: whatever was not acknowledged may be lost
            checkpoint = created.verification.checkpoint
            with record.lock:
                record.acked[created.entry.uuid] = (created.entry.log_index, created.entry.entry.body)
                if checkpoint is not None:
                    record.checkpoints.append(checkpoint)
    finally:
        client.close()


def test_kill_9_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    proc = LogProcess(tmp_path / "log").init().start(quiet=True)
    record = Record()
    try:
        for round_ in range(ROUNDS):
            stop = threading.Event()
            before = len(record.acked)
            workers = [threading.Thread(target=load, args=(proc, record, w, stop, round_)) for w in range(CLIENTS)]
            for thread in workers:
                thread.start()
            deadline = time.monotonic() + 60
            while len(record.acked) - before < ACKS_BEFORE_KILL and time.monotonic() < deadline:
                time.sleep(0.01)
            assert proc.kill() == -9  # mid-load: requests are in flight
            stop.set()
            for thread in workers:
                thread.join(30)
            assert len(record.acked) - before >= ACKS_BEFORE_KILL
            proc.start(quiet=True)
            check(proc, record)
    finally:
        if proc.process is not None and proc.process.poll() is None:
            proc.stop()


def check(proc: LogProcess, record: Record) -> None:
    with proc.client() as client:
        current = client.log_info().checkpoint
        assert current.size >= 1 + max(index for index, _ in record.acked.values())
        for uuid, (index, body) in record.acked.items():
            stored = client.get_entry(uuid)
            assert (stored.entry.log_index, stored.entry.entry.body) == (index, body)
        for seen in {(c.size, c.root_hash): c for c in record.checkpoints}.values():
            client.prove_consistency(seen, current)
        # and the log goes on after the crash, numbering from where the disk says
        created = client.create_hashedrekord(Signer().hashedrekord(b"after the crash %d" % current.size))
        assert created.entry.log_index >= current.size
