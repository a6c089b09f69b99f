"""Interop proof: our Sigstore bundles verify with an independent verifier, sigstore-js (``@sigstore/verify``).

The npm packages are installed once into a cache directory (``$SUPPLYCHAIN_TEST_CACHE`` or
``~/.cache/supplychain-tests``); the npm registry must be reachable the first time. If npm cannot install them
the test FAILS with the npm output (CI has npm), it is never skipped.

The node script verifies offline with trust material that names our public key, looked up by the hint the
bundle carries (sigstore-js computes nothing else from it), and, for bundles signed with upload to the local
transparency log, that log (its key and log ID): then the tlog threshold is 1, so sigstore-js checks the entry's
body against the envelope, the inclusion promise (SET) and the inclusion proof with its signed checkpoint. The CT
log and timestamp thresholds are 0 (no Fulcio certificate, no TSA).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from supplychain.layout import OciLayout
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.bundle import key_hint
from tests.support.signatures import fixed_clock, new_key
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

PACKAGES = ["@sigstore/verify@3", "@sigstore/bundle@4"]
NAME = "registry.example/team/app"

VERIFY_SCRIPT = r"""
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [bundlePath, keyPath, logKeyPath, logURL] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const spki = (path) => crypto.createPublicKey(fs.readFileSync(path, 'utf8')).export({ type: 'spki', format: 'der' });
const der = spki(keyPath);
// sigstore-go's key hint: base64(sha256(PKIX DER)); the trust material knows our key under that name only.
const hint = crypto.createHash('sha256').update(der).digest('base64');
const tlogs = [];
if (logKeyPath) {
  // A Rekor v1 log: log ID = sha256(PKIX DER) of its key (keyDetails 5 = PKIX_ECDSA_P256_SHA_256). sigstore-js
  // matches a checkpoint signer's name against baseUrl, hence a URL naming the log's host name.
  const logDer = spki(logKeyPath);
  tlogs.push({ baseUrl: logURL, hashAlgorithm: 1, publicKey: { rawBytes: logDer, keyDetails: 5 },
               logId: { keyId: crypto.createHash('sha256').update(logDer).digest() } });
}
const trustedRoot = { certificateAuthorities: [], timestampAuthorities: [], tlogs, ctlogs: [] };
const keys = { [hint]: { rawBytes: der, keyDetails: 0 } };
const verifier = new Verifier(toTrustMaterial(trustedRoot, keys),
                              { tlogThreshold: tlogs.length ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 });
try {
  verifier.verify(toSignedEntity(bundle));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: `${e.code || e.name}: ${e.message}` }));
  process.exit(1);
}
const env = bundle.content.dsseEnvelope;
console.log(JSON.stringify({ ok: true, hint, payloadType: env.payloadType, tlogEntries: tlogs.length
                             ? bundle.verificationMaterial.tlogEntries.length : 0,
                             statement: JSON.parse(Buffer.from(env.payload).toString('utf8')) }));
"""


@pytest.fixture(scope="session")
def sigstore_js() -> Path:
    """A directory whose node_modules holds @sigstore/verify and @sigstore/bundle."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None:
        pytest.fail("node and npm are needed to verify bundles with sigstore-js (install nodejs and npm)")
    cache = Path(os.environ.get("SUPPLYCHAIN_TEST_CACHE", Path.home() / ".cache" / "supplychain-tests"))
    target = cache / "sigstore-js"
    marker = target / "node_modules" / "@sigstore" / "verify" / "package.json"
    if not marker.exists():
        target.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(target), *PACKAGES],
            capture_output=True, text=True, timeout=300,
        )
        if done.returncode != 0 or not marker.exists():
            pytest.fail(f"npm install {' '.join(PACKAGES)} failed (is the npm registry reachable?):\n"
                        f"{done.stdout}\n{done.stderr}")
    (target / "verify-bundle.js").write_text(VERIFY_SCRIPT)
    return target


def run_node(sigstore_js: Path, bundle: bytes, public_key_pem: bytes, tmp_path: Path,
             log: tuple[Path, str] | None = None) -> tuple[int, dict]:
    """Verify with sigstore-js; ``log`` = (the log's PEM key, its base URL) makes the tlog threshold 1."""
    bundle_path, key_path = tmp_path / "bundle.json", tmp_path / "key.pub"
    bundle_path.write_bytes(bundle)
    key_path.write_bytes(public_key_pem)
    extra = [] if log is None else [str(log[0]), log[1]]
    done = subprocess.run(["node", str(sigstore_js / "verify-bundle.js"), str(bundle_path), str(key_path), *extra],
                          capture_output=True, text=True, timeout=60, cwd=sigstore_js)
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
    code, out = run_node(sigstore_js, bundle, pair.public_key.pem(), tmp_path)
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
    code, out = run_node(sigstore_js, json.dumps(doc).encode(), pair.public_key.pem(), tmp_path)
    assert code == 1 and "SIGNATURE_ERROR" in out["error"]

    other = new_key()
    code, out = run_node(sigstore_js, result.images[0].bundle, other.public_key.pem(), tmp_path)  # type: ignore[arg-type]
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

    code, out = run_node(sigstore_js, bundle, pair.public_key.pem(), tmp_path,
                         log=(tlog_server.public_key_path, localhost_url(tlog_server)))
    assert code == 0 and out["ok"], out
    assert out["tlogEntries"] == 1

    # The same bundle against trust material naming another log: the inclusion promise does not verify.
    other_key = tmp_path / "other-log.pub"
    other_key.write_bytes(new_key().public_key.pem())
    code, out = run_node(sigstore_js, bundle, pair.public_key.pem(), tmp_path,
                         log=(other_key, localhost_url(tlog_server)))
    assert code == 1 and "TLOG_INCLUSION_PROMISE_ERROR" in out["error"], out
