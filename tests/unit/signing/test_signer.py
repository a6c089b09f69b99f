"""sign_image on an OCI layout: legacy append and dedupe, bundles as referrers, recursion, nothing half-written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from supplychain.digest import Digest
from supplychain.formats.bundle import Bundle
from supplychain.formats.dsse import pae
from supplychain.formats.intoto import parse_statement
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Manifest, build_index
from supplychain.signing import SignatureFormat, SignatureTagError, sign_image
from supplychain.signing.payload import build_payload, parse_payload
from supplychain.signing.signature import signature_verifies
from tests.support.signatures import fixed_clock, new_key, put_bytes

NAME = "registry.example/team/app"


def snapshot(path: Path) -> dict[str, str]:
    """Every file of a layout and the hash of its content."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".supplychain")}


def sig_layers(layout: OciLayout, digest: Digest) -> list:
    manifest = layout.get_manifest(attachment_tag(digest, AttachmentKind.SIGNATURE))
    assert isinstance(manifest, Manifest)
    return list(manifest.layers)


def test_legacy_sign_appends_and_dedupes(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    first, second = new_key(), new_key()

    result = sign_image(layout, subject, first.private_key, docker_reference=NAME, annotations={"env": "prod"})
    image = result.images[0]
    assert image.payload == build_payload(NAME, subject.digest, {"env": "prod"})
    assert signature_verifies(first.public_key, image.signature, image.payload)
    layers = sig_layers(layout, subject.digest)
    assert len(layers) == 1
    assert layout.get_blob(layers[0]) == image.payload

    again = sign_image(layout, subject, first.private_key, docker_reference=NAME, annotations={"env": "prod"})
    assert again.images[0].already_present
    assert len(sig_layers(layout, subject.digest)) == 1  # randomized ECDSA, but the same key and payload

    sign_image(layout, subject, second.private_key, docker_reference=NAME, annotations={"env": "prod"})
    sign_image(layout, subject, first.private_key, docker_reference=NAME, annotations={"env": "dev"})
    layers = sig_layers(layout, subject.digest)
    assert len(layers) == 3
    assert [parse_payload(layout.get_blob(la)).optional for la in layers] == [
        {"env": "prod"}, {"env": "prod"}, {"env": "dev"}]


def test_legacy_sign_recursive_signs_index_and_children(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    index = layout.resolve("multi")
    result = sign_image(layout, index, new_key().private_key, docker_reference=NAME, recursive=True)
    children = layout.get_manifest(index)
    signed = [image.subject.digest for image in result.images]
    assert signed[0] == index.digest
    assert set(signed[1:]) == {d.digest for d in children.manifests}  # type: ignore[union-attr]
    for digest in signed:
        assert parse_payload(layout.get_blob(sig_layers(layout, digest)[0])).digest == digest


def test_bundle_sign_pushes_a_referrer(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    pair = new_key()
    result = sign_image(layout, subject, pair.private_key, docker_reference=NAME, annotations={"a": "b"},
                        signature_format=SignatureFormat.BUNDLE, clock=fixed_clock)
    image = result.images[0]
    referrers = layout.referrers(subject.digest, "application/vnd.dev.sigstore.bundle.v0.3+json")
    assert [r.digest for r in referrers] == [image.artifact.digest]  # type: ignore[union-attr]
    assert referrers[0].annotations["org.opencontainers.image.created"] == "2024-01-02T03:04:05Z"
    manifest = layout.get_manifest(referrers[0])
    assert isinstance(manifest, Manifest) and manifest.subject is not None
    assert manifest.subject.digest == subject.digest
    bundle = Bundle.parse(layout.get_blob(manifest.layers[0]))
    assert bundle.envelope is not None
    statement = parse_statement(bundle.envelope.payload)
    assert statement.subjects[0].name == NAME and statement.subjects[0].annotations == {"a": "b"}
    assert signature_verifies(pair.public_key, bundle.envelope.signatures[0].sig,
                              pae("application/vnd.in-toto+json", bundle.envelope.payload))
    assert layout.has_blob(manifest.config.digest)  # the empty config blob {}


def test_deterministic_bundle_manifest_apart_from_the_signature(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    pair = new_key("ed25519")  # deterministic signatures: the whole referrer is reproducible
    one = sign_image(layout, subject, pair.private_key, docker_reference=NAME,
                     signature_format=SignatureFormat.BUNDLE, clock=fixed_clock, upload=False)
    two = sign_image(layout, subject, pair.private_key, docker_reference=NAME,
                     signature_format=SignatureFormat.BUNDLE, clock=fixed_clock, upload=False)
    assert one.images[0].artifact == two.images[0].artifact
    assert one.images[0].bundle == two.images[0].bundle


@pytest.mark.parametrize("signature_format", list(SignatureFormat))
def test_no_upload_writes_nothing(fixture_layout_copy: Path, signature_format: SignatureFormat):
    before = snapshot(fixture_layout_copy)
    layout = OciLayout(fixture_layout_copy)
    result = sign_image(layout, layout.resolve("multi"), new_key().private_key, docker_reference=NAME,
                        signature_format=signature_format, recursive=True, upload=False, clock=fixed_clock)
    assert len(result.images) == 3 and not result.uploaded
    assert snapshot(fixture_layout_copy) == before


def test_sig_tag_holding_an_index_is_refused_before_anything_is_written(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    index = layout.resolve("multi")
    child = layout.get_manifest(index).manifests[0]  # type: ignore[union-attr]
    # The child's .sig tag holds an index: a recursive signing must fail before writing the index's signature.
    layout.put_manifest(build_index([child]), tag=attachment_tag(child.digest, AttachmentKind.SIGNATURE))
    before = snapshot(fixture_layout_copy)
    with pytest.raises(SignatureTagError, match="holds an image index"):
        sign_image(layout, index, new_key().private_key, docker_reference=NAME, recursive=True)
    assert snapshot(fixture_layout_copy) == before


def test_foreign_layers_are_kept_when_appending(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    from tests.support.signatures import put_sig_manifest

    note = put_bytes(layout, "text/plain", b"note", annotations={"k": "v"})
    put_sig_manifest(layout, subject.digest, [(note, None)])
    sign_image(layout, subject, new_key().private_key, docker_reference=NAME)
    layers = sig_layers(layout, subject.digest)
    assert [la.media_type for la in layers] == ["text/plain", MediaType.COSIGN_SIMPLE_SIGNING]
    assert layers[0].annotations == {"k": "v"}
    config = json.loads(layout.get_blob(layout.get_manifest(
        attachment_tag(subject.digest, AttachmentKind.SIGNATURE)).config))  # type: ignore[union-attr]
    assert config["rootfs"]["diff_ids"] == [str(la.digest) for la in layers]
