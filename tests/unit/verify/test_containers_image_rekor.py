"""Interop proof: containers/image's Rekor, Fulcio and BYO-PKI fixtures give the outcomes of its tests
(EXPECTED.json): ``dir-img-cosign-key-rekor-valid`` (key + Rekor SET), ``dir-img-cosign-fulcio-rekor-valid``
(Fulcio certificate + Rekor SET, verified at the SET's integratedTime) and ``dir-img-cosign-pki-valid`` (BYO PKI,
no Rekor, verified now).

The fixtures are loaded into an OCI layout as a registry holds them (see ``test_containers_image_fixtures.py``);
the real ``verify_image`` runs over them, offline. Rekor keys: ``rekor.pub`` (the public-good log's, which is
also in Sigstore's production trusted root, our default) or ``cosign.pub`` (a wrong one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION
from supplychain.layout import OciLayout
from supplychain.oci.model import Descriptor
from supplychain.trust.certificate import load_certificates
from supplychain.trust.keyring import LogKeyring, read_public_key
from supplychain.verify import (
    CertificatePolicy,
    CheckName,
    TlogPolicy,
    VerificationResult,
    VerifyPolicy,
    verify_image,
)
from tests.support.signatures import (
    CONTAINERS_FIXTURES,
    COSIGN_VECTORS,
    cosign_public_key,
    load_cosign_fixture,
    put_sig_manifest,
    read_signature_file,
)

EXPECTED = json.loads((COSIGN_VECTORS / "containers-image" / "EXPECTED.json").read_text())
KEY_IMAGE = "192.168.64.2:5000/cosign-signed/key-1"
FULCIO_IMAGE = "192.168.64.2:5000/cosign-signed/fulcio-rekor-1"
REKOR_URL = "https://rekor.sigstore.dev"
GITHUB = "https://github.com/login/oauth"


def expected_for(sig: str, **match: object) -> str:
    """The expectation EXPECTED.json records for this case (asserts the case exists there)."""
    for case in EXPECTED["cases"]:
        if case["sig"].startswith(sig) and all(case.get(k) == v for k, v in match.items()):
            return str(case["expect"])
    raise AssertionError(f"no EXPECTED.json case for {sig} {match}")


def rekor_keys(*names: str) -> LogKeyring:
    keyring = LogKeyring(())
    for name in names:
        keyring = keyring.merged(read_public_key(CONTAINERS_FIXTURES / name, REKOR_URL))
    return keyring


def fixture(tmp_path: Path, name: str, *, drop: tuple[str, ...] = (), override: dict[str, str] | None = None,
            ) -> OciLayout:
    """The fixture in a layout, its (only) signature's annotations edited as the containers/image test does."""
    layout = OciLayout(tmp_path / name, create=True)
    digest = load_cosign_fixture(layout, name)
    assert digest is not None
    if drop or override:
        attachment = read_signature_file(CONTAINERS_FIXTURES / f"dir-img-cosign-{name}" / "signature-1")
        annotations = {k: v for k, v in attachment.annotations.items() if k not in drop} | (override or {})
        layer = Descriptor.for_bytes(attachment.mime_type, attachment.payload, annotations=annotations)
        put_sig_manifest(layout, digest, [(layer, attachment.payload)])
    return layout


def reason(result: VerificationResult) -> str:
    assert not result.verified
    (outcome,) = result.signatures
    assert outcome.reason is not None
    return outcome.reason


# -- key + Rekor ------------------------------------------------------------------------------------------


def key_policy(keys: tuple[str, ...] = ("cosign2.pub",), rekor: tuple[str, ...] | None = ("rekor.pub",),
               **kwargs: Any) -> VerifyPolicy:
    tlog = TlogPolicy(None if rekor is None else rekor_keys(*rekor))
    return VerifyPolicy(tuple(cosign_public_key(n) for n in keys), tlog=tlog, **kwargs)


@pytest.mark.parametrize(("keys", "rekor"), [
    (("cosign2.pub",), ("rekor.pub",)),
    (("cosign2.pub", "cosign.pub"), ("rekor.pub",)),
    (("cosign.pub", "cosign2.pub"), ("rekor.pub",)),
    (("cosign2.pub",), ("rekor.pub", "cosign.pub")),
    (("cosign2.pub",), ("cosign.pub", "rekor.pub")),
    (("cosign2.pub",), None),  # our default: Sigstore's production trusted root, which holds rekor.pub
])
def test_key_rekor_valid(tmp_path: Path, keys: tuple[str, ...], rekor: tuple[str, ...] | None):
    text = expected_for("dir-img-cosign-key-rekor-valid/signature-1", image_ref=KEY_IMAGE)
    assert text.startswith("accepted") and "integratedTime=1674251859 logIndex=11608800" in text
    layout = fixture(tmp_path, "key-rekor-valid")
    result = verify_image(layout, "image", key_policy(keys, rekor, check_reference=True),
                          repository="192.168.64.2:5000/cosign-signed/key-1")
    assert result.verified, result.reasons()
    (outcome,) = result.signatures
    tlog = next(c for c in outcome.checks if c.check is CheckName.TLOG)
    assert tlog.log_time == 1674251859 and tlog.detail.startswith("entry 11608800 of c0d23d6ad406973f... (")


def test_key_rekor_with_the_wrong_rekor_key_is_rejected(tmp_path: Path):
    assert "RekorSET" in expected_for("dir-img-cosign-key-rekor-valid/signature-1", rekor_keys=["cosign.pub"])
    layout = fixture(tmp_path, "key-rekor-valid")
    text = reason(verify_image(layout, "image", key_policy(rekor=("cosign.pub",))))
    assert text.startswith("tlog: entry 11608800: no trusted key for log c0d23d6ad406973f")


def test_key_rekor_without_the_bundle_annotation_is_rejected(tmp_path: Path):
    assert "missing dev.sigstore.cosign/bundle annotation" in expected_for(
        "dir-img-cosign-key-rekor-valid/signature-1", annotations_override="remove dev.sigstore.cosign/bundle")
    layout = fixture(tmp_path, "key-rekor-valid", drop=(REKOR_BUNDLE_ANNOTATION,))
    assert "missing dev.sigstore.cosign/bundle annotation" in reason(verify_image(layout, "image", key_policy()))
    # Key-only, as containers/image does without a Rekor key, it verifies.
    assert verify_image(layout, "image", key_policy(insecure_ignore_tlog=True)).verified


def test_key_rekor_with_an_invalid_set_is_rejected(tmp_path: Path):
    assert "invalid SET JSON" in expected_for("dir-img-cosign-key-rekor-valid/signature-1",
                                              annotations_override={REKOR_BUNDLE_ANNOTATION: "this is not a valid SET"})
    layout = fixture(tmp_path, "key-rekor-valid", override={REKOR_BUNDLE_ANNOTATION: "this is not a valid SET"})
    assert "got one that is invalid: Rekor bundle is not valid JSON" in reason(
        verify_image(layout, "image", key_policy()))


def test_key_rekor_with_the_wrong_signing_key_is_rejected(tmp_path: Path):
    layout = fixture(tmp_path, "key-rekor-valid")
    text = reason(verify_image(layout, "image", key_policy(keys=("cosign.pub",))))
    assert text.startswith("signature: expected a signature over the payload by the given key")


def test_valid_signature_with_a_bundle_copied_from_another_signature_is_rejected(tmp_path: Path):
    """EXPECTED.json: 'signature in Rekor SET does not match' (the SET itself is valid)."""
    assert "does not match" in expected_for(
        "dir-img-cosign-valid/signature-1 with bundle annotation copied from dir-img-cosign-key-rekor-valid")
    donor = read_signature_file(CONTAINERS_FIXTURES / "dir-img-cosign-key-rekor-valid" / "signature-1")
    layout = fixture(tmp_path, "valid", override={REKOR_BUNDLE_ANNOTATION: donor.annotations[REKOR_BUNDLE_ANNOTATION]})
    text = reason(verify_image(layout, "image", key_policy(keys=("cosign.pub", "cosign2.pub"))))
    assert text.startswith("tlog: entry 11608800: expected an entry for the payload's digest sha256:")


# -- Fulcio + Rekor ---------------------------------------------------------------------------------------


def fulcio(identity: str = "mitr@redhat.com", *, roots: tuple[Any, ...] | None = None,
           issuer: str | None = GITHUB, **kwargs: Any) -> VerifyPolicy:
    certificates = CertificatePolicy(roots or load_certificates(CONTAINERS_FIXTURES / "fulcio_v1.crt.pem", "roots"),
                                     identity=identity, issuer=issuer)
    return VerifyPolicy(certificate=certificates, tlog=TlogPolicy(kwargs.pop("rekor", rekor_keys("rekor.pub"))),
                        **kwargs)


def test_fulcio_rekor_valid_at_the_logs_time(tmp_path: Path):
    text = expected_for("dir-img-cosign-fulcio-rekor-valid/signature-1", image_ref=FULCIO_IMAGE)
    assert text.startswith("accepted") and "chain verified AT integratedTime, not now" in text
    layout = fixture(tmp_path, "fulcio-rekor-valid")
    result = verify_image(layout, "image", fulcio(check_reference=True),
                          repository="192.168.64.2:5000/cosign-signed/fulcio-rekor-1")
    assert result.verified, result.reasons()
    assert result.checks == (CheckName.SIGNATURE, CheckName.TLOG, CheckName.CERTIFICATE, CheckName.CLAIMS,
                             CheckName.REFERENCE)
    (outcome,) = result.signatures
    certificate = next(c for c in outcome.checks if c.check is CheckName.CERTIFICATE)
    assert certificate.detail == f"mitr@redhat.com (issuer {GITHUB}) at 2023-01-20T20:51:33Z, chain of 3"
    assert outcome.payload is not None  # cosign adds Issuer and Subject to the printed payload
    assert {outcome.payload["optional"]["Issuer"], outcome.payload["optional"]["Subject"]} == {GITHUB,
                                                                                               "mitr@redhat.com"}
    # Default Rekor trust (Sigstore's production root) holds rekor.pub as well.
    assert verify_image(layout, "image", fulcio(rekor=None)).verified


def test_fulcio_with_another_email_is_rejected(tmp_path: Path):
    assert "Required email" in expected_for("dir-img-cosign-fulcio-rekor-valid/signature-1",
                                            fulcio={"ca": "fulcio_v1.crt.pem", "oidcIssuer": GITHUB,
                                                    "subjectEmail": "this-does-not-match@example.com"})
    layout = fixture(tmp_path, "fulcio-rekor-valid")
    assert reason(verify_image(layout, "image", fulcio("this-does-not-match@example.com"))) == (
        "certificate: expected identity this-does-not-match@example.com, got mitr@redhat.com")


def test_fulcio_identity_and_issuer_regexps(tmp_path: Path):
    layout = fixture(tmp_path, "fulcio-rekor-valid")
    roots = load_certificates(CONTAINERS_FIXTURES / "fulcio_v1.crt.pem", "roots")

    def verdict(**options: Any) -> VerificationResult:
        certificates = CertificatePolicy(roots, **options)
        return verify_image(layout, "image", VerifyPolicy(certificate=certificates,
                                                          tlog=TlogPolicy(rekor_keys("rekor.pub"))))

    assert verdict(identity_regexp=r"^.*@redhat\.com$", issuer_regexp=r"github\.com").verified
    assert reason(verdict(identity="mitr@redhat.com", issuer="https://accounts.google.com")) == (
        f"certificate: expected OIDC issuer https://accounts.google.com, got {GITHUB}")
    assert not verdict(identity_regexp=r"^mitr@example\.com$", issuer=GITHUB).verified


def test_fulcio_without_the_chain_needs_the_intermediate_trusted(tmp_path: Path):
    assert "no path to fulcio_v1 root" in expected_for("dir-img-cosign-fulcio-rekor-valid/signature-1",
                                                       annotations_override="remove dev.sigstore.cosign/chain")
    chain_pem = read_signature_file(CONTAINERS_FIXTURES / "dir-img-cosign-fulcio-rekor-valid" / "signature-1"
                                    ).annotations["dev.sigstore.cosign/chain"]
    layout = fixture(tmp_path, "fulcio-rekor-valid", drop=("dev.sigstore.cosign/chain",))
    assert reason(verify_image(layout, "image", fulcio())).startswith(
        "certificate: expected a certificate chaining to the trusted roots at 2023-01-20T20:51:33Z")
    # "accepted (intermediate trusted directly)": the chain's PEM as the trusted CA.
    chain_file = tmp_path / "chain.pem"
    chain_file.write_text(chain_pem)
    assert verify_image(layout, "image", fulcio(roots=load_certificates(chain_file, "roots"))).verified


@pytest.mark.parametrize("override", [None, "this is not a valid certificate"])
def test_fulcio_without_a_usable_certificate_is_rejected(tmp_path: Path, override: str | None):
    layout = fixture(tmp_path, "fulcio-rekor-valid", drop=("dev.sigstore.cosign/certificate",),
                     override=None if override is None else {"dev.sigstore.cosign/certificate": override})
    assert reason(verify_image(layout, "image", fulcio())).startswith("certificate: expected ")


def test_fulcio_with_the_wrong_rekor_key_is_rejected(tmp_path: Path):
    layout = fixture(tmp_path, "fulcio-rekor-valid")
    text = reason(verify_image(layout, "image", fulcio(rekor=rekor_keys("cosign.pub"))))
    assert text.startswith("tlog: entry 11605770: no trusted key for log")
    # Without a log time, the ten-minute certificate is checked now, long after it expired.
    certificate = next(c for c in verify_image(layout, "image", fulcio(rekor=rekor_keys("cosign.pub")))
                       .signatures[0].checks if c.check is CheckName.CERTIFICATE)
    assert "expected a time vouched for by the transparency log" in certificate.detail


def test_fulcio_with_the_log_ignored_is_checked_now_and_has_expired(tmp_path: Path):
    layout = fixture(tmp_path, "fulcio-rekor-valid")
    text = reason(verify_image(layout, "image", fulcio(insecure_ignore_tlog=True)))
    assert "(the current time (transparency log ignored))" in text and "not valid at validation time" in text


def test_fulcio_signature_by_another_key_than_the_certificates_is_rejected(tmp_path: Path):
    """The signature must verify with the leaf's key: the key-rekor fixture's signature under the Fulcio leaf."""
    donor = read_signature_file(CONTAINERS_FIXTURES / "dir-img-cosign-key-rekor-valid" / "signature-1")
    signature = "dev.cosignproject.cosign/signature"
    layout = fixture(tmp_path, "fulcio-rekor-valid", override={signature: donor.annotations[signature]})
    assert reason(verify_image(layout, "image", fulcio())).startswith(
        "signature: expected a signature over the payload by the signing certificate's key")


# -- BYO PKI ----------------------------------------------------------------------------------------------


def pki(intermediates: bool = True) -> VerifyPolicy:
    certificates = CertificatePolicy(
        load_certificates(CONTAINERS_FIXTURES / "pki_root_crts.pem", "roots"),
        load_certificates(CONTAINERS_FIXTURES / "pki_intermediate_crts.pem", "intermediates") if intermediates else (),
        identity="qiwan@redhat.com",
    )
    return VerifyPolicy(certificate=certificates, insecure_ignore_tlog=True)


def test_pki_valid_now(tmp_path: Path):
    assert expected_for("dir-img-cosign-pki-valid/signature-1", image_ref="localhost:5000/test").startswith("accepted")
    layout = fixture(tmp_path, "pki-valid")
    result = verify_image(layout, "image", pki())
    assert result.verified, result.reasons()
    assert result.checks == (CheckName.SIGNATURE, CheckName.CERTIFICATE, CheckName.CLAIMS)


def test_pki_without_the_chain_annotation(tmp_path: Path):
    """Valid with the intermediate from the configuration; rejected with no intermediate anywhere."""
    layout = fixture(tmp_path, "pki-valid", drop=("dev.sigstore.cosign/chain",))
    assert verify_image(layout, "image", pki()).verified
    assert reason(verify_image(layout, "image", pki(intermediates=False))).startswith(
        "certificate: expected a certificate chaining to the trusted roots")


def test_pki_without_the_certificate_is_rejected(tmp_path: Path):
    assert "missing certificate annotation" in expected_for(
        "dir-img-cosign-pki-valid/signature-1", annotations_override="remove dev.sigstore.cosign/certificate")
    layout = fixture(tmp_path, "pki-valid", drop=("dev.sigstore.cosign/certificate",))
    assert reason(verify_image(layout, "image", pki())) == (
        "certificate: expected a signing certificate in the dev.sigstore.cosign/certificate annotation, got none")
