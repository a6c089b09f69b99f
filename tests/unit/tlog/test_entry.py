"""Rekor entries: signed entry timestamps and inclusion proofs of real production and staging entries, cosign's
Rekor bundle annotation, tampering of every piece, and signing for the local log."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from supplychain.errors import VerificationError
from supplychain.formats.rekor import MAX_JSON_INTEGER, EntryFormatError, LogEntry, RekorBundle
from supplychain.keys.log import LogKey, LogKeyError, NoteSigner, load_public_key, log_id
from supplychain.tlog.checkpoint import CheckpointMismatchError, sign_checkpoint
from supplychain.tlog.entry import (
    EntryInclusionError,
    EntryTimestampError,
    InclusionProof,
    entry_leaf_hash,
    sign_entry_timestamp,
    verify_entry_inclusion,
    verify_entry_timestamp,
    verify_rekor_bundle,
)
from supplychain.tlog.merkle import InclusionProofError, MerkleTree, hash_leaf
from supplychain.tlog.note import NoteSignatureError, parse_note

from .vectors import BundleEntry, bundle_entry, cosign_annotations, fixture_path, load_json, log_keys

ROOTS = {
    "production": ("tlog", "sigstore-python", "trusted_root.production.json"),
    "staging": ("tlog", "sigstore-python", "trusted_root.staging.json"),
    "scaffolding": ("tlog", "sigstore-go", "scaffolding.json"),
    "cosign-pgi": ("tlog", "cosign", "trusted_root_pgi.json"),
}
KEYS = {name: log_keys(*path) for name, path in ROOTS.items()}
REKOR_PUB = LogKey.load(fixture_path("tlog", "containers-image", "rekor.pub").read_bytes())
COSIGN_PUB = load_public_key(fixture_path("tlog", "containers-image", "cosign.pub").read_bytes())

# (bundle, trusted root, checkpoint origin or None when the bundle has no checkpoint or no proof, has a SET)
BUNDLES = [
    ("sigstore-python/bundle.txt.sigstore", "staging", "rekor.sigstage.dev - 8050909264565447525", True),
    ("sigstore-python/bundle_v3.txt.sigstore", "staging", "rekor.sigstage.dev - 8050909264565447525", True),
    ("sigstore-python/bundle_v3_alt.txt.sigstore", "staging", "rekor.sigstage.dev - 8050909264565447525", True),
    ("sigstore-python/tsa/bundle.txt.sigstore", "staging", "rekor.sigstage.dev - 8202293616175992157", True),
    ("sigstore-python/bundle_v3_github.whl.sigstore", "production", "rekor.sigstore.dev - 2605736670972794746", True),
    (
        "sigstore-python/bundle_v3_no_signed_time.txt.sigstore.json",
        "production",
        "rekor.sigstore.dev - 1193050959916656506",
        False,
    ),
    ("sigstore-python/staging-rekor-v2.txt.sigstore.json", "staging", "log2025-alpha1.rekor.sigstage.dev", False),
    (
        "sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json",
        "staging",
        "log2025-alpha3.rekor.sigstage.dev",
        False,
    ),
    ("sigstore-python/bundle_no_checkpoint.txt.sigstore", "staging", None, True),
    ("sigstore-rs/bundle_v03.json", "production", "rekor.sigstore.dev - 1193050959916656506", True),
    ("cosign/oci-attestation.sigstore.json", "cosign-pgi", "rekor.sigstore.dev - 1193050959916656506", True),
    (
        "sigstore-go/othername.sigstore.json",
        "scaffolding",
        "rekor-00001-deployment-56bf7777c9-jds5x - 6364419738405537866",
        True,
    ),
    (
        "sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json",
        "production",
        "rekor.sigstore.dev - 2605736670972794746",
        True,
    ),
    ("sigstore-go/dsse.sigstore.json", "production", None, True),
]


def _entry(bundle: str) -> BundleEntry:
    return bundle_entry("tlog", *bundle.split("/"))


def _key(root: str, entry: BundleEntry) -> LogKey:
    return KEYS[root][entry.log_id]


def _proof(entry: BundleEntry) -> InclusionProof:
    assert entry.proof is not None
    return entry.proof


def _set(entry: BundleEntry) -> bytes:
    assert entry.signed_entry_timestamp is not None
    return entry.signed_entry_timestamp


# -- real Sigstore entries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bundle", "root", "origin", "has_set"), BUNDLES, ids=[b[0] for b in BUNDLES])
def test_real_entries_verify_with_the_log_key_matched_by_log_id(
    bundle: str, root: str, origin: str | None, has_set: bool
) -> None:
    entry = _entry(bundle)
    key = _key(root, entry)
    assert key.log_id == entry.log_id
    if has_set:
        verify_entry_timestamp(entry.entry, _set(entry), key)
    else:
        assert entry.signed_entry_timestamp is None
    if entry.proof is None:  # a v0.1 bundle with only the promise
        assert origin is None
        return
    if origin is None:
        with pytest.raises(EntryInclusionError, match="no checkpoint"):
            verify_entry_inclusion(entry.body, _proof(entry), key.note_verifier())
        return
    checkpoint = verify_entry_inclusion(entry.body, _proof(entry), key.note_verifier(), origin=origin)
    assert (checkpoint.size, checkpoint.root_hash) == (_proof(entry).tree_size, _proof(entry).root_hash)


def test_sharded_log_index_differs_from_the_proof_index() -> None:
    # The SET signs the global log index; the proof is for the index in the current shard's tree.
    entry = _entry("sigstore-python/bundle_v3_github.whl.sigstore")
    assert entry.entry.log_index == 79605083
    assert _proof(entry).log_index == 75441652
    assert entry_leaf_hash(entry.body) == hash_leaf(entry.entry.body) == hash_leaf(entry.body)


def test_log_ids_are_the_sha256_of_the_log_key() -> None:
    assert REKOR_PUB.log_id_hex == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    assert log_id(REKOR_PUB.public_key) == REKOR_PUB.log_id_hex
    assert KEYS["production"][REKOR_PUB.log_id].public_key == REKOR_PUB.public_key


# -- tampering each piece ----------------------------------------------------------------------------------------

TAMPER_CASES = [
    ("sigstore-python/bundle_v3.txt.sigstore", "staging", "production"),
    ("sigstore-python/bundle_v3_github.whl.sigstore", "production", "staging"),
    ("sigstore-rs/bundle_v03.json", "production", "staging"),
]


def _flip(value: bytes, position: int = 0) -> bytes:
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


@pytest.mark.parametrize(("bundle", "root", "other_root"), TAMPER_CASES, ids=[c[0] for c in TAMPER_CASES])
def test_tampered_inclusion_proofs_fail(bundle: str, root: str, other_root: str) -> None:
    entry = _entry(bundle)
    proof = _proof(entry)
    verifier = _key(root, entry).note_verifier()

    with pytest.raises(InclusionProofError, match="leads to root"):
        verify_entry_inclusion(entry.body, dataclasses.replace(proof, root_hash=_flip(proof.root_hash)), verifier)
    for position in range(len(proof.hashes)):
        hashes = list(proof.hashes)
        hashes[position] = _flip(hashes[position], 31)
        with pytest.raises(InclusionProofError, match="leads to root"):
            verify_entry_inclusion(entry.body, dataclasses.replace(proof, hashes=tuple(hashes)), verifier)
    for index in (proof.log_index - 1, proof.log_index + 1):
        with pytest.raises(InclusionProofError):
            verify_entry_inclusion(entry.body, dataclasses.replace(proof, log_index=index), verifier)
    for bad_index in (-1, proof.tree_size, 2**64):
        with pytest.raises(InclusionProofError, match=r"out of range|outside a tree"):
            verify_entry_inclusion(entry.body, dataclasses.replace(proof, log_index=bad_index), verifier)
    with pytest.raises(InclusionProofError, match="hashes, expected"):
        verify_entry_inclusion(entry.body, dataclasses.replace(proof, hashes=proof.hashes[:-1]), verifier)
    with pytest.raises(InclusionProofError, match="leads to root"):
        verify_entry_inclusion(entry.body + b" ", proof, verifier)  # the proof of another leaf

    # The checkpoint: a flipped signature bit, and another log's key (tampered text: see test_checkpoint.py).
    assert proof.checkpoint is not None
    note = parse_note(proof.checkpoint)
    (signature,) = note.signatures
    bad_signature = dataclasses.replace(
        note, signatures=(dataclasses.replace(signature, signature=_flip(signature.signature, 10)),)
    ).to_text()
    with pytest.raises(NoteSignatureError, match="does not verify"):
        verify_entry_inclusion(entry.body, dataclasses.replace(proof, checkpoint=bad_signature), verifier)
    with pytest.raises(NoteSignatureError, match="not signed by"):
        verify_entry_inclusion(entry.body, proof, KEYS[other_root][_other_v1(other_root)].note_verifier())


def _other_v1(root: str) -> bytes:
    return next(log for log, key in KEYS[root].items() if key.name is None)


def test_a_validly_signed_checkpoint_for_another_tree_size_is_refused() -> None:
    # bundle_v3 and bundle_v3_alt are in the same staging shard, proven against different tree sizes.
    first = _entry("sigstore-python/bundle_v3.txt.sigstore")
    second = _entry("sigstore-python/bundle_v3_alt.txt.sigstore")
    verifier = _key("staging", first).note_verifier()
    spliced = dataclasses.replace(_proof(first), checkpoint=_proof(second).checkpoint)
    with pytest.raises(CheckpointMismatchError, match=r"tree size 25901179 .* tree size 25901138"):
        verify_entry_inclusion(first.body, spliced, verifier)
    with pytest.raises(InclusionProofError):
        verify_entry_inclusion(second.body, _proof(first), verifier)  # proof for another leaf


@pytest.mark.parametrize(("bundle", "root", "other_root"), TAMPER_CASES, ids=[c[0] for c in TAMPER_CASES])
def test_sets_over_different_fields_or_from_another_key_fail(bundle: str, root: str, other_root: str) -> None:
    entry = _entry(bundle)
    key = _key(root, entry)
    signature = _set(entry)
    original = entry.entry
    for changed in (
        dataclasses.replace(original, integrated_time=original.integrated_time + 1),
        dataclasses.replace(original, log_index=original.log_index + 1),
        dataclasses.replace(original, log_index=_proof(entry).log_index),  # the shard index instead of the global
        dataclasses.replace(original, body=original.body.replace(b'"kind"', b'"kind" ')),
    ):
        with pytest.raises(EntryTimestampError, match="does not verify"):
            verify_entry_timestamp(changed, signature, key)
    with pytest.raises(EntryTimestampError, match="does not verify"):
        verify_entry_timestamp(original, _flip(signature, 8), key)
    other = KEYS[other_root][_other_v1(other_root)]
    with pytest.raises(
        EntryTimestampError, match=f"entry is from log {original.log_id}, expected log {other.log_id_hex}"
    ):
        verify_entry_timestamp(original, signature, other)
    # Another key presented under this log's ID: the signature itself fails.
    with pytest.raises(EntryTimestampError, match="does not verify"):
        verify_entry_timestamp(original, signature, LogKey(other.public_key, key.log_id))
    # The log ID is signed too: a SET re-labelled for another log does not verify under that log's own key.
    relabelled = dataclasses.replace(original, log_id=other.log_id_hex)
    with pytest.raises(EntryTimestampError, match="does not verify"):
        verify_entry_timestamp(relabelled, signature, other)


# -- cosign's dev.sigstore.cosign/bundle annotation (containers/image fixtures) ----------------------------------


@pytest.mark.parametrize(
    ("fixture", "integrated_time", "log_index"),
    [
        (("rekor-set",), 1670870899, 8949589),
        (("dir-img-cosign-key-rekor-valid", "signature-1"), 1674251859, 11608800),
        (("dir-img-cosign-fulcio-rekor-valid", "signature-1"), 1674247893, 11605770),
    ],
)
def test_cosign_rekor_bundles_verify_with_rekor_pub(
    fixture: tuple[str, ...], integrated_time: int, log_index: int
) -> None:
    if fixture == ("rekor-set",):
        text = fixture_path("tlog", "containers-image", "rekor-set").read_text(encoding="utf-8")
    else:
        text = cosign_annotations("tlog", "containers-image", *fixture)["dev.sigstore.cosign/bundle"]
    bundle = RekorBundle.parse(text)
    entry = verify_rekor_bundle(bundle, REKOR_PUB)
    assert (entry.integrated_time, entry.log_index, entry.log_id) == (integrated_time, log_index, REKOR_PUB.log_id_hex)
    assert json.loads(entry.body)["kind"] == "hashedrekord"
    assert bundle.to_json() == text.strip()  # cosign's key order, compact: byte for byte
    with pytest.raises(EntryTimestampError, match="entry is from log"):
        verify_rekor_bundle(bundle, LogKey.from_public_key(COSIGN_PUB))
    with pytest.raises(EntryTimestampError, match="does not verify"):
        verify_rekor_bundle(bundle, LogKey(COSIGN_PUB, REKOR_PUB.log_id))


def test_policy_controller_keyless_attestation_set_verifies() -> None:
    vector = load_json("tlog", "policy-controller", "validator_test.keyless-attestation.partial.json")
    bundle = RekorBundle.parse(vector["annotations"]["dev.sigstore.cosign/bundle"])
    assert verify_rekor_bundle(bundle, REKOR_PUB).log_index == 3059470
    assert RekorBundle.parse(json.dumps(vector["rekor_set"])) == bundle


def _bundle_json(**payload: object) -> str:
    base = json.loads(fixture_path("tlog", "containers-image", "rekor-set").read_text(encoding="utf-8"))
    base["Payload"].update(payload)
    return json.dumps(base)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_bundle_json(logIndex=-1), "logIndex -1 is out of range"),
        (_bundle_json(logIndex=MAX_JSON_INTEGER + 1), "out of range"),
        (_bundle_json(logIndex=2**64), "out of range"),
        (_bundle_json(logIndex="8949589"), "must be an integer"),
        (_bundle_json(logIndex=8949589.0), "must be an integer"),
        (_bundle_json(integratedTime=True), "must be an integer"),
        (_bundle_json(logID="C0D23D6AD406973F9559F3BA2D1CA01F84147D8FFC5B8445C224F98B9591801D"), "lowercase hex"),
        (_bundle_json(logID=5), "must be a string"),
        (_bundle_json(body="e30"), "not valid base64"),
        (_bundle_json(body="e30=\n"), "not valid base64|not canonical"),
        (_bundle_json(extra=1), "expected exactly"),
        ('{"SignedEntryTimestamp":"AA==","Payload":{}}', "expected exactly"),
        ('{"SignedEntryTimestamp":"AA==","SignedEntryTimestamp":"AA==","Payload":{}}', "duplicate JSON key"),
        ("[]", "must be a JSON object"),
        ("{", "not valid JSON"),
        ("x" * (1 << 20 | 1), "larger than"),
    ],
)
def test_malformed_rekor_bundles_are_refused(text: str, message: str) -> None:
    with pytest.raises(EntryFormatError, match=message):
        RekorBundle.parse(text)


# -- signing for the local log -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_sign_entry_timestamp_round_trip(algorithm: str) -> None:
    private = ec.generate_private_key(ec.SECP256R1()) if algorithm == "ecdsa-p256" else Ed25519PrivateKey.generate()
    key = LogKey.from_public_key(private.public_key())
    body = b'{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}'
    entry = LogEntry(body, 1700000000, 12, key.log_id_hex)
    signature = sign_entry_timestamp(entry, private)
    verify_entry_timestamp(entry, signature, key)
    bundle = RekorBundle(signature, entry)
    assert RekorBundle.parse(bundle.to_json()) == bundle
    assert entry.timestamp_payload() == (
        b'{"body":"'
        + base64.b64encode(body)
        + b'","integratedTime":1700000000,"logID":"'
        + key.log_id_hex.encode()
        + b'","logIndex":12}'
    )
    with pytest.raises(EntryFormatError, match="names log"):
        sign_entry_timestamp(dataclasses.replace(entry, log_id=REKOR_PUB.log_id_hex), private)
    with pytest.raises(EntryTimestampError):
        verify_entry_timestamp(dataclasses.replace(entry, integrated_time=1700000001), signature, key)


def test_local_tree_proofs_verify_as_entry_inclusion() -> None:
    private = Ed25519PrivateKey.generate()
    signer = NoteSigner.ed25519("log.example", private)
    bodies = [json.dumps({"n": n}).encode() for n in range(20)]
    tree = MerkleTree.from_entries(bodies)
    checkpoint = sign_checkpoint("log.example", tree.size, tree.root(), signer)
    for index, body in enumerate(bodies):
        proof = InclusionProof(index, tree.size, tree.root(), tuple(tree.inclusion_proof(index)), checkpoint)
        assert verify_entry_inclusion(body, proof, signer.verifier()).size == 20
    hex_proof = InclusionProof.from_wire(
        3, 20, tree.root().hex(), [h.hex() for h in tree.inclusion_proof(3)], checkpoint
    )
    assert verify_entry_inclusion(
        bodies[3], hex_proof, LogKey.rekor_v2("log.example", private.public_key()).note_verifier()
    )


def test_malformed_entries_and_proofs() -> None:
    with pytest.raises(EntryFormatError, match="out of range"):
        LogEntry(b"{}", 1, -1, REKOR_PUB.log_id_hex)
    with pytest.raises(EntryFormatError, match="out of range"):
        InclusionProof.from_wire(-1, 2, base64.b64encode(bytes(32)).decode(), [])
    with pytest.raises(EntryFormatError, match="not hex"):
        InclusionProof.from_wire(0, 2, "z" * 64, [])
    with pytest.raises(LogKeyError, match="32 bytes"):
        LogKey(REKOR_PUB.public_key, b"short")
    assert issubclass(EntryFormatError, VerificationError)
    assert hashlib.sha256(b"\x00{}").digest() == entry_leaf_hash(b"{}")


@pytest.mark.parametrize("data", [b"[" * 100_000 + b"]" * 100_000, b'{"Payload":' + b"[" * 100_000],
                         ids=["array", "unterminated"])
def test_rekor_bundle_nested_too_deeply_is_a_format_error(data: bytes) -> None:
    """json.loads raises RecursionError past Python's recursion limit: the annotation is malformed, not a crash."""
    with pytest.raises(EntryFormatError, match="Rekor bundle is not valid JSON: arrays and objects nest too deeply"):
        RekorBundle.parse(data)
