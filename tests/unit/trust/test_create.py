"""``trust.create``: what it writes reads back through our ``TrustedRoot.parse`` with the same keys, log IDs,
chains and windows (sigstore-python and sigstore-js read it in ``tests/integration/test_keyless.py``)."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from supplychain.keys.log import LogKey
from supplychain.trust.create import AuthoritySpec, build_trusted_root, log_spec
from supplychain.trust.error import TrustedRootError
from supplychain.trust.root import TrustedRoot


def pem(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def ca_certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())  # TEST-ONLY
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST-ONLY org"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "TEST-ONLY CA")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def test_a_written_root_reads_back_whole():
    rekor, ctlog = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())  # TEST-ONLY
    v2 = Ed25519PrivateKey.generate()  # TEST-ONLY
    ca = ca_certificate()
    start = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
    document = build_trusted_root(
        certificate_authorities=[AuthoritySpec((ca,), "https://fulcio.example.test")],
        tlogs=[log_spec(pem(rekor), "http://127.0.0.1:3000", start=start),
               log_spec(pem(v2), "https://log2.example.test", name="log2.example.test")],
        ctlogs=[log_spec(pem(ctlog), "https://ct.example.test")],
        timestamp_authorities=[AuthoritySpec((ca,), "https://tsa.example.test")],
    )
    root = TrustedRoot.parse(document, source="written")
    v1_key, v2_key = (log.key for log in root.tlogs)
    assert v1_key.log_id == LogKey.load(pem(rekor)).log_id
    assert v2_key.log_id == LogKey.rekor_v2("log2.example.test", v2.public_key()).log_id
    assert [log.valid_from for log in root.tlogs] == [int(start.timestamp()), 0]  # default: the epoch, as cosign
    assert [log.key.log_id for log in root.ctlogs] == [LogKey.load(pem(ctlog)).log_id]
    (authority,) = root.certificate_authorities
    assert authority.certificates == (ca,) and authority.name == "TEST-ONLY org TEST-ONLY CA"
    assert authority.valid_from == int(ca.not_valid_before_utc.timestamp()) and authority.valid_until is None
    assert json.loads(document)["timestampAuthorities"][0]["uri"] == "https://tsa.example.test"


def test_bad_keys_are_refused():
    with pytest.raises(TrustedRootError, match="Rekor v2 key"):
        log_spec(pem(ec.generate_private_key(ec.SECP256R1())), "https://x.example.test", name="x")  # TEST-ONLY
    with pytest.raises(TrustedRootError):
        log_spec(b"not a key", "https://x.example.test")
    with pytest.raises(TrustedRootError, match="empty"):
        build_trusted_root(certificate_authorities=[AuthoritySpec(())])
