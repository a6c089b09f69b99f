"""``sign`` and ``verify``: cosign's commands, key-based, for registries and OCI layouts.

Thin adapters (STYLE.md section 1): options, one library call (``signing.sign_image``,
``verify.verify_images``), a renderer (``report.signature``). The private key's password comes from
``SUPPLYCHAIN_PASSWORD``, else ``COSIGN_PASSWORD``, else a hidden prompt (standard input stays free).

Transparency log (cosign's ``--tlog-upload``): ``sign`` records each signature in the Rekor log named by
``--rekor-url``/``--tlog-url`` or ``SUPPLYCHAIN_REKOR_URL`` *before* storing it, and stores the log's evidence
with it. With no log configured nothing is logged (one note on stderr says so; uploading signatures to the public
instance is never implicit). ``verify`` requires that evidence by default and checks it offline against trusted
log keys (Sigstore's production trusted root unless ``--rekor-public-key``/``--trusted-root`` name others);
``--tlog-online`` asks the log too; ``--insecure-ignore-tlog`` skips it, with cosign's warning.

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
from typing import TYPE_CHECKING

import click

from supplychain.cli.boolflag import GoBoolOption, GoFlagCommand
from supplychain.cli.options import (
    PUBLIC_GOOD_URL,
    build_settings,
    certificate_options,
    output_option,
    registry_options,
    sign_tlog_options,
    verify_tlog_options,
)
from supplychain.errors import ExitCode, InvalidInputError, SupplyChainError
from supplychain.reference import ImageReference, parse_image_reference, parse_reference

if TYPE_CHECKING:
    from supplychain.config import Settings
    from supplychain.keys import PrivateKey
    from supplychain.tlog.client import RekorClient
    from supplychain.tlog.trust import LogKeyring, TrustedRoot
    from supplychain.verify import CertificatePolicy

_TAG_WARNING = (
    "WARNING: {ref} uses a tag, not a digest, to identify the image to sign. The tag was resolved once, to the\n"
    "    digest above, and that digest is what is signed; sign by digest (NAME@sha256:...) to be sure it is\n"
    "    the image you mean."
)


class OutputFileError(InvalidInputError):
    """A ``--output-*`` file could not be written."""

    default_hint = "check the path and its directory's permissions"


class UnansweredImagesError(SupplyChainError):
    """``verify`` of several images, some of which could not be answered for (missing, unreachable): each has had
    its ``ERROR`` line; this is the one-line summary, with the exit status of the first of them."""

    def __init__(self, errors: list[SupplyChainError], total: int) -> None:
        first = errors[0]
        same = all(e.exit_code == first.exit_code for e in errors)
        super().__init__(f"{len(errors)} of {total} images could not be verified (see the ERROR lines above)",
                         hint=first.hint if same else "")
        self.exit_code = first.exit_code


@click.command("sign", cls=GoFlagCommand,
               epilog="The key's password comes from SUPPLYCHAIN_PASSWORD, else COSIGN_PASSWORD, else a hidden "
               "prompt; it may be empty. Boolean flags also take cosign's spelling --flag=true|false.")
@click.argument("reference")
@click.option("--key", "-k", "key_file", required=True, help="Private key: a cosign key file or a PEM private key.")
@click.option("-a", "--annotations", "annotations", multiple=True, metavar="KEY=VALUE",
              help="Signed annotation (repeatable): in `optional` (legacy) or the statement subject (bundle).")
@click.option("--recursive", "-r", is_flag=True, help="For an index, also sign every manifest it lists.")
@click.option("--format", "signature_format", type=click.Choice(["legacy", "bundle"]), default="legacy",
              show_default=True,
              help="legacy: a layer of the sha256-<hex>.sig manifest (cosign v2); bundle: a Sigstore bundle "
              "v0.3 as an OCI 1.1 referrer (cosign v3).")
@click.option("--upload/--no-upload", cls=GoBoolOption, show_negative=True, default=True,
              help="Store the signature (default: on; --no-upload or --upload=false writes nothing to the registry "
              "or layout; a configured transparency log still records it).")
@click.option("--output-signature", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the signature here: base64 (legacy) or the bundle JSON (bundle).")
@click.option("--output-payload", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the signed document here: the simple-signing payload or the in-toto statement.")
@click.option("--reference-name", "--sign-container-identity", "reference_name", metavar="REGISTRY/REPOSITORY",
              help="The docker-reference to sign (default: the image's registry/repository). Required for oci:.")
@click.option("-y", "--yes", "yes", cls=GoBoolOption, default=False,
              help="Accepted for cosign compatibility (skip confirmation prompts); sign never prompts, so it has "
              "no effect.")
@sign_tlog_options
@registry_options
def sign_command(
    reference: str, key_file: str, annotations: tuple[str, ...], recursive: bool, signature_format: str,
    upload: bool, output_signature: Path | None, output_payload: Path | None, reference_name: str | None,
    ca_file: Path | None, insecure_registries: tuple[str, ...], tlog_upload: bool | None, rekor_url: str | None,
    rekor_public_key: Path | None, trusted_root: Path | None, yes: bool,
) -> None:
    """Sign an image by digest, as cosign does, and store the signature next to it.

    REFERENCE is registry/name[:tag][@digest] or oci:PATH[:tag|@digest]. A tag is resolved to its digest once.
    With a transparency log configured (--rekor-url), the signature is logged first: a hashedrekord entry whose
    Rekor bundle goes into the dev.sigstore.cosign/bundle annotation (legacy), or a dsse entry in the bundle's
    tlogEntries (bundle). The log's answers are checked with --rekor-public-key or --trusted-root; a log on this
    machine (a loopback URL) given neither is trusted on first use: its own /api/v1/log/publicKey is fetched.
    """
    from supplychain.report.signature import signed_lines
    from supplychain.signing import (
        SignatureFormat,
        check_reference_name,
        cosign_reference_name,
        parse_annotations,
        sign_image,
    )
    from supplychain.signing.legacy import encode_signature
    from supplychain.store import open_store

    if recursive and (output_signature or output_payload):
        raise click.UsageError("--output-signature/--output-payload name one file each: not with --recursive")
    outputs = {"--output-signature": output_signature, "--output-payload": output_payload}
    _check_output_paths({option: path for option, path in outputs.items() if path is not None})
    claims = parse_annotations(annotations)
    ref = parse_reference(reference)
    if reference_name is not None:
        identity = check_reference_name(reference_name)
    elif isinstance(ref, ImageReference):
        identity = cosign_reference_name(ref)
    else:
        from supplychain.signing import ReferenceNameError

        raise ReferenceNameError(f"{ref.name} is an OCI layout: the signature needs a repository name to sign")
    if tlog_upload and rekor_url is None:
        raise click.UsageError(f"--tlog-upload needs a log: pass --rekor-url URL (e.g. {PUBLIC_GOOD_URL}) or set "
                               "SUPPLYCHAIN_REKOR_URL")
    if tlog_upload is None and rekor_url is None:
        click.echo("note: no transparency log configured (--rekor-url or SUPPLYCHAIN_REKOR_URL): the signature is "
                   "not logged, and verifying it will need --insecure-ignore-tlog", err=True)
    private_key = _load_private_key(key_file)  # before touching the store: a wrong password writes nothing
    settings = build_settings(ca_file, insecure_registries)
    log = None
    if rekor_url is not None and tlog_upload is not False:
        from supplychain.signing.transparency import check_loggable, open_signing_log

        check_loggable(private_key, legacy=signature_format == SignatureFormat.LEGACY.value)
        log = open_signing_log(rekor_url, settings, public_key=rekor_public_key, trusted_root=trusted_root)
    store = None
    try:
        store = open_store(ref, settings)
        subject = store.resolve(ref.identifier)
        if ref.digest is None:
            click.echo(f"signing {subject.digest} (resolved from tag {ref.tag})", err=True)
            click.echo(_TAG_WARNING.format(ref=ref), err=True)
        else:
            click.echo(f"signing {subject.digest}", err=True)
        result = sign_image(store, subject, private_key, docker_reference=identity, annotations=claims,
                            signature_format=SignatureFormat(signature_format), recursive=recursive,
                            upload=upload, log=log)
        for line in signed_lines(result, store.name):
            click.echo(line, err=True)
    finally:
        _close(store)
        _close(log)
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


@click.command("verify", cls=GoFlagCommand,
               epilog="Boolean flags also take cosign's spelling --flag=true|false.")
@click.argument("references", nargs=-1, required=True)
@click.option("--key", "-k", "key_files", multiple=True,
              help="PEM public key (repeatable: a signature by any of them counts). Or the certificate options.")
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
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Images verified at once.")
@verify_tlog_options
@certificate_options
@output_option
@registry_options
def verify_command(
    references: tuple[str, ...], key_files: tuple[str, ...], annotations: tuple[str, ...], check_claims: bool,
    check_reference: bool, reference_name: str | None, max_signatures: int, concurrency: int, output: str,
    ca_file: Path | None, insecure_registries: tuple[str, ...], rekor_url: str, rekor_public_keys: tuple[Path, ...],
    trusted_root: Path | None, tlog_online: bool, insecure_ignore_tlog: bool, ca_roots: Path | None,
    ca_intermediates: Path | None, certificate_identity: str | None, certificate_identity_regexp: str | None,
    certificate_oidc_issuer: str | None, certificate_oidc_issuer_regexp: str | None,
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
    --certificate-oidc-issuer and --ca-roots (the certificate is checked at the log's integratedTime).

    With -o json, stdout has the JSON list of the verified payloads in cosign's simple-signing shape (a bundle's
    statement is shown in that shape too): for one image, one line if it verified, as cosign prints; for
    several, exactly one line per image in argument order, [] for an image that failed or had an error.
    """
    from supplychain import keys
    from supplychain.report.signature import (
        checks_performed_text,
        failure_reasons,
        image_line,
        json_line,
        verified_payloads_text,
    )
    from supplychain.signing import parse_annotations
    from supplychain.store import open_store
    from supplychain.verify import (
        TLOG_IGNORED_WARNING,
        Limits,
        TlogPolicy,
        VerifyPolicy,
        VerifyTarget,
        check_descriptions,
        verify_images,
    )

    identity_given = any((certificate_identity, certificate_identity_regexp, certificate_oidc_issuer,
                          certificate_oidc_issuer_regexp, ca_roots, ca_intermediates))
    if key_files and identity_given:
        raise click.UsageError("give --key or the certificate options (--certificate-identity...), not both")
    if not key_files and not identity_given:
        raise click.UsageError("give --key PUB, or --certificate-identity with --certificate-oidc-issuer")
    if insecure_ignore_tlog and tlog_online:
        raise click.UsageError("--tlog-online and --insecure-ignore-tlog contradict each other")
    settings = build_settings(ca_file, insecure_registries)
    public_keys = tuple(keys.load_public_key_pem(keys.read_key_file(path)) for path in key_files)
    root = _read_trusted_root(trusted_root)
    certificate = None if key_files else _certificate_policy(
        ca_roots, ca_intermediates, root, certificate_identity, certificate_identity_regexp,
        certificate_oidc_issuer, certificate_oidc_issuer_regexp)
    keyring = None if insecure_ignore_tlog else _verify_keyring(rekor_url, rekor_public_keys, root)
    online = _online_log(rekor_url, keyring, settings) if keyring is not None and tlog_online else None
    policy = VerifyPolicy(
        public_keys, parse_annotations(annotations), check_claims, check_reference,
        Limits(max_signatures=max_signatures, max_attachment_bytes=settings.max_attachment_bytes),
        certificate=certificate, tlog=TlogPolicy(keyring, online), insecure_ignore_tlog=insecure_ignore_tlog,
    )
    if insecure_ignore_tlog:
        click.echo(TLOG_IGNORED_WARNING, err=True)
    expected = parse_image_reference(reference_name).name if reference_name else None
    targets = []
    for text in references:
        ref = parse_reference(text)
        repository = expected or (ref.name if isinstance(ref, ImageReference) else None)
        if check_reference and repository is None:
            raise click.UsageError(f"--check-reference on {text} needs --reference-name REGISTRY/REPOSITORY")
        targets.append(VerifyTarget(text, ref.identifier, functools.partial(open_store, ref, settings), repository))
    try:
        results = verify_images(targets, policy, max_workers=concurrency)
    finally:
        _close(online)
    several = len(results) > 1
    for result in results:
        if result.error is not None and not several:
            raise result.error  # one image: one error line, as cosign's one "Error:" (cli.main prints it)
        click.echo(image_line(result), err=True)
        for line in failure_reasons(result):
            click.echo(line, err=True)
        if output == "json":
            printed = json_line(result, several=several)
            if printed is not None:
                click.echo(printed)
        elif result.verified:
            click.echo(checks_performed_text(result.reference, check_descriptions(policy)), err=True)
            for line in verified_payloads_text(result):
                click.echo(line)
    errors = [r.error for r in results if r.error is not None]
    if errors:
        raise UnansweredImagesError(errors, len(results))
    return int(ExitCode.OK if all(r.verified for r in results) else ExitCode.VERIFICATION_FAILED)


def _read_trusted_root(path: Path | None) -> TrustedRoot | None:
    """``--trusted-root``, read once: its logs go to the keyring, its certificate authorities to the policy."""
    from supplychain.tlog.trust import TrustedRoot

    return None if path is None else TrustedRoot.read(path)


def _verify_keyring(url: str, public_keys: tuple[Path, ...], trusted_root: TrustedRoot | None) -> LogKeyring | None:
    """The log keys ``verify`` trusts: ``--rekor-public-key`` files and ``--trusted-root``'s logs, else Sigstore's
    production trusted root (read offline; a log at another URL must have its key named)."""
    from supplychain.tlog.trust import LogKeyring, read_public_key, select_keyring

    if not public_keys and trusted_root is None:
        return select_keyring(url, None, None)  # Sigstore's production root; a log at another URL needs its key
    keyring = LogKeyring(())
    for path in public_keys:
        keyring = keyring.merged(read_public_key(path, url))
    if trusted_root is not None:
        keyring = keyring.merged(trusted_root.tlog_keyring())
    return keyring


def _online_log(url: str, keyring: LogKeyring, settings: Settings) -> RekorClient:
    """The client ``--tlog-online`` confirms entries with: the keys of the log at ``url`` check its checkpoints."""
    from supplychain.tlog.client import RekorClient

    narrowed = keyring.for_url(url)
    return RekorClient.open(url, narrowed if len(narrowed) else keyring, settings)


def _certificate_policy(
    ca_roots: Path | None, ca_intermediates: Path | None, trusted_root: TrustedRoot | None, identity: str | None,
    identity_regexp: str | None, issuer: str | None, issuer_regexp: str | None,
) -> CertificatePolicy:
    from supplychain.verify import CertificatePolicy, load_certificates

    if identity is None and identity_regexp is None:
        raise click.UsageError("certificate-based verification needs --certificate-identity or "
                               "--certificate-identity-regexp")
    if ca_roots is None and issuer is None and issuer_regexp is None:
        raise click.UsageError("keyless verification needs --certificate-oidc-issuer or "
                               "--certificate-oidc-issuer-regexp (only --ca-roots, BYO PKI, may omit it)")
    intermediates = load_certificates(ca_intermediates, "--ca-intermediates") if ca_intermediates else ()
    if ca_roots is not None:
        roots = load_certificates(ca_roots, "--ca-roots")
        return CertificatePolicy(roots, intermediates, identity, identity_regexp, issuer, issuer_regexp)
    if trusted_root is None:
        raise click.UsageError("certificate-based verification needs --ca-roots FILE, or --trusted-root FILE whose "
                               "certificate authorities to trust (e.g. Sigstore's trusted_root.json for Fulcio)")
    return CertificatePolicy((), intermediates, identity, identity_regexp, issuer, issuer_regexp,
                             authorities=trusted_root.certificate_authorities)


def _load_private_key(path: str) -> PrivateKey:
    from supplychain import keys
    from supplychain.cli.password import read_password

    data = keys.read_key_file(path)
    if keys.is_encrypted_private_key(data):
        password = read_password(confirm=False, password_stdin=False, offers_password_stdin=False)
        return keys.decrypt_private_key(data, password)
    return keys.load_private_key_pem(data)


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
    """Write ``content`` to ``path`` atomically (temp file in the same directory, then rename); ``done`` says in
    the error what already happened (the paths were checked before signing, so this is a late failure)."""
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc} ({done})") from exc


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()
