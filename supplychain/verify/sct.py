"""Certificate transparency: a signing certificate's embedded signed certificate timestamps (SCTs), each verified
against the trusted CT logs (a TrustedRoot's ``ctlogs``).

RFC 6962 section 3.2: a CT log signs, for a precertificate, the ``digitally-signed`` struct::

    struct {
        Version sct_version;                        uint8, v1 = 0
        SignatureType signature_type;               uint8, certificate_timestamp = 0
        uint64 timestamp;                           milliseconds since the epoch
        LogEntryType entry_type;                    uint16, precert_entry = 1
        opaque issuer_key_hash[32];                 SHA-256 of the issuer's SubjectPublicKeyInfo
        opaque tbs_certificate<1..2^24-1>;          the TBSCertificate without the SCT list extension
        CtExtensions extensions<0..2^16-1>;
    }

pyca/cryptography parses the SCT list (``PrecertificateSignedCertificateTimestamps``) and gives the TBS without it
(``Certificate.tbs_precertificate_bytes``); this module only assembles the struct and checks the signature with the
log's key. At least one SCT must come from a trusted log (log ID = SHA-256 of its DER key), verify, and carry a time
inside that log key's validity window, as sigstore-go's ``VerifySignedCertificateTimestamp`` (threshold 1) and
sigstore-js require. Fulcio embeds its SCTs; a detached SCT is not read.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.certificate_transparency import LogEntryType, SignedCertificateTimestamp, Version

from supplychain.keys.log import verify_signature
from supplychain.trust.error import LogEntryError
from supplychain.trust.keyring import LogKeyring
from supplychain.trust.window import format_time

IGNORE_SCT_FLAG = "--insecure-ignore-sct"
_EPOCH = datetime(1970, 1, 1)  # cryptography gives SCT times as naive UTC datetimes
_CERTIFICATE_TIMESTAMP = 0
_PRECERT_ENTRY = 1


def check_embedded_scts(leaf: x509.Certificate, issuer: x509.Certificate, ctlogs: LogKeyring) -> str | None:
    """``None`` when one of ``leaf``'s embedded SCTs is a valid timestamp of a trusted CT log; else why not
    ("expected X, got Y"). ``issuer`` is the certificate that issued ``leaf`` (its key hash is signed)."""
    try:
        extension = leaf.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
    except x509.ExtensionNotFound:
        return f"expected an embedded SCT from a trusted CT log in the signing certificate, got none " \
               f"({IGNORE_SCT_FLAG} skips this check)"
    scts = list(extension.value)
    if not scts:
        return "expected an embedded SCT from a trusted CT log, got an empty SCT list"
    tbs = leaf.tbs_precertificate_bytes
    issuer_key_hash = hashlib.sha256(issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    problems = []
    for number, sct in enumerate(scts):
        problem = _check_one(sct, tbs, issuer_key_hash, ctlogs)
        if problem is None:
            return None
        problems.append(f"SCT {number}: {problem}")
    return "expected an SCT of a trusted CT log, got none that verifies: " + "; ".join(problems)


def _check_one(sct: SignedCertificateTimestamp, tbs: bytes, issuer_key_hash: bytes, ctlogs: LogKeyring) -> str | None:
    if sct.version != Version.v1 or sct.entry_type != LogEntryType.PRE_CERTIFICATE:
        return "not a v1 precertificate SCT"
    try:
        log = ctlogs.find(sct.log_id)
    except LogEntryError:
        return f"log {sct.log_id.hex()} is not a trusted CT log"
    if not isinstance(sct.signature_hash_algorithm, hashes.SHA256):
        return f"signed with {sct.signature_hash_algorithm.name}, expected sha256"
    millis = (sct.timestamp - _EPOCH) // timedelta(milliseconds=1)
    if not log.covers(millis // 1000):
        return (f"its time {format_time(millis // 1000)} is outside the CT log key's validity window "
                f"({log.label})")
    if len(tbs) >= 1 << 24 or len(sct.extension_bytes) >= 1 << 16:
        return "the certificate or the SCT's extensions are too large for RFC 6962"
    signed = (struct.pack(">BBQH", 0, _CERTIFICATE_TIMESTAMP, millis, _PRECERT_ENTRY) + issuer_key_hash
              + len(tbs).to_bytes(3, "big") + tbs
              + struct.pack(">H", len(sct.extension_bytes)) + sct.extension_bytes)
    if not verify_signature(log.key.public_key, sct.signature, signed):
        return f"its signature does not verify with the key of CT log {log.label}"
    return None


__all__ = ["IGNORE_SCT_FLAG", "check_embedded_scts"]
