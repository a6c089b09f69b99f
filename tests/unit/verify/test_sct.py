"""Certificate transparency (``verify.sct``): embedded SCTs of test-made precertificates, signed here as a CT log
signs them (RFC 6962 3.2: version, signature type, timestamp, precert entry type, the issuer's key hash, the TBS
without the SCT list, extensions), checked against a keyring of trusted CT logs. cryptography parses what we embed
(``PrecertificateSignedCertificateTimestamps``) and gives the TBS without it, so the test proves both halves meet.
TEST-ONLY keys.
"""

from __future__ import annotations

import datetime
import hashlib
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from supplychain.keys.log import LogKey
from supplychain.trust.keyring import LogKeyring, TrustedLog
from supplychain.verify.sct import check_embedded_scts
from tests.unit.verify.test_certificate import NOW, WORKFLOW, make_ca

SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def builder(issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey, serial: int) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(issuer.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(NOW - datetime.timedelta(minutes=1)).not_valid_after(NOW + datetime.timedelta(minutes=9))
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(WORKFLOW)]), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False))


def der_octet_string(data: bytes) -> bytes:
    length = len(data)
    encoded = bytes([length]) if length < 128 else bytes([0x82]) + length.to_bytes(2, "big")
    return b"\x04" + encoded + data


def precertificate_with_sct(issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
                            log_key: ec.EllipticCurvePrivateKey, *, millis: int | None = None,
                            tamper: bool = False) -> x509.Certificate:
    """A leaf whose SCT list holds one SCT by ``log_key`` over the leaf's TBS without that list."""
    key = ec.generate_private_key(ec.SECP256R1())
    serial = x509.random_serial_number()
    tbs = builder(issuer[0], key, serial).sign(issuer[1], hashes.SHA256()).tbs_certificate_bytes
    when = int(NOW.timestamp() * 1000) if millis is None else millis
    signed = (struct.pack(">BBQH", 0, 0, when, 1) + hashlib.sha256(spki(issuer[1].public_key())).digest()
              + len(tbs).to_bytes(3, "big") + tbs + struct.pack(">H", 0))
    signature = log_key.sign(signed + (b"x" if tamper else b""), ec.ECDSA(hashes.SHA256()))
    log_id = hashlib.sha256(spki(log_key.public_key())).digest()
    sct = (b"\x00" + log_id + struct.pack(">Q", when) + struct.pack(">H", 0) + b"\x04\x03"
           + struct.pack(">H", len(signature)) + signature)
    sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
    final = builder(issuer[0], key, serial).add_extension(
        x509.UnrecognizedExtension(SCT_LIST, der_octet_string(sct_list)), critical=False)
    return final.sign(issuer[1], hashes.SHA256())


def ct_keyring(key: ec.EllipticCurvePrivateKey, start: int | None = None) -> LogKeyring:
    return LogKeyring((TrustedLog("https://ct.example", LogKey.from_public_key(key.public_key()), start),))


def test_an_sct_of_a_trusted_ct_log_verifies():
    intermediate = make_ca("intermediate", make_ca("root"))
    log_key = ec.generate_private_key(ec.SECP256R1())
    leaf = precertificate_with_sct(intermediate, log_key)
    assert leaf.tbs_precertificate_bytes != leaf.tbs_certificate_bytes  # the list is there, and left out
    assert check_embedded_scts(leaf, intermediate[0], ct_keyring(log_key)) is None


def test_an_sct_is_refused_for_the_wrong_issuer_key_a_bad_signature_an_unknown_log_or_its_window():
    intermediate = make_ca("intermediate", make_ca("root"))
    log_key = ec.generate_private_key(ec.SECP256R1())
    leaf = precertificate_with_sct(intermediate, log_key)
    other_issuer = make_ca("another intermediate", make_ca("root"))[0]  # another issuer key hash
    assert "does not verify with the key of CT log" in (check_embedded_scts(leaf, other_issuer,
                                                                            ct_keyring(log_key)) or "")
    tampered = precertificate_with_sct(intermediate, log_key, tamper=True)
    assert "does not verify" in (check_embedded_scts(tampered, intermediate[0], ct_keyring(log_key)) or "")
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert "is not a trusted CT log" in (check_embedded_scts(leaf, intermediate[0], ct_keyring(stranger)) or "")
    later = int(NOW.timestamp()) + 3600
    assert "outside the CT log key's validity window" in (
        check_embedded_scts(leaf, intermediate[0], ct_keyring(log_key, later)) or "")


def test_a_certificate_without_an_sct_is_refused():
    intermediate = make_ca("intermediate", make_ca("root"))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = builder(intermediate[0], key, 7).sign(intermediate[1], hashes.SHA256())
    problem = check_embedded_scts(leaf, intermediate[0], ct_keyring(ec.generate_private_key(ec.SECP256R1())))
    assert problem == ("expected an embedded SCT from a trusted CT log in the signing certificate, got none "
                       "(--insecure-ignore-sct skips this check)")
