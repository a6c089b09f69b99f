"""``attach signature``, ``download signature``, ``triangulate`` and ``clean``: cosign's commands around signing.

Thin adapters (STYLE.md section 1): options, the library call (``signing.attach``, ``attachments``), a renderer
(``report.attachment``). REFERENCE is registry/name[:tag][@digest] or oci:PATH[:tag|@digest]; a tag is resolved
to its digest once, here, and stderr says so.

``clean`` asks for confirmation on a terminal, as cosign does; without a terminal (CI, a pipe) it needs
``--force`` and says so in one line rather than waiting on a prompt nobody can answer. A declined prompt deletes
nothing and exits 0, as cosign does. Nothing to clean is exit 0 with a note (clean is idempotent, like cosign's,
which ignores missing tags).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from supplychain.cli.group import Group
from supplychain.cli.options import build_settings, echo_lines, parse_platform, registry_options
from supplychain.errors import ExitCode, SupplyChainError

if TYPE_CHECKING:
    from supplychain.attachments.clean import CleanPlan
    from supplychain.oci.model import Descriptor, Platform
    from supplychain.oci.store import ArtifactStore
    from supplychain.reference import AnyReference


# triangulate --type values that are a cosign tag, computed from the digest (values of oci.attachment's
# AttachmentKind, repeated so that this module imports nothing for --help).
_TAG_KINDS = frozenset({"signature", "attestation", "sbom"})
# The SBOM and artifact files attach reads (signing.attach.read_input_file's own hint is about payloads).
_FILE_HINT = "check the path; an SBOM or artifact file to attach is read whole, at most {limit} (README, Limits)"


class ConfirmationRequiredError(SupplyChainError):
    """``clean`` without ``--force`` where no one can answer the prompt."""

    exit_code = ExitCode.USAGE
    default_hint = "pass --force to delete without asking (CI, scripts), or run clean in a terminal"


@click.group("attach", cls=Group)
def attach_group() -> None:
    """Attach artifacts made elsewhere to an image (cosign attach).

    \b
    Examples:
      supplychain attach signature --payload payload.json --signature payload.sig registry.example.com/app@sha256:<hex>
    """


@attach_group.command("signature")
@click.argument("reference")
@click.option("--payload", "payload_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The signed cosign simple-signing payload, its exact bytes (at most 1 MiB).")
@click.option("--signature", "signature_file", required=True, metavar="FILE|-",
              help="The signature: base64 (as cosign sign --output-signature writes) or raw DER; - reads stdin "
              "(at most 64 KiB).")
@click.option("--certificate", "certificate_file", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM leaf certificate of the signing key (stored as dev.sigstore.cosign/certificate).")
@click.option("--certificate-chain", "chain_file", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM chain of --certificate up to the root (stored as dev.sigstore.cosign/chain).")
@registry_options
def attach_signature_command(
    reference: str, payload_file: Path, signature_file: str, certificate_file: Path | None, chain_file: Path | None,
    ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> None:
    """Attach a signature made elsewhere to an image, as a layer of its cosign .sig manifest.

    The payload must name the image's digest (a payload of another image is refused: it would be a replayed
    signature). The signature is not checked here: run `supplychain verify --key` afterwards.

    \b
    Examples:
      supplychain attach signature --payload payload.json --signature payload.sig registry.example.com/app@sha256:<hex>
      supplychain attach signature --payload payload.json --signature - \\
          --certificate leaf.pem --certificate-chain chain.pem oci:./layout:v1 < sig.b64
    """
    from supplychain.attachments.triangulate import repository_name
    from supplychain.reference import parse_reference
    from supplychain.report.attachment import attached_line
    from supplychain.signing import attach
    from supplychain.store import open_store

    payload = attach.read_input_file(payload_file, limit=attach.MAX_PAYLOAD_BYTES, what="payload")
    if signature_file == "-":
        raw = attach.check_input(sys.stdin.buffer.read(attach.MAX_SIGNATURE_BYTES + 1),
                                 limit=attach.MAX_SIGNATURE_BYTES, what="the signature on standard input")
        signature = attach.decode_signature_file(raw, what="the signature on standard input")
    else:
        raw = attach.read_input_file(signature_file, limit=attach.MAX_SIGNATURE_BYTES, what="signature")
        signature = attach.decode_signature_file(raw, what=f"signature file {signature_file}")
    certificate = (attach.read_input_file(certificate_file, limit=attach.MAX_CERTIFICATE_BYTES, what="certificate")
                   if certificate_file is not None else None)
    chain = (attach.read_input_file(chain_file, limit=attach.MAX_CHAIN_BYTES, what="certificate chain")
             if chain_file is not None else None)
    ref = parse_reference(reference)
    with open_store(ref, build_settings(ca_file, insecure_registries)) as store:
        subject = _resolve(store, ref, "attaching a signature to")
        result = attach.attach_signature(store, subject, payload, signature, certificate=certificate, chain=chain)
    click.echo(attached_line(result, repository_name(ref)), err=True)


@click.group("download", cls=Group)
def download_group() -> None:
    """Download what is attached to an image (cosign download).

    \b
    Examples:
      supplychain download signature registry.example.com/app:1.0
    """


@download_group.command("signature")
@click.argument("reference")
@click.option("--max-signatures", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Refuse an image with more signatures than this, before reading any (cosign's limit is 100).")
@registry_options
def download_signature_command(
    reference: str, max_signatures: int, ca_file: Path | None, insecure_registries: tuple[str, ...]
) -> None:
    """Print every signature of an image, one JSON object per line, as cosign prints them.

    Sigstore bundle referrers (cosign v3) come first, printed as the bundle document; then each layer of the
    legacy .sig manifest as cosign's {"Base64Signature", "Payload", "Cert", "Chain", "Bundle",
    "RFC3161Timestamp"} object (Payload is the base64 of the signed payload). Exit status 4 when the image has
    no signature.

    \b
    Examples:
      supplychain download signature registry.example.com/app:1.0
      supplychain download signature registry.example.com/app:1.0 | jq -r .Base64Signature
    """
    from supplychain.attachments.download import download_signatures
    from supplychain.reference import parse_reference
    from supplychain.report.attachment import download_lines, problem_lines
    from supplychain.store import open_store

    settings = build_settings(ca_file, insecure_registries)
    ref = parse_reference(reference)
    with open_store(ref, settings) as store:
        subject = _resolve(store, ref, None)
        result = download_signatures(store, subject.digest, max_signatures=max_signatures,
                                     max_signature_bytes=settings.max_signature_bytes)
    echo_lines(problem_lines(result))
    for line in download_lines(result):
        click.echo(line)


@download_group.command("attestation")
@click.argument("reference")
@click.option("--predicate-type", "predicate_kind", metavar="ALIAS|URI",
              help="Only attestations of this predicate type: one of cosign's --type aliases (slsaprovenance1, "
              "cyclonedx, ...) or a URI.")
@click.option("--max-attestations", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Refuse an image with more attestations than this, before reading any.")
@registry_options
def download_attestation_command(
    reference: str, predicate_kind: str | None, max_attestations: int, ca_file: Path | None,
    insecure_registries: tuple[str, ...],
) -> None:
    """Print every attestation of an image, one DSSE envelope JSON object per line, as cosign prints them.

    {"payloadType", "payload", "signatures"} (the payload is the base64 of the in-toto statement) of each
    attestation bundle referrer (cosign v3, @sigstore/oci), each layer of the legacy .att manifest (cosign v2), and,
    for an image index, each in-toto statement of BuildKit's attestation manifests in it: those are unsigned, so
    their "signatures" is [] (nothing vouches for them; verify-attestation says so). Nothing here is verified.
    Exit status 4 when the image has no attestation (of --predicate-type).

    \b
    Examples:
      supplychain download attestation registry.example.com/app:1.0
      supplychain download attestation --predicate-type slsaprovenance1 registry.example.com/app:1.0 \\
          | jq -r .payload | base64 -d | jq .predicate
    """
    from supplychain.attachments.download import download_attestations
    from supplychain.formats.intoto import predicate_type_for
    from supplychain.reference import parse_reference
    from supplychain.report.attachment import attestation_lines, problem_lines
    from supplychain.store import open_store

    settings = build_settings(ca_file, insecure_registries)
    ref = parse_reference(reference)
    with open_store(ref, settings) as store:
        subject = _resolve(store, ref, None)
        index = store.get_manifest(subject) if subject.is_index else None
        wanted = None if predicate_kind is None else predicate_type_for(predicate_kind)
        result = download_attestations(store, subject.digest, predicate_type=wanted, index=index,
                                       max_attestations=max_attestations, max_bytes=settings.max_signature_bytes)
    echo_lines(problem_lines(result))
    for line in attestation_lines(result):
        click.echo(line)


@attach_group.command("sbom")
@click.argument("reference")
@click.option("--sbom", "sbom_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The SBOM: CycloneDX JSON or SPDX JSON, validated before anything is written.")
@click.option("--type", "sbom_type", type=click.Choice(["cyclonedx", "spdx"]),
              help="What the SBOM must be (default: what its content says).")
@click.option("--legacy", is_flag=True,
              help="Store it as cosign attach sbom does, as a layer of the sha256-<hex>.sbom tag, instead of an "
              "OCI 1.1 referrer.")
@registry_options
def attach_sbom_command(
    reference: str, sbom_file: Path, sbom_type: str | None, legacy: bool, ca_file: Path | None,
    insecure_registries: tuple[str, ...],
) -> None:
    """Attach an SBOM to an image, as an OCI 1.1 referrer (or cosign's .sbom tag with --legacy).

    The referrer's artifactType is application/vnd.cyclonedx+json or application/spdx+json, found through the
    registry's referrers API or, where it has none, the referrers tag sha256-<hex> (oras discover reads both).
    A file that is not a valid CycloneDX or SPDX JSON document is refused with the validator's message (exit
    status 3), and nothing is written. The SBOM is not signed: `supplychain attest --type cyclonedx|spdxjson
    --predicate FILE` signs it.

    \b
    Examples:
      supplychain attach sbom --sbom app.cdx.json registry.example.com/app:1.0
      supplychain attach sbom --sbom app.spdx.json --type spdx --legacy oci:./layout@sha256:<hex>
    """
    from supplychain.attachments.artifact import attach_sbom, check_sbom
    from supplychain.attachments.triangulate import repository_name
    from supplychain.clock import utc_now
    from supplychain.limits import MAX_ATTACHMENT_BYTES
    from supplychain.reference import parse_reference
    from supplychain.report.attachment import artifact_attached_line
    from supplychain.signing.attach import read_input_file
    from supplychain.store import open_store

    ref = parse_reference(reference)
    # Checked before the registry is contacted: a bad file costs no request.
    sbom = check_sbom(read_input_file(sbom_file, limit=MAX_ATTACHMENT_BYTES, what="SBOM", hint=_FILE_HINT), sbom_type,
                      name=sbom_file.name)
    with open_store(ref, build_settings(ca_file, insecure_registries)) as store:
        subject = _resolve(store, ref, "attaching an SBOM to")
        result = attach_sbom(store, subject, sbom, created=utc_now(), legacy=legacy)
    click.echo(artifact_attached_line(result, repository_name(ref)), err=True)


@attach_group.command("artifact")
@click.argument("reference")
@click.argument("files", nargs=-1, required=True, metavar="FILE[:MEDIATYPE]...")
@click.option("--artifact-type", required=True, help="The referrer's artifactType (a media type).")
@click.option("--annotation", "-a", "annotations", multiple=True, metavar="KEY=VALUE",
              help="An annotation of the referrer manifest (repeatable).")
@registry_options
def attach_artifact_command(
    reference: str, files: tuple[str, ...], artifact_type: str, annotations: tuple[str, ...],
    ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> None:
    """Attach files to an image as one OCI 1.1 referrer of --artifact-type, as oras attach does.

    Each FILE is a layer titled with its base name (org.opencontainers.image.title), of MEDIATYPE when given
    (default application/octet-stream), read at most 128 MiB each. `oras discover` and `oras pull` read it.

    \b
    Examples:
      supplychain attach artifact --artifact-type application/vnd.example.report+json \\
          registry.example.com/app:1.0 report.json:application/json
    """
    from supplychain.attachments.artifact import ArtifactFile, attach_artifact
    from supplychain.attachments.triangulate import repository_name
    from supplychain.clock import utc_now
    from supplychain.limits import MAX_ATTACHMENT_BYTES
    from supplychain.reference import parse_reference
    from supplychain.report.attachment import artifact_attached_line
    from supplychain.signing import parse_annotations
    from supplychain.signing.attach import read_input_file
    from supplychain.store import open_store

    extra = parse_annotations(annotations)
    parsed = []
    for spec in files:
        path, media_type = _file_spec(spec)
        content = read_input_file(path, limit=MAX_ATTACHMENT_BYTES, what="artifact", hint=_FILE_HINT)
        parsed.append(ArtifactFile(Path(path).name, content, media_type))
    ref = parse_reference(reference)
    with open_store(ref, build_settings(ca_file, insecure_registries)) as store:
        subject = _resolve(store, ref, "attaching an artifact to")
        result = attach_artifact(store, subject, artifact_type, parsed, created=utc_now(), annotations=extra)
    click.echo(artifact_attached_line(result, repository_name(ref)), err=True)


def _file_spec(spec: str) -> tuple[str, str]:
    """``FILE[:mediaType]`` as oras spells it: the part after the last ``:`` is a media type when it has a ``/``
    (so ``C:/x`` or ``a:b`` stays a path) and the whole is no existing file."""
    path, colon, media_type = spec.rpartition(":")
    if colon and "/" in media_type and path and not Path(spec).exists():
        return path, media_type
    return spec, "application/octet-stream"


@download_group.command("sbom")
@click.argument("reference")
@click.option("--platform", callback=parse_platform, metavar="OS/ARCH[/VARIANT]",
              help="For an image index, the SBOMs of this platform's image (BuildKit's and those attached to it).")
@click.option("--max-sboms", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Refuse an image with more SBOMs than this, before reading any.")
@registry_options
def download_sbom_command(
    reference: str, platform: Platform | None, max_sboms: int, ca_file: Path | None,
    insecure_registries: tuple[str, ...],
) -> None:
    """Print the SBOMs of an image: OCI referrers, cosign's .sbom tag, BuildKit attestation manifests.

    Each SBOM is printed as stored, one after another (as cosign download sbom), and stderr says where each was
    found. For an image index, --platform picks one image: its SBOMs, and BuildKit's for it in the index;
    without it, the index's own SBOMs and BuildKit's for every platform. Nothing here is verified (an unsigned
    SBOM says what whoever pushed it wants: verify-attestation checks signed ones). Exit status 4 when there is
    no SBOM.

    \b
    Examples:
      supplychain download sbom registry.example.com/app:1.0 > sbom.json
      supplychain download sbom --platform linux/arm64 registry.example.com/app:1.0
    """
    from supplychain.attachments.artifact import download_sboms
    from supplychain.oci.model import Index
    from supplychain.oci.platform import select_platform
    from supplychain.reference import parse_reference
    from supplychain.report.attachment import problem_lines, sbom_found_line
    from supplychain.store import open_store

    settings = build_settings(ca_file, insecure_registries)
    ref = parse_reference(reference)
    with open_store(ref, settings) as store:
        subject = _resolve(store, ref, None)
        index = store.get_manifest(subject) if subject.is_index else None
        if platform is not None and isinstance(index, Index):
            subject = select_platform(index, platform)
        result = download_sboms(store, subject, index=index, max_bytes=settings.max_attachment_bytes,
                                max_sboms=max_sboms)
    echo_lines(problem_lines(result))
    out = click.get_binary_stream("stdout")
    for sbom in result.sboms:
        click.echo(sbom_found_line(sbom), err=True)
        out.write(sbom.content if sbom.content.endswith(b"\n") else sbom.content + b"\n")
    out.flush()


@download_group.command("artifact")
@click.argument("reference")
@click.option("--artifact-type", required=True, help="Download the referrers of this artifactType.")
@click.option("--output", "-o", "directory", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The directory to write the files to (created if missing).")
@registry_options
def download_artifact_command(
    reference: str, artifact_type: str, directory: Path, ca_file: Path | None, insecure_registries: tuple[str, ...]
) -> None:
    """Write the files of an image's referrers of --artifact-type into a directory, as oras pull does.

    Each file is named by its layer's org.opencontainers.image.title, which must be a plain file name: a title
    such as ../x or /etc/x is refused (exit status 7) before anything is written. Existing files of the same
    name are replaced. Exit status 4 when there is no such referrer.

    \b
    Examples:
      supplychain download artifact --artifact-type application/vnd.example.report+json -o out/ \\
          registry.example.com/app:1.0
    """
    from supplychain.attachments.artifact import download_artifacts
    from supplychain.reference import parse_reference
    from supplychain.report.text import escape
    from supplychain.store import open_store

    settings = build_settings(ca_file, insecure_registries)
    ref = parse_reference(reference)
    with open_store(ref, settings) as store:
        subject = _resolve(store, ref, None)
        written = download_artifacts(store, subject, artifact_type, str(directory),
                                     max_bytes=settings.max_attachment_bytes)
    for item in written:
        click.echo(f"{escape(item.path)} ({item.size} bytes, from referrer {item.referrer.digest})")


@click.command("triangulate")
@click.argument("reference")
@click.option("--type", "kind", type=click.Choice(["signature", "attestation", "sbom", "bundle"]),
              default="signature", show_default=True,
              help="Which attachment to locate; bundle lists the Sigstore bundle referrers (they have no tag).")
@registry_options
def triangulate_command(
    reference: str, kind: str, ca_file: Path | None, insecure_registries: tuple[str, ...]
) -> None:
    """Print where an image's attachments live, as full references.

    For signature, attestation and sbom: cosign's tag sha256-<hex>.sig|.att|.sbom in the image's repository
    (registry/repo:tag, or oci:PATH:tag), printed whether or not it exists, as cosign does; for a reference by
    digest it is computed offline, without contacting the registry. For bundle:
    registry/repo@<digest> of each Sigstore bundle referrer; exit status 4 when there is none.

    \b
    Examples:
      supplychain triangulate registry.example.com/app:1.0
      supplychain triangulate --type bundle oci:./layout:v1
    """
    from supplychain.reference import parse_reference

    ref = parse_reference(reference)
    if ref.digest is not None and kind in _TAG_KINDS:
        # The tag is a function of the digest: no store to open, and none of the signing stack to import (cosign's
        # triangulate needs the registry only to resolve a tag, too).
        from supplychain.oci.attachment import AttachmentKind, attachment_location, attachment_repository

        click.echo(attachment_location(attachment_repository(ref), ref.digest, AttachmentKind(kind)))
        return

    from supplychain.attachments.triangulate import repository_name, triangulate, triangulate_bundles
    from supplychain.oci.attachment import AttachmentKind
    from supplychain.store import open_store

    repository = repository_name(ref)
    with open_store(ref, build_settings(ca_file, insecure_registries)) as store:
        subject = _resolve(store, ref, None)
        locations = (triangulate_bundles(store, subject.digest, repository=repository) if kind == "bundle"
                     else (triangulate(subject.digest, AttachmentKind(kind), repository=repository),))
    for location in locations:
        click.echo(location)


@click.command("clean")
@click.argument("reference")
@click.option("--type", "clean_type", type=click.Choice(["signature", "attestation", "sbom", "all"]),
              default="all", show_default=True,
              help="What to remove: the cosign tag of that kind and the referrers of that kind; all removes the "
              "three tags and every referrer.")
@click.option("--force", "-f", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@registry_options
def clean_command(
    reference: str, clean_type: str, force: bool, ca_file: Path | None, insecure_registries: tuple[str, ...]
) -> None:
    """Remove the signatures, attestations or SBOMs attached to an image.

    Deletes the manifests of cosign's sha256-<hex>.sig/.att/.sbom tags and the OCI referrers of the chosen
    kind (signature bundles count as signatures), referrers first, keeping the referrers tag up to date.
    A referrers tag sha256-<hex> that is not an index (another tool pushed an image there; it blocks every
    referrer read and write) is removed first, whatever the kind. Only manifests read and found to be
    attachments of this image are deleted: a referrer whose subject is not the image, or of another kind, and a
    tag holding another image, are left alone with a warning (those listings are written by anyone with push
    rights). In an OCI layout, the blobs the removed attachments leave unreferenced are removed too. Each
    removal is printed. If a delete fails,
    what was removed so far is printed, the rest stays, and the exit status is the failure's (a registry with
    deletes disabled: 6). Nothing to remove is exit status 0.

    \b
    Examples:
      supplychain clean registry.example.com/app@sha256:<hex>
      supplychain clean --type signature -f registry.example.com/app:1.0
    """
    from supplychain.attachments.clean import clean_attachments, plan_clean
    from supplychain.attachments.triangulate import repository_name
    from supplychain.oci.attachment import AttachmentKind
    from supplychain.reference import parse_reference
    from supplychain.report import attachment as report
    from supplychain.store import open_store

    if not force and not (sys.stdin is not None and sys.stdin.isatty()):
        raise ConfirmationRequiredError("clean deletes attachments and standard input is not a terminal to "
                                        "confirm on: pass --force")
    ref = parse_reference(reference)
    repository = repository_name(ref)
    with open_store(ref, build_settings(ca_file, insecure_registries)) as store:
        subject = _resolve(store, ref, "cleaning the attachments of")
        plan = plan_clean(store, subject.digest, None if clean_type == "all" else AttachmentKind(clean_type))
        echo_lines(report.plan_notes(plan, reference, repository))
        if not plan.deletions or not (force or _confirmed(plan, repository)):
            return
        result = clean_attachments(
            store, plan, on_deleted=lambda d: click.echo(report.removed_line(d, reference, repository), err=True)
        )
    echo_lines(report.cleaned_lines(result, repository))


def _confirmed(plan: CleanPlan, repository: str) -> bool:
    """Show cosign's warning and what will be deleted, then ask; a declined prompt is said on stderr."""
    from supplychain.report import attachment as report

    echo_lines([report.clean_warning(plan), *report.plan_lines(plan, repository)])
    # cosign's ui.ConfirmContinue wording; anything but y/yes deletes nothing. Declining is an answer, exit 0 as in
    # cosign (130 means Ctrl-C: README's exit codes).
    if click.confirm("Are you sure you want to continue?", default=False, err=True):
        return True
    click.echo("Not confirmed: nothing was deleted", err=True)
    return False


def _resolve(store: ArtifactStore, ref: AnyReference, doing: str | None) -> Descriptor:
    """Resolve ``ref`` in ``store`` once; unless ``doing`` is ``None``, say on stderr which digest (and from
    which tag) the command acts on."""
    subject = store.resolve(ref.identifier)
    if doing is not None:
        origin = f" (resolved from tag {ref.tag or 'latest'})" if ref.digest is None else ""
        click.echo(f"{doing} {subject.digest}{origin}", err=True)
    return subject

