"""Append one signature layer to cosign's ``sha256-<hex>.sig`` manifest without losing concurrent writers'.

The legacy scheme is read, append, put (``signing.legacy``). Neither the distribution spec nor an OCI image
layout offers a compare-and-swap on a tag, so two writers who read the same manifest overwrite each other and
one signature is silently lost. As the referrers-tag writer does (``registry.referrer``), each writer therefore
waits a short random time after its put, reads the tag again and checks that its layer (same payload digest, same
signature) is listed; if not, it appends again, a bounded number of times, and then fails: a lost signature is
never reported as stored. The confirmation only works if a writer's put lands soon after the read it is built on,
so blobs are uploaded first (the config blob depends on the layer list), then the tag is read again, and the
manifest is put only if the tag did not change meanwhile (else it is rebuilt on what is there now): the read a put
is built on is one request old.

Reading a tag that others are writing has one more hazard: CNCF distribution (the reference registry) rewrites a
tag's link file in place, so a GET that races a PUT of the same tag can read it empty and answer 500
("invalid checksum digest format"). The transport does not retry a 500 (usually a registry bug that answers the
same way again); reads of the ``.sig`` tag here try again a few times after a short random wait.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from supplychain.digest import Digest
from supplychain.errors import NotFoundError, RegistryError
from supplychain.limits import MAX_LAYERS
from supplychain.oci.model import Descriptor, Manifest
from supplychain.oci.store import ArtifactStore
from supplychain.signing import legacy
from supplychain.signing.error import SignatureTagError, SignatureWriteError

logger = logging.getLogger("supplychain.signing")

Sleep = Callable[[float], None]

# Read-append-put rounds before giving up on a busy .sig tag.
APPEND_ATTEMPTS = 8
# After our put, wait this long (seconds, uniform) so that a writer who read the tag before our put has landed
# its own put before we check that ours survived (the same range as the referrers-tag writer).
SETTLE_DELAY = (0.05, 0.25)
# Before appending again, a random wait of up to BACKOFF_BASE * 2**attempt seconds (capped), so that writers
# who collided do not collide again in step.
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0
# Rebuilds of one put on a tag that changed while its blobs were uploaded, before putting anyway.
REBASE_ATTEMPTS = 4
# Reads of the .sig tag answered with a registry error (see the module docstring), and the longest wait between.
READ_ATTEMPTS = 5
READ_BACKOFF_CAP = 0.5


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
    is refused with ``SignatureTagError``. A ``RegistryError`` is tried again (``READ_ATTEMPTS`` in all), since a
    registry may answer 500 to a read racing a concurrent write of the tag (see the module docstring)."""
    for attempt in range(READ_ATTEMPTS - 1):
        try:
            return _read_signature_layers(store, tag)
        except RegistryError as exc:
            logger.debug("reading %s:%s failed (%s); reading it again", store.name, tag, exc)
            sleep(random.uniform(0, min(READ_BACKOFF_CAP, 2 * BACKOFF_BASE * 2**attempt)))  # noqa: S311 - jitter
    return _read_signature_layers(store, tag)


def _read_signature_layers(store: ArtifactStore, tag: str) -> tuple[Manifest | None, list[Descriptor]]:
    try:
        current = store.get_manifest(tag)
    except NotFoundError:
        return None, []
    if not isinstance(current, Manifest):
        raise SignatureTagError(f"{store.name}:{tag} holds an image index, not a signature manifest")
    return current, list(current.layers)


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
) -> Appended:
    """Append ``layer`` (whose blob is ``payload``) to the ``.sig`` manifest at ``tag`` and confirm it stuck.

    Blobs are written before the manifest that lists them. Raises ``SignatureTagError`` for an index at the tag
    or a manifest already at the layer cap, and ``SignatureWriteError`` when other writers kept overwriting the
    tag for ``attempts`` rounds (see the module docstring). A write the registry answers with a
    ``RegistryError`` (distribution's 500 for a write racing another) counts as a lost round; if no write at all
    succeeded, the registry's last error is raised as is.
    """
    return append_layers(store, tag, [layer], {layer.digest: payload}, sleep=sleep, attempts=attempts)


def append_layers(
    store: ArtifactStore,
    tag: str,
    layers: Sequence[Descriptor],
    blobs: Mapping[Digest, bytes],
    *,
    sleep: Sleep = time.sleep,
    attempts: int = APPEND_ATTEMPTS,
) -> Appended:
    """Append the ``layers`` the manifest at ``tag`` does not list yet (``is_listed``) and confirm they stuck: the
    writer of ``append_signature_layer``, for any of cosign's one-layer-per-item tags (``.sig``, ``.att``,
    ``.sbom``; ``copy`` merges a source's layers into a destination's with it). ``blobs`` holds the content of
    the layers' blobs the store may lack (uploaded first); any other layer blob must be in the store already."""
    current, listed = read_signature_layers(store, tag, sleep=sleep)
    if current is not None and _all_listed(listed, layers):
        return Appended(current.descriptor(), True, 0)
    written = 0
    failure: RegistryError | None = None
    for attempt in range(attempts):
        try:
            pushed = _put(store, tag, current, listed, layers, blobs, sleep)
        except RegistryError as exc:
            failure = exc
            logger.debug("writing %s:%s failed (%s); trying again", store.name, tag, exc)
        else:
            written += 1
            sleep(random.uniform(*SETTLE_DELAY))  # noqa: S311 - timing jitter, not a secret
            current, listed = read_signature_layers(store, tag, sleep=sleep)
            if _all_listed(listed, layers):
                return Appended(pushed, False, written)
            logger.debug("%s:%s was overwritten by another writer; appending again", store.name, tag)
        sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))  # noqa: S311 - jitter
        current, listed = read_signature_layers(store, tag, sleep=sleep)
        if current is not None and _all_listed(listed, layers):  # a write answered with an error did land
            return Appended(current.descriptor(), False, written)
    if written == 0 and failure is not None:
        raise failure
    raise SignatureWriteError(
        f"the signature was not stored: other writers kept overwriting {store.name}:{tag} "
        f"({attempts} attempts)"
    )


def _all_listed(listed: Sequence[Descriptor], layers: Sequence[Descriptor]) -> bool:
    return all(is_listed(listed, layer) for layer in layers)


def _missing(listed: Sequence[Descriptor], layers: Sequence[Descriptor]) -> list[Descriptor]:
    """``layers`` that ``listed`` lacks, each once, in order."""
    out: list[Descriptor] = []
    for layer in layers:
        if not is_listed(listed, layer) and not is_listed(out, layer):
            out.append(layer)
    return out


def _put(
    store: ArtifactStore,
    tag: str,
    current: Manifest | None,
    listed: list[Descriptor],
    layers: Sequence[Descriptor],
    blobs: Mapping[Digest, bytes],
    sleep: Sleep,
) -> Descriptor:
    """Put the manifest of ``listed`` plus the ``layers`` it lacks under ``tag``, which held ``current``: blobs
    first, then the tag is read again and, if it changed meanwhile, the manifest is rebuilt on what it holds now
    (see the module docstring). The descriptor of the manifest put."""
    for _ in range(REBASE_ATTEMPTS):
        manifest = _upload(store, tag, listed, _missing(listed, layers), blobs)
        now, now_listed = read_signature_layers(store, tag, sleep=sleep)
        if _digest(now) == _digest(current):
            break
        current, listed = now, now_listed
        if current is not None and _all_listed(listed, layers):  # an earlier put answered with an error did land
            return current.descriptor()
    else:
        manifest = _upload(store, tag, listed, _missing(listed, layers), blobs)
    return store.put_manifest(manifest, tag=tag).descriptor


def _upload(
    store: ArtifactStore, tag: str, listed: list[Descriptor], added: list[Descriptor], blobs: Mapping[Digest, bytes]
) -> Manifest:
    """The manifest of ``listed`` plus ``added``, with the blobs it names uploaded (``blobs``, and its config)."""
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
        if not store.has_blob(desc.digest):
            store.put_blob(desc, [content])
    return manifest


def _digest(manifest: Manifest | None) -> Digest | None:
    return None if manifest is None else manifest.digest
