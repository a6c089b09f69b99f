"""``verify``: cosign's command, for registries and OCI layouts, by public key or certificate identity.

A thin adapter (STYLE.md section 1): options to a ``VerifyRequest``, the one library set-up
(``verify.build_verify_policy``), the library ``Verifier`` streaming results (``verify_images``), a renderer
(``report.signature``) printing each result as it arrives. Library set-up errors say what is missing; ``cli.hints``
maps them to this command's flags.

Evidence needs transparency-log proof by default, checked offline against trusted log keys: Sigstore's production
trusted root and, when it exists and no log URL was given, the key of the embedded default log ``sign`` writes to
(``tlog.server.embedded``). ``--tlog-online`` asks the log too; ``--insecure-ignore-tlog`` skips it, with cosign's
warning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from supplychain.cli.boolflag import GoBoolOption, GoFlagCommand
from supplychain.cli.options import (
    build_settings,
    certificate_options,
    concurrency_option,
    registry_options,
    verify_tlog_options,
)
from supplychain.errors import ExitCode, SupplyChainError, VerificationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from supplychain.config import Settings
    from supplychain.registry import RegistryPool
    from supplychain.trust.keyring import LogKeyring
    from supplychain.verify import VerificationResult, VerifyPolicy, VerifyRequest, VerifyTarget


class UnansweredImagesError(SupplyChainError):
    """``verify`` of several images, some of which could not be answered for (missing, unreachable): each has had
    its ``ERROR`` line; this is the one-line summary, with the exit status of the first of them."""

    def __init__(self, errors: list[SupplyChainError], total: int) -> None:
        first = errors[0]
        same = all(e.exit_code == first.exit_code for e in errors)
        super().__init__(f"{len(errors)} of {total} images could not be checked at all (see the ERROR lines above; "
                         "the others were)",
                         hint=first.hint if same else "")
        self.exit_code = first.exit_code



# cosign's opt-out of the SCT requirement, on every command that checks a certificate (verify, verify-attestation,
# verify-blob).
_ignore_sct_option = click.option(
    "--insecure-ignore-sct", cls=GoBoolOption, default=False,
    help="Do not require a signed certificate timestamp of a trusted CT log in the certificate (insecure).")


@click.command("verify", cls=GoFlagCommand,
               epilog="Boolean flags also take cosign's spelling --flag=true|false.")
@click.argument("references", nargs=-1, required=True)
@click.option("--key", "-k", "key_files", multiple=True,
              help="PEM public key, PKIX or PKCS#1 RSA; env://VAR reads it from the variable (repeatable: a "
              "signature by any of them counts). Or the certificate options.")
@click.option("-a", "--annotations", "annotations", multiple=True, metavar="KEY=VALUE",
              help="Require this signed annotation (repeatable).")
@click.option("--check-claims/--no-check-claims", cls=GoBoolOption, default=True,
              help="Require the signed digest to be the image's (default: on; --check-claims=false or "
              "--no-check-claims turns it off and accepts replayed signatures).")
@click.option("--check-reference", is_flag=True,
              help="Require the signed docker-reference to name the repository being verified.")
@click.option("--reference-name", metavar="REGISTRY/REPOSITORY",
              help="The repository --check-reference expects (default: the image's; required for oci:).")
@click.option("--max-signatures", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Refuse an image with more candidate signatures than this, before reading any.")
@concurrency_option(what="Images verified at once, and reads of one image's signatures at once")
@verify_tlog_options
@certificate_options
@_ignore_sct_option
@click.option("--output", "-o", type=click.Choice(["json", "text"]), default="json", show_default=True,
              help="json: cosign's output, one JSON array of the verified payloads per image on stdout; text: each "
              "payload on its own line. The checks performed go to stderr either way.")
@registry_options
def verify_command(
    references: tuple[str, ...], key_files: tuple[str, ...], annotations: tuple[str, ...], check_claims: bool,
    check_reference: bool, reference_name: str | None, max_signatures: int, concurrency: int | None, output: str,
    ca_file: Path | None, insecure_registries: tuple[str, ...], rekor_url: str, rekor_public_keys: tuple[Path, ...],
    trusted_root: Path | None, tlog_online: bool, insecure_ignore_tlog: bool, ca_roots: Path | None,
    ca_intermediates: Path | None, certificate_identity: str | None, certificate_identity_regexp: str | None,
    certificate_oidc_issuer: str | None, certificate_oidc_issuer_regexp: str | None, insecure_ignore_sct: bool,
) -> int:
    """Verify the signatures of one or more images against public keys or a certificate identity.

    Signatures are looked for both as OCI 1.1 referrers (Sigstore bundles, cosign v3) and at the cosign
    tag sha256-<hex>.sig. An image passes when at least one signature passes every check. Exit status 1
    when some image has no valid signature, with a reason per signature on stderr.

    An image that cannot be answered for (missing, unreachable) is an error: alone, one error line and its exit
    status (4 not found, 5 authentication, 6 unavailable...); among several images, an ERROR line for it, the
    others still verified, then a one-line summary, and the exit status of the first such image (before 1).

    Each signature needs transparency-log evidence (a Rekor SET, and an inclusion proof where present) recorded
    by a trusted log for exactly that signature, checked offline; --tlog-online also asks the log.
    --insecure-ignore-tlog skips this. Keyless and BYO-PKI signatures verify with --certificate-identity,
    --certificate-oidc-issuer and --ca-roots (the certificate is checked at the log's integratedTime). A keyless
    certificate must carry an SCT of a trusted CT log (--insecure-ignore-sct skips this; --ca-roots, BYO PKI,
    names no CT log and so checks none).

    stdout is cosign's (-o json, the default): one JSON array of the verified payloads in cosign's simple-signing
    shape (a bundle's statement is shown in that shape too), on one line, so `... | jq '.[0].critical.image'`
    works. For one image, that line if it verified, nothing if not (as cosign); for several, one line per image
    in argument order, as cosign prints one array per image, with [] for an image that failed or had an error.
    cosign's "The following checks were performed" block goes to stderr. -o text prints each payload on its
    own line instead.

    \b
    Examples:
      supplychain verify --key cosign.pub registry.example.com/app:1.0
      supplychain verify --key cosign.pub registry.example.com/app:1.0 | jq '.[0].critical.image'
      supplychain verify --key cosign.pub -o text oci:./layout:v1
      supplychain verify --certificate-identity dev@example.com \\
          --certificate-oidc-issuer https://accounts.example.com registry.example.com/app:1.0
    """
    from supplychain.verify import VerifyRequest

    settings = build_settings(ca_file, insecure_registries, concurrency=concurrency)
    request = VerifyRequest(
        key_files, certificate_identity, certificate_identity_regexp, certificate_oidc_issuer,
        certificate_oidc_issuer_regexp, ca_roots, ca_intermediates, trusted_root, annotations, check_claims,
        check_reference, max_signatures, settings.max_signature_bytes, rekor_url, rekor_public_keys,
        _default_log_keys(), tlog_online, insecure_ignore_tlog, insecure_ignore_sct)
    return _run_verification(request, settings, references, reference_name, check_reference, output)


def _run_verification(request: VerifyRequest, settings: Settings, references: tuple[str, ...],
                      reference_name: str | None, check_reference: bool, output: str) -> int:
    """``verify`` and ``verify-attestation``: the one policy set-up and ``Verifier`` run, results rendered as they
    arrive; the exit status."""
    from supplychain.cli.hints import flag_hints
    from supplychain.registry import RegistryPool
    from supplychain.verify import TLOG_IGNORED_WARNING, Verifier, build_verify_policy

    with flag_hints(), RegistryPool(settings) as registries, Verifier(settings=settings) as verifier:
        policy = build_verify_policy(request)
        if request.insecure_ignore_tlog:
            click.echo(TLOG_IGNORED_WARNING, err=True)
        targets = _verify_targets(references, reference_name, check_reference, settings, registries)
        results = verifier.verify_images(targets, policy, max_workers=settings.concurrency)
        return _render_verified(results, policy, output, several=len(references) > 1)


def _default_log_keys() -> LogKeyring | None:
    """The embedded default log's key, trusted by default when no log URL was given (``sign``'s and
    ``sign-blob``'s default log); a command without ``--rekor-url`` (``verify-blob``) never names one."""
    from click.core import ParameterSource

    from supplychain.tlog.server.directory import default_log_keyring

    source = click.get_current_context().get_parameter_source("rekor_url")
    if source not in (None, ParameterSource.DEFAULT):
        return None
    return default_log_keyring()


def _verify_targets(references: tuple[str, ...], reference_name: str | None, check_reference: bool,
                    settings: Settings, registries: RegistryPool) -> list[VerifyTarget]:
    """One ``VerifyTarget`` per REFERENCE, all checked before any is verified; stores opened on the workers, on the
    run's shared registry clients."""
    from supplychain.reference import ImageReference, parse_image_reference, parse_reference
    from supplychain.store import open_store
    from supplychain.verify import VerifyTarget, target_repository

    expected = parse_image_reference(reference_name).name if reference_name else None
    targets = []
    for text in references:
        ref = parse_reference(text)
        own = ref.name if isinstance(ref, ImageReference) else None
        repository = target_repository(expected, own, check_reference, text)
        opener = functools.partial(open_store, ref, settings, registries=registries)
        targets.append(VerifyTarget(text, ref.identifier, opener, repository))
    return targets


def _render_verified(results: Iterable[VerificationResult], policy: VerifyPolicy, output: str, *,
                     several: bool) -> int:
    """Print each result as it arrives: its lines on stderr, its payloads on stdout (``output`` ``envelope``:
    each verified attestation's DSSE envelope, one per line); the exit status."""
    from supplychain.report.signature import (
        checks_performed_text,
        failure_reasons,
        image_line,
        json_line,
        skipped_lines,
        verified_envelope_lines,
        verified_payloads_text,
    )
    from supplychain.verify import check_descriptions

    errors: list[SupplyChainError] = []
    total, verified = 0, True
    for result in results:
        total += 1
        verified = verified and result.verified
        if result.error is not None:
            if not several:
                raise result.error  # one image: one error line, as cosign's one "Error:" (cli.main prints it)
            errors.append(result.error)
        click.echo(image_line(result), err=True)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        for line in failure_reasons(result):
            click.echo(line, err=True)
        for line in skipped_lines(result):
            click.echo(line, err=True)
        if result.verified:  # cosign's header, on stderr, before the image's payloads
            click.echo(checks_performed_text(result.reference, check_descriptions(policy)), err=True)
        if output == "envelope":
            for line in verified_envelope_lines(result):
                click.echo(line)
        elif output == "json":
            printed = json_line(result, several=several)
            if printed is not None:
                click.echo(printed)
        else:
            for line in verified_payloads_text(result):
                click.echo(line)
    if errors:
        raise UnansweredImagesError(errors, total)
    return int(ExitCode.OK if verified else ExitCode.VERIFICATION_FAILED)


class BlobVerificationError(VerificationError):
    """``verify-blob``'s "no": the bundle does not prove what was asked of it (exit 1, cosign's)."""

    default_hint = ("the bundle does not prove that the expected signer signed this artifact: check the artifact, "
                    "the bundle, the key or certificate identity, and the trusted root")


_GITHUB_FLAGS = (
    ("--certificate-github-workflow-trigger", "certificate_github_workflow_trigger", "1.3.6.1.4.1.57264.1.2",
     "Require this GitHub workflow trigger (event name) in the certificate."),
    ("--certificate-github-workflow-sha", "certificate_github_workflow_sha", "1.3.6.1.4.1.57264.1.3",
     "Require this GitHub workflow commit SHA in the certificate."),
    ("--certificate-github-workflow-name", "certificate_github_workflow_name", "1.3.6.1.4.1.57264.1.4",
     "Require this GitHub workflow name in the certificate."),
    ("--certificate-github-workflow-repository", "certificate_github_workflow_repository", "1.3.6.1.4.1.57264.1.5",
     "Require this GitHub workflow repository (owner/name) in the certificate."),
    ("--certificate-github-workflow-ref", "certificate_github_workflow_ref", "1.3.6.1.4.1.57264.1.6",
     "Require this GitHub workflow git ref in the certificate."),
)


def _github_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for flag, name, _, text in reversed(_GITHUB_FLAGS):
        func = click.option(flag, name, metavar="TEXT", help=text)(func)
    return func


def _blob_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``verify-blob`` and ``verify-blob-attestation`` share (cosign's), in their help's order."""
    for option in reversed((
        click.argument("artifact", metavar="FILE|sha256:<hex>"),
        click.option("--bundle", "bundle_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                     help="The Sigstore bundle (v0.1 to v0.3: a message signature or a DSSE envelope)."),
        click.option("--key", "-k", "key_file", help="PEM public key of a managed-key bundle; env://VAR reads it "
                     "from the variable. Or the certificate identity options, not both."),
        certificate_options,
        _github_options,
        click.option("--trusted-root", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Sigstore trusted_root.json (TrustedRoot v0.1): the logs, Fulcio CAs, CT logs and timestamp "
                     "authorities to trust (default: Sigstore's production root, embedded)."),
        click.option("--rekor-public-key", "rekor_public_keys", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="A trusted log's PEM public key, besides the trusted root's (repeatable; a local log's is "
                     "DIR/log.pub)."),
        click.option("--offline", cls=GoBoolOption, default=False,
                     help="Make no network call (this command never makes one: the trust is the embedded or given "
                     "root)."),
        click.option("--insecure-ignore-tlog", cls=GoBoolOption, default=False,
                     help="Do not require transparency-log evidence (insecure: nothing proves the signature was "
                     "public)."),
        _ignore_sct_option,
        click.option("--tlog-threshold", type=click.IntRange(1, 64), default=1, show_default=True,
                     help="Distinct trusted transparency logs that must have recorded the signature."),
        click.option("--timestamp-threshold", type=click.IntRange(1, 64), default=1, show_default=True,
                     help="Distinct trusted time sources (logs' signed times, RFC 3161 timestamp authorities) a "
                     "certificate bundle needs."),
    )):
        func = option(func)
    return func


@click.command("verify-blob", cls=GoFlagCommand,
               epilog="Boolean flags also take cosign's spelling --flag=true|false.")
@_blob_options
def verify_blob_command(artifact: str, bundle_path: Path, **options: Any) -> int:
    """Verify a file (or its digest, sha256:<hex>) against a Sigstore bundle, as cosign verify-blob does.

    The bundle's one signature (a message signature over the file, or a DSSE envelope whose in-toto statement names
    the file's digest) must verify with --key, or with the certificate it carries, which must chain to a Fulcio CA
    of the trusted root at a trusted time (the log's signed integratedTime, or RFC 3161 timestamps of trusted
    authorities), carry an SCT of a trusted CT log, and name --certificate-identity and --certificate-oidc-issuer
    (both required for certificate bundles). The transparency-log entry must record exactly this signature and
    verify offline (Rekor v1 SET and inclusion proof, or Rekor v2 checkpoint-signed inclusion proof).

    Prints "Verified OK" on stderr and exits 0; otherwise exit 1 with the reason. Never touches the network.

    \b
    Examples:
      supplychain verify-blob --key cosign.pub --bundle artifact.sigstore.json artifact.tar.gz
      supplychain verify-blob --bundle a.sigstore.json --certificate-identity dev@example.com \\
          --certificate-oidc-issuer https://accounts.google.com a.txt
      supplychain verify-blob --key cosign.pub --bundle a.sigstore.json sha256:5e6ae9de...
    """
    return _verify_blob(artifact, bundle_path, None, **options)


@click.command("verify-blob-attestation", cls=GoFlagCommand,
               epilog="Boolean flags also take cosign's spelling --flag=true|false.")
@_blob_options
@click.option("--type", "predicate_kind", default="custom", show_default=True, metavar="ALIAS|URI",
              help="The predicate type to verify: one of cosign's aliases (as attest) or a predicate type URI; an "
              "attestation of another type does not verify.")
def verify_blob_attestation_command(artifact: str, bundle_path: Path, predicate_kind: str, **options: Any) -> int:
    """Verify a file's in-toto attestation (attest-blob's bundle) of --type's predicate type, as cosign does.

    As verify-blob, and the bundle must hold a DSSE envelope (a message signature is no attestation) whose signed
    statement is of --type's predicate type (another type is a failure, never a pass: CVE-2022-35929) and names
    the file's SHA-256 as a subject. Prints "Verified OK" on stderr and exits 0; otherwise exit 1 with the reason.

    \b
    Examples:
      supplychain verify-blob-attestation --key cosign.pub --type slsaprovenance1 \\
          --bundle app.tar.gz.sigstore.json app.tar.gz
      supplychain verify-blob-attestation --type https://slsa.dev/provenance/v1 --bundle a.sigstore.json \\
          --certificate-identity-regexp '^https://github.com/org/' \\
          --certificate-oidc-issuer https://token.actions.githubusercontent.com app.tar.gz
    """
    from supplychain.formats.intoto import predicate_type_for

    return _verify_blob(artifact, bundle_path, predicate_type_for(predicate_kind), **options)


def _verify_blob(
    artifact: str, bundle_path: Path, predicate_type: str | None, *, key_file: str | None, ca_roots: Path | None,
    ca_intermediates: Path | None, certificate_identity: str | None, certificate_identity_regexp: str | None,
    certificate_oidc_issuer: str | None, certificate_oidc_issuer_regexp: str | None, trusted_root: Path | None,
    rekor_public_keys: tuple[Path, ...], offline: bool, insecure_ignore_tlog: bool, insecure_ignore_sct: bool,
    tlog_threshold: int, timestamp_threshold: int, **github: str | None,
) -> int:
    """``verify-blob`` (``predicate_type`` None: any signature about the artifact) and ``verify-blob-attestation``
    (only a DSSE statement of ``predicate_type``)."""
    from supplychain.cli.hints import flag_hints
    from supplychain.verify import TLOG_IGNORED_WARNING, Verifier, VerifyRequest, build_verify_policy
    from supplychain.verify.blob import artifact_digest, read_bundle

    del offline  # accepted for cosign's command lines: nothing here goes online
    claims = tuple((oid, value) for _, name, oid, _ in _GITHUB_FLAGS if (value := github[name]) is not None)
    request = VerifyRequest(
        (key_file,) if key_file else (), certificate_identity, certificate_identity_regexp, certificate_oidc_issuer,
        certificate_oidc_issuer_regexp, ca_roots, ca_intermediates, trusted_root, log_keys=rekor_public_keys,
        default_log_keys=None if trusted_root is not None or rekor_public_keys else _default_log_keys(),
        insecure_ignore_tlog=insecure_ignore_tlog, insecure_ignore_sct=insecure_ignore_sct,
        tlog_threshold=tlog_threshold, timestamp_threshold=timestamp_threshold, extension_values=claims,
        predicate_type=predicate_type)
    with flag_hints():
        policy = build_verify_policy(request)
        digest = artifact_digest(artifact)
        bundle = read_bundle(bundle_path)
        if insecure_ignore_tlog:
            click.echo(TLOG_IGNORED_WARNING, err=True)
        with Verifier() as verifier:
            result = verifier.verify_blob(bundle, digest, policy, reference=str(bundle_path))
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.verified:
        reasons = [reason.removeprefix(f"{bundle_path}: ") for reason in result.reasons()]
        raise BlobVerificationError(f"{artifact}: {'; '.join(reasons)}")
    click.echo("Verified OK", err=True)
    return int(ExitCode.OK)


@click.command("verify-attestation", cls=GoFlagCommand,
               epilog="Boolean flags also take cosign's spelling --flag=true|false.")
@click.argument("references", nargs=-1, required=True)
@click.option("--type", "predicate_kind", default="custom", show_default=True, metavar="ALIAS|URI",
              help="The predicate type to verify: one of cosign's aliases (custom, slsaprovenance, slsaprovenance02, "
              "slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex) or a predicate type URI. "
              "Attestations of other types do not count.")
@click.option("--key", "-k", "key_files", multiple=True,
              help="PEM public key, PKIX or PKCS#1 RSA; env://VAR reads it from the variable (repeatable: an "
              "attestation by any of them counts). Or the certificate options.")
@click.option("--check-claims/--no-check-claims", cls=GoBoolOption, default=True,
              help="Require the statement's subject digest to be the image's and its predicateType --type's "
              "(default: on).")
@click.option("--max-signatures", "--max-attestations", "max_signatures", type=click.IntRange(1, 100_000),
              default=100, show_default=True,
              help="Refuse an image with more candidate attestations than this, before reading any.")
@concurrency_option(what="Images verified at once, and reads of one image's attestations at once")
@verify_tlog_options
@certificate_options
@_ignore_sct_option
@registry_options
def verify_attestation_command(
    references: tuple[str, ...], predicate_kind: str, key_files: tuple[str, ...], check_claims: bool,
    max_signatures: int, concurrency: int | None, ca_file: Path | None, insecure_registries: tuple[str, ...],
    rekor_url: str, rekor_public_keys: tuple[Path, ...], trusted_root: Path | None, tlog_online: bool,
    insecure_ignore_tlog: bool, ca_roots: Path | None, ca_intermediates: Path | None,
    certificate_identity: str | None, certificate_identity_regexp: str | None, certificate_oidc_issuer: str | None,
    certificate_oidc_issuer_regexp: str | None, insecure_ignore_sct: bool,
) -> int:
    """Verify the in-toto attestations of one or more images against public keys or a certificate identity.

    Only attestations whose signed statement is of --type's predicate type are verified: Sigstore bundle
    referrers (cosign v3, @sigstore/oci), layers of the cosign tag sha256-<hex>.att (cosign v2), and BuildKit's
    attestation manifests in an image index (unsigned: listed, never a pass). Each needs a signature by the key
    (or certificate), transparency-log evidence (as verify) and a statement naming the image's digest. An image
    passes when at least one attestation passes every check; exit status 1 otherwise, with a reason per
    attestation on stderr (an attestation of another type is skipped, with its type).

    stdout is cosign's: each verified attestation's DSSE envelope, one JSON object per line
    ({"payloadType", "payload", "signatures"}; the payload is the base64 of the statement), so
    `... | jq -r .payload | base64 -d | jq .predicate` shows the predicate. The checks performed go to stderr.

    \b
    Examples:
      supplychain verify-attestation --key cosign.pub --type slsaprovenance1 registry.example.com/app:1.0
      supplychain verify-attestation --key cosign.pub --type cyclonedx registry.example.com/app:1.0 \\
          | jq -r .payload | base64 -d | jq .predicate
      supplychain verify-attestation --type https://slsa.dev/provenance/v1 \\
          --certificate-identity-regexp '^https://github.com/org/' \\
          --certificate-oidc-issuer https://token.actions.githubusercontent.com registry.example.com/app:1.0
    """
    from supplychain.formats.intoto import predicate_type_for
    from supplychain.verify import VerifyRequest

    settings = build_settings(ca_file, insecure_registries, concurrency=concurrency)
    request = VerifyRequest(
        key_files, certificate_identity, certificate_identity_regexp, certificate_oidc_issuer,
        certificate_oidc_issuer_regexp, ca_roots, ca_intermediates, trusted_root, (), check_claims, False,
        max_signatures, settings.max_signature_bytes, rekor_url, rekor_public_keys, _default_log_keys(), tlog_online,
        insecure_ignore_tlog, insecure_ignore_sct, predicate_type=predicate_type_for(predicate_kind))
    return _run_verification(request, settings, references, None, False, "envelope")
