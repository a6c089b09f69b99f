"""The local log as a real process (``supplychain tlog serve``) driven by RekorClient and raw HTTP."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from supplychain.errors import InvalidInputError
from supplychain.tlog.client import EntryNotFoundError, RekorRejectedError
from supplychain.tlog.server.http import MAX_BODY_BYTES
from tests.support.tlog import LogProcess, Signer, statement

pytestmark = pytest.mark.integration
ENTRIES = "/api/v1/log/entries"


def test_hashedrekord_round_trip(tlog_server: LogProcess) -> None:
    signer = Signer()
    with tlog_server.client() as client:
        created = client.create_hashedrekord(signer.hashedrekord(b"integration artifact"))
        assert created.created and created.verification.timestamp_verified
        by_uuid = client.get_entry(created.entry.uuid)
        by_index = client.get_entry_by_index(created.entry.log_index)
        assert by_uuid.entry.entry == by_index.entry.entry == created.entry.entry
        digest = hashlib.sha256(b"integration artifact").hexdigest()
        assert created.entry.uuid in client.search_by_hash(f"sha256:{digest}")
        info = client.log_info()
        assert info.checkpoint.size > created.entry.log_index
        client.prove_consistency(created.verification.checkpoint, info.checkpoint)  # type: ignore[arg-type]


def test_dsse_round_trip(tlog_server: LogProcess) -> None:
    signer = Signer()
    subject = hashlib.sha256(b"dsse subject").hexdigest()
    with tlog_server.client() as client:
        created = client.create_dsse(signer.envelope(statement(subject)), [signer.pem])
        assert created.entry.kind == "dsse"
        assert created.entry.uuid in client.search_by_hash(f"sha256:{subject}")
        assert client.get_entry(created.entry.uuid).entry.entry == created.entry.entry


def test_duplicates_answer_409(tlog_server: LogProcess) -> None:
    proposal = Signer().hashedrekord(b"twice")
    with tlog_server.client() as client:
        first = client.create_hashedrekord(proposal)
        again = client.create_hashedrekord(proposal)
        assert (again.created, again.entry.uuid) == (False, first.entry.uuid)
    response = httpx.post(tlog_server.url + ENTRIES, json=proposal.proposed_entry())
    assert response.status_code == 409
    assert response.headers["Location"] == f"{ENTRIES}/{first.entry.uuid}"


def test_bad_requests(tlog_server: LogProcess) -> None:
    with httpx.Client(base_url=tlog_server.url) as http:
        assert http.post(ENTRIES, content=b"{").status_code == 400
        forged = Signer().hashedrekord(b"x").proposed_entry()
        forged["spec"]["data"]["hash"]["value"] = "11" * 32
        assert http.post(ENTRIES, json=forged).status_code == 400
        assert http.post(ENTRIES, content=b" " * (MAX_BODY_BYTES + 1)).status_code == 413
        assert http.get(ENTRIES, params={"logIndex": "-1"}).status_code == 400
        assert http.get(ENTRIES, params={"logIndex": str(2**64)}).status_code == 400
        assert http.get(ENTRIES, params={"logIndex": str(2**62)}).status_code == 404
        assert http.get("/api/v1/log/proof", params={"firstSize": 0, "lastSize": 1}).status_code == 400
    with tlog_server.client() as client:
        with pytest.raises(EntryNotFoundError):
            client.get_entry_by_index(2**62)
        with pytest.raises(InvalidInputError):
            client.consistency_proof(0, 1)
        forged_record = Signer().hashedrekord(b"y")
        wrong = type(forged_record)("sha256", bytes(32), forged_record.signature, forged_record.public_key)
        with pytest.raises(RekorRejectedError):
            client.create_hashedrekord(wrong)


def test_ed25519_log_and_clean_stop(tmp_path: Path) -> None:
    proc = LogProcess(tmp_path / "ed-log", key_type="ed25519").init().start()
    try:
        with proc.client() as client:
            created = client.create_hashedrekord(Signer().hashedrekord(b"ed25519-logged"))
            assert created.verification.checkpoint is not None
            assert client.get_entry(created.entry.uuid).verification.timestamp_verified
    finally:
        status = proc.stop()
    assert status == 0
    log = proc.stderr_path.read_text()
    assert '"POST /api/v1/log/entries" 201' in log and "stopped" in log
    restarted = proc.start()
    try:
        with restarted.client() as client:
            assert client.log_info().checkpoint.size == 1
    finally:
        restarted.stop()


def test_public_key_endpoint_matches_the_file(tlog_server: LogProcess) -> None:
    with tlog_server.client() as client:
        assert client.public_key() == tlog_server.keyring.logs[0].key
    config = json.loads((tlog_server.directory / "config.json").read_text())
    with tlog_server.client() as client:
        assert client.log_info().tree_id == config["treeID"]
