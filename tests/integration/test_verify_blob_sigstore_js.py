"""Interop: bundles that sigstore-js makes for a file with a managed key (``@sigstore/sign``, key-based signer, logged
in a real local ``tlog serve``) verify with ``supplychain verify-blob --key``; the same bundles fail for another key,
another file, and an identity policy (a bare public key is no certificate: GHSA-fx35-mq7g-6g98).

``tests/support/sigstore_js.py`` runs the pinned sigstore-js set of ``tests/js/`` (the ``sigstore_js`` fixture fails,
naming the install command, when it is missing). TEST-ONLY keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.digest import Digest
from supplychain.formats.intoto import build_statement
from tests.support.signatures import CliResult, new_key, run_cli
from tests.support.sigstore_js import sign_bundle, write_node_key
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration


def verify_blob(*args: str) -> CliResult:
    return run_cli(["verify-blob", "--offline", *args])


@pytest.mark.parametrize("mode", ["message", "dsse"])
def test_sigstore_js_bundle_verifies_with_our_verify_blob(sigstore_js: Path, tlog_server: LogProcess,
                                                          tmp_path: Path, mode: str):
    key, public = write_node_key(new_key("ecdsa-p256"), tmp_path)
    artifact = tmp_path / "artifact.txt"
    artifact.write_bytes(b"TEST-ONLY artifact signed by sigstore-js\n")
    signed = artifact
    if mode == "dsse":  # an in-toto statement naming the file's digest, as attest-blob signs it
        signed = tmp_path / "statement.json"
        signed.write_bytes(build_statement("artifact.txt", Digest.of(artifact.read_bytes())))
    bundle = sign_bundle(mode, signed, key, public, tlog_server.url, directory=sigstore_js)
    path = tmp_path / "artifact.sigstore.json"
    path.write_text(json.dumps(bundle))
    trust = ["--rekor-public-key", str(tlog_server.public_key_path)]

    result = verify_blob("--key", str(public), "--bundle", str(path), *trust, str(artifact))
    assert result.code == 0, result
    assert result.stderr.strip().splitlines()[-1] == "Verified OK"
    by_digest = verify_blob("--key", str(public), "--bundle", str(path), *trust,
                            str(Digest.of(artifact.read_bytes())))
    assert by_digest.code == 0, by_digest

    (tmp_path / "other").mkdir()
    _, other_public = write_node_key(new_key("ecdsa-p256"), tmp_path / "other")
    wrong_key = verify_blob("--key", str(other_public), "--bundle", str(path), *trust, str(artifact))
    assert wrong_key.code == 1 and "signature: expected a signature over" in wrong_key.stderr, wrong_key
    other_file = tmp_path / "other.txt"
    other_file.write_bytes(b"another file\n")
    wrong_file = verify_blob("--key", str(public), "--bundle", str(path), *trust, str(other_file))
    assert wrong_file.code == 1, wrong_file
    untrusted_log = verify_blob("--key", str(public), "--bundle", str(path), str(artifact))
    assert untrusted_log.code == 1 and "no trusted key for log" in untrusted_log.stderr, untrusted_log
    keyless = verify_blob("--certificate-identity", "dev@example.com", "--certificate-oidc-issuer",
                          "https://issuer.example", "--bundle", str(path), *trust, str(artifact))
    assert keyless.code == 1
    assert "expected a signing certificate in the bundle's verificationMaterial, got none" in keyless.stderr
