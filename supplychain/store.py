"""Open the ``ArtifactStore`` a reference names: a registry repository or an OCI layout directory.

The one place that knows both kinds of store; everything above receives the protocol.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from supplychain.config import Settings
from supplychain.errors import SupplyChainError
from supplychain.oci.store import ArtifactStore
from supplychain.reference import AnyReference, LayoutReference

if TYPE_CHECKING:
    from supplychain.registry import RegistryPool

__all__ = ["open_destination", "open_store"]

logger = logging.getLogger(__name__)


def open_store(
    reference: AnyReference, settings: Settings, *, create: bool = False, registries: RegistryPool | None = None
) -> ArtifactStore:
    """The store holding ``reference``; ``create`` makes a missing OCI layout (copy destinations). ``registries``:
    the run's shared registry clients (one per registry across many images), else a client of its own."""
    if isinstance(reference, LayoutReference):
        from supplychain.layout import OciLayout

        return OciLayout(reference.path, create=create, settings=settings)
    if registries is not None:
        return registries.repository(reference)
    from supplychain.registry import open_repository

    return open_repository(reference, settings)


@contextlib.contextmanager
def open_destination(reference: AnyReference, settings: Settings, *,
                     registries: RegistryPool | None = None) -> Iterator[ArtifactStore]:
    """The store to copy into, closed on exit; for an OCI layout (made if missing), a transaction:

    - when the block raises, a layout this copy created is removed whole, and in a layout that existed the blobs
      this copy wrote that no ``index.json`` entry reaches are deleted (``OciLayout.abort``);
    - its ``index.json`` changes are written once, when the block ends (``OciLayout.deferred_index``);
    - when it ends normally, blobs it wrote that nothing reaches (those of attachments that failed, reported as
      values) are deleted too (``OciLayout.discard_orphans``).

    Blobs another writer put in the layout are never touched. A registry keeps what was pushed (its own garbage
    collection reclaims unreferenced blobs). ``registries``: as for ``open_store``.
    """
    if not isinstance(reference, LayoutReference):
        with contextlib.closing(open_store(reference, settings, registries=registries)) as repository:
            yield repository
        return
    from supplychain.layout import OciLayout

    layout = OciLayout(reference.path, create=True, settings=settings)
    try:
        with layout.deferred_index():  # index.json written once, at the end (not once per manifest)
            yield layout
    except BaseException:  # broad: an interrupted copy (Ctrl-C) must leave the layout as it was too; re-raised
        _tidy(layout.abort, layout.name)
        raise
    else:
        _tidy(layout.discard_orphans, layout.name)
    finally:
        layout.close()


def _tidy(action: Callable[[], object], where: str) -> None:
    """Run a clean-up; its own failure is logged, never raised over the error (or result) being returned."""
    try:
        action()
    except SupplyChainError as exc:
        logger.warning("could not remove the unused blobs this copy wrote to %s: %s", where, exc)
