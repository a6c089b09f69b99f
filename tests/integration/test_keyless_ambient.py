"""Where a keyless signature's identity comes from when no ``--identity-token`` is given (issue 11, item 1), offline:
the CI job's ambient OIDC credentials, else the interactive login on a terminal.

GitHub Actions gives a job with ``id-token: write`` two variables, ``ACTIONS_ID_TOKEN_REQUEST_URL`` and
``ACTIONS_ID_TOKEN_REQUEST_TOKEN``; the ``id`` package (what sigstore's ``detect_credential`` runs) asks that URL for
a token of audience ``sigstore``. The TEST-ONLY issuer (``tests/support/oidc.py``) answers that request as GitHub's
endpoint does, so the detection, the request and its audience are the real code's; the token then goes to the mock
Fulcio as any other.

On a terminal with no CI credentials, sigstore's ``Issuer.identity_token()`` runs the OAuth authorization-code flow
with PKCE: it opens a browser (``BROWSER``, here ``tests/support/browser.py``, which follows the redirects as a user
who logged in would) at its local redirect server, which sends it to the issuer's ``/auth`` and gets the code back;
the code is traded at ``/token``. The command runs in a subprocess on a pseudo-terminal, since only a terminal
may log in.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from tests.support.oidc import IDENTITY, OidcIssuer
from tests.support.signatures import run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
AMBIENT = ("SIGSTORE_ID_TOKEN", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "GOOGLE_SERVICE_ACCOUNT_NAME")


def run_on_a_terminal(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """``python3 -m supplychain ARGS`` with standard input and error on a pseudo-terminal: (exit code, what it
    wrote there and on stdout)."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "supplychain", *args], stdin=slave, stderr=slave,
                               stdout=slave, env=env, cwd=REPO)
    os.close(slave)
    output = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                process.kill()
                process.wait()
                raise AssertionError(f"no output for {timeout} s: {output.decode(errors='replace')}")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
    return process.wait(timeout), output.decode(errors="replace")


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


def test_on_a_terminal_without_ci_credentials_the_user_logs_in(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tlog_server: LogProcess, tmp_path: Path):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact signed after an interactive login\n")
    env = {name: value for name, value in os.environ.items() if name not in AMBIENT}
    env |= {"BROWSER": f"{sys.executable} -m tests.support.browser %s",  # run from the checkout (cwd)
            "SUPPLYCHAIN_REKOR_URL": tlog_server.url}
    trust = ["--trusted-root", str(keyless_trust["root"])]
    code, output = run_on_a_terminal(["sign-blob", str(blob), "--bundle", str(bundle), *trust, "--signing-config",
                                      str(keyless_trust["signing_config"]), "--oidc-issuer", oidc_issuer.url], env)
    assert code == 0, output
    assert "Waiting for browser interaction" in output and f"signing as {IDENTITY}" in output
    assert oidc_issuer.authorizations == {}  # the one code was traded at /token (with its PKCE verifier)
    verified = run_cli(["verify-blob", "--bundle", str(bundle), *trust, "--certificate-identity", IDENTITY,
                        "--certificate-oidc-issuer", oidc_issuer.url, str(blob)])
    assert verified.code == 0, verified

    # Off a terminal there is no login: the same command says what to give instead
    result = run_cli(["sign-blob", str(blob), "--bundle", str(tmp_path / "other.json"), *trust,
                      "--signing-config", str(keyless_trust["signing_config"]), "--oidc-issuer", oidc_issuer.url],
                     env={name: None for name in AMBIENT})
    assert result.code == ExitCode.AUTH and "no terminal to log in on" in result.stderr, result
