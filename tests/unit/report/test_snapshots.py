"""Every renderer's text and JSON, against snapshot files (``conftest.snapshot``; regenerate with
``SUPPLYCHAIN_UPDATE_SNAPSHOTS=1``). The result values are built here, fixed, so the snapshots change only when the
rendering does; each includes registry-chosen text with control and bidi characters, which text escapes and JSON
keeps exact."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from supplychain.attachments.download import (
    AttestationDownload,
    BundleSignature,
    Certificate,
    DownloadedAttestation,
    LegacySignature,
    SignatureDownload,
)
from supplychain.digest import Digest
from supplychain.errors import ExitCode, VerificationError
from supplychain.graph import NodeKind, TreeNode
from supplychain.keys.log import LogKey
from supplychain.oci.attachment import AttachmentKind
from supplychain.oci.model import Descriptor, Platform
from supplychain.report.attachment import attestation_lines, download_lines, problem_lines
from supplychain.report.format import Format, Renderer
from supplychain.report.image import (
    COPY,
    SUMMARY,
    TAGS,
    TREE,
    CopyReport,
    TagList,
    TreeView,
    copy_stderr_lines,
    tree_warning_lines,
)
from supplychain.report.signature import image_line, json_line, verified_envelope_lines, verified_payloads_text
from supplychain.report.tlog import ENTRY, INFO, MONITOR, VERDICTS
from supplychain.summary import ImageConfig, ImageSummary
from supplychain.tlog.checkpoint import Checkpoint
from supplychain.tlog.client import LogInfo, VerifiedEntry
from supplychain.tlog.entry import LogEntry
from supplychain.tlog.evidence import EntryVerification, RekorEntry
from supplychain.tlog.merkle import hash_leaf
from supplychain.tlog.monitor import MonitorResult, MonitorState, MonitorStatus
from supplychain.tlog.verdict import EntryVerdict, EntryVerdicts
from supplychain.transfer import AttachmentFailure, CopyResult, MergedTag
from supplychain.trust.keyring import TrustedLog
from supplychain.verify.result import CheckName, CheckOutcome, EvidenceSource, SignatureOutcome, VerificationResult

from .conftest import Snapshot

HOSTILE = "evil\x1b[2J\u202etxt"  # an ESC sequence and a RIGHT-TO-LEFT OVERRIDE, as a registry might send


def _digest(seed: str) -> Digest:
    return Digest.parse("sha256:" + hashlib.sha256(seed.encode()).hexdigest())


def _descriptor(seed: str, media_type: str = "application/vnd.oci.image.manifest.v1+json", size: int = 1234,
                **extra: object) -> Descriptor:
    return Descriptor(media_type, _digest(seed), size, **extra)  # type: ignore[arg-type]


INDEX_SUMMARY = ImageSummary(
    reference="registry.example.com/app:1.0",
    descriptor=_descriptor("index", "application/vnd.oci.image.index.v1+json", 512),
    platforms=((Platform("linux", "amd64"), _descriptor("amd64", size=1_234_567)),
               (Platform("linux", "arm64", "v8"), _descriptor("arm64", size=987)),
               (None, _descriptor("attestation", size=840))),
    annotations={"org.opencontainers.image.title": HOSTILE},
)
IMAGE_SUMMARY = ImageSummary(
    reference="oci:./layout:v1",
    descriptor=_descriptor("manifest", size=1_050),
    config=ImageConfig(os="linux", architecture="arm64", variant="v8", created="2024-01-02T03:04:05Z",
                       author="ci", labels={"org.opencontainers.image.source": "https://example.com/app",
                                            "note": HOSTILE},
                       env=("PATH=/usr/bin",), entrypoint=None, cmd=()),
    layers=(_descriptor("layer0", "application/vnd.oci.image.layer.v1.tar+gzip", 3_000_000),
            _descriptor("layer1", "application/vnd.oci.image.layer.v1.tar+gzip", 42)),
    config_descriptor=_descriptor("config", "application/vnd.oci.image.config.v1+json", 600),
    artifact_type=None,
    subject=_digest("subject"),
)
TREE_VIEW = TreeView("registry.example.com/app:1.0", TreeNode(
    NodeKind.ROOT, _descriptor("index", "application/vnd.oci.image.index.v1+json", 512),
    referrers_cut="registry.example.com/app lists more than 1000 referrers of sha256:...: the rest were not read",
    children=(
        TreeNode(NodeKind.PLATFORM, _descriptor("amd64", platform=Platform("linux", "amd64"))),
        TreeNode(NodeKind.REFERRER,
                 _descriptor("bundle", artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json"),
                 layers=(_descriptor("bundle-blob", "application/vnd.dev.sigstore.bundle.v0.3+json", 4_000),),
                 children=(TreeNode(NodeKind.REFERRER, _descriptor("loop"), truncated="cycle"),)),
        TreeNode(AttachmentKind.SIGNATURE, _descriptor("sig"), tag="sha256-abc.sig",
                 layers=(_descriptor("sig-layer", "application/vnd.dev.cosign.simplesigning.v1+json", 250),)),
        TreeNode(NodeKind.DAMAGED, _descriptor("damaged"), tag="sha256-abc", truncated=f"not an index: {HOSTILE}"),
    ),
))
COPY_REPORT = CopyReport("oci:./mirror", "v1", CopyResult(
    digest=_digest("index"), manifests=3, blobs_copied=5, blobs_skipped=2, blobs_mounted=1, bytes_copied=123_456,
    attachments=["sha256-abc.sig", "sha256:" + "1" * 64],
    failed_attachments=[AttachmentFailure("sha256-abc.att", "blob unknown", ExitCode.NOT_FOUND),
                        AttachmentFailure(f"referrer {HOSTILE}", "denied", ExitCode.AUTH)],
    docker_manifests=1, merged=[MergedTag("sha256-abc.sig", 1, 2)],
), into_layout=True)

_LOG_KEY = LogKey.from_public_key(Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key())
_LOG = TrustedLog("http://127.0.0.1:3000", _LOG_KEY, source="log.pub")
_CHECKPOINT = Checkpoint("127.0.0.1 - 42", 7, hashlib.sha256(b"root").digest())
_BODY = json.dumps({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {"data": {"hash": {
    "algorithm": "sha256", "value": "2" * 64}}, "signature": {"content": "", "publicKey": {"content": ""}}}}).encode()
_ENTRY = RekorEntry("2a" * 8 + hash_leaf(_BODY).hex(), LogEntry(_BODY, 1_700_000_000, 6, _LOG_KEY.log_id.hex()),
                    kind="hashedrekord", version="0.0.1")
_VERIFICATION = EntryVerification(_LOG, True, _CHECKPOINT, True, integrated_time=1_700_000_000)
LOG_INFO = LogInfo(_CHECKPOINT, "127.0.0.1 - 42\n7\nroot=\n\n— 127.0.0.1 sig=\n", 42, _LOG)
VERIFIED_ENTRY = VerifiedEntry(_ENTRY, _VERIFICATION)
VERDICTS_VALUE = EntryVerdicts((EntryVerdict(_ENTRY, _VERIFICATION, None),
                                EntryVerdict(_ENTRY, None, VerificationError("entry 6 does not match\nthe artifact"))),
                               online=False)
_STATE = MonitorState("http://127.0.0.1:3000", "ab" * 32, "note\n", 7, "cd" * 32, 1_700_000_000)
MONITOR_GREW = MonitorResult(MonitorStatus.GREW, _STATE, _STATE, "grew from 5 to 7 entries, consistently")
MONITOR_ROLLBACK = MonitorResult(MonitorStatus.ROLLBACK, _STATE, _STATE, "tree shrank from 9 to 7 entries")

RENDERED: list[tuple[str, Renderer[object], object]] = [
    ("inspect-index", SUMMARY, INDEX_SUMMARY),  # type: ignore[list-item]
    ("inspect-image", SUMMARY, IMAGE_SUMMARY),  # type: ignore[list-item]
    ("ls", TAGS, TagList("registry.example.com/app", ("1.0", "latest", HOSTILE))),  # type: ignore[list-item]
    ("tree", TREE, TREE_VIEW),  # type: ignore[list-item]
    ("copy", COPY, COPY_REPORT),  # type: ignore[list-item]
    ("tlog-info", INFO, LOG_INFO),  # type: ignore[list-item]
    ("tlog-get", ENTRY, VERIFIED_ENTRY),  # type: ignore[list-item]
    ("tlog-verify", VERDICTS, VERDICTS_VALUE),  # type: ignore[list-item]
    ("tlog-monitor-grew", MONITOR, MONITOR_GREW),  # type: ignore[list-item]
    ("tlog-monitor-rollback", MONITOR, MONITOR_ROLLBACK),  # type: ignore[list-item]
]


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize(("name", "renderer", "result"), RENDERED, ids=[r[0] for r in RENDERED])
def test_renderer_matches_snapshot(snapshot: Snapshot, name: str, renderer: Renderer[object], result: object,
                                   fmt: Format) -> None:
    rendered = renderer.render(result, fmt)
    if fmt is Format.JSON:
        json.loads(rendered)  # JSON output parses, whatever else changes
    snapshot(f"{name}.{fmt.value}", rendered)


def test_stderr_lines_match_snapshot(snapshot: Snapshot) -> None:
    lines = [*tree_warning_lines(TREE_VIEW.root, "registry.example.com/app"), *copy_stderr_lines(COPY_REPORT)]
    snapshot("stderr.txt", "\n".join(lines))


def _certificate() -> Certificate:
    return Certificate(b"raw", b"tbs", b"spki", b"subject", b"issuer", b"sig", 3, 12345,
                       datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC), datetime(2024, 1, 2, 3, 14, 5, tzinfo=UTC))


def test_download_lines_match_snapshot(snapshot: Snapshot) -> None:
    download = SignatureDownload(_digest("image"), (
        BundleSignature("referrer", _digest("bundle"), {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                                                         "verificationMaterial": {"note": HOSTILE}}),
        LegacySignature("sha256-abc.sig layer 0", base64.b64encode(b"sig").decode(), b'{"critical":{}}',
                        certificate=_certificate(), chain=(_certificate(),),
                        rekor_bundle={"SignedEntryTimestamp": "c2V0", "Payload": {"logIndex": 0}}),
        LegacySignature("sha256-abc.sig layer 1", "c2ln", b"payload"),
    ), problems=(f"layer 2: {HOSTILE}",))
    snapshot("download-signature.txt", "\n".join([*problem_lines(download), *download_lines(download)]))


def test_verify_lines_match_snapshot(snapshot: Snapshot) -> None:
    payload = {"critical": {"identity": {"docker-reference": "registry.example.com/app"},
                            "image": {"docker-manifest-digest": str(_digest("image"))},
                            "type": "cosign container image signature"},
               "optional": {"note": HOSTILE}}
    good = SignatureOutcome(EvidenceSource.LEGACY_TAG, "sha256-abc.sig layer 0",
                            (CheckOutcome(CheckName.SIGNATURE, True, "key 0"),), payload=payload)
    result = VerificationResult("registry.example.com/app:1.0", _digest("image"), resolved_from="1.0",
                                signatures=(good,))
    lines = [image_line(result), json_line(result, several=True) or "", *verified_payloads_text(result)]
    snapshot("verify.txt", "\n".join(lines))


def test_verify_attestation_lines_match_snapshot(snapshot: Snapshot) -> None:
    envelope = {"payloadType": "application/vnd.in-toto+json", "payload": "eyJfdHlwZSI6Ii4uLiJ9",
                "signatures": [{"keyid": HOSTILE, "sig": "c2ln"}]}
    good = SignatureOutcome(EvidenceSource.REFERRER, "referrer sha256:abc",
                            (CheckOutcome(CheckName.SIGNATURE, True, "key 0"),), envelope=envelope)
    bad = SignatureOutcome(EvidenceSource.BUILDKIT, "BuildKit attestation manifest sha256:def",
                           (CheckOutcome(CheckName.READ, False, "unsigned"),))
    result = VerificationResult("registry.example.com/app:1.0", _digest("image"), resolved_from="1.0",
                                signatures=(good, bad), predicate_type="https://slsa.dev/provenance/v1")
    failed = VerificationResult("registry.example.com/app:1.0", _digest("image"), resolved_from="1.0",
                                skipped=1, predicate_type="https://cyclonedx.org/bom")
    lines = [image_line(result), *verified_envelope_lines(result), image_line(failed), *failed.reasons()]
    snapshot("verify-attestation.txt", "\n".join(lines))


def test_download_attestation_lines_match_snapshot(snapshot: Snapshot) -> None:
    download = AttestationDownload(_digest("image"), (
        DownloadedAttestation("referrer sha256:abc", {"payloadType": "application/vnd.in-toto+json",
                                                      "payload": "eyJ9", "signatures": [{"keyid": "", "sig": "c2ln"}]},
                              "https://slsa.dev/provenance/v1", True),
        DownloadedAttestation("BuildKit attestation manifest sha256:def layer 0",
                              {"payloadType": "application/vnd.in-toto+json", "payload": "eyJ9", "signatures": []},
                              "https://spdx.dev/Document", False),
    ), problems=(f"sha256-abc.att layer 1: {HOSTILE}",))
    snapshot("download-attestation.txt", "\n".join([*problem_lines(download), *attestation_lines(download)]))
