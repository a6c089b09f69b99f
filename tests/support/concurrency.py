"""Helpers for the concurrent-writer tests of the ``.sig`` manifest: a store whose tag is overwritten by a
simulated rival writer after our put, and a runner that starts callables together on threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from supplychain.errors import NotFoundError
from supplychain.oci.model import AnyManifest, Descriptor, Manifest
from supplychain.oci.store import ArtifactStore, PushResult
from supplychain.signing import legacy

T = TypeVar("T")


class RivalStore:
    """An ``ArtifactStore`` proxy: after each of our first ``overwrites`` puts of a ``.sig`` tag, a rival writer
    who read the tag before our put lands its own put: what it read, plus its own layer. Our layer is lost."""

    def __init__(self, inner: ArtifactStore, overwrites: int) -> None:
        self.inner = inner
        self.overwrites = overwrites
        self.puts = 0
        self.rival_layers: list[Descriptor] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def put_manifest(self, manifest: AnyManifest, *, tag: str | None = None) -> PushResult:
        if tag is None or not tag.endswith(".sig"):
            return self.inner.put_manifest(manifest, tag=tag)
        read = self._layers(tag)  # what the rival read: the tag before our put
        pushed = self.inner.put_manifest(manifest, tag=tag)
        self.puts += 1
        if self.overwrites > 0:
            self.overwrites -= 1
            self._rival_put(tag, read)
        return pushed

    def _layers(self, tag: str) -> list[Descriptor]:
        try:
            before = self.inner.get_manifest(tag)
        except NotFoundError:
            return []
        return list(before.layers) if isinstance(before, Manifest) else []

    def _rival_put(self, tag: str, read: list[Descriptor]) -> None:
        """The rival's put: what it read, plus its own layer."""
        payload = f"rival payload {len(self.rival_layers)}".encode()
        layer = legacy.signature_layer(payload, f"rival signature {len(self.rival_layers)}".encode())
        self.inner.put_blob(layer, [payload])
        self.rival_layers.append(layer)
        rival, config = legacy.build_signature_manifest([*read, layer])
        self.inner.put_blob(rival.config, [config])
        self.inner.put_manifest(rival, tag=tag)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


class LateRivalStore(RivalStore):
    """A ``RivalStore`` whose rival lands later: it read the tag before our put, and its put lands just after our
    first confirming read (the window one read cannot see). Its lock, like a registry's, does not bind every
    writer (``LocksTags.locks_every_writer``), so the writer confirms again later."""

    locks_every_writer = False

    def __init__(self, inner: ArtifactStore, overwrites: int) -> None:
        super().__init__(inner, overwrites)
        self._pending: list[Descriptor] | None = None

    def put_manifest(self, manifest: AnyManifest, *, tag: str | None = None) -> PushResult:
        if tag is None or not tag.endswith(".sig"):
            return self.inner.put_manifest(manifest, tag=tag)
        read = self._layers(tag)
        pushed = self.inner.put_manifest(manifest, tag=tag)
        self.puts += 1
        if self.overwrites > 0:
            self.overwrites -= 1
            self._pending = read  # the rival's put waits for our confirming read
        return pushed

    def get_manifest(self, ref: Any) -> AnyManifest:
        found = self.inner.get_manifest(ref)
        if self._pending is not None and isinstance(ref, str) and ref.endswith(".sig"):
            read, self._pending = self._pending, None
            self._rival_put(ref, read)  # after the read that answered: we saw our layer there
        return found


def no_sleep(seconds: float) -> None:
    """A ``sleep`` for tests that need no real pause (a rival is simulated, not racing)."""


def run_together(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, released at the same moment (a barrier), and return their results."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
