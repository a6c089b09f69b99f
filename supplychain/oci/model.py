"""Descriptors, image manifests and indexes (OCI image-spec descriptor.md, manifest.md, image-index.md).

Parsed manifests keep the raw bytes they came from: the digest is computed over those bytes, and a manifest is
pushed again byte for byte, never re-serialised (STYLE.md section 4).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError, InvalidManifestError, SizeLimitError, UnsupportedMediaTypeError
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.limits import MAX_INDEX_ENTRIES, MAX_LAYERS, MAX_MANIFEST_BYTES
from supplychain.oci.mediatype import ALL_MANIFEST_TYPES, INDEX_TYPES, MANIFEST_TYPES, MediaType


@dataclass(frozen=True, slots=True)
class Platform:
    """``os/architecture[/variant]`` of an index entry (image-index.md "platform")."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]`` as docker's ``--platform`` does."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidManifestError(
                f"invalid platform {text!r}", hint="write it as os/arch[/variant], e.g. linux/arm64/v8"
            )
        return cls(parts[0].lower(), parts[1].lower(), parts[2].lower() if len(parts) == 3 else None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A content descriptor: what a manifest, index or layer is, and where its bytes are."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    data: bytes | None = None

    @classmethod
    def for_bytes(
        cls,
        media_type: str,
        content: bytes,
        *,
        annotations: Mapping[str, str] | None = None,
        artifact_type: str | None = None,
    ) -> Descriptor:
        """The descriptor of ``content``."""
        return cls(
            media_type=media_type,
            digest=Digest.of(content),
            size=len(content),
            annotations=dict(annotations or {}),
            artifact_type=artifact_type,
        )

    @classmethod
    def from_json(cls, obj: Any, *, where: str = "descriptor") -> Descriptor:
        """Validate and read a descriptor object from untrusted JSON."""
        if not isinstance(obj, dict):
            raise InvalidManifestError(f"{where} is not a JSON object")
        media_type = obj.get("mediaType")
        digest = obj.get("digest")
        size = obj.get("size")
        if not isinstance(media_type, str) or not media_type:
            raise InvalidManifestError(f"{where} has no mediaType")
        if not isinstance(digest, str):
            raise InvalidManifestError(f"{where} has no digest")
        # descriptor.md: size is an int64 (the decoder already refused what is wider than 64 bits).
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= _INT64_MAX:
            raise InvalidManifestError(f"{where} has no valid size (a non-negative integer)")
        try:
            parsed_digest = Digest.parse(digest)
        except InvalidDigestError as exc:
            raise InvalidManifestError(f"{where}: {exc.message}") from exc
        annotations = obj.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise InvalidManifestError(f"{where} annotations must map strings to strings")
        artifact_type = obj.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise InvalidManifestError(f"{where} artifactType must be a string")
        platform = _platform_from_json(obj.get("platform"), where)
        urls = obj.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise InvalidManifestError(f"{where} urls must be a list of strings")
        data = None
        if isinstance(obj.get("data"), str):
            try:
                data = base64.b64decode(obj["data"], validate=True)
            except binascii.Error as exc:
                raise InvalidManifestError(f"{where} data is not base64") from exc
            parsed_digest.verify(data, what=f"{where} embedded data")
        return cls(media_type, parsed_digest, size, annotations, artifact_type, platform, tuple(urls), data)

    def to_json(self) -> dict[str, Any]:
        """The descriptor as a JSON object with the spec's field order."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = self.platform.to_json()
        if self.urls:
            out["urls"] = list(self.urls)
        return out

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def is_manifest(self) -> bool:
        return self.media_type in MANIFEST_TYPES


def _platform_from_json(obj: Any, where: str) -> Platform | None:
    if obj is None:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("os"), str) or not isinstance(
        obj.get("architecture"), str
    ):
        raise InvalidManifestError(f"{where} platform needs string os and architecture")
    variant = obj.get("variant")
    os_version = obj.get("os.version")
    return Platform(
        obj["os"],
        obj["architecture"],
        variant if isinstance(variant, str) else None,
        os_version if isinstance(os_version, str) else None,
    )


# The empty descriptor (image-spec manifest.md "Guidance for an empty descriptor"): config of artifacts.
EMPTY_JSON = b"{}"
EMPTY_DESCRIPTOR = Descriptor(MediaType.OCI_EMPTY, Digest.of(EMPTY_JSON), len(EMPTY_JSON))


@dataclass(frozen=True, slots=True)
class Manifest:
    """An image manifest (OCI or Docker v2.2), with the raw bytes it was read from."""

    raw: bytes
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    def descriptor(self) -> Descriptor:
        """This manifest's own descriptor, carrying artifactType and annotations as the referrers API does."""
        return Descriptor(
            self.media_type,
            self.digest,
            len(self.raw),
            dict(self.annotations),
            self.artifact_type or (self.config.media_type if self.subject is not None else None),
        )

    @property
    def is_index(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Index:
    """An image index (OCI) or manifest list (Docker), with its raw bytes."""

    raw: bytes
    media_type: str
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    def descriptor(self) -> Descriptor:
        return Descriptor(
            self.media_type, self.digest, len(self.raw), dict(self.annotations), self.artifact_type
        )

    @property
    def is_index(self) -> bool:
        return True


AnyManifest = Manifest | Index


def parse_manifest(raw: bytes, media_type: str | None = None) -> AnyManifest:
    """Parse and validate a manifest or index from its raw bytes.

    ``media_type`` is what the server or the referring descriptor said (Content-Type); the document's own
    ``mediaType`` wins when present, and the two must agree when both are known.
    """
    if len(raw) > MAX_MANIFEST_BYTES:
        raise SizeLimitError(
            f"manifest is {len(raw)} bytes, over the {MAX_MANIFEST_BYTES}-byte limit of the distribution spec",
            hint="manifests over 4 MiB are refused; this one is malformed or hostile",
        )
    try:
        # Strict: duplicate keys, numbers past int64/uint64, NaN, bad UTF-8 and hostile nesting are refused.
        doc = loads_untrusted(raw)
    except JsonFormatError as exc:
        raise InvalidManifestError(f"manifest is not valid JSON: {exc}", hint=exc.hint) from exc
    if not isinstance(doc, dict):
        raise InvalidManifestError("manifest is not a JSON object")
    declared = doc.get("mediaType")
    header = (media_type or "").split(";")[0].strip() or None
    if declared is not None and not isinstance(declared, str):
        raise InvalidManifestError("manifest mediaType must be a string")
    if declared and header and header in ALL_MANIFEST_TYPES and declared != header:
        raise InvalidManifestError(f"manifest says it is {declared} but was served as {header}")
    kind = declared or header or _sniff(doc)
    if kind not in ALL_MANIFEST_TYPES:
        raise UnsupportedMediaTypeError(f"unsupported manifest media type {kind!r}")
    if doc.get("schemaVersion") != 2:
        raise InvalidManifestError("manifest schemaVersion must be 2")
    _refuse_contradicting_fields(doc, kind, declared)
    subject = Descriptor.from_json(doc["subject"], where="subject") if doc.get("subject") else None
    artifact_type = doc.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise InvalidManifestError("manifest artifactType must be a string")
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise InvalidManifestError("manifest annotations must map strings to strings")
    if kind in INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise InvalidManifestError("index has no manifests list")
        if len(entries) > MAX_INDEX_ENTRIES:
            raise SizeLimitError(f"index lists {len(entries)} manifests, over the limit of {MAX_INDEX_ENTRIES}")
        manifests = tuple(
            Descriptor.from_json(e, where=f"index entry {i}") for i, e in enumerate(entries)
        )
        return Index(raw, kind, manifests, subject, artifact_type, annotations)
    if "config" not in doc:
        raise InvalidManifestError("image manifest has no config descriptor")
    layers_json = doc.get("layers")
    if layers_json is None:
        layers_json = []
    if not isinstance(layers_json, list):
        raise InvalidManifestError("image manifest layers must be a list")
    if len(layers_json) > MAX_LAYERS:
        raise SizeLimitError(f"manifest has {len(layers_json)} layers, over the limit of {MAX_LAYERS}")
    config = Descriptor.from_json(doc["config"], where="config")
    layers = tuple(Descriptor.from_json(e, where=f"layer {i}") for i, e in enumerate(layers_json))
    return Manifest(raw, kind, config, layers, subject, artifact_type, annotations)


_AMBIGUOUS_HINT = (
    "the document's fields contradict its type, so tools that read it by its fields and tools that read it by "
    "its media type see different content (GHSA-qq97-vm5h-rrhg); OCI image-spec requires mediaType for this reason"
)


def _refuse_contradicting_fields(doc: dict[str, Any], kind: str, declared: str | None) -> None:
    """Refuse an index with ``config``/``layers`` and a manifest with ``manifests``.

    A document with both sets of fields is an index to one reader and an image manifest to another, chosen by a
    Content-Type the pusher controls (GHSA-qq97-vm5h-rrhg; distribution 2.8.0 refuses such pushes, and
    image-spec 1.0.2 made ``mediaType`` required in manifest.md and image-index.md for this reason).
    """
    said = f"says it is {declared}" if declared else f"has no mediaType and was read as {kind}"
    if kind in INDEX_TYPES:
        extra = sorted(name for name in ("config", "layers") if name in doc)
        if extra:
            raise InvalidManifestError(f"index {said} but has image manifest field(s) {', '.join(extra)}",
                                       hint=_AMBIGUOUS_HINT)
    elif "manifests" in doc:
        raise InvalidManifestError(f"image manifest {said} but has the index field manifests", hint=_AMBIGUOUS_HINT)


def _sniff(doc: dict[str, Any]) -> str | None:
    """Guess the type of an OCI document that omits ``mediaType`` (allowed by image-spec)."""
    if "manifests" in doc:
        return MediaType.OCI_INDEX
    if "config" in doc:
        return MediaType.OCI_MANIFEST
    return None


def encode_json(obj: Any) -> bytes:
    """Compact JSON as Go's encoder writes it for manifests we create (we never re-encode received ones)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def build_manifest(
    config: Descriptor,
    layers: Sequence[Descriptor],
    *,
    subject: Descriptor | None = None,
    artifact_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
    media_type: str = MediaType.OCI_MANIFEST,
) -> Manifest:
    """Build an image manifest (artifact manifests are image manifests with ``artifactType``)."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["config"] = config.to_json()
    doc["layers"] = [layer.to_json() for layer in layers]
    if subject is not None:
        doc["subject"] = _bare(subject).to_json()
    if annotations:
        doc["annotations"] = dict(annotations)
    raw = encode_json(doc)
    return Manifest(
        raw,
        media_type,
        config,
        tuple(layers),
        _bare(subject) if subject else None,
        artifact_type,
        dict(annotations or {}),
    )


def build_index(
    manifests: Sequence[Descriptor],
    *,
    subject: Descriptor | None = None,
    artifact_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Index:
    """Build an OCI image index."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["manifests"] = [m.to_json() for m in manifests]
    if subject is not None:
        doc["subject"] = _bare(subject).to_json()
    if annotations:
        doc["annotations"] = dict(annotations)
    return Index(encode_json(doc), MediaType.OCI_INDEX, tuple(manifests), subject, artifact_type,
                 dict(annotations or {}))


def _bare(desc: Descriptor) -> Descriptor:
    """A subject descriptor carries only mediaType, digest and size."""
    return Descriptor(desc.media_type, desc.digest, desc.size)
