"""An OCI image layout directory as an ``ArtifactStore`` (``oci:PATH`` references): ``OciLayout``.

The on-disk format is OCI image-spec image-layout.md: an ``oci-layout`` file (``{"imageLayoutVersion":"1.0.0"}``),
an ``index.json`` image index whose entries are the layout's entry points, and content-addressed blobs at
``blobs/<alg>/<hex>``. Tags are ``org.opencontainers.image.ref.name`` annotations of ``index.json`` entries
(annotations.md, "Pre-Defined Annotation Keys"); a tag is unique, so putting a tag moves it.

Safety (``supplychain.oci.store`` contract):
- every write is atomic: bytes go to a temp file in the layout directory while they are hashed, are fsynced, and
  are renamed into place only when digest and size match; a failure removes the temp file;
- ``index.json`` is read, changed and replaced (temp file + rename) under an exclusive ``flock`` on the layout
  directory itself (no lock file is left in the layout), so concurrent writers (threads or processes) never lose
  each other's entries; readers need no lock because the rename is atomic;
- every blob and manifest read is checked against its digest; manifests are capped at 4 MiB; ``index.json`` and
  ``oci-layout`` are read strictly (``formats.strictjson``);
- an instance remembers the blobs it wrote, so a failed copy can take back exactly those that nothing in
  ``index.json`` reaches (``discard_orphans``, ``abort``), never a blob another writer put there.

``index.json`` lists the layout's entry points only, so that skopeo and umoci (which read one image per entry
and refuse an untagged layout of several) keep working: a tagged manifest gets an entry; an untagged one only
when it has a ``subject`` (a referrer: a layout has no referrers API, so ``referrers()`` finds them by scanning
the entries, which carry ``artifactType`` and annotations); a manifest a tag moved away from loses its entry
unless it has a subject or another tag. Other manifests (the platform manifests of an index, untagged images)
are blobs only and resolve by digest. ``referrers()`` also merges the referrers tag ``<alg>-<hex>``
(distribution spec 1.1, "Referrers tag schema") when another tool keeps one.

Modules, by concept (each imports only those after it): ``store`` (``OciLayout``: reads, writes, referrers),
``reclaim`` (gc, the blobs a clean left, taking back a failed operation's writes), ``index`` (``index.json``:
strict read, the parsed view and its cache, transactions, the deferred index), ``entry`` (the rules of
``index.json`` entries: tags, referrers), ``directory`` (file names, opening and creating, the lock, durable
writes through flocked temp files, the stale temp sweep, blob paths), ``errors``.
"""

from supplychain.layout.directory import TEMP_PREFIX
from supplychain.layout.entry import REF_NAME
from supplychain.layout.errors import (
    CorruptLayoutError,
    LayoutError,
    LayoutIOError,
    LayoutNotFoundError,
    NotALayoutError,
)
from supplychain.layout.store import OciLayout

__all__ = [
    "REF_NAME",
    "TEMP_PREFIX",
    "CorruptLayoutError",
    "LayoutError",
    "LayoutIOError",
    "LayoutNotFoundError",
    "NotALayoutError",
    "OciLayout",
]
