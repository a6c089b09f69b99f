"""Keyless signing with the CI job's ambient OIDC credentials (issue 11, item 1), offline.

GitHub Actions gives a job with ``id-token: write`` two variables, ``ACTIONS_ID_TOKEN_REQUEST_URL`` and
``ACTIONS_ID_TOKEN_REQUEST_TOKEN``; the ``id`` package (what sigstore's ``detect_credential`` runs) asks that URL for
a token of audience ``sigstore``. The TEST-ONLY issuer (``tests/support/oidc.py``) answers that request as GitHub's
endpoint does, so the detection, the request and its audience are the real code's; the token then goes to the mock
Fulcio as any other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from tests.support.oidc import IDENTITY, OidcIssuer
from tests.support.signatures import run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration


def test_sign_blob_uses_github_actions_ambient_credentials(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tlog_server: LogProcess, tmp_path: Path):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact signed in a CI job\n")
    trust = ["--trusted-root", str(keyless_trust["root"])]
    before = len(oidc_issuer.github_requests)
    signed = run_cli(["sign-blob", str(blob), "--bundle", str(bundle), *trust,
                      "--signing-config", str(keyless_trust["signing_config"])],
                     env={"SIGSTORE_ID_TOKEN": None, **oidc_issuer.github_environment()})
    assert signed.code == 0, signed
    assert oidc_issuer.github_requests[before:] == ["sigstore"]  # one request, for Fulcio's audience
    assert f"signing as {IDENTITY}" in signed.stderr
    verified = run_cli(["verify-blob", "--bundle", str(bundle), *trust, "--certificate-identity", IDENTITY,
                        "--certificate-oidc-issuer", oidc_issuer.url, str(blob)])
    assert verified.code == 0, verified


def test_a_github_job_without_id_token_permission_is_told_why(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tmp_path: Path):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY\n")
    env = {**oidc_issuer.github_environment(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": None, "SIGSTORE_ID_TOKEN": None}
    result = run_cli(["sign-blob", str(blob), "--bundle", str(bundle), "--trusted-root", str(keyless_trust["root"]),
                      "--signing-config", str(keyless_trust["signing_config"])], env=env)
    assert result.code == ExitCode.AUTH, result
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "OIDC credentials could not be read" in error and "ACTIONS_ID_TOKEN_REQUEST_TOKEN" in error
    assert "hint: " in result.stderr and "Traceback" not in result.stderr
    assert not bundle.exists()
