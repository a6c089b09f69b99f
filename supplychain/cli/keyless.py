"""The keyless options of ``sign``, ``sign-blob``, ``attest`` and ``attest-blob`` (cosign's names), the options each
side refuses, and the one way the CLI opens a keyless signer (``signing.keyless``): which services and trust, which
identity token.

The token: ``--identity-token TOKEN`` or ``@FILE`` (also ``SIGSTORE_ID_TOKEN``, cosign's variable), else the CI
job's ambient OIDC credentials, else, on a terminal, the interactive login with the signing config's (or
``--oidc-issuer``'s) issuer. Nothing heavy is imported until a keyless run opens its signer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from supplychain.signing.keyless import KeylessSigner

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
TOKEN_ENV = "SIGSTORE_ID_TOKEN"  # noqa: S105 - the variable's name, not a token


def keyless_options(func: F) -> F:
    """``--identity-token``, ``--oidc-issuer``, ``--fulcio-url``, ``--timestamp-server-url``, ``--signing-config``,
    ``--staging`` (``--rekor-url`` and ``--trusted-root`` are the transparency-log options')."""
    for option in reversed((
        click.option("--identity-token", envvar=TOKEN_ENV, metavar="TOKEN|@FILE",
                     help=f"Keyless: the OIDC identity token (or @FILE holding it; also {TOKEN_ENV}). Default: the "
                     "CI job's OIDC credentials, else an interactive login on a terminal."),
        click.option("--oidc-issuer", metavar="URL", help="Keyless: the OIDC issuer to log in with."),
        click.option("--fulcio-url", metavar="URL", help="Keyless: the Fulcio to get the certificate from."),
        click.option("--timestamp-server-url", metavar="URL",
                     help="Keyless: an RFC 3161 timestamp authority to timestamp the signature."),
        click.option("--signing-config", type=_FILE,
                     help="Keyless: a Sigstore signing_config.json (SigningConfig v0.2) naming the services."),
        click.option("--staging", is_flag=True, help="Keyless: use Sigstore's staging instance."),
    )):
        func = option(func)
    return func


def refuse_keyless_options(options: dict[str, Any]) -> None:
    """With ``--key``: the keyless-only options given on the command line are an error, not silently ignored
    (``SIGSTORE_ID_TOKEN`` in the environment is not: CI sets it for every step)."""
    names = {"identity_token": "--identity-token", "oidc_issuer": "--oidc-issuer", "fulcio_url": "--fulcio-url",
             "timestamp_server_url": "--timestamp-server-url", "signing_config": "--signing-config",
             "staging": "--staging"}
    ctx = click.get_current_context()
    given = [flag for name, flag in names.items()
             if options.get(name) and ctx.get_parameter_source(name) is not click.core.ParameterSource.ENVIRONMENT]
    if given:
        raise click.UsageError(f"{', '.join(given)}: keyless options, not with --key")


def refuse_keyed_options(*, tlog_upload: bool | None, rekor_public_key: Path | None,
                         certificate: bool = False) -> None:
    """Without ``--key`` (keyless): the options a keyless signature cannot honour, each an error."""
    if tlog_upload is False:
        raise click.UsageError("--tlog-upload=false: a keyless signature is never made without a transparency-log "
                               "entry (its certificate lives minutes; the entry proves it was valid when used)")
    if certificate:
        raise click.UsageError("--certificate/--certificate-chain need --key (keyless signing gets its certificate "
                               "from Fulcio)")
    if rekor_public_key is not None:
        raise click.UsageError("--rekor-public-key: keyless signing trusts the logs of --trusted-root")


@contextmanager
def open_keyless(*, identity_token: str | None, oidc_issuer: str | None, fulcio_url: str | None,
                 timestamp_server_url: str | None, signing_config: Path | None, staging: bool,
                 rekor_url: str | None, trusted_root: Path | None) -> Iterator[KeylessSigner]:
    """The keyless signer of a run: its certificate is fetched (and its SCT checked) before anything is signed."""
    from supplychain.signing.keyless import identity_token as get_token
    from supplychain.signing.keyless import keyless_config, open_keyless_signer

    config = keyless_config(instance="staging" if staging else "production", trusted_root=trusted_root,
                            signing_config=signing_config, fulcio_url=fulcio_url, rekor_url=rekor_url,
                            timestamp_url=timestamp_server_url, oidc_issuer=oidc_issuer)
    token = get_token(_read_token(identity_token), config, interactive=sys.stdin.isatty() and sys.stderr.isatty())
    with open_keyless_signer(config, token) as signer:
        click.echo(f"signing as {signer.identity} (certificate from {config.source})", err=True)
        yield signer


def _read_token(value: str | None) -> str | None:
    """``--identity-token``: the token, or ``@FILE``'s first line (capped: a token is a few KiB)."""
    if value is None or not value.startswith("@"):
        return value
    from supplychain.files import FileTooLargeError, read_capped
    from supplychain.signing.keyless import MAX_TOKEN_BYTES, IdentityTokenError

    path = value[1:]
    try:
        return read_capped(path, MAX_TOKEN_BYTES).decode("utf-8", "replace").strip()
    except FileTooLargeError as exc:
        raise IdentityTokenError(f"--identity-token {value} is larger than {MAX_TOKEN_BYTES} bytes",
                                 hint="the file should hold one JWT") from exc
    except OSError as exc:
        raise IdentityTokenError(f"cannot read --identity-token {value}: {exc.strerror or exc}",
                                 hint="check the path after @") from exc
