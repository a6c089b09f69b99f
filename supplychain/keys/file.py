"""Key files on disk: bounded reads, and writes that are atomic, private, and all-or-nothing.

``write_key_pair`` writes ``<prefix>.key`` (mode 0600) and ``<prefix>.pub`` the way a careful ``cosign
generate-key-pair`` would: each file goes to a temporary file in the target directory (``O_CREAT|O_EXCL``,
created with its final mode, fsynced), then is moved into place, and the directory is fsynced. Without ``force``
an existing file is never replaced (checked first, and enforced race-free by ``link(2)``, which fails on an
existing name); with ``force`` the old files are kept as hard links until both new ones are in place, so a failure
half-way restores them. On any failure nothing new is left behind: no temporary file, no lone ``.key``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from supplychain.files import FileTooLargeError, fsync_directory, read_capped, write_temporary
from supplychain.keys.encrypted import (
    SIGSTORE_PRIVATE_KEY_LABEL,
    EncryptedLabel,
    Password,
    decrypt_private_key,
    encrypt_private_key,
    is_encrypted_private_key,
)
from supplychain.keys.envelope import SCRYPT_LEGACY, ScryptParams
from supplychain.keys.error import InvalidKeyError, KeyExistsError, KeyFileError
from supplychain.keys.key import KeyPair, PrivateKey, PublicKey, load_private_key_pem, load_public_key_pem

MAX_KEY_FILE_BYTES = 64 * 1024  # an RSA-4096 cosign key is about 4 KiB
ENV_KEY_SCHEME = "env://"  # cosign's key reference for a PEM held in an environment variable
PRIVATE_KEY_HINT = (
    "give a private key: a cosign key (ENCRYPTED SIGSTORE PRIVATE KEY, from generate-key-pair or import-key-pair) "
    "or an unencrypted PEM private key (PKCS#1 RSA, SEC1 EC or PKCS#8)"
)
PUBLIC_KEY_HINT = (
    "give a public key PEM: PKIX PUBLIC KEY (as cosign.pub) or PKCS#1 RSA PUBLIC KEY; "
    "`supplychain public-key --key KEY` prints the public key of a private key"
)
PRIVATE_KEY_MODE = 0o600
PUBLIC_KEY_MODE = 0o644  # before the umask, as cosign's os.WriteFile
# link(2) is not available on every file system (FAT, some network and FUSE mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


@dataclass(frozen=True, slots=True)
class KeyPairFiles:
    """Where ``write_key_pair`` put the two files."""

    private_key: Path
    public_key: Path


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a key file, refusing missing, unreadable and implausibly large files."""
    try:
        return read_capped(path, MAX_KEY_FILE_BYTES)
    except FileTooLargeError as exc:
        size = f"{MAX_KEY_FILE_BYTES // 1024} KiB"
        raise KeyFileError(f"{os.fspath(path)} is larger than {size}: not a key file") from exc
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {os.fspath(path)} does not exist") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {os.fspath(path)}: {exc.strerror or exc}") from exc


def key_source(ref: str | os.PathLike[str]) -> str:
    """How errors name where a key came from: ``key file PATH`` or ``environment variable VAR``."""
    text = os.fspath(ref)
    if text.startswith(ENV_KEY_SCHEME):
        return f"environment variable {text.removeprefix(ENV_KEY_SCHEME)}"
    return f"key file {text}"


def read_key(ref: str | os.PathLike[str]) -> bytes:
    """The bytes of a key named as ``--key`` names it: a file path, or cosign's ``env://VAR`` (the PEM itself in
    the environment variable ``VAR``, as CI secrets are handed over). A missing or empty variable is refused
    with the variable named (a secret that did not reach the job is the usual cause)."""
    text = os.fspath(ref)
    if not text.startswith(ENV_KEY_SCHEME):
        return read_key_file(text)
    name = text.removeprefix(ENV_KEY_SCHEME)
    if not name or "=" in name:
        raise KeyFileError(f"{text!r} names no environment variable", hint="write it as env://VARIABLE_NAME")
    value = os.environ.get(name)
    if value is None or not value.strip():
        state = "is not set" if value is None else "is empty"
        raise KeyFileError(
            f"--key {text}: the environment variable {name} {state}",
            hint=f"export {name} with the key's PEM text (in CI, from a secret), or give a key file path",
        )
    data = os.fsencode(value)
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"environment variable {name} is larger than {MAX_KEY_FILE_BYTES // 1024} KiB: not a key")
    return data


def read_public_key(ref: str | os.PathLike[str]) -> PublicKey:
    """The public key at ``ref`` (a path or ``env://VAR``, see ``read_key``); errors name it, and their hint lists
    the public-key formats (not the private ones: a private key given where a public key is wanted is refused)."""
    data = read_key(ref)
    try:
        return load_public_key_pem(data)
    except InvalidKeyError as exc:
        generic = exc.hint == InvalidKeyError.default_hint
        raise named_key_error(exc, ref, hint=PUBLIC_KEY_HINT if generic else None) from exc


def read_private_key(ref: str | os.PathLike[str], password: Callable[[], Password]) -> PrivateKey:
    """The private key at ``ref`` (a path or ``env://VAR``): a cosign encrypted key, opened with ``password()``
    (called only for one), or a plain PEM private key. Errors name ``ref``; their hint lists private-key formats."""
    data = read_key(ref)
    try:
        if is_encrypted_private_key(data):
            return decrypt_private_key(data, password())
        return load_private_key_pem(data)
    except InvalidKeyError as exc:
        generic = exc.hint == InvalidKeyError.default_hint
        raise named_key_error(exc, ref, hint=PRIVATE_KEY_HINT if generic else None) from exc


def named_key_error(exc: InvalidKeyError, ref: str | os.PathLike[str], *, hint: str | None = None) -> InvalidKeyError:
    """``exc`` again (same class, so the same exit code), its message prefixed with where the key came from."""
    return type(exc)(f"{key_source(ref)}: {exc.message}", hint=exc.hint if hint is None else hint)


def key_pair_paths(prefix: str | os.PathLike[str]) -> KeyPairFiles:
    """``<prefix>.key`` and ``<prefix>.pub``, as cosign's ``--output-key-prefix`` names them."""
    base = os.fspath(prefix)
    return KeyPairFiles(Path(f"{base}.key"), Path(f"{base}.pub"))


def ensure_key_pair_absent(prefix: str | os.PathLike[str]) -> None:
    """Raise ``KeyExistsError`` if ``<prefix>.key`` or ``<prefix>.pub`` exists (to fail before asking a password)."""
    paths = key_pair_paths(prefix)
    _refuse_existing([paths.private_key, paths.public_key])


def write_key_pair(
    prefix: str | os.PathLike[str],
    keypair: KeyPair,
    password: Password,
    *,
    force: bool = False,
    label: EncryptedLabel = SIGSTORE_PRIVATE_KEY_LABEL,
    scrypt_params: ScryptParams = SCRYPT_LEGACY,
) -> KeyPairFiles:
    """Encrypt ``keypair`` under ``password`` and write ``<prefix>.key`` (0600) and ``<prefix>.pub`` (PKIX PEM).

    Raises ``KeyExistsError`` if either file exists and ``force`` is false, ``KeyFileError`` if writing fails;
    in both cases no file is created or changed.
    """
    paths = key_pair_paths(prefix)
    if not force:
        _refuse_existing([paths.private_key, paths.public_key])
    # Encrypt (scrypt takes a while) before touching the file system.
    private_pem = encrypt_private_key(keypair.private_key, password, label=label, scrypt_params=scrypt_params)
    _install(
        [
            (paths.private_key, private_pem, PRIVATE_KEY_MODE),
            (paths.public_key, keypair.public_key.pem(), PUBLIC_KEY_MODE),
        ],
        force=force,
    )
    return paths


def write_public_key(path: str | os.PathLike[str], public_key: PublicKey, *, force: bool = True) -> Path:
    """Write ``public_key`` as PKIX PEM to ``path`` atomically (replacing a file there unless ``force`` is off)."""
    target = Path(os.fspath(path))
    if not force:
        _refuse_existing([target])
    _install([(target, public_key.pem(), PUBLIC_KEY_MODE)], force=force)
    return target


def _refuse_existing(paths: list[Path]) -> None:
    existing = [str(path) for path in paths if os.path.lexists(path)]
    if existing:
        raise KeyExistsError(f"refusing to overwrite {' and '.join(existing)}")


def _install(files: list[tuple[Path, bytes, int]], *, force: bool) -> None:
    """Move every file into place, or none: see the module docstring."""
    temps: dict[Path, Path] = {}
    backups: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for target, data, mode in files:
            temps[target] = _write_temporary(target, data, mode)
        for target, _, _ in files:
            if force:
                backup = _keep_old(target)
                if backup is not None:
                    backups[target] = backup
                _replace(temps[target], target)
                del temps[target]
                placed.append(target)
            elif _place_new(temps[target], target):
                del temps[target]
                placed.append(target)
            else:  # hard-linked: the new file is in place under both names; drop the temporary name
                placed.append(target)
                _remove(temps[target], target)
                del temps[target]
        for directory in {target.parent for target, _, _ in files}:
            fsync_directory(directory)
    except BaseException:  # broad: an interrupt mid-way must not leave half a key pair either
        # Undo, newest first; a failure to undo must not hide the error that got us here.
        for target in reversed(placed):
            with contextlib.suppress(OSError):
                if target in backups:
                    os.replace(backups.pop(target), target)
                else:
                    os.unlink(target)
        for leftover in [*temps.values(), *backups.values()]:
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        raise
    for backup in backups.values():
        with contextlib.suppress(OSError):  # the new files are in place; a stale link is only clutter
            os.unlink(backup)


def _sibling(target: Path, suffix: str) -> Path:
    # Same directory, so the final rename stays on one file system; dot-prefixed and random, never guessed.
    return target.with_name(f".{target.name}.{secrets.token_hex(8)}.{suffix}")


def _write_temporary(target: Path, data: bytes, mode: int) -> Path:
    try:
        # The private key is exactly 0600; the public key's mode follows the umask, as cosign's does.
        return write_temporary(target, data, mode=mode, follow_umask=mode != PRIVATE_KEY_MODE)
    except OSError as exc:
        raise _write_error(target, exc) from exc


def _replace(temporary: Path, target: Path) -> None:
    try:
        os.replace(temporary, target)
    except OSError as exc:
        raise _write_error(target, exc) from exc


def _place_new(temporary: Path, target: Path) -> bool:
    """Put ``temporary`` at ``target`` without replacing anything; True if it was renamed, False if linked.

    link(2) fails if ``target`` exists, so a file created there since we checked is never overwritten.
    """
    try:
        os.link(temporary, target, follow_symlinks=False)
    except FileExistsError as exc:
        raise KeyExistsError(f"refusing to overwrite {target}") from exc
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise _write_error(target, exc) from exc
        if os.path.lexists(target):  # best effort where link(2) is missing
            raise KeyExistsError(f"refusing to overwrite {target}") from exc
        _replace(temporary, target)
        return True
    return False


def _remove(temporary: Path, target: Path) -> None:
    try:
        os.unlink(temporary)
    except OSError as exc:
        raise _write_error(target, exc) from exc


def _keep_old(target: Path) -> Path | None:
    """A hard link to the file about to be replaced, to restore it on failure (None if nothing to keep)."""
    if not os.path.lexists(target) or os.path.isdir(target):
        return None
    backup = _sibling(target, "old")
    try:
        os.link(target, backup, follow_symlinks=False)
    except OSError:
        return None  # no hard links here: replace without a way back, as a plain rename would
    return backup


def _write_error(target: Path, exc: OSError) -> KeyFileError:
    return KeyFileError(f"cannot write {target}: {exc.strerror or exc}")
