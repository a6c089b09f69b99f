"""The local log's HTTP API, in-process: Rekor's paths, JSON shapes and status codes, request logging, stop."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supplychain.tlog.checkpoint import parse_checkpoint
from supplychain.tlog.server.directory import init_log_directory
from supplychain.tlog.server.http import MAX_BODY_BYTES, serve
from supplychain.tlog.server.log import LocalLog
from tests.support.tlog import InProcessLog, Signer

ENTRIES = "/api/v1/log/entries"


@pytest.fixture
def rekor(tmp_path: Path) -> Iterator[InProcessLog]:
    log = InProcessLog(tmp_path / "log")
    yield log
    log.close()


@pytest.fixture
def http(rekor: InProcessLog) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rekor.url, timeout=10) as client:
        yield client


def post_entry(http: httpx.Client, proposal: dict[str, object]) -> httpx.Response:
    return http.post(ENTRIES, content=json.dumps(proposal))


def test_create_answers_like_rekor(http: httpx.Client) -> None:
    response = post_entry(http, Signer().hashedrekord(b"a").proposed_entry())
    assert response.status_code == 201
    ((uuid, entry),) = response.json().items()
    assert len(uuid) == 80 and response.headers["ETag"] == uuid
    assert response.headers["Location"] == f"{ENTRIES}/{uuid}"
    assert set(entry) == {"body", "integratedTime", "logID", "logIndex", "verification"}
    assert set(entry["verification"]) == {"inclusionProof", "signedEntryTimestamp"}
    assert set(entry["verification"]["inclusionProof"]) == {"checkpoint", "hashes", "logIndex", "rootHash", "treeSize"}
    assert json.loads(base64.b64decode(entry["body"]))["kind"] == "hashedrekord"


def test_duplicate_is_409_with_location(http: httpx.Client) -> None:
    proposal = Signer().hashedrekord(b"dup").proposed_entry()
    uuid = next(iter(post_entry(http, proposal).json()))
    again = post_entry(http, proposal)
    assert again.status_code == 409
    assert again.headers["Location"] == f"{ENTRIES}/{uuid}"
    assert again.json() == {"code": 409, "message": f"an equivalent entry already exists in the transparency log "
                                                    f"with UUID {uuid}"}


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b'{"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {}}', 400),
        (b'{"kind": "rekord", "apiVersion": "0.0.1", "spec": {}}', 400),
        (b"[]", 400),
        (b"x" * (MAX_BODY_BYTES + 1), 413),
    ],
    ids=["json", "spec", "kind", "list", "oversized"],
)
def test_bad_entries(http: httpx.Client, content: bytes, status: int) -> None:
    response = http.post(ENTRIES, content=content)
    assert response.status_code == status
    assert response.json()["code"] == status and response.json()["message"]


def test_forged_signature_is_400(http: httpx.Client) -> None:
    proposal = Signer().hashedrekord(b"a").proposed_entry()
    proposal["spec"]["data"]["hash"]["value"] = "00" * 32
    response = post_entry(http, proposal)
    assert response.status_code == 400 and "does not verify" in response.json()["message"]


def test_body_without_length_is_refused(rekor: InProcessLog) -> None:
    host, port = rekor.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST /api/v1/log/entries HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 411")


@pytest.mark.parametrize(
    ("query", "status"),
    [("logIndex=-1", 400), ("logIndex=abc", 400), (f"logIndex={2**63}", 400), ("logIndex=99999999999", 404),
     ("logIndex=0", 404), ("", 400)],
)
def test_entry_by_index_errors(http: httpx.Client, query: str, status: int) -> None:
    assert http.get(f"{ENTRIES}?{query}").status_code == status


def test_entry_by_uuid(http: httpx.Client, rekor: InProcessLog) -> None:
    uuid = next(iter(post_entry(http, Signer().hashedrekord(b"u").proposed_entry()).json()))
    assert list(http.get(f"{ENTRIES}/{uuid}").json()) == [uuid]
    assert list(http.get(f"{ENTRIES}/{uuid[16:]}").json()) == [uuid]
    assert list(http.get(f"{ENTRIES}/{uuid.upper()}").json()) == [uuid]
    assert http.get(f"{ENTRIES}/{'0' * 16}{uuid[16:]}").status_code == 404  # another tree
    assert http.get(f"{ENTRIES}/{'ab' * 32}").status_code == 404
    assert http.get(f"{ENTRIES}/abcd").status_code == 400


def test_log_info_proofs_and_key(http: httpx.Client, rekor: InProcessLog) -> None:
    empty = http.get("/api/v1/log").json()
    assert empty["treeSize"] == 0 and empty["treeID"] == str(rekor.log.tree_id)
    signer = Signer()
    for n in range(5):
        post_entry(http, signer.hashedrekord(b"p %d" % n).proposed_entry())
    info = http.get("/api/v1/log").json()
    assert info["treeSize"] == 5
    checkpoint = parse_checkpoint(info["signedTreeHead"]).checkpoint
    assert checkpoint.root_hash.hex() == info["rootHash"] and checkpoint.origin == rekor.log.origin
    proof = http.get("/api/v1/log/proof", params={"firstSize": 2, "lastSize": 5}).json()
    assert proof["rootHash"] == info["rootHash"] and len(proof["hashes"]) > 0
    assert http.get("/api/v1/log/proof", params={"lastSize": 5}).status_code == 200  # firstSize defaults to 1
    for params in ({"firstSize": 0, "lastSize": 5}, {"firstSize": 3, "lastSize": 2}, {"firstSize": 1, "lastSize": 6},
                   {"firstSize": 1}, {"firstSize": 1, "lastSize": 5, "treeID": "7"}):
        assert http.get("/api/v1/log/proof", params=params).status_code == 400, params
    key = http.get("/api/v1/log/publicKey")
    assert key.headers["Content-Type"] == "application/x-pem-file"
    assert key.content == rekor.directory.public_key_pem()
    assert http.get("/api/v1/version").json()["version"]


def test_searches(http: httpx.Client) -> None:
    alice, bob = Signer(), Signer()
    a = next(iter(post_entry(http, alice.hashedrekord(b"same").proposed_entry()).json()))
    b = next(iter(post_entry(http, bob.hashedrekord(b"same").proposed_entry()).json()))
    digest = alice.hashedrekord(b"same").digest.hex()
    assert http.post("/api/v1/index/retrieve", json={"hash": f"sha256:{digest}"}).json() == [a, b]
    assert http.post("/api/v1/index/retrieve", json={"hash": digest.upper()}).json() == [a, b]
    key = {"format": "x509", "content": base64.b64encode(bob.pem).decode()}
    assert http.post("/api/v1/index/retrieve", json={"publicKey": key}).json() == [b]
    assert http.post("/api/v1/index/retrieve", json={"hash": digest, "publicKey": key, "operator": "and"}).json() == [b]
    for bad in ({}, {"hash": "sha256:12"}, {"email": "a@b"}, {"publicKey": {"format": "pgp", "content": ""}},
                {"hash": digest, "operator": "xor"}, []):
        assert http.post("/api/v1/index/retrieve", json=bad).status_code == 400, bad
    found = http.post(f"{ENTRIES}/retrieve", json={"entryUUIDs": [a], "logIndexes": [1, 99]}).json()
    assert [next(iter(item)) for item in found] == [a, b]
    by_proposal = http.post(f"{ENTRIES}/retrieve", json={"entries": []}).json()
    assert by_proposal == []
    assert http.post(f"{ENTRIES}/retrieve", json={"logIndexes": list(range(11))}).status_code == 400


def test_unknown_paths_and_methods(http: httpx.Client) -> None:
    assert http.get("/api/v2/log").status_code == 404
    assert http.get("/").status_code == 404
    response = http.delete(ENTRIES)
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert http.put("/api/v1/log", content=b"x").status_code == 405


def test_requests_are_logged_one_line_each(http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="supplychain.tlog.server"):
        http.get("/api/v1/log")
        http.get(f"{ENTRIES}?logIndex=5")
    lines = [record.getMessage() for record in caplog.records if "HTTP" not in record.getMessage()]
    assert any('"GET /api/v1/log" 200' in line for line in lines)
    assert any('"GET /api/v1/log/entries?logIndex=5" 404' in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_serve_stops_cleanly(tmp_path: Path) -> None:
    directory = init_log_directory(tmp_path / "log")
    log = LocalLog(directory).start()
    stop = threading.Event()
    urls: list[str] = []
    ready = threading.Event()

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    thread = threading.Thread(target=serve, args=(log, "127.0.0.1", 0, stop), kwargs={"ready": on_ready})
    thread.start()
    assert ready.wait(10)
    with httpx.Client(base_url=urls[0]) as http:
        assert post_entry(http, Signer().hashedrekord(b"before stop").proposed_entry()).status_code == 201
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    with LocalLog(directory) as reopened:
        assert reopened.size == 1
