"""Manifest parsing keeps raw bytes, validates untrusted JSON and enforces caps."""

from __future__ import annotations

import json
import re

import pytest

from supplychain.digest import Digest
from supplychain.errors import InvalidManifestError, NotFoundError, SizeLimitError, UnsupportedMediaTypeError
from supplychain.oci.attachment import AttachmentKind, attachment_tag, parse_attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import (
    EMPTY_DESCRIPTOR,
    Descriptor,
    Index,
    Manifest,
    Platform,
    build_index,
    build_manifest,
    parse_manifest,
)
from supplychain.oci.platform import matches, select_platform
from supplychain.oci.referrers import filter_by_type, referrers_in, with_referrer, without_referrer

LAYER = Descriptor.for_bytes(MediaType.OCI_LAYER_GZIP, b"layer")


def test_raw_bytes_are_identity():
    # A manifest with unusual spacing keeps its bytes: re-serialising would change its digest.
    raw = b'{ "schemaVersion": 2,  "mediaType": "application/vnd.oci.image.manifest.v1+json", ' \
          b'"config": ' + json.dumps(EMPTY_DESCRIPTOR.to_json()).encode() + b', "layers": []}'
    manifest = parse_manifest(raw)
    assert isinstance(manifest, Manifest)
    assert manifest.raw == raw
    assert manifest.digest == Digest.of(raw)


def test_build_and_parse_artifact_manifest():
    subject = Descriptor.for_bytes(MediaType.OCI_MANIFEST, b"{}", annotations={"x": "y"})
    built = build_manifest(EMPTY_DESCRIPTOR, [LAYER], subject=subject, artifact_type="application/x-test",
                           annotations={"a": "b"})
    parsed = parse_manifest(built.raw)
    assert isinstance(parsed, Manifest)
    assert parsed.subject == Descriptor(subject.media_type, subject.digest, subject.size)
    assert parsed.artifact_type == "application/x-test"
    assert parsed.descriptor().artifact_type == "application/x-test"
    assert parsed.layers == (LAYER,)


def test_index_round_trip_with_platforms():
    amd = Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"1"), 1, platform=Platform("linux", "amd64"))
    arm = Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"2"), 1, platform=Platform("linux", "arm64", "v8"))
    index = parse_manifest(build_index([amd, arm]).raw)
    assert isinstance(index, Index)
    assert select_platform(index, Platform.parse("linux/arm64")).digest == arm.digest
    assert select_platform(index, Platform.parse("linux/arm64/v8")).digest == arm.digest
    with pytest.raises(NotFoundError, match="linux/s390x"):
        select_platform(index, Platform.parse("linux/s390x"))


def test_arm64_without_variant_counts_as_v8():
    assert matches(Platform("linux", "arm64"), Platform("linux", "arm64", "v8"))
    assert not matches(Platform("linux", "arm", "v6"), Platform("linux", "arm", "v7"))
    assert not matches(None, Platform("linux", "amd64"))


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"not json", InvalidManifestError),
        (b"[]", InvalidManifestError),
        (b'{"schemaVersion": 2, "mediaType": "application/x-unknown"}', UnsupportedMediaTypeError),
        (b'{"schemaVersion": 1, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}',
         InvalidManifestError),
        (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}', InvalidManifestError),
        (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}',
         InvalidManifestError),
        (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", '
         b'"manifests": [{"mediaType": "x", "digest": "sha256:zz", "size": 1}]}', InvalidManifestError),
        (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", '
         b'"manifests": [{"mediaType": "x", "digest": "sha256:' + b"a" * 64 + b'", "size": -1}]}',
         InvalidManifestError),
        (b'{"schemaVersion": 2, "manifests": [], "annotations": {"a": 1}}', InvalidManifestError),
    ],
)
def test_rejects_bad_documents(raw: bytes, error: type[Exception]):
    with pytest.raises(error):
        parse_manifest(raw)


def test_header_and_body_media_types_must_agree():
    raw = build_index([]).raw
    with pytest.raises(InvalidManifestError, match="served as"):
        parse_manifest(raw, MediaType.OCI_MANIFEST)
    assert isinstance(parse_manifest(raw, MediaType.OCI_INDEX + "; charset=utf-8"), Index)


def test_size_caps():
    with pytest.raises(SizeLimitError):
        parse_manifest(b" " * (4 * 1024 * 1024 + 1))
    entries = [LAYER.to_json()] * 10_001
    with pytest.raises(SizeLimitError):
        parse_manifest(json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX,
                                   "manifests": entries}).encode())
    with pytest.raises(SizeLimitError):
        parse_manifest(json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST,
                                   "config": LAYER.to_json(), "layers": [LAYER.to_json()] * 1001}).encode())


def test_embedded_data_is_checked():
    good = {**LAYER.to_json(), "data": "bGF5ZXI="}  # base64("layer")
    assert Descriptor.from_json(good).data == b"layer"
    with pytest.raises(Exception, match="digest mismatch"):
        Descriptor.from_json({**LAYER.to_json(), "data": "b3RoZXI="})


def test_referrers_index_helpers():
    a = Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"a"), 1, artifact_type="t1")
    b = Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"b"), 1, artifact_type="t2")
    first = with_referrer([], a)
    assert first is not None
    assert with_referrer(list(first.manifests), a) is None  # no duplicates
    both = with_referrer(list(first.manifests), b)
    assert both is not None
    listed = referrers_in(parse_manifest(both.raw), where="t")
    assert [d.digest for d in filter_by_type(listed, "t2")] == [b.digest]
    assert without_referrer(listed, a.digest) is not None
    assert without_referrer(listed, Digest.of(b"zz")) is None
    with pytest.raises(InvalidManifestError, match="not an index"):
        referrers_in(build_manifest(EMPTY_DESCRIPTOR, []), where="sha256-x")


def test_attachment_tags():
    d = Digest.of(b"img")
    tag = attachment_tag(d, AttachmentKind.SIGNATURE)
    assert tag == f"sha256-{d.hex}.sig"
    assert parse_attachment_tag(tag) == (d, AttachmentKind.SIGNATURE)
    assert parse_attachment_tag("latest") is None
    assert parse_attachment_tag("sha256-abc.sig") is None
    assert parse_attachment_tag(f"sha256-{d.hex}.txt") is None


def test_platform_selection_defaults_to_the_host():
    from supplychain.oci.platform import host_platform

    host = host_platform()
    other = Platform("linux", "s390x")
    entries = [Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"o"), 1, platform=other),
               Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"h"), 1, platform=host)]
    assert select_platform(build_index(entries)).digest == Digest.of(b"h")


def test_hostile_nesting_is_a_bad_manifest_not_a_crash():
    with pytest.raises(InvalidManifestError):
        parse_manifest(b"[" * 100_000 + b"]" * 100_000)


# -- strict JSON and ambiguous documents (issue 7 items 7 and 9) -------------------------------------------------

CONFIG_JSON = EMPTY_DESCRIPTOR.to_json()
ENTRY_JSON = Descriptor.for_bytes(MediaType.OCI_MANIFEST, b"{}").to_json()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"schemaVersion":2,"config":{"mediaType":"a","digest":"' + str(EMPTY_DESCRIPTOR.digest).encode()
         + b'","size":' + b"9" * 6000 + b'},"layers":[]}', "manifest is not valid JSON: an integer of 6000 digits"),
        (b'{"schemaVersion":2,"schemaVersion":2,"config":' + json.dumps(CONFIG_JSON).encode() + b',"layers":[]}',
         "duplicate JSON key 'schemaVersion'"),
        (b'{"schemaVersion":2,"config":' + json.dumps(CONFIG_JSON).encode() + b',"layers":[],"x":NaN}',
         "NaN is not JSON"),
    ],
)
def test_numbers_and_duplicates_are_bad_manifests(raw: bytes, message: str):
    with pytest.raises(InvalidManifestError, match=message) as caught:
        parse_manifest(raw)
    assert caught.value.hint


def test_descriptor_sizes_are_int64():
    """descriptor.md: size is an int64; 2**63 fits the decoder's uint64 range but not a size."""
    raw = json.dumps({"schemaVersion": 2, "config": {**CONFIG_JSON, "size": 2**63}, "layers": []}).encode()
    with pytest.raises(InvalidManifestError, match="config has no valid size"):
        parse_manifest(raw)
    at_limit = json.dumps({"schemaVersion": 2, "config": {**CONFIG_JSON, "size": 2**63 - 1}, "layers": []}).encode()
    parsed = parse_manifest(at_limit)
    assert isinstance(parsed, Manifest) and parsed.config.size == 2**63 - 1


@pytest.mark.parametrize("header", [MediaType.OCI_INDEX, MediaType.OCI_MANIFEST, None])
def test_a_document_that_is_both_index_and_manifest_is_refused(header: str | None):
    """GHSA-qq97-vm5h-rrhg: without mediaType, the Content-Type alone decided which of the two it was."""
    raw = json.dumps({"schemaVersion": 2, "manifests": [ENTRY_JSON], "config": CONFIG_JSON, "layers": []}).encode()
    with pytest.raises(InvalidManifestError, match="has no mediaType and was read as") as caught:
        parse_manifest(raw, header)
    assert "GHSA-qq97-vm5h-rrhg" in caught.value.hint


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"mediaType": MediaType.OCI_INDEX, "manifests": [ENTRY_JSON], "layers": []}, "image manifest field(s) layers"),
        ({"mediaType": MediaType.DOCKER_MANIFEST_LIST, "manifests": [], "config": CONFIG_JSON},
         "image manifest field(s) config"),
        ({"mediaType": MediaType.OCI_MANIFEST, "config": CONFIG_JSON, "layers": [], "manifests": None},
         "has the index field manifests"),
        ({"mediaType": MediaType.DOCKER_MANIFEST, "config": CONFIG_JSON, "layers": [], "manifests": [ENTRY_JSON]},
         "has the index field manifests"),
    ],
)
def test_fields_that_contradict_the_declared_type_are_refused(doc: dict[str, object], message: str):
    with pytest.raises(InvalidManifestError, match=re.escape(message)):
        parse_manifest(json.dumps({"schemaVersion": 2, **doc}).encode())


def test_documents_whose_fields_fit_their_type_still_parse():
    index = json.dumps({"schemaVersion": 2, "manifests": [ENTRY_JSON]}).encode()
    manifest = json.dumps({"schemaVersion": 2, "config": CONFIG_JSON, "layers": [LAYER.to_json()]}).encode()
    docker_list = json.dumps({"schemaVersion": 2, "mediaType": MediaType.DOCKER_MANIFEST_LIST,
                              "manifests": [ENTRY_JSON]}).encode()
    assert isinstance(parse_manifest(index, MediaType.OCI_INDEX), Index)
    assert isinstance(parse_manifest(index), Index)
    assert isinstance(parse_manifest(manifest, MediaType.OCI_MANIFEST), Manifest)
    assert isinstance(parse_manifest(docker_list, MediaType.DOCKER_MANIFEST_LIST), Index)
    artifact = build_manifest(EMPTY_DESCRIPTOR, [LAYER], artifact_type="application/vnd.example+json",
                              subject=Descriptor.for_bytes(MediaType.OCI_MANIFEST, b"{}"))
    assert parse_manifest(artifact.raw) == artifact
    referrers = build_index([artifact.descriptor()])
    assert isinstance(parse_manifest(referrers.raw), Index)
