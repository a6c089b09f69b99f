"""``sign``: cosign's command, key-based, for registries and OCI layouts (``verify`` is ``cli.verify``).

A thin adapter (STYLE.md section 1): options, one library call (``signing.sign_image``), a renderer
(``report.signature``). The private key's password comes from
``SUPPLYCHAIN_PASSWORD``, else ``COSIGN_PASSWORD``, else a hidden prompt (standard input stays free).

Transparency log (cosign's ``--tlog-upload``): ``sign`` records each signature in the Rekor log named by
``--rekor-url``/``--tlog-url`` or ``SUPPLYCHAIN_REKOR_URL`` *before* storing it, and stores the log's evidence
with it. With no log URL, it is recorded in the embedded default log (``tlog.server.embedded``: the local log in
``${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog``, created on first use, appended to in-process); uploading
signatures to the public instance is never implicit. ``--tlog-upload=false`` logs nothing. ``verify`` requires
that evidence by default.

The docker-reference signed for an ``oci:`` layout must be given with ``--reference-name``: containers/image,
skopeo and policy-controller parse it as a docker reference (a path is not one, so such a signature would be
refused under their default identity rule), a layout path means nothing once ``copy`` has published the image
and its ``.sig`` tag, and a guessed name would later fail ``verify --check-reference``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from supplychain.cli.boolflag import GoBoolOption, GoFlagCommand
from supplychain.cli.keyless import keyless_options, open_keyless, refuse_keyed_options, refuse_keyless_options
from supplychain.cli.options import (
    build_settings,
    concurrency_option,
    registry_options,
    sign_tlog_options,
)
from supplychain.errors import InvalidInputError, SupplyChainError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from supplychain.config import Settings
    from supplychain.keys import PrivateKey
    from supplychain.reference import AnyReference
    from supplychain.registry import RegistryPool
    from supplychain.signing import SignResult
    from supplychain.signing.attach import SigningCertificate
    from supplychain.signing.attest import EnvelopeSigner
    from supplychain.signing.keyless import KeylessSigner
    from supplychain.signing.transparency import SigningLog
    from supplychain.tlog.server.embedded import EmbeddedLog

_TAG_WARNING = (
    "WARNING: {ref} uses a tag, not a digest, to identify the image to sign. The tag was resolved once, to the\n"
    "    digest above, and that digest is what is signed; sign by digest (NAME@sha256:...) to be sure it is\n"
    "    the image you mean."
)

_ATTEST_TAG_WARNING = (
    "WARNING: {ref} uses a tag, not a digest, to identify the image to attest. The tag was resolved once, to the\n"
    "    digest above, and that digest is the statement's subject; attest by digest (NAME@sha256:...) to be sure it\n"
    "    is the image you mean."
)


class OutputFileError(InvalidInputError):
    """A ``--output-*`` file could not be written."""

    default_hint = "check the path and its directory's permissions"


class UnsignedImagesError(SupplyChainError):
    """``sign`` of several images, some of which failed: each has had its ``ERROR`` line; this is the one-line
    summary, with the worst exit status among them (the highest: an internal error over an integrity failure over
    an unreachable registry over a missing image over bad input)."""

    def __init__(self, errors: list[SupplyChainError], total: int) -> None:
        worst = max(errors, key=lambda e: int(e.exit_code))
        same = all(e.exit_code == worst.exit_code for e in errors)
        super().__init__(f"{len(errors)} of {total} images could not be signed (see the ERROR lines above)",
                         hint=worst.hint if same else "")
        self.exit_code = worst.exit_code


@click.command("sign", cls=GoFlagCommand,
               epilog="The key's password comes from SUPPLYCHAIN_PASSWORD, else COSIGN_PASSWORD, else a hidden "
               "prompt; it may be empty. Boolean flags also take cosign's spelling --flag=true|false.")
@click.argument("references", nargs=-1, required=True)
@click.option("--key", "-k", "key_file",
              help="Private key: a cosign key file or a PEM private key; env://VAR reads the PEM from the variable. "
              "Without it, the signature is keyless (a Fulcio certificate for an OIDC identity).")
@click.option("-a", "--annotations", "annotations", multiple=True, metavar="KEY=VALUE",
              help="Signed annotation (repeatable): in `optional` (legacy) or the statement subject (bundle).")
@click.option("--recursive", "-r", is_flag=True, help="For an index, also sign every manifest it lists.")
@click.option("--format", "signature_format", type=click.Choice(["legacy", "bundle"]),
              help="legacy: a layer of the sha256-<hex>.sig manifest (cosign v2; the default with --key); bundle: a "
              "Sigstore bundle v0.3 as an OCI 1.1 referrer (cosign v3; the default keyless).")
@click.option("--certificate", "certificate_file", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM certificate of the signing key (BYO PKI), stored with the signature: the "
              "dev.sigstore.cosign/certificate annotation (legacy) or the bundle's certificate. Must match --key.")
@click.option("--certificate-chain", "chain_file", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM chain of --certificate up to the root (legacy: the dev.sigstore.cosign/chain annotation; a "
              "v0.3 bundle holds the leaf only, so verify it with --ca-intermediates).")
@click.option("--upload/--no-upload", cls=GoBoolOption, show_negative=True, default=True,
              help="Store the signature (default: on; --no-upload or --upload=false writes nothing to the registry "
              "or layout; a configured transparency log still records it).")
@click.option("--output-signature", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the signature here: base64 (legacy) or the bundle JSON (bundle).")
@click.option("--output-payload", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the signed document here: the simple-signing payload or the in-toto statement.")
@click.option("--reference-name", "--sign-container-identity", "reference_name", metavar="REGISTRY/REPOSITORY",
              help="The docker-reference to sign (default: the image's registry/repository). Required for oci:.")
@concurrency_option(what="Images signed at once, when several are given; for one index with --recursive, its "
                   "manifests signed at once")
@click.option("-y", "--yes", "yes", cls=GoBoolOption, default=False,
              help="Accepted for cosign compatibility (skip confirmation prompts); sign never prompts, so it has "
              "no effect.")
@sign_tlog_options
@keyless_options
@registry_options
def sign_command(
    references: tuple[str, ...], key_file: str | None, annotations: tuple[str, ...], recursive: bool,
    signature_format: str | None, certificate_file: Path | None, chain_file: Path | None, upload: bool,
    output_signature: Path | None, output_payload: Path | None, reference_name: str | None, concurrency: int | None,
    ca_file: Path | None, insecure_registries: tuple[str, ...], tlog_upload: bool | None, rekor_url: str | None,
    rekor_public_key: Path | None, trusted_root: Path | None, yes: bool, **keyless: Any,
) -> None:
    """Sign images by digest, as cosign does, and store each signature next to its image.

    REFERENCE is registry/name[:tag][@digest] or oci:PATH[:tag|@digest]. A tag is resolved to its digest once.
    The signature is logged first, in the transparency log at --rekor-url, or by default in the local log in
    ${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog (created on first use, no server needed; verify trusts its
    key by default): a hashedrekord entry whose Rekor bundle goes into the dev.sigstore.cosign/bundle annotation
    (legacy), or a dsse entry in the bundle's tlogEntries (bundle). --tlog-upload=false logs nothing. A served
    log's answers are checked with --rekor-public-key or --trusted-root; a log on this machine (a loopback URL)
    given neither is trusted on first use: its own /api/v1/log/publicKey is fetched.

    Without --key the signature is keyless, as cosign's: an ephemeral key, a certificate for your OIDC identity
    from Fulcio (its SCT checked against the trusted root's CT logs), the signature logged in Rekor, and the
    certificate stored with it (default --format bundle). The services and trust are Sigstore's production
    instance (--staging: staging), or --trusted-root and --signing-config of your own, with --fulcio-url,
    --rekor-url, --timestamp-server-url and --oidc-issuer replacing single services. A keyless signature is never
    made without a transparency-log entry.

    Several REFERENCEs are signed concurrently (--concurrency), with the same key, annotations and
    --reference-name: one result line per image, in argument order (ERROR and the reason for one that failed;
    the others are still signed), and the exit status of the worst failure. With --recursive, the manifests of
    one REFERENCE's index are signed concurrently (--concurrency), and listed in the order of the index.

    \b
    Examples:
      supplychain sign --key cosign.key registry.example.com/app@sha256:<hex>
      supplychain sign --key cosign.key --format bundle -a env=prod registry.example.com/app:1.0
      supplychain sign --key env://COSIGN_KEY registry.example.com/app:1.0 registry.example.com/api:1.0
      supplychain sign --key cosign.key --rekor-url http://127.0.0.1:3000 oci:./layout:v1
      supplychain sign --identity-token @token.jwt --trusted-root root.json --signing-config sc.json IMAGE
    """
    from supplychain.registry import RegistryPool
    from supplychain.signing import parse_annotations

    several = len(references) > 1
    _check_outputs(recursive or several, recursive, output_signature, output_payload)
    claims = parse_annotations(annotations)
    targets = _sign_targets(references, reference_name)  # every reference is checked before anything is signed
    if key_file is None:
        return _sign_keyless(targets, claims, signature_format or "bundle", recursive, upload, concurrency, ca_file,
                             insecure_registries, tlog_upload, rekor_url, rekor_public_key, trusted_root,
                             certificate_file, chain_file, output_signature, output_payload, keyless)
    signature_format = _keyed_format(signature_format, keyless)
    private_key = _load_private_key(key_file)  # before touching the store: a wrong password writes nothing
    certificate = _signing_certificate(certificate_file, chain_file, private_key)
    settings = build_settings(ca_file, insecure_registries, concurrency=concurrency)
    log, embedded = _open_signing_log(tlog_upload, private_key, signature_format, rekor_url, rekor_public_key,
                                      trusted_root, settings)
    # One client per registry for the run (``registry.RegistryPool``): one probe, one token per scope, one pool of
    # connections, however many images are signed.
    registries = RegistryPool(settings)
    sign_one = functools.partial(
        _sign_one, private_key=private_key, certificate=certificate, claims=claims, signature_format=signature_format,
        recursive=recursive, upload=upload, log=log, settings=settings, quiet=several, registries=registries,
        # Several images are signed concurrently already; their manifests one at a time, so that no more than
        # --concurrency of them are under way.
        concurrency=1 if several else settings.concurrency)
    try:
        if several:
            _sign_several(sign_one, targets, settings.concurrency)
            return
        result, _ = sign_one(*targets[0])
    finally:
        registries.close()
        _close(log)
        if embedded is not None and embedded.created:
            click.echo(f"created the default transparency log in {embedded.path} (its key: {embedded.public_key_path})",
                       err=True)
    _write_outputs(result, upload, output_signature, output_payload)


def _check_outputs(many: bool, recursive: bool, output_signature: Path | None, output_payload: Path | None) -> None:
    """``--output-*`` name one file each (not for ``--recursive`` or several images), writable before signing."""
    if many and (output_signature or output_payload):
        why = "--recursive" if recursive else "several images"
        raise click.UsageError(f"--output-signature/--output-payload name one file each: not with {why}")
    outputs = {"--output-signature": output_signature, "--output-payload": output_payload}
    _check_output_paths({option: path for option, path in outputs.items() if path is not None})


def _keyed_format(signature_format: str | None, keyless: dict[str, Any]) -> str:
    """``--format`` with ``--key`` (default legacy, as cosign v2), refusing keyless-only flags."""
    refuse_keyless_options(keyless)
    return signature_format or "legacy"


def _sign_keyless(
    targets: list[tuple[str, AnyReference, str]], claims: dict[str, str], signature_format: str, recursive: bool,
    upload: bool, concurrency: int | None, ca_file: Path | None, insecure_registries: tuple[str, ...],
    tlog_upload: bool | None, rekor_url: str | None, rekor_public_key: Path | None, trusted_root: Path | None,
    certificate_file: Path | None, chain_file: Path | None, output_signature: Path | None,
    output_payload: Path | None, keyless: dict[str, Any],
) -> None:
    """``sign`` without ``--key``: one keyless signer (one certificate) for every image of the run."""
    from supplychain.registry import RegistryPool

    refuse_keyed_options(tlog_upload=tlog_upload, rekor_public_key=rekor_public_key,
                         certificate=certificate_file is not None or chain_file is not None)
    settings = build_settings(ca_file, insecure_registries, concurrency=concurrency)
    registries = RegistryPool(settings)
    several = len(targets) > 1
    try:
        with open_keyless(rekor_url=rekor_url, trusted_root=trusted_root, **keyless) as signer:
            sign_one = functools.partial(_sign_one, private_key=None, certificate=None, claims=claims,
                                         signature_format=signature_format, recursive=recursive, upload=upload,
                                         log=None, settings=settings, quiet=several, registries=registries,
                                         concurrency=1 if several else settings.concurrency, keyless=signer)
            if several:
                # One signer, one certificate: its signatures are made one at a time (each is a log entry).
                _sign_several(sign_one, targets, 1)
                return
            result, _ = sign_one(*targets[0])
    finally:
        registries.close()
    _write_outputs(result, upload, output_signature, output_payload)


def _sign_targets(references: tuple[str, ...], reference_name: str | None) -> list[tuple[str, AnyReference, str]]:
    """Each REFERENCE with the docker-reference it is signed for (``--reference-name``, else its repository; an
    OCI layout has none, so it needs the flag)."""
    from supplychain.reference import ImageReference, parse_reference
    from supplychain.signing import ReferenceNameError, check_reference_name, cosign_reference_name

    targets: list[tuple[str, AnyReference, str]] = []
    for text in references:
        ref = parse_reference(text)
        if reference_name is not None:
            identity = check_reference_name(reference_name)
        elif isinstance(ref, ImageReference):
            identity = cosign_reference_name(ref)
        else:
            raise ReferenceNameError(f"{ref.name} is an OCI layout: the signature needs a repository name to sign")
        targets.append((text, ref, identity))
    return targets


def _open_signing_log(tlog_upload: bool | None, private_key: PrivateKey, signature_format: str,
                      rekor_url: str | None, rekor_public_key: Path | None, trusted_root: Path | None,
                      settings: Settings) -> tuple[SigningLog | None, EmbeddedLog | None]:
    """The log each signature is recorded in first (none with ``--tlog-upload=false``): the one at ``--rekor-url``,
    else the embedded default log, in-process; the second value is that embedded log, to report its creation."""
    if tlog_upload is False:
        return None, None
    from supplychain.signing import SignatureFormat
    from supplychain.signing.transparency import check_loggable, open_default_log, open_signing_log

    check_loggable(private_key, legacy=signature_format == SignatureFormat.LEGACY.value)
    if rekor_url is not None:
        return open_signing_log(rekor_url, settings, public_key=rekor_public_key, trusted_root=trusted_root), None
    embedded = open_default_log(public_key=rekor_public_key, trusted_root=trusted_root)
    return embedded, embedded


def _write_outputs(result: SignResult, upload: bool, output_signature: Path | None,
                   output_payload: Path | None) -> None:
    """``--output-signature`` / ``--output-payload``, and the signature on stdout when it was stored nowhere."""
    from supplychain.signing.legacy import encode_signature

    first = result.images[0]
    signature_text = (first.bundle if first.bundle is not None
                      else (encode_signature(first.signature) + "\n").encode("ascii"))
    done = "the signature was stored" if upload else "nothing was stored"
    if output_signature is not None:
        _write_file(output_signature, signature_text, done)
    if output_payload is not None:
        _write_file(output_payload, first.payload, done)
    if not upload and output_signature is None:
        click.echo(signature_text.decode("utf-8").rstrip("\n"))


def _sign_one(
    text: str, ref: AnyReference, identity: str, *, private_key: PrivateKey | None,
    certificate: SigningCertificate | None, claims: dict[str, str], signature_format: str, recursive: bool,
    upload: bool, log: SigningLog | None, settings: Settings, quiet: bool, registries: RegistryPool | None = None,
    concurrency: int = 1, keyless: KeylessSigner | None = None,
) -> tuple[SignResult, str]:
    """Sign one image. Alone (not ``quiet``), its progress and result lines go to stderr as they happen; among
    several, ``_sign_several`` prints one line for it."""
    from supplychain.report.signature import signed_lines
    from supplychain.signing import SignatureFormat, sign_image
    from supplychain.signing.signer import sign_image_keyless
    from supplychain.store import open_store

    store = None
    try:
        store = open_store(ref, settings, registries=registries)
        subject = store.resolve(ref.identifier)
        if not quiet:
            if ref.digest is None:
                click.echo(f"signing {subject.digest} (resolved from tag {ref.tag})", err=True)
                click.echo(_TAG_WARNING.format(ref=text), err=True)
            else:
                click.echo(f"signing {subject.digest}", err=True)
        if keyless is not None:
            result = sign_image_keyless(store, subject, keyless, docker_reference=identity, annotations=claims,
                                        signature_format=SignatureFormat(signature_format), recursive=recursive,
                                        upload=upload, concurrency=concurrency)
        else:
            assert private_key is not None
            result = sign_image(store, subject, private_key, docker_reference=identity, annotations=claims,
                                signature_format=SignatureFormat(signature_format), recursive=recursive,
                                upload=upload, log=log, certificate=certificate, concurrency=concurrency)
        if not quiet:
            for line in signed_lines(result, store.name):
                click.echo(line, err=True)
        return result, store.name
    finally:
        _close(store)


def _sign_several(
    sign_one: Callable[[str, AnyReference, str], tuple[SignResult, str]], targets: list[tuple[str, AnyReference, str]],
    concurrency: int,
) -> None:
    """Sign ``targets`` at most ``concurrency`` at a time; one line per image, in argument order, then (if some
    failed) the summary error with the worst exit status. An unexpected exception is not caught here: it is a bug,
    and the boundary reports it."""
    from supplychain.parallel import ordered_map
    from supplychain.report.signature import sign_summary_line

    def attempt(target: tuple[str, AnyReference, str]) -> tuple[SignResult, str] | SupplyChainError:
        try:
            return sign_one(*target)
        except SupplyChainError as exc:
            return exc

    outcomes = list(ordered_map(attempt, targets, concurrency))
    errors: list[SupplyChainError] = []
    tagged = [text for (text, ref, _), outcome in zip(targets, outcomes, strict=True)
              if ref.digest is None and not isinstance(outcome, SupplyChainError)]
    for (text, _, _), outcome in zip(targets, outcomes, strict=True):
        if isinstance(outcome, SupplyChainError):
            errors.append(outcome)
            click.echo(f"ERROR {text}: {' '.join(outcome.message.split())}", err=True)
        else:
            click.echo(sign_summary_line(text, *outcome), err=True)
    if tagged:
        click.echo(_TAG_WARNING.format(ref=", ".join(tagged)), err=True)
    if errors:
        raise UnsignedImagesError(errors, len(targets))


def _signing_certificate(certificate_file: Path | None, chain_file: Path | None,
                         private_key: PrivateKey) -> SigningCertificate | None:
    """``--certificate`` and ``--certificate-chain``, read with ``attach signature``'s caps and checked against the
    signing key before anything is logged or stored."""
    if certificate_file is None and chain_file is None:
        return None
    from supplychain.signing import attach

    certificate = (attach.read_input_file(certificate_file, limit=attach.MAX_CERTIFICATE_BYTES, what="certificate")
                   if certificate_file is not None else None)
    if certificate is None:
        raise click.UsageError("--certificate-chain needs --certificate (the leaf the chain belongs to)")
    chain = (attach.read_input_file(chain_file, limit=attach.MAX_CHAIN_BYTES, what="certificate chain")
             if chain_file is not None else None)
    return attach.signing_certificate(certificate, chain, private_key.public_key())


def _load_private_key(ref: str) -> PrivateKey:
    from supplychain.cli.password import open_private_key

    return open_private_key(ref, password_stdin=False, offers_password_stdin=False)


def _check_output_paths(paths: dict[str, Path]) -> None:
    """Refuse ``--output-*`` files that could not be written, before anything is logged or stored: the path
    must not be a directory, and its directory must exist and take a new file (probed by creating and removing
    a temp file there, which also catches read-only filesystems and runs as root)."""
    if len(set(paths.values())) < len(paths):
        raise click.UsageError("--output-signature and --output-payload name the same file")
    for option, path in paths.items():
        parent = path.parent
        if path.is_dir():
            raise OutputFileError(f"{option} {path} is a directory; name a file")
        if not parent.is_dir():
            what = "is not a directory" if parent.exists() else "does not exist"
            raise OutputFileError(f"{option} {path}: the directory {parent} {what}; nothing was signed",
                                  hint="create the directory first, or name a file in an existing one")
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
        except OSError as exc:
            raise OutputFileError(
                f"{option} {path}: cannot create a file in {parent}: {exc.strerror or exc}; nothing was signed"
            ) from exc
        os.close(fd)
        os.unlink(probe)


def _write_file(path: Path, content: bytes, done: str) -> None:
    """Write ``content`` to ``path`` atomically and durably (``files.write_atomic``); ``done`` says in the error
    what already happened (the paths were checked before signing, so this is a late failure)."""
    from supplychain.files import write_atomic

    try:
        write_atomic(path, content)
    except OSError as exc:
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc} ({done})") from exc


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


@click.command("attest", cls=GoFlagCommand,
               epilog="The key's password comes from SUPPLYCHAIN_PASSWORD, else COSIGN_PASSWORD, else a hidden "
               "prompt; it may be empty. Boolean flags also take cosign's spelling --flag=true|false.")
@click.argument("reference")
@click.option("--predicate", "predicate_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The predicate file: SLSA provenance, an SBOM, a VEX document... (JSON; text for custom and spdx).")
@click.option("--type", "predicate_kind", default="custom", show_default=True, metavar="ALIAS|URI",
              help="The predicate type: one of cosign's aliases (custom, slsaprovenance, slsaprovenance02, "
              "slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex) or a predicate type URI.")
@click.option("--key", "-k", "key_file",
              help="Private key: a cosign key file or a PEM private key; env://VAR reads the PEM from the variable. "
              "Without it, the attestation is keyless (a Fulcio certificate for an OIDC identity).")
@click.option("--format", "attestation_format", type=click.Choice(["bundle", "legacy"]), default="bundle",
              show_default=True,
              help="bundle: a Sigstore bundle v0.3 as an OCI 1.1 referrer (cosign v3); legacy: a DSSE envelope layer "
              "of the sha256-<hex>.att manifest (cosign v2).")
@click.option("--certificate", "certificate_file", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM certificate of the signing key (BYO PKI), stored with the attestation. Must match --key.")
@click.option("--certificate-chain", "chain_file", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM chain of --certificate up to the root (legacy: the dev.sigstore.cosign/chain annotation).")
@click.option("--upload/--no-upload", cls=GoBoolOption, show_negative=True, default=True,
              help="Store the attestation (default: on; --no-upload prints the bundle or envelope instead).")
@click.option("--reference-name", "--sign-container-identity", "reference_name", metavar="REGISTRY/REPOSITORY",
              help="The subject name to attest (default: the image's registry/repository). Required for oci:.")
@click.option("-y", "--yes", "yes", cls=GoBoolOption, default=False,
              help="Accepted for cosign compatibility; attest never prompts, so it has no effect.")
@sign_tlog_options
@registry_options
@keyless_options
def attest_command(
    reference: str, predicate_file: Path, predicate_kind: str, key_file: str | None, attestation_format: str,
    certificate_file: Path | None, chain_file: Path | None, upload: bool, reference_name: str | None, yes: bool,
    ca_file: Path | None, insecure_registries: tuple[str, ...], tlog_upload: bool | None, rekor_url: str | None,
    rekor_public_key: Path | None, trusted_root: Path | None, **keyless: Any,
) -> None:
    """Attest an image: an in-toto statement of the predicate, signed in DSSE, stored next to the image.

    The statement's subject is the image's registry/repository and digest; its predicateType is --type's URI. It
    is logged first (a dsse entry), in the transparency log at --rekor-url or by default in the local log in
    ${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog (--tlog-upload=false logs nothing), then stored: as a v0.3
    bundle referrer with the dev.sigstore.bundle.predicateType annotation (cosign v3), or with --format legacy as
    a layer of the .att manifest with cosign's predicateType and dev.sigstore.cosign/bundle annotations. The
    predicate file is read whole, at most SUPPLYCHAIN_MAX_SIGNATURE_SIZE (1 MiB) as verifiers read it.

    Without --key the attestation is keyless, as sign's (see sign --help): a Fulcio certificate for your OIDC
    identity, stored with it, and a dsse entry in the signing config's Rekor (--rekor-url, e.g. tlog serve);
    never without the entry.

    \b
    Examples:
      supplychain attest --key cosign.key --type slsaprovenance1 --predicate provenance.json \\
          registry.example.com/app:1.0
      supplychain attest --type slsaprovenance1 --predicate provenance.json registry.example.com/app@sha256:<hex>
      supplychain attest --key cosign.key --type cyclonedx --predicate sbom.cdx.json --format legacy \\
          registry.example.com/app@sha256:<hex>
      supplychain attest --key cosign.key --type https://example.com/review/v1 --predicate review.json \\
          --reference-name registry.example.com/app oci:./layout:v1
    """
    from supplychain.formats.intoto import predicate_type_for
    from supplychain.report.signature import attested_lines
    from supplychain.signing.attest import AttestationFormat, attest_image, build_predicate
    from supplychain.store import open_store

    predicate_type = predicate_type_for(predicate_kind)
    settings = build_settings(ca_file, insecure_registries)
    predicate = build_predicate(_read_predicate(predicate_file, settings.max_signature_bytes), predicate_kind)
    ((text, ref, identity),) = _sign_targets((reference,), reference_name)
    with _attestation_signer(key_file, certificate_file, chain_file, tlog_upload, rekor_url, rekor_public_key,
                             trusted_root, settings, keyless) as (signer, log), open_store(ref, settings) as store:
        subject = store.resolve(ref.identifier)
        if ref.digest is None:
            click.echo(f"attesting {subject.digest} (resolved from tag {ref.tag})", err=True)
            click.echo(_ATTEST_TAG_WARNING.format(ref=text), err=True)
        made = attest_image(store, subject, signer, docker_reference=identity, predicate_type=predicate_type,
                            predicate=predicate, attestation_format=AttestationFormat(attestation_format),
                            upload=upload, log=log, max_bytes=settings.max_signature_bytes)
        for line in attested_lines(made, store.name, made.log_url):
            click.echo(line, err=True)
    if not upload:  # stored nowhere: the attestation itself on stdout
        from supplychain.formats import gojson

        shown = made.bundle if made.bundle is not None else gojson.encode(made.envelope.to_go_json(), sort_keys=False)
        click.echo(shown.decode("utf-8"))


@contextlib.contextmanager
def _attestation_signer(
    key_file: str | None, certificate_file: Path | None, chain_file: Path | None, tlog_upload: bool | None,
    rekor_url: str | None, rekor_public_key: Path | None, trusted_root: Path | None, settings: Settings,
    keyless: dict[str, Any],
) -> Iterator[tuple[EnvelopeSigner | KeylessSigner, SigningLog | None]]:
    """``attest``'s and ``attest-blob``'s signer and the log it records in: with ``--key``, the key (its password
    asked before anything is touched: a wrong one writes nothing) and the log at ``--rekor-url`` or the embedded
    default log; keyless, the Fulcio-certified signer, which logs in its own Rekor."""
    if key_file is None:
        refuse_keyed_options(tlog_upload=tlog_upload, rekor_public_key=rekor_public_key,
                             certificate=certificate_file is not None or chain_file is not None)
        with open_keyless(rekor_url=rekor_url, trusted_root=trusted_root, **keyless) as keyless_signer:
            yield keyless_signer, None
        return
    from supplychain.signing.attest import KeySigner

    refuse_keyless_options(keyless)
    private_key = _load_private_key(key_file)
    signer = KeySigner(private_key, _signing_certificate(certificate_file, chain_file, private_key))
    log, embedded = _open_signing_log(tlog_upload, private_key, "bundle", rekor_url, rekor_public_key,
                                      trusted_root, settings)
    try:
        yield signer, log
    finally:
        _close(log)
        if embedded is not None and embedded.created:
            click.echo(f"created the default transparency log in {embedded.path} (its key: {embedded.public_key_path})",
                       err=True)


def _read_predicate(path: Path, limit: int) -> bytes:
    """The predicate file's bytes, refused when missing, empty or over ``limit`` (read no further than that)."""
    from supplychain.files import FileTooLargeError, read_capped
    from supplychain.signing.attest import PredicateError

    try:
        data = read_capped(path, limit)
    except FileTooLargeError as exc:
        raise PredicateError(f"the predicate file {path} is larger than {limit} bytes: refused",
                             hint="attestations are read under SUPPLYCHAIN_MAX_SIGNATURE_SIZE (1 MiB by default); "
                             "raise it, for verifiers too, to attest a larger predicate") from exc
    except FileNotFoundError as exc:
        raise PredicateError(f"the predicate file {path} does not exist", hint="check the path") from exc
    except OSError as exc:
        raise PredicateError(f"cannot read the predicate file {path}: {exc.strerror or exc}",
                             hint="check the path and its permissions") from exc
    if not data.strip():
        raise PredicateError(f"the predicate file {path} is empty")
    return data


@click.command("attest-blob", cls=GoFlagCommand,
               epilog="The key's password comes from SUPPLYCHAIN_PASSWORD, else COSIGN_PASSWORD, else a hidden "
               "prompt; it may be empty. Boolean flags also take cosign's spelling --flag=true|false.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--predicate", "predicate_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The predicate file (JSON; text for custom and spdx).")
@click.option("--type", "predicate_kind", default="custom", show_default=True, metavar="ALIAS|URI",
              help="The predicate type: one of cosign's aliases (as attest) or a predicate type URI.")
@click.option("--key", "-k", "key_file",
              help="Private key: a cosign key file or a PEM private key; env://VAR reads the PEM from the variable. "
              "Without it, the attestation is keyless.")
@click.option("--bundle", "bundle_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the Sigstore bundle v0.3 (the DSSE envelope, the key hint, the log entry) here.")
@click.option("--new-bundle-format", cls=GoBoolOption, default=True,
              help="Accepted for cosign compatibility: the bundle is always a Sigstore bundle v0.3.")
@click.option("-y", "--yes", "yes", cls=GoBoolOption, default=False,
              help="Accepted for cosign compatibility; attest-blob never prompts.")
@sign_tlog_options
@registry_options
@keyless_options
def attest_blob_command(
    file: Path, predicate_file: Path, predicate_kind: str, key_file: str | None, bundle_file: Path,
    new_bundle_format: bool, yes: bool, ca_file: Path | None, insecure_registries: tuple[str, ...],
    tlog_upload: bool | None, rekor_url: str | None, rekor_public_key: Path | None, trusted_root: Path | None,
    **keyless: Any,
) -> None:
    """Attest a file: an in-toto statement of the predicate about the file's SHA-256, signed in DSSE, as a bundle.

    The statement's subject is the file's base name and SHA-256 digest; it is logged first (a dsse entry) in the
    transparency log at --rekor-url or by default in the local log (--tlog-upload=false logs nothing), then the
    bundle is written to --bundle, atomically. Without --key it is keyless, as attest's.

    \b
    Examples:
      supplychain attest-blob --key cosign.key --type slsaprovenance1 --predicate provenance.json \\
          --bundle app.tar.gz.sigstore.json app.tar.gz
      supplychain attest-blob --type slsaprovenance1 --predicate provenance.json \\
          --bundle app.tar.gz.sigstore.json app.tar.gz
    """
    import hashlib

    from supplychain.digest import Digest
    from supplychain.formats.intoto import predicate_type_for
    from supplychain.signing.attest import attest_blob, build_predicate

    _check_output_paths({"--bundle": bundle_file})
    predicate_type = predicate_type_for(predicate_kind)
    settings = build_settings(ca_file, insecure_registries)
    predicate = build_predicate(_read_predicate(predicate_file, settings.max_signature_bytes), predicate_kind)
    try:
        with open(file, "rb") as handle:  # streamed: the file may be large
            digest, size = hashlib.file_digest(handle, "sha256").hexdigest(), os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise OutputFileError(f"cannot read {file}: {exc.strerror or exc}", hint="check the path") from exc
    with _attestation_signer(key_file, None, None, tlog_upload, rekor_url, rekor_public_key, trusted_root,
                             settings, keyless) as (signer, log):
        made = attest_blob(Digest("sha256", digest), size, file.name, signer, predicate_type=predicate_type,
                           predicate=predicate, log=log, max_bytes=settings.max_signature_bytes)
    if made.tlog_entry is not None:
        click.echo(f"tlog entry created with index: {made.tlog_entry.log_index} ({made.log_url})", err=True)
    assert made.bundle is not None
    _write_file(bundle_file, made.bundle, "the attestation was logged")
    click.echo(f"Wrote the attestation bundle ({predicate_type}) for sha256:{digest} to {bundle_file}", err=True)
