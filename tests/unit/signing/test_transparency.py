"""sign_image with a transparency log (an in-process local Rekor log on loopback): what is logged, the evidence
stored with each signature exactly as cosign writes it, the log before the store, and the trust in the log's key."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from supplychain.config import Settings
from supplychain.errors import ConfigurationError, NotFoundError, UnavailableError, VerificationError
from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION, DsseRecord, HashedRekord, RekorBundle, parse_body
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.legacy import SIGNATURE_ANNOTATION, signature_layer
from supplychain.signing.payload import build_payload
from supplychain.signing.signature import create_signature
from supplychain.signing.transparency import TlogUploadError, open_signing_log
from supplychain.tlog.client import RekorClient
from supplychain.tlog.evidence import bundle_entries, bundle_tlog_entry, rekor_bundle_entry, verify_entry
from supplychain.tlog.pki import VerifierKey
from supplychain.trust.keyring import LogKeyring
from tests.support.signatures import fixed_clock, new_key, put_sig_manifest
from tests.support.tlog import InProcessLog, no_wait_retry
from tests.unit.signing.test_signer import sig_layers, snapshot

NAME = "registry.example/team/app"


@pytest.fixture
def layout(fixture_layout_copy: Path) -> OciLayout:
    return OciLayout(fixture_layout_copy)


def test_legacy_signature_is_logged_as_hashedrekord_and_its_bundle_annotated(layout: OciLayout, rekor: InProcessLog):
    pair = new_key()
    subject = layout.resolve("single")
    with rekor.client() as log:
        result = sign_image(layout, subject, pair.private_key, docker_reference=NAME, log=log)
    image = result.images[0]
    assert result.log_url == rekor.url and image.tlog_entry is not None
    (layer,) = sig_layers(layout, subject.digest)
    annotation = layer.annotations[REKOR_BUNDLE_ANNOTATION]
    # cosign's bytes: compact JSON, these keys in this order (pkg/cosign/bundle/rekor.go); containers/image
    # accepts exactly these keys.
    document = json.loads(annotation)
    assert list(document) == ["SignedEntryTimestamp", "Payload"]
    assert list(document["Payload"]) == ["body", "integratedTime", "logIndex", "logID"]
    assert annotation == json.dumps(document, separators=(",", ":"))
    bundle = RekorBundle.parse(annotation)
    record = parse_body(bundle.entry.body)
    assert isinstance(record, HashedRekord)
    assert (record.algorithm, record.digest) == ("sha256", hashlib.sha256(image.payload).digest())
    assert record.signature == image.signature
    assert VerifierKey.load(record.public_key).der == pair.public_key.der()
    # The SET verifies with the log's key; the entry is the one the log holds.
    verification = verify_entry(rekor_bundle_entry(bundle), rekor.keyring, require_timestamp=True)
    assert verification.timestamp_verified
    assert bundle.entry.log_index == image.tlog_entry.log_index
    assert set(layer.annotations) == {SIGNATURE_ANNOTATION, REKOR_BUNDLE_ANNOTATION}


def test_bundle_carries_the_dsse_entry_with_promise_and_proof(layout: OciLayout, rekor: InProcessLog):
    pair = new_key()
    subject = layout.resolve("single")
    with rekor.client() as log:
        result = sign_image(layout, subject, pair.private_key, docker_reference=NAME,
                            signature_format=SignatureFormat.BUNDLE, clock=fixed_clock, log=log)
    image = result.images[0]
    assert image.bundle is not None and image.tlog_entry is not None
    doc = json.loads(image.bundle)
    (entry,) = doc["verificationMaterial"]["tlogEntries"]
    # protobuf-specs TransparencyLogEntry in protojson: int64 as strings, bytes as base64, fields in proto order.
    assert list(entry) == ["logIndex", "logId", "kindVersion", "integratedTime", "inclusionPromise",
                           "inclusionProof", "canonicalizedBody"]
    assert entry["logIndex"] == str(image.tlog_entry.log_index)
    assert base64.b64decode(entry["logId"]["keyId"]).hex() == image.tlog_entry.entry.log_id
    assert entry["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}
    proof = entry["inclusionProof"]
    assert list(proof) == ["logIndex", "rootHash", "treeSize", "hashes", "checkpoint"]
    assert isinstance(proof["treeSize"], str) and len(base64.b64decode(proof["rootHash"])) == 32
    assert proof["checkpoint"]["envelope"].startswith("127.0.0.1 - ")  # the default name: the default listen host
    assert entry == bundle_tlog_entry(image.tlog_entry).to_json()
    # Read back, the entry verifies offline with the log key: SET and inclusion proof with its checkpoint.
    (parsed,) = bundle_entries(image.bundle)
    verification = verify_entry(parsed, rekor.keyring, require_timestamp=True, require_inclusion=True)
    assert verification.timestamp_verified and verification.checkpoint is not None
    record = parse_body(parsed.entry.body)
    assert isinstance(record, DsseRecord)
    assert record.payload_hash == hashlib.sha256(image.payload).digest()
    assert [s.signature for s in record.signatures] == [base64.b64encode(image.signature).decode()]
    assert doc["verificationMaterial"]["publicKey"]["hint"]  # the key hint stays


def test_recursive_logs_every_manifest_and_ed25519_bundles_are_logged(layout: OciLayout, rekor: InProcessLog):
    pair = new_key("ed25519")
    with rekor.client() as log:
        result = sign_image(layout, layout.resolve("multi"), pair.private_key, docker_reference=NAME,
                            recursive=True, signature_format=SignatureFormat.BUNDLE, clock=fixed_clock, log=log)
    indexes = [image.tlog_entry.log_index for image in result.images if image.tlog_entry is not None]
    assert len(indexes) == 3 == len(set(indexes))


def test_ed25519_legacy_cannot_be_logged_and_nothing_is_written(layout: OciLayout, rekor: InProcessLog,
                                                                fixture_layout_copy: Path):
    before = snapshot(fixture_layout_copy)
    with rekor.client() as log, pytest.raises(TlogUploadError, match="Ed25519ph"):
        sign_image(layout, layout.resolve("single"), new_key("ed25519").private_key, docker_reference=NAME, log=log)
    assert snapshot(fixture_layout_copy) == before
    with rekor.client() as log:
        assert log.log_info().checkpoint.size == 0  # nothing was logged either


@pytest.mark.parametrize("signature_format", list(SignatureFormat))
def test_unreachable_log_writes_nothing_to_the_store(fixture_layout_copy: Path, signature_format: SignatureFormat):
    """The log is written before the store: a log that cannot be reached leaves the store as it was."""
    layout = OciLayout(fixture_layout_copy)
    before = snapshot(fixture_layout_copy)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    log = RekorClient("http://127.0.0.1:9", LogKeyring(()), client=httpx.Client(transport=httpx.MockTransport(down)),
                      retry=no_wait_retry())
    with log, pytest.raises(UnavailableError, match="transparency log"):
        sign_image(layout, layout.resolve("multi"), new_key().private_key, docker_reference=NAME, recursive=True,
                   signature_format=signature_format, log=log)
    assert snapshot(fixture_layout_copy) == before


def test_resigning_with_a_log_adds_the_missing_evidence_once(layout: OciLayout, rekor: InProcessLog):
    """A stored signature without its Rekor bundle does not count as already there when signing with a log; one
    with it does, and nothing is logged again."""
    pair = new_key()
    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME)  # no log
    with rekor.client() as log:
        logged = sign_image(layout, subject, pair.private_key, docker_reference=NAME, log=log)
        assert not logged.images[0].already_present
        again = sign_image(layout, subject, pair.private_key, docker_reference=NAME, log=log)
        assert again.images[0].already_present and again.images[0].tlog_entry is None
        assert log.log_info().checkpoint.size == 1
    layers = sig_layers(layout, subject.digest)
    assert [REKOR_BUNDLE_ANNOTATION in la.annotations for la in layers] == [False, True]


def test_no_upload_still_logs_and_returns_the_bundle(layout: OciLayout, rekor: InProcessLog,
                                                     fixture_layout_copy: Path):
    before = snapshot(fixture_layout_copy)
    with rekor.client() as log:
        result = sign_image(layout, layout.resolve("single"), new_key().private_key, docker_reference=NAME,
                            signature_format=SignatureFormat.BUNDLE, upload=False, clock=fixed_clock, log=log)
    assert snapshot(fixture_layout_copy) == before
    assert json.loads(result.images[0].bundle)["verificationMaterial"]["tlogEntries"]  # type: ignore[arg-type]


def test_stored_duplicate_by_another_key_is_not_ours(layout: OciLayout, rekor: InProcessLog):
    pair, other = new_key(), new_key()
    subject = layout.resolve("single")
    payload = build_payload(NAME, subject.digest)
    foreign = signature_layer(payload, create_signature(other.private_key, payload), {REKOR_BUNDLE_ANNOTATION: "{}"})
    put_sig_manifest(layout, subject.digest, [(foreign, payload)])
    with rekor.client() as log:
        result = sign_image(layout, subject, pair.private_key, docker_reference=NAME, log=log)
    assert not result.images[0].already_present and len(sig_layers(layout, subject.digest)) == 2


# -- which key checks the log's answers ----------------------------------------------------------------------


def test_a_loopback_log_is_trusted_on_first_use(rekor: InProcessLog):
    with open_signing_log(rekor.url, Settings()) as log:
        assert [t.key.log_id for t in log.keyring] == [t.key.log_id for t in rekor.keyring]
        assert log.log_info().checkpoint.size == 0


def test_a_named_key_is_used_and_must_be_the_logs(rekor: InProcessLog, tmp_path: Path, layout: OciLayout):
    pub = tmp_path / "log.pub"
    pub.write_bytes(rekor.directory.public_key_pem())
    with open_signing_log(rekor.url, Settings(), public_key=pub) as log:
        assert log.keyring.logs[0].key.log_id == rekor.keyring.logs[0].key.log_id
    wrong = tmp_path / "wrong.pub"
    wrong.write_bytes(new_key().public_key.pem())
    # The log's SET is not by the key we were told to trust: refused, nothing stored.
    with open_signing_log(rekor.url, Settings(), public_key=wrong) as log, pytest.raises(VerificationError):
        sign_image(layout, layout.resolve("single"), new_key().private_key, docker_reference=NAME, log=log)
    assert layout.referrers(layout.resolve("single").digest) == []
    with pytest.raises(NotFoundError):
        layout.get_manifest(attachment_tag(layout.resolve("single").digest, AttachmentKind.SIGNATURE))


def test_a_remote_log_needs_its_key_named():
    with pytest.raises(ConfigurationError, match="no key for the transparency log"):
        open_signing_log("https://rekor.example.test", Settings())
