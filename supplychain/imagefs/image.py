"""An image as a scan needs it: what it is (name, digest, platform, labels) and its layers, in order, each with a way
to open it (issue 12, item 1). Store-agnostic: the source (a store, an archive) hands over functions that read its
manifests and blobs; this module chooses the platform's manifest, reads the config strictly and pairs each layer
with its ``rootfs.diff_ids`` entry (image-spec config.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supplychain import limits
from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError, InvalidManifestError
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.imagefs.walk import LayerSource
from supplychain.oci.model import AnyManifest, Descriptor, Index, Manifest, Platform
from supplychain.oci.platform import select_platform

BlobOpener = Callable[[Descriptor], AbstractContextManager[Iterable[bytes]]]
"""``open_blob(descriptor)``: a blob's bytes as a checked stream (``ArtifactStore.open_blob``)."""
BlobReader = Callable[[Descriptor, int], bytes]
"""``read_blob(descriptor, limit)``: a small blob whole, checked against its digest, at most ``limit`` bytes."""
ManifestReader = Callable[[Descriptor], AnyManifest]


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """What a scan reads from an image config (image-spec config.md): the layers' uncompressed digests, the
    platform, the labels."""

    diff_ids: tuple[Digest, ...]
    platform: Platform | None = None
    labels: tuple[tuple[str, str], ...] = ()
    created: str | None = None  # RFC 3339, as the config says it (an SBOM's timestamp: sbom.formats)


@dataclass(frozen=True, slots=True)
class Image:
    """An image to scan: its name as given, its manifest digest (``None`` where the source has no manifest: a
    ``docker save`` archive), its config's digest, platform and labels, and its layers base first. ``directory``
    instead of layers for a ``dir:`` source."""

    name: str
    digest: str | None
    config_digest: str | None
    platform: str | None
    labels: tuple[tuple[str, str], ...]
    layers: tuple[LayerSource, ...]
    directory: Path | None = field(default=None)
    created: str | None = None  # the config's ``created``


def parse_config(raw: bytes, *, what: str = "image config") -> ImageConfig:
    """The config's ``rootfs.diff_ids``, platform and ``config.Labels``, read strictly."""
    try:
        doc = loads_untrusted(raw)
    except JsonFormatError as exc:
        raise InvalidManifestError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidManifestError(f"{what} is not a JSON object")
    rootfs = doc.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers" or not isinstance(rootfs.get("diff_ids"), list):
        raise InvalidManifestError(f"{what} has no rootfs of type \"layers\" with diff_ids (image-spec config.md)")
    diff_ids = []
    for position, text in enumerate(rootfs["diff_ids"]):
        try:
            diff_ids.append(Digest.parse(text if isinstance(text, str) else ""))
        except InvalidDigestError as exc:
            raise InvalidManifestError(f"{what}: rootfs.diff_ids[{position}] is not a digest") from exc
    platform = None
    if isinstance(doc.get("os"), str) and isinstance(doc.get("architecture"), str):
        variant = doc.get("variant")
        platform = Platform(doc["os"], doc["architecture"], variant if isinstance(variant, str) and variant else None)
    created = doc.get("created")
    return ImageConfig(tuple(diff_ids), platform, _labels(doc.get("config")),
                       created if isinstance(created, str) and created else None)


def _labels(config: Any) -> tuple[tuple[str, str], ...]:
    labels = config.get("Labels") if isinstance(config, dict) else None
    if not isinstance(labels, dict):
        return ()
    return tuple(sorted((k, v) for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)))


def image_from_manifest(name: str, manifest: Manifest, config_raw: bytes, open_blob: BlobOpener) -> Image:
    """The image ``manifest`` describes, its config's bytes already read and checked."""
    config = parse_config(config_raw, what=f"the config of {name}")
    if len(manifest.layers) > limits.MAX_LAYERS:
        raise InvalidManifestError(f"{name} has {len(manifest.layers)} layers, over {limits.MAX_LAYERS}")
    if len(config.diff_ids) != len(manifest.layers):
        raise InvalidManifestError(
            f"{name} has {len(manifest.layers)} layers but its config lists {len(config.diff_ids)} diff_ids")
    layers = tuple(
        LayerSource(desc.media_type, desc.digest, desc.size, diff_id, _opener(open_blob, desc))
        for desc, diff_id in zip(manifest.layers, config.diff_ids, strict=True)
    )
    return Image(name, str(manifest.digest), str(manifest.config.digest),
                 str(config.platform) if config.platform else None, config.labels, layers, created=config.created)


def _opener(open_blob: BlobOpener, desc: Descriptor) -> Callable[[], AbstractContextManager[Iterable[bytes]]]:
    return lambda: open_blob(desc)


def image_from_descriptor(name: str, desc: Descriptor, *, get_manifest: ManifestReader, read_blob: BlobReader,
                          open_blob: BlobOpener, platform: Platform | None = None) -> Image:
    """The image ``desc`` names: an index's entry for ``platform`` (default: this machine's, as docker pulls;
    ``oci.platform.select_platform``), else the manifest itself."""
    manifest = get_manifest(desc)
    if isinstance(manifest, Index):
        manifest = get_manifest(select_platform(manifest, platform))
        if isinstance(manifest, Index):
            raise InvalidManifestError(f"{name}: the index's entry for the platform is another index",
                                       hint="name the platform's manifest by digest")
    return image_from_manifest(name, manifest, read_blob(manifest.config, limits.MAX_CONFIG_BYTES), open_blob)


__all__ = ["BlobOpener", "BlobReader", "Image", "ImageConfig", "ManifestReader", "image_from_descriptor",
           "image_from_manifest", "parse_config"]
