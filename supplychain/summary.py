"""What ``inspect`` shows: an image's identity, platforms, config and labels, as a value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import InvalidManifestError
from supplychain.oci.model import Descriptor, Index, Manifest, Platform
from supplychain.oci.platform import select_platform
from supplychain.oci.store import ArtifactStore


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of an image config (image-spec config.md) people look at."""

    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    created: str | None = None
    author: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    diff_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageSummary:
    """One manifest or index, described."""

    reference: str
    descriptor: Descriptor
    platforms: tuple[tuple[Platform | None, Descriptor], ...] = ()  # for an index
    config: ImageConfig | None = None  # for an image manifest
    layers: tuple[Descriptor, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    subject: Digest | None = None

    @property
    def total_size(self) -> int:
        """Manifest plus config plus layers (compressed), for an image manifest."""
        return sum(layer.size for layer in self.layers) + self.descriptor.size


def summarize(
    store: ArtifactStore, identifier: str | Digest, *, platform: Platform | None = None, reference: str = ""
) -> ImageSummary:
    """Describe ``identifier`` in ``store``; with ``platform``, descend into an index to that platform."""
    desc = store.resolve(identifier)
    manifest = store.get_manifest(desc)
    if isinstance(manifest, Index) and platform is not None:
        desc = select_platform(manifest, platform)
        manifest = store.get_manifest(desc)
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
    config = None
    if manifest.config.media_type.endswith("config.v1+json") or manifest.config.media_type.endswith(
        "container.image.v1+json"
    ):
        config = _read_config(store, manifest.config)
    return ImageSummary(
        reference,
        desc,
        config=config,
        layers=manifest.layers,
        annotations=dict(manifest.annotations),
        artifact_type=manifest.artifact_type,
        subject=subject,
    )


def _read_config(store: ArtifactStore, desc: Descriptor) -> ImageConfig:
    raw = store.get_blob(desc, limit=16 * 1024 * 1024)
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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
        env=_strings(inner.get("Env")),
        entrypoint=_strings(inner.get("Entrypoint")),
        cmd=_strings(inner.get("Cmd")),
        diff_ids=_strings(rootfs.get("diff_ids")),
    )


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))
