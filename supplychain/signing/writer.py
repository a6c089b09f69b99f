"""Append layers to cosign's one-layer-per-item tags (``sha256-<hex>.sig|.att|.sbom``) without losing concurrent
writers' layers.

The legacy scheme is read, append, put (``signing.legacy``); the read-change-put-confirm loop, its locks and its
retries are ``oci.tagwriter``'s, shared with the referrers tag. This module says what the tag holds (an image
manifest whose layers are the items; an index there is refused), when a layer is listed (same payload digest, same
signature), and how the manifest is rebuilt (blobs uploaded first, since the config blob depends on the layer
list; then the tag is read again before the put: ``rebase_attempts``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from supplychain.digest import Digest
from supplychain.limits import MAX_LAYERS
from supplychain.oci.model import AnyManifest, Descriptor, Manifest
from supplychain.oci.store import ArtifactStore
from supplychain.oci.tagwriter import RACING_READ_ATTEMPTS, Sleep, TagRead, read_tag, write_tag
from supplychain.signing import legacy
from supplychain.signing.error import SignatureTagError, SignatureWriteError

# Read-append-put rounds before giving up on a busy .sig tag.
APPEND_ATTEMPTS = 8
# Rebuilds of one put on a tag that changed while its blobs were uploaded, before putting anyway.
REBASE_ATTEMPTS = 4

_Layers = tuple[Manifest | None, list[Descriptor]]


@dataclass(frozen=True, slots=True)
class Appended:
    """What ``append_signature_layer`` did."""

    manifest: Descriptor  # the .sig manifest we put (or, when nothing was written, the one at the tag)
    already_present: bool  # the layer was listed before we wrote anything
    attempts: int  # puts made (0 when already present)


def read_signature_layers(
    store: ArtifactStore, tag: str, *, sleep: Sleep = time.sleep
) -> tuple[Manifest | None, list[Descriptor]]:
    """The ``.sig`` manifest at ``tag`` and its layers (``None`` and none if the tag is absent); an index there
    is refused with ``SignatureTagError``. A ``RegistryError`` is tried again (``RACING_READ_ATTEMPTS`` in all),
    since a registry may answer 500 to a read racing a concurrent write of the tag (``oci.tagwriter``)."""
    return read_tag(store, tag, _LayerEdit(store, tag, (), {}), attempts=RACING_READ_ATTEMPTS, sleep=sleep).state


def is_listed(layers: Sequence[Descriptor], layer: Descriptor) -> bool:
    """Whether ``layers`` hold ``layer``'s signature: the same payload digest and signature annotation."""
    signature = layer.annotations.get(legacy.SIGNATURE_ANNOTATION)
    return any(found.digest == layer.digest and found.annotations.get(legacy.SIGNATURE_ANNOTATION) == signature
               for found in layers)


def append_signature_layer(
    store: ArtifactStore,
    tag: str,
    layer: Descriptor,
    payload: bytes,
    *,
    sleep: Sleep = time.sleep,
    attempts: int = APPEND_ATTEMPTS,
    current: _Layers | None = None,
) -> Appended:
    """Append ``layer`` (whose blob is ``payload``) to the ``.sig`` manifest at ``tag`` and confirm it stuck.

    Blobs are written before the manifest that lists them. Raises ``SignatureTagError`` for an index at the tag
    or a manifest already at the layer cap, and ``SignatureWriteError`` when other writers kept overwriting the
    tag for ``attempts`` rounds (see the module docstring). A write the registry answers with a
    ``RegistryError`` (distribution's 500 for a write racing another) counts as a lost round; if no write at all
    succeeded, the registry's last error is raised as is. ``current``: what ``read_signature_layers`` answered
    earlier, to save the first read (the tag is read again before the put all the same).
    """
    return append_layers(store, tag, [layer], {layer.digest: payload}, sleep=sleep, attempts=attempts,
                         current=current)


def append_layers(
    store: ArtifactStore,
    tag: str,
    layers: Sequence[Descriptor],
    blobs: Mapping[Digest, bytes],
    *,
    sleep: Sleep = time.sleep,
    attempts: int = APPEND_ATTEMPTS,
    current: _Layers | None = None,
) -> Appended:
    """Append the ``layers`` the manifest at ``tag`` does not list yet (``is_listed``) and confirm they stuck: the
    writer of ``append_signature_layer``, for any of cosign's one-layer-per-item tags (``.sig``, ``.att``,
    ``.sbom``; ``copy`` merges a source's layers into a destination's with it). ``blobs`` holds the content of
    the layers' blobs the store may lack (uploaded first); any other layer blob must be in the store already.
    ``current``: the tag as ``read_signature_layers`` read it earlier (saves a read; it is read again before
    the put)."""
    edit = _LayerEdit(store, tag, layers, blobs)
    result = write_tag(
        store, tag, edit, attempts=attempts, sleep=sleep, read_attempts=RACING_READ_ATTEMPTS,
        rebase_attempts=REBASE_ATTEMPTS, retry_failed_puts=True,
        current=None if current is None else TagRead(current[0], current),
        lost=lambda: SignatureWriteError(
            f"the signature was not stored: other writers kept overwriting {store.name}:{tag} ({attempts} attempts)"
        ),
    )
    if result.pushed is not None:
        return Appended(result.pushed, False, result.puts)
    stored = result.current.manifest
    assert stored is not None
    return Appended(stored.descriptor(), result.puts == 0, result.puts)


@dataclass(frozen=True, slots=True)
class _LayerEdit:
    """Append ``layers`` to the one-layer-per-item manifest at ``tag`` (``oci.tagwriter.TagEdit``)."""

    store: ArtifactStore
    tag: str
    layers: Sequence[Descriptor]
    blobs: Mapping[Digest, bytes]

    def parse(self, found: AnyManifest | None) -> _Layers:
        if found is None:
            return None, []
        if not isinstance(found, Manifest):
            raise SignatureTagError(f"{self.store.name}:{self.tag} holds an image index, not a signature manifest")
        return found, list(found.layers)

    def done(self, state: _Layers) -> bool:
        current, listed = state
        return current is not None and _all_listed(listed, self.layers)

    def build(self, state: _Layers) -> Manifest:
        _, listed = state
        return _upload(self.store, self.tag, listed, _missing(listed, self.layers), self.blobs)


def _all_listed(listed: Sequence[Descriptor], layers: Sequence[Descriptor]) -> bool:
    return all(is_listed(listed, layer) for layer in layers)


def _missing(listed: Sequence[Descriptor], layers: Sequence[Descriptor]) -> list[Descriptor]:
    """``layers`` that ``listed`` lacks, each once, in order."""
    out: list[Descriptor] = []
    for layer in layers:
        if not is_listed(listed, layer) and not is_listed(out, layer):
            out.append(layer)
    return out


def _upload(
    store: ArtifactStore, tag: str, listed: list[Descriptor], added: list[Descriptor], blobs: Mapping[Digest, bytes]
) -> Manifest:
    """The manifest of ``listed`` plus ``added``, with the blobs it names uploaded (``blobs``, and its config;
    ``put_blob`` skips a blob the store has, so it is asked once)."""
    layers = [*listed, *added]
    if len(layers) > MAX_LAYERS:
        raise SignatureTagError(
            f"{store.name}:{tag} already holds {len(listed)} layers; {len(added)} more exceed the "
            f"{MAX_LAYERS} a manifest may have",
            hint="remove old signatures (supplychain clean --type signature) before adding more",
        )
    manifest, config = legacy.build_signature_manifest(layers)
    uploads = [(layer, blobs[layer.digest]) for layer in added if layer.digest in blobs]
    for desc, content in (*uploads, (manifest.config, config)):
        store.put_blob(desc, [content])
    return manifest

