"""Certificate authorities given as PEM files of one's own (BYO PKI, cosign's ``--ca-roots``/``--ca-intermediates``):
the other way, besides a TrustedRoot's ``certificateAuthorities[]``, to name the CAs a signing certificate must reach.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from supplychain.trust.error import CertificateError

MAX_CERTIFICATE_FILE_BYTES = 1 << 20


def load_certificates(path: str | Path, what: str) -> tuple[x509.Certificate, ...]:
    """The PEM certificates of a file of root or intermediate CA certificates (at least one); ``what`` names it in
    messages."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CERTIFICATE_FILE_BYTES + 1)
    except OSError as exc:
        raise CertificateError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_CERTIFICATE_FILE_BYTES:
        raise CertificateError(f"{what} {path} is larger than {MAX_CERTIFICATE_FILE_BYTES} bytes")
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise CertificateError(f"{what} {path} holds no usable PEM certificate: {exc}") from exc
