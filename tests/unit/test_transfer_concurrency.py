"""``transfer.copy_image`` moves blobs concurrently (issue 10, item 3): never more than ``concurrency`` at once,
manifests only after their blobs, a failing blob stops the others and the layout destination is left as it was.
Real layouts on both sides; the stores are wrapped only to count and to hold streams open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.errors import DigestMismatchError
from supplychain.layout import OciLayout
from supplychain.oci.model import AnyManifest, Descriptor
from supplychain.oci.store import PushResult
from supplychain.reference import LayoutReference
from supplychain.store import open_destination
from supplychain.transfer import CopyCancelledError, copy_image
from tests.support.layers import corrupt_blob, layered_image

# A barrier that is not reached in this time means the copy did not run that many blobs at once: the test fails
# (nothing here waits this long when the copy is right).
BARRIER_SECONDS = 30


class CountingDestination:
    """A layout destination that counts the ``put_blob`` calls running at once, and checks that every manifest
    arrives after the blobs it names. The first ``gather`` uploads wait for one another (a barrier): the copy
    must have them in flight together."""

    def __init__(self, inner: OciLayout, gather: int) -> None:
        self.inner = inner
        self.running = 0
        self.peak = 0
        self.stored: set[Digest] = set()
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(gather, timeout=BARRIER_SECONDS) if gather > 1 else None
        self.calls = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def put_blob(self, desc: Descriptor, chunks: Any) -> None:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.calls += 1
            first = self.barrier is not None and self.calls <= self.barrier.parties
        try:
            if first:
                assert self.barrier is not None
                self.barrier.wait()
            self.inner.put_blob(desc, chunks)
            with self.lock:
                self.stored.add(desc.digest)
        finally:
            with self.lock:
                self.running -= 1

    def put_manifest(self, manifest: AnyManifest, *, tag: str | None = None) -> PushResult:
        named = [manifest.config, *manifest.layers] if hasattr(manifest, "layers") else []
        with self.lock:
            missing = [d.digest for d in named if d.digest not in self.stored]
        assert not missing, f"manifest put before its blobs {missing}"
        return self.inner.put_manifest(manifest, tag=tag)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


class Listener:
    """A ``transfer.ProgressListener`` that records what it hears, from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued: list[Descriptor] = []
        self.moved: dict[Digest, int] = {}
        self.settled: dict[Digest, int] = {}

    def queued_(self, blobs: Any) -> None:
        with self.lock:
            self.queued.extend(blobs)

    def moved_(self, desc: Descriptor, moved: int) -> None:
        with self.lock:
            assert moved >= self.moved.get(desc.digest, 0)
            self.moved[desc.digest] = moved

    def settled_(self, desc: Descriptor, moved: int) -> None:
        with self.lock:
            assert desc.digest not in self.settled, "settled twice"
            self.settled[desc.digest] = moved


class ProgressAdapter:
    def __init__(self, listener: Listener) -> None:
        self.queued = listener.queued_
        self.moved = listener.moved_
        self.settled = listener.settled_


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_in_flight_blobs_never_exceed_the_concurrency(tmp_path: Path, concurrency: int) -> None:
    manifest = layered_image(tmp_path / "src", 20, 3000)
    destination = CountingDestination(OciLayout(tmp_path / "dst", create=True), gather=concurrency)
    listener = Listener()
    result = copy_image(OciLayout(tmp_path / "src"), "img", destination, tag="img",  # type: ignore[arg-type]
                        concurrency=concurrency, progress=ProgressAdapter(listener))  # type: ignore[arg-type]
    assert destination.peak == concurrency  # all of them at once (the barrier), and never more
    assert result.blobs_copied == 21 and result.bytes_copied == sum(d.size for d in (manifest.config,
                                                                                       *manifest.layers))
    assert OciLayout(tmp_path / "dst").resolve("img").digest == manifest.digest
    # The listener heard every blob queued, moved to its size and settled once, whatever thread moved it.
    sizes = {d.digest: d.size for d in (manifest.config, *manifest.layers)}
    assert {d.digest: d.size for d in listener.queued} == sizes
    assert listener.moved == sizes and listener.settled == sizes


def test_an_index_moves_the_blobs_of_every_platform_together(tmp_path: Path) -> None:
    """The fixture's multi-platform index: its platforms' blobs are one batch, so they overlap too."""
    from tests.support.fixture import MULTI_DIGEST, build_fixture_layout

    source = build_fixture_layout(tmp_path / "src")
    destination = CountingDestination(OciLayout(tmp_path / "dst", create=True), gather=4)
    result = copy_image(OciLayout(source), MULTI_DIGEST, destination, tag="multi",  # type: ignore[arg-type]
                        concurrency=4, with_referrers=False)
    assert destination.peak == 4
    assert result.digest == Digest.parse(MULTI_DIGEST)


class HeldSource:
    """A layout source whose good blobs, once their first chunk has passed, wait until the copy stops (the copy
    sets its ``cancel`` event when a blob of the image fails): they are mid-stream then, and must stop there."""

    def __init__(self, inner: OciLayout, bad: Digest, stopped: threading.Event) -> None:
        self.inner = inner
        self.bad = bad
        self.stopped = stopped
        self.opened: list[Digest] = []
        self.finished: list[Digest] = []
        self.lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.inner.name

    @contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        with self.lock:
            self.opened.append(desc.digest)
        with self.inner.open_blob(desc) as chunks:
            yield chunks if desc.digest == self.bad else self._held(desc, chunks)

    def _held(self, desc: Descriptor, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for index, chunk in enumerate(chunks):
            yield chunk
            if index == 0:
                assert self.stopped.wait(BARRIER_SECONDS), "the copy never stopped"
        with self.lock:
            self.finished.append(desc.digest)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


def test_a_failing_blob_stops_the_others_and_the_layout_is_left_as_it_was(tmp_path: Path) -> None:
    # Blobs of three chunks (the layout reads 256 KiB at a time), so a held one is mid-stream when it stops.
    manifest = layered_image(tmp_path / "src", 12, 600 * 1024)
    bad = manifest.layers[0]
    corrupt_blob(tmp_path / "src", bad)
    # An existing destination with an image of its own: after the failure it is byte for byte what it was.
    layered_image(tmp_path / "dst", 2, 1000, tag="kept", seed=1)
    before = _files(tmp_path / "dst")
    stopped = threading.Event()
    source = HeldSource(OciLayout(tmp_path / "src"), bad.digest, stopped)
    with pytest.raises(DigestMismatchError) as caught, \
            open_destination(LayoutReference(str(tmp_path / "dst"), "img"), Settings()) as destination:
        copy_image(source, "img", destination, tag="img", concurrency=3, cancel=stopped)  # type: ignore[arg-type]
    assert bad.digest.hex in str(caught.value) and caught.value.hint
    assert _files(tmp_path / "dst") == before  # no blob, no temp file, no index change
    # The bad blob and at most two others were opened (three at once); those stopped mid-stream, and the
    # blobs still queued were never opened.
    assert bad.digest in source.opened and len(source.opened) <= 3
    # Only the config, one chunk long, could end before its next chunk was refused.
    assert set(source.finished) <= {manifest.config.digest}


def test_a_failing_blob_of_a_new_layout_removes_it(tmp_path: Path) -> None:
    manifest = layered_image(tmp_path / "src", 10, 2000)
    corrupt_blob(tmp_path / "src", manifest.layers[-1])
    with pytest.raises(DigestMismatchError), \
            open_destination(LayoutReference(str(tmp_path / "new"), "img"), Settings()) as destination:
        copy_image(OciLayout(tmp_path / "src"), "img", destination, tag="img", concurrency=4)
    assert not (tmp_path / "new").exists()


def test_concurrency_out_of_range_is_refused(tmp_path: Path) -> None:
    layered_image(tmp_path / "src", 1, 10)
    for bad in (0, 65):
        with pytest.raises(ValueError, match="concurrency"):
            copy_image(OciLayout(tmp_path / "src"), "img", OciLayout(tmp_path / "dst", create=True),
                       concurrency=bad)


def test_the_cli_default_is_the_library_default() -> None:
    """``copy --concurrency`` is the shared option: unset, the copy moves ``Settings.concurrency`` blobs at once,
    the library's default too; its range is the library's."""
    import inspect

    import click

    from supplychain.cli.image import copy_command
    from supplychain.config import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, Settings

    option = next(p for p in copy_command.params if p.name == "concurrency")
    assert option.default is None and Settings().concurrency == DEFAULT_CONCURRENCY
    assert inspect.signature(copy_image).parameters["concurrency"].default == DEFAULT_CONCURRENCY
    assert isinstance(option.type, click.IntRange) and (option.type.min, option.type.max) == (1, MAX_CONCURRENCY)


def test_a_cancelled_copy_stops_and_says_so(tmp_path: Path) -> None:
    """The caller's ``cancel`` event, set before the copy starts: no blob moves, no manifest is put."""
    layered_image(tmp_path / "src", 5, 1000)
    cancel = threading.Event()
    cancel.set()
    for concurrency in (1, 4):
        with pytest.raises(CopyCancelledError) as caught, \
                open_destination(LayoutReference(str(tmp_path / "new"), "img"), Settings()) as destination:
            copy_image(OciLayout(tmp_path / "src"), "img", destination, tag="img", concurrency=concurrency,
                       cancel=cancel)
        assert caught.value.hint and not (tmp_path / "new").exists()
