"""The transparency-log check: logged signatures verify offline (and online); every kind of bad or spliced
evidence is a rejection with an "expected X, got Y" reason (cosign CVE-2022-23649, CVE-2026-22703)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from supplychain.digest import Digest
from supplychain.errors import UnavailableError
from supplychain.formats.dsse import IN_TOTO_PAYLOAD_TYPE, DsseSignature, Envelope, pae
from supplychain.formats.intoto import build_statement
from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION, HashedRekord, LogEntry, RekorBundle
from supplychain.keys.log import NoteSigner
from supplychain.layout import OciLayout
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Manifest, build_manifest
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.bundle import BUNDLE_MEDIA_TYPE
from supplychain.signing.legacy import signature_layer
from supplychain.signing.signature import create_signature
from supplychain.tlog.checkpoint import parse_checkpoint, sign_checkpoint
from supplychain.tlog.client import RekorClient
from supplychain.tlog.entry import sign_entry_timestamp
from supplychain.tlog.evidence import bundle_tlog_entry
from supplychain.tlog.kind import canonical_body
from supplychain.tlog.pki import VerifierKey
from supplychain.trust.keyring import LogKeyring, TrustedLog
from supplychain.verify import (
    CertificatePolicy,
    CheckName,
    TlogPolicy,
    VerificationResult,
    Verifier,
    VerifyPolicy,
    verify_image,
)
from tests.support.signatures import fixed_clock, new_key, put_bytes, put_sig_manifest
from tests.support.tlog import InProcessLog, no_wait_retry
from tests.unit.signing.test_signer import sig_layers

NAME = "registry.example/team/app"
KEY = new_key()


@pytest.fixture
def layout(fixture_layout_copy: Path) -> OciLayout:
    return OciLayout(fixture_layout_copy)


def images(layout: OciLayout) -> tuple[Descriptor, Descriptor]:
    amd64, arm64 = layout.get_manifest("multi").manifests  # type: ignore[union-attr]
    return amd64, arm64


def policy(keyring: LogKeyring, *keys: Any) -> VerifyPolicy:
    return VerifyPolicy(tuple(k.public_key for k in (keys or (KEY,))), tlog=TlogPolicy(keyring))


def sign(layout: OciLayout, subject: Descriptor, log: InProcessLog, pair: Any = KEY,
         signature_format: SignatureFormat = SignatureFormat.LEGACY, **kwargs: Any) -> None:
    with log.client() as client:
        sign_image(layout, subject, pair.private_key, docker_reference=NAME, signature_format=signature_format,
                   clock=fixed_clock, log=client, **kwargs)


def only_reason(result: VerificationResult) -> str:
    assert not result.verified
    (outcome,) = result.signatures
    assert outcome.reason is not None
    return outcome.reason


def replace_layer(layout: OciLayout, subject: Digest, layer: Descriptor, payload: bytes) -> None:
    put_sig_manifest(layout, subject, [(layer, payload)])


def bundle_referrer(layout: OciLayout, subject: Descriptor) -> tuple[Manifest, dict[str, Any]]:
    (desc,) = layout.referrers(subject.digest, BUNDLE_MEDIA_TYPE)
    manifest = layout.get_manifest(desc)
    assert isinstance(manifest, Manifest)
    return manifest, json.loads(layout.get_blob(manifest.layers[0]))


def store_bundle(layout: OciLayout, subject: Descriptor, doc: dict[str, Any]) -> None:
    """Replace the image's bundle referrer by one holding ``doc``."""
    for desc in layout.referrers(subject.digest, BUNDLE_MEDIA_TYPE):
        layout.delete_manifest(desc.digest)
    layer = put_bytes(layout, BUNDLE_MEDIA_TYPE, json.dumps(doc).encode())
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    layout.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type=BUNDLE_MEDIA_TYPE))


# -- accepted --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature_format", list(SignatureFormat))
def test_logged_signature_verifies_offline_at_the_logs_time(layout: OciLayout, rekor: InProcessLog,
                                                            signature_format: SignatureFormat):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor, signature_format=signature_format)
    result = verify_image(layout, amd64.digest, policy(rekor.keyring))
    assert result.verified, result.reasons()
    assert result.checks == (CheckName.SIGNATURE, CheckName.TLOG, CheckName.CLAIMS)
    (outcome,) = result.signatures
    tlog = outcome.checks[1]
    assert tlog.check is CheckName.TLOG and tlog.passed and tlog.log_time is not None
    assert "signed entry timestamp" in tlog.detail
    if signature_format is SignatureFormat.BUNDLE:
        assert "inclusion in tree of size" in tlog.detail  # the proof and its checkpoint were checked too
    else:  # cosign prints the Rekor bundle in the verified payload's optional
        assert set(outcome.payload["optional"]["Bundle"]) == {"SignedEntryTimestamp", "Payload"}  # type: ignore[index]


def test_online_confirms_the_entry_in_the_logs_current_tree(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    sign(layout, images(layout)[1], rekor)  # the log grows: the held checkpoint must be consistent with the new
    with rekor.client() as online:
        result = Verifier(online=online).verify_image(layout, amd64.digest, policy(rekor.keyring))
    assert result.verified, result.reasons()
    assert "online" in result.signatures[0].checks[1].detail


def test_the_entry_must_name_the_key_that_verified(layout: OciLayout, rekor: InProcessLog):
    """Verifying with several keys: the logged key must be the one whose signature verified."""
    amd64, _ = images(layout)
    sign(layout, amd64, rekor)
    result = verify_image(layout, amd64.digest, policy(rekor.keyring, new_key(), KEY))
    assert result.verified and result.signatures[0].key_index == 1


# -- no evidence -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature_format", list(SignatureFormat))
def test_no_tlog_evidence_is_rejected_naming_the_flag(layout: OciLayout, rekor: InProcessLog,
                                                      signature_format: SignatureFormat):
    amd64, _ = images(layout)
    sign_image(layout, amd64, KEY.private_key, docker_reference=NAME, signature_format=signature_format,
               clock=fixed_clock)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert reason.startswith("tlog: expected ")
    assert "--insecure-ignore-tlog" in reason
    if signature_format is SignatureFormat.LEGACY:
        assert "missing dev.sigstore.cosign/bundle annotation" in reason  # containers/image's words
    ignored = verify_image(layout, amd64.digest, VerifyPolicy((KEY.public_key,), insecure_ignore_tlog=True))
    assert ignored.verified and CheckName.TLOG not in ignored.checks


def test_default_trust_is_sigstores_production_root(layout: OciLayout, rekor: InProcessLog):
    """Without trust options, only the public-good logs are trusted: a local log's entry is refused."""
    amd64, _ = images(layout)
    sign(layout, amd64, rekor)
    reason = only_reason(verify_image(layout, amd64.digest, VerifyPolicy((KEY.public_key,))))
    assert "no trusted key for log" in reason and "https://rekor.sigstore.dev" in reason


# -- spliced evidence --------------------------------------------------------------------------------------


def test_entry_for_another_artifact_is_rejected(layout: OciLayout, rekor: InProcessLog):
    """The Rekor bundle of a signature over another payload, next to our signature: hash mismatch."""
    amd64, arm64 = images(layout)
    sign(layout, amd64, rekor)
    sign(layout, arm64, rekor)
    (ours,) = sig_layers(layout, amd64.digest)
    (theirs,) = sig_layers(layout, arm64.digest)
    spliced = Descriptor.for_bytes(ours.media_type, layout.get_blob(ours), annotations={
        **ours.annotations, REKOR_BUNDLE_ANNOTATION: theirs.annotations[REKOR_BUNDLE_ANNOTATION]})
    replace_layer(layout, amd64.digest, spliced, layout.get_blob(ours))
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert "tlog: entry " in reason and "expected an entry for the payload's digest sha256:" in reason


def test_entry_for_another_signature_is_rejected(layout: OciLayout, rekor: InProcessLog):
    """Same payload, same key, another (ECDSA is randomized) signature, with the first one's entry."""
    amd64, _ = images(layout)
    sign(layout, amd64, rekor)
    (logged,) = sig_layers(layout, amd64.digest)
    payload = layout.get_blob(logged)
    other = signature_layer(payload, create_signature(KEY.private_key, payload),
                            {REKOR_BUNDLE_ANNOTATION: logged.annotations[REKOR_BUNDLE_ANNOTATION]})
    replace_layer(layout, amd64.digest, other, payload)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert reason.endswith("expected the entry to record the signature being verified, got another signature")


def test_entry_of_another_key_is_rejected_even_when_both_keys_are_trusted(layout: OciLayout, rekor: InProcessLog):
    """cosign CVE-2022-23649: a valid entry by key X placed next to a signature by key Y over the same payload."""
    amd64, _ = images(layout)
    x_key, y_key = new_key(), new_key()
    sign(layout, amd64, rekor, pair=x_key)
    (logged,) = sig_layers(layout, amd64.digest)
    payload = layout.get_blob(logged)
    forged = signature_layer(payload, create_signature(y_key.private_key, payload),
                             {REKOR_BUNDLE_ANNOTATION: logged.annotations[REKOR_BUNDLE_ANNOTATION]})
    replace_layer(layout, amd64.digest, forged, payload)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring, y_key)))
    assert "expected the entry to record the signature being verified" in reason
    assert not verify_image(layout, amd64.digest, policy(rekor.keyring, x_key, y_key)).verified


def test_entry_recording_our_signature_under_another_key_is_rejected(layout: OciLayout, rekor: InProcessLog):
    """A SET-valid entry (signed here with the log's own key, as a lying log would) recording our payload hash and
    our signature bytes but another public key: the key must be the one that verified."""
    amd64, _ = images(layout)
    payload = b'{"critical":{}}'
    signature = create_signature(KEY.private_key, payload)
    lie = HashedRekord("sha256", hashlib.sha256(payload).digest(), signature, new_key().public_key.pem())
    body = canonical_body(lie, VerifierKey.load(lie.public_key))
    entry = LogEntry(body, 1_700_000_000, 7, rekor.keyring.logs[0].key.log_id_hex)
    signer = rekor.directory.signer()
    bundle = RekorBundle(sign_entry_timestamp(entry, signer.private_key), entry)
    layer = signature_layer(payload, signature, {REKOR_BUNDLE_ANNOTATION: bundle.to_json()})
    replace_layer(layout, amd64.digest, layer, payload)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert reason.startswith("tlog: entry 7: expected the entry to record the verifying public key (sha256:")
    assert ", got another key (sha256:" in reason


def test_bundle_entry_of_another_signature_is_rejected(layout: OciLayout, rekor: InProcessLog):
    amd64, arm64 = images(layout)
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    sign(layout, arm64, rekor, signature_format=SignatureFormat.BUNDLE)
    _, ours = bundle_referrer(layout, amd64)
    _, theirs = bundle_referrer(layout, arm64)
    ours["verificationMaterial"]["tlogEntries"] = theirs["verificationMaterial"]["tlogEntries"]
    store_bundle(layout, amd64, ours)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert "expected an entry for the statement's digest sha256:" in reason


# -- another log, tampered proofs ----------------------------------------------------------------------------


def test_set_from_another_log_is_rejected(layout: OciLayout, rekor: InProcessLog, other_rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, other_rekor)
    assert "no trusted key for log" in only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    # The same SET relabelled as our log's: the signature is not our log's.
    (layer,) = sig_layers(layout, amd64.digest)
    bundle = RekorBundle.parse(layer.annotations[REKOR_BUNDLE_ANNOTATION])
    ours = rekor.keyring.logs[0].key.log_id_hex
    relabelled = RekorBundle(bundle.signed_entry_timestamp, LogEntry(
        bundle.entry.body, bundle.entry.integrated_time, bundle.entry.log_index, ours))
    payload = layout.get_blob(layer)
    moved = Descriptor.for_bytes(layer.media_type, payload,
                                 annotations={**layer.annotations, REKOR_BUNDLE_ANNOTATION: relabelled.to_json()})
    replace_layer(layout, amd64.digest, moved, payload)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert "signed entry timestamp" in reason and "does not verify" in reason


def test_set_over_other_fields_is_rejected(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor)
    (layer,) = sig_layers(layout, amd64.digest)
    doc = json.loads(layer.annotations[REKOR_BUNDLE_ANNOTATION])
    doc["Payload"]["integratedTime"] += 3600  # a later time, to pass a certificate's window, say
    payload = layout.get_blob(layer)
    moved = Descriptor.for_bytes(layer.media_type, payload,
                                 annotations={**layer.annotations, REKOR_BUNDLE_ANNOTATION: json.dumps(doc)})
    replace_layer(layout, amd64.digest, moved, payload)
    assert "does not verify" in only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))


def test_tampered_inclusion_proof_is_rejected(layout: OciLayout, rekor: InProcessLog):
    amd64, arm64 = images(layout)
    sign(layout, arm64, rekor)  # a tree of 2 or more: the proof has hashes
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    _, doc = bundle_referrer(layout, amd64)
    proof = doc["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    assert proof["hashes"]
    raw = bytearray(base64.b64decode(proof["hashes"][0]))
    raw[0] ^= 1
    proof["hashes"][0] = base64.b64encode(bytes(raw)).decode()
    store_bundle(layout, amd64, doc)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert reason.startswith("tlog: entry ") and "root" in reason  # the path does not reach the signed root


def test_checkpoint_signed_by_another_key_is_rejected(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    _, doc = bundle_referrer(layout, amd64)
    proof = doc["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    held = parse_checkpoint(proof["checkpoint"]["envelope"]).checkpoint
    impostor = NoteSigner.rekor_v1("localhost", ec.generate_private_key(ec.SECP256R1()))
    proof["checkpoint"]["envelope"] = sign_checkpoint(held.origin, held.size, held.root_hash, impostor)
    store_bundle(layout, amd64, doc)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert reason.startswith("tlog: entry ") and "note is not signed by" in reason


def test_log_key_outside_its_validity_window_is_rejected(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor)
    trusted = rekor.keyring.logs[0]
    expired = LogKeyring((TrustedLog(trusted.base_url, trusted.key, valid_until=1_000_000_000),))
    assert "outside the validity window" in only_reason(verify_image(layout, amd64.digest, policy(expired)))


def test_malformed_rekor_bundle_is_rejected(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    payload = b'{"critical":{}}'
    layer = signature_layer(payload, create_signature(KEY.private_key, payload),
                            {REKOR_BUNDLE_ANNOTATION: "this is not a valid SET"})
    replace_layer(layout, amd64.digest, layer, payload)
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert "expected a Rekor bundle in dev.sigstore.cosign/bundle, got one that is invalid" in reason


# -- online ----------------------------------------------------------------------------------------------------


def test_online_against_a_log_without_the_entry_is_rejected(layout: OciLayout, rekor: InProcessLog,
                                                             other_rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor)
    both = rekor.keyring.merged(other_rekor.keyring)
    with other_rekor.client(keyring=both) as online:
        reason = only_reason(Verifier(online=online).verify_image(layout, amd64.digest, policy(both)))
    assert reason.startswith("tlog: entry ") and "no entry" in reason


def test_online_with_an_unreachable_log_is_an_error_not_a_verdict(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    online = RekorClient(rekor.url, rekor.keyring, client=httpx.Client(transport=httpx.MockTransport(down)),
                         retry=no_wait_retry())
    with online, pytest.raises(UnavailableError):
        Verifier(online=online).verify_image(layout, amd64.digest, policy(rekor.keyring))


# -- what a bundle's version requires (sigstore-js: "invalid bundle") -----------------------------------------------


def test_v03_bundle_entry_without_inclusion_proof_is_rejected(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    _, genuine = bundle_referrer(layout, amd64)
    entry = genuine["verificationMaterial"]["tlogEntries"][0]
    assert "inclusionPromise" in entry and "checkpoint" in entry["inclusionProof"]

    def edited(edit: Any) -> dict[str, Any]:
        doc = json.loads(json.dumps(genuine))
        edit(doc["verificationMaterial"]["tlogEntries"][0])
        return doc

    store_bundle(layout, amd64, edited(lambda t: t.pop("inclusionProof")))
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert reason == ("tlog: expected valid tlogEntries in the bundle, got: tlogEntries[0] of a v0.3 bundle has no "
                      "inclusionProof")
    store_bundle(layout, amd64, edited(lambda t: t["inclusionProof"].pop("checkpoint")))
    reason = only_reason(verify_image(layout, amd64.digest, policy(rekor.keyring)))
    assert reason.endswith("tlogEntries[0].inclusionProof of a v0.3 bundle has no checkpoint")
    # The promise is optional from v0.2 on: the proof and its checkpoint prove inclusion.
    store_bundle(layout, amd64, edited(lambda t: t.pop("inclusionPromise")))
    assert verify_image(layout, amd64.digest, policy(rekor.keyring)).verified


# -- only a time the log signed is the entry's time ------------------------------------------------------------------


def windowed(log: InProcessLog, start: datetime, end: datetime) -> LogKeyring:
    trusted = log.keyring.logs[0]
    return LogKeyring((TrustedLog(trusted.base_url, trusted.key, int(start.timestamp()), int(end.timestamp())),))


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def test_unsigned_integrated_time_does_not_choose_the_key_window(layout: OciLayout, rekor: InProcessLog):
    """The attack: drop the SET and move integratedTime into a window the log key had (2020-2021)."""
    amd64, _ = images(layout)
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    _, genuine = bundle_referrer(layout, amd64)
    old_key = windowed(rekor, datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 12, 31, tzinfo=UTC))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    checked = VerifyPolicy((KEY.public_key,), tlog=TlogPolicy(old_key), clock=at(now))
    assert "integration time" in only_reason(verify_image(layout, amd64.digest, checked))  # genuine: refused

    forged = json.loads(json.dumps(genuine))
    entry = forged["verificationMaterial"]["tlogEntries"][0]
    del entry["inclusionPromise"]
    entry["integratedTime"] = "1593561600"  # 2020-07-01
    store_bundle(layout, amd64, forged)
    reason = only_reason(verify_image(layout, amd64.digest, checked))
    assert "has no signed integration time; the current time 2026-01-01T00:00:00Z is outside the validity " \
           "window 2020-01-01T00:00:00Z .. 2021-12-31T00:00:00Z" in reason


def test_without_a_set_the_log_key_must_be_valid_now(layout: OciLayout, rekor: InProcessLog):
    """The genuine case: a SET-less entry verifies by its proof while the key is valid now, and hands on no time."""
    amd64, _ = images(layout)
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    _, doc = bundle_referrer(layout, amd64)
    del doc["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
    doc["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1593561600"  # unsigned: irrelevant
    store_bundle(layout, amd64, doc)
    key = windowed(rekor, datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))

    result = verify_image(layout, amd64.digest, VerifyPolicy((KEY.public_key,), tlog=TlogPolicy(key),
                                                             clock=at(datetime(2026, 1, 1, tzinfo=UTC))))
    assert result.verified, result.reasons()
    tlog = result.signatures[0].checks[1]
    assert tlog.check is CheckName.TLOG and tlog.log_time is None
    assert "no signed integration time: log key validity checked at the current time (2026-01-01T00:00:00Z)" in (
        tlog.detail)
    later = VerifyPolicy((KEY.public_key,), tlog=TlogPolicy(key), clock=at(datetime(2031, 1, 1, tzinfo=UTC)))
    assert "the current time 2031-01-01T00:00:00Z is outside" in only_reason(verify_image(layout, amd64.digest, later))


def test_with_the_set_the_signed_time_is_checked_not_now(layout: OciLayout, rekor: InProcessLog):
    amd64, _ = images(layout)
    sign(layout, amd64, rekor, signature_format=SignatureFormat.BUNDLE)
    signed_at = bundle_referrer(layout, amd64)[1]["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
    start = datetime.fromtimestamp(int(signed_at) - 60, UTC)
    key = windowed(rekor, start, start + timedelta(minutes=2))  # long over by "now"
    result = verify_image(layout, amd64.digest, VerifyPolicy((KEY.public_key,), tlog=TlogPolicy(key),
                                                             clock=at(datetime(2099, 1, 1, tzinfo=UTC))))
    assert result.verified, result.reasons()
    assert result.signatures[0].checks[1].log_time == int(signed_at)


# -- certificates: no signed time, no certificate check ----------------------------------------------------------------


def test_certificate_needs_a_signed_time(layout: OciLayout, tmp_path: Path):
    """A Fulcio-style bundle whose log entry lost its SET: the entry still proves inclusion, but no time is
    vouched for, so the short-lived certificate cannot be checked (and the unsigned integratedTime is not used)."""
    from tests.unit.verify.test_certificate import ISSUER, NOW, WORKFLOW, make_ca, make_leaf

    root = make_ca("root")
    intermediate = make_ca("intermediate", root)
    leaf, leaf_key = make_leaf(intermediate, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    amd64, _ = images(layout)
    statement = build_statement(NAME, amd64.digest)
    signature = leaf_key.sign(pae(IN_TOTO_PAYLOAD_TYPE, statement), ec.ECDSA(hashes.SHA256()))
    envelope = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, (DsseSignature(signature),))
    log = InProcessLog(tmp_path / "cert-log", clock=lambda: NOW.timestamp())  # logged while the leaf is valid
    try:
        with log.client() as client:
            body = json.dumps(envelope.to_json(), separators=(",", ":")).encode()
            logged = client.create_dsse(body, [leaf.public_bytes(serialization.Encoding.PEM)]).entry
        genuine = {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {
                "certificate": {"rawBytes": base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()},
                "tlogEntries": [bundle_tlog_entry(logged).to_json()],
            },
            "dsseEnvelope": envelope.to_json(),
        }
        certificate = CertificatePolicy((root[0],), (intermediate[0],), identity=WORKFLOW, issuer=ISSUER)
        keyless = VerifyPolicy(certificate=certificate, tlog=TlogPolicy(log.keyring))
        store_bundle(layout, amd64, genuine)
        result = verify_image(layout, amd64.digest, keyless)
        assert result.verified, result.reasons()
        assert "at 2025-06-01T12:00:00Z" in result.signatures[0].checks[2].detail

        no_set = json.loads(json.dumps(genuine))
        del no_set["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
        store_bundle(layout, amd64, no_set)
        outcome = verify_image(layout, amd64.digest, keyless).signatures[0]
        assert [c.check for c in outcome.checks if not c.passed] == [CheckName.CERTIFICATE]
        assert outcome.reason == (
            "certificate: expected a signed time to check the certificate at, got none: the log entry has no signed "
            "entry timestamp (its integratedTime is not signed by the log; a Rekor v2 entry has none), and the bundle "
            "has no RFC 3161 timestamp")
        timestamps = {"rfc3161Timestamps": [{"signedTimestamp": "AA=="}]}
        no_set["verificationMaterial"]["timestampVerificationData"] = timestamps
        store_bundle(layout, amd64, no_set)
        reason = only_reason(verify_image(layout, amd64.digest, keyless))
        assert reason.endswith("expected a timestamp authority in the trusted root to verify the bundle's RFC 3161 "
                               "timestamps with, got none")
    finally:
        log.close()
