"""``triangulate``: where the attachments of one digest live, as full references (cosign's command of that name).

For a cosign tag kind, the full reference of the ``.sig``/``.att``/``.sbom`` tag, which cosign prints whether or
not the tag exists; for bundles, the references of the Sigstore bundle referrers (``oci.locate``), which have no tag.
``COSIGN_REPOSITORY`` (attachments kept in another repository) is not supported, as in ``sign``/``verify``.
"""

from __future__ import annotations

from supplychain.digest import Digest
from supplychain.errors import NotFoundError
from supplychain.oci.attachment import AttachmentKind, attachment_location, attachment_repository
from supplychain.oci.locate import locate
from supplychain.oci.store import ArtifactStore
from supplychain.reference import AnyReference


class NoBundlesError(NotFoundError):
    """``triangulate --type bundle`` on an image without Sigstore bundle referrers."""

    default_hint = "bundles are written by `sign --format bundle` (cosign v3); legacy signatures live at the " \
        "tag `triangulate --type signature` prints"


def repository_name(reference: AnyReference) -> str:
    """How attachment locations are spelled for ``reference``'s repository: cosign's ``registry/repository``
    (Docker Hub as ``index.docker.io``, go-containerregistry's ``Name()``), or ``oci:PATH`` for a layout
    (``oci.attachment.attachment_repository``)."""
    return attachment_repository(reference)


def triangulate(subject: Digest, kind: AttachmentKind, *, repository: str) -> str:
    """The one tag cosign would read or write ``kind`` at for ``subject`` (``<repository>:sha256-<hex>.sig``),
    whether or not it exists (cosign ``triangulate`` does not check either): computed offline."""
    return attachment_location(repository, subject, kind)


def triangulate_bundles(store: ArtifactStore, subject: Digest, *, repository: str) -> tuple[str, ...]:
    """``<repository>@<digest>`` of each Sigstore bundle referrer of ``subject``; none is ``NoBundlesError``."""
    located = locate(store, subject, tags=())
    if located.listing_error is not None:
        raise located.listing_error
    found = [a.descriptor for a in located.referrers if a.is_bundle]
    if not found:
        raise NoBundlesError(f"no Sigstore bundle referrers for {subject} in {store.name}")
    return tuple(f"{repository}@{d.digest}" for d in found)
