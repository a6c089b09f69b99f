"""Which transparency logs to trust, with which keys, and when: ``trusted_root.json`` and single log keys.

Three ways to name a log and its key (issue 4, item 3):

* ``--rekor-public-key FILE`` (with ``--rekor-url``): one key, valid forever;
* ``--trusted-root FILE``: a Sigstore TrustedRoot v0.1 (``application/vnd.dev.sigstore.trustedroot+json;version=0.1``),
  whose ``tlogs[]`` each give a ``baseUrl``, a ``hashAlgorithm``, a ``publicKey`` (``rawBytes`` = DER
  SubjectPublicKeyInfo, ``keyDetails``, ``validFor {start, end}``) and a ``logId.keyId``;
* nothing: the Sigstore public-good instance, through the production trusted root that the ``sigstore`` package
  ships (read offline from its package data, no TUF refresh, and without importing ``sigstore`` itself).

Each key's log ID is *computed* and must equal the one the root declares: SHA-256 of the DER key for Rekor v1, or
the C2SP signed-note key hash under the log's host name for Rekor v2 (``LogKey.rekor_v2``). A key is used only
inside its validity window: an entry integrated outside ``validFor`` is refused (``KeyValidityError``), as
sigstore-go and sigstore-python do.

This module owns the whole TrustedRoot (``TrustedRoot``): besides ``tlogs[]``, its ``certificateAuthorities[]``
(Fulcio: the chain a signing certificate must reach, ``verify.certificate``), ``ctlogs[]`` (certificate transparency
logs) and ``timestampAuthorities[]`` (RFC 3161 TSAs), each with its ``validFor`` window (protobuf-specs
``sigstore_trustroot.proto``: a ``TimeRange`` whose ``end`` is optional). Every window is kept; an authority is used
only for a signing time inside its window, as sigstore-go's ``FulcioCertificateAuthority.Verify`` does (a CA retired
by its ``end`` vouches for nothing issued later). Signed certificate timestamps (CT) and RFC 3161 timestamps are not
verified by supplychain yet: their logs and authorities are parsed and kept so that the check, when it comes, has
their windows.
"""

from __future__ import annotations

import base64
import binascii
import importlib.resources
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supplychain.errors import ConfigurationError, InvalidInputError
from supplychain.files import FileTooLargeError, read_capped
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.tlog.entry import LogEntryError, LogKey
from supplychain.tlog.note import LogKeyError, NoteVerifier, load_public_key

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
PUBLIC_GOOD_URL = "https://rekor.sigstore.dev"
MAX_TRUSTED_ROOT_BYTES = 4 << 20

# The sigstore package's embedded TUF targets, one directory per TUF repository (percent-encoded URL).
_SIGSTORE_STORE = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}
# keyDetails values (Sigstore protobuf-specs PublicKeyDetails) a transparency log key may carry.
_LOG_KEY_DETAILS = frozenset({"PKIX_ECDSA_P256_SHA_256", "PKIX_ED25519"})


class TrustedRootError(ConfigurationError):
    """A trusted root that cannot be read or used."""

    default_hint = "give a Sigstore trusted_root.json (TrustedRoot v0.1), or the log's key with --rekor-public-key"


class UnknownLogError(LogEntryError):
    """Evidence from a log that no trusted key names."""

    default_hint = "the entry was made by another log; pass that log's key (--rekor-public-key or --trusted-root)"


class KeyValidityError(LogEntryError):
    """A log key used outside its validity window."""

    default_hint = "the log key was not valid when the entry was made; the evidence cannot be trusted"


def _parse_time(text: str, what: str, *, start: bool) -> int:
    """Unix seconds of an RFC 3339 time; a fraction rounds inwards (a start up, an end down), so that a window is
    never wider than the root says for the whole-second times it is compared with (integratedTime)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TrustedRootError(f"{what} {text!r} is not an RFC 3339 timestamp") from exc
    if moment.tzinfo is None:
        raise TrustedRootError(f"{what} {text!r} has no time zone")
    seconds = moment.timestamp()
    return math.ceil(seconds) if start else math.floor(seconds)


def format_time(seconds: int) -> str:
    """RFC 3339 UTC, for messages."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def display_url(url: str) -> str:
    """``url`` without its user info (``user:password@``): how a log URL is shown in messages and stored in files.

    The credentials still travel with the requests (``RekorClient`` keeps them); they are never echoed.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_log_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; else ``ConfigurationError`` saying so. Checked first, so that a
    URL without a scheme (``rekor.example``, ``127.0.0.1:3000``) is not reported as "no key for the log"."""
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.hostname:
        return url
    shown = display_url(url)
    example = "rekor.sigstore.dev"
    if "://" not in url:  # "host:port" parses as scheme "host", so look for the separator itself
        problem = "has no scheme: it needs http:// or https://"
        example = shown.strip().split("/")[0] or example
    elif parts.scheme not in ("http", "https"):
        problem = f"is not an http(s) URL (scheme {parts.scheme!r})"
    else:
        problem = "has no host"
    raise ConfigurationError(
        f"transparency log URL {shown!r} {problem}",
        hint=f"write it as https://HOST[:PORT] (e.g. https://{example}), or http://127.0.0.1:PORT for a log on "
        "this machine",
    )


@dataclass(frozen=True, slots=True)
class TrustedLog:
    """One transparency log key: where the log lives, the key, and when the key may be used (Unix seconds).

    ``base_url`` is empty when the key was given without a URL (``--rekor-public-key`` alone): such a key is
    labelled by its log ID and ``source``, the file it came from, never as some log's. User info in the URL is
    dropped (``display_url``).
    """

    base_url: str
    key: LogKey
    valid_from: int | None = None
    valid_until: int | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", display_url(self.base_url))

    @property
    def label(self) -> str:
        """``<log ID prefix>... (<where it came from>)`` for messages: the key file if any, else the log's URL."""
        where = f"key file {self.source}" if self.source else (self.base_url or "no URL")
        return f"{self.key.log_id_hex[:16]}... ({where})"

    def covers(self, when: int) -> bool:
        """Whether the key was valid at ``when`` (the window is inclusive at both ends)."""
        return _covers(self.valid_from, self.valid_until, when)

    def check_time(self, when: int, what: str = "entry") -> None:
        """Raise ``KeyValidityError`` unless the key was valid at ``when``."""
        if not self.covers(when):
            window = describe_window(self.valid_from, self.valid_until)
            raise KeyValidityError(
                f"{what} time {format_time(when)} is outside the validity window {window} of log key {self.label}"
            )

    @property
    def host(self) -> str:
        """The host name of ``base_url`` (Rekor v1 and v2 sign checkpoints under it)."""
        return urlsplit(self.base_url).hostname or ""

    def note_verifier(self) -> NoteVerifier:
        """The checkpoint verifier for this key (see ``LogKey.note_verifier``)."""
        return self.key.note_verifier()


def _describe(seconds: int | None) -> str:
    return "(open)" if seconds is None else format_time(seconds)


def describe_window(start: int | None, end: int | None) -> str:
    """``<start> .. <end>`` in RFC 3339, ``(open)`` for a missing end, for messages."""
    return f"{_describe(start)} .. {_describe(end)}"


def _covers(start: int | None, end: int | None, when: int) -> bool:
    return (start is None or when >= start) and (end is None or when <= end)


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
        return _covers(self.valid_from, self.valid_until, when)


@dataclass(frozen=True, slots=True)
class LogKeyring:
    """The transparency-log keys a verifier trusts, looked up by log ID."""

    logs: tuple[TrustedLog, ...]

    def __iter__(self) -> Iterator[TrustedLog]:
        return iter(self.logs)

    def __len__(self) -> int:
        return len(self.logs)

    def find(self, log_id: bytes | str) -> TrustedLog:
        """The trusted key with this log ID (bytes or hex); ``UnknownLogError`` if none."""
        wanted = log_id if isinstance(log_id, bytes) else _hex_id(log_id)
        for log in self.logs:
            if log.key.log_id == wanted:
                return log
        known = ", ".join(log.label for log in self.logs) or "none"
        raise UnknownLogError(f"no trusted key for log {wanted.hex()}; trusted logs: {known}")

    def key_for(self, log_id: bytes | str, integrated_time: int | None) -> TrustedLog:
        """The trusted key for ``log_id``, checked against ``integrated_time`` when known (> 0)."""
        log = self.find(log_id)
        if integrated_time:
            log.check_time(integrated_time)
        return log

    def for_url(self, url: str) -> LogKeyring:
        """The keys of the log at ``url`` (scheme, host and port compared; a trailing slash ignored)."""
        wanted = _normal_url(url)
        return LogKeyring(tuple(log for log in self.logs if log.base_url and _normal_url(log.base_url) == wanted))

    def valid_at(self, when: int) -> LogKeyring:
        """The keys valid at ``when``."""
        return LogKeyring(tuple(log for log in self.logs if log.covers(when)))

    def merged(self, other: Iterable[TrustedLog]) -> LogKeyring:
        """Both sets of keys, without duplicates."""
        unique: dict[tuple[str, bytes, int | None, int | None, str | None], TrustedLog] = {}
        for log in (*self.logs, *other):
            unique.setdefault((log.base_url, log.key.log_id, log.valid_from, log.valid_until, log.source), log)
        return LogKeyring(tuple(unique.values()))


def _hex_id(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidInputError(f"log ID {text[:80]!r} is not hex",
                                hint="a log ID is the hex SHA-256 of the log's DER public key") from exc


def _normal_url(url: str) -> str:
    parts = urlsplit(url.strip())
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"


# -- trusted_root.json -------------------------------------------------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _ValidFor(_Wire):
    start: str | None = None
    end: str | None = None


class _PublicKey(_Wire):
    rawBytes: str
    keyDetails: str
    validFor: _ValidFor = Field(default_factory=_ValidFor)


class _LogId(_Wire):
    keyId: str


class _TransparencyLog(_Wire):
    baseUrl: str
    hashAlgorithm: str = "SHA2_256"
    publicKey: _PublicKey
    logId: _LogId


class _RawCertificate(_Wire):
    rawBytes: str


class _CertChain(_Wire):
    certificates: list[_RawCertificate] = Field(default_factory=list)


class _DistinguishedName(_Wire):
    organization: str = ""
    commonName: str = ""


class _CertificateAuthority(_Wire):
    subject: _DistinguishedName = Field(default_factory=_DistinguishedName)
    uri: str = ""
    certChain: _CertChain = Field(default_factory=_CertChain)
    validFor: _ValidFor = Field(default_factory=_ValidFor)


class _TrustedRoot(_Wire):
    mediaType: str
    tlogs: list[_TransparencyLog] = Field(default_factory=list)
    certificateAuthorities: list[_CertificateAuthority] = Field(default_factory=list)
    ctlogs: list[_TransparencyLog] = Field(default_factory=list)
    timestampAuthorities: list[_CertificateAuthority] = Field(default_factory=list)


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
            loads_untrusted(data)  # the strict decoder first: duplicate keys, wide numbers, bad UTF-8, deep nesting
        except JsonFormatError as exc:
            raise TrustedRootError(f"{source} is not a trusted root: {exc}") from exc
        try:
            root = _TrustedRoot.model_validate_json(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "document"
            raise TrustedRootError(f"{source} is not a trusted root: {where}: {error['msg']}") from exc
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
        """``parse`` a file (``--trusted-root``)."""
        return cls.parse(_read(path, "trusted root"), source=str(path))

    def tlog_keyring(self) -> LogKeyring:
        """The transparency-log keys; ``TrustedRootError`` if the root lists none usable."""
        if not len(self.tlogs):
            raise TrustedRootError(f"{self.source} lists no usable transparency log key")
        return self.tlogs


def _keyring(logs: list[_TransparencyLog], where: str) -> LogKeyring:
    return LogKeyring(tuple(
        _trusted_log(log, f"{where}[{number}]") for number, log in enumerate(logs)
        if log.publicKey.keyDetails in _LOG_KEY_DETAILS and log.hashAlgorithm == "SHA2_256"
    ))


def _authority(authority: _CertificateAuthority, where: str) -> CertificateAuthority:
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
        None if valid_for.start is None else _parse_time(valid_for.start, f"{where} validFor.start", start=True),
        None if valid_for.end is None else _parse_time(valid_for.end, f"{where} validFor.end", start=False),
        where,
    )


def load_trusted_root(data: bytes, *, source: str = "trusted root") -> LogKeyring:
    """The transparency-log keys of a TrustedRoot v0.1 document (``TrustedRoot.parse(...).tlog_keyring()``).

    Keys of other types than ECDSA P-256 and Ed25519 (``keyDetails``) are skipped, as is any log whose hash
    algorithm is not SHA2_256; a root with no usable log key is an error.
    """
    return TrustedRoot.parse(data, source=source).tlog_keyring()


def _trusted_log(tlog: _TransparencyLog, where: str) -> TrustedLog:
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
        None if valid_for.start is None else _parse_time(valid_for.start, f"{where} validFor.start", start=True),
        None if valid_for.end is None else _parse_time(valid_for.end, f"{where} validFor.end", start=False),
    )


def read_trusted_root(path: str | Path) -> LogKeyring:
    """``load_trusted_root`` of a file."""
    return TrustedRoot.read(path).tlog_keyring()


def sigstore_trusted_root(instance: Literal["production", "staging"] = "production") -> LogKeyring:
    """The trusted root the ``sigstore`` package ships for Sigstore's public-good (or staging) instance, offline.

    Only the package data is read: ``sigstore`` is not imported beyond its (empty) ``__init__``.
    """
    try:
        store = importlib.resources.files("sigstore") / "_store" / _SIGSTORE_STORE[instance] / "trusted_root.json"
        data = store.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError) as exc:
        raise TrustedRootError(
            f"cannot read Sigstore's {instance} trusted root from the sigstore package: {exc}",
            hint="install it (pip install sigstore), or pass --trusted-root or --rekor-public-key",
        ) from exc
    return load_trusted_root(data, source=f"sigstore {instance} trusted root")


def public_key_keyring(data: bytes, url: str | None, *, source: str | None = None) -> LogKeyring:
    """A keyring of one Rekor v1 key (PEM or DER), valid forever, for the log at ``url`` (``None``: not known).

    ``source`` names where the key came from (its file): messages then label the key by it.
    """
    try:
        key = LogKey.load(data)
    except LogKeyError as exc:
        raise ConfigurationError(f"{source or 'log public key'}: {exc}", hint=exc.hint) from exc
    return LogKeyring((TrustedLog("" if url is None else url.rstrip("/"), key, source=source),))


def read_public_key(path: str | Path, url: str | None) -> LogKeyring:
    """``public_key_keyring`` of a file (``--rekor-public-key``), labelled by that file."""
    return public_key_keyring(_read(path, "log public key"), url, source=str(path))


def select_keyring(url: str | None, public_key: str | Path | None, trusted_root: str | Path | None) -> LogKeyring:
    """The keys for the CLI's ``--rekor-url``, ``--rekor-public-key`` and ``--trusted-root``.

    A public key wins and applies to ``url``; without a URL it belongs to no URL and is labelled by its log ID and
    file (a key file is never taken for the public-good log's: Sigstore's keys come from its trusted root). A
    trusted root gives every key it lists (the caller narrows to one URL with ``for_url`` when it talks to a log).
    Neither: Sigstore's production root, but only for the public-good URL: a log at another URL needs its key named.
    """
    if url is not None:
        check_log_url(url)
    if public_key is not None:
        return read_public_key(public_key, url)
    if trusted_root is not None:
        return read_trusted_root(trusted_root)
    target = (url or PUBLIC_GOOD_URL).rstrip("/")
    if _normal_url(target) != _normal_url(PUBLIC_GOOD_URL):
        raise ConfigurationError(
            f"no key for the transparency log at {display_url(target)}",
            hint="pass its public key with --rekor-public-key (a local log's is DIR/log.pub) or --trusted-root",
        )
    return sigstore_trusted_root("production")


def _read(path: str | Path, what: str) -> bytes:
    try:
        return read_capped(path, MAX_TRUSTED_ROOT_BYTES)
    except FileTooLargeError as exc:
        raise ConfigurationError(f"{what} {path} is larger than {MAX_TRUSTED_ROOT_BYTES} bytes",
                                 hint=f"check that {path} is the file meant: such files are a few KiB") from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc.strerror or exc}",
                                 hint="check the path and its permissions") from exc
