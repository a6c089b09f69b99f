"""A local log's directory: its signing key, public key, configuration and database (``tlog init``).

Layout::

    DIR/config.json   {"name": "<host name>", "treeID": <int>, "keyType": "ecdsa-p256" | "ed25519", "logID": "<hex>"}
    DIR/log.key       the log's private key, PKCS#8 PEM, mode 0600 (unencrypted: the server signs unattended)
    DIR/log.pub       its public key, PKIX PEM: what clients pass as --rekor-public-key
    DIR/log.db        the SQLite store (created by ``tlog serve``), with -wal and -shm files
    DIR/log.lock      held (``flock``) by the one process serving the log; it records that process's pid

Every file is written to a temporary name (``O_CREAT|O_EXCL``), synced, then linked into place (``link(2)`` never
replaces an existing file) and the directory synced; ``config.json`` goes last, so a directory with a config is
complete. The checkpoint origin is Rekor's ``<name> - <treeID>`` and checkpoints are signed under key name
``<name>`` with Rekor v1's key ID (``SHA-256(SPKI DER)[:4]``); the log ID is ``SHA-256(SPKI DER)``.

The name must be the host clients use in the log's URL: sigstore-js accepts a checkpoint only if the trusted
root's ``baseUrl`` contains its signer name. It defaults to ``127.0.0.1``, the host ``tlog serve`` listens on by
default, so that ``http://127.0.0.1:<port>`` works as is.

The three records of the log's identity must agree before the log is served (``open_log_directory``): the key
``log.key`` holds, the key in ``log.pub`` and the log ID (and key type) ``config.json`` recorded at ``tlog init``
(directories made before ``logID`` was recorded have only the key type). A log served with a swapped or restored
key would sign entries that every client holding ``log.pub`` refuses, and ``sign`` would trust the new key on first
use (issue 8, item 3): such a directory is refused, naming the files that disagree.

Only one process may serve a log: two would each number entries from their own view of the tree. ``LocalLog``
takes an exclusive ``flock`` on ``DIR/log.lock`` for as long as it is open (``lock_log_directory``); the kernel
drops it when the process dies, so a crash leaves no stale lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from supplychain.errors import ConfigurationError, UnavailableError
from supplychain.files import write_new
from supplychain.formats.strictjson import NestingError, loads_untrusted
from supplychain.keys.log import LogKey, LogKeyError, LogPrivateKey, NoteSigner, check_public_key
from supplychain.tlog.checkpoint import rekor_origin
from supplychain.trust.keyring import LogKeyring, read_public_key

KeyType = Literal["ecdsa-p256", "ed25519"]
KEY_TYPES: tuple[str, ...] = get_args(KeyType)
CONFIG_FILE = "config.json"
PRIVATE_KEY_FILE = "log.key"
PUBLIC_KEY_FILE = "log.pub"
DATABASE_FILE = "log.db"
LOCK_FILE = "log.lock"
DEFAULT_HOST = "127.0.0.1"
"""Where ``tlog serve`` listens by default."""
DEFAULT_NAME = DEFAULT_HOST
"""The default checkpoint signer name: the default listen host, i.e. the host of the log's default URL."""
_MAX_TREE_ID = 2**63 - 1  # Trillian tree IDs are positive int64


class LogDirectoryError(ConfigurationError):
    """A log directory that cannot be created or opened."""

    default_hint = "create the log with `supplychain tlog init --dir DIR`"


class LogDirectoryInUseError(UnavailableError):
    """Another process is serving the log in this directory."""

    default_hint = "stop the other `supplychain tlog serve` first (one server per log directory), or serve another log"


class LogDirectoryLock:
    """The exclusive lock on a log directory (``DIR/log.lock``), held until ``release``."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        """Drop the lock (idempotent). The pid stays in the file: harmless, the lock is what counts."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)  # closing the last descriptor of the open file releases the flock


def default_log_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/supplychain/tlog``, or ``~/.local/share/supplychain/tlog`` when XDG_DATA_HOME is unset,
    empty or relative (the XDG Base Directory spec: "If an implementation encounters a relative path in any of
    these variables it should consider the path invalid and ignore it"): the default log ``sign`` appends to
    (``embedded``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "supplychain" / "tlog"


def default_log_keyring(environ: Mapping[str, str] | None = None) -> LogKeyring:
    """The default log's key (``DIR/log.pub``, labelled by that file) if the log exists, else no key. Reading only:
    ``verify`` never creates the log. Here, beside the directory's file names, rather than in ``embedded``: a
    ``verify`` reads this key and must not load the append path (``log``, ``storage`` and SQLite) to do so."""
    path = default_log_path(environ)
    if not (path / CONFIG_FILE).is_file():
        return LogKeyring(())
    return read_public_key(path / PUBLIC_KEY_FILE, None)


def lock_log_directory(path: str | os.PathLike[str]) -> LogDirectoryLock:
    """Take the exclusive lock on the log in ``path`` or raise ``LogDirectoryInUseError`` naming its holder."""
    directory = Path(path)
    lock_path = directory / LOCK_FILE
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise LogDirectoryError(
            f"cannot open the lock file {lock_path}: {exc.strerror or exc}",
            hint=f"the user serving the log needs write access to {directory}",
        ) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_pid(descriptor)
        os.close(descriptor)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            by = f" by process {holder}" if holder else ""
            raise LogDirectoryInUseError(f"the log in {directory} is already being served{by}") from exc
        raise LogDirectoryError(f"cannot lock {lock_path}: {exc.strerror or exc}") from exc
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the pid is for messages only; the lock is held all the same
    return LogDirectoryLock(lock_path, descriptor)


def _read_pid(descriptor: int) -> int | None:
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@dataclass(frozen=True, slots=True)
class LogConfig:
    """What ``config.json`` records."""

    name: str
    tree_id: int
    key_type: KeyType

    @property
    def origin(self) -> str:
        """The checkpoint origin, Rekor v1 style: ``<name> - <treeID>``."""
        return rekor_origin(self.name, self.tree_id)


@dataclass(frozen=True, slots=True)
class LogDirectory:
    """An opened log directory: its configuration and signing key."""

    path: Path
    config: LogConfig
    private_key: LogPrivateKey

    @property
    def database_path(self) -> Path:
        """Where the SQLite store lives."""
        return self.path / DATABASE_FILE

    @property
    def public_key_path(self) -> Path:
        """The PEM public key clients trust (``--rekor-public-key``)."""
        return self.path / PUBLIC_KEY_FILE

    def signer(self) -> NoteSigner:
        """The checkpoint signer: key name = the log's name, Rekor v1 key ID."""
        return NoteSigner.rekor_v1(self.config.name, self.private_key)

    def log_key(self) -> LogKey:
        """The log's public key and log ID."""
        return LogKey.from_public_key(check_public_key(self.private_key.public_key()))

    def public_key_pem(self) -> bytes:
        """The public key as PKIX PEM (``GET /api/v1/log/publicKey``)."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def generate_key(key_type: KeyType) -> LogPrivateKey:
    """A new log signing key: ECDSA P-256 (Rekor's default) or Ed25519."""
    if key_type == "ed25519":
        return Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def init_log_directory(
    path: str | os.PathLike[str],
    *,
    key_type: KeyType = "ecdsa-p256",
    name: str = DEFAULT_NAME,
    tree_id: int | None = None,
) -> LogDirectory:
    """Create a log in ``path`` (created 0700 if missing): key pair and config. Refuse an initialised directory."""
    if key_type not in KEY_TYPES:
        raise LogDirectoryError(f"unknown key type {key_type!r}: expected one of {', '.join(KEY_TYPES)}")
    tree_id = secrets.randbelow(_MAX_TREE_ID) + 1 if tree_id is None else tree_id
    try:
        config = LogConfig(name, tree_id, key_type)
        config.origin  # noqa: B018 - validates the name (a note key name: no spaces, no '+')
    except LogKeyError as exc:
        raise LogDirectoryError(
            f"invalid log name {name!r}: {exc}",
            hint=f"use the host clients put in the log's URL, e.g. {DEFAULT_NAME} or log.example.com",
        ) from exc
    directory = Path(path)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise LogDirectoryError(
            f"cannot create {directory}: {exc.strerror or exc}",
            hint=f"{directory.parent} is not a directory you can create entries in: choose a --dir on a writable "
            "file system, in a directory you own",
        ) from exc
    existing = [name for name in (CONFIG_FILE, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, DATABASE_FILE)
                if (directory / name).exists()]
    if existing:
        raise LogDirectoryError(
            f"{directory} already holds a log ({', '.join(existing)})",
            hint="serve it with `supplychain tlog serve --dir`, or choose an empty directory",
        )
    private_key = generate_key(key_type)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    opened = LogDirectory(directory, config, private_key)
    _write_new(directory / PRIVATE_KEY_FILE, pem, 0o600)
    _write_new(directory / PUBLIC_KEY_FILE, opened.public_key_pem(), 0o644)
    document = {"name": config.name, "treeID": config.tree_id, "keyType": config.key_type,
                "logID": opened.log_key().log_id_hex}
    _write_new(directory / CONFIG_FILE, (json.dumps(document, indent=2) + "\n").encode(), 0o644)
    return opened


def open_log_directory(path: str | os.PathLike[str]) -> LogDirectory:
    """Open an initialised log directory; the private key must not be readable by group or others."""
    directory = Path(path)
    config_path, key_path = directory / CONFIG_FILE, directory / PRIVATE_KEY_FILE
    if not config_path.is_file():
        raise LogDirectoryError(f"{directory} is not a log directory (no {CONFIG_FILE})")
    try:
        document = loads_untrusted(config_path.read_bytes())
        config = LogConfig(str(document["name"]), int(document["treeID"]), document["keyType"])
        config.origin  # noqa: B018 - validates the name
    except NestingError as exc:
        raise LogDirectoryError(f"cannot read {config_path}: arrays and objects nest too deeply") from exc
    except (OSError, ValueError, KeyError, TypeError, LogKeyError) as exc:
        raise LogDirectoryError(f"cannot read {config_path}: {exc}") from exc
    if config.key_type not in KEY_TYPES or not 0 < config.tree_id <= _MAX_TREE_ID:
        raise LogDirectoryError(f"{config_path}: bad keyType or treeID")
    recorded_id = document.get("logID")
    if recorded_id is not None and not (isinstance(recorded_id, str) and len(recorded_id) == 64
                                        and all(c in "0123456789abcdefABCDEF" for c in recorded_id)):
        raise LogDirectoryError(f"{config_path}: logID must be 64 hex characters")
    try:
        mode = key_path.stat().st_mode
        pem = key_path.read_bytes()
    except OSError as exc:
        raise LogDirectoryError(f"cannot read {key_path}: {exc.strerror or exc}") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise LogDirectoryError(
            f"{key_path} is readable by other users (mode {stat.S_IMODE(mode):04o})", hint=f"chmod 600 {key_path}"
        )
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise LogDirectoryError(f"cannot load the log key {key_path}: {exc}") from exc
    if not isinstance(private_key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise LogDirectoryError(f"{key_path} is not an ECDSA P-256 or Ed25519 key")
    try:
        check_public_key(private_key.public_key())
    except LogKeyError as exc:
        raise LogDirectoryError(f"{key_path}: {exc}") from exc
    opened = LogDirectory(directory, config, private_key)
    _check_identity(opened, recorded_id)
    return opened


_MISMATCH_HINT = ("restore this log's own {key} from a backup (entries already logged are signed by it), or, for a "
                  "log whose entries nobody relies on, move {dir} aside and run `supplychain tlog init --dir {dir}`")


def _check_identity(directory: LogDirectory, recorded_id: str | None) -> None:
    """Refuse a directory whose ``log.key``, ``log.pub`` and ``config.json`` name different logs (module docstring)."""
    path = directory.path
    key_path, pub_path, config_path = path / PRIVATE_KEY_FILE, path / PUBLIC_KEY_FILE, path / CONFIG_FILE
    actual = directory.log_key().log_id_hex
    key_type: KeyType = "ed25519" if isinstance(directory.private_key, Ed25519PrivateKey) else "ecdsa-p256"
    if key_type != directory.config.key_type:
        raise LogDirectoryError(
            f"{key_path} is an {key_type} key but {config_path} records keyType {directory.config.key_type}: "
            "the key is not this log's",
            hint=_MISMATCH_HINT.format(key=key_path, dir=path),
        )
    if recorded_id is not None and recorded_id.lower() != actual:
        raise LogDirectoryError(
            f"{key_path} is the key of log {actual[:16]}..., but {config_path} records log ID {recorded_id[:16]}...: "
            "the key is not this log's",
            hint=_MISMATCH_HINT.format(key=key_path, dir=path),
        )
    try:
        published = LogKey.load(pub_path.read_bytes())
    except OSError as exc:
        raise LogDirectoryError(
            f"cannot read {pub_path}: {exc.strerror or exc}",
            hint=f"clients trust the log by {pub_path}: restore it from a backup (or from a client's copy)",
        ) from exc
    except LogKeyError as exc:
        raise LogDirectoryError(f"{pub_path}: {exc}", hint=f"restore {pub_path} from a backup") from exc
    if published.log_id_hex != actual:
        raise LogDirectoryError(
            f"{pub_path} (log {published.log_id_hex[:16]}...) is not the public key of {key_path} "
            f"(log {actual[:16]}...): clients holding {pub_path} would refuse every entry",
            hint=f"restore the {PRIVATE_KEY_FILE} and {PUBLIC_KEY_FILE} that belong together from a backup (a "
            f"client's copy of {PUBLIC_KEY_FILE} names the log they trust), or, for a log whose entries nobody "
            f"relies on, move {path} aside and run `supplychain tlog init --dir {path}`",
        )


def _write_new(target: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``target`` durably without ever replacing an existing file (see the module docstring)."""
    try:
        write_new(target, data, mode=mode)
    except FileExistsError as exc:
        raise LogDirectoryError(f"refusing to overwrite {target}") from exc
    except OSError as exc:
        raise LogDirectoryError(
            f"cannot write {target}: {exc.strerror or exc}",
            hint=f"{target.parent} must be writable by you and its file system must take hard links and have space",
        ) from exc
