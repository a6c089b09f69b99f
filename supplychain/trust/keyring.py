"""Transparency-log keys: one log key with where the log lives and when the key may be used (``TrustedLog``), and
the set a verifier trusts, looked up by log ID (``LogKeyring``).

A keyring is derived from a TrustedRoot's ``tlogs[]`` (``trust.root``) or made of single keys given on their own (one
Rekor v1 key, valid forever: ``public_key_keyring``). A key is used only inside its validity window: an entry
integrated outside ``validFor`` is refused (``KeyValidityError``), as sigstore-go and sigstore-python do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from supplychain.errors import ConfigurationError, InvalidInputError
from supplychain.files import FileTooLargeError, read_capped
from supplychain.keys.log import LogKey, LogKeyError, NoteVerifier
from supplychain.trust.error import KeyValidityError, UnknownLogError
from supplychain.trust.window import covers, describe_window, format_time

PUBLIC_GOOD_URL = "https://rekor.sigstore.dev"
MAX_TRUSTED_ROOT_BYTES = 4 << 20  # a trusted root or a key file: such files are a few KiB


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
        return covers(self.valid_from, self.valid_until, when)

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


@dataclass(frozen=True, slots=True)
class LogKeyring:
    """The transparency-log keys a verifier trusts, looked up by log ID.

    ``deferred``, when given, returns more keys, read only when needed: when a log ID is not among ``logs``, or when
    the whole set is asked for (iteration, ``len``, ``for_url``, ``valid_at``, ``merged``). ``verify``'s default trust
    is the local default log's key with Sigstore's production root deferred, so that an entry of the local log is
    checked without reading (and parsing) the root; the answer is the same as with every key read up front, since
    a lookup tries ``logs`` first either way.
    """

    logs: tuple[TrustedLog, ...]
    deferred: Callable[[], LogKeyring] | None = field(default=None, compare=False, repr=False)

    def resolved(self) -> LogKeyring:
        """Every key, the deferred ones read (and ``logs`` first)."""
        if self.deferred is None:
            return self
        return LogKeyring(self.logs).merged(self.deferred())

    def __iter__(self) -> Iterator[TrustedLog]:
        return iter(self.resolved().logs)

    def __len__(self) -> int:
        return len(self.resolved().logs)

    def find(self, log_id: bytes | str) -> TrustedLog:
        """The trusted key with this log ID (bytes or hex); ``UnknownLogError`` if none."""
        wanted = log_id if isinstance(log_id, bytes) else _hex_id(log_id)
        for log in self.logs:
            if log.key.log_id == wanted:
                return log
        if self.deferred is not None:
            return self.resolved().find(wanted)
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
        wanted = normal_url(url)
        return LogKeyring(tuple(log for log in self if log.base_url and normal_url(log.base_url) == wanted))

    def valid_at(self, when: int) -> LogKeyring:
        """The keys valid at ``when``."""
        return LogKeyring(tuple(log for log in self if log.covers(when)))

    def merged(self, other: Iterable[TrustedLog]) -> LogKeyring:
        """Both sets of keys, without duplicates."""
        unique: dict[tuple[str, bytes, int | None, int | None, str | None], TrustedLog] = {}
        for log in (*self.resolved().logs, *other):
            unique.setdefault((log.base_url, log.key.log_id, log.valid_from, log.valid_until, log.source), log)
        return LogKeyring(tuple(unique.values()))


def _hex_id(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidInputError(f"log ID {text[:80]!r} is not hex",
                                hint="a log ID is the hex SHA-256 of the log's DER public key") from exc


def normal_url(url: str) -> str:
    parts = urlsplit(url.strip())
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"


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
    """``public_key_keyring`` of a key file, labelled by that file."""
    return public_key_keyring(read_trust_file(path, "log public key"), url, source=str(path))


def read_trust_file(path: str | Path, what: str) -> bytes:
    try:
        return read_capped(path, MAX_TRUSTED_ROOT_BYTES)
    except FileTooLargeError as exc:
        raise ConfigurationError(f"{what} {path} is larger than {MAX_TRUSTED_ROOT_BYTES} bytes",
                                 hint=f"check that {path} is the file meant: such files are a few KiB") from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc.strerror or exc}",
                                 hint="check the path and its permissions") from exc
