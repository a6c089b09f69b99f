"""``transfer.copy_image`` and ``store.open_destination``: what is copied, what a failure leaves behind, and
attachment failures as values. Faults are injected with an ``ArtifactStore`` proxy around a real layout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.errors import ExitCode, NotFoundError, SizeLimitError, UnavailableError
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Manifest, Platform, build_manifest
from supplychain.reference import LayoutReference
from supplychain.store import open_destination
from supplychain.summary import PlatformMismatchError
from supplychain.transfer import IncompleteCopyError, copy_image


@dataclass
class DyingSource:
    """A source store whose ``fail_at``-th blob stream breaks halfway (a registry killed mid-copy)."""

    inner: OciLayout
    fail_at: int
    streams: list[Digest] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        self.streams.append(desc.digest)
        with self.inner.open_blob(desc) as chunks:
            if len(self.streams) < self.fail_at:
                yield chunks
                return

            def broken() -> Iterator[bytes]:
                data = b"".join(chunks)
                yield data[: len(data) // 2]
                raise UnavailableError("registry went away mid-blob")

            yield broken()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


def _files(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}


def _copy_into(source: Any, identifier: str, destination: Path, tag: str = "x") -> Any:
    with open_destination(LayoutReference(str(destination), tag), Settings()) as store:
        return copy_image(source, identifier, store, tag=tag)


def _put(store: OciLayout, media_type: str, content: bytes) -> Descriptor:
    desc = Descriptor.for_bytes(media_type, content)
    store.put_blob(desc, [content])
    return desc


def _sign_like_cosign(store: OciLayout, subject: Descriptor, payload: bytes) -> Manifest:
    """A ``.sig`` manifest (config + one simple-signing layer) at cosign's tag for ``subject``."""
    config = _put(store, MediaType.OCI_CONFIG, b'{"architecture":"","os":"","rootfs":{"type":"layers"}}')
    layer = _put(store, MediaType.COSIGN_SIMPLE_SIGNING, payload)
    manifest = build_manifest(config, [layer])
    store.put_manifest(manifest, tag=attachment_tag(subject.digest, AttachmentKind.SIGNATURE))
    return manifest


def _referrer(store: OciLayout, subject: Descriptor, content: bytes) -> Manifest:
    store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    layer = _put(store, "application/vnd.example.note", content)
    manifest = build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type="application/vnd.example.note")
    store.put_manifest(manifest)
    return manifest


def _tamper(store: OciLayout, desc: Descriptor) -> None:
    path = store.path / "blobs" / desc.digest.algorithm / desc.digest.hex
    path.write_bytes(b"X" * desc.size)


# -- a failed copy leaves nothing behind ---------------------------------------------------------------------


@pytest.mark.parametrize("fail_at", [1, 3, 5])
def test_failure_midway_removes_a_layout_the_copy_created(fixture_layout: Path, tmp_path: Path, fail_at: int):
    source = DyingSource(OciLayout(fixture_layout), fail_at)
    with pytest.raises(UnavailableError):
        _copy_into(source, "multi", tmp_path / "out" / "nested")
    assert list(tmp_path.iterdir()) == []


def test_missing_source_image_leaves_no_layout(fixture_layout: Path, tmp_path: Path):
    with pytest.raises(NotFoundError):
        _copy_into(OciLayout(fixture_layout), "no-such-tag", tmp_path / "out3")
    assert not (tmp_path / "out3").exists()


def test_failure_midway_in_an_existing_layout_removes_only_what_it_wrote(fixture_layout: Path, tmp_path: Path):
    existing = OciLayout(tmp_path / "existing", create=True)
    _copy_into(OciLayout(fixture_layout), "single", existing.path, tag="single")
    foreign = _put(OciLayout(existing.path), MediaType.OCI_LAYER, b"another writer's blob, not yet indexed")
    before_files, before_index = _files(existing.path), (existing.path / "index.json").read_bytes()

    # multi = single (present) + the arm64 image, whose first new blob is written, then the source dies.
    source = DyingSource(OciLayout(fixture_layout), 2)
    with pytest.raises(UnavailableError):
        _copy_into(source, "multi", existing.path, tag="multi")
    assert len(source.streams) == 2  # one blob was written before the failure...
    assert _files(existing.path) == before_files  # ...and taken back; the foreign blob stays
    assert (existing.path / "index.json").read_bytes() == before_index
    assert OciLayout(existing.path).has_blob(foreign.digest)


def test_oversized_blob_leaves_no_layout(fixture_layout: Path, tmp_path: Path):
    settings = Settings(max_blob_bytes=1000)
    source = OciLayout(fixture_layout, settings=settings)
    with (pytest.raises(SizeLimitError, match="blob limit") as info,
          open_destination(LayoutReference(str(tmp_path / "out6"), "x"), settings) as store):
        copy_image(source, "single", store, tag="x")
    assert "SUPPLYCHAIN_MAX_BLOB_SIZE" in info.value.hint
    assert not (tmp_path / "out6").exists()


# -- attachments that fail are values ------------------------------------------------------------------------


def test_a_failed_attachment_is_reported_and_the_others_are_copied(fixture_layout_copy: Path, tmp_path: Path):
    source = OciLayout(fixture_layout_copy)
    image = source.resolve("single")
    signature = _sign_like_cosign(source, image, b'{"critical":"tampered below"}')
    note = _referrer(source, image, b"a good referrer")
    _tamper(source, signature.layers[0])

    result = _copy_into(source, "single", tmp_path / "out", tag="tp")
    assert result.digest == image.digest
    assert result.attachments == [str(note.digest)]
    [failure] = result.failed_attachments
    sig_tag = attachment_tag(image.digest, AttachmentKind.SIGNATURE)
    assert failure.attachment == sig_tag
    assert "digest mismatch" in failure.reason and failure.exit_code == ExitCode.INTEGRITY
    assert not result.complete

    copied = OciLayout(tmp_path / "out")
    assert copied.resolve("tp").digest == image.digest
    assert [d.digest for d in copied.referrers(image.digest)] == [note.digest]
    with pytest.raises(NotFoundError):
        copied.resolve(sig_tag)
    # The failed signature's config was written before its layer failed: nothing reaches it, so it went.
    assert not copied.has_blob(signature.config.digest)

    error = IncompleteCopyError(result, "oci:out:tp")
    assert error.exit_code == ExitCode.INTEGRITY
    assert error.message.startswith(f"the image was copied to oci:out:tp@{image.digest}, but 1 of 2 attachments")
    assert f"{sig_tag}: " in error.message and "digest mismatch" in error.message


def test_what_hangs_off_a_failed_attachment_is_not_copied(fixture_layout_copy: Path, tmp_path: Path):
    source = OciLayout(fixture_layout_copy)
    image = source.resolve("single")
    note = _referrer(source, image, b"a referrer whose layer is damaged")
    note_of_note = _referrer(source, note.descriptor(), b"a referrer of the referrer")
    _tamper(source, note.layers[0])
    result = _copy_into(source, "single", tmp_path / "out")
    assert [(f.attachment, f.exit_code) for f in result.failed_attachments] == [
        (str(note.digest), ExitCode.INTEGRITY), (str(note_of_note.digest), ExitCode.INTEGRITY)
    ]
    assert "attached to" in result.failed_attachments[1].reason
    assert result.attachments == []


def test_a_damaged_referrers_tag_is_a_failed_attachment(fixture_layout_copy: Path, tmp_path: Path):
    source = OciLayout(fixture_layout_copy)
    image = source.resolve("single")
    source.put_manifest(source.get_manifest("multi"), tag=image.digest.tag_form)  # an index would be fine...
    source.put_manifest(_sign_like_cosign(source, source.resolve("multi"), b"x"), tag=image.digest.tag_form)
    result = _copy_into(source, "single", tmp_path / "out")
    [failure] = result.failed_attachments
    assert failure.attachment == image.digest.tag_form and failure.exit_code == ExitCode.INVALID_INPUT
    assert "damaged" in failure.reason
    assert f"supplychain clean oci:{fixture_layout_copy}@{image.digest} --type all --force" in failure.hint
    assert OciLayout(tmp_path / "out").resolve("x").digest == image.digest


# -- what is copied ------------------------------------------------------------------------------------------


def test_docker_typed_manifests_are_counted_and_kept(fixture_layout_copy: Path, tmp_path: Path):
    source = OciLayout(fixture_layout_copy)
    oci = source.get_manifest("single")
    assert isinstance(oci, Manifest)
    config = Descriptor(MediaType.DOCKER_CONFIG, oci.config.digest, oci.config.size)
    layers = [Descriptor(MediaType.DOCKER_LAYER_GZIP, d.digest, d.size) for d in oci.layers]
    docker = build_manifest(config, layers, media_type=MediaType.DOCKER_MANIFEST)
    source.put_manifest(docker, tag="v2s2")
    result = _copy_into(source, "v2s2", tmp_path / "out", tag="v2s2")
    assert result.docker_manifests == 1 and result.digest == docker.digest
    assert OciLayout(tmp_path / "out").get_manifest("v2s2").raw == docker.raw  # not converted
    assert _copy_into(source, "single", tmp_path / "out2").docker_manifests == 0


def test_platform_of_a_single_image_is_checked(fixture_layout: Path, tmp_path: Path):
    source = OciLayout(fixture_layout)
    with (pytest.raises(PlatformMismatchError, match="not multi-platform: it is linux/amd64, not linux/arm64") as info,
          open_destination(LayoutReference(str(tmp_path / "out"), "x"), Settings()) as store):
        copy_image(source, "single", store, tag="x", platform=Platform("linux", "arm64"))
    assert info.value.exit_code == ExitCode.NOT_FOUND and "drop --platform" in info.value.hint
    assert not (tmp_path / "out").exists()
    with open_destination(LayoutReference(str(tmp_path / "out"), "x"), Settings()) as store:
        result = copy_image(source, "single", store, tag="x", platform=Platform("linux", "amd64"))
    assert result.digest == source.resolve("single").digest


def test_index_children_get_no_entries(fixture_layout: Path, tmp_path: Path):
    _copy_into(OciLayout(fixture_layout), "multi", tmp_path / "out1", tag="m")
    entries = json.loads((tmp_path / "out1" / "index.json").read_bytes())["manifests"]
    assert [e["annotations"]["org.opencontainers.image.ref.name"] for e in entries] == ["m"]
