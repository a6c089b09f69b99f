"""Rekor v1 API answers read strictly (``tlog.answer``): exact JSON types, required fields, bounded proofs, extra
fields ignored; each refusal one ``RekorResponseError`` naming the field's path. The answer is a real one: a
cosign annotation's entry from ``containers/image``'s test data in the Rekor v1 ``LogEntry`` form, with an
inclusion proof added for the proof's fields."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from supplychain.formats.bundle import MAX_PROOF_HASHES
from supplychain.formats.schema import JsonReader
from supplychain.tlog.answer import (
    read_consistency_proof,
    read_log_entries,
    read_log_info,
    read_uuids,
)
from supplychain.tlog.evidence import RekorResponseError, parse_log_entries, read_evidence

from .vectors import cosign_annotations

READ = JsonReader(RekorResponseError)


@pytest.fixture(scope="module")
def answer() -> dict[str, Any]:
    annotation = cosign_annotations("tlog", "containers-image", "dir-img-cosign-key-rekor-valid", "signature-1")
    (entry,) = read_evidence(annotation["dev.sigstore.cosign/bundle"].encode())
    wire = entry.to_wire()
    (value,) = wire.values()
    value["verification"]["inclusionProof"] = {"logIndex": 3, "rootHash": "ab" * 32, "treeSize": 9,
                                               "hashes": ["cd" * 32], "checkpoint": "note"}
    value["attestation"] = {"unknown": "fields are ignored"}
    return wire


def edited(answer: dict[str, Any], change: Any) -> dict[str, Any]:
    document = copy.deepcopy(answer)
    change(next(iter(document.values())))
    return document


def test_a_real_answer_reads_with_every_field(answer: dict[str, Any]) -> None:
    (uuid, entry), = read_log_entries(answer, READ).items()
    assert uuid == next(iter(answer)) and entry.integratedTime > 0 and entry.logID
    proof = entry.verification.inclusionProof
    assert proof is not None and (proof.logIndex, proof.treeSize, proof.hashes) == (3, 9, ("cd" * 32,))
    assert entry.verification.signedEntryTimestamp
    # bytes and the decoded document read the same
    assert parse_log_entries(json.dumps(answer).encode()) == parse_log_entries(answer)


def test_verification_may_be_absent_or_null(answer: dict[str, Any]) -> None:
    for change in (lambda v: v.pop("verification"), lambda v: v.update(verification=None)):
        (entry,) = read_log_entries(edited(answer, change), READ).values()
        assert entry.verification.inclusionProof is None and entry.verification.signedEntryTimestamp is None


@pytest.mark.parametrize(("change", "message"), [
    (lambda v: v.pop("body"), ".body: field required"),
    (lambda v: v.update(body=5), ".body: expected a string, got number"),
    (lambda v: v.update(integratedTime="1700000000"), ".integratedTime: expected an integer, got string"),
    (lambda v: v.update(logIndex=True), ".logIndex: expected an integer, got boolean"),
    (lambda v: v.update(logIndex=1.5), ".logIndex: expected an integer, got number"),
    (lambda v: v.update(verification=[]), ".verification: expected an object, got array"),
    (lambda v: v["verification"]["inclusionProof"].update(hashes=["cd" * 32] * (MAX_PROOF_HASHES + 1)),
     ".verification.inclusionProof.hashes: expected at most 128 items, got 129"),
    (lambda v: v["verification"]["inclusionProof"].update(hashes=[1]),
     ".verification.inclusionProof.hashes.0: expected a string, got number"),
    (lambda v: v["verification"]["inclusionProof"].pop("treeSize"),
     ".verification.inclusionProof.treeSize: field required"),
    (lambda v: v["verification"].update(signedEntryTimestamp=7),
     ".verification.signedEntryTimestamp: expected a string, got number"),
])
def test_each_bad_field_is_refused_with_its_path(answer: dict[str, Any], change: Any, message: str) -> None:
    with pytest.raises(RekorResponseError) as caught:
        parse_log_entries(edited(answer, change))
    assert str(caught.value.message).startswith(f"the log's entry is malformed: {next(iter(answer))}{message}")


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "the log's entry is malformed: "),
    (b"[]", "the log's entry is malformed: document: expected an object, got array"),
    (b'{"a": {"body": "x"}, "a": {"body": "y"}}', "duplicate"),
])
def test_an_answer_that_is_not_a_log_entry_map(data: bytes, message: str) -> None:
    with pytest.raises(RekorResponseError, match=message):
        parse_log_entries(data)


def test_log_info_proof_and_search_answers() -> None:
    info = read_log_info({"rootHash": "ab", "treeSize": 3, "signedTreeHead": "note", "treeID": "42", "x": 1}, READ)
    assert (info.treeSize, info.treeID) == (3, "42")
    assert read_log_info({"rootHash": "ab", "treeSize": 3, "signedTreeHead": "n"}, READ).treeID is None
    with pytest.raises(RekorResponseError, match="treeSize: expected an integer, got string"):
        read_log_info({"rootHash": "ab", "treeSize": "3", "signedTreeHead": "n"}, READ)
    assert read_consistency_proof({"rootHash": "ab", "hashes": ["cd"]}, READ).hashes == ("cd",)
    with pytest.raises(RekorResponseError, match="hashes: expected an array, got object"):
        read_consistency_proof({"rootHash": "ab", "hashes": {}}, READ)
    assert read_uuids(["ab", "cd"], READ) == ["ab", "cd"]
    with pytest.raises(RekorResponseError, match="1: expected a string, got null"):
        read_uuids(["ab", None], READ)
    with pytest.raises(RekorResponseError, match="expected an array, got object"):
        read_uuids({}, READ)
