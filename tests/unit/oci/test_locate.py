"""``oci.locate``: one attachment locator for every command, on a real OCI layout (and BuildKit's index layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain import keys
from supplychain.digest import Digest
from supplychain.layout import OciLayout
from supplychain.oci.attachment import TAG_KINDS, AttachmentKind, attachment_tag, parse_attachment_tag
from supplychain.oci.locate import (
    BUILDKIT_ATTESTATION_MANIFEST,
    BUILDKIT_REFERENCE_DIGEST,
    BUILDKIT_REFERENCE_TYPE,
    Location,
    locate,
)
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, build_index
from supplychain.oci.referrers import referrers_tag
from tests.unit.test_attachments import add_referrer, everything


@pytest.fixture
def layout(fixture_layout_copy: Path) -> OciLayout:
    return OciLayout(fixture_layout_copy)


@pytest.fixture(scope="module")
def pair() -> keys.KeyPair:
    return keys.generate_key_pair("ecdsa-p256")


def test_every_attachment_typed_with_its_location(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    digests = everything(layout, subject, pair)
    located = locate(layout, subject.digest)
    kinds = {a.descriptor.digest: (a.kind, a.location) for a in located.attachments}
    referrer, tag = Location.REFERRERS_API, Location.COSIGN_TAG  # a layout's own index: its scan of index.json
    assert kinds == {
        digests["sig"]: (AttachmentKind.SIGNATURE, tag),
        digests["sig-bundle"]: (AttachmentKind.SIGNATURE, referrer),
        digests["att"]: (AttachmentKind.ATTESTATION, tag),
        digests["att-bundle"]: (AttachmentKind.ATTESTATION, referrer),
        digests["sbom"]: (AttachmentKind.SBOM, tag),
        digests["sbom-referrer"]: (AttachmentKind.SBOM, referrer),
        digests["notation"]: (AttachmentKind.OTHER, referrer),
    }
    assert [a.tag for a in located.tags] == [attachment_tag(subject.digest, k) for k in TAG_KINDS]
    assert [a.descriptor.digest for a in located.referrers if a.is_bundle] == [digests["sig-bundle"],
                                                                               digests["att-bundle"]]
    assert located.listing_error is None and located.cut is None and located.problems == ()


def test_a_referrer_only_the_referrers_tag_lists_is_located_there(layout: OciLayout):
    subject = layout.resolve("single")
    listed = Descriptor.for_bytes(MediaType.OCI_MANIFEST, b"{}", artifact_type="application/spdx+json")
    layout.put_manifest(build_index([listed]), tag=referrers_tag(subject.digest))
    scanned = add_referrer(layout, subject, "application/vnd.cncf.notary.signature")
    found = {a.descriptor.digest: (a.kind, a.location) for a in locate(layout, subject.digest, tags=()).referrers}
    assert found == {listed.digest: (AttachmentKind.SBOM, Location.REFERRERS_TAG),
                     scanned.digest: (AttachmentKind.OTHER, Location.REFERRERS_API)}


def test_a_damaged_referrers_tag_is_kept_as_an_error_and_diagnosed(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    everything(layout, subject, pair)
    image = layout.get_manifest(subject)
    layout.put_manifest(image, tag=referrers_tag(subject.digest))  # an image where the index should be
    located = locate(layout, subject.digest, diagnose=True)
    assert located.referrers == () and located.listing_error is not None
    assert located.damaged is not None and located.damaged.reason == "an image manifest, not an index"
    assert len(located.tags) == 3  # the cosign tags are still looked at
    assert locate(layout, subject.digest).damaged is None  # diagnosed only on request: it costs reads


def test_read_tags_refuses_an_index_at_a_cosign_tag_and_counts_layers(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    everything(layout, subject, pair)
    sig = locate(layout, subject.digest, tags=(AttachmentKind.SIGNATURE,), read_tags=True, referrers=False)
    assert len(sig.tags[0].layers) == 1 and sig.referrers == ()
    over = locate(layout, subject.digest, tags=(AttachmentKind.SIGNATURE,), read_tags=True, max_layers=0)
    assert over.tags == () and over.problems == (
        f"{attachment_tag(subject.digest, AttachmentKind.SIGNATURE)} has 1 layers, over the limit of 0: ignored",)
    layout.put_manifest(build_index([subject]), tag=attachment_tag(subject.digest, AttachmentKind.SBOM))
    index = locate(layout, subject.digest, tags=(AttachmentKind.SBOM,), read_tags=True)
    assert index.tags == () and "holds an image index, not a SBOM manifest" in index.problems[0]


def test_buildkit_attestation_manifests_in_the_index(layout: OciLayout):
    # BuildKit's layout (docker buildx --attest): the attestation manifest is an index entry of platform
    # unknown/unknown that names the platform manifest it describes.
    platform = layout.resolve("single")
    attestation = Descriptor.for_bytes(MediaType.OCI_MANIFEST, b'{"attestation":1}', annotations={
        BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION_MANIFEST, BUILDKIT_REFERENCE_DIGEST: str(platform.digest)})
    other = Descriptor.for_bytes(MediaType.OCI_MANIFEST, b'{"attestation":2}', annotations={
        BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION_MANIFEST, BUILDKIT_REFERENCE_DIGEST: "sha256:" + "0" * 64})
    index = build_index([platform, attestation, other])
    located = locate(layout, platform.digest, referrers=False, tags=(), index=index)
    assert [(a.kind, a.location, a.descriptor.digest) for a in located.buildkit] == [
        (AttachmentKind.ATTESTATION, Location.BUILDKIT, attestation.digest)]


@pytest.mark.parametrize(("kind", "suffix"), [(AttachmentKind.SIGNATURE, "sig"), (AttachmentKind.ATTESTATION, "att"),
                                              (AttachmentKind.SBOM, "sbom")])
def test_one_kind_enum_names_the_cosign_tags(kind: AttachmentKind, suffix: str):
    digest = Digest.of(b"image")
    assert attachment_tag(digest, kind) == f"sha256-{digest.hex}.{suffix}"
    assert parse_attachment_tag(f"sha256-{digest.hex}.{suffix}") == (digest, kind)
    with pytest.raises(ValueError, match="no other attachment at a tag"):
        attachment_tag(digest, AttachmentKind.OTHER)
