"""Entry types as the local log validates and canonicalizes them, checked against real Rekor bodies."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from supplychain.formats.dsse import pae
from supplychain.formats.rekor import DsseProposal, DsseRecord, EntryKindError, HashedRekord, parse_body
from supplychain.tlog.evidence import bundle_entries
from supplychain.tlog.kind import (
    EntrySignatureError,
    body_mismatches,
    canonical_body,
    canonicalize,
    verify_hashedrekord,
)
from supplychain.tlog.pki import VerifierKey
from tests.support.tlog import Signer, statement

from .vectors import fixture_path


def test_canonical_body_is_rekors_byte_for_byte() -> None:
    """A production hashedrekord (Fulcio certificate): re-canonicalized, it is the body Rekor logged."""
    for path in ("bundle_v3_github.whl.sigstore", "bundle_v3.txt.sigstore"):
        (entry,) = bundle_entries(fixture_path("tlog", "sigstore-python", path).read_bytes())
        record = parse_body(entry.entry.body)
        assert isinstance(record, HashedRekord)
        verify_hashedrekord(record)  # Rekor checked this signature over the digest; so do we
        assert canonical_body(record) == entry.entry.body
        assert canonicalize(record.proposed_entry()).body == entry.entry.body


def test_hashedrekord_proposal() -> None:
    signer = Signer()
    proposal = signer.hashedrekord(b"artifact")
    canonical = canonicalize(json.dumps(proposal.proposed_entry()).encode())
    assert (canonical.kind, canonical.api_version) == ("hashedrekord", "0.0.1")
    assert canonical.index_keys[0] == f"sha256:{hashlib.sha256(b'artifact').hexdigest()}"
    assert body_mismatches(canonical.body, proposal) == []
    # a key sent with another PEM spelling is the same key
    respelled = HashedRekord("sha256", proposal.digest, proposal.signature, proposal.public_key.replace(b"\n", b"\r\n"))
    assert body_mismatches(canonical.body, respelled) == []


def test_bad_signature_and_bad_specs() -> None:
    signer = Signer()
    good = signer.hashedrekord(b"a")
    with pytest.raises(EntrySignatureError):
        verify_hashedrekord(HashedRekord("sha256", hashlib.sha256(b"b").digest(), good.signature, good.public_key))
    with pytest.raises(EntrySignatureError):
        verify_hashedrekord(HashedRekord("sha256", good.digest, good.signature, Signer().pem))
    with pytest.raises(EntryKindError, match="32 bytes"):
        HashedRekord("sha256", b"short", good.signature, good.public_key)
    spec = good.proposed_entry()
    for edit, message in [
        (lambda p: p.update(kind="rekord"), "unsupported entry type"),
        (lambda p: p.update(apiVersion="0.0.2"), "unsupported entry type"),
        (lambda p: p["spec"]["data"]["hash"].update(value="AB" * 32), "lowercase"),
        (lambda p: p["spec"]["data"]["hash"].update(value="zz" * 32), "not hex"),
        (lambda p: p["spec"]["data"]["hash"].update(algorithm="md5"), "unsupported hash"),
        (lambda p: p["spec"]["signature"].update(content="%%%"), "base64"),
        (lambda p: p["spec"]["signature"]["publicKey"].update(content=base64.b64encode(b"junk").decode()), "PEM"),
        (lambda p: p["spec"].pop("data"), "data"),
        (lambda p: p.pop("spec"), "spec"),
    ]:
        proposal = json.loads(json.dumps(spec))
        edit(proposal)
        with pytest.raises(EntryKindError, match=message):
            canonicalize(proposal)
    for junk in (b"", b"[]", b"{", b'{"kind": 1}'):
        with pytest.raises(EntryKindError):
            canonicalize(junk)


def test_rsa_and_certificates_but_not_ed25519_prehash() -> None:
    digest = hashlib.sha256(b"artifact").digest()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    verify_hashedrekord(HashedRekord("sha256", digest, signature, pem))

    ec_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST-ONLY signer")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ec_key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(ec_key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    record = HashedRekord("sha256", digest, ec_key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))), cert_pem)
    assert VerifierKey.load(verify_hashedrekord(record).pem).der == cert.public_bytes(serialization.Encoding.DER)
    assert canonicalize(record.proposed_entry()).body == canonical_body(record)

    ed = Ed25519PrivateKey.generate()
    ed_pem = ed.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(EntrySignatureError, match="Ed25519ph"):
        verify_hashedrekord(HashedRekord("sha256", digest, ed.sign(digest), ed_pem))


def test_dsse_proposal() -> None:
    alice, bob = Signer(), Signer()
    payload = statement("cd" * 32)
    one = json.loads(alice.envelope(payload))
    two = json.loads(bob.envelope(payload))
    envelope = json.dumps({**one, "signatures": one["signatures"] + two["signatures"]}).encode()
    proposal = DsseProposal(envelope, (bob.pem, alice.pem))
    canonical = canonicalize(proposal.proposed_entry())
    record = parse_body(canonical.body)
    assert isinstance(record, DsseRecord)
    assert record.payload_hash == hashlib.sha256(payload).digest()
    assert record.envelope_hash == hashlib.sha256(envelope).digest()
    signatures = one["signatures"] + two["signatures"]
    assert [sig.signature for sig in record.signatures] == sorted(item["sig"] for item in signatures)
    assert "sha256:" + "cd" * 32 in canonical.index_keys
    assert body_mismatches(canonical.body, proposal) == []
    assert body_mismatches(canonical.body, alice.hashedrekord(b"x")) == [
        "the log stored a dsse entry, expected hashedrekord"
    ]
    other = DsseProposal(alice.envelope(b"other payload"), (alice.pem,))
    assert any("payload hash" in problem for problem in body_mismatches(canonical.body, other))

    with pytest.raises(EntrySignatureError, match="signature 1"):
        canonicalize(DsseProposal(envelope, (alice.pem,)).proposed_entry())  # bob's signature has no key
    ed = Ed25519PrivateKey.generate()
    ed_pem = ed.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    ed_envelope = json.dumps({
        "payloadType": "text/plain", "payload": base64.b64encode(b"hi").decode(),
        "signatures": [{"sig": base64.b64encode(ed.sign(pae("text/plain", b"hi"))).decode()}],
    }).encode()
    canonicalize(DsseProposal(ed_envelope, (ed_pem,)).proposed_entry())  # DSSE over Ed25519 is pure Ed25519
    with pytest.raises(EntryKindError, match="envelope"):
        canonicalize(DsseProposal(b'{"payload": 1}', (alice.pem,)).proposed_entry())
    unsigned = json.dumps({**one, "signatures": []}).encode()
    with pytest.raises(EntryKindError, match="0 signatures"):
        canonicalize(DsseProposal(unsigned, (alice.pem,)).proposed_entry())
