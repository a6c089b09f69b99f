"""Concurrent writers to one OCI layout (processes and threads) never lose an index.json entry."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from supplychain.digest import Digest
from supplychain.layout import TEMP_PREFIX, OciLayout
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, build_manifest

WORKERS = 4
ROUNDS = 12
NOTE_TYPE = "application/vnd.example.note"


def _subject() -> Descriptor:
    return Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"the subject manifest"), 20)


def _write(path: str, worker: int, rounds: int, barrier: Any = None) -> None:
    """One writer: create-or-open the layout, then put tagged images and untagged referrers."""
    if barrier is not None:
        barrier.wait(timeout=60)  # start together, so the writers really overlap
    layout = OciLayout(path, create=True)
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    for i in range(rounds):
        payload = f"worker {worker} round {i}".encode()
        blob = Descriptor.for_bytes(NOTE_TYPE, payload)
        layout.put_blob(blob, [payload])
        layout.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [blob]), tag=f"w{worker}-r{i}")
        referrer = build_manifest(EMPTY_DESCRIPTOR, [blob], subject=_subject(), artifact_type=NOTE_TYPE,
                                  annotations={"worker": str(worker), "round": str(i)})
        layout.put_manifest(referrer)


def _check(path: Path, workers: int, rounds: int) -> None:
    layout = OciLayout(path)
    expected = {f"w{w}-r{i}" for w in range(workers) for i in range(rounds)}
    assert set(layout.tags()) == expected
    found = layout.referrers(_subject().digest, NOTE_TYPE)
    assert {(d.annotations["worker"], d.annotations["round"]) for d in found} == {
        (str(w), str(i)) for w in range(workers) for i in range(rounds)
    }
    entries = json.loads((path / "index.json").read_bytes())["manifests"]
    assert len(entries) == 2 * workers * rounds
    assert list(path.rglob(f"{TEMP_PREFIX}*")) == []


def test_concurrent_processes_lose_nothing(tmp_path: Path):
    path = tmp_path / "shared-layout"  # created by whichever writer comes first
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    processes = [context.Process(target=_write, args=(str(path), w, ROUNDS, barrier)) for w in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * WORKERS
    _check(path, WORKERS, ROUNDS)


def test_concurrent_threads_lose_nothing(tmp_path: Path):
    path = tmp_path / "shared-layout"
    threads = 8
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(_write, str(path), w, ROUNDS) for w in range(threads)]:
            future.result()
    _check(path, threads, ROUNDS)
