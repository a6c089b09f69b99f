"""``supplychain tlog``: run a local transparency log and inspect, verify and monitor Rekor logs.

``init`` and ``serve`` run the local Rekor v1-compatible log; ``info``, ``get``, ``verify`` and ``monitor`` are
operator tools for any Rekor v1 log. Which log keys to trust comes from ``--rekor-public-key``, ``--trusted-root``,
or (for the public-good instance) Sigstore's production trusted root shipped with the ``sigstore`` package.
``supplychain.tlog`` (and with it cryptography, httpx, pydantic) is imported inside the commands, so
``supplychain --help`` stays fast.

A ``--rekor-public-key`` given without ``--rekor-url`` belongs to no URL: it is labelled by its log ID and file, never
as the public-good log's (whose keys come from Sigstore's trusted root). Log URLs are shown without user info.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from supplychain.cli.group import Group
from supplychain.cli.options import build_settings, echo_result, output_option, tlog_trust_options
from supplychain.errors import InvalidInputError, SizeLimitError, VerificationError
from supplychain.report.format import Format

if TYPE_CHECKING:
    from supplychain.tlog.client import RekorClient
    from supplychain.trust.keyring import LogKeyring

KEY_TYPES = ("ecdsa-p256", "ed25519")  # supplychain.tlog.server.directory.KEY_TYPES
DEFAULT_HOST = "127.0.0.1"  # supplychain.tlog.server.directory.DEFAULT_HOST (the default name and listen host)
DEFAULT_PORT = 3000
MAX_EVIDENCE_BYTES = 16 << 20
"""Largest --bundle file read (a Sigstore bundle or entry is a few KiB; certificate chains make it tens)."""

_MISMATCH_HINT = ("the evidence is about another artifact: check that --artifact or --digest names the artifact the "
                  "bundle was made for")


def _keyring(rekor_url: str, rekor_public_key: Path | None, trusted_root: Path | None) -> LogKeyring:
    from supplychain.trust.root import select_keyring

    return select_keyring(_given_url(rekor_url), rekor_public_key, trusted_root)


def _given_url(rekor_url: str) -> str | None:
    """``--rekor-url`` if the user gave it (flag or environment), None if it is only the default."""
    source = click.get_current_context().get_parameter_source("rekor_url")
    return None if source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP) else rekor_url


def _client(rekor_url: str, keyring: LogKeyring, ca_file: Path | None) -> RekorClient:
    from supplychain.tlog.client import RekorClient

    return RekorClient.open(rekor_url, keyring, build_settings(ca_file, ()))


@click.group("tlog", cls=Group)
def tlog_group() -> None:
    """Run a local transparency log; get, verify and monitor Rekor entries and checkpoints.

    \b
    Examples:
      supplychain tlog init --dir ./log --name log.example.com
      supplychain tlog serve --dir ./log --addr 127.0.0.1:3000
      supplychain tlog info --rekor-url http://127.0.0.1:3000 --rekor-public-key ./log/log.pub
    """


# -- the local log ---------------------------------------------------------------------------------------------


@tlog_group.command("init")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the log (created 0700 if missing; must not hold a log already).")
@click.option("--key-type", type=click.Choice(KEY_TYPES), default=KEY_TYPES[0], show_default=True,
              help="The log's signing key algorithm.")
@click.option("--name", default=DEFAULT_HOST, show_default=True,
              help="Host name the log signs checkpoints under (origin '<name> - <treeID>'): the host clients put in "
              "the log's URL (--rekor-url, a trusted root's baseUrl). Default: the host `tlog serve` listens on.")
def init_command(directory: Path, key_type: str, name: str) -> None:
    """Create a local log: its signing key (DIR/log.key, 0600), public key (DIR/log.pub) and config.

    The name must be the host clients use in the log's URL: sigstore-js, for one, accepts a checkpoint only if the
    trusted root's baseUrl contains its signer name. The default, 127.0.0.1, fits `tlog serve`'s default address
    (http://127.0.0.1:3000); a log served as https://log.example.com needs --name log.example.com.

    \b
    Examples:
      supplychain tlog init --dir ./log
      supplychain tlog init --dir ./log --key-type ed25519 --name log.example.com
    """
    from supplychain.tlog.server.directory import init_log_directory

    log = init_log_directory(directory, key_type=key_type, name=name)  # type: ignore[arg-type]
    click.echo(f"initialised log {log.config.origin!r} in {directory}")
    click.echo(f"public key: {log.public_key_path}")
    click.echo(f"log ID: {log.log_key().log_id_hex}")


@tlog_group.command("serve")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The log directory made by `tlog init`.")
@click.option("--addr", default=f"{DEFAULT_HOST}:{DEFAULT_PORT}", show_default=True, metavar="HOST:PORT",
              help="Address to listen on: an IPv4 address or host name, or an IPv6 address in brackets "
              "([::1]:3000); port 0 picks a free one.")
@click.option("--quiet", is_flag=True, help="Do not log each request.")
def serve_command(directory: Path, addr: str, quiet: bool) -> None:
    """Serve a local Rekor v1-compatible log over HTTP until SIGTERM or Ctrl-C.

    One server per log directory: a second `tlog serve` on the same --dir refuses to start. Stopping on SIGTERM or
    SIGINT (Ctrl-C) is a clean shutdown (entries in flight are committed first) and exits 0: a server that stops
    on request has succeeded.

    \b
    Examples:
      supplychain tlog serve --dir ./log --addr 127.0.0.1:3000
    """
    import logging

    from supplychain.httpserver.server import stop_on_signals
    from supplychain.tlog.server.directory import open_log_directory
    from supplychain.tlog.server.http import serve
    from supplychain.tlog.server.log import LocalLog

    host, port = _parse_addr(addr)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    server_logger = logging.getLogger("supplychain.tlog.server")
    server_logger.addHandler(handler)
    server_logger.setLevel(logging.WARNING if quiet else logging.INFO)
    server_logger.propagate = False  # its own lines, not once more through --debug's handler on "supplychain"
    log = LocalLog(open_log_directory(directory)).start()

    def ready(url: str) -> None:
        click.echo(f"serving {log.origin!r} ({log.size} entries) at {url}", err=True)

    try:
        with stop_on_signals() as stop:
            serve(log, host, port, stop, ready=ready)
    finally:
        server_logger.removeHandler(handler)
        server_logger.propagate = True
    click.echo("stopped", err=True)


def _parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` to (host, port)."""
    import ipaddress

    hint = "write --addr HOST:PORT, e.g. 127.0.0.1:3000, or [::1]:3000 for IPv6"
    if addr.startswith("["):
        host, bracket, port_text = addr[1:].partition("]")
        if not bracket or not port_text.startswith(":"):
            raise InvalidInputError(f"--addr {addr!r} is not [IPv6]:PORT", hint=hint)
        port_text = port_text[1:]
        try:
            if ipaddress.ip_address(host).version != 6:
                raise ValueError(host)
        except ValueError:
            message = f"--addr {addr!r}: {host!r} in brackets is not an IPv6 address"
            raise InvalidInputError(message, hint=hint) from None
    else:
        host, _, port_text = addr.rpartition(":")
        if ":" in host:
            raise InvalidInputError(f"--addr {addr!r}: write an IPv6 address in brackets", hint=hint)
    if not host or not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
        raise InvalidInputError(f"--addr {addr!r} is not HOST:PORT", hint=hint)
    return host, int(port_text)


# -- operator tools ------------------------------------------------------------------------------------------


@tlog_group.command("info")
@tlog_trust_options
@output_option
def info_command(rekor_url: str, rekor_public_key: Path | None, trusted_root: Path | None, ca_file: Path | None,
                 output: Format) -> None:
    """Show the log's current checkpoint, verified with a trusted key.

    \b
    Examples:
      supplychain tlog info
      supplychain tlog info --rekor-url http://127.0.0.1:3000 --rekor-public-key ./log/log.pub -o json
    """
    from supplychain.report.tlog import INFO

    keyring = _keyring(rekor_url, rekor_public_key, trusted_root)
    with _client(rekor_url, keyring, ca_file) as client:
        info = client.log_info()
    # The text ends in the signed checkpoint's own newline.
    click.echo(INFO.render(info, output), nl=output is not Format.TEXT)


@tlog_group.command("get")
@click.option("--uuid", help="Entry UUID (64 hex digits, or 80 with the tree ID).")
@click.option("--index", type=int, help="Entry log index.")
@tlog_trust_options
@output_option
def get_command(uuid: str | None, index: int | None, rekor_url: str, rekor_public_key: Path | None,
                trusted_root: Path | None, ca_file: Path | None, output: Format) -> None:
    """Fetch one entry and verify it (SET, inclusion proof against a signed checkpoint, key validity).

    \b
    Examples:
      supplychain tlog get --index 12345
      supplychain tlog get --uuid <uuid> --rekor-url http://127.0.0.1:3000 --rekor-public-key ./log/log.pub
    """
    from supplychain.report.tlog import ENTRY

    if (uuid is None) == (index is None):
        raise click.UsageError("give exactly one of --uuid and --index")
    keyring = _keyring(rekor_url, rekor_public_key, trusted_root)
    with _client(rekor_url, keyring, ca_file) as client:
        verified = client.get_entry(uuid) if uuid is not None else client.get_entry_by_index(index or 0)
    click.echo(ENTRY.render(verified, output))


@tlog_group.command("verify")
@click.option("--bundle", "bundle_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Evidence: a Sigstore bundle, a cosign Rekor bundle (dev.sigstore.cosign/bundle), "
              "or `tlog get -o json` output (at most 16 MiB).")
@click.option("--artifact", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also require the (hashedrekord) entry to be about this file.")
@click.option("--digest", help="Also require the (hashedrekord) entry to be about this digest (sha256:<hex>).")
@click.option("--online", is_flag=True,
              help="Also fetch the entry from the log and prove its inclusion in the log's current tree.")
@tlog_trust_options
@output_option
def verify_command(bundle_path: Path, artifact: Path | None, digest: str | None, online: bool, rekor_url: str,
                   rekor_public_key: Path | None, trusted_root: Path | None, ca_file: Path | None,
                   output: Format) -> None:
    """Verify the inclusion of an entry: offline (SET, inclusion proof and checkpoint), or --online.

    Each entry of the evidence gets a verdict. With -o json, stdout has one object per entry, "ok": true or
    false (with "error"), whatever the outcome; the exit status is 1 when any entry did not verify.

    \b
    Examples:
      supplychain tlog verify --bundle sig.bundle.json --artifact payload.json
      supplychain tlog verify --bundle sig.bundle.json --online
    """
    from contextlib import nullcontext

    from supplychain.report.tlog import VERDICTS
    from supplychain.tlog.evidence import read_evidence
    from supplychain.tlog.verdict import ArtifactMismatchError, verify_entries

    if artifact is not None and digest is not None:
        raise click.UsageError("give at most one of --artifact and --digest")
    wanted = _wanted_digest(artifact, digest)
    keyring = _keyring(rekor_url, rekor_public_key, trusted_root)
    entries = read_evidence(_read_evidence_file(bundle_path))
    with _client(rekor_url, keyring, ca_file) if online else nullcontext() as client:
        result = verify_entries(entries, keyring, artifact=wanted, client=client)
    echo_result(VERDICTS.render(result, output))
    failure = result.failure()
    if failure is not None:
        # The library's hint says "the artifact or digest named"; here that is a flag.
        mismatch = isinstance(result.errors[0], ArtifactMismatchError)
        raise VerificationError(failure.message, hint=_MISMATCH_HINT) if mismatch else failure


def _read_evidence_file(path: Path) -> bytes:
    """The --bundle file, refused above ``MAX_EVIDENCE_BYTES`` before it is read, and if it is empty or not JSON
    (the wrong file: invalid input, exit 3)."""
    from supplychain.files import FileTooLargeError, read_capped

    try:
        size = path.stat().st_size
        if size > MAX_EVIDENCE_BYTES:
            raise SizeLimitError(
                f"--bundle {path} is {size} bytes, more than the {MAX_EVIDENCE_BYTES >> 20} MiB limit for evidence",
                hint="give the Sigstore bundle, the dev.sigstore.cosign/bundle annotation or `tlog get -o json` "
                "output: evidence is a few KiB",
            )
        data = read_capped(path, MAX_EVIDENCE_BYTES)
    except FileTooLargeError as exc:  # a file that grew, or a device
        raise SizeLimitError(
            f"--bundle {path} is larger than the {MAX_EVIDENCE_BYTES >> 20} MiB limit for evidence"
        ) from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read --bundle {path}: {exc.strerror or exc}",
                                hint="check the path and its permissions") from exc
    hint = "give a Sigstore bundle, the dev.sigstore.cosign/bundle annotation value or `tlog get -o json` output"
    if not data.strip():
        raise InvalidInputError(f"--bundle {path} is empty", hint=hint)
    from supplychain.formats import strictjson

    try:
        strictjson.loads_untrusted(data)
    except (strictjson.NestingError, strictjson.DuplicateKeyError, strictjson.NumberError):
        pass  # JSON, but hostile (nested past any evidence's depth, ...): for read_evidence to refuse (a verdict)
    except strictjson.JsonFormatError as exc:
        raise InvalidInputError(f"--bundle {path} is not JSON: {exc}", hint=hint) from None
    return data


def _wanted_digest(artifact: Path | None, digest: str | None) -> tuple[str, bytes] | None:
    import hashlib

    if artifact is not None:
        hasher = hashlib.sha256()
        with artifact.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
        return "sha256", hasher.digest()
    if digest is None:
        return None
    algorithm, _, value = digest.partition(":")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if algorithm not in ("sha256", "sha384", "sha512") or len(raw) != hashlib.new(algorithm).digest_size:
        raise InvalidInputError(f"--digest {digest!r} is not <algorithm>:<hex>", hint="e.g. sha256:<64 hex digits>")
    return algorithm, raw


@tlog_group.command("monitor")
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the last verified checkpoint (created on the first run).")
@tlog_trust_options
@output_option
def monitor_command(state_path: Path, rekor_url: str, rekor_public_key: Path | None, trusted_root: Path | None,
                    ca_file: Path | None, output: Format) -> None:
    """Check the log's checkpoint is consistent with the last one seen; fail on a rollback or split view.

    \b
    Examples:
      supplychain tlog monitor --state ./rekor-state.json
      supplychain tlog monitor --state ./state.json --rekor-url http://127.0.0.1:3000 --rekor-public-key ./log/log.pub
    """
    from supplychain.report.tlog import MONITOR
    from supplychain.tlog.monitor import monitor

    keyring = _keyring(rekor_url, rekor_public_key, trusted_root)
    with _client(rekor_url, keyring, ca_file) as client:
        result = monitor(client, state_path)
    shown = result.current.url  # without user info
    echo_result(MONITOR.render(result, output))
    if not result.ok:
        raise VerificationError(
            f"{shown}: {result.detail}",
            hint=f"the state in {state_path} was kept as evidence; report the log's two checkpoints to its operator",
        )
