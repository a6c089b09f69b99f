"""Interop proof: containers/image's cosign fixtures give the outcomes of its tests (EXPECTED.json).

Each ``dir-img-cosign-*`` fixture is loaded into an OCI layout the way a registry holds it (``manifest.json`` as
the image, each ``signature-N`` as one layer of the image's ``sha256-<hex>.sig`` manifest) and the real
``verify_image`` runs over it. Identity rules: containers/image's default ``matchRepository`` is our
``check_reference`` with the repository of the image reference its test uses.

These are the key-only fixtures, verified as containers/image does with no Rekor key configured: the
transparency-log check is off (``insecure_ignore_tlog``). ``dir-img-cosign-key-rekor-valid``,
``dir-img-cosign-fulcio-rekor-valid`` and the BYO-PKI certificate checks are in ``test_containers_image_rekor.py``;
here the BYO-PKI fixture serves only for its line-wrapped RSA signature annotation, verified with the leaf
certificate's public key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from supplychain.digest import Digest
from supplychain.errors import NotFoundError, SupplyChainError
from supplychain.keys import PublicKey, load_public_key_der
from supplychain.layout import OciLayout
from supplychain.reference import parse_image_reference
from supplychain.verify import CheckName, EvidenceSource, VerifyPolicy, verify_image
from tests.support.signatures import CONTAINERS_FIXTURES, COSIGN_VECTORS, cosign_public_key, load_cosign_fixture

EXPECTED = json.loads((COSIGN_VECTORS / "containers-image" / "EXPECTED.json").read_text())
SAMPLE = "192.168.64.2:5000/cosign-signed-single-sample"
VALID_DIGEST = Digest.parse("sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00")


def expected_for(sig: str, **match: object) -> str:
    """The expectation text EXPECTED.json records for this case (asserts the case exists there)."""
    for case in EXPECTED["cases"]:
        if case["sig"].startswith(sig) and all(case.get(k) == v for k, v in match.items()):
            return str(case["expect"])
    raise AssertionError(f"no EXPECTED.json case for {sig} {match}")


def layout_with(tmp_path: Path, fixture: str) -> tuple[OciLayout, Digest | None]:
    layout = OciLayout(tmp_path / fixture, create=True)
    return layout, load_cosign_fixture(layout, fixture)


def repository(ref: str) -> str:
    return parse_image_reference(ref).name


def policy(*names: str, check_reference: bool = False) -> VerifyPolicy:
    """Key-only, as containers/image verifies these fixtures (no Rekor key configured): tlog ignored."""
    return VerifyPolicy(tuple(cosign_public_key(n) for n in names), check_reference=check_reference,
                        insecure_ignore_tlog=True)


def matching(*names: str) -> VerifyPolicy:
    """containers/image's default identity rule (matchRepository) on top of the key."""
    return policy(*names, check_reference=True)


@pytest.mark.parametrize("keys", [("cosign.pub",), ("cosign.pub", "cosign2.pub"), ("cosign2.pub", "cosign.pub")])
def test_valid(tmp_path: Path, keys):
    assert expected_for("dir-img-cosign-valid/signature-1", image_ref=SAMPLE).startswith("accepted")
    layout, digest = layout_with(tmp_path, "valid")
    result = verify_image(layout, "image", matching(*keys), repository=repository(SAMPLE))
    assert result.verified and result.digest == digest == VALID_DIGEST
    (good,) = result.verified_signatures
    assert good.source is EvidenceSource.LEGACY_TAG
    assert good.docker_reference == SAMPLE
    assert good.key_index == keys.index("cosign.pub")
    assert good.payload is not None
    assert good.payload["critical"]["image"]["docker-manifest-digest"] == str(VALID_DIGEST)


def test_valid_with_another_repository_is_rejected_by_the_identity_rule(tmp_path: Path):
    assert "rejected" in expected_for("dir-img-cosign-valid/signature-1", image_ref="testing/manifest:notlatest")
    layout, _ = layout_with(tmp_path, "valid")
    result = verify_image(layout, "image", matching("cosign.pub"), repository=repository("testing/manifest:notlatest"))
    assert not result.verified
    (outcome,) = result.signatures
    assert outcome.checks[-1].check is CheckName.REFERENCE
    assert "expected a docker-reference naming docker.io/testing/manifest, got " + SAMPLE in outcome.reason
    # Off by default, as in cosign: mirrors keep their original name.
    assert verify_image(layout, "image", policy("cosign.pub")).verified


def test_valid_2_both_signatures_verify(tmp_path: Path):
    assert "allowed" in expected_for("dir-img-cosign-valid-2/signature-1 + signature-2",
                                     image_ref=SAMPLE)
    layout, _ = layout_with(tmp_path, "valid-2")
    result = verify_image(layout, "image", matching("cosign.pub"), repository=repository(SAMPLE))
    assert result.verified and len(result.verified_signatures) == 2
    rejected = verify_image(layout, "image", matching("cosign.pub"), repository=repository("this/does-not:match"))
    assert not rejected.verified


def test_mixed_one_bad_one_good(tmp_path: Path):
    assert "allowed" in expected_for("dir-img-cosign-mixed/signature-1")
    layout, _ = layout_with(tmp_path, "mixed")
    result = verify_image(layout, "image", matching("cosign.pub"), repository=repository(SAMPLE))
    assert result.verified
    bad, good = result.signatures
    assert not bad.verified and bad.reason is not None and bad.reason.startswith("signature: expected a signature")
    assert good.verified


@pytest.mark.parametrize("key", ["cosign.pub", "cosign2.pub"])
def test_unknown_key_signature_is_rejected(tmp_path: Path, key):
    assert "cryptographic signature verification failed" in expected_for("unknown-cosign-key.signature")
    layout = OciLayout(tmp_path / "unknown", create=True)
    load_cosign_fixture(layout, "valid")
    from supplychain.oci.model import Descriptor
    from tests.support.signatures import put_sig_manifest, read_signature_file

    attachment = read_signature_file(CONTAINERS_FIXTURES / "unknown-cosign-key.signature")
    desc = Descriptor.for_bytes(attachment.mime_type, attachment.payload, annotations=attachment.annotations)
    put_sig_manifest(layout, VALID_DIGEST, [(desc, attachment.payload)])  # replaces the .sig tag
    result = verify_image(layout, "image", policy(key))
    assert not result.verified
    assert result.reasons() == [f"sha256-{VALID_DIGEST.hex}.sig layer 0: signature: expected a signature over the "
                                "payload by the given key, got one that does not verify"]


@pytest.mark.parametrize("wrong", ["cosign2.pub", "some-rsa-key.pub"])
def test_wrong_key_and_key_of_another_algorithm(tmp_path: Path, wrong):
    layout, _ = layout_with(tmp_path, "valid")
    result = verify_image(layout, "image", policy(wrong))
    assert not result.verified
    assert result.signatures[0].checks[0].check is CheckName.SIGNATURE


def test_valid_with_tag_made_by_containers_image(tmp_path: Path):
    assert expected_for("dir-img-cosign-valid-with-tag/signature-1",
                        image_ref="192.168.64.2:5000/skopeo-signed:tag").startswith("accepted")
    layout, _ = layout_with(tmp_path, "valid-with-tag")
    result = verify_image(layout, "image", matching("cosign.pub"),
                          repository=repository("192.168.64.2:5000/skopeo-signed:tag"))
    assert result.verified
    assert result.verified_signatures[0].payload["optional"]["timestamp"] == 1657296609  # type: ignore[index]


def test_modified_manifest_fails_the_digest_claim(tmp_path: Path):
    text = expected_for("dir-img-cosign-modified-manifest/signature-1")
    assert f"Signature for digest {VALID_DIGEST} does not match" in text
    layout, digest = layout_with(tmp_path, "modified-manifest")
    # The signature is stored where a registry keeps the modified image's signatures (its .sig tag).
    from supplychain.oci.model import Descriptor
    from tests.support.signatures import put_sig_manifest, read_signature_file

    attachment = read_signature_file(CONTAINERS_FIXTURES / "dir-img-cosign-modified-manifest" / "signature-1")
    desc = Descriptor.for_bytes(attachment.mime_type, attachment.payload, annotations=attachment.annotations)
    assert digest is not None and digest != VALID_DIGEST
    put_sig_manifest(layout, digest, [(desc, attachment.payload)])
    result = verify_image(layout, "image", policy("cosign.pub"))
    assert not result.verified
    (outcome,) = result.signatures
    assert outcome.checks[0].passed  # the cryptography is fine: it is a replay
    assert outcome.reason == f"claims: expected a signature for {digest}, got one for {VALID_DIGEST}"


def test_other_attachment_is_not_a_signature(tmp_path: Path):
    assert "no signature exists (0 non-sigstore signatures, 1 sigstore non-signature attachments)" in expected_for(
        "dir-img-cosign-other-attachment/signature-1")
    layout, _ = layout_with(tmp_path, "other-attachment")
    result = verify_image(layout, "image", policy("cosign.pub"))
    assert not result.verified and result.signatures == () and result.skipped == 1
    assert result.reasons() == ["no signatures found (1 non-signature attachments skipped)"]


def test_no_manifest_cannot_be_verified(tmp_path: Path):
    assert "error reading manifest" in expected_for("dir-img-cosign-no-manifest/signature-1")
    layout, digest = layout_with(tmp_path, "no-manifest")
    assert digest is None
    with pytest.raises(NotFoundError):
        verify_image(layout, VALID_DIGEST, policy("cosign.pub"))


def test_schema1_manifest_cannot_be_stored_or_verified(tmp_path: Path):
    assert "error computing manifest digest" in expected_for("dir-img-cosign-manifest-digest-error/signature-1")
    layout = OciLayout(tmp_path / "schema1", create=True)
    with pytest.raises(SupplyChainError, match="unsupported manifest media type"):
        load_cosign_fixture(layout, "manifest-digest-error")


def pki_leaf_key() -> PublicKey:
    cert = x509.load_pem_x509_certificate((CONTAINERS_FIXTURES / "pki-cert").read_bytes())
    from cryptography.hazmat.primitives import serialization

    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return load_public_key_der(der)


def test_pki_signature_with_line_wrapped_base64_verifies_with_the_leaf_key(tmp_path: Path):
    """The BYO-PKI fixture's signature annotation is wrapped at 76 columns (+ trailing newline), as Go's
    StdEncoding accepts; key-only verification with the leaf's public key must accept it."""
    layout, digest = layout_with(tmp_path, "pki-valid")
    key_only = VerifyPolicy((pki_leaf_key(),), check_reference=True, insecure_ignore_tlog=True)
    result = verify_image(layout, "image", key_only, repository=repository("localhost:5000/test"))
    assert result.verified, result.reasons()
    assert str(digest) == "sha256:253c890b744fe3efa923b68e3a1be07bd007eb44ba29da1e7deb1d4c53b3e212"
