"""Concurrent blob transfers against the real registry, layouts and skopeo (issue 10, item 3): a 50-layer image
copies layout -> registry -> layout with every digest intact and skopeo reads the result; the registry never
sees more than ``--concurrency`` transfers at once; a corrupt blob fails the copy with one error and a hint and
leaves the destination as it was."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.errors import NotFoundError
from supplychain.layout import OciLayout
from supplychain.oci.model import Descriptor
from supplychain.reference import parse_image_reference
from supplychain.registry import RegistryRepository, open_repository
from supplychain.transfer import copy_image
from tests.support.layers import corrupt_blob, layered_image
from tests.support.registry import RegistryProcess, closed_after_test
from tests.support.signatures import run_cli

pytestmark = pytest.mark.integration

SKOPEO = "/usr/bin/skopeo"
# A barrier that is not reached in this time means the copy did not run that many transfers at once.
BARRIER_SECONDS = 60


def _repo(registry: RegistryProcess, name: str) -> RegistryRepository:
    repo = open_repository(parse_image_reference(f"{registry.host}/{name}"), Settings())
    closed_after_test(repo.client)
    return repo


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_fifty_layers_copy_layout_to_registry_to_layout_and_skopeo_reads_them(
    registry: RegistryProcess, tmp_path: Path
) -> None:
    # Layers on both sides of the 1 MiB line between uploads from memory and streamed ones.
    manifest = layered_image(tmp_path / "src", 48, 20_000)
    big = layered_image(tmp_path / "big", 2, 1_300_000, seed=7)
    source = OciLayout(tmp_path / "src")
    for layer in big.layers:
        with OciLayout(tmp_path / "big").open_blob(layer) as chunks:
            source.put_blob(layer, chunks)
    from supplychain.oci.model import build_manifest

    manifest = build_manifest(manifest.config, [*manifest.layers, *big.layers])
    source.put_manifest(manifest, tag="img")
    remote = f"{registry.host}/concurrency/fifty:1"

    pushed = run_cli(["copy", "--concurrency", "4", f"oci:{tmp_path / 'src'}:img", remote, "-o", "json"])
    assert pushed.code == 0, pushed
    pulled = run_cli(["copy", "--concurrency", "4", remote, f"oci:{tmp_path / 'out'}:img"])
    assert pulled.code == 0, pulled

    out = OciLayout(tmp_path / "out")
    assert out.resolve("img").digest == manifest.digest
    for blob in (manifest.config, *manifest.layers):  # every blob there, and digest-checked as it is read
        with out.open_blob(blob) as chunks:
            assert sum(len(c) for c in chunks) == blob.size
    assert len(manifest.layers) == 50
    # skopeo reads the layout we wrote, every blob (dir: copies each one, checking its digest).
    done = subprocess.run([SKOPEO, "--insecure-policy", "copy", f"oci:{tmp_path / 'out'}:img",
                           f"dir:{tmp_path / 'skopeo-dir'}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "skopeo-dir" / manifest.layers[-1].digest.hex).stat().st_size == manifest.layers[-1].size


class CountingRepository:
    """A real registry repository that counts the blob transfers (``put_blob``, and ``open_blob`` streams)
    running at once; the first ``gather`` of each wait for one another, so the copy must run that many."""

    def __init__(self, inner: RegistryRepository, gather: int) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.calls = 0
        self.barrier = threading.Barrier(gather, timeout=BARRIER_SECONDS)

    @property
    def name(self) -> str:
        return self.inner.name

    @contextmanager
    def _counted(self) -> Iterator[None]:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.calls += 1
            first = self.calls <= self.barrier.parties
        try:
            if first:
                self.barrier.wait()
            yield
        finally:
            with self.lock:
                self.running -= 1

    def put_blob(self, desc: Descriptor, chunks: Any) -> None:
        with self._counted():
            self.inner.put_blob(desc, chunks)

    @contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        with self._counted(), self.inner.open_blob(desc) as chunks:
            yield chunks

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


@pytest.mark.parametrize("concurrency", [2, 5])
def test_the_registry_never_sees_more_than_the_concurrency(
    registry: RegistryProcess, tmp_path: Path, concurrency: int
) -> None:
    manifest = layered_image(tmp_path / "src", 30, 5000, seed=concurrency)
    name = f"concurrency/limit{concurrency}"
    push = CountingRepository(_repo(registry, name), concurrency)
    copy_image(OciLayout(tmp_path / "src"), "img", push, tag="1", concurrency=concurrency)  # type: ignore[arg-type]
    assert push.peak == concurrency and push.calls == 31

    pull = CountingRepository(_repo(registry, name), concurrency)
    result = copy_image(pull, "1", OciLayout(tmp_path / "out", create=True), tag="1",  # type: ignore[arg-type]
                        concurrency=concurrency)
    assert pull.peak == concurrency and pull.calls == 31
    assert result.digest == manifest.digest and result.blobs_copied == 31


def test_a_corrupt_blob_fails_the_push_and_the_registry_has_no_image(registry: RegistryProcess, tmp_path: Path):
    manifest = layered_image(tmp_path / "src", 20, 4000, seed=3)
    bad = manifest.layers[7]
    corrupt_blob(tmp_path / "src", bad)
    result = run_cli(["copy", f"oci:{tmp_path / 'src'}:img", f"{registry.host}/concurrency/corrupt:1"])
    assert result.code == 7, result  # ExitCode.INTEGRITY
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], result.stderr
    assert bad.digest.short in lines[0] or str(bad.digest) in lines[0]
    repo = _repo(registry, "concurrency/corrupt")
    with pytest.raises(NotFoundError):
        repo.resolve("1")  # no manifest: it would name a blob that is not there
    assert not repo.has_blob(bad.digest)  # the wrong bytes were never committed


def test_a_corrupt_blob_fails_the_pull_and_leaves_the_layout_as_it_was(registry: RegistryProcess, tmp_path: Path):
    """Layout -> registry -> existing layout, the registry's copy of one blob damaged on its disk."""
    manifest = layered_image(tmp_path / "src", 20, 4000, seed=4)
    remote = f"{registry.host}/concurrency/pulled:1"
    assert run_cli(["copy", f"oci:{tmp_path / 'src'}:img", remote]).code == 0
    bad = manifest.layers[11]
    stored = next((registry.root / "data").rglob(f"blobs/sha256/{bad.digest.hex[:2]}/{bad.digest.hex}/data"))
    damaged = bytearray(stored.read_bytes())
    damaged[0] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    layered_image(tmp_path / "dst", 3, 1000, tag="kept", seed=5)
    before = _files(tmp_path / "dst")
    result = run_cli(["copy", remote, f"oci:{tmp_path / 'dst'}:img"])
    assert result.code == 7, result
    assert [line.split(":")[0] for line in result.stderr.strip().splitlines()] == ["error", "hint"], result.stderr
    assert _files(tmp_path / "dst") == before
    assert Digest.parse(str(bad.digest)).hex in result.stderr
