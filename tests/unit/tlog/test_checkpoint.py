"""C2SP signed notes and checkpoints: real Rekor v1 (ECDSA) and v2 (Ed25519) checkpoints, Go's note example,
strict parsing, and signing for the local log."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from supplychain.errors import InvalidInputError, VerificationError
from supplychain.keys.log import LogKeyError, NoteSigner, NoteVerifier, load_public_key
from supplychain.tlog.checkpoint import (
    Checkpoint,
    CheckpointFormatError,
    CheckpointMismatchError,
    parse_checkpoint,
    parse_rekor_origin,
    rekor_origin,
    sign_checkpoint,
    verify_checkpoint,
)
from supplychain.tlog.note import NoteFormatError, NoteSignatureError, parse_note, sign_note, verify_note

from .vectors import bundle_entry, fixture_path, log_keys

STAGING = log_keys("tlog", "sigstore-python", "trusted_root.staging.json")
PRODUCTION = log_keys("tlog", "sigstore-python", "trusted_root.production.json")

STAGING_V1 = bytes.fromhex("d32f30a3c32d639c2b762205a21c7bb07788e68283a4ae6f42118723a1bea496")
STAGING_V2_ALPHA1 = base64.b64decode("8w1amZ2S5mJIQkQmPxdMuOrL/oJkvFg9MnQXmeOCXck=")
STAGING_V2_ALPHA3 = base64.b64decode("09OnDKEw7/hpZiYVPoTRzRbglHk0sylsUovegnRUlJY=")
PRODUCTION_V1 = bytes.fromhex("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d")

# The example key and note of the Go package golang.org/x/mod/sumdb/note (its documentation), TEST-ONLY.
GO_NOTE_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_NOTE_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def _checkpoint_of(*bundle: str) -> str:
    proof = bundle_entry(*bundle).proof
    assert proof is not None and proof.checkpoint is not None
    return proof.checkpoint


V1_STAGING_CHECKPOINT = _checkpoint_of("tlog", "sigstore-python", "bundle_v3.txt.sigstore")
V1_PRODUCTION_CHECKPOINT = _checkpoint_of("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore")
V2_CHECKPOINT = _checkpoint_of("tlog", "sigstore-python", "staging-rekor-v2.txt.sigstore.json")
V2_WITNESSED_CHECKPOINT = _checkpoint_of("tlog", "sigstore-python", "a.dsse.staging-rekor-v2.txt.sigstore.json")


def _replace_line(note: str, number: int, value: str) -> str:
    lines = note.split("\n")
    lines[number] = value
    return "\n".join(lines)


# -- real Rekor checkpoints ------------------------------------------------------------------------------------


def test_rekor_v1_staging_checkpoint_verifies_with_the_log_key() -> None:
    verifier = STAGING[STAGING_V1].note_verifier()
    checkpoint = verify_checkpoint(V1_STAGING_CHECKPOINT, verifier)
    assert checkpoint.origin == "rekor.sigstage.dev - 8050909264565447525"
    assert checkpoint.size == 25901138
    assert checkpoint.root_hash == base64.b64decode("iGAoHccJIyFemFxmEftti2YC8hvPqixBi5y1EyvfF4c=")
    assert checkpoint.extensions == ()
    assert parse_rekor_origin(checkpoint.origin) == ("rekor.sigstage.dev", 8050909264565447525)
    # Rekor v1 signs under its host name; the key ID is SHA-256(SPKI DER)[:4], which is the log ID's prefix.
    signature = verify_note(parse_note(V1_STAGING_CHECKPOINT), verifier)
    assert signature.name == "rekor.sigstage.dev"
    assert signature.key_id == STAGING_V1[:4]
    verify_checkpoint(V1_STAGING_CHECKPOINT, STAGING[STAGING_V1].note_verifier("rekor.sigstage.dev"))


def test_rekor_v1_production_checkpoint() -> None:
    checkpoint = verify_checkpoint(
        V1_PRODUCTION_CHECKPOINT,
        PRODUCTION[PRODUCTION_V1].note_verifier("rekor.sigstore.dev"),
        origin="rekor.sigstore.dev - 2605736670972794746",
    )
    assert checkpoint.size == 75441653


def test_rekor_v2_ed25519_checkpoint_verifies_with_the_c2sp_key_id() -> None:
    key = STAGING[STAGING_V2_ALPHA1]
    verifier = key.note_verifier()
    assert verifier.name == "log2025-alpha1.rekor.sigstage.dev"
    # c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || 0x01 || key)[:4]; Rekor v2's log ID is the whole hash.
    assert verifier.key_id == STAGING_V2_ALPHA1[:4]
    checkpoint = verify_checkpoint(V2_CHECKPOINT, verifier, origin="log2025-alpha1.rekor.sigstage.dev")
    assert checkpoint.size == 646
    assert parse_rekor_origin(checkpoint.origin) == ("log2025-alpha1.rekor.sigstage.dev", None)


def test_witness_cosignatures_from_unknown_keys_are_ignored() -> None:
    note = parse_note(V2_WITNESSED_CHECKPOINT)
    assert [s.name for s in note.signatures] == [
        "log2025-alpha3.rekor.sigstage.dev",
        "witness.stagemole.eu",
        "staging.witness.transparency.goog/ring-any-bells",
        "witness.navigli.sunlight.geomys.org",
    ]
    checkpoint = verify_checkpoint(V2_WITNESSED_CHECKPOINT, STAGING[STAGING_V2_ALPHA3].note_verifier())
    assert checkpoint.size == 4026479
    # Reordered, the log's signature still counts and the witnesses' still do not.
    reordered = note.text + "\n" + "".join(s.to_line() for s in reversed(note.signatures))
    verify_checkpoint(reordered, STAGING[STAGING_V2_ALPHA3].note_verifier())
    # Only witnesses left: no signature from the log.
    witnesses_only = note.text + "\n" + "".join(s.to_line() for s in note.signatures[1:])
    with pytest.raises(NoteSignatureError, match="not signed by log2025-alpha3"):
        verify_checkpoint(witnesses_only, STAGING[STAGING_V2_ALPHA3].note_verifier())


def test_rekor_v1_key_name_is_not_required_to_be_the_log_host() -> None:
    # sigstore-go's scaffolding log signs its checkpoints under its pod's host name.
    scaffolding = log_keys("tlog", "sigstore-go", "scaffolding.json")
    entry = bundle_entry("tlog", "sigstore-go", "othername.sigstore.json")
    assert entry.proof is not None and entry.proof.checkpoint is not None
    key = scaffolding[entry.log_id]
    verify_checkpoint(entry.proof.checkpoint, key.note_verifier())
    verify_checkpoint(entry.proof.checkpoint, key.note_verifier("rekor-00001-deployment-56bf7777c9-jds5x"))
    with pytest.raises(NoteSignatureError, match=r"not signed by rekor\.rekor-system"):
        verify_checkpoint(entry.proof.checkpoint, key.note_verifier("rekor.rekor-system.172.18.255.1.sslip.io"))


# -- the wrong key, a tampered note ------------------------------------------------------------------------------


def test_checkpoint_signed_by_another_key_is_rejected() -> None:
    with pytest.raises(NoteSignatureError, match="not signed by") as caught:
        verify_checkpoint(V1_STAGING_CHECKPOINT, PRODUCTION[PRODUCTION_V1].note_verifier())
    assert "rekor.sigstage.dev (key ID d32f30a3)" in str(caught.value)
    with pytest.raises(NoteSignatureError):
        verify_checkpoint(V2_CHECKPOINT, STAGING[STAGING_V2_ALPHA3].note_verifier("log2025-alpha1.rekor.sigstage.dev"))
    # Same key, another name: a different Ed25519 key ID, so an unknown key.
    with pytest.raises(NoteSignatureError, match="not signed by"):
        verify_checkpoint(V2_CHECKPOINT, STAGING[STAGING_V2_ALPHA1].note_verifier("another.example"))


@pytest.mark.parametrize("line", [0, 1, 2])
def test_tampered_checkpoint_text_fails_the_signature(line: int) -> None:
    replacement = (
        "rekor.sigstage.dev - 8050909264565447526",
        "25901139",
        base64.b64encode(hashlib.sha256(b"another root").digest()).decode(),
    )[line]
    tampered = _replace_line(V1_STAGING_CHECKPOINT, line, replacement)
    with pytest.raises(NoteSignatureError, match="does not verify"):
        verify_checkpoint(tampered, STAGING[STAGING_V1].note_verifier())


def test_tampered_signature_fails() -> None:
    note = parse_note(V2_CHECKPOINT)
    signature = note.signatures[0]
    flipped = bytes([signature.signature[0] ^ 1]) + signature.signature[1:]
    tampered = note.text + "\n" + type(signature)(signature.name, signature.key_id, flipped).to_line()
    with pytest.raises(NoteSignatureError, match="does not verify"):
        verify_checkpoint(tampered, STAGING[STAGING_V2_ALPHA1].note_verifier())


def test_a_failing_signature_from_the_known_key_rejects_the_note() -> None:
    # c2sp.org/signed-note: if a known key's signature fails, reject the whole note, even if another one verifies.
    note = parse_note(V2_CHECKPOINT)
    good = note.signatures[0]
    bad = type(good)(good.name, good.key_id, bytes(64))
    tampered = note.text + "\n" + bad.to_line() + good.to_line()
    with pytest.raises(NoteSignatureError, match="does not verify"):
        verify_checkpoint(tampered, STAGING[STAGING_V2_ALPHA1].note_verifier())


def test_a_bad_line_under_the_known_key_rejects_the_note_even_after_a_good_one() -> None:
    # Go's note.Open: every signature under a known (name, key ID) must verify ("invalid signature for key").
    note = parse_note(V2_CHECKPOINT)
    good = note.signatures[0]
    bad = type(good)(good.name, good.key_id, bytes(64))
    tampered = note.text + "\n" + good.to_line() + bad.to_line()
    with pytest.raises(NoteSignatureError, match=f"signature by {re.escape(good.name)} .* does not verify"):
        verify_checkpoint(tampered, STAGING[STAGING_V2_ALPHA1].note_verifier())
    # A Rekor v1 key (no name in the trust root): the name is the one its good line is under.
    v1 = parse_note(V1_STAGING_CHECKPOINT)
    good = v1.signatures[0]
    bad = type(good)(good.name, good.key_id, bytes(70))
    tampered = v1.text + "\n" + good.to_line() + bad.to_line()
    with pytest.raises(NoteSignatureError, match=r"signature by rekor\.sigstage\.dev .* does not verify") as caught:
        verify_checkpoint(tampered, STAGING[STAGING_V1].note_verifier())
    assert "any name" not in str(caught.value)
    # Under another name the same key ID is another (colliding) key: ignored, as any unknown key.
    other = type(good)("other.example", good.key_id, bytes(70))
    verify_checkpoint(v1.text + "\n" + good.to_line() + other.to_line(), STAGING[STAGING_V1].note_verifier())


def test_a_rekor_v1_key_without_a_verifying_line_names_the_key_id() -> None:
    v1 = parse_note(V1_STAGING_CHECKPOINT)
    good = v1.signatures[0]
    bad = type(good)(good.name, good.key_id, bytes(70))
    with pytest.raises(NoteSignatureError) as caught:
        verify_checkpoint(v1.text + "\n" + bad.to_line(), STAGING[STAGING_V1].note_verifier())
    assert "any name" not in str(caught.value) and f"key ID {good.key_id.hex()}" in str(caught.value)


def test_expected_origin_is_enforced() -> None:
    with pytest.raises(CheckpointMismatchError, match=r"expected 'rekor\.sigstage\.dev - 1'"):
        verify_checkpoint(V1_STAGING_CHECKPOINT, STAGING[STAGING_V1].note_verifier(), origin="rekor.sigstage.dev - 1")


# -- strict parsing ---------------------------------------------------------------------------------------------


def _signed(text: str) -> str:
    return text + "\n" + V1_STAGING_CHECKPOINT.split("\n\n", 1)[1]


ROOT = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25901138\n" + ROOT + "\n", "expected at least 3: origin, tree size and root hash"),  # no origin line
        ("example.com/log\n" + ROOT + "\n", "expected at least 3"),  # no size line
        ("example.com/log\n12\n", "expected at least 3"),  # no root line
        ("\n12\n" + ROOT + "\n", "origin line is empty"),
        ("example.com/log\n012\n" + ROOT + "\n", "without leading zeros"),
        ("example.com/log\n+12\n" + ROOT + "\n", "without leading zeros"),
        ("example.com/log\n 12\n" + ROOT + "\n", "without leading zeros"),
        ("example.com/log\n1e3\n" + ROOT + "\n", "without leading zeros"),
        ("example.com/log\n\u0661\u0662\n" + ROOT + "\n", "without leading zeros"),  # Arabic-Indic digits
        ("example.com/log\n-1\n" + ROOT + "\n", "without leading zeros"),
        ("example.com/log\n18446744073709551616\n" + ROOT + "\n", "out of range"),
        ("example.com/log\n12\n" + ROOT[:-1] + "\n", "root hash: invalid base64"),
        ("example.com/log\n12\n" + "!" + ROOT[1:] + "\n", "root hash: invalid base64"),
        ("example.com/log\n12\n" + ROOT[:-2] + "B=\n", "non-canonical base64"),
        ("example.com/log\n12\n" + base64.b64encode(bytes(31)).decode() + "\n", "31 bytes, expected 32"),
        ("example.com/log\n12\n" + base64.b64encode(bytes(33)).decode() + "\n", "33 bytes, expected 32"),
    ],
)
def test_malformed_checkpoint_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(CheckpointFormatError, match=message):
        parse_checkpoint(_signed(text))
    with pytest.raises(CheckpointFormatError):
        verify_checkpoint(_signed(text), STAGING[STAGING_V1].note_verifier())


def test_empty_extension_lines_are_refused_but_others_kept() -> None:
    parsed = parse_checkpoint(_signed("example.com/log\n12\n" + ROOT + "\nTimestamp: 1\nother\n"))
    assert parsed.checkpoint.extensions == ("Timestamp: 1", "other")
    # An empty line inside the text would become the separator (the last blank line), leaving no checkpoint.
    with pytest.raises(CheckpointFormatError):
        Checkpoint("example.com/log", 12, bytes(32), ("",))


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("origin\n1\n" + ROOT + "\n", "no blank line"),
        ("origin\n1\n" + ROOT + "\n\n", "no signature lines"),
        ("origin\n1\n" + ROOT + "\n\n\u2014 name AAAAAAAA\n\u2014 x", "does not end with a newline"),
        ("origin\n1\n" + ROOT + "\n\n- name AAAAAAAA\n", "does not start with an em dash"),
        ("origin\n1\n" + ROOT + "\n\n\u2014 name\n", "no space between key name and signature"),
        ("origin\n1\n" + ROOT + "\n\n\u2014 na+me AAAAAAAA\n", "invalid note key name"),
        ("origin\n1\n" + ROOT + "\n\n\u2014 name AAAA\n", "holds 3 bytes"),
        ("origin\n1\n" + ROOT + "\n\n\u2014 name AAAAAAAA AAAA\n", "invalid base64"),
        ("origin\n1\n" + ROOT + "\n\n\u2014 name AAAAAAB=\n", "non-canonical"),
        ("origin\t\n1\n" + ROOT + "\n\n\u2014 name AAAAAAAA\n", "control character"),
        ("origin\r\n1\n" + ROOT + "\n\n\u2014 name AAAAAAAA\n", "control character"),
    ],
)
def test_malformed_notes_are_refused(note: str, message: str) -> None:
    with pytest.raises(NoteFormatError, match=message):
        parse_note(note)


def test_note_limits_and_encoding() -> None:
    with pytest.raises(NoteFormatError, match="not valid UTF-8"):
        parse_note(b"origin\xff\n1\n" + ROOT.encode() + b"\n\n\xe2\x80\x94 name AAAAAAAA\n")
    many = "origin\n1\n" + ROOT + "\n\n" + "\u2014 name AAAAAAAA\n" * 101
    with pytest.raises(NoteFormatError, match="101 signatures, more than 100"):
        parse_note(many)
    with pytest.raises(NoteFormatError, match="limit"):
        parse_note(b"x" * (1 << 20 | 1))
    assert parse_note(V1_STAGING_CHECKPOINT.encode()) == parse_note(V1_STAGING_CHECKPOINT)


def test_the_last_blank_line_separates_text_and_signatures() -> None:
    note = parse_note(GO_NOTE.replace("If you", "Line one\n\nIf you"))
    assert note.text.startswith("Line one\n\nIf you")


# -- Go's note example, and signing for the local log ------------------------------------------------------------


def _go_signer() -> NoteSigner:
    seed = base64.b64decode(GO_NOTE_SKEY.split("+", 4)[4])[1:]
    return NoteSigner.ed25519("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def test_go_note_example_verifies_and_signs_byte_for_byte() -> None:
    verifier = NoteVerifier.from_vkey(GO_NOTE_VKEY)
    assert (verifier.name, verifier.key_id.hex()) == ("PeterNeumann", "c74f20a3")
    verify_note(parse_note(GO_NOTE), verifier)
    signer = _go_signer()
    assert signer.vkey() == GO_NOTE_VKEY
    assert sign_note(parse_note(GO_NOTE).text, [signer]) == GO_NOTE  # Ed25519 is deterministic


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("PeterNeumann+c74f20a3", "expected <name>"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "hashes to c74f20a3"),
        ("PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex digits"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "only Ed25519"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid note key name"),
        ("PeterNeumann+c74f20a3+not base64", "invalid verifier key"),
    ],
)
def test_bad_verifier_keys(vkey: str, message: str) -> None:
    with pytest.raises(LogKeyError, match=message):
        NoteVerifier.from_vkey(vkey)


def test_sign_checkpoint_round_trips_with_ed25519_and_rekor_v1_ecdsa() -> None:
    root = hashlib.sha256(b"root").digest()
    ed_signer = NoteSigner.ed25519("log.example/test", Ed25519PrivateKey.generate())
    ec_signer = NoteSigner.rekor_v1("log.example", ec.generate_private_key(ec.SECP256R1()))
    origin = rekor_origin("log.example", 42)
    for signer in (ed_signer, ec_signer):
        note = sign_checkpoint(origin, 7, root, signer, extensions=("Timestamp: 5",))
        assert note.startswith(f"{origin}\n7\n{base64.b64encode(root).decode()}\nTimestamp: 5\n\n\u2014 {signer.name} ")
        checkpoint = verify_checkpoint(note, signer.verifier(), origin=origin)
        assert checkpoint == Checkpoint(origin, 7, root, ("Timestamp: 5",))
        assert Checkpoint.from_text(checkpoint.to_text()) == checkpoint
    # An ECDSA Rekor v1 signature verifies under any name with the key alone, as clients see it.
    note = sign_checkpoint(origin, 7, root, ec_signer)
    public = ec_signer.private_key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    verify_checkpoint(note, NoteVerifier.rekor_v1(public))
    with pytest.raises(NoteSignatureError):
        verify_checkpoint(note, ed_signer.verifier())


def test_signed_note_with_several_signers_and_empty_tree() -> None:
    a = NoteSigner.ed25519("a.example", Ed25519PrivateKey.generate())
    b = NoteSigner.ed25519("b.example", Ed25519PrivateKey.generate())
    note = sign_note(Checkpoint("a.example", 0, hashlib.sha256(b"").digest()).to_text(), [a, b])
    for signer in (a, b):
        assert verify_checkpoint(note, signer.verifier()).size == 0


def test_invalid_checkpoint_values_and_origins() -> None:
    with pytest.raises(CheckpointFormatError):
        Checkpoint("", 1, bytes(32))
    with pytest.raises(CheckpointFormatError):
        Checkpoint("a\nb", 1, bytes(32))
    with pytest.raises(CheckpointFormatError):
        Checkpoint("a", -1, bytes(32))
    with pytest.raises(CheckpointFormatError):
        Checkpoint("a", 1, bytes(20))
    with pytest.raises(NoteFormatError):
        sign_note("no final newline", [_go_signer()])
    with pytest.raises(LogKeyError):
        rekor_origin("rekor host", 1)
    with pytest.raises(CheckpointFormatError):
        parse_rekor_origin("two words")
    assert parse_rekor_origin("rekor.sigstore.dev - 1193050959916656506") == ("rekor.sigstore.dev", 1193050959916656506)


def test_log_keys_are_p256_or_ed25519() -> None:
    pem = fixture_path("tlog", "containers-image", "rekor.pub").read_bytes()
    key = load_public_key(pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert (
        load_public_key(der).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        == der
    )
    for other in (ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 2048)):
        encoded = other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(LogKeyError, match="unsupported"):
            load_public_key(encoded)
    with pytest.raises(LogKeyError, match="cannot read"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_error_families() -> None:
    assert issubclass(NoteFormatError, VerificationError)
    assert issubclass(NoteSignatureError, VerificationError)
    assert issubclass(CheckpointMismatchError, VerificationError)
    assert issubclass(LogKeyError, InvalidInputError)
