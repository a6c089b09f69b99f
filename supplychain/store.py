"""Open the ``ArtifactStore`` a reference names: a registry repository or an OCI layout directory.

The one place that knows both kinds of store; everything above receives the protocol.
"""

from __future__ import annotations

from supplychain.config import Settings
from supplychain.oci.store import ArtifactStore
from supplychain.reference import AnyReference, LayoutReference


def open_store(reference: AnyReference, settings: Settings, *, create: bool = False) -> ArtifactStore:
    """The store holding ``reference``; ``create`` makes a missing OCI layout (copy destinations)."""
    if isinstance(reference, LayoutReference):
        from supplychain.layout import OciLayout

        return OciLayout(reference.path, create=create, settings=settings)
    from supplychain.registry import open_repository

    return open_repository(reference, settings)
