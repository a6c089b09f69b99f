"""Entry evidence in every wire form: Sigstore bundle tlog entries (Rekor v1 and v2, real production and staging
data), cosign's Rekor bundle annotation, Rekor v1 API maps; UUIDs; offline verification and its failures."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from supplychain.tlog.checkpoint import NoteSignatureError
from supplychain.tlog.entry import EntryFormatError, EntryInclusionError, EntryTimestampError, LogEntryError
from supplychain.tlog.evidence import (
    EntryUuidError,
    RekorEntry,
    bundle_entries,
    entry_uuid,
    parse_log_entries,
    read_evidence,
    same_entry,
    split_uuid,
    verify_entry,
)
from supplychain.tlog.kind import HashedRekord, artifact_mismatch, parse_body
from supplychain.tlog.merkle import InclusionProofError
from supplychain.tlog.trust import load_trusted_root, public_key_keyring

from .vectors import cosign_annotations, fixture_path, load_json

PRODUCTION = load_trusted_root(fixture_path("tlog", "sigstore-python", "trusted_root.production.json").read_bytes())
STAGING = load_trusted_root(fixture_path("tlog", "sigstore-python", "trusted_root.staging.json").read_bytes())
REKOR_PUB = public_key_keyring(fixture_path("tlog", "containers-image", "rekor.pub").read_bytes(),
                               "https://rekor.sigstore.dev")

BUNDLES = [
    ("sigstore-python/bundle_v3_github.whl.sigstore", PRODUCTION, True, True),
    ("sigstore-python/bundle_v3.txt.sigstore", STAGING, True, True),
    ("sigstore-python/staging-rekor-v2.txt.sigstore.json", STAGING, False, True),
    ("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json", STAGING, False, True),
    ("sigstore-rs/bundle_v03.json", PRODUCTION, True, True),
    ("cosign/oci-attestation.sigstore.json", PRODUCTION, True, True),
    ("sigstore-go/dsse.sigstore.json", PRODUCTION, True, False),
]


def raw(path: str) -> bytes:
    return fixture_path("tlog", *path.split("/")).read_bytes()


@pytest.mark.parametrize(("path", "keyring", "has_set", "has_proof"), BUNDLES, ids=[b[0] for b in BUNDLES])
def test_real_bundles_verify(path: str, keyring: Any, has_set: bool, has_proof: bool) -> None:
    (entry,) = bundle_entries(raw(path))
    result = verify_entry(entry, keyring)
    assert result.timestamp_verified is has_set
    assert (result.checkpoint is not None) is has_proof
    assert result.time_checked is has_set  # Rekor v2 entries carry no integratedTime
    assert entry.uuid == entry_uuid(entry.entry.body)
    assert read_evidence(raw(path)) == [entry]


def test_bundle_without_checkpoint_needs_the_set() -> None:
    (entry,) = bundle_entries(raw("sigstore-python/bundle_no_checkpoint.txt.sigstore"))
    with pytest.raises(EntryInclusionError, match="no checkpoint"):
        verify_entry(entry, STAGING)


def test_cosign_annotation_and_rekor_maps() -> None:
    annotation = cosign_annotations("tlog", "containers-image", "dir-img-cosign-key-rekor-valid", "signature-1")
    (entry,) = read_evidence(annotation["dev.sigstore.cosign/bundle"].encode())
    assert verify_entry(entry, REKOR_PUB).timestamp_verified
    assert entry.kind == "hashedrekord"
    with pytest.raises(EntryTimestampError):
        verify_entry(RekorEntry(entry.uuid, entry.entry, b"\x30\x00"), REKOR_PUB)
    # the Rekor v1 API form round-trips (what `tlog get -o json` prints)
    assert read_evidence(json.dumps(entry.to_wire()).encode()) == [entry]
    assert entry.to_rekor_bundle().to_json() == annotation["dev.sigstore.cosign/bundle"]


def test_kind_version_must_match_the_body() -> None:
    document = load_json("tlog", "sigstore-python", "bundle_v3.txt.sigstore")
    document["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] = "intoto"
    with pytest.raises(EntryFormatError, match="says intoto"):
        bundle_entries(json.dumps(document))


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.update(logIndex="-x"),
        lambda t: t.update(canonicalizedBody="!!"),
        lambda t: t["inclusionProof"].update(hashes=["not base64!"]),
        lambda t: t.pop("logId"),
    ],
    ids=["index", "body", "hash", "log-id"],
)
def test_malformed_bundle_entries(edit: Any) -> None:
    document = load_json("tlog", "sigstore-python", "bundle_v3.txt.sigstore")
    edit(document["verificationMaterial"]["tlogEntries"][0])
    with pytest.raises(EntryFormatError):
        bundle_entries(json.dumps(document))


def test_tampered_bundle_proof_and_checkpoint() -> None:
    document = load_json("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore")
    proof = document["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    proof["hashes"][0] = base64.b64encode(bytes(32)).decode()
    (entry,) = bundle_entries(json.dumps(document))
    with pytest.raises(InclusionProofError):
        verify_entry(entry, PRODUCTION)
    document = load_json("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore")
    envelope = document["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
    envelope["envelope"] = envelope["envelope"].replace("— rekor.sigstore.dev wNI9aj", "— rekor.sigstore.dev wNI9ak")
    (entry,) = bundle_entries(json.dumps(document))
    with pytest.raises(NoteSignatureError):
        verify_entry(entry, PRODUCTION)


def test_entry_without_evidence() -> None:
    (entry,) = bundle_entries(raw("sigstore-python/bundle_v3.txt.sigstore"))
    bare = RekorEntry(entry.uuid, entry.entry)
    with pytest.raises(LogEntryError, match="neither"):
        verify_entry(bare, STAGING)
    with pytest.raises(EntryInclusionError, match="no inclusion proof"):
        verify_entry(RekorEntry(entry.uuid, entry.entry, entry.signed_entry_timestamp), STAGING, require_inclusion=True)


def test_entry_body_not_matching_the_artifact() -> None:
    (entry,) = bundle_entries(raw("sigstore-python/bundle_v3.txt.sigstore"))
    record = parse_body(entry.entry.body)
    assert isinstance(record, HashedRekord)
    assert artifact_mismatch(entry.entry.body, "sha256", record.digest) is None
    assert "the artifact is sha256:00" in (artifact_mismatch(entry.entry.body, "sha256", bytes(32)) or "")
    (dsse,) = bundle_entries(raw("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json"))
    assert artifact_mismatch(dsse.entry.body, "sha256", record.digest) is not None


def test_uuids() -> None:
    body = b"{}"
    leaf = entry_uuid(body)
    with_tree = entry_uuid(body, 6364419738405537866)
    assert len(leaf) == 64 and len(with_tree) == 80 and with_tree.endswith(leaf)
    assert split_uuid(with_tree) == (6364419738405537866, bytes.fromhex(leaf))
    assert same_entry(leaf, with_tree) and same_entry(with_tree, leaf)
    assert not same_entry(entry_uuid(body, 1), with_tree)
    for bad in ("", "ab", leaf.upper(), leaf + "0", "zz" * 32):
        with pytest.raises(EntryUuidError):
            split_uuid(bad)


def test_rekor_map_with_a_wrong_uuid() -> None:
    (entry,) = bundle_entries(raw("sigstore-python/bundle_v3.txt.sigstore"))
    wire = entry.to_wire()
    value = wire.pop(entry.uuid)
    with pytest.raises(EntryUuidError, match="not the leaf hash"):
        parse_log_entries({"ab" * 32: value})
    assert parse_log_entries({entry.uuid.upper(): value})[0].uuid == entry.uuid


def test_unrecognised_evidence() -> None:
    for data in (b"[]", b"{}", b"not json", b'{"x": 1}'):
        with pytest.raises(EntryFormatError):
            read_evidence(data)
