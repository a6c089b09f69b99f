"""``trusted-root create``: cosign's command (``cosign trusted-root create``), writing a Sigstore TrustedRoot v0.1
for a private instance (a CA, CT logs, Rekor logs such as ``tlog serve``, TSAs) with ``trust.create``.

Flags are cosign's: each of ``--certificate-chain``, ``--ctfe-key``, ``--rekor-key`` and
``--timestamp-certificate-chain`` may be repeated, and the per-service flags that follow them (``--fulcio-uri``,
``--ctfe-url``, ``--ctfe-start-time``, ``--ctfe-end-time``, ``--rekor-url``, ``--rekor-start-time``,
``--rekor-end-time``, ``--timestamp-uri``) pair with them in order. The file is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from supplychain.cli.group import Group
from supplychain.errors import InvalidInputError

if TYPE_CHECKING:
    from datetime import datetime

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


class TrustedRootOutputError(InvalidInputError):
    """The ``--out`` file could not be written."""

    default_hint = "check the path and its directory's permissions"


@click.group("trusted-root", cls=Group)
def trusted_root_group() -> None:
    """Create Sigstore trusted roots (TrustedRoot v0.1) for private instances.

    \b
    Examples:
      supplychain trusted-root create --certificate-chain fulcio-chain.pem --ctfe-key ctfe.pub --out root.json
    """


@trusted_root_group.command("create")
@click.option("--certificate-chain", "chains", multiple=True, type=_FILE,
              help="PEM chain of a Fulcio CA: its certificates from the one that issues signing certificates up "
              "to the root (repeatable).")
@click.option("--fulcio-uri", "fulcio_uris", multiple=True, metavar="URL",
              help="URI of the Fulcio of each --certificate-chain, in order.")
@click.option("--ctfe-key", "ctfe_keys", multiple=True, type=_FILE,
              help="PEM public key of a certificate transparency log (repeatable).")
@click.option("--ctfe-url", "ctfe_urls", multiple=True, metavar="URL", help="URL of each --ctfe-key's log.")
@click.option("--ctfe-start-time", "ctfe_starts", multiple=True, metavar="RFC3339",
              help="When each --ctfe-key became valid (default: the Unix epoch, as cosign).")
@click.option("--ctfe-end-time", "ctfe_ends", multiple=True, metavar="RFC3339", help="When it stopped being valid.")
@click.option("--rekor-key", "rekor_keys", multiple=True, metavar="FILE[,NAME]",
              help="PEM public key of a transparency log (repeatable): Rekor v1 / tlog serve (DIR/log.pub); for "
              "Rekor v2, FILE,NAME with the log's name.")
@click.option("--rekor-url", "rekor_urls", multiple=True, metavar="URL", help="URL of each --rekor-key's log.")
@click.option("--rekor-start-time", "rekor_starts", multiple=True, metavar="RFC3339",
              help="When each --rekor-key became valid (default: the Unix epoch, as cosign).")
@click.option("--rekor-end-time", "rekor_ends", multiple=True, metavar="RFC3339", help="When it stopped being valid.")
@click.option("--timestamp-certificate-chain", "tsa_chains", multiple=True, type=_FILE,
              help="PEM chain of an RFC 3161 timestamp authority, its signing certificate first, root last "
              "(repeatable).")
@click.option("--timestamp-uri", "tsa_uris", multiple=True, metavar="URL",
              help="URI of each --timestamp-certificate-chain's TSA.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the trusted root here (default: standard output).")
def create_command(
    chains: tuple[Path, ...], fulcio_uris: tuple[str, ...], ctfe_keys: tuple[Path, ...], ctfe_urls: tuple[str, ...],
    ctfe_starts: tuple[str, ...], ctfe_ends: tuple[str, ...], rekor_keys: tuple[str, ...],
    rekor_urls: tuple[str, ...], rekor_starts: tuple[str, ...], rekor_ends: tuple[str, ...],
    tsa_chains: tuple[Path, ...], tsa_uris: tuple[str, ...], out: Path | None,
) -> None:
    """Create a Sigstore trusted root from a private instance's verification material, as cosign does.

    \b
    Examples:
      supplychain trusted-root create --certificate-chain fulcio-chain.pem --fulcio-uri https://fulcio.example \\
          --ctfe-key ctfe.pub --rekor-key ~/.local/share/supplychain/tlog/log.pub \\
          --rekor-url http://127.0.0.1:3000 --timestamp-certificate-chain tsa-chain.pem --out trusted_root.json
    """
    for option, values, owner, owners in (
            ("--fulcio-uri", fulcio_uris, "--certificate-chain", chains),
            ("--ctfe-url", ctfe_urls, "--ctfe-key", ctfe_keys),
            ("--ctfe-start-time", ctfe_starts, "--ctfe-key", ctfe_keys),
            ("--ctfe-end-time", ctfe_ends, "--ctfe-key", ctfe_keys),
            ("--rekor-url", rekor_urls, "--rekor-key", rekor_keys),
            ("--rekor-start-time", rekor_starts, "--rekor-key", rekor_keys),
            ("--rekor-end-time", rekor_ends, "--rekor-key", rekor_keys),
            ("--timestamp-uri", tsa_uris, "--timestamp-certificate-chain", tsa_chains)):
        _paired(option, values, owner, owners)
    if not (chains or ctfe_keys or rekor_keys or tsa_chains):
        raise click.UsageError("give at least one of --certificate-chain, --ctfe-key, --rekor-key, "
                               "--timestamp-certificate-chain")
    document = _build(chains, fulcio_uris, ctfe_keys, ctfe_urls, ctfe_starts, ctfe_ends, rekor_keys, rekor_urls,
                      rekor_starts, rekor_ends, tsa_chains, tsa_uris)
    if out is None:
        click.echo(document.decode(), nl=False)
        return
    from supplychain.files import write_atomic

    try:
        write_atomic(out, document)
    except OSError as exc:
        raise TrustedRootOutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {out}", err=True)


def _build(chains: tuple[Path, ...], fulcio_uris: tuple[str, ...], ctfe_keys: tuple[Path, ...],
           ctfe_urls: tuple[str, ...], ctfe_starts: tuple[str, ...], ctfe_ends: tuple[str, ...],
           rekor_keys: tuple[str, ...], rekor_urls: tuple[str, ...], rekor_starts: tuple[str, ...],
           rekor_ends: tuple[str, ...], tsa_chains: tuple[Path, ...], tsa_uris: tuple[str, ...]) -> bytes:
    """The trusted root of the flags, each file read and checked."""
    from supplychain.trust.certificate import load_certificates
    from supplychain.trust.create import AuthoritySpec, build_trusted_root, log_spec
    from supplychain.trust.keyring import read_trust_file

    authorities = [AuthoritySpec(load_certificates(path, "certificate chain"), _nth(fulcio_uris, n))
                   for n, path in enumerate(chains)]
    timestamp_authorities = [AuthoritySpec(load_certificates(path, "timestamp certificate chain"), _nth(tsa_uris, n))
                             for n, path in enumerate(tsa_chains)]
    ctlogs = [log_spec(read_trust_file(path, "CT log key"), _nth(ctfe_urls, n),
                       start=_time(_nth(ctfe_starts, n), "--ctfe-start-time"),
                       end=_time(_nth(ctfe_ends, n), "--ctfe-end-time"), what=str(path))
              for n, path in enumerate(ctfe_keys)]
    tlogs = []
    for n, spec in enumerate(rekor_keys):
        path, _, name = spec.partition(",")
        tlogs.append(log_spec(read_trust_file(path, "log public key"), _nth(rekor_urls, n), name=name or None,
                              start=_time(_nth(rekor_starts, n), "--rekor-start-time"),
                              end=_time(_nth(rekor_ends, n), "--rekor-end-time"), what=path))
    return build_trusted_root(certificate_authorities=authorities, tlogs=tlogs, ctlogs=ctlogs,
                              timestamp_authorities=timestamp_authorities)


def _paired(option: str, values: tuple[object, ...], owner: str, owners: tuple[object, ...]) -> None:
    if len(values) > len(owners):
        raise click.UsageError(f"{option} is given {len(values)} times for {len(owners)} {owner}: each pairs "
                               f"with one {owner}, in order")


def _nth(values: tuple[str, ...], n: int) -> str:
    return values[n] if n < len(values) else ""


def _time(text: str, option: str) -> datetime | None:
    if not text:
        return None
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)",
                                 param_hint=option) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no time zone (end it with Z)", param_hint=option)
    return moment
