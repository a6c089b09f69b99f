"""Images inside a tar archive on disk, read in place (issue 12, item 1): ``docker-archive:PATH`` (``docker save``,
``skopeo copy ... docker-archive:``) and ``oci-archive:PATH`` (a tar of an OCI image layout, ``skopeo copy ...
oci-archive:``). Nothing is extracted: the archive's headers are walked once (``tar.TarWalker``, the same hostile-tar
rules as layers) into an index of member offsets, and each blob is streamed from its offset when the walk asks.

The archive must be an uncompressed tar (as both tools write it); a compressed one is refused with a hint, since
reading members at offsets needs a seekable file. Symbolic and hard links between members (``docker save`` of
Docker 25 links ``<id>/layer.tar`` to ``blobs/sha256/<hex>``) are followed inside the archive only
(``FileView.resolve``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from supplychain import limits
from supplychain.digest import Digest, verify_stream
from supplychain.errors import InvalidInputError, InvalidManifestError, InvalidReferenceError, NotFoundError
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.imagefs.compression import Compression, LayerFormatError, sniff
from supplychain.imagefs.image import Image, image_from_descriptor, parse_config
from supplychain.imagefs.tar import TarWalker
from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef, normalise
from supplychain.imagefs.walk import LayerSource
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import AnyManifest, Descriptor, Index, Platform, parse_manifest
from supplychain.reference import parse_image_reference

_CHUNK = 1024 * 1024
_BLOB_NAME = re.compile(r"blobs/(sha256|sha512)/([0-9a-f]+)")
_REF_NAME = "org.opencontainers.image.ref.name"


class ArchiveError(InvalidInputError):
    """An image archive that cannot be read: exit 3."""

    default_hint = "make the archive again (docker save, skopeo copy ... docker-archive:|oci-archive:)"


@dataclass(frozen=True, slots=True)
class _Member:
    offset: int
    size: int


class Archive:
    """The regular files of an uncompressed tar on disk, by normalised name, read at their offsets."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._members: dict[str, _Member] = {}
        entries: dict[str, FileEntry] = {}
        ref = LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)
        try:
            with path.open("rb") as handle:
                head = handle.read(4)
                if sniff(head) is not Compression.NONE:
                    raise ArchiveError(f"{path} is a compressed archive ({sniff(head).value})",
                                       hint="decompress it first (gunzip, zstd -d): members are read at offsets")
                handle.seek(0)
                walker = TarWalker(iter(lambda: handle.read(_CHUNK), b""), what=f"archive {path}")
                for count, header in enumerate(walker):
                    if count > limits.MAX_TAR_ENTRIES:
                        raise ArchiveError(f"{path} has more than {limits.MAX_TAR_ENTRIES} members")
                    key = normalise(header.name)
                    if not key:
                        continue
                    link = header.link if header.kind is EntryKind.SYMLINK else None
                    if header.kind is EntryKind.HARDLINK:
                        link = "/" + (normalise(header.link) or "..")  # absolute: from the archive's root
                        entries[key] = FileEntry(key, EntryKind.SYMLINK, 0, 0, ref, (ref,), link)
                        continue
                    entries[key] = FileEntry(key, header.kind, header.size, header.mode, ref, (ref,), link)
                    if header.kind is EntryKind.FILE:
                        self._members[key] = _Member(walker.offset, header.size)
        except LayerFormatError as exc:  # the walker's words, the archive's hint (no layer is involved yet)
            raise ArchiveError(exc.message) from exc
        except FileNotFoundError as exc:
            raise NotFoundError(f"{path}: no such archive",
                                hint="check the path (docker save -o FILE, or skopeo copy ... docker-archive:FILE)"
                                ) from exc
        except OSError as exc:
            raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from exc
        self._view = FileView(entries, (ref,))

    def member(self, name: str) -> tuple[str, _Member]:
        """The regular file ``name`` leads to (links followed inside the archive)."""
        entry = self._view.resolve(name)
        member = self._members.get(entry.path) if entry is not None else None
        if entry is None or member is None:
            raise ArchiveError(f"{self.path} has no file {name!r}")
        return entry.path, member

    def has(self, name: str) -> bool:
        entry = self._view.resolve(name)
        return entry is not None and entry.path in self._members

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[Iterator[bytes]]:
        """The bytes of member ``name``, streamed from its offset."""
        _, member = self.member(name)
        with self.path.open("rb") as handle:
            handle.seek(member.offset)
            yield _read_range(handle, member.size, f"{name} in {self.path}")

    def read(self, name: str, limit: int) -> bytes:
        """Member ``name`` whole, refused over ``limit`` bytes."""
        _, member = self.member(name)
        if member.size > limit:
            raise ArchiveError(f"{name} in {self.path} is {member.size} bytes, over the {limit}-byte cap")
        with self.open(name) as chunks:
            return b"".join(chunks)


def _read_range(handle: object, size: int, what: str) -> Iterator[bytes]:
    left = size
    while left > 0:
        chunk = handle.read(min(_CHUNK, left))  # type: ignore[attr-defined]
        if not chunk:
            raise ArchiveError(f"{what} is truncated: the archive changed or is damaged")
        left -= len(chunk)
        yield chunk


def _json(archive: Archive, name: str, limit: int) -> object:
    try:
        return loads_untrusted(archive.read(name, limit))
    except JsonFormatError as exc:
        raise ArchiveError(f"{name} in {archive.path} is not valid JSON: {exc}") from exc


# -- docker save ---------------------------------------------------------------------------------------------------


def _same_name(given: str, tagged: str) -> bool:
    """Whether a ``RepoTags`` entry is the image ``given`` names, as docker references: ``realistic:latest`` is
    ``docker.io/library/realistic:latest`` (what skopeo writes), a missing tag is ``latest``."""
    if given == tagged:
        return True
    try:
        one, other = parse_image_reference(given), parse_image_reference(tagged)
    except InvalidReferenceError:
        return False
    return (one.name, one.tag or "latest", one.digest) == (other.name, other.tag or "latest", other.digest)


def docker_archive_image(path: Path, reference: str | None = None) -> Image:
    """The image a ``docker save`` archive holds: its ``manifest.json`` entry (the only one, or the one whose
    ``RepoTags`` has ``reference``), config and layers. Its layers have no descriptors: compression is told by
    their first bytes, and a compressed layer whose member is not named by its digest is hashed once first (a
    layer's ``LayerRef.digest`` is always the blob's)."""
    archive = Archive(path)
    doc = _json(archive, "manifest.json", limits.MAX_MANIFEST_BYTES)
    if not isinstance(doc, list) or not doc or not all(isinstance(item, dict) for item in doc):
        raise ArchiveError(f"{path}: manifest.json is not a list of images (is it a docker save archive?)")
    tags = [[t for t in item.get("RepoTags") or [] if isinstance(t, str)] for item in doc]
    if reference is None:
        if len(doc) > 1:
            raise ArchiveError(f"{path} holds {len(doc)} images", hint="name one: docker-archive:PATH:NAME:TAG "
                               f"(tags: {', '.join(t for names in tags for t in names) or 'none'})")
        chosen = doc[0]
    else:
        matches = [item for item, names in zip(doc, tags, strict=True) if any(_same_name(reference, n) for n in names)]
        if not matches:
            raise NotFoundError(f"{path} has no image tagged {reference!r}",
                                hint=f"its tags: {', '.join(t for names in tags for t in names) or 'none'}")
        chosen = matches[0]
    config_name, layer_names = chosen.get("Config"), chosen.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layer_names, list) or not all(
            isinstance(n, str) for n in layer_names):
        raise ArchiveError(f"{path}: manifest.json's entry has no Config and Layers")
    raw_config = archive.read(config_name, limits.MAX_CONFIG_BYTES)
    config_digest = Digest.of(raw_config)
    named = _named_digest(archive.member(config_name)[0]) or _hex_name(config_name)
    if named is not None and named != config_digest:
        raise ArchiveError(f"{path}: the config {config_name} does not hash to its name ({config_digest})")
    config = parse_config(raw_config, what=f"the config of {path}")
    if len(config.diff_ids) != len(layer_names):
        raise InvalidManifestError(
            f"{path} lists {len(layer_names)} layers but its config {len(config.diff_ids)} diff_ids")
    layers = tuple(_docker_layer(archive, name, diff_id) for name, diff_id in
                   zip(layer_names, config.diff_ids, strict=True))
    return Image(f"docker-archive:{path}", None, str(config_digest),
                 str(config.platform) if config.platform else None, config.labels, layers, created=config.created)


def _docker_layer(archive: Archive, name: str, diff_id: Digest) -> LayerSource:
    real, member = archive.member(name)
    digest = _named_digest(real)
    if digest is None:
        with archive.open(name) as chunks:
            first = next(chunks, b"")
            if sniff(first) is Compression.NONE:
                digest = diff_id  # an uncompressed layer is its own tar: checked against the diff_id as it streams
            else:
                hasher = hashlib.sha256(first)
                for chunk in chunks:
                    hasher.update(chunk)
                digest = Digest("sha256", hasher.hexdigest())
    return LayerSource(None, digest, member.size, diff_id, lambda: archive.open(name))


def _named_digest(name: str) -> Digest | None:
    match = _BLOB_NAME.fullmatch(name)
    if match is None:
        return None
    try:
        return Digest(match.group(1), match.group(2))
    except InvalidInputError:
        return None


def _hex_name(name: str) -> Digest | None:
    """``<64 hex>.json``, the config name of classic ``docker save`` archives."""
    stem = name.rsplit("/", 1)[-1].removesuffix(".json")
    return Digest("sha256", stem) if re.fullmatch(r"[0-9a-f]{64}", stem) else None


# -- a tar of an OCI layout ----------------------------------------------------------------------------------------


def oci_archive_image(path: Path, reference: str | None = None, platform: Platform | None = None) -> Image:
    """The image an ``oci-archive`` holds: the ``index.json`` entry named ``reference`` (its
    ``org.opencontainers.image.ref.name``, or ``@sha256:...``), or its only entry; an index's platform entry."""
    archive = Archive(path)
    layout = _json(archive, "oci-layout", 64 * 1024)
    if not isinstance(layout, dict) or layout.get("imageLayoutVersion") != "1.0.0":
        raise ArchiveError(f"{path} is not a tar of an OCI image layout (no oci-layout file of version 1.0.0)")
    index = parse_manifest(archive.read("index.json", limits.MAX_MANIFEST_BYTES), MediaType.OCI_INDEX)
    if not isinstance(index, Index):
        raise ArchiveError(f"{path}: index.json is not an image index")
    desc = _choose(path, index, reference)

    def read_blob(blob: Descriptor, limit: int) -> bytes:
        name = f"blobs/{blob.digest.algorithm}/{blob.digest.hex}"
        if not archive.has(name):
            raise NotFoundError(f"{path} has no blob {blob.digest}", hint="the archive is incomplete")
        return blob.digest.verify(archive.read(name, min(limit, blob.size)), what=f"blob {blob.digest.short}")

    def get_manifest(blob: Descriptor) -> AnyManifest:
        return parse_manifest(read_blob(blob, limits.MAX_MANIFEST_BYTES), blob.media_type)

    @contextlib.contextmanager
    def open_blob(blob: Descriptor) -> Iterator[Iterator[bytes]]:
        name = f"blobs/{blob.digest.algorithm}/{blob.digest.hex}"
        with archive.open(name) as chunks:
            yield verify_stream(chunks, blob.digest, size=blob.size, what=f"blob {blob.digest.short}")

    suffix = f":{reference}" if reference and not reference.startswith("@") else (reference or "")
    return image_from_descriptor(f"oci-archive:{path}{suffix}", desc, get_manifest=get_manifest,
                                 read_blob=read_blob, open_blob=open_blob, platform=platform)


def _choose(path: Path, index: Index, reference: str | None) -> Descriptor:
    if reference is None:
        if len(index.manifests) != 1:
            names = sorted(d.annotations.get(_REF_NAME, str(d.digest)) for d in index.manifests)
            raise ArchiveError(f"{path} holds {len(index.manifests)} images",
                               hint=f"name one: oci-archive:PATH:NAME (names: {', '.join(names) or 'none'})")
        return index.manifests[0]
    for desc in index.manifests:
        if (reference.startswith("@") and str(desc.digest) == reference[1:]) or (
                desc.annotations.get(_REF_NAME) == reference):
            return desc
    names = sorted(d.annotations.get(_REF_NAME, "") for d in index.manifests)
    raise NotFoundError(f"{path} has no image {reference!r}", hint=f"its names: {', '.join(n for n in names if n)}")


__all__ = ["Archive", "ArchiveError", "docker_archive_image", "oci_archive_image"]
