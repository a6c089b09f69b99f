"""The local log's HTTP API, in-process: Rekor's paths, JSON shapes and status codes, request logging, stop."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supplychain.tlog.checkpoint import parse_checkpoint
from supplychain.tlog.server.directory import init_log_directory
from supplychain.tlog.server.http import MAX_BODY_BYTES, RekorHttpServer, serve
from supplychain.tlog.server.log import LocalLog
from supplychain.tlog.server.storage import LogStorage, StoredEntry
from tests.support.http import chunked, json_answer, raw_request
from tests.support.tlog import InProcessLog, Signer

ENTRIES = "/api/v1/log/entries"


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
    answer = raw_request(rekor.url, b"POST /api/v1/log/entries HTTP/1.1\r\nHost: x\r\n\r\n")
    assert json_answer(answer)[0] == 411


def test_chunked_bodies_are_read(http: httpx.Client) -> None:
    proposal = json.dumps(Signer().hashedrekord(b"chunked").proposed_entry()).encode()
    response = http.post(ENTRIES, content=chunked(proposal))
    assert response.request.headers["Transfer-Encoding"] == "chunked" and response.status_code == 201
    search = json.dumps({"hash": "sha256:" + hashlib.sha256(b"chunked").hexdigest()}).encode()
    assert http.post("/api/v1/index/retrieve", content=chunked(search, 7)).json() == list(response.json())
    too_big = http.post(ENTRIES, content=chunked(b"x" * (MAX_BODY_BYTES + 1), 65536))
    assert too_big.status_code == 413 and too_big.json()["code"] == 413


@pytest.mark.parametrize(
    "body",
    [b"zz\r\nab\r\n0\r\n\r\n", b"5\r\nab\r\n0\r\n\r\n", b"2\r\nabXX0\r\n\r\n"],
    ids=["size", "truncated", "no-crlf"],
)
def test_malformed_chunked_bodies(rekor: InProcessLog, body: bytes) -> None:
    answer = raw_request(
        rekor.url, b"POST /api/v1/index/retrieve HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
        timeout=2,
    )
    status, headers, document = json_answer(answer)
    assert (status, document["code"]) == (400, 400) and headers["connection"] == "close"


def test_chunked_and_content_length_together_are_refused(rekor: InProcessLog) -> None:
    answer = raw_request(rekor.url, b"POST /api/v1/index/retrieve HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert json_answer(answer)[0] == 400


@pytest.mark.parametrize("path", ["/api/v1/index/retrieve", "/api/v1/log/entries/retrieve"])
def test_deeply_nested_json_is_400(http: httpx.Client, path: str) -> None:
    response = http.post(path, content=b"[" * 60_000)
    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": response.json()["message"]}
    assert "nest too deeply" in response.json()["message"]
    assert http.get("/api/v1/log").status_code == 200  # the server is fine


def test_deeply_nested_dsse_payload_is_logged(http: httpx.Client) -> None:
    # The in-toto subjects of a payload are indexed when they can be read; one nested past the recursion limit
    # is simply not indexed.
    response = post_entry(http, Signer().dsse(b"[" * 60_000).proposed_entry())
    assert response.status_code == 201, response.text


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
    for method in ("PATCH", "OPTIONS", "FOO"):
        response = http.request(method, "/api/v1/log", content=b"{}")
        assert response.status_code == 405 and response.headers["Allow"] == "GET", method
        assert response.json() == {"code": 405, "message": f"{method} is not allowed on /api/v1/log"}
    assert http.request("PATCH", "/nowhere").json()["code"] == 404
    head = http.head("/api/v1/log")
    assert head.status_code == 405 and head.content == b""
    assert http.get("/api/v1/log").status_code == 200  # the connection is still in step


def test_malformed_requests_get_json_errors(rekor: InProcessLog) -> None:
    status, _, document = json_answer(raw_request(rekor.url, b"GET\r\n\r\n"))
    assert status == 400 and document["code"] == 400
    status, _, document = json_answer(raw_request(rekor.url, b"GET /api/v1/log HTTP/7.0\r\n\r\n"))
    assert status == 505 and document["code"] == 505


class BrokenStorage(LogStorage):
    """Storage with a bug in its read path (TEST): not a storage error, a plain exception."""

    def entry(self, log_index: int) -> StoredEntry | None:
        raise RuntimeError("TEST bug")


def test_an_unhandled_error_is_a_500_answer(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    directory = init_log_directory(tmp_path / "log")
    with LocalLog(directory, storage=BrokenStorage(directory.database_path)) as log:
        server = RekorHttpServer(("127.0.0.1", 0), log)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            with httpx.Client(base_url=server.url, timeout=10) as http, caplog.at_level(logging.ERROR):
                post_entry(http, Signer().hashedrekord(b"x").proposed_entry())
                response = http.get(f"{ENTRIES}?logIndex=0")
                assert response.status_code == 500
                assert response.json() == {"code": 500, "message": "internal server error (see the log's output)"}
                assert http.get("/api/v1/log").status_code == 200
            assert any("TEST bug" in (record.exc_text or "") for record in caplog.records)
        finally:
            server.shutdown()
            thread.join()
            server.server_close()


def test_a_corrupted_row_is_not_served(rekor: InProcessLog, http: httpx.Client,
                                       caplog: pytest.LogCaptureFixture) -> None:
    uuid = next(iter(post_entry(http, Signer().hashedrekord(b"to corrupt").proposed_entry()).json()))
    with sqlite3.connect(rekor.directory.database_path) as connection:
        connection.execute("UPDATE entries SET body = ? WHERE log_index = 0", (b'{"kind":"damaged"}',))
    digest = "sha256:" + hashlib.sha256(b"to corrupt").hexdigest()
    with caplog.at_level(logging.ERROR, logger="supplychain.tlog.server"):
        for response in (http.get(f"{ENTRIES}?logIndex=0"), http.get(f"{ENTRIES}/{uuid}"),
                         http.post("/api/v1/index/retrieve", json={"hash": digest})):
            assert response.status_code == 500
            assert "entry 0 is corrupted" in response.json()["message"] and response.json()["code"] == 500
    assert sum("entry 0 is corrupted" in record.getMessage() for record in caplog.records) == 3


def test_connections_are_bounded(tmp_path: Path) -> None:
    directory = init_log_directory(tmp_path / "log")
    with LocalLog(directory) as log:
        server = RekorHttpServer(("127.0.0.1", 0), log, max_connections=2, idle_timeout=1)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        host, port = server.server_address[:2]
        try:
            idle = [socket.create_connection((host, port), timeout=10) for _ in range(2)]
            time.sleep(0.3)  # both accepted, each holding a slot
            status, headers, document = json_answer(raw_request(server.url, b"GET /api/v1/log HTTP/1.1\r\n\r\n"))
            assert (status, document["code"], headers["retry-after"]) == (503, 503, "1")
            # An idle connection is closed after the idle timeout, and its slot serves the next client.
            assert idle[0].recv(10) == b""
            with httpx.Client(base_url=server.url, timeout=10) as http:
                assert http.get("/api/v1/log").status_code == 200
            for sock in idle:
                sock.close()
        finally:
            server.shutdown()
            thread.join()
            server.server_close()


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
