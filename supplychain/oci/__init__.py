"""OCI data model: media types, descriptors, manifests and indexes that keep their raw bytes, and the
``ArtifactStore`` protocol every store (registry repository, on-disk layout) implements.

The names below are the package's public API (``from supplychain.oci import ArtifactStore, Descriptor``);
each submodule loads when one of its names is first used (``supplychain.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.lazy import lazy_exports

if TYPE_CHECKING:
    from supplychain.oci.attachment import AttachmentKind, attachment_tag, parse_attachment_tag
    from supplychain.oci.locate import Attachment, DamagedTag, Located, Location
    from supplychain.oci.mediatype import ALL_MANIFEST_TYPES, INDEX_TYPES, MANIFEST_TYPES, MediaType
    from supplychain.oci.model import (
        EMPTY_DESCRIPTOR,
        EMPTY_JSON,
        AnyManifest,
        Descriptor,
        Index,
        Manifest,
        Platform,
        build_index,
        build_manifest,
        parse_manifest,
    )
    from supplychain.oci.platform import host_platform, select_platform
    from supplychain.oci.referrers import referrers_tag
    from supplychain.oci.store import ArtifactStore, BlobMounter, PushResult, ReclaimsBlobs
    from supplychain.oci.tagwriter import TagEdit, TagRead, TagWrite, read_tag, write_tag

__all__ = [
    "ALL_MANIFEST_TYPES",
    "EMPTY_DESCRIPTOR",
    "EMPTY_JSON",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "AnyManifest",
    "ArtifactStore",
    "Attachment",
    "AttachmentKind",
    "BlobMounter",
    "DamagedTag",
    "Descriptor",
    "Index",
    "Located",
    "Location",
    "Manifest",
    "MediaType",
    "Platform",
    "PushResult",
    "ReclaimsBlobs",
    "TagEdit",
    "TagRead",
    "TagWrite",
    "attachment_tag",
    "build_index",
    "build_manifest",
    "host_platform",
    "parse_attachment_tag",
    "parse_manifest",
    "read_tag",
    "referrers_tag",
    "select_platform",
    "write_tag",
]

# mypy reads the imports above; a module __getattr__ it could see would make every unknown name Any.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, {
        "supplychain.oci.attachment": ("AttachmentKind", "attachment_tag", "parse_attachment_tag"),
        "supplychain.oci.locate": ("Attachment", "DamagedTag", "Located", "Location"),
        "supplychain.oci.mediatype": ("ALL_MANIFEST_TYPES", "INDEX_TYPES", "MANIFEST_TYPES", "MediaType"),
        "supplychain.oci.model": (
            "EMPTY_DESCRIPTOR", "EMPTY_JSON", "AnyManifest", "Descriptor", "Index", "Manifest", "Platform",
            "build_index", "build_manifest", "parse_manifest",
        ),
        "supplychain.oci.platform": ("host_platform", "select_platform"),
        "supplychain.oci.referrers": ("referrers_tag",),
        "supplychain.oci.store": ("ArtifactStore", "BlobMounter", "PushResult", "ReclaimsBlobs"),
        "supplychain.oci.tagwriter": ("TagEdit", "TagRead", "TagWrite", "read_tag", "write_tag"),
    })
