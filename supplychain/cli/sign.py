"""``sign`` and ``verify``: cosign's commands, key-based, for registries and OCI layouts.

Thin adapters (STYLE.md section 1): options, one library call (``signing.sign_image``,
``verify.verify_images``), a renderer (``report.signature``). The private key's password comes from
``SUPPLYCHAIN_PASSWORD``, else ``COSIGN_PASSWORD``, else a hidden prompt (standard input stays free).

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

from supplychain.cli.options import build_settings, output_option, registry_options
from supplychain.errors import ExitCode, InvalidInputError
from supplychain.reference import ImageReference, parse_image_reference, parse_reference

if TYPE_CHECKING:
    from supplychain.keys import PrivateKey

_TAG_WARNING = (
    "WARNING: {ref} uses a tag, not a digest, to identify the image to sign. The tag was resolved once, to the\n"
    "    digest above, and that digest is what is signed; sign by digest (NAME@sha256:...) to be sure it is\n"
    "    the image you mean."
)


class OutputFileError(InvalidInputError):
    """A ``--output-*`` file could not be written."""

    default_hint = "check the path and its directory's permissions"


@click.command("sign", epilog="The key's password comes from SUPPLYCHAIN_PASSWORD, else COSIGN_PASSWORD, else a "
               "hidden prompt; it may be empty.")
@click.argument("reference")
@click.option("--key", "-k", "key_file", required=True, help="Private key: a cosign key file or a PEM private key.")
@click.option("-a", "--annotations", "annotations", multiple=True, metavar="KEY=VALUE",
              help="Signed annotation (repeatable): in `optional` (legacy) or the statement subject (bundle).")
@click.option("--recursive", "-r", is_flag=True, help="For an index, also sign every manifest it lists.")
@click.option("--format", "signature_format", type=click.Choice(["legacy", "bundle"]), default="legacy",
              show_default=True,
              help="legacy: a layer of the sha256-<hex>.sig manifest (cosign v2); bundle: a Sigstore bundle "
              "v0.3 as an OCI 1.1 referrer (cosign v3).")
@click.option("--upload/--no-upload", default=True, show_default=True,
              help="Store the signature (--no-upload writes nothing to the registry or layout).")
@click.option("--output-signature", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the signature here: base64 (legacy) or the bundle JSON (bundle).")
@click.option("--output-payload", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the signed document here: the simple-signing payload or the in-toto statement.")
@click.option("--reference-name", "--sign-container-identity", "reference_name", metavar="REGISTRY/REPOSITORY",
              help="The docker-reference to sign (default: the image's registry/repository). Required for oci:.")
@registry_options
def sign_command(
    reference: str, key_file: str, annotations: tuple[str, ...], recursive: bool, signature_format: str,
    upload: bool, output_signature: Path | None, output_payload: Path | None, reference_name: str | None,
    ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> None:
    """Sign an image by digest, as cosign does, and store the signature next to it.

    REFERENCE is registry/name[:tag][@digest] or oci:PATH[:tag|@digest]. A tag is resolved to its digest once.
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
    claims = parse_annotations(annotations)
    ref = parse_reference(reference)
    if reference_name is not None:
        identity = check_reference_name(reference_name)
    elif isinstance(ref, ImageReference):
        identity = cosign_reference_name(ref)
    else:
        from supplychain.signing import ReferenceNameError

        raise ReferenceNameError(f"{ref.name} is an OCI layout: the signature needs a repository name to sign")
    private_key = _load_private_key(key_file)  # before touching the store: a wrong password writes nothing
    store = open_store(ref, build_settings(ca_file, insecure_registries))
    try:
        subject = store.resolve(ref.identifier)
        if ref.digest is None:
            click.echo(f"signing {subject.digest} (resolved from tag {ref.tag})", err=True)
            click.echo(_TAG_WARNING.format(ref=ref), err=True)
        else:
            click.echo(f"signing {subject.digest}", err=True)
        result = sign_image(store, subject, private_key, docker_reference=identity, annotations=claims,
                            signature_format=SignatureFormat(signature_format), recursive=recursive,
                            upload=upload)
        for line in signed_lines(result, store.name):
            click.echo(line, err=True)
    finally:
        _close(store)
    first = result.images[0]
    signature_text = (first.bundle if first.bundle is not None
                      else (encode_signature(first.signature) + "\n").encode("ascii"))
    if output_signature is not None:
        _write_file(output_signature, signature_text)
    if output_payload is not None:
        _write_file(output_payload, first.payload)
    if not upload and output_signature is None:
        click.echo(signature_text.decode("utf-8").rstrip("\n"))


@click.command("verify")
@click.argument("references", nargs=-1, required=True)
@click.option("--key", "-k", "key_files", multiple=True, required=True,
              help="PEM public key (repeatable: a signature by any of them counts).")
@click.option("-a", "--annotations", "annotations", multiple=True, metavar="KEY=VALUE",
              help="Require this signed annotation (repeatable).")
@click.option("--check-claims/--no-check-claims", default=True, show_default=True,
              help="Require the signed digest to be the image's (turning it off accepts replayed signatures).")
@click.option("--check-reference", is_flag=True,
              help="Require the signed docker-reference to name the repository being verified.")
@click.option("--reference-name", metavar="REGISTRY/REPOSITORY",
              help="The repository --check-reference expects (default: the image's; required for oci:).")
@click.option("--max-signatures", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Refuse an image with more candidate signatures than this, before reading any.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Images verified at once.")
@output_option
@registry_options
def verify_command(
    references: tuple[str, ...], key_files: tuple[str, ...], annotations: tuple[str, ...], check_claims: bool,
    check_reference: bool, reference_name: str | None, max_signatures: int, concurrency: int, output: str,
    ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> int:
    """Verify the signatures of one or more images against public keys.

    Signatures are looked for both as OCI 1.1 referrers (Sigstore bundles, cosign v3) and at the cosign
    tag sha256-<hex>.sig. An image passes when at least one signature passes every check. Exit status 1
    when some image has no valid signature, with a reason per signature on stderr.

    With -o json, stdout has one line per verified image: the JSON list of its verified payloads in cosign's
    simple-signing shape (a bundle's statement is shown in that shape too). No transparency-log check is made.
    """
    from supplychain import keys
    from supplychain.report.signature import (
        checks_performed_text,
        failure_reasons,
        image_line,
        verified_payloads_json,
        verified_payloads_text,
    )
    from supplychain.signing import parse_annotations
    from supplychain.store import open_store
    from supplychain.verify import Limits, VerifyPolicy, VerifyTarget, check_descriptions, verify_images

    settings = build_settings(ca_file, insecure_registries)
    public_keys = tuple(keys.load_public_key_pem(keys.read_key_file(path)) for path in key_files)
    policy = VerifyPolicy(
        public_keys, parse_annotations(annotations), check_claims, check_reference,
        Limits(max_signatures=max_signatures, max_attachment_bytes=settings.max_attachment_bytes),
    )
    expected = parse_image_reference(reference_name).name if reference_name else None
    targets = []
    for text in references:
        ref = parse_reference(text)
        repository = expected or (ref.name if isinstance(ref, ImageReference) else None)
        if check_reference and repository is None:
            raise click.UsageError(f"--check-reference on {text} needs --reference-name REGISTRY/REPOSITORY")
        targets.append(VerifyTarget(text, ref.identifier, functools.partial(open_store, ref, settings), repository))
    results = verify_images(targets, policy, max_workers=concurrency)
    for result in results:
        click.echo(image_line(result), err=True)
        for line in failure_reasons(result):
            click.echo(line, err=True)
        if not result.verified:
            continue
        if output == "json":
            click.echo(verified_payloads_json(result))
        else:
            click.echo(checks_performed_text(result.reference, check_descriptions(policy)), err=True)
            for line in verified_payloads_text(result):
                click.echo(line)
    errors = [r.error for r in results if r.error is not None]
    if errors:
        raise errors[0]
    return int(ExitCode.OK if all(r.verified for r in results) else ExitCode.VERIFICATION_FAILED)


def _load_private_key(path: str) -> PrivateKey:
    from supplychain import keys
    from supplychain.cli.password import read_password

    data = keys.read_key_file(path)
    if keys.is_encrypted_private_key(data):
        return keys.decrypt_private_key(data, read_password(confirm=False, password_stdin=False))
    return keys.load_private_key_pem(data)


def _write_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically (temp file in the same directory, then rename)."""
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
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()
