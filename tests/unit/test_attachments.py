"""``supplychain.attachments`` and ``report.attachment`` on an OCI layout: download signature, triangulate, clean.

The same commands run through the CLI against the real registry in ``tests/integration/test_attachment_cli.py``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from supplychain import keys
from supplychain.attachments.artifact import download_artifacts, download_sboms
from supplychain.attachments.clean import (
    AttachmentTagError,
    CleanIncompleteError,
    Deletion,
    clean_attachments,
    plan_clean,
)
from supplychain.attachments.download import (
    BundleSignature,
    LegacySignature,
    NoSignaturesError,
    TooManySignaturesError,
    UnreadableSignaturesError,
    buildkit_statements,
    download_signatures,
    small_manifest,
)
from supplychain.attachments.triangulate import NoBundlesError, repository_name, triangulate, triangulate_bundles
from supplychain.digest import Digest
from supplychain.errors import ExitCode, InvalidManifestError, NotFoundError, RegistryError, SizeLimitError
from supplychain.formats.dsse import IN_TOTO_PAYLOAD_TYPE, DsseSignature, Envelope
from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION
from supplychain.graph import NodeKind, build_tree
from supplychain.layout import OciLayout
from supplychain.limits import MAX_MANIFEST_BYTES
from supplychain.oci.attachment import TAG_KINDS, AttachmentKind, attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Index, Manifest, build_index, build_manifest
from supplychain.oci.store import ArtifactStore
from supplychain.reference import parse_reference
from supplychain.report.attachment import (
    download_lines,
    nothing_to_clean_line,
    plan_lines,
    problem_lines,
    removed_line,
    signature_json,
)
from supplychain.report.image import render_tree_text
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.bundle import build_bundle, bundle_referrer
from supplychain.signing.legacy import (
    CERTIFICATE_ANNOTATIONS,
    CHAIN_ANNOTATIONS,
    SIGNATURE_ANNOTATION,
    TIMESTAMP_ANNOTATION,
    build_signature_manifest,
)
from supplychain.signing.payload import build_payload
from supplychain.verify import VerifyPolicy, verify_image
from tests.support.signatures import FIXED_TIME, CountingStore, put_sig_manifest

NAME = "registry.example/team/app"
SPDX = b'{"spdxVersion":"SPDX-2.3"}'


@pytest.fixture
def layout(fixture_layout_copy: Path) -> OciLayout:
    return OciLayout(fixture_layout_copy)


@pytest.fixture(scope="module")
def pair() -> keys.KeyPair:
    return keys.generate_key_pair("ecdsa-p256")


def put(store: ArtifactStore, media_type: str, content: bytes) -> Descriptor:
    desc = Descriptor.for_bytes(media_type, content)
    store.put_blob(desc, [content])
    return desc


def add_tag_attachment(store: ArtifactStore, subject: Digest, kind: AttachmentKind, media_type: str,
                       content: bytes) -> Manifest:
    """A cosign-style ``.att``/``.sbom`` manifest (one layer of ``media_type``), as cosign attest/attach sbom do."""
    layer = put(store, media_type, content)
    manifest, config = build_signature_manifest([layer])
    store.put_blob(manifest.config, [config])
    store.put_manifest(manifest, tag=attachment_tag(subject, kind))
    return manifest


def add_referrer(store: ArtifactStore, subject: Descriptor, artifact_type: str, content: bytes = SPDX,
                 annotations: dict[str, str] | None = None) -> Manifest:
    store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    layer = put(store, artifact_type, content)
    manifest = build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type=artifact_type,
                              annotations=annotations)
    store.put_manifest(manifest)
    return manifest


def add_attestation_bundle(store: ArtifactStore, subject: Descriptor, pair: keys.KeyPair) -> Manifest:
    """A cosign v3 attestation: a bundle referrer whose predicateType is not cosign's signing predicate."""
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
                            "subject": [{"name": NAME, "digest": {"sha256": subject.digest.hex}}],
                            "predicate": {}}).encode()
    unsigned = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, ())
    envelope = Envelope(statement, IN_TOTO_PAYLOAD_TYPE,
                        (DsseSignature(keys.sign(pair.private_key, unsigned.signed_bytes)),))
    bundle = build_bundle(envelope, "hint")
    manifest = bundle_referrer(bundle, subject, "https://slsa.dev/provenance/v1", FIXED_TIME)
    store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    store.put_blob(manifest.layers[0], [bundle])
    store.put_manifest(manifest)
    return manifest


def everything(store: ArtifactStore, subject: Descriptor, pair: keys.KeyPair) -> dict[str, Digest]:
    """One attachment of every kind, in both places; their manifest digests by name."""
    legacy = sign_image(store, subject, pair.private_key, docker_reference=NAME).images[0]
    bundle = sign_image(store, subject, pair.private_key, docker_reference=NAME,
                        signature_format=SignatureFormat.BUNDLE).images[0]
    assert legacy.artifact is not None and bundle.artifact is not None
    return {
        "sig": legacy.artifact.digest,
        "sig-bundle": bundle.artifact.digest,
        "att": add_tag_attachment(store, subject.digest, AttachmentKind.ATTESTATION, MediaType.DSSE_ENVELOPE,
                                  b'{"payloadType":"x"}').digest,
        "att-bundle": add_attestation_bundle(store, subject, pair).digest,
        "sbom": add_tag_attachment(store, subject.digest, AttachmentKind.SBOM, "text/spdx+json", SPDX).digest,
        "sbom-referrer": add_referrer(store, subject, "application/spdx+json").digest,
        "notation": add_referrer(store, subject, "application/vnd.cncf.notary.signature", b"jws").digest,
    }


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ubuntu", "index.docker.io/library/ubuntu"),
        ("ghcr.io/org/app:1", "ghcr.io/org/app"),
        ("localhost:5000/app@sha256:" + "a" * 64, "localhost:5000/app"),
        ("oci:/data/layout:v1", "oci:/data/layout"),
    ],
)
def test_repository_name(text: str, expected: str):
    # go-containerregistry's Name(): Docker Hub is spelled index.docker.io, as cosign triangulate prints it.
    assert repository_name(parse_reference(text)) == expected


def test_triangulate_legacy_kinds_print_the_tag_whether_or_not_it_exists(layout: OciLayout):
    digest = layout.resolve("single").digest
    base = f"oci:{layout.path}"
    for kind, suffix in (("signature", "sig"), ("attestation", "att"), ("sbom", "sbom")):
        assert triangulate(digest, AttachmentKind(kind), repository=base) == f"{base}:sha256-{digest.hex}.{suffix}"


def test_triangulate_bundles(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    with pytest.raises(NoBundlesError, match=f"no Sigstore bundle referrers for {subject.digest}") as info:
        triangulate_bundles(layout, subject.digest, repository="r")
    assert info.value.exit_code == ExitCode.NOT_FOUND
    digests = everything(layout, subject, pair)
    found = triangulate_bundles(layout, subject.digest, repository="reg/app")
    assert sorted(found) == sorted(f"reg/app@{digests[k]}" for k in ("sig-bundle", "att-bundle"))


# -- download signature --------------------------------------------------------------------------


def test_download_shows_bundles_then_legacy_layers(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    legacy = sign_image(layout, subject, pair.private_key, docker_reference=NAME).images[0]
    bundle = sign_image(layout, subject, pair.private_key, docker_reference=NAME,
                        signature_format=SignatureFormat.BUNDLE).images[0]
    add_attestation_bundle(layout, subject, pair)  # an attestation is not a signature: not shown
    result = download_signatures(layout, subject.digest)
    assert result.problems == ()
    first, second = result.signatures
    assert isinstance(first, BundleSignature) and isinstance(second, LegacySignature)
    assert first.bundle == json.loads(bundle.bundle or b"")
    assert second.location == f"sha256-{subject.digest.hex}.sig layer 0"

    lines = download_lines(result)
    assert lines[0] == (bundle.bundle or b"").decode()  # cosign v3 prints the bundle document, compact
    doc = json.loads(lines[1])
    # cosign's SignedPayload (pkg/cosign/fetch.go), field names and order as Go marshals the struct.
    assert list(doc) == ["Base64Signature", "Payload", "Cert", "Chain", "Bundle", "RFC3161Timestamp"]
    assert base64.b64decode(doc["Base64Signature"]) == legacy.signature
    assert base64.b64decode(doc["Payload"]) == legacy.payload
    assert doc["Cert"] is doc["Chain"] is doc["Bundle"] is doc["RFC3161Timestamp"] is None
    assert "\n" not in lines[1]


def _certificate() -> tuple[str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supplychain TEST-ONLY")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(2**70 + 1).not_valid_before(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
            .not_valid_after(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), cert.public_bytes(serialization.Encoding.DER)


def test_download_certificate_chain_rekor_bundle_and_timestamp(layout: OciLayout):
    subject = layout.resolve("single")
    pem, der = _certificate()
    payload = build_payload(NAME, subject.digest)
    rekor = {"SignedEntryTimestamp": "TUVVQ0lR", "Payload": {"logID": "c0ffee", "logIndex": 7,
                                                            "integratedTime": 1700000000, "body": "Ym9keQ=="},
             "Extra": "dropped, as Go's struct drops it"}
    annotations = {
        SIGNATURE_ANNOTATION: "MEUCIQ==",
        CERTIFICATE_ANNOTATIONS[1]: pem,  # the spec prose's spelling is read too
        CHAIN_ANNOTATIONS[0]: pem + pem,
        REKOR_BUNDLE_ANNOTATION: json.dumps(rekor),
        TIMESTAMP_ANNOTATION: json.dumps({"SignedRFC3161Timestamp": "AAEC"}),
    }
    put_sig_manifest(layout, subject.digest,
                     [(Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, payload, annotations=annotations),
                       payload)])
    doc = json.loads(download_lines(download_signatures(layout, subject.digest))[0])
    assert doc["Base64Signature"] == "MEUCIQ=="
    cert = doc["Cert"]
    assert base64.b64decode(cert["Raw"]) == der
    assert cert["SerialNumber"] == 2**70 + 1 and cert["Version"] == 3
    assert cert["NotBefore"] == "2024-01-02T03:04:05Z" and cert["NotAfter"] == "2025-01-02T03:04:05Z"
    assert list(cert) == ["Raw", "RawTBSCertificate", "RawSubjectPublicKeyInfo", "RawSubject", "RawIssuer",
                          "Signature", "Version", "SerialNumber", "NotBefore", "NotAfter"]
    assert [base64.b64decode(c["Raw"]) for c in doc["Chain"]] == [der, der]
    assert doc["Bundle"] == {"SignedEntryTimestamp": "TUVVQ0lR", "Payload": {
        "body": "Ym9keQ==", "integratedTime": 1700000000, "logIndex": 7, "logID": "c0ffee"}}
    assert list(doc["Bundle"]["Payload"]) == ["body", "integratedTime", "logIndex", "logID"]
    assert doc["RFC3161Timestamp"] == {"SignedRFC3161Timestamp": "AAEC"}


def test_download_none_is_not_found(layout: OciLayout):
    digest = layout.resolve("single").digest
    with pytest.raises(NoSignaturesError, match=f"no signatures associated with oci:.*@{digest}") as info:
        download_signatures(layout, digest)
    assert info.value.exit_code == ExitCode.NOT_FOUND


def test_download_cap_is_checked_before_reading(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    for value in ("a", "b", "c"):
        sign_image(layout, subject, pair.private_key, docker_reference=NAME, annotations={"n": value})
    counting = CountingStore(layout)
    with pytest.raises(TooManySignaturesError, match=r"3 signatures .* more than the limit of 2: none was read"):
        download_signatures(counting, subject.digest, max_signatures=2)  # type: ignore[arg-type]
    assert counting.blob_reads == []


def test_damaged_signatures_are_problems_next_to_good_ones(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    good = build_payload(NAME, subject.digest)
    missing_blob = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, b"never stored",
                                        annotations={SIGNATURE_ANNOTATION: "AA=="})
    no_signature = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, good)
    bad_cert = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, good,
                                    annotations={SIGNATURE_ANNOTATION: "AA==", CERTIFICATE_ANNOTATIONS[0]: "nope"})
    valid = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, good, annotations={SIGNATURE_ANNOTATION: "AQ=="})
    put_sig_manifest(layout, subject.digest, [(missing_blob, None), (no_signature, good), (bad_cert, good),
                                              (valid, good)])
    result = download_signatures(layout, subject.digest)
    assert [s.location for s in result.signatures] == [f"sha256-{subject.digest.hex}.sig layer 3"]
    assert len(result.problems) == 3
    assert "layer 0" in result.problems[0]
    assert "missing the dev.cosignproject.cosign/signature annotation" in result.problems[1]
    assert "the certificate annotation is not a PEM certificate" in result.problems[2]
    assert problem_lines(result)[0].startswith("warning: skipped sha256-")


def test_only_damaged_signatures(layout: OciLayout):
    subject = layout.resolve("single")
    missing_blob = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, b"gone",
                                        annotations={SIGNATURE_ANNOTATION: "AA=="})
    put_sig_manifest(layout, subject.digest, [(missing_blob, None)])
    with pytest.raises(UnreadableSignaturesError, match="no readable signature"):
        download_signatures(layout, subject.digest)


def test_unparseable_bundle_does_not_hide_a_legacy_signature(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME)
    add_referrer(layout, subject, MediaType.SIGSTORE_BUNDLE_V03, b"{not json")
    result = download_signatures(layout, subject.digest)
    assert [type(s) for s in result.signatures] == [LegacySignature]
    assert "bundle is not valid JSON" in result.problems[0]


def test_go_escaping_in_download_output():
    item = LegacySignature("x", "sig", b"<&>", rekor_bundle={"SignedEntryTimestamp": "", "Payload": {
        "body": "<tag>", "integratedTime": 0, "logIndex": 0, "logID": ""}})
    assert '"body":"\\u003ctag\\u003e"' in signature_json(item)


# -- clean ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clean_type", "expected"),
    [
        (AttachmentKind.SIGNATURE, ["sig-bundle", "sig"]),
        (AttachmentKind.ATTESTATION, ["att-bundle", "att"]),
        (AttachmentKind.SBOM, ["sbom-referrer", "sbom"]),
        (None, ["sig-bundle", "att-bundle", "sbom-referrer", "notation", "sig", "att", "sbom"]),
    ],
)
def test_clean_by_type(layout: OciLayout, pair: keys.KeyPair, clean_type: AttachmentKind | None, expected: list[str]):
    subject = layout.resolve("single")
    digests = everything(layout, subject, pair)
    by_digest = {v: k for k, v in digests.items()}
    plan = plan_clean(layout, subject.digest, clean_type)
    names = [by_digest[d.digest] for d in plan.deletions]
    # Referrers first (in the store's order), then the tags in .sig, .att, .sbom order.
    tags = [n for n in expected if n in ("sig", "att", "sbom")]
    assert sorted(names[: len(names) - len(tags)]) == sorted(n for n in expected if n not in tags)
    assert names[len(names) - len(tags):] == tags

    seen = []
    result = clean_attachments(layout, plan, on_deleted=seen.append)
    assert list(result.deleted) == seen == list(plan.deletions)
    remaining = {by_digest[d.digest] for d in layout.referrers(subject.digest)}
    for kind in TAG_KINDS:
        with contextlib.suppress(NotFoundError):
            remaining.add(by_digest[layout.resolve(attachment_tag(subject.digest, kind)).digest])
    assert remaining == set(digests) - set(expected)
    assert plan_clean(layout, subject.digest, clean_type).deletions == ()  # idempotent
    assert layout.resolve("single").digest == subject.digest  # the image itself stays


def test_clean_signatures_then_verify_finds_none(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    everything(layout, subject, pair)
    clean_attachments(layout, plan_clean(layout, subject.digest, AttachmentKind.SIGNATURE))
    verdict = verify_image(layout, subject.digest, VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True))
    assert not verdict.verified
    assert verdict.reasons() == ["no signatures found (1 non-signature attachments skipped)"]  # the attestation
    with pytest.raises(NoSignaturesError):
        download_signatures(layout, subject.digest)


def test_clean_nothing(layout: OciLayout):
    subject = layout.resolve("single")
    plan = plan_clean(layout, subject.digest, None)
    assert plan.deletions == ()
    assert nothing_to_clean_line(plan, "oci:x:single") == (
        f"Nothing attached to oci:x:single ({subject.digest}): nothing to clean")
    assert clean_attachments(layout, plan).deleted == ()


def test_tag_pointing_at_the_image_itself_is_refused(layout: OciLayout):
    subject = layout.resolve("single")
    layout.put_manifest(layout.get_manifest(subject), tag=attachment_tag(subject.digest, AttachmentKind.SIGNATURE))
    with pytest.raises(AttachmentTagError, match=r"points at the image .* itself"):
        plan_clean(layout, subject.digest, AttachmentKind.SIGNATURE)


def test_shared_sbom_manifest_is_refused(layout: OciLayout):
    # cosign attach sbom builds the same manifest for the same SBOM: one digest, two images' tags.
    single = layout.resolve("single").digest
    multi = layout.resolve("multi").digest
    add_tag_attachment(layout, single, AttachmentKind.SBOM, "text/spdx+json", SPDX)
    add_tag_attachment(layout, multi, AttachmentKind.SBOM, "text/spdx+json", SPDX)
    with pytest.raises(AttachmentTagError, match=f"same manifest as sha256-{multi.hex}.sbom"):
        plan_clean(layout, single, AttachmentKind.SBOM)
    assert layout.resolve(attachment_tag(multi, AttachmentKind.SBOM))


@dataclass
class FailingDeletes:
    """An ``ArtifactStore`` proxy whose deletes fail from the ``fail_at``-th one on (fault injection)."""

    inner: OciLayout
    fail_at: int
    error: Exception
    calls: list[Digest] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    def delete_manifest(self, digest: Digest) -> None:
        self.calls.append(digest)
        if len(self.calls) >= self.fail_at:
            raise self.error
        self.inner.delete_manifest(digest)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


def test_failure_midway_reports_what_was_deleted(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    everything(layout, subject, pair)
    plan = plan_clean(layout, subject.digest, AttachmentKind.SIGNATURE)
    unsupported = RegistryError("manifest r@x: the registry does not support this operation (unsupported)")
    store = FailingDeletes(layout, 2, unsupported)
    seen = []
    with pytest.raises(CleanIncompleteError) as info:
        clean_attachments(store, plan, on_deleted=seen.append)  # type: ignore[arg-type]
    error = info.value
    assert error.deleted == (plan.deletions[0],) and tuple(seen) == error.deleted
    assert error.failed == plan.deletions[1]
    assert error.exit_code == ExitCode.UNAVAILABLE
    assert "(deleted 1 of 2 attachments first)" in error.message
    assert "storage.delete.enabled: true" in error.hint
    # The referrer is gone, the .sig tag (the failed one) is still there.
    assert layout.resolve(attachment_tag(subject.digest, AttachmentKind.SIGNATURE))


def test_failure_first_says_nothing_was_deleted(layout: OciLayout, pair: keys.KeyPair):
    from supplychain.errors import AuthError

    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME)
    plan = plan_clean(layout, subject.digest, None)
    store = FailingDeletes(layout, 1, AuthError("denied", hint="log in"))
    with pytest.raises(CleanIncompleteError, match=r"\(nothing was deleted\)") as info:
        clean_attachments(store, plan)  # type: ignore[arg-type]
    assert info.value.exit_code == ExitCode.AUTH and info.value.hint == "log in"


def test_already_gone_is_skipped(layout: OciLayout, pair: keys.KeyPair):
    # Deleted by someone else between planning and deleting: a registry answers 404 (cosign ignores it too).
    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME)
    plan = plan_clean(layout, subject.digest, AttachmentKind.SIGNATURE)
    store = FailingDeletes(layout, 1, NotFoundError("manifest unknown"))
    result = clean_attachments(store, plan)  # type: ignore[arg-type]
    assert result.deleted == () and result.already_gone == plan.deletions


def test_clean_report_lines(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    digests = everything(layout, subject, pair)
    plan = plan_clean(layout, subject.digest, AttachmentKind.SBOM)
    assert plan_lines(plan, "reg/app") == [
        f"  - reg/app@{digests['sbom-referrer']} (application/spdx+json)",
        f"  - reg/app:sha256-{subject.digest.hex}.sbom",
    ]
    assert removed_line(plan.deletions[1], "reg/app:1", "reg/app") == (
        f"Removed reg/app:sha256-{subject.digest.hex}.sbom from reg/app:1")


def test_broken_referrers_tag_does_not_hide_a_legacy_signature(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME)
    # Another tool put an image manifest at the referrers tag sha256-<hex> (it must hold an index).
    foreign = add_tag_attachment(layout, subject.digest, AttachmentKind.SBOM, "text/spdx+json", SPDX)
    layout.put_manifest(foreign, tag=subject.digest.tag_form)
    result = download_signatures(layout, subject.digest)
    assert [type(s) for s in result.signatures] == [LegacySignature]
    assert result.problems and result.problems[0].startswith(f"referrers of {subject.digest}:")


# -- a damaged referrers tag -------------------------------------------------------------------------------


def _damage_referrers_tag(store: OciLayout, subject: Digest) -> Manifest:
    """Another tool pushed an image manifest (of its own) at the referrers tag ``sha256-<hex>``."""
    config = put(store, MediaType.OCI_CONFIG, b'{"architecture":"amd64","os":"linux","note":"pushed by mistake"}')
    manifest = build_manifest(config, [put(store, MediaType.OCI_LAYER, b"some layer")])
    store.put_manifest(manifest, tag=subject.tag_form)
    return manifest


def test_damaged_referrers_tag_blocks_the_referrers_read(layout: OciLayout):
    subject = layout.resolve("single")
    _damage_referrers_tag(layout, subject.digest)
    with pytest.raises(InvalidManifestError, match="not an index") as info:
        layout.referrers(subject.digest)
    # The hint is the exact command that works (see the next test).
    assert info.value.hint.split("`")[1] == (
        f"supplychain clean oci:{layout.path}@{subject.digest} --type all --force")


@pytest.mark.parametrize("clean_type", [*TAG_KINDS, None])
def test_clean_removes_a_damaged_referrers_tag_then_the_referrers_behind_it(
    layout: OciLayout, pair: keys.KeyPair, clean_type: AttachmentKind | None
):
    subject = layout.resolve("single")
    digests = everything(layout, subject, pair)
    damaged = _damage_referrers_tag(layout, subject.digest)

    plan = plan_clean(layout, subject.digest, clean_type)
    assert plan.relist_referrers
    first = plan.deletions[0]
    assert (first.digest, first.tag, first.reset) == (damaged.digest, subject.digest.tag_form, False)
    lines = plan_lines(plan, "oci:l")
    assert lines[0] == f"  - oci:l:{subject.digest.tag_form} (damaged referrers tag: an image manifest, not an index)"
    assert lines[1].startswith("  - then ") and "listed once the damaged tag is gone" in lines[1]

    seen: list[Deletion] = []
    result = clean_attachments(layout, plan, on_deleted=seen.append)
    assert list(result.deleted) == seen and seen[0] == first
    with pytest.raises(NotFoundError):
        layout.resolve(subject.digest.tag_form)
    by_digest = {v: k for k, v in digests.items()}
    expected = {
        AttachmentKind.SIGNATURE: {"sig-bundle", "sig"},
        AttachmentKind.ATTESTATION: {"att-bundle", "att"},
        AttachmentKind.SBOM: {"sbom-referrer", "sbom"},
        None: set(digests),
    }[clean_type]
    assert {by_digest[d.digest] for d in seen[1:]} == expected
    assert build_tree(layout, subject)  # readable again
    assert plan_clean(layout, subject.digest, clean_type).deletions == ()


@pytest.mark.parametrize("where", ["the image itself", "another tag", "the .sbom tag"])
def test_damaged_referrers_tag_in_use_elsewhere_is_reset_not_deleted(layout: OciLayout, where: str):
    subject = layout.resolve("single")
    if where == "the image itself":
        shared = layout.get_manifest(subject)
    elif where == "another tag":
        shared = layout.get_manifest("multi")
        shared = layout.get_manifest(shared.manifests[1])  # type: ignore[union-attr]
        layout.put_manifest(shared, tag="arm64-only")
    else:
        shared = add_tag_attachment(layout, subject.digest, AttachmentKind.SBOM, "text/spdx+json", SPDX)
    layout.put_manifest(shared, tag=subject.digest.tag_form)

    plan = plan_clean(layout, subject.digest, None)
    assert plan.deletions[0].reset
    assert "reset to an empty index" in plan_lines(plan, "r")[0]
    clean_attachments(layout, plan)
    assert layout.referrers(subject.digest) == []  # the tag now holds an empty referrers index
    assert layout.resolve("single").digest == subject.digest
    # Kept where still in use; the .sbom manifest was deleted as an SBOM, so its blob went with it (issue 8.19).
    assert layout.has_blob(shared.digest) is (where != "the .sbom tag")
    if where == "another tag":
        assert layout.resolve("arm64-only").digest == shared.digest
    if where == "the .sbom tag":
        with pytest.raises(NotFoundError):  # --type all removed the .sbom tag as an SBOM (not as the damage)
            layout.resolve(attachment_tag(subject.digest, AttachmentKind.SBOM))


def test_tree_shows_a_damaged_referrers_tag(layout: OciLayout, pair: keys.KeyPair):
    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME)
    damaged = _damage_referrers_tag(layout, subject.digest)
    root = build_tree(layout, subject)
    kinds = [(child.kind, child.descriptor.digest) for child in root.children]
    assert kinds[0] == (NodeKind.DAMAGED, damaged.digest)
    assert kinds[1][0] is AttachmentKind.SIGNATURE  # the rest of the tree is still there
    assert root.children[0].truncated == "an image manifest, not an index"
    text = render_tree_text("oci:l:single", root)
    assert (f"damaged referrers tag: {damaged.digest} (tag {subject.digest.tag_form}) "
            "(an image manifest, not an index)") in text


# -- attachment manifests (download.small_manifest: one reader for referrers, bundles, BuildKit's) ----------------


def add_index_referrer(store: ArtifactStore, subject: Descriptor, artifact_type: str, inner_type: str) -> Index:
    """An image index with a subject (allowed by the image spec), where an attachment manifest is expected; it holds
    a referrer of ``inner_type``."""
    inner = add_referrer(store, subject, inner_type)
    index = build_index([inner.descriptor()], subject=subject, artifact_type=artifact_type)
    store.put_manifest(index)
    return index


def test_attachment_manifest_over_the_cap_is_refused_before_it_is_read(layout: OciLayout):
    never_stored = Descriptor.for_bytes(MediaType.OCI_MANIFEST, b"x" * 16)
    declared = dataclasses.replace(never_stored, size=MAX_MANIFEST_BYTES + 1)
    with pytest.raises(SizeLimitError, match=f"declares {MAX_MANIFEST_BYTES + 1} bytes, over the"):
        small_manifest(layout, declared, "an artifact manifest")  # read, it would be NotFoundError


def test_index_where_an_attachment_manifest_is_expected(layout: OciLayout, tmp_path: Path):
    subject = layout.resolve("single")
    index = add_index_referrer(layout, subject, "application/vnd.example+json", "application/vnd.other")
    with pytest.raises(InvalidManifestError, match="expected an artifact manifest, got an image index") as info:
        download_artifacts(layout, subject, "application/vnd.example+json", str(tmp_path / "out"))
    assert "supplychain tree" in (info.value.hint or "")
    assert not (tmp_path / "out").exists()
    with pytest.raises(InvalidManifestError, match="expected an attestation manifest, got an image index"):
        buildkit_statements(layout, index.descriptor(), 1 << 20)


def test_index_sbom_referrer_is_a_problem_beside_the_good_one(layout: OciLayout):
    subject = layout.resolve("single")
    add_index_referrer(layout, subject, "application/spdx+json", "application/spdx+json")  # inside: a good one
    result = download_sboms(layout, subject)
    assert [s.content for s in result.sboms] == [SPDX]
    assert len(result.problems) == 1
    assert "expected an artifact manifest, got an image index" in result.problems[0]
