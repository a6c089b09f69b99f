"""``OciLayout``: the on-disk OCI image layout store (image-spec image-layout.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from supplychain.digest import Digest
from supplychain.errors import (
    DigestMismatchError,
    ExitCode,
    InvalidManifestError,
    InvalidReferenceError,
    NotFoundError,
    SizeLimitError,
)
from supplychain.layout import (
    REF_NAME,
    TEMP_PREFIX,
    CorruptLayoutError,
    LayoutIOError,
    LayoutNotFoundError,
    NotALayoutError,
    OciLayout,
)
from supplychain.layout.index import IndexView
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import (
    EMPTY_DESCRIPTOR,
    EMPTY_JSON,
    Descriptor,
    Manifest,
    build_index,
    build_manifest,
)
from supplychain.oci.store import ArtifactStore

SBOM_TYPE = "application/spdx+json"
SIG_TYPE = MediaType.SIGSTORE_BUNDLE_V03


def _index_json(layout: OciLayout) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((layout.path / "index.json").read_bytes())
    return data


def _leftovers(layout: OciLayout) -> list[str]:
    return [p.name for p in layout.path.rglob(f"{TEMP_PREFIX}*")]


def _image(layout: OciLayout, name: str) -> Manifest:
    """Store a small image (config + one layer) and return its manifest (not yet put)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "name": name}).encode()
    layer = f"layer of {name}".encode()
    config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, config)
    layer_desc = Descriptor.for_bytes(MediaType.OCI_LAYER, layer)
    layout.put_blob(config_desc, [config])
    layout.put_blob(layer_desc, [layer])
    return build_manifest(config_desc, [layer_desc])


def _artifact(layout: OciLayout, subject: Descriptor, artifact_type: str, payload: bytes, **annotations: str):
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    blob = Descriptor.for_bytes(artifact_type, payload)
    layout.put_blob(blob, [payload])
    return build_manifest(EMPTY_DESCRIPTOR, [blob], subject=subject, artifact_type=artifact_type,
                          annotations=annotations or None)


@pytest.fixture
def layout(tmp_path: Path) -> OciLayout:
    return OciLayout(tmp_path / "layout", create=True)


# -- opening -----------------------------------------------------------------------------------------------


def test_create_writes_an_empty_layout(tmp_path: Path):
    layout = OciLayout(tmp_path / "new" / "nested", create=True)
    assert layout.name == f"oci:{tmp_path / 'new' / 'nested'}"
    assert json.loads((layout.path / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    assert _index_json(layout) == {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": []}
    assert (layout.path / "blobs").is_dir()
    assert list(layout.tags()) == []
    assert isinstance(layout, ArtifactStore)


def test_create_opens_an_existing_layout_without_touching_it(fixture_layout_copy: Path):
    before = (fixture_layout_copy / "index.json").read_bytes()
    layout = OciLayout(fixture_layout_copy, create=True)
    assert list(layout.tags()) == ["single", "multi"]
    assert (fixture_layout_copy / "index.json").read_bytes() == before


def test_create_refuses_a_non_empty_foreign_directory(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(NotALayoutError, match="no oci-layout file") as info:
        OciLayout(tmp_path, create=True)
    assert "skopeo" in info.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written, not even a lock


def test_missing_directory_without_create_is_not_found(tmp_path: Path):
    with pytest.raises(LayoutNotFoundError, match="no such directory") as info:
        OciLayout(tmp_path / "absent")
    assert isinstance(info.value, NotFoundError) and info.value.exit_code == ExitCode.NOT_FOUND
    assert "supplychain copy" in info.value.hint


@pytest.mark.parametrize("create", [False, True])
def test_a_file_is_not_a_layout(tmp_path: Path, create: bool):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotALayoutError, match="is not a directory") as info:
        OciLayout(tmp_path / "file", create=create)
    assert info.value.exit_code == ExitCode.INVALID_INPUT and info.value.hint


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b'{"imageLayoutVersion":"2.0.0"}', NotALayoutError, "unsupported imageLayoutVersion '2.0.0'"),
        (b"{}", NotALayoutError, "unsupported imageLayoutVersion None"),
        (b"not json", CorruptLayoutError, "oci-layout is not JSON"),
    ],
)
def test_bad_oci_layout_file(layout: OciLayout, content: bytes, error: type[Exception], message: str):
    (layout.path / "oci-layout").write_bytes(content)
    with pytest.raises(error, match=message):
        OciLayout(layout.path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "index.json is not valid JSON"),
        (b"[]", "not an image index"),
        (b'{"schemaVersion":2}', "not an image index"),
        (b'{"schemaVersion":1,"manifests":[]}', "schemaVersion 1"),
        (b'{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:nothex","size":1}]}', "entry 0"),
    ],
)
def test_malformed_index_json(layout: OciLayout, content: bytes, message: str):
    (layout.path / "index.json").write_bytes(content)
    with pytest.raises(CorruptLayoutError, match=message) as info:
        OciLayout(layout.path)
    assert info.value.hint


def test_missing_index_json(layout: OciLayout):
    (layout.path / "index.json").unlink()
    with pytest.raises(CorruptLayoutError, match=r"no index\.json"):
        OciLayout(layout.path)


# Two readers of one document must not disagree (issue 9: every untrusted JSON reader goes through strictjson):
# a duplicate key that Python's json.loads would resolve last-wins, an integer past int64/uint64.
_NOT_STRICT = [
    pytest.param(b'{"schemaVersion":2,"manifests":[],"manifests":[]}', "duplicate JSON key 'manifests'",
                 id="duplicate-key"),
    pytest.param(b'{"schemaVersion":2,"manifests":[],"size":' + b"9" * 30 + b"}", "30 digits", id="huge-number"),
]


@pytest.mark.parametrize(("content", "message"), _NOT_STRICT)
def test_index_json_that_is_not_strict_json_is_refused_on_open_and_before_a_write(
    layout: OciLayout, content: bytes, message: str
):
    opened = OciLayout(layout.path)
    image = _image(opened, "after")
    (layout.path / "index.json").write_bytes(content)
    with pytest.raises(CorruptLayoutError, match=message) as info:
        OciLayout(layout.path)
    assert info.value.exit_code == ExitCode.INVALID_INPUT and info.value.hint
    with pytest.raises(CorruptLayoutError, match=message) as info:
        opened.put_manifest(image, tag="v1")  # the transaction reads the file again, under the lock
    assert info.value.exit_code == ExitCode.INVALID_INPUT and info.value.hint
    assert (layout.path / "index.json").read_bytes() == content  # refused, not rewritten


@pytest.mark.parametrize(("content", "message"), _NOT_STRICT)
def test_the_private_copy_a_transaction_changes_is_parsed_strictly(content: bytes, message: str):
    """``IndexView.private_copy`` re-parses the view's bytes to get a copy to change: strictly too, so the copy
    can never say what the validated view did not (it parsed them with plain ``json.loads``)."""
    view = IndexView(None, content, {"schemaVersion": 2, "manifests": []}, ())
    with pytest.raises(CorruptLayoutError, match=message) as info:
        view.private_copy()
    assert info.value.exit_code == ExitCode.INVALID_INPUT


# -- blobs -------------------------------------------------------------------------------------------------


def test_blob_round_trip(layout: OciLayout):
    data = b"hello layout" * 1000
    desc = Descriptor.for_bytes(MediaType.OCI_LAYER, data)
    assert not layout.has_blob(desc.digest)
    layout.put_blob(desc, [data[:5000], data[5000:]])
    path = layout.path / "blobs" / "sha256" / desc.digest.hex
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o644
    assert layout.has_blob(desc.digest)
    assert layout.get_blob(desc) == data
    with layout.open_blob(desc) as chunks:
        assert b"".join(chunks) == data
    layout.put_blob(desc, iter(()))  # already there: nothing is read, nothing changes
    assert path.read_bytes() == data
    assert _leftovers(layout) == []


def test_sha512_blobs_live_under_their_algorithm(layout: OciLayout):
    data = b"five twelve"
    desc = Descriptor(MediaType.OCI_LAYER, Digest.of(data, "sha512"), len(data))
    layout.put_blob(desc, [data])
    assert (layout.path / "blobs" / "sha512" / desc.digest.hex).read_bytes() == data
    assert layout.get_blob(desc) == data


@pytest.mark.parametrize(
    ("chunks", "error"),
    [
        ([b"other bytes!"], DigestMismatchError),  # same size, other content
        ([b"right bytes", b"and more"], DigestMismatchError),  # more than promised
        ([b"right"], DigestMismatchError),  # fewer than promised
    ],
)
def test_put_blob_with_wrong_bytes_leaves_nothing(layout: OciLayout, chunks: list[bytes], error: type[Exception]):
    desc = Descriptor.for_bytes(MediaType.OCI_LAYER, b"right bytes!")
    with pytest.raises(error):
        layout.put_blob(desc, chunks)
    assert not layout.has_blob(desc.digest)
    assert [p for p in (layout.path / "blobs").rglob("*") if p.is_file()] == [] and _leftovers(layout) == []
    assert sorted(p.name for p in layout.path.iterdir()) == ["blobs", "index.json", "oci-layout"]


def test_put_blob_whose_source_fails_midway_leaves_nothing(layout: OciLayout):
    data = b"0123456789" * 10
    desc = Descriptor.for_bytes(MediaType.OCI_LAYER, data)

    def broken():
        yield data[:50]
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        layout.put_blob(desc, broken())
    assert not layout.has_blob(desc.digest)
    assert _leftovers(layout) == []


def test_tampered_blob_is_refused_on_read(layout: OciLayout):
    data = b"genuine content"
    desc = Descriptor.for_bytes(MediaType.OCI_LAYER, data)
    layout.put_blob(desc, [data])
    (layout.path / "blobs" / "sha256" / desc.digest.hex).write_bytes(b"tampered content")
    with pytest.raises(DigestMismatchError) as info:
        layout.get_blob(desc)
    assert info.value.expected == str(desc.digest)
    with layout.open_blob(desc) as chunks, pytest.raises(DigestMismatchError):
        list(chunks)
    # A file of the wrong size is not mistaken for the blob: putting the real bytes repairs it.
    (layout.path / "blobs" / "sha256" / desc.digest.hex).write_bytes(b"short")
    layout.put_blob(desc, [data])
    assert layout.get_blob(desc) == data


def test_get_blob_limits(layout: OciLayout):
    data = b"x" * 100
    desc = Descriptor.for_bytes(MediaType.OCI_LAYER, data)
    layout.put_blob(desc, [data])
    with pytest.raises(SizeLimitError, match="over the 99-byte limit"):
        layout.get_blob(desc, limit=99)
    assert layout.get_blob(desc, limit=100) == data
    missing = Descriptor.for_bytes(MediaType.OCI_LAYER, b"never stored")
    with pytest.raises(NotFoundError, match="not found in oci:"):
        layout.get_blob(missing)


def test_filesystem_errors_are_wrapped(layout: OciLayout):
    os.rmdir(layout.path / "blobs")
    (layout.path / "blobs").write_text("a file where a directory should be")
    desc = Descriptor.for_bytes(MediaType.OCI_LAYER, b"data")
    with pytest.raises(LayoutIOError, match="cannot write a blob") as info:
        layout.put_blob(desc, [b"data"])
    assert "permissions" in info.value.hint
    assert _leftovers(layout) == []


# -- manifests and tags ------------------------------------------------------------------------------------


def test_manifest_round_trip(layout: OciLayout):
    manifest = _image(layout, "a")
    result = layout.put_manifest(manifest, tag="v1")
    assert result.descriptor.digest == manifest.digest and result.subject_indexed
    desc = layout.resolve("v1")
    assert (desc.digest, desc.media_type, desc.size) == (manifest.digest, MediaType.OCI_MANIFEST, len(manifest.raw))
    assert REF_NAME not in desc.annotations
    assert layout.resolve(manifest.digest) == desc
    assert layout.resolve(str(manifest.digest)) == desc
    assert layout.get_manifest("v1").raw == manifest.raw
    assert layout.get_manifest(manifest.digest).raw == manifest.raw
    assert list(layout.tags()) == ["v1"]
    assert _index_json(layout)["manifests"] == [
        {"mediaType": MediaType.OCI_MANIFEST, "digest": str(manifest.digest), "size": len(manifest.raw),
         "annotations": {REF_NAME: "v1"}}
    ]
    # Putting it again changes nothing.
    before = (layout.path / "index.json").read_bytes()
    layout.put_manifest(manifest, tag="v1")
    assert (layout.path / "index.json").read_bytes() == before


def test_untagged_manifests_without_subject_are_blobs_only(layout: OciLayout):
    # skopeo and umoci read one image per index.json entry and refuse an untagged layout of several.
    manifest = _image(layout, "a")
    layout.put_manifest(manifest)
    layout.put_manifest(manifest)
    assert _index_json(layout)["manifests"] == []
    assert layout.has_blob(manifest.digest)
    desc = layout.resolve(manifest.digest)  # still found by digest: the blob is read and parsed
    assert (desc.digest, desc.media_type, desc.size) == (manifest.digest, MediaType.OCI_MANIFEST, len(manifest.raw))
    assert layout.get_manifest(manifest.digest).raw == manifest.raw
    assert list(layout.tags()) == []
    layout.put_manifest(manifest, tag="later")
    assert [e["annotations"][REF_NAME] for e in _index_json(layout)["manifests"]] == ["later"]


def test_untagged_referrers_get_one_entry(layout: OciLayout):
    subject = layout.put_manifest(_image(layout, "a"), tag="app").descriptor
    referrer = _artifact(layout, subject, SBOM_TYPE, b"{}")
    layout.put_manifest(referrer)
    layout.put_manifest(referrer)
    assert [e["digest"] for e in _index_json(layout)["manifests"]] == [str(subject.digest), str(referrer.digest)]


def test_putting_a_tag_moves_it(layout: OciLayout):
    first, second = _image(layout, "a"), _image(layout, "b")
    layout.put_manifest(first, tag="latest")
    layout.put_manifest(first, tag="stable")
    layout.put_manifest(second, tag="latest")
    assert layout.resolve("latest").digest == second.digest
    assert layout.resolve("stable").digest == first.digest
    assert sorted(layout.tags()) == ["latest", "stable"]
    entries = _index_json(layout)["manifests"]
    assert [e["annotations"][REF_NAME] for e in entries if REF_NAME in e.get("annotations", {})].count("latest") == 1
    # Move it back: the second image has no tag and no subject left, so it loses its entry (it stays a blob,
    # found by digest); the first keeps one entry per tag.
    layout.put_manifest(first, tag="latest")
    assert layout.resolve("latest").digest == first.digest
    assert layout.resolve(second.digest).digest == second.digest
    entries = _index_json(layout)["manifests"]
    assert {(e["digest"], e.get("annotations", {}).get(REF_NAME)) for e in entries} == {
        (str(first.digest), "stable"), (str(first.digest), "latest")
    }


def test_moving_a_tag_keeps_an_entry_for_a_referrer(layout: OciLayout):
    subject = layout.put_manifest(_image(layout, "a"), tag="app").descriptor
    old, new = _artifact(layout, subject, SBOM_TYPE, b"old"), _artifact(layout, subject, SBOM_TYPE, b"new")
    layout.put_manifest(old, tag="sbom")
    layout.put_manifest(new, tag="sbom")
    # The old one still names a subject: it stays listed (untagged), so referrers() still finds it.
    assert {d.digest for d in layout.referrers(subject.digest)} == {old.digest, new.digest}
    untagged = [e for e in _index_json(layout)["manifests"] if REF_NAME not in e.get("annotations", {})]
    assert [e["digest"] for e in untagged] == [str(old.digest)]


def test_re_signing_leaves_one_entry(layout: OciLayout):
    # Each `sign` rewrites the .sig manifest under the same tag: the previous one must not pile up untagged.
    subject = layout.put_manifest(_image(layout, "a"), tag="app").descriptor
    tag = f"{subject.digest.tag_form}.sig"
    for i in range(3):
        layout.put_manifest(_image(layout, f"signature {i}"), tag=tag)
    entries = _index_json(layout)["manifests"]
    assert [e["annotations"][REF_NAME] for e in entries] == ["app", tag]


def test_copying_an_index_lists_only_the_index(fixture_layout: Path, tmp_path: Path):
    source = OciLayout(fixture_layout)
    target = OciLayout(tmp_path / "copy", create=True)
    index = source.get_manifest("multi")
    for child in index.manifests:  # type: ignore[union-attr]
        manifest = source.get_manifest(child)
        for blob in (manifest.config, *manifest.layers):  # type: ignore[union-attr]
            with source.open_blob(blob) as chunks:
                target.put_blob(blob, chunks)
        target.put_manifest(manifest)
    target.put_manifest(index, tag="multi")
    assert [e["digest"] for e in _index_json(target)["manifests"]] == [str(index.digest)]
    for child in index.manifests:  # type: ignore[union-attr]
        assert target.resolve(child.digest).digest == child.digest


@pytest.mark.parametrize("tag", ["a/b", "example.com/app:1.0", "v1@x", "a+b", "a--b", "A.B_C-D"])
def test_tags_follow_the_ref_name_grammar(layout: OciLayout, tag: str):
    manifest = _image(layout, "a")
    layout.put_manifest(manifest, tag=tag)
    assert layout.resolve(tag).digest == manifest.digest


@pytest.mark.parametrize("tag", ["-bad", "bad tag", "_x", "a//b", "a/", "a__b", ""])
def test_tags_outside_the_ref_name_grammar_are_refused(layout: OciLayout, tag: str):
    with pytest.raises(InvalidReferenceError, match="invalid tag") as info:
        layout.put_manifest(_image(layout, "a"), tag=tag)
    assert "ref.name" in info.value.hint
    assert _index_json(layout)["manifests"] == []


def test_resolve_unknown_names(layout: OciLayout):
    layout.put_manifest(_image(layout, "a"), tag="v1")
    with pytest.raises(NotFoundError, match="tag 'v2' not found") as info:
        layout.resolve("v2")
    assert "v1" in info.value.hint
    with pytest.raises(NotFoundError):
        layout.resolve(Digest.of(b"nothing"))
    with pytest.raises(NotFoundError):
        layout.get_manifest("v2")
    with pytest.raises(InvalidReferenceError):
        layout.resolve("sha256:abc")


def test_child_manifests_resolve_by_digest(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    index = layout.get_manifest("multi")
    arm = index.manifests[1]  # type: ignore[union-attr]
    desc = layout.resolve(arm.digest)  # not an index.json entry: read from its blob
    assert (desc.digest, desc.media_type, desc.size) == (arm.digest, arm.media_type, arm.size)


def test_foreign_entries_and_fields_survive_our_writes(layout: OciLayout):
    foreign = _image(layout, "foreign")
    layout.put_blob(foreign.descriptor(), [foreign.raw])
    doc = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": MediaType.OCI_MANIFEST, "digest": str(foreign.digest), "size": len(foreign.raw),
             "platform": {"architecture": "amd64", "os": "linux"},
             "annotations": {REF_NAME: "example.com/app:1.0", "vendor.note": "kept"}}
        ],
        "annotations": {"vendor.layout": "kept"},
    }
    (layout.path / "index.json").write_text(json.dumps(doc, indent=4))
    layout.put_manifest(_image(layout, "ours"), tag="ours")
    written = _index_json(layout)
    assert written["annotations"] == {"vendor.layout": "kept"}
    assert written["manifests"][0] == doc["manifests"][0]  # type: ignore[index]
    # ref.name values other tools write (annotations.md allows '/' and ':') resolve too.
    assert layout.resolve("example.com/app:1.0").digest == foreign.digest
    assert list(layout.tags()) == ["example.com/app:1.0", "ours"]


def test_manifest_size_cap(layout: OciLayout):
    big = b'{"schemaVersion":2,"pad":"' + b"x" * (4 * 1024 * 1024) + b'"}'
    too_big = Manifest(big, MediaType.OCI_MANIFEST, EMPTY_DESCRIPTOR, ())
    with pytest.raises(SizeLimitError):
        layout.put_manifest(too_big, tag="big")
    assert not layout.has_blob(too_big.digest) and list(layout.tags()) == []
    # Written behind our back: an index.json entry that admits to its size is refused before reading...
    desc = Descriptor(MediaType.OCI_MANIFEST, Digest.of(big), len(big))
    layout.put_blob(desc, [big])
    doc = _index_json(layout)
    doc["manifests"].append({**desc.to_json(), "annotations": {REF_NAME: "big"}})
    (layout.path / "index.json").write_text(json.dumps(doc))
    with pytest.raises(SizeLimitError, match="over the 4194304-byte limit"):
        layout.get_manifest("big")
    # ...and one that lies about it is cut off at the promised size.
    doc["manifests"][-1]["size"] = 1000
    (layout.path / "index.json").write_text(json.dumps(doc))
    with pytest.raises(DigestMismatchError, match="more than the 1000 bytes"):
        layout.get_manifest("big")


def test_tampered_manifest_is_refused(layout: OciLayout):
    manifest = _image(layout, "a")
    layout.put_manifest(manifest, tag="v1")
    path = layout.path / "blobs" / "sha256" / manifest.digest.hex
    path.write_bytes(manifest.raw.replace(b'"size"', b'"Size"'))
    with pytest.raises(DigestMismatchError):
        layout.get_manifest("v1")


# -- referrers ---------------------------------------------------------------------------------------------


def test_referrers_by_subject_scan(layout: OciLayout):
    image = _image(layout, "subject")
    subject = layout.put_manifest(image, tag="app").descriptor
    sbom = _artifact(layout, subject, SBOM_TYPE, b'{"spdxVersion":"SPDX-2.3"}', **{"org.example": "sbom"})
    sig = _artifact(layout, subject, SIG_TYPE, b'{"bundle":1}')
    assert layout.put_manifest(sbom).subject_indexed
    layout.put_manifest(sig)
    other = _artifact(layout, _image(layout, "other").descriptor(), SBOM_TYPE, b"{}")
    layout.put_manifest(other)

    found = layout.referrers(image.digest)
    assert [d.digest for d in found] == [sbom.digest, sig.digest]
    assert found[0].artifact_type == SBOM_TYPE and found[0].annotations == {"org.example": "sbom"}
    assert found[0].media_type == MediaType.OCI_MANIFEST and found[0].size == len(sbom.raw)
    assert [d.digest for d in layout.referrers(image.digest, SIG_TYPE)] == [sig.digest]
    assert layout.referrers(image.digest, "application/unknown") == []
    assert layout.referrers(Digest.of(b"no such subject")) == []
    # The index.json entry carries artifactType and annotations, so tools listing entries see what it is.
    entry = next(e for e in _index_json(layout)["manifests"] if e["digest"] == str(sbom.digest))
    assert entry["artifactType"] == SBOM_TYPE and entry["annotations"] == {"org.example": "sbom"}


def test_referrer_manifest_annotations_never_become_tags(layout: OciLayout):
    subject = layout.put_manifest(_image(layout, "a"), tag="app").descriptor
    sneaky = _artifact(layout, subject, SBOM_TYPE, b"{}", **{REF_NAME: "app"})
    layout.put_manifest(sneaky)
    assert layout.resolve("app").digest == subject.digest
    assert list(layout.tags()) == ["app"]


def test_foreign_referrers_tag_is_merged(layout: OciLayout):
    image = _image(layout, "subject")
    subject = layout.put_manifest(image, tag="app").descriptor
    ours = _artifact(layout, subject, SBOM_TYPE, b"ours")
    layout.put_manifest(ours)
    # Another tool kept only a referrers tag (distribution spec "Referrers tag schema") for its artifact.
    theirs = _artifact(layout, subject, SIG_TYPE, b"theirs")
    layout.put_blob(theirs.descriptor(), [theirs.raw])
    tag_index = build_index([theirs.descriptor(), ours.descriptor()])
    layout.put_manifest(tag_index, tag=image.digest.tag_form)

    found = layout.referrers(image.digest)
    assert [d.digest for d in found] == [ours.digest, theirs.digest]  # merged, each once
    assert [d.digest for d in layout.referrers(image.digest, SIG_TYPE)] == [theirs.digest]


def test_referrers_tag_that_is_not_an_index(layout: OciLayout):
    image = _image(layout, "subject")
    layout.put_manifest(image, tag="app")
    layout.put_manifest(_image(layout, "impostor"), tag=image.digest.tag_form)
    with pytest.raises(InvalidManifestError, match="holds an image manifest, not an index") as info:
        layout.referrers(image.digest)
    assert info.value.hint


# -- delete and gc -----------------------------------------------------------------------------------------


def test_delete_manifest_removes_entries_and_keeps_blobs(layout: OciLayout):
    manifest = _image(layout, "a")
    layout.put_manifest(manifest, tag="v1")
    layout.put_manifest(manifest, tag="v2")
    keep = _image(layout, "b")
    layout.put_manifest(keep, tag="other")
    layout.delete_manifest(manifest.digest)
    assert list(layout.tags()) == ["other"]
    with pytest.raises(NotFoundError):
        layout.resolve("v1")
    assert layout.has_blob(manifest.digest)
    with pytest.raises(NotFoundError):
        layout.delete_manifest(Digest.of(b"never stored"))


def test_delete_referrer_also_drops_it_from_a_referrers_tag(layout: OciLayout):
    image = _image(layout, "subject")
    subject = layout.put_manifest(image, tag="app").descriptor
    sbom, sig = _artifact(layout, subject, SBOM_TYPE, b"a"), _artifact(layout, subject, SIG_TYPE, b"b")
    layout.put_manifest(sbom)
    layout.put_manifest(sig)
    layout.put_manifest(build_index([sbom.descriptor(), sig.descriptor()]), tag=image.digest.tag_form)
    layout.delete_manifest(sbom.digest)
    assert [d.digest for d in layout.referrers(image.digest)] == [sig.digest]
    tag_index = layout.get_manifest(image.digest.tag_form)
    assert [d.digest for d in tag_index.manifests] == [sig.digest]  # type: ignore[union-attr]


def test_gc_removes_only_unreachable_blobs(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    assert layout.gc() == []
    single = layout.resolve("single")
    stray = Descriptor.for_bytes(MediaType.OCI_LAYER, b"stray")
    layout.put_blob(stray, [b"stray"])
    layout.delete_manifest(layout.resolve("multi").digest)
    removed = set(layout.gc())
    # The arm64 image (manifest, config, base layer) and the index go; layers shared with single stay.
    assert stray.digest in removed and len(removed) == 5
    manifest = layout.get_manifest(single)
    assert isinstance(manifest, Manifest)
    for desc in [manifest.config, *manifest.layers]:
        assert layout.get_blob(desc)
    (layout.path / "blobs" / "sha256" / "README").write_text("not a blob")
    assert layout.gc() == [] and (layout.path / "blobs" / "sha256" / "README").exists()


# -- files left behind -------------------------------------------------------------------------------------


def test_writes_leave_only_layout_files(layout: OciLayout):
    # The lock is an flock on the directory itself: no lock file among the layout's files.
    layout.put_manifest(_image(layout, "a"), tag="v1")
    layout.put_manifest(_image(layout, "b"), tag="v1")
    layout.gc()
    assert sorted(p.name for p in layout.path.iterdir()) == ["blobs", "index.json", "oci-layout"]
    assert _leftovers(layout) == []


def test_the_lock_is_the_directory(layout: OciLayout):
    import fcntl
    import threading

    manifest = _image(layout, "a")
    fd = os.open(layout.path, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another writer holding the layout's lock
    done = threading.Event()

    def put() -> None:
        layout.put_manifest(manifest, tag="v1")
        done.set()

    thread = threading.Thread(target=put)
    thread.start()
    try:
        assert not done.wait(0.3)  # index.json waits for the directory's lock
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    thread.join(10)
    assert done.is_set() and layout.resolve("v1").digest == manifest.digest


def test_referrers_skip_an_unreadable_manifest(tmp_path: Path) -> None:
    # A manifest with too many layers (or malformed) in index.json must not hide other images' referrers.
    from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, build_manifest

    layout = OciLayout(tmp_path / "l", create=True)
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    subject = build_manifest(EMPTY_DESCRIPTOR, [])
    layout.put_manifest(subject, tag="image")
    referrer = build_manifest(EMPTY_DESCRIPTOR, [], subject=subject.descriptor(), artifact_type="x/y")
    layout.put_manifest(referrer)
    hostile = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": EMPTY_DESCRIPTOR.to_json(),
                          "layers": [EMPTY_DESCRIPTOR.to_json()] * 1001}).encode()
    hostile_desc = Descriptor.for_bytes("application/vnd.oci.image.manifest.v1+json", hostile)
    layout.put_blob(hostile_desc, [hostile])
    index = json.loads((tmp_path / "l" / "index.json").read_text())
    index["manifests"].append(hostile_desc.to_json())
    (tmp_path / "l" / "index.json").write_text(json.dumps(index))
    assert [d.digest for d in OciLayout(tmp_path / "l").referrers(subject.digest)] == [referrer.digest]


# -- size caps -----------------------------------------------------------------------------------------------


def test_blob_size_cap_names_its_setting(tmp_path: Path):
    from supplychain.config import Settings

    layout = OciLayout(tmp_path / "l", create=True, settings=Settings(max_blob_bytes=10))
    desc = Descriptor.for_bytes(MediaType.OCI_LAYER, b"eleven byte")
    with pytest.raises(SizeLimitError, match="over the 10-byte blob limit") as info:
        layout.put_blob(desc, [b"eleven byte"])
    assert "SUPPLYCHAIN_MAX_BLOB_SIZE" in info.value.hint
    with pytest.raises(SizeLimitError) as info, layout.open_blob(desc):
        pass
    assert "SUPPLYCHAIN_MAX_BLOB_SIZE" in info.value.hint


# -- taking back a failed operation's writes ---------------------------------------------------------------


def _blob_names(path: Path) -> set[str]:
    return {p.name for p in (path / "blobs").rglob("*") if p.is_file()}


def test_abort_removes_a_layout_it_created_and_the_directories_it_made(tmp_path: Path):
    layout = OciLayout(tmp_path / "new" / "nested", create=True)
    assert layout.created
    layout.put_manifest(_image(layout, "a"), tag="v1")
    layout.abort()
    assert list(tmp_path.iterdir()) == []


def test_abort_keeps_a_directory_that_was_there(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    layout = OciLayout(tmp_path / "empty", create=True)
    layout.put_blob(Descriptor.for_bytes(MediaType.OCI_LAYER, b"x"), [b"x"])
    layout.abort()
    assert (tmp_path / "empty").is_dir() and list((tmp_path / "empty").iterdir()) == []


def test_abort_in_an_existing_layout_removes_only_its_own_unreachable_blobs(fixture_layout_copy: Path):
    other_writer = OciLayout(fixture_layout_copy)
    theirs = Descriptor.for_bytes(MediaType.OCI_LAYER, b"another writer, mid-push")
    other_writer.put_blob(theirs, [b"another writer, mid-push"])
    before = (fixture_layout_copy / "index.json").read_bytes()

    layout = OciLayout(fixture_layout_copy, create=True)
    assert not layout.created
    kept = _image(layout, "tagged")  # config and layer, reachable once the manifest is tagged
    layout.put_manifest(kept, tag="kept")
    orphan = Descriptor.for_bytes(MediaType.OCI_LAYER, b"the layer of a manifest never put")
    layout.put_blob(orphan, [b"the layer of a manifest never put"])
    shared = layout.resolve("single")  # already there: not written by this instance, never removed
    layout.put_blob(shared, [])
    layout.abort()

    assert fixture_layout_copy.is_dir() and not layout.has_blob(orphan.digest)
    assert layout.has_blob(theirs.digest)  # not ours: left alone, even though nothing reaches it
    assert layout.resolve("kept").digest == kept.digest and layout.get_blob(kept.config)
    assert layout.resolve("single").digest == shared.digest
    assert json.loads(before)["manifests"][0] in _index_json(layout)["manifests"]


def test_abort_keeps_a_created_layout_another_writer_used(tmp_path: Path):
    layout = OciLayout(tmp_path / "shared", create=True)
    mine = Descriptor.for_bytes(MediaType.OCI_LAYER, b"mine")
    layout.put_blob(mine, [b"mine"])
    other = OciLayout(tmp_path / "shared", create=True)
    assert not other.created
    theirs = _image(other, "theirs")
    other.put_manifest(theirs, tag="theirs")
    layout.abort()
    assert OciLayout(tmp_path / "shared").resolve("theirs").digest == theirs.digest
    assert not layout.has_blob(mine.digest)


def test_discard_orphans(layout: OciLayout):
    image = _image(layout, "a")
    layout.put_manifest(image, tag="v1")
    assert layout.discard_orphans() == []  # all reachable from what this instance tagged: nothing read
    orphan = Descriptor.for_bytes(MediaType.OCI_LAYER, b"orphan")
    layout.put_blob(orphan, [b"orphan"])
    assert layout.discard_orphans() == [orphan.digest]
    assert layout.get_blob(image.layers[0]) and not layout.has_blob(orphan.digest)
    assert sorted(p.name for p in layout.path.iterdir()) == ["blobs", "index.json", "oci-layout"]


def test_a_deeply_nested_manifest_does_not_hide_referrers(tmp_path: Path) -> None:
    from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, build_manifest

    layout = OciLayout(tmp_path / "l", create=True)
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    subject = build_manifest(EMPTY_DESCRIPTOR, [])
    layout.put_manifest(subject, tag="image")
    referrer = build_manifest(EMPTY_DESCRIPTOR, [], subject=subject.descriptor(), artifact_type="x/y")
    layout.put_manifest(referrer)
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_desc = Descriptor.for_bytes("application/vnd.oci.image.manifest.v1+json", deep)
    layout.put_blob(deep_desc, [deep])
    index = json.loads((tmp_path / "l" / "index.json").read_text())
    index["manifests"].append(deep_desc.to_json())
    (tmp_path / "l" / "index.json").write_text(json.dumps(index))
    assert [d.digest for d in OciLayout(tmp_path / "l").referrers(subject.digest)] == [referrer.digest]


# -- temp files of killed writers (issue 8.19) -------------------------------------------------------------

_KILLED_WRITER = """
import sys, time
from supplychain.layout import OciLayout
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor

data = b"x" * (4 * 1024 * 1024)
desc = Descriptor.for_bytes(MediaType.OCI_LAYER, data)

def slow():
    yield data[:1024 * 1024]
    print("writing", flush=True)
    time.sleep(60)  # killed here, mid-write
    yield data[1024 * 1024:]

OciLayout(sys.argv[1]).put_blob(desc, slow())
"""


def _age(path: Path, seconds: float = 3600) -> None:
    old = path.stat().st_mtime - seconds
    os.utime(path, (old, old))


def test_a_killed_copys_temp_file_is_swept_on_the_next_write(layout: OciLayout):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    with subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(layout.path)], stdout=subprocess.PIPE,
                          env=env) as writer:
        assert writer.stdout is not None and writer.stdout.readline() == b"writing\n"
        (left,) = [Path(p) for p in _leftovers_paths(layout)]
        # Its writer still holds it: not swept, however old it looks.
        assert _next_write_sweeps(layout, left) is False
        writer.kill()  # SIGKILL: no finally runs, the temp file stays
        writer.wait(timeout=10)
    assert left.exists()
    layout.put_manifest(_image(layout, "after"), tag="after")
    assert not left.exists() and _leftovers(layout) == []


def _leftovers_paths(layout: OciLayout) -> list[str]:
    return [str(p) for p in layout.path.glob(f"{TEMP_PREFIX}*")]


def _next_write_sweeps(layout: OciLayout, temp: Path) -> bool:
    """Age ``temp`` past the stale threshold, write, and say whether the write swept it."""
    _age(temp)
    layout.put_manifest(_image(layout, "meanwhile"), tag="meanwhile")
    return not temp.exists()


def test_only_stale_unheld_temp_files_of_ours_are_swept(layout: OciLayout):
    import fcntl

    stale = layout.path / f"{TEMP_PREFIX}stale"
    fresh = layout.path / f"{TEMP_PREFIX}fresh"  # a writer between creating and locking its file
    held = layout.path / f"{TEMP_PREFIX}held"
    foreign = layout.path / ".other-tool-tmp"
    for path in (stale, fresh, held, foreign):
        path.write_bytes(b"partial")
    for path in (stale, held, foreign):
        _age(path)
    with open(held, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # as LayoutDirectory.write_atomic holds it while writing
        layout.put_manifest(_image(layout, "a"), tag="v1")
        assert held.exists()
    assert not stale.exists()
    assert fresh.exists() and foreign.exists()
    layout.delete_manifest(layout.resolve("v1").digest)  # the next write: held is no longer held
    assert not held.exists() and fresh.exists()
