"""Interop proof: our Sigstore bundles verify with an independent verifier, sigstore-js (``@sigstore/verify``).

The npm packages are the pinned set of ``tests/js/`` (``tests/support/sigstore_js.py``), installed before the
tests by ``npm ci --prefix tests/js``; without them these tests FAIL naming that command, they are never skipped.

The node script (``tests/js/verify-bundle.js``) verifies offline with trust material that names our public key,
looked up by the hint the bundle carries (sigstore-js computes nothing else from it), and, for bundles signed with
upload to the local transparency log, that log (its key and log ID): then the tlog threshold is 1, so sigstore-js
checks the entry's body against the envelope, the inclusion promise (SET) and the inclusion proof with its signed
checkpoint. The CT log and timestamp thresholds are 0 (no Fulcio certificate, no TSA).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from supplychain.layout import OciLayout
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.bundle import key_hint
from tests.support.signatures import fixed_clock, new_key
from tests.support.sigstore_js import run_node
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"


def verify_with_node(sigstore_js: Path, bundle: bytes, public_key_pem: bytes, tmp_path: Path,
                     log: tuple[Path, str] | None = None) -> tuple[int, dict]:
    """Verify with sigstore-js; ``log`` = (the log's PEM key, its base URL) makes the tlog threshold 1."""
    bundle_path, key_path = tmp_path / "bundle.json", tmp_path / "key.pub"
    bundle_path.write_bytes(bundle)
    key_path.write_bytes(public_key_pem)
    extra = [] if log is None else [log[0], log[1]]
    done = run_node("verify-bundle.js", bundle_path, key_path, *extra, directory=sigstore_js)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "rsa-2048", "ed25519"])
def test_sigstore_js_verifies_our_bundle(sigstore_js: Path, fixture_layout_copy: Path, tmp_path: Path,
                                         algorithm: str):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    pair = new_key(algorithm)
    result = sign_image(layout, subject, pair.private_key, docker_reference=NAME, annotations={"env": "prod"},
                        signature_format=SignatureFormat.BUNDLE, clock=fixed_clock)
    bundle = result.images[0].bundle
    assert bundle is not None
    code, out = verify_with_node(sigstore_js, bundle, pair.public_key.pem(), tmp_path)
    assert code == 0 and out["ok"], out
    assert out["hint"] == key_hint(pair.public_key)
    assert out["payloadType"] == "application/vnd.in-toto+json"
    statement = out["statement"]
    assert statement["predicateType"] == "https://sigstore.dev/cosign/sign/v1"
    assert statement["subject"] == [{"name": NAME, "digest": {"sha256": subject.digest.hex},
                                     "annotations": {"env": "prod"}}]
    # The bundle stored in the layout is the same bytes.
    (referrer,) = layout.referrers(subject.digest, "application/vnd.dev.sigstore.bundle.v0.3+json")
    stored = layout.get_manifest(referrer)
    assert layout.get_blob(stored.layers[0]) == bundle  # type: ignore[union-attr]


def test_sigstore_js_refuses_a_tampered_bundle_and_another_key(sigstore_js: Path, fixture_layout_copy: Path,
                                                               tmp_path: Path):
    """The independent verifier really checks: an edited statement and a foreign key both fail."""
    layout = OciLayout(fixture_layout_copy)
    pair = new_key()
    result = sign_image(layout, layout.resolve("single"), pair.private_key, docker_reference=NAME,
                        signature_format=SignatureFormat.BUNDLE, upload=False, clock=fixed_clock)
    doc = json.loads(result.images[0].bundle)  # type: ignore[arg-type]
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = hashlib.sha256(b"another image").hexdigest()
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    code, out = verify_with_node(sigstore_js, json.dumps(doc).encode(), pair.public_key.pem(), tmp_path)
    assert code == 1 and "SIGNATURE_ERROR" in out["error"]

    other = new_key()
    code, out = verify_with_node(sigstore_js, result.images[0].bundle, other.public_key.pem(), tmp_path)  # type: ignore[arg-type]
    assert code == 1 and "key not found" in out["error"]  # the hint names our key, not this one


def localhost_url(log: LogProcess) -> str:
    """The log's URL as it serves it: the default name (``tlog init --name``, 127.0.0.1) is the default listen host,
    so the URL it listens on is one sigstore-js accepts as is."""
    return log.url


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_sigstore_js_verifies_our_logged_bundle_with_tlog_threshold_1(
    sigstore_js: Path, fixture_layout_copy: Path, tmp_path: Path, tlog_server: LogProcess, algorithm: str
):
    """A bundle signed with upload to the local log carries a dsse TransparencyLogEntry that sigstore-js accepts:
    body (payload hash, signature), inclusion promise and inclusion proof with the signed checkpoint."""
    layout = OciLayout(fixture_layout_copy)
    pair = new_key(algorithm)
    with tlog_server.client() as log:
        result = sign_image(layout, layout.resolve("single"), pair.private_key, docker_reference=NAME,
                            signature_format=SignatureFormat.BUNDLE, clock=fixed_clock, log=log)
    bundle = result.images[0].bundle
    assert bundle is not None
    (entry,) = json.loads(bundle)["verificationMaterial"]["tlogEntries"]
    assert entry["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}
    assert {"inclusionPromise", "inclusionProof"} <= set(entry)
    assert isinstance(entry["logIndex"], str) and isinstance(entry["inclusionProof"]["treeSize"], str)
    assert "checkpoint" in entry["inclusionProof"]

    code, out = verify_with_node(sigstore_js, bundle, pair.public_key.pem(), tmp_path,
                         log=(tlog_server.public_key_path, localhost_url(tlog_server)))
    assert code == 0 and out["ok"], out
    assert out["tlogEntries"] == 1

    # The same bundle against trust material naming another log: the inclusion promise does not verify.
    other_key = tmp_path / "other-log.pub"
    other_key.write_bytes(new_key().public_key.pem())
    code, out = verify_with_node(sigstore_js, bundle, pair.public_key.pem(), tmp_path,
                         log=(other_key, localhost_url(tlog_server)))
    assert code == 1 and "TLOG_INCLUSION_PROMISE_ERROR" in out["error"], out
