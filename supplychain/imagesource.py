"""What ``sbom generate SOURCE`` scans, opened (issue 12, item 1): the one place that turns a source as the user wrote
it into an ``imagefs.image.Image`` (its metadata and its layers, each with a way to open it).

Sources, as syft and skopeo spell them:

- a registry reference (``[docker://]registry/name[:tag][@digest]``) and ``oci:DIR[:tag|@digest]``, through
  ``store.open_store`` (this module is on row 7 for that: ``imagefs`` itself is store-agnostic);
- ``docker-archive:PATH[:NAME:TAG]`` (``docker save``) and ``oci-archive:PATH[:NAME|@DIGEST]`` (a tar of an OCI
  layout), read in place (``imagefs.archive``);
- ``dir:PATH``, a root filesystem on disk (``imagefs.directory``: an ``Image`` with ``directory`` set, no layers).

An index is resolved to the manifest of ``platform`` (default: this machine's, as docker pulls;
``oci.platform``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from supplychain.config import Settings
from supplychain.errors import InvalidReferenceError
from supplychain.imagefs.archive import docker_archive_image, oci_archive_image
from supplychain.imagefs.image import Image, image_from_descriptor
from supplychain.oci.model import Descriptor, Platform
from supplychain.reference import names_registry, parse_reference
from supplychain.store import open_store

if TYPE_CHECKING:
    from supplychain.registry import RegistryPool

__all__ = ["SOURCE_FORMS", "names_image", "open_image"]

# The transports of SOURCE_FORMS, as a source starts with them.
_TRANSPORTS = ("oci:", "docker-archive:", "oci-archive:", "dir:", "docker://")

SOURCE_FORMS = ("[docker://]REGISTRY/NAME[:TAG][@DIGEST]", "oci:DIR[:TAG|@DIGEST]", "docker-archive:PATH[:NAME:TAG]",
                "oci-archive:PATH[:NAME|@DIGEST]", "dir:PATH")


def _split(rest: str, transport: str) -> tuple[Path, str | None]:
    """``PATH[:REF]`` split at the first ``:``, as containers/image splits its archive transports."""
    path, colon, reference = rest.partition(":")
    if not path:
        raise InvalidReferenceError(f"invalid source {transport}:{rest!r}: no path",
                                    hint=f"write it as {transport}:PATH[:REF]")
    return Path(path), (reference if colon and reference else None)


def names_image(source: str) -> bool:
    """Whether ``source`` names an image unambiguously: with its transport, or as a reference with its registry
    (``sbom diff`` tells images from SBOM file names with it, and never looks a bare word up on Docker Hub)."""
    return source.startswith(_TRANSPORTS) or names_registry(source)


@contextlib.contextmanager
def open_image(source: str, settings: Settings, *, platform: Platform | None = None,
               registries: RegistryPool | None = None) -> Iterator[Image]:
    """The image ``source`` names (module docstring), its store (if any) open until the block ends: the layers'
    openers read from it."""
    if source.startswith("dir:"):
        path = source[len("dir:"):]
        if not path:
            raise InvalidReferenceError("invalid source 'dir:': no path", hint="write it as dir:PATH")
        yield Image(source, None, None, None, (), (), directory=Path(path))
        return
    if source.startswith("docker-archive:"):
        archive, reference = _split(source[len("docker-archive:"):], "docker-archive")
        yield docker_archive_image(archive, reference)
        return
    if source.startswith("oci-archive:"):
        archive, reference = _split(source[len("oci-archive:"):], "oci-archive")
        yield oci_archive_image(archive, reference, platform)
        return
    ref = parse_reference(source)
    with open_store(ref, settings, registries=registries) as store:
        desc = store.resolve(ref.identifier)

        def read_blob(blob: Descriptor, limit: int) -> bytes:
            return store.get_blob(blob, limit=limit)

        yield image_from_descriptor(str(ref), desc, get_manifest=store.get_manifest, read_blob=read_blob,
                                    open_blob=store.open_blob, platform=platform)
