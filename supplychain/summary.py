"""What ``inspect`` shows: an image's identity, platforms, config and labels, as a value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import InvalidManifestError, NotFoundError
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.limits import MAX_CONFIG_BYTES
from supplychain.oci.model import AnyManifest, Descriptor, Index, Manifest, Platform
from supplychain.oci.platform import matches, select_platform
from supplychain.oci.store import ArtifactStore

# Image config media types (OCI config.md; Docker's container image v1): what a platform is read from.
_IMAGE_CONFIG_SUFFIXES = ("config.v1+json", "container.image.v1+json")


_MAX_PROBED = 32  # index entries probed for a missing platform's hint: one HEAD each on a registry


class PlatformManifestMissingError(NotFoundError):
    """An index entry for the platform asked for, whose manifest is not in the store."""


class PlatformMismatchError(NotFoundError):
    """``--platform`` given for an image that is not an index, and whose config names another platform."""

    default_hint = "drop --platform: it chooses one platform of a multi-platform image (an index)"


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of an image config (image-spec config.md) people look at."""

    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    created: str | None = None
    author: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # None when the config has no such field (or null), () when it is an empty list.
    env: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    diff_ids: tuple[str, ...] = ()

    @property
    def platform(self) -> Platform | None:
        """``os/architecture[/variant]`` of the image, when the config names os and architecture."""
        if not self.os or not self.architecture:
            return None
        return Platform(self.os, self.architecture, self.variant or None)


@dataclass(frozen=True, slots=True)
class ImageSummary:
    """One manifest or index, described."""

    reference: str
    descriptor: Descriptor
    platforms: tuple[tuple[Platform | None, Descriptor], ...] = ()  # for an index
    config: ImageConfig | None = None  # for an image manifest with an image config
    layers: tuple[Descriptor, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    subject: Digest | None = None
    config_descriptor: Descriptor | None = None  # for an image manifest

    @property
    def layers_size(self) -> int:
        """The layers' sizes (compressed, as stored), summed."""
        return sum(layer.size for layer in self.layers)

    @property
    def total_size(self) -> int:
        """Manifest plus config plus layers (compressed): what a pull of this manifest transfers."""
        config = self.config_descriptor.size if self.config_descriptor is not None else 0
        return self.descriptor.size + config + self.layers_size


def summarize(
    store: ArtifactStore, identifier: str | Digest, *, platform: Platform | None = None, reference: str = ""
) -> ImageSummary:
    """Describe ``identifier`` in ``store``; with ``platform``, descend into an index to that platform, or check
    that a single-platform image is of that platform (``PlatformMismatchError`` if not)."""
    desc = store.resolve(identifier)
    manifest = store.get_manifest(desc)
    if isinstance(manifest, Index) and platform is not None:
        desc, manifest = platform_manifest(store, manifest, platform)
    subject = manifest.subject.digest if manifest.subject else None
    if isinstance(manifest, Index):
        return ImageSummary(
            reference,
            desc,
            platforms=tuple((entry.platform, entry) for entry in manifest.manifests),
            annotations=dict(manifest.annotations),
            artifact_type=manifest.artifact_type,
            subject=subject,
        )
    assert isinstance(manifest, Manifest)
    config = read_image_config(store, manifest)
    if platform is not None:
        _require_platform(config, platform)
    return ImageSummary(
        reference,
        desc,
        config=config,
        layers=manifest.layers,
        annotations=dict(manifest.annotations),
        artifact_type=manifest.artifact_type,
        subject=subject,
        config_descriptor=manifest.config,
    )


def platform_manifest(
    store: ArtifactStore, index: Index, platform: Platform | None
) -> tuple[Descriptor, AnyManifest]:
    """The entry of ``index`` for ``platform`` (default: this machine's) and its manifest. An entry whose
    manifest is not in the store (an index copied alone: ``skopeo copy --multi-arch index-only``) is a
    ``NotFoundError`` naming the platform and the platforms whose manifests are there."""
    desc = select_platform(index, platform)
    try:
        return desc, store.get_manifest(desc)
    except NotFoundError as exc:
        present = _present_platforms(store, index, skip=desc.digest)
        raise PlatformManifestMissingError(
            f"the index lists platform {desc.platform} ({desc.digest}), but its manifest is not in {store.name}",
            hint=(f"choose a platform that is there with --platform: {', '.join(present)}" if present else
                  "no platform's manifest is there: copy the image again with all its platforms"),
        ) from exc


def raw_manifest(store: ArtifactStore, identifier: str | Digest, *, platform: Platform | None = None) -> bytes:
    """The manifest or index bytes as stored (checked against their digest); with ``platform``, those of the
    index's manifest for it (``inspect --raw``, as ``skopeo inspect --raw``)."""
    manifest = store.get_manifest(store.resolve(identifier))
    if isinstance(manifest, Index) and platform is not None:
        _, manifest = platform_manifest(store, manifest, platform)
    elif platform is not None:
        check_platform(store, manifest, platform)
    return manifest.raw


def raw_config(store: ArtifactStore, identifier: str | Digest, *, platform: Platform | None = None) -> bytes:
    """The config blob of an image, checked against its digest and capped (``inspect --config``); for an index,
    that of ``platform``'s manifest (default: this machine's platform, as ``skopeo inspect --config``)."""
    manifest = store.get_manifest(store.resolve(identifier))
    if isinstance(manifest, Index):
        _, manifest = platform_manifest(store, manifest, platform)
        if isinstance(manifest, Index):
            raise InvalidManifestError("the index's platform entry is itself an index, which has no config",
                                       hint="inspect it with --raw")
    elif platform is not None:
        check_platform(store, manifest, platform)
    assert isinstance(manifest, Manifest)
    return store.get_blob(manifest.config, limit=MAX_CONFIG_BYTES)


def _present_platforms(store: ArtifactStore, index: Index, *, skip: Digest) -> list[str]:
    """The platforms of ``index`` whose manifests ``store`` holds (at most ``_MAX_PROBED`` probed)."""
    present = []
    for entry in index.manifests[:_MAX_PROBED]:
        if entry.platform is None or entry.platform.os == "unknown" or entry.digest == skip:
            continue
        try:
            store.resolve(entry.digest)
        except NotFoundError:
            continue
        present.append(str(entry.platform))
    return present


def read_image_config(store: ArtifactStore, manifest: Manifest) -> ImageConfig | None:
    """The image config of ``manifest``, or ``None`` when its config is not an image config (an artifact)."""
    if not manifest.config.media_type.endswith(_IMAGE_CONFIG_SUFFIXES):
        return None
    return _read_config(store, manifest.config)


def check_platform(store: ArtifactStore, manifest: AnyManifest, wanted: Platform) -> None:
    """For ``--platform`` on what is not an index: pass when the image's config is of ``wanted``, else raise
    ``PlatformMismatchError`` (a platform that cannot be chosen is not silently ignored)."""
    if isinstance(manifest, Manifest):
        _require_platform(read_image_config(store, manifest), wanted)


def _require_platform(config: ImageConfig | None, wanted: Platform) -> None:
    have = config.platform if config is not None else None
    if have is not None and matches(have, wanted):
        return
    what = f"it is {have}" if have is not None else "its config names no platform"
    raise PlatformMismatchError(f"the image is not multi-platform: {what}, not {wanted}")


def _read_config(store: ArtifactStore, desc: Descriptor) -> ImageConfig:
    raw = store.get_blob(desc, limit=MAX_CONFIG_BYTES)
    try:
        doc = loads_untrusted(raw)
    except JsonFormatError as exc:
        raise InvalidManifestError(f"image config {desc.digest.short} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidManifestError(f"image config {desc.digest.short} is not a JSON object")
    inner: dict[str, Any] = doc["config"] if isinstance(doc.get("config"), dict) else {}
    rootfs: dict[str, Any] = doc["rootfs"] if isinstance(doc.get("rootfs"), dict) else {}
    return ImageConfig(
        os=_str(doc.get("os")),
        architecture=_str(doc.get("architecture")),
        variant=_str(doc.get("variant")),
        created=_str(doc.get("created")),
        author=_str(doc.get("author")),
        labels=_labels(inner.get("Labels")),
        env=_optional_strings(inner.get("Env")),
        entrypoint=_optional_strings(inner.get("Entrypoint")),
        cmd=_optional_strings(inner.get("Cmd")),
        diff_ids=_strings(rootfs.get("diff_ids")),
    )


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _optional_strings(value: Any) -> tuple[str, ...] | None:
    """A list of strings, or ``None`` when absent (or null, as Go writes a nil slice)."""
    return None if value is None else _strings(value)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))
