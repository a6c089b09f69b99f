"""The legacy .sig manifest: structurally identical to cosign's, and its annotation base64 rules."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from supplychain.digest import Digest
from supplychain.formats.error import InvalidPayloadError
from supplychain.keys import generate_key_pair
from supplychain.oci.mediatype import MediaType
from supplychain.signing import legacy
from supplychain.signing.payload import build_payload
from supplychain.signing.signature import create_signature, signature_verifies
from tests.support.signatures import CONTAINERS_FIXTURES, read_signature_file

PKI_SIGNATURE = CONTAINERS_FIXTURES / "dir-img-cosign-pki-valid" / "signature-1"


def test_wrapped_base64_is_accepted_as_go_does():
    value = read_signature_file(PKI_SIGNATURE).annotations[legacy.SIGNATURE_ANNOTATION]
    lines = value.split("\n")
    assert len(lines[0]) == 76 and value.endswith("\n")  # the fixture really is wrapped at 76 columns
    decoded = legacy.decode_signature(value)
    assert len(decoded) == 512  # RSA-4096
    assert legacy.decode_signature(value.replace("\n", "\r\n")) == decoded
    assert legacy.decode_signature(value.replace("\n", "")) == decoded


@pytest.mark.parametrize("value", ["", "\n", "not base64!", "YWJj ZA==", "YWJjZA", "YWJjZA==\t", "YW=JjZA=="])
def test_signature_annotation_is_otherwise_strict(value):
    with pytest.raises(InvalidPayloadError):
        legacy.decode_signature(value)


def test_annotation_value_treats_blank_as_absent_and_reads_both_spellings():
    assert legacy.annotation_value({"dev.sigstore.cosign/certificate": " "}, legacy.CERTIFICATE_ANNOTATIONS) is None
    old = {"dev.cosignproject.cosign/certificate": "PEM"}
    assert legacy.annotation_value(old, legacy.CERTIFICATE_ANNOTATIONS) == "PEM"


def test_signature_manifest_is_structurally_cosigns():
    """Rebuild the .sig manifest cosign pushed for dir-img-cosign-valid-2 from its two layers (the
    containers/image dir: files are exactly the layers' media type, blob and annotations)."""
    attachments = [read_signature_file(CONTAINERS_FIXTURES / "dir-img-cosign-valid-2" / f"signature-{n}")
                   for n in (1, 2)]
    layers = [legacy.signature_layer(a.payload, base64.b64decode(a.annotations[legacy.SIGNATURE_ANNOTATION]))
              for a in attachments]
    for layer, attachment in zip(layers, attachments, strict=True):
        assert layer.media_type == attachment.mime_type == "application/vnd.dev.cosign.simplesigning.v1+json"
        assert dict(layer.annotations) == attachment.annotations  # same key, same base64 text
    manifest, config = legacy.build_signature_manifest(layers)
    doc = json.loads(manifest.raw)
    # go-containerregistry field order for manifests and descriptors.
    assert list(doc) == ["schemaVersion", "mediaType", "config", "layers"]
    assert list(doc["config"]) == ["mediaType", "size", "digest"]
    assert list(doc["layers"][0]) == ["mediaType", "size", "digest", "annotations"]
    assert doc["mediaType"] == MediaType.OCI_MANIFEST
    assert doc["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    payload_digest = "sha256:" + hashlib.sha256(attachments[0].payload).hexdigest()
    assert [la["digest"] for la in doc["layers"]] == [payload_digest, payload_digest]
    assert config == (
        b'{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"},'
        b'{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["'
        + payload_digest.encode() + b'","' + payload_digest.encode() + b'"]},"config":{}}'
    )
    assert manifest.config.digest == Digest.of(config)


def test_has_signature_dedupes_by_payload_and_key():
    pair = generate_key_pair()
    other = generate_key_pair()
    payload = build_payload("r.example/a", Digest.of(b"image"))
    layer = legacy.signature_layer(payload, create_signature(pair.private_key, payload))

    def by(key):
        return lambda s, p: signature_verifies(key, s, p)

    assert legacy.has_signature([layer], layer.digest, payload, by(pair.public_key))
    assert not legacy.has_signature([layer], layer.digest, payload, by(other.public_key))
    different = build_payload("r.example/b", Digest.of(b"image"))
    assert not legacy.has_signature([layer], Digest.of(different), different, by(pair.public_key))


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "ed25519"])
def test_signatures_verify_for_every_supported_algorithm(algorithm):
    pair = generate_key_pair(algorithm)
    signature = create_signature(pair.private_key, b"payload")
    assert signature_verifies(pair.public_key, signature, b"payload")
    assert not signature_verifies(pair.public_key, signature, b"payload!")
