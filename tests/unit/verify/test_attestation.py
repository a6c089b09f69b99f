"""Attestations (issue 11, item 5) on the one ``Verifier``: ``attest_image`` writes them (v0.3 bundle referrer, cosign
``.att`` layer), ``verify_image`` with a policy's predicate type verifies only attestations of that type, and the
bad inputs of the issue that are attestation-level each fail with their reason: a DSSE envelope with two
signatures (CVE-2026-39395), a payload type that is not in-toto, a statement whose subject is another image, an
attestation of another predicate type (never a pass: CVE-2022-35929), bad base64. BuildKit's attestation
manifests are listed as unsigned. TEST-ONLY keys."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from supplychain.attachments.download import download_attestations
from supplychain.digest import Digest
from supplychain.formats import gojson
from supplychain.formats.bundle import Bundle
from supplychain.formats.dsse import ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, DsseSignature, Envelope
from supplychain.formats.intoto import PREDICATE_ALIASES, build_statement, parse_statement, predicate_type_for
from supplychain.keys import KeyPair, generate_key_pair
from supplychain.layout import OciLayout
from supplychain.oci.attachment import ATTESTATION_PREDICATE_TYPE_ANNOTATION, AttachmentKind, attachment_tag
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Manifest, build_manifest, parse_manifest
from supplychain.signing import AttestationFormat, KeySigner, PredicateError, attest_image, build_predicate
from supplychain.signing.attest import attestation_layer
from supplychain.signing.bundle import BUNDLE_MEDIA_TYPE, build_bundle, bundle_referrer, key_hint
from supplychain.signing.signature import create_signature
from supplychain.signing.writer import append_layers
from supplychain.trust import TrustedRoot
from supplychain.verify import (
    Evidence,
    EvidenceSource,
    PayloadKind,
    SignatureEvidence,
    TlogPolicy,
    VerificationResult,
    Verifier,
    VerifyPolicy,
    VerifyRequest,
    build_verify_policy,
)
from supplychain.verify.evidence import bundle_evidence
from tests.support.fixture import fixture_path
from tests.support.signatures import fixed_clock
from tests.support.tlog import InProcessLog

NAME = "registry.example/app"
SLSA1 = PREDICATE_ALIASES["slsaprovenance1"]
CYCLONEDX = PREDICATE_ALIASES["cyclonedx"]
PROVENANCE = {"buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {}},
              "runDetails": {"builder": {"id": "https://example.com/TEST-ONLY-builder"}}}


@pytest.fixture
def layout(fixture_layout: Path, tmp_path: Path) -> Iterator[OciLayout]:
    path = tmp_path / "layout"
    shutil.copytree(fixture_layout, path)
    with OciLayout(path) as store:
        yield store


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return generate_key_pair()


def policy(pair: KeyPair, predicate_type: str, rekor: InProcessLog | None = None) -> VerifyPolicy:
    if rekor is None:
        return VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True, predicate_type=predicate_type)
    return VerifyPolicy((pair.public_key,), tlog=TlogPolicy(rekor.keyring), predicate_type=predicate_type)


def verify(layout: OciLayout, identifier: str, wanted: VerifyPolicy) -> VerificationResult:
    with Verifier() as verifier:
        return verifier.verify_image(layout, identifier, wanted)


# -- predicates and aliases -----------------------------------------------------------------------------------


def test_cosigns_aliases_name_their_uris_and_anything_else_is_a_uri() -> None:
    assert predicate_type_for("slsaprovenance") == predicate_type_for("slsaprovenance02") == \
        "https://slsa.dev/provenance/v0.2"
    assert predicate_type_for("slsaprovenance1") == "https://slsa.dev/provenance/v1"
    assert predicate_type_for("spdx") == predicate_type_for("spdxjson") == "https://spdx.dev/Document"
    assert predicate_type_for("cyclonedx") == "https://cyclonedx.org/bom"
    assert predicate_type_for("link") == "https://in-toto.io/Link/v1"
    assert predicate_type_for("vuln") == "https://cosign.sigstore.dev/attestation/vuln/v1"
    assert predicate_type_for("openvex") == "https://openvex.dev/ns"
    assert predicate_type_for("custom") == "https://cosign.sigstore.dev/attestation/v1"
    assert predicate_type_for("https://example.com/review/v1") == "https://example.com/review/v1"
    assert len(PREDICATE_ALIASES) == 10


def test_predicates_are_built_as_cosign_builds_them() -> None:
    custom = build_predicate(b"any text\n", predicate_type_for("custom"), clock=fixed_clock)
    assert custom == {"Data": "any text\n", "Timestamp": "2024-01-02T03:04:05Z"}
    assert build_predicate(b"SPDXVersion: SPDX-2.3\n", "spdx") == "SPDXVersion: SPDX-2.3\n"
    # cosign's generateSPDXStatement: --type spdx keeps even a JSON file as text; spdxjson parses it
    assert build_predicate(b'{"spdxVersion": "SPDX-2.3"}', "spdx") == '{"spdxVersion": "SPDX-2.3"}'
    assert build_predicate(b'{"spdxVersion": "SPDX-2.3"}', "spdxjson") == {"spdxVersion": "SPDX-2.3"}
    assert build_predicate(json.dumps(PROVENANCE).encode(), SLSA1) == PROVENANCE
    assert build_predicate(json.dumps(PROVENANCE).encode(), "slsaprovenance1") == PROVENANCE


@pytest.mark.parametrize("data, why", [
    (b"not json", "is not valid JSON"),
    (b"[1, 2]", "is a JSON list, not an object"),
    (b'{"a": 1, "a": 2}', "is not valid JSON"),  # duplicate keys: refused by the strict decoder
])
def test_a_predicate_that_is_not_a_json_object_is_refused(data: bytes, why: str) -> None:
    for kind in (SLSA1, "spdxjson", "cyclonedx", "https://spdx.dev/Document"):
        with pytest.raises(PredicateError, match=why) as raised:
            build_predicate(data, kind)
        assert raised.value.hint


def test_a_predicate_too_large_to_be_read_back_is_refused_before_signing(layout: OciLayout, pair: KeyPair) -> None:
    subject = layout.resolve("single")
    with pytest.raises(PredicateError, match="over the 1000-byte limit"):
        attest_image(layout, subject, KeySigner(pair.private_key), docker_reference=NAME, predicate_type=SLSA1,
                     predicate={"x": "y" * 1000}, max_bytes=1000)
    assert not layout.referrers(subject.digest)


# -- attest, then verify ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", list(AttestationFormat))
def test_an_attestation_verifies_for_its_type_only(layout: OciLayout, pair: KeyPair, rekor: InProcessLog,
                                                   form: AttestationFormat) -> None:
    subject = layout.resolve("single")
    with rekor.client() as log:
        made = attest_image(layout, subject, KeySigner(pair.private_key), docker_reference=NAME,
                            predicate_type=SLSA1, predicate=PROVENANCE, attestation_format=form, log=log,
                            clock=fixed_clock)
    assert made.tlog_entry is not None and made.artifact is not None
    statement = parse_statement(made.statement)
    assert statement.type == "https://in-toto.io/Statement/v1" and statement.predicate_type == SLSA1
    assert statement.subjects[0].name == NAME and statement.subject_for(subject.digest) is not None

    result = verify(layout, "single", policy(pair, SLSA1, rekor))
    assert result.verified, result.reasons()
    (outcome,) = result.signatures
    assert outcome.envelope is not None and list(outcome.envelope) == ["payloadType", "payload", "signatures"]
    assert base64.b64decode(outcome.envelope["payload"]) == made.statement
    assert outcome.envelope["signatures"] == [{"keyid": "", "sig": base64.b64encode(
        made.envelope.signatures[0].sig).decode()}]

    # CVE-2022-35929: a validly signed attestation of another type is no pass; it is skipped, with its type.
    other = verify(layout, "single", policy(pair, CYCLONEDX, rekor))
    assert not other.verified and not other.signatures
    assert other.reasons() == [f"no attestations of predicateType {CYCLONEDX} found (1 other attachments skipped)"]
    assert f"'{SLSA1}', not of '{CYCLONEDX}'" in other.skipped_reasons[0]
    # Nor is an attestation an image signature.
    assert not verify(layout, "single", VerifyPolicy((pair.public_key,), tlog=TlogPolicy(rekor.keyring))).verified


def test_the_legacy_layer_is_laid_out_as_cosigns(layout: OciLayout, pair: KeyPair, rekor: InProcessLog) -> None:
    subject = layout.resolve("single")
    with rekor.client() as log:
        made = attest_image(layout, subject, KeySigner(pair.private_key), docker_reference=NAME,
                            predicate_type=SLSA1, predicate=PROVENANCE, attestation_format=AttestationFormat.LEGACY,
                            log=log)
    manifest = layout.get_manifest(attachment_tag(subject.digest, AttachmentKind.ATTESTATION))
    assert isinstance(manifest, Manifest) and made.tag == attachment_tag(subject.digest, AttachmentKind.ATTESTATION)
    # cosign specs/ATTESTATION_SPEC.md: an OCI image manifest, an OCI config, one DSSE envelope layer per attestation.
    assert manifest.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert manifest.config.media_type == "application/vnd.oci.image.config.v1+json"
    (layer,) = manifest.layers
    assert layer.media_type == "application/vnd.dsse.envelope.v1+json"
    assert layer.annotations[ATTESTATION_PREDICATE_TYPE_ANNOTATION] == SLSA1
    rekor_bundle = json.loads(layer.annotations["dev.sigstore.cosign/bundle"])
    assert set(rekor_bundle) == {"SignedEntryTimestamp", "Payload"}
    envelope = json.loads(layout.get_blob(layer))
    assert list(envelope) == ["payloadType", "payload", "signatures"]
    assert envelope["payloadType"] == IN_TOTO_PAYLOAD_TYPE


def test_the_bundle_referrer_carries_cosigns_annotations(layout: OciLayout, pair: KeyPair) -> None:
    subject = layout.resolve("single")
    made = attest_image(layout, subject, KeySigner(pair.private_key), docker_reference=NAME, predicate_type=SLSA1,
                        predicate=PROVENANCE, clock=fixed_clock)
    (desc,) = layout.referrers(subject.digest)
    assert desc.artifact_type == BUNDLE_MEDIA_TYPE == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert desc.annotations["dev.sigstore.bundle.predicateType"] == SLSA1
    assert desc.annotations["dev.sigstore.bundle.content"] == "dsse-envelope"
    assert made.bundle is not None and json.loads(made.bundle)["verificationMaterial"]["tlogEntries"] == []


# -- bad input --------------------------------------------------------------------------------------------------


def _store_bundle(layout: OciLayout, subject: Descriptor, envelope: Envelope, pair: KeyPair,
                  predicate_type: str = SLSA1, edit: object = None) -> None:
    """``envelope`` as a v0.3 bundle referrer of ``subject`` (``edit``: a function changing the bundle JSON)."""
    bundle = build_bundle(Envelope(envelope.payload, envelope.payload_type, envelope.signatures[:1]),
                          key_hint(pair.public_key))
    document = json.loads(bundle)
    document["dsseEnvelope"]["signatures"] = [{"sig": base64.b64encode(s.sig).decode()} for s in envelope.signatures]
    if callable(edit):
        edit(document)
    raw = gojson.encode(document, sort_keys=False)
    referrer = bundle_referrer(raw, subject, predicate_type, fixed_clock())
    for desc, content in ((EMPTY_DESCRIPTOR, EMPTY_JSON), (referrer.layers[0], raw)):
        layout.put_blob(desc, [content])
    layout.put_manifest(referrer)


def _envelope(pair: KeyPair, statement: bytes, payload_type: str = IN_TOTO_PAYLOAD_TYPE, count: int = 1) -> Envelope:
    unsigned = Envelope(statement, payload_type, ())
    signatures = tuple(DsseSignature(create_signature(pair.private_key, unsigned.signed_bytes))
                       for _ in range(count))
    return Envelope(statement, payload_type, signatures)


def _statement(digest: Digest, predicate_type: str = SLSA1) -> bytes:
    return build_statement(NAME, digest, predicate_type=predicate_type, predicate=PROVENANCE)


def test_a_dsse_envelope_with_two_signatures_fails(layout: OciLayout, pair: KeyPair) -> None:
    subject = layout.resolve("single")
    _store_bundle(layout, subject, _envelope(pair, _statement(subject.digest), count=2), pair)
    result = verify(layout, "single", policy(pair, SLSA1))
    assert not result.verified
    assert result.signatures[0].reason == "read: expected exactly 1 DSSE signature, got 2"


def test_a_payload_type_that_is_not_in_toto_fails(layout: OciLayout, pair: KeyPair) -> None:
    subject = layout.resolve("single")
    _store_bundle(layout, subject, _envelope(pair, _statement(subject.digest), "application/json"), pair)
    result = verify(layout, "single", policy(pair, SLSA1))
    assert not result.verified
    assert result.signatures[0].reason == \
        "read: expected payloadType application/vnd.in-toto+json, got 'application/json'"


def test_a_statement_about_another_image_fails(layout: OciLayout, pair: KeyPair) -> None:
    subject = layout.resolve("single")
    other = Digest("sha256", "ab" * 32)
    _store_bundle(layout, subject, _envelope(pair, _statement(other)), pair)
    result = verify(layout, "single", policy(pair, SLSA1))
    assert not result.verified
    assert result.signatures[0].reason == f"claims: expected an attestation for {subject.digest}, got one for {other}"


def test_a_statement_of_another_type_than_its_annotation_says_is_skipped(layout: OciLayout, pair: KeyPair) -> None:
    """The referrer's annotation says SLSA; the signed statement says CycloneDX: the statement counts."""
    subject = layout.resolve("single")
    _store_bundle(layout, subject, _envelope(pair, _statement(subject.digest, CYCLONEDX)), pair, SLSA1)
    result = verify(layout, "single", policy(pair, SLSA1))
    assert not result.verified and not result.signatures
    assert f"'{CYCLONEDX}', not of '{SLSA1}'" in result.skipped_reasons[0]


def test_bad_base64_in_the_envelope_fails(layout: OciLayout, pair: KeyPair) -> None:
    subject = layout.resolve("single")

    def corrupt(document: dict[str, dict[str, str]]) -> None:
        document["dsseEnvelope"]["payload"] = "!!not base64!!"

    _store_bundle(layout, subject, _envelope(pair, _statement(subject.digest)), pair, edit=corrupt)
    result = verify(layout, "single", policy(pair, SLSA1))
    assert not result.verified
    reason = result.signatures[0].reason or ""
    assert reason.startswith("read: bundle:") and "base64" in reason


def test_a_legacy_layer_that_is_not_an_envelope_fails(layout: OciLayout, pair: KeyPair) -> None:
    subject = layout.resolve("single")
    tag = attachment_tag(subject.digest, AttachmentKind.ATTESTATION)
    garbage = b'{"payloadType": 1}'
    layer = Descriptor.for_bytes(ENVELOPE_MEDIA_TYPE, garbage)
    append_layers(layout, tag, [layer], {layer.digest: garbage})
    two, blob = attestation_layer(_envelope(pair, _statement(subject.digest), count=2), SLSA1)
    append_layers(layout, tag, [two], {two.digest: blob})
    result = verify(layout, "single", policy(pair, SLSA1))
    assert not result.verified
    assert [s.reason for s in result.signatures] == [
        "read: DSSE envelope: DSSE envelope has no payloadType", "read: expected exactly 1 DSSE signature, got 2"]


def test_buildkit_attestation_manifests_are_listed_as_unsigned(layout: OciLayout, pair: KeyPair) -> None:
    """An index holding a BuildKit attestation manifest (unknown/unknown, attestation-manifest annotations)."""
    multi = layout.resolve("multi")
    index = layout.get_manifest(multi)
    child = index.manifests[0]  # type: ignore[union-attr]
    statement = _statement(child.digest)
    layer = Descriptor.for_bytes(IN_TOTO_PAYLOAD_TYPE, statement,
                                 annotations={"in-toto.io/predicate-type": SLSA1})
    layout.put_blob(layer, [statement])
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    manifest = build_manifest(EMPTY_DESCRIPTOR, [layer])
    layout.put_manifest(manifest)
    doc = json.loads(index.raw)
    entry = {"mediaType": manifest.media_type, "digest": str(manifest.digest), "size": len(manifest.raw),
             "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                             "vnd.docker.reference.digest": str(child.digest)},
             "platform": {"architecture": "unknown", "os": "unknown"}}
    doc["manifests"].append(entry)
    new_index = parse_manifest(json.dumps(doc).encode(), doc["mediaType"])
    layout.put_manifest(new_index, tag="with-attestations")
    result = verify(layout, "with-attestations", policy(pair, SLSA1))
    assert not result.verified
    (outcome,) = result.signatures
    assert outcome.source.value == "buildkit"
    assert outcome.reason is not None and outcome.reason.startswith("read: unsigned: BuildKit stores")

    shown = download_attestations(layout, new_index.digest, index=new_index)
    (item,) = shown.attestations
    assert not item.signed and item.envelope["signatures"] == [] and item.predicate_type == SLSA1
    assert base64.b64decode(item.envelope["payload"]) == statement


# -- third-party vectors ----------------------------------------------------------------------------------------


def _vector_evidence(name: str, predicate_type: str) -> SignatureEvidence:
    bundle = Bundle.parse(fixture_path("vectors", "tlog", *name.split("/")).read_bytes())
    return bundle_evidence(SignatureEvidence(EvidenceSource.REFERRER, f"referrer {name}", PayloadKind.IN_TOTO),
                           bundle, predicate_type)


def test_cosigns_own_oci_attestation_verifies_as_an_attestation_of_its_type() -> None:
    """cosign's keyless attestation of an image (``oci-attestation.sigstore.json``, public-good Fulcio and Rekor,
    its custom predicate): verifies offline with the trusted root cosign tests it with, for its type only."""
    root = fixture_path("vectors", "tlog", "cosign", "trusted_root_pgi.json")
    subject = Digest("sha256", "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4")
    custom = predicate_type_for("custom")
    wanted = build_verify_policy(VerifyRequest(identity="cody@soyland.com", issuer="https://github.com/login/oauth",
                                               trusted_root=root, predicate_type=custom))
    with Verifier(TrustedRoot.read(root)) as verifier:
        evidence = Evidence(subject, (_vector_evidence("cosign/oci-attestation.sigstore.json", custom),))
        result = verifier.evaluate(evidence, wanted, reference=f"127.0.0.1:60943/repo@{subject}")
    assert result.verified, result.reasons()
    assert [c.check.value for c in result.signatures[0].checks] == ["signature", "tlog", "certificate", "claims"]
    assert _vector_evidence("cosign/oci-attestation.sigstore.json", SLSA1).skip is not None


def test_sigstore_gos_two_signature_envelope_fails() -> None:
    evidence = _vector_evidence("sigstore-go/dsse-2sigs.sigstore.json", "https://slsa.dev/provenance/v0.2")
    assert evidence.problem == "expected exactly 1 DSSE signature, got 2"
