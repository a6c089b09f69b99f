"""Certificate authorities given as PEM files of one's own (BYO PKI, cosign's ``--ca-roots``/``--ca-intermediates``):
the other way, besides a TrustedRoot's ``certificateAuthorities[]``, to name the CAs a signing certificate must reach.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from supplychain.files import FileTooLargeError, read_capped
from supplychain.trust.error import CertificateError

MAX_CERTIFICATE_FILE_BYTES = 1 << 20


def load_certificates(path: str | Path, what: str) -> tuple[x509.Certificate, ...]:
    """The PEM certificates of a file of root or intermediate CA certificates (at least one); ``what`` names it in
    messages."""
    try:
        data = read_capped(path, MAX_CERTIFICATE_FILE_BYTES)
    except FileTooLargeError as exc:
        raise CertificateError(f"{what} {path} is larger than {MAX_CERTIFICATE_FILE_BYTES} bytes") from exc
    except OSError as exc:
        raise CertificateError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise CertificateError(f"{what} {path} holds no usable PEM certificate: {exc}") from exc
