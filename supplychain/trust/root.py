"""The Sigstore TrustedRoot v0.1 (``application/vnd.dev.sigstore.trustedroot+json;version=0.1``), whole: which
transparency logs, certificate authorities, CT logs and timestamp authorities to trust, and when.

protobuf-specs ``sigstore_trustroot.proto``: ``tlogs[]`` each give a ``baseUrl``, a ``hashAlgorithm``, a
``publicKey`` (``rawBytes`` = DER SubjectPublicKeyInfo, ``keyDetails``, ``validFor {start, end}``) and a
``logId.keyId``; ``certificateAuthorities[]`` (Fulcio: the chain a signing certificate must reach,
``verify.certificate``), ``ctlogs[]`` (certificate transparency logs) and ``timestampAuthorities[]`` (RFC 3161 TSAs),
each with its ``validFor`` window (a ``TimeRange`` whose ``end`` is optional). Every window is kept. Keyrings
(``LogKeyring``: log keys by log ID) and CA pools (``certificate_authorities``) are derived from one parsed root.

The document is read by ``trust.document``'s small strict reader (no pydantic: a keyless ``verify`` reads a
root every run). Each key's log ID is *computed* and must equal the one the root declares: SHA-256 of the DER key
for Rekor v1, or the C2SP signed-note key hash under the log's host name for Rekor v2 (``LogKey.rekor_v2``). An
authority is used only for a signing time inside its window, as sigstore-go's
``FulcioCertificateAuthority.Verify`` does (a CA retired by its ``end`` vouches for nothing issued later). The CT
logs check a certificate's embedded SCTs (``verify.sct``), the timestamp authorities a bundle's RFC 3161
timestamps (``verify.timestamp``).

Sigstore's production and staging roots are the ones the ``sigstore`` package ships (``TrustedRoot.sigstore``: read
offline from its package data, no TUF refresh, and without importing ``sigstore`` itself), as cosign defaults to the
public-good instance.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.keys.log import LogKey, LogKeyError, load_public_key
from supplychain.trust.error import NoLogKeyError, TrustedRootError
from supplychain.trust.keyring import (
    MAX_TRUSTED_ROOT_BYTES,
    PUBLIC_GOOD_URL,
    LogKeyring,
    TrustedLog,
    check_log_url,
    display_url,
    normal_url,
    read_public_key,
    read_trust_file,
)
from supplychain.trust.window import covers, describe_window, parse_time

if TYPE_CHECKING:
    from cryptography import x509

    from supplychain.trust.document import CertificateAuthorityModel, TransparencyLogModel

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SigstoreInstance = Literal["production", "staging"]

# The sigstore package's embedded TUF targets, one directory per TUF repository (percent-encoded URL).
_SIGSTORE_STORE = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}
# keyDetails values (Sigstore protobuf-specs PublicKeyDetails) a transparency log key may carry.
_LOG_KEY_DETAILS = frozenset({"PKIX_ECDSA_P256_SHA_256", "PKIX_ED25519"})


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A ``certificateAuthorities[]`` or ``timestampAuthorities[]`` entry: its chain, and when it may vouch.

    ``certificates`` is the entry's ``certChain`` as listed (protobuf-specs: leaf-most first, root last); its
    self-signed certificates are the trust anchors (``roots``), the others ``intermediates``. ``where`` names the
    entry in its document (``<file> certificateAuthorities[1]``).
    """

    uri: str
    name: str
    certificates: tuple[x509.Certificate, ...]
    valid_from: int | None
    valid_until: int | None
    where: str

    @property
    def roots(self) -> tuple[x509.Certificate, ...]:
        """The self-signed certificates of the chain."""
        return tuple(cert for cert in self.certificates if cert.subject == cert.issuer)

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        """The other certificates of the chain."""
        return tuple(cert for cert in self.certificates if cert.subject != cert.issuer)

    @property
    def label(self) -> str:
        """``<name> (<uri>, <where>)`` for messages."""
        return f"{self.name or 'unnamed authority'} ({', '.join(part for part in (self.uri, self.where) if part)})"

    @property
    def window(self) -> str:
        """The validity window, for messages."""
        return describe_window(self.valid_from, self.valid_until)

    def covers(self, when: int) -> bool:
        """Whether the authority may vouch for a signature made at ``when`` (inclusive at both ends)."""
        return covers(self.valid_from, self.valid_until, when)



@dataclass(frozen=True, slots=True)
class TrustedRoot:
    """A parsed TrustedRoot v0.1: every log and authority it lists, each with its validity window.

    ``tlogs``/``ctlogs`` hold the usable keys (ECDSA P-256 or Ed25519, SHA2_256; others are skipped) and may be
    empty: ``tlog_keyring`` is the one that insists on a transparency log.
    """

    source: str
    tlogs: LogKeyring
    certificate_authorities: tuple[CertificateAuthority, ...]
    ctlogs: LogKeyring
    timestamp_authorities: tuple[CertificateAuthority, ...]

    @classmethod
    def parse(cls, data: bytes, *, source: str = "trusted root") -> TrustedRoot:
        """Parse a TrustedRoot v0.1 document; ``TrustedRootError`` for anything malformed or inconsistent.

        A declared log ID that does not match its key is an error (a root that lies about its own keys is not
        usable), as is a certificate that does not parse or a window that is not RFC 3339.
        """
        if len(data) > MAX_TRUSTED_ROOT_BYTES:
            raise TrustedRootError(f"{source} is larger than {MAX_TRUSTED_ROOT_BYTES} bytes")
        try:
            document = loads_untrusted(data)  # duplicate keys, wide numbers, bad UTF-8, deep nesting refused
        except JsonFormatError as exc:
            raise TrustedRootError(f"{source} is not a trusted root: {exc}") from exc
        from supplychain.trust.document import read_trusted_root_document

        try:
            root = read_trusted_root_document(document)
        except ValueError as exc:
            raise TrustedRootError(f"{source} is not a trusted root: {exc}") from exc
        if root.mediaType != TRUSTED_ROOT_MEDIA_TYPE:
            raise TrustedRootError(
                f"{source} has media type {root.mediaType!r}, expected {TRUSTED_ROOT_MEDIA_TYPE!r}"
            )
        return cls(
            source,
            _keyring(root.tlogs, f"{source} tlogs"),
            tuple(_authority(ca, f"{source} certificateAuthorities[{n}]")
                  for n, ca in enumerate(root.certificateAuthorities)),
            _keyring(root.ctlogs, f"{source} ctlogs"),
            tuple(_authority(tsa, f"{source} timestampAuthorities[{n}]")
                  for n, tsa in enumerate(root.timestampAuthorities)),
        )

    @classmethod
    def read(cls, path: str | Path) -> TrustedRoot:
        """``parse`` a file."""
        return cls.parse(read_trust_file(path, "trusted root"), source=str(path))

    @classmethod
    def sigstore(cls, instance: SigstoreInstance = "production") -> TrustedRoot:
        """Sigstore's public-good (or staging) trusted root, as the ``sigstore`` package ships it (read once)."""
        return _sigstore_root(instance)

    @classmethod
    def production(cls) -> TrustedRoot:
        """Sigstore's public-good trusted root (``sigstore("production")``)."""
        return _sigstore_root("production")

    @classmethod
    def staging(cls) -> TrustedRoot:
        """Sigstore's staging trusted root (``sigstore("staging")``)."""
        return _sigstore_root("staging")

    def tlog_keyring(self) -> LogKeyring:
        """The transparency-log keys; ``TrustedRootError`` if the root lists none usable."""
        if not len(self.tlogs):
            raise TrustedRootError(f"{self.source} lists no usable transparency log key")
        return self.tlogs


def _keyring(logs: list[TransparencyLogModel], where: str) -> LogKeyring:
    return LogKeyring(tuple(
        _trusted_log(log, f"{where}[{number}]") for number, log in enumerate(logs)
        if log.publicKey.keyDetails in _LOG_KEY_DETAILS and log.hashAlgorithm == "SHA2_256"
    ))


def _authority(authority: CertificateAuthorityModel, where: str) -> CertificateAuthority:
    from cryptography import x509  # ~25 ms to import: a key-based signing or verify reads no certificate

    certificates = []
    for number, item in enumerate(authority.certChain.certificates):
        try:
            certificates.append(x509.load_der_x509_certificate(base64.b64decode(item.rawBytes, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise TrustedRootError(f"{where} certChain.certificates[{number}] is not a DER certificate: {exc}") from exc
    valid_for = authority.validFor
    return CertificateAuthority(
        authority.uri,
        " ".join(part for part in (authority.subject.organization, authority.subject.commonName) if part),
        tuple(certificates),
        None if valid_for.start is None else parse_time(valid_for.start, f"{where} validFor.start", start=True),
        None if valid_for.end is None else parse_time(valid_for.end, f"{where} validFor.end", start=False),
        where,
    )


def load_trusted_root(data: bytes, *, source: str = "trusted root") -> LogKeyring:
    """The transparency-log keys of a TrustedRoot v0.1 document (``TrustedRoot.parse(...).tlog_keyring()``).

    Keys of other types than ECDSA P-256 and Ed25519 (``keyDetails``) are skipped, as is any log whose hash
    algorithm is not SHA2_256; a root with no usable log key is an error.
    """
    return TrustedRoot.parse(data, source=source).tlog_keyring()


def _trusted_log(tlog: TransparencyLogModel, where: str) -> TrustedLog:
    try:
        raw = base64.b64decode(tlog.publicKey.rawBytes, validate=True)
        declared = base64.b64decode(tlog.logId.keyId, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TrustedRootError(f"{where}: invalid base64: {exc}") from exc
    try:
        public_key = load_public_key(raw)
    except LogKeyError as exc:
        raise TrustedRootError(f"{where}: {exc}") from exc
    key = LogKey.from_public_key(public_key)
    host = urlsplit(tlog.baseUrl).hostname
    if key.log_id != declared and isinstance(public_key, Ed25519PublicKey) and host:
        key = LogKey.rekor_v2(host, public_key)  # Rekor v2: the C2SP key hash under the log's name
    if key.log_id != declared:
        raise TrustedRootError(
            f"{where}: declared log ID {declared.hex()} does not match its key (computed {key.log_id.hex()})"
        )
    valid_for = tlog.publicKey.validFor
    return TrustedLog(
        tlog.baseUrl.rstrip("/"),
        key,
        None if valid_for.start is None else parse_time(valid_for.start, f"{where} validFor.start", start=True),
        None if valid_for.end is None else parse_time(valid_for.end, f"{where} validFor.end", start=False),
    )


def read_trusted_root(path: str | Path) -> LogKeyring:
    """``load_trusted_root`` of a file."""
    return TrustedRoot.read(path).tlog_keyring()


def sigstore_document(instance: SigstoreInstance, name: str) -> bytes:
    """A document the ``sigstore`` package ships for Sigstore's public-good (or staging) instance, offline:
    ``trusted_root.json`` or ``signing_config.v0.2.json`` (the services a keyless signer uses).

    Only the package data is read: ``sigstore`` is not imported beyond its (empty) ``__init__``.
    """
    try:
        return (importlib.resources.files("sigstore") / "_store" / _SIGSTORE_STORE[instance] / name).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError) as exc:
        raise TrustedRootError(
            f"cannot read Sigstore's {instance} {name} from the sigstore package: {exc}",
            hint="install the sigstore package (pip install sigstore), or name the trusted root or log key to use",
        ) from exc


@functools.cache
def _sigstore_root(instance: SigstoreInstance) -> TrustedRoot:
    """The trusted root the ``sigstore`` package ships for Sigstore's public-good (or staging) instance."""
    return TrustedRoot.parse(sigstore_document(instance, "trusted_root.json"),
                             source=f"sigstore {instance} trusted root")


def select_keyring(url: str | None, public_key: str | Path | None, trusted_root: str | Path | None) -> LogKeyring:
    """The log keys for a log URL, a log key file and a trusted root file, each optional.

    A public key wins and applies to ``url``; without a URL it belongs to no URL and is labelled by its log ID and
    file (a key file is never taken for the public-good log's: Sigstore's keys come from its trusted root). A
    trusted root gives every key it lists (the caller narrows to one URL with ``for_url`` when it talks to a log).
    Neither: Sigstore's production root, but only for the public-good URL: a log at another URL needs its key named
    (``NoLogKeyError``).
    """
    if url is not None:
        check_log_url(url)
    if public_key is not None:
        return read_public_key(public_key, url)
    if trusted_root is not None:
        return read_trusted_root(trusted_root)
    target = (url or PUBLIC_GOOD_URL).rstrip("/")
    if normal_url(target) != normal_url(PUBLIC_GOOD_URL):
        raise NoLogKeyError(f"no key for the transparency log at {display_url(target)}")
    return TrustedRoot.production().tlog_keyring()
