"""Bad input: each case gives a verdict with a reason (or a clear error), never a traceback or a wrong "yes"."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from supplychain.digest import Digest
from supplychain.errors import ExitCode
from supplychain.keys import sign as raw_sign
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Manifest, build_index, build_manifest
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.bundle import BUNDLE_MEDIA_TYPE
from supplychain.signing.legacy import SIGNATURE_ANNOTATION, encode_signature, signature_layer
from supplychain.signing.payload import build_payload
from supplychain.verify import (
    CheckName,
    EvidenceSource,
    Limits,
    Verifier,
    VerifyPolicy,
    VerifyTarget,
    verify_image,
)
from tests.support.signatures import (
    CountingStore,
    fixed_clock,
    new_key,
    put_bytes,
    put_sig_manifest,
    raw_manifest,
)

NAME = "registry.example/team/app"
KEY = new_key()


@pytest.fixture
def layout(fixture_layout_copy: Path) -> OciLayout:
    return OciLayout(fixture_layout_copy)


def images(layout: OciLayout) -> tuple[Descriptor, Descriptor]:
    """The amd64 (``single``) and arm64 manifests of the fixture."""
    index = layout.get_manifest("multi")
    amd64, arm64 = index.manifests  # type: ignore[union-attr]
    return amd64, arm64


def sig_manifest(layout: OciLayout, digest: Digest) -> Manifest:
    found = layout.get_manifest(attachment_tag(digest, AttachmentKind.SIGNATURE))
    assert isinstance(found, Manifest)
    return found


def policy(**kwargs) -> VerifyPolicy:
    """Key-only (these signatures were made without a transparency log: the tlog checks are tested in
    ``test_transparency.py``)."""
    kwargs.setdefault("insecure_ignore_tlog", True)
    return VerifyPolicy((KEY.public_key,), **kwargs)


def test_replayed_legacy_signature_fails_the_digest_claim(layout: OciLayout):
    amd64, arm64 = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME)
    stolen = sig_manifest(layout, amd64.digest)
    layout.put_manifest(stolen, tag=attachment_tag(arm64.digest, AttachmentKind.SIGNATURE))
    result = verify_image(layout, arm64.digest, policy())
    assert not result.verified
    (outcome,) = result.signatures
    assert [c.passed for c in outcome.checks] == [True, False]  # genuine signature, wrong image
    assert outcome.reason == f"claims: expected a signature for {arm64.digest}, got one for {amd64.digest}"
    # cosign's --check-claims=false would accept it: the flag exists, the danger is documented.
    assert verify_image(layout, arm64.digest, policy(check_claims=False)).verified


def test_replayed_bundle_fails_the_digest_claim(layout: OciLayout):
    amd64, arm64 = images(layout)
    result = sign_image(layout, amd64, KEY.private_key, docker_reference=NAME,
                        signature_format=SignatureFormat.BUNDLE, clock=fixed_clock, upload=False)
    image = result.images[0]
    bundle_layer = put_bytes(layout, BUNDLE_MEDIA_TYPE, image.bundle)  # type: ignore[arg-type]
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    layout.put_manifest(
        build_manifest(EMPTY_DESCRIPTOR, [bundle_layer], subject=arm64, artifact_type=BUNDLE_MEDIA_TYPE))
    verdict = verify_image(layout, arm64.digest, policy())
    assert not verdict.verified
    assert verdict.signatures[0].reason == (
        f"claims: expected a signature for {arm64.digest}, got one for {amd64.digest}")


def test_payload_edited_after_signing(layout: OciLayout):
    amd64, _ = images(layout)
    payload = build_payload(NAME, amd64.digest)
    signature = raw_sign(KEY.private_key, payload)
    edited = payload.replace(b'"optional":null', b'"optional":{"approved":"yes"}')
    forged = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, edited,
                                  annotations={SIGNATURE_ANNOTATION: encode_signature(signature)})
    put_sig_manifest(layout, amd64.digest, [(forged, edited)])
    result = verify_image(layout, amd64.digest, policy())
    assert not result.verified
    assert result.signatures[0].checks[0].check is CheckName.SIGNATURE
    assert "does not verify" in result.signatures[0].reason  # type: ignore[operator]


@pytest.mark.parametrize("value", ["***", "MEUCIQ", "TUVVQ0lR IGFi"])
def test_signature_annotation_not_base64(layout: OciLayout, value: str):
    amd64, _ = images(layout)
    payload = build_payload(NAME, amd64.digest)
    layer = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, payload, annotations={SIGNATURE_ANNOTATION: value})
    put_sig_manifest(layout, amd64.digest, [(layer, payload)])
    result = verify_image(layout, amd64.digest, policy())
    assert not result.verified
    assert result.signatures[0].reason.startswith("read: the signature annotation is not")  # type: ignore[union-attr]


def test_line_wrapped_signature_annotation_is_accepted(layout: OciLayout):
    amd64, _ = images(layout)
    pair = new_key("rsa-2048")  # a long signature, wrapped over several lines as BYO-PKI cosign writes it
    payload = build_payload(NAME, amd64.digest)
    wrapped = "\n".join(textwrap.wrap(encode_signature(raw_sign(pair.private_key, payload)), 76)) + "\n"
    layer = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, payload, annotations={SIGNATURE_ANNOTATION: wrapped})
    put_sig_manifest(layout, amd64.digest, [(layer, payload)])
    assert verify_image(layout, amd64.digest, VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True)).verified


def test_missing_signature_annotation(layout: OciLayout):
    amd64, _ = images(layout)
    payload = build_payload(NAME, amd64.digest)
    put_sig_manifest(layout, amd64.digest, [(Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, payload), payload)])
    result = verify_image(layout, amd64.digest, policy())
    assert result.reasons()[0].endswith("read: missing dev.cosignproject.cosign/signature annotation")


def test_signature_blob_whose_digest_does_not_match(layout: OciLayout, fixture_layout_copy: Path):
    amd64, _ = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME)
    layer = sig_manifest(layout, amd64.digest).layers[0]
    blob = fixture_layout_copy / "blobs" / "sha256" / layer.digest.hex
    blob.write_bytes(blob.read_bytes().replace(b"team/app", b"team/xyz"))  # same size, other bytes
    result = verify_image(layout, amd64.digest, policy())
    assert not result.verified
    reason = result.signatures[0].reason
    assert reason is not None and reason.startswith("read: payload blob: ") and "digest mismatch" in reason
    assert f"expected {layer.digest}, got sha256:" in reason


def test_ten_thousand_signature_layers_are_refused_from_the_manifest(layout: OciLayout):
    amd64, _ = images(layout)
    layers = [{"mediaType": MediaType.COSIGN_SIMPLE_SIGNING, "digest": str(Digest.of(b"%d" % i)), "size": 10,
               "annotations": {SIGNATURE_ANNOTATION: "AAAA"}} for i in range(10_000)]
    config = put_bytes(layout, MediaType.OCI_CONFIG, b"{}")
    hostile = raw_manifest({"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST, "config": config.to_json(),
                            "layers": layers})
    layout.put_manifest(hostile, tag=attachment_tag(amd64.digest, AttachmentKind.SIGNATURE))
    counting = CountingStore(layout)
    result = verify_image(counting, amd64.digest, policy())  # type: ignore[arg-type]
    assert not result.verified and result.error is None
    assert counting.blob_reads == []
    assert f"sha256-{amd64.digest.hex}.sig: manifest has 10000 layers, over the limit of 1000" in result.problems


def test_too_many_signatures_for_max_signatures(layout: OciLayout):
    amd64, _ = images(layout)
    for _ in range(3):
        sign_image(layout, amd64, new_key().private_key, docker_reference=NAME)
    counting = CountingStore(layout)
    result = verify_image(counting, amd64.digest, policy(limits=Limits(max_signatures=2)))  # type: ignore[arg-type]
    assert not result.verified and counting.blob_reads == []
    assert result.reasons() == [
        f"found 3 signatures (3 in sha256-{amd64.digest.hex}.sig, 0 referrers), more than the limit of 2 "
        "(--max-signatures): none was read"]


def test_one_gigabyte_signature_blob_is_refused_from_the_descriptor(layout: OciLayout):
    amd64, _ = images(layout)
    huge = Descriptor(MediaType.COSIGN_SIMPLE_SIGNING, Digest.of(b"huge"), 1 << 30, {SIGNATURE_ANNOTATION: "AAAA"})
    payload = build_payload(NAME, amd64.digest)
    good = signature_layer(payload, raw_sign(KEY.private_key, payload))
    put_sig_manifest(layout, amd64.digest, [(huge, None), (good, payload)])
    counting = CountingStore(layout)
    result = verify_image(counting, amd64.digest, policy())  # type: ignore[arg-type]
    assert result.verified
    assert counting.blob_reads == [good.digest]
    assert result.signatures[0].reason == (
        "read: payload declares 1073741824 bytes, over the 1048576-byte limit: not read")  # issue 7.4: 1 MiB


def test_sig_tag_that_is_an_index(layout: OciLayout):
    amd64, arm64 = images(layout)
    layout.put_manifest(build_index([arm64]), tag=attachment_tag(amd64.digest, AttachmentKind.SIGNATURE))
    result = verify_image(layout, amd64.digest, policy())
    assert not result.verified
    assert result.problems == (f"sha256-{amd64.digest.hex}.sig holds an image index, not a signature manifest: "
                               "ignored",)


def test_unparseable_bundle_next_to_a_valid_legacy_signature(layout: OciLayout):
    """cosign v3 looks at the .sig tag only when no parseable bundle exists; a broken referrer must not hide
    the valid legacy signature here."""
    amd64, _ = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME)
    junk = put_bytes(layout, BUNDLE_MEDIA_TYPE, b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"')
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    layout.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [junk], subject=amd64, artifact_type=BUNDLE_MEDIA_TYPE))
    result = verify_image(layout, amd64.digest, policy())
    assert result.verified
    legacy_outcome, bundle_outcome = result.signatures
    assert legacy_outcome.source is EvidenceSource.LEGACY_TAG and legacy_outcome.verified
    assert bundle_outcome.source is EvidenceSource.REFERRER
    assert bundle_outcome.reason.startswith("read: bundle: bundle is not valid JSON")  # type: ignore[union-attr]


def test_attestation_bundles_are_skipped_not_failed(layout: OciLayout):
    amd64, _ = images(layout)
    other = put_bytes(layout, BUNDLE_MEDIA_TYPE, b"{}")
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    layout.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [other], subject=amd64, artifact_type=BUNDLE_MEDIA_TYPE,
                                       annotations={"dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1"}))
    result = verify_image(layout, amd64.digest, policy())
    assert result.skipped == 1 and result.signatures == ()
    (reason,) = result.skipped_reasons
    assert "an attestation of predicateType 'https://slsa.dev/provenance/v1', not an image signature" in reason


def test_message_signature_bundle_is_skipped_with_the_reason(layout: OciLayout):
    """Issue 9: a bundle verify cannot use is skipped, and says why (it used to be a failed signature)."""
    amd64, _ = images(layout)
    doc = {"mediaType": BUNDLE_MEDIA_TYPE, "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": []},
           "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": "AAAA"}, "signature": "AAAA"}}
    layer = put_bytes(layout, BUNDLE_MEDIA_TYPE, json.dumps(doc).encode())
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    layout.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [layer], subject=amd64, artifact_type=BUNDLE_MEDIA_TYPE))
    result = verify_image(layout, amd64.digest, policy())
    assert result.signatures == () and result.skipped == 1
    (reason,) = result.skipped_reasons
    assert reason.startswith("referrer sha256:") and "a v0.3 message-signature bundle" in reason


def test_annotations_and_reference_checks(layout: OciLayout):
    amd64, _ = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference="index.docker.io/team/app", annotations={"env": "prod"})
    assert verify_image(layout, amd64.digest, policy(annotations={"env": "prod"})).verified
    wrong = verify_image(layout, amd64.digest, policy(annotations={"env": "dev", "team": "x"}))
    assert wrong.signatures[0].reason == 'annotations: expected annotation env=dev, got env="prod"'
    # index.docker.io (cosign's spelling) and docker.io name the same repository.
    assert verify_image(layout, amd64.digest, policy(check_reference=True), repository="docker.io/team/app").verified
    other = verify_image(layout, amd64.digest, policy(check_reference=True), repository="docker.io/team/other")
    assert other.signatures[0].reason == (
        "reference: expected a docker-reference naming docker.io/team/other, got index.docker.io/team/app")


def test_curve_hash_signatures_verify_too(layout: OciLayout):
    """sigstore-go pairs P-384 with SHA-384; cosign v2 and containers/image use SHA-256: both verify."""
    amd64, _ = images(layout)
    pair = new_key("ecdsa-p384")
    payload = build_payload(NAME, amd64.digest)
    layer = signature_layer(payload, raw_sign(pair.private_key, payload))  # SHA-384, the curve's default
    put_sig_manifest(layout, amd64.digest, [(layer, payload)])
    assert verify_image(layout, amd64.digest, VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True)).verified


def test_several_images_concurrently_in_order_with_isolated_errors(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    amd64, arm64 = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME)

    def opener():
        return OciLayout(fixture_layout_copy)

    targets = [VerifyTarget("amd64", amd64.digest, opener), VerifyTarget("arm64", arm64.digest, opener),
               VerifyTarget("missing", "no-such-tag", opener), VerifyTarget("amd64-again", "single", opener)]
    results = list(Verifier().verify_images(targets, policy(), max_workers=4))
    assert [r.reference for r in results] == ["amd64", "arm64", "missing", "amd64-again"]
    assert [r.verified for r in results] == [True, False, False, True]
    assert results[1].reasons() == ["no signatures found"]
    assert results[2].error is not None and "no-such-tag" in results[2].error.message
    assert results[3].resolved_from == "single"


def test_policy_needs_a_key():
    from supplychain.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        VerifyPolicy(())


# -- JSON nested too deeply for Python's decoder (RecursionError) ------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 kB


def put_referrer(layout: OciLayout, subject: Descriptor, bundle: bytes) -> Manifest:
    layer = put_bytes(layout, BUNDLE_MEDIA_TYPE, bundle)
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    manifest = build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type=BUNDLE_MEDIA_TYPE)
    layout.put_manifest(manifest)
    return manifest


def test_deeply_nested_bundle_is_one_signatures_failure(layout: OciLayout):
    """A referrer layer of '['*100000 + ']'*100000 used to end verify with RecursionError (exit 70)."""
    amd64, _ = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME, signature_format=SignatureFormat.BUNDLE,
               clock=fixed_clock, upload=True)
    put_referrer(layout, amd64, DEEP)
    result = verify_image(layout, amd64.digest, policy())
    assert result.verified and result.error is None
    assert [s.verified for s in result.signatures].count(True) == 2
    (deep,) = [s for s in result.signatures if not s.verified]
    assert deep.source is EvidenceSource.REFERRER
    assert deep.reason == "read: bundle: bundle is not valid JSON: arrays and objects nest deeper than 128 levels"


class RecursingStore:
    """A store whose reads of chosen things raise ``RecursionError``, as a JSON reader below ``verify`` that does
    not guard against deep nesting would (``json.loads`` of a hostile manifest or referrers index)."""

    def __init__(self, inner: OciLayout, *, manifests: tuple[Digest | str, ...] = (), referrers: bool = False):
        self.inner, self.manifests, self.recurse_referrers = inner, manifests, referrers

    @property
    def name(self) -> str:
        return self.inner.name

    def _check(self, what: object) -> None:
        key = what.digest if isinstance(what, Descriptor) else what
        if key in self.manifests:
            raise RecursionError("maximum recursion depth exceeded while decoding a JSON array from a unicode string")

    def resolve(self, identifier: str | Digest) -> Descriptor:
        self._check(identifier)
        return self.inner.resolve(identifier)

    def get_manifest(self, what: Descriptor | Digest | str) -> Any:
        self._check(what)
        return self.inner.get_manifest(what)

    def referrers(self, subject: Digest, artifact_type: str | None = None) -> list[Descriptor]:
        if self.recurse_referrers:
            raise RecursionError("maximum recursion depth exceeded")
        return self.inner.referrers(subject, artifact_type)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


def test_recursion_errors_from_below_are_reasons(layout: OciLayout):
    amd64, _ = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME)
    hostile = put_referrer(layout, amd64, b"{}")
    tag = attachment_tag(amd64.digest, AttachmentKind.SIGNATURE)

    result = verify_image(RecursingStore(layout, manifests=(hostile.digest,)), amd64.digest, policy())  # type: ignore[arg-type]
    assert result.verified  # the legacy signature, next to the referrer whose manifest cannot be read
    assert result.signatures[1].reason == (
        "read: referrer manifest: the document nests JSON arrays and objects too deeply to read")

    result = verify_image(RecursingStore(layout, referrers=True), amd64.digest, policy())  # type: ignore[arg-type]
    assert result.verified and result.problems == (
        f"referrers of {amd64.digest}: the document nests JSON arrays and objects too deeply to read",)

    result = verify_image(RecursingStore(layout, manifests=(tag,)), amd64.digest, policy())  # type: ignore[arg-type]
    assert not result.verified and result.problems == (
        f"{tag}: the document nests JSON arrays and objects too deeply to read",)


def test_an_image_that_cannot_be_read_does_not_suppress_the_others(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    amd64, arm64 = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME)
    sign_image(layout, arm64, KEY.private_key, docker_reference=NAME)
    put_referrer(layout, arm64, DEEP)

    def opener(hostile: bool = False) -> Any:
        store = OciLayout(fixture_layout_copy)
        return RecursingStore(store, manifests=(amd64.digest,)) if hostile else store

    targets = [VerifyTarget("hostile", amd64.digest, lambda: opener(True)),
               VerifyTarget("deep-referrer", arm64.digest, opener),
               VerifyTarget("fine", amd64.digest, opener)]
    for workers in (1, 3):
        results = list(Verifier().verify_images(targets, policy(), max_workers=workers))
        assert [r.reference for r in results] == ["hostile", "deep-referrer", "fine"]
        assert [r.verified for r in results] == [False, True, True]
        error = results[0].error
        assert error is not None and error.exit_code == ExitCode.INVALID_INPUT
        assert error.message == "hostile: the document nests JSON arrays and objects too deeply to read"
