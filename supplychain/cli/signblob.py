"""``sign-blob``: cosign's command, writing a Sigstore bundle v0.3 of a file (cosign's ``sign-blob --bundle``, with
``--new-bundle-format``, the only format written).

- ``--key``: a message signature over the file's SHA-256 with that key, logged as a ``hashedrekord`` entry in the
  log at ``--rekor-url`` or the embedded default log, as ``sign`` logs (``signing.transparency``); the bundle's
  verification material is the key's hint (``signing.bundle.build_message_bundle``);
- keyless (no ``--key``): ``signing.keyless``: Fulcio's certificate in the bundle, the ``hashedrekord`` entry in
  the signing config's Rekor, and, where the signing config names a TSA, an RFC 3161 timestamp.

Nothing is written unless everything was signed and logged (``files.write_atomic``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import click

from supplychain.cli.boolflag import GoBoolOption, GoFlagCommand
from supplychain.cli.keyless import keyless_options, open_keyless, refuse_keyed_options, refuse_keyless_options
from supplychain.cli.options import sign_tlog_options
from supplychain.errors import InvalidInputError

MAX_BLOB_BYTES = 1 << 30  # a file is signed from memory (its signature and the log need the whole digest once)


class BlobFileError(InvalidInputError):
    """The file to sign or the bundle to write that cannot be used."""

    default_hint = "check the path and its permissions"


@click.command("sign-blob", cls=GoFlagCommand)
@click.argument("blob", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--bundle", "bundle_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the Sigstore bundle (v0.3 JSON) here.")
@click.option("--key", "-k", "key_file",
              help="Private key (cosign key file, PEM, or env://VAR). Without it, the signature is keyless.")
@click.option("--new-bundle-format", cls=GoBoolOption, default=True,
              help="Accepted for cosign compatibility: the bundle is always the v0.3 Sigstore bundle.")
@click.option("-y", "--yes", "yes", cls=GoBoolOption, default=False,
              help="Accepted for cosign compatibility; sign-blob never prompts for confirmation.")
@sign_tlog_options
@keyless_options
def sign_blob_command(
    blob: Path, bundle_path: Path, key_file: str | None, new_bundle_format: bool, yes: bool,
    tlog_upload: bool | None, rekor_url: str | None, rekor_public_key: Path | None, trusted_root: Path | None,
    **keyless: Any,
) -> None:
    """Sign a file into a Sigstore bundle, with a key or keyless, as cosign sign-blob --bundle does.

    With --key: a hashedrekord entry in the log at --rekor-url, or by default in the local log in
    ${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog. Keyless (no --key): an ephemeral key certified by Fulcio
    for your OIDC identity (see sign --help), logged in the signing config's Rekor; never without a log entry.

    \b
    Examples:
      supplychain sign-blob --key cosign.key --bundle app.tar.gz.sigstore.json app.tar.gz
      supplychain sign-blob --identity-token @token.jwt --bundle out.sigstore.json app.tar.gz
    """
    if not new_bundle_format:
        raise click.UsageError("--new-bundle-format=false: sign-blob writes only the Sigstore bundle v0.3")
    data = _read_blob(blob)
    _check_output(bundle_path)
    if key_file is None:
        refuse_keyed_options(tlog_upload=tlog_upload, rekor_public_key=rekor_public_key)
        with open_keyless(rekor_url=rekor_url, trusted_root=trusted_root, **keyless) as signer:
            signed = signer.sign_message(data)
        bundle = signed.bundle
        where = signer.config.rekor_url
    else:
        refuse_keyless_options(keyless)
        bundle, where = _sign_with_key(data, key_file, tlog_upload, rekor_url, rekor_public_key, trusted_root)
    from supplychain.files import write_atomic

    try:
        write_atomic(bundle_path, bundle)
    except OSError as exc:
        raise BlobFileError(f"cannot write {bundle_path}: {exc.strerror or exc} (the signature was logged)") from exc
    logged = f", logged in {where}" if where else ""
    click.echo(f"Wrote bundle to file {bundle_path}{logged}", err=True)


def _sign_with_key(data: bytes, key_file: str, tlog_upload: bool | None, rekor_url: str | None,
                   rekor_public_key: Path | None, trusted_root: Path | None) -> tuple[bytes, str | None]:
    from supplychain.cli.options import build_settings
    from supplychain.cli.password import open_private_key
    from supplychain.signing.bundle import build_message_bundle, key_hint
    from supplychain.signing.signature import create_signature

    private_key = open_private_key(key_file, password_stdin=False, offers_password_stdin=False)
    signature = create_signature(private_key, data)
    public_key = private_key.public_key()
    entries = []
    where = None
    if tlog_upload is not False:
        from supplychain.signing.transparency import (
            check_loggable,
            log_legacy_signature,
            open_default_log,
            open_signing_log,
        )
        from supplychain.tlog.evidence import bundle_tlog_entry

        check_loggable(private_key, legacy=True)
        log = (open_signing_log(rekor_url, build_settings(None, ()), public_key=rekor_public_key,
                                trusted_root=trusted_root) if rekor_url is not None
               else open_default_log(public_key=rekor_public_key, trusted_root=trusted_root))
        try:
            entry = log_legacy_signature(log, data, signature, public_key)
            where = log.url
        finally:
            close = getattr(log, "close", None)
            if callable(close):
                close()
        entries.append(bundle_tlog_entry(entry))
        click.echo(f"tlog entry created with index: {entry.log_index}", err=True)
    return build_message_bundle(signature, hashlib.sha256(data).digest(), key_hint(public_key), entries), where


def _read_blob(path: Path) -> bytes:
    from supplychain.files import FileTooLargeError, read_capped

    try:
        return read_capped(path, MAX_BLOB_BYTES)
    except FileTooLargeError as exc:
        raise BlobFileError(f"{path} is larger than {MAX_BLOB_BYTES >> 30} GiB",
                            hint="sign a digest of it instead (e.g. a checksums file listing it)") from exc
    except OSError as exc:
        raise BlobFileError(f"cannot read {path}: {exc.strerror or exc}; nothing was signed") from exc


def _check_output(path: Path) -> None:
    if path.is_dir():
        raise BlobFileError(f"--bundle {path} is a directory; name a file")
    if not path.parent.is_dir():
        raise BlobFileError(f"--bundle {path}: the directory {path.parent} does not exist; nothing was signed",
                            hint="create the directory first, or name a file in an existing one")
