"""Attach SBOMs and any other artifact to an image, and read them back (issue 12, item 5).

``attach_artifact`` stores files as one OCI 1.1 referrer, as ``oras attach`` does (OCI image spec 1.1 "Guidelines
for artifact usage": ``artifactType``, the empty config, one layer per file titled with
``org.opencontainers.image.title``, ``subject`` the image, ``org.opencontainers.image.created``). The store keeps
it findable: the registry's referrers API when it has one, else the referrers tag ``sha256-<hex>``
(``ArtifactStore.put_manifest``, ``oci.tagwriter``), the code ``sign`` and ``attest`` store their bundles through.

``attach_sbom`` validates the file first (``sbom.validate``: the validator's message, exit 3, nothing written),
then attaches it as a referrer of artifact type ``application/vnd.cyclonedx+json`` or ``application/spdx+json``,
or with ``legacy`` as a layer of cosign's ``sha256-<hex>.sbom`` manifest (cosign ``attach sbom``: layer media type
``application/vnd.cyclonedx+json``, or ``text/spdx+json`` for SPDX JSON, SPECS.md), written by
``signing.writer.append_layers``, the read-change-put-confirm writer of cosign's tags. cosign replaces the
``.sbom`` manifest; we append, as ``copy`` merges ``.sbom`` tags (an SBOM already there stays; the same one twice
is stored once).

``download_sboms`` finds SBOMs wherever the ecosystem puts them (``oci.locate``): referrers of an SBOM artifact
type, the ``.sbom`` tag's layers, and BuildKit's attestation manifests in the image index (in-toto statements of
predicate type ``https://spdx.dev/Document`` or ``https://cyclonedx.org/bom``: the SBOM is the predicate).
``download_artifacts`` writes the files of the referrers of one artifact type into a directory, named by their
title, which must be a plain file name (``../x``, ``/etc/x``, ``a/b`` are refused: a registry's annotation must not
choose where we write).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from supplychain.errors import IntegrityError, InvalidInputError, NotFoundError, SizeLimitError
from supplychain.formats import gojson
from supplychain.formats.intoto import CYCLONEDX_PREDICATE, SPDX_PREDICATE, parse_statement
from supplychain.limits import MAX_ATTACHMENT_BYTES
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.locate import SBOM_ARTIFACT_TYPES, buildkit_attestations, describe, locate
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, AnyManifest, Descriptor, Manifest, build_manifest
from supplychain.oci.store import ArtifactStore
from supplychain.oci.tagwriter import Sleep
from supplychain.sbom.formats import SbomFormat

TITLE_ANNOTATION = "org.opencontainers.image.title"
CREATED_ANNOTATION = "org.opencontainers.image.created"
# SBOM type -> (referrer artifact type, cosign .sbom layer media type) (IANA; cosign attach sbom).
SBOM_MEDIA_TYPES = {
    "cyclonedx": ("application/vnd.cyclonedx+json", "application/vnd.cyclonedx+json"),
    "spdx": ("application/spdx+json", "text/spdx+json"),
}
_FORMAT_TYPE = {SbomFormat.CYCLONEDX_JSON: "cyclonedx", SbomFormat.SPDX_JSON: "spdx"}
_SBOM_PREDICATES = frozenset({SPDX_PREDICATE, CYCLONEDX_PREDICATE})
_DAMAGE = (IntegrityError, InvalidInputError, NotFoundError)
MAX_FILES = 1000


class ArtifactFileError(InvalidInputError):
    """A file to attach that cannot be read, or a ``FILE[:mediaType]`` that names none."""

    default_hint = "give existing files: attach artifact REF --artifact-type TYPE FILE[:mediaType]..."


class ArtifactWriteError(InvalidInputError):
    """An output directory or file of ``download artifact`` that cannot be written."""

    default_hint = "check that the -o directory is writable and has space, or give another one"


class UnsafeTitleError(IntegrityError):
    """An artifact layer whose title would write outside the output directory."""

    default_hint = ("the artifact's org.opencontainers.image.title annotation is not a plain file name; it was not "
                    "written (whoever pushed it chose the name: inspect it with `supplychain tree`)")


class NoSbomError(NotFoundError):
    """An image with no SBOM anywhere."""

    default_hint = "attach one (supplychain attach sbom); `supplychain tree` shows what is attached"


class NoArtifactsError(NotFoundError):
    """An image with no referrer of the artifact type asked for."""

    default_hint = "`supplychain tree` lists the image's referrers and their artifact types"


@dataclass(frozen=True, slots=True)
class ArtifactFile:
    """One file to attach: its name (the layer's title), content and media type."""

    name: str
    content: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class AttachedArtifact:
    """What ``attach_artifact`` or ``attach_sbom`` stored."""

    subject: Descriptor
    artifact_type: str
    manifest: Descriptor  # the referrer, or the .sbom manifest
    layers: tuple[Descriptor, ...]
    tag: str | None = None  # cosign's .sbom tag (legacy), else None
    already_present: bool = False


@dataclass(frozen=True, slots=True)
class DownloadedSbom:
    """One SBOM found for an image: where, its media type (or the predicate type of a BuildKit statement), and
    the document's bytes."""

    location: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class SbomDownload:
    subject: Descriptor
    sboms: tuple[DownloadedSbom, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    referrer: Descriptor
    path: str
    size: int


def attach_artifact(store: ArtifactStore, subject: Descriptor, artifact_type: str, files: Sequence[ArtifactFile],
                    *, created: datetime, annotations: Mapping[str, str] | None = None) -> AttachedArtifact:
    """Store ``files`` as one OCI 1.1 referrer of ``subject`` with ``artifact_type`` (see the module docstring)."""
    from supplychain.signing.bundle import rfc3339

    if not artifact_type or "/" not in artifact_type:
        raise InvalidInputError(f"artifact type {artifact_type!r} is not a media type",
                                hint="give a media type, e.g. --artifact-type application/vnd.example.report+json")
    if not files:
        raise ArtifactFileError("no file to attach")
    layers = [Descriptor.for_bytes(f.media_type, f.content, annotations={TITLE_ANNOTATION: f.name}) for f in files]
    manifest = build_manifest(EMPTY_DESCRIPTOR, layers, subject=subject, artifact_type=artifact_type,
                              annotations={CREATED_ANNOTATION: rfc3339(created), **(annotations or {})})
    store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])  # skipped when present
    for layer, file in zip(layers, files, strict=True):
        store.put_blob(layer, [file.content])
    pushed = store.put_manifest(manifest)
    return AttachedArtifact(subject, artifact_type, pushed.descriptor, tuple(layers))


@dataclass(frozen=True, slots=True)
class CheckedSbom:
    """An SBOM the format's validator accepted (``check_sbom``), ready to attach."""

    kind: str  # cyclonedx or spdx
    content: bytes
    name: str  # the file name: the layer's title


def check_sbom(data: bytes, declared: str | None, *, name: str = "sbom.json") -> CheckedSbom:
    """``data`` checked by its format's own validator (``sbom.validate``); ``declared`` (``--type``) must agree.
    Raises ``InvalidSbomError`` (exit 3) with the validator's message."""
    from supplychain.sbom.validate import InvalidSbomError, sniff_format, validate_document

    what = f"SBOM {name}"
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidSbomError(f"{what} is neither a CycloneDX JSON nor an SPDX JSON document",
                               hint="attach a JSON SBOM (sbom generate -o cyclonedx-json | spdx-json; convert "
                               "tag-value or XML first: syft convert FILE -o spdx-json)")
    kind = _FORMAT_TYPE[fmt]
    if declared is not None and declared != kind:
        raise InvalidSbomError(f"{what} is a {kind} document, not {declared}",
                               hint=f"pass --type {kind}, or leave --type out")
    validate_document(data, fmt, what=what)
    return CheckedSbom(kind, data, name)


def attach_sbom(store: ArtifactStore, subject: Descriptor, sbom: CheckedSbom, *, created: datetime,
                legacy: bool = False, sleep: Sleep = time.sleep) -> AttachedArtifact:
    """Attach the checked ``sbom`` to ``subject`` (see the module docstring)."""
    artifact_type, legacy_type = SBOM_MEDIA_TYPES[sbom.kind]
    if not legacy:
        return attach_artifact(store, subject, artifact_type, [ArtifactFile(sbom.name, sbom.content, artifact_type)],
                               created=created)
    from supplychain.signing.writer import append_layers

    tag = attachment_tag(subject.digest, AttachmentKind.SBOM)
    layer = Descriptor.for_bytes(legacy_type, sbom.content)
    appended = append_layers(store, tag, [layer], {layer.digest: sbom.content}, sleep=sleep)
    return AttachedArtifact(subject, legacy_type, appended.manifest, (layer,), tag, appended.already_present)


def download_sboms(store: ArtifactStore, subject: Descriptor, *, index: AnyManifest | None = None,
                   max_bytes: int = MAX_ATTACHMENT_BYTES, max_sboms: int = 100) -> SbomDownload:
    """Every SBOM of ``subject`` (see the module docstring); ``index``: the image index holding it (or
    ``subject``'s own, for an index), for BuildKit's attestation manifests. Counted before any blob is read; a
    damaged one is a problem and the others are still returned; none is ``NoSbomError``."""
    from supplychain.attachments.download import buildkit_statements, small_manifest

    located = locate(store, subject.digest, tags=(AttachmentKind.SBOM,), read_tags=True)
    problems: list[str] = []
    if located.listing_error is not None:
        problems.append(f"referrers of {subject.digest}: {describe(located.listing_error)}")
    problems.extend(located.problems)
    referrers = [a.descriptor for a in located.referrers if a.kind is AttachmentKind.SBOM]
    found = located.tag(AttachmentKind.SBOM)
    tag = attachment_tag(subject.digest, AttachmentKind.SBOM)
    layers = [la for la in (found.layers if found is not None else ()) if la.media_type in SBOM_ARTIFACT_TYPES]
    of = None if index is not None and index.digest == subject.digest else subject.digest
    buildkit = buildkit_attestations(index, of) if index is not None else ()
    total = len(referrers) + len(layers) + len(buildkit)
    if total > max_sboms:
        raise SizeLimitError(f"{subject.digest} has {total} SBOM attachments, more than the limit of {max_sboms}: "
                             "none was read", hint="raise --max-sboms")
    out: list[DownloadedSbom] = []
    for desc in referrers:
        try:
            manifest = small_manifest(store, desc, "an artifact manifest")
            out.extend(DownloadedSbom(f"referrer {desc.digest}", kind, store.get_blob(la, limit=max_bytes))
                       for la, kind in _sbom_layers(manifest))
        except _DAMAGE as exc:
            problems.append(f"referrer {desc.digest}: {describe(exc)}")
    for i, layer in enumerate(layers):
        try:
            out.append(DownloadedSbom(f"{tag} layer {i}", layer.media_type, store.get_blob(layer, limit=max_bytes)))
        except _DAMAGE as exc:
            problems.append(f"{tag} layer {i}: {describe(exc)}")
    for attachment in buildkit:
        try:
            statements = buildkit_statements(store, attachment.descriptor, max_bytes)
        except _DAMAGE as exc:
            problems.append(f"BuildKit attestation manifest {attachment.descriptor.digest}: {describe(exc)}")
            continue
        for statement in statements:
            if statement.predicate_type in _SBOM_PREDICATES:
                out.append(_predicate(statement.location, statement.predicate_type, statement.envelope))
    if not out:
        raise NoSbomError(f"no SBOM attached to {store.name}@{subject.digest}"
                          + (f" ({problems[0]})" if problems else ""))
    return SbomDownload(subject, tuple(out), tuple(problems))


def _sbom_layers(manifest: Manifest) -> list[tuple[Descriptor, str]]:
    """The SBOM layers of an SBOM referrer, each with its media type: those of an SBOM media type; if there are
    none, every layer, as the manifest's artifact type says (``oras attach --artifact-type
    application/vnd.cyclonedx+json`` gives its file ``application/vnd.oci.image.layer.v1.tar``; ``attach artifact``
    ``application/octet-stream``: the OCI image spec 1.1's guidelines put the type on the manifest)."""
    typed = [(la, la.media_type) for la in manifest.layers if la.media_type in SBOM_ARTIFACT_TYPES]
    kind = manifest.descriptor().artifact_type
    if typed or kind not in SBOM_ARTIFACT_TYPES:
        return typed
    assert kind is not None
    return [(la, kind) for la in manifest.layers]


def _predicate(location: str, predicate_type: str, envelope: Mapping[str, Any]) -> DownloadedSbom:
    """The SBOM inside a BuildKit in-toto statement: its predicate, as JSON (a string predicate as it is: cosign's
    tag-value SPDX)."""
    import base64

    statement = parse_statement(base64.b64decode(envelope["payload"]))
    predicate = statement.predicate
    content = predicate.encode() if isinstance(predicate, str) else gojson.encode(predicate, sort_keys=False)
    return DownloadedSbom(location, predicate_type, content)


def safe_title(title: str | None) -> str:
    """``title`` if it is a plain file name to create in the output directory, else ``UnsafeTitleError``."""
    if not title:
        raise UnsafeTitleError("an artifact layer has no org.opencontainers.image.title: no file name to write it to")
    if (title in (".", "..") or "/" in title or "\\" in title or "\x00" in title or title != title.strip()
            or os.path.isabs(title) or len(title.encode()) > 255):
        raise UnsafeTitleError(f"refused to write an artifact titled {title!r}: not a plain file name")
    return title


def download_artifacts(store: ArtifactStore, subject: Descriptor, artifact_type: str, directory: str,
                       *, max_bytes: int = MAX_ATTACHMENT_BYTES) -> list[DownloadedFile]:
    """Write the files of every referrer of ``subject`` of ``artifact_type`` into ``directory`` (created if
    missing), each named by its title (``safe_title``: every title is checked before anything is written);
    two layers of one title are refused."""
    from supplychain.attachments.download import small_manifest
    from supplychain.files import replace_all

    located = locate(store, subject.digest, tags=(), artifact_type=artifact_type)
    if located.listing_error is not None:
        raise located.listing_error
    referrers = [a.descriptor for a in located.referrers if a.descriptor.artifact_type == artifact_type]
    if not referrers:
        raise NoArtifactsError(f"no referrer of artifact type {artifact_type} for {store.name}@{subject.digest}")
    plan: list[tuple[Descriptor, Descriptor, str]] = []
    names: set[str] = set()
    for desc in referrers:
        for layer in small_manifest(store, desc, "an artifact manifest").layers:
            name = safe_title(layer.annotations.get(TITLE_ANNOTATION))
            if name in names:
                raise UnsafeTitleError(f"two artifact files are titled {name!r}: refused to overwrite one with the "
                                       "other")
            names.add(name)
            plan.append((desc, layer, name))
    if len(plan) > MAX_FILES:
        raise SizeLimitError(f"{len(plan)} artifact files, more than {MAX_FILES}")
    for _, layer, name in plan:
        if layer.size > max_bytes:
            raise SizeLimitError(f"the artifact file {name!r} is {layer.size} bytes, over the {max_bytes}-byte cap "
                                 "(limits.MAX_ATTACHMENT_BYTES)", hint="raise SUPPLYCHAIN_MAX_ATTACHMENT_SIZE if you "
                                 "expect it")
    # All or none (files.replace_all): each blob streams, digest-checked, into a temporary beside its file, and the
    # files are renamed into place only when every blob has arrived whole: one bad blob leaves none written.
    files = [(Path(directory, name), _blob_chunks(store, layer)) for _, layer, name in plan]
    try:
        os.makedirs(directory, exist_ok=True)
        replace_all(files, follow_umask=True)
    except OSError as exc:
        raise ArtifactWriteError(f"cannot write {exc.filename or directory}: {exc.strerror or exc}") from exc
    return [DownloadedFile(desc, os.path.join(directory, name), layer.size) for desc, layer, name in plan]


def _blob_chunks(store: ArtifactStore, layer: Descriptor) -> Iterator[bytes]:
    with store.open_blob(layer) as chunks:
        yield from chunks


__all__ = [
    "ArtifactFile",
    "AttachedArtifact",
    "CheckedSbom",
    "DownloadedSbom",
    "SbomDownload",
    "attach_artifact",
    "attach_sbom",
    "check_sbom",
    "download_artifacts",
    "download_sboms",
    "safe_title",
]
