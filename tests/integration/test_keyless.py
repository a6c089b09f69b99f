"""Keyless signing end to end, offline: a TEST-ONLY OIDC issuer, ``@sigstore/mock``'s Fulcio (certificates with an
SCT from its CT log) and TSA, our ``tlog serve`` as the Rekor, trust written by ``trusted-root create``.

Our bundles are checked by the other implementations: sigstore-python (``sigstore verify identity --offline``) and
sigstore-js (``@sigstore/verify``, SCT threshold 1); sigstore-python signs through the same services; our image
``verify`` accepts our keyless image signatures. Bad tokens and an unreachable log each fail with their reason, and
nothing is written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from supplychain.formats.bundle import Bundle
from supplychain.layout import OciLayout
from supplychain.trust.create import build_client_trust_config, build_signing_config
from supplychain.trust.root import TrustedRoot
from tests.support.oidc import IDENTITY, OidcIssuer
from tests.support.signatures import CliResult, generate_cli_key_pair, run_cli
from tests.support.sigstore_js import run_node
from tests.support.sigstore_services import SigstoreServices
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
SIGSTORE = [sys.executable, "-m", "sigstore"]


def keyless_args(trust: dict[str, Path], token: str) -> list[str]:
    return ["--identity-token", token, "--trusted-root", str(trust["root"]),
            "--signing-config", str(trust["signing_config"])]


def sign_blob(trust: dict[str, Path], token: str, blob: Path, bundle: Path, *extra: str) -> CliResult:
    return run_cli(["sign-blob", str(blob), "--bundle", str(bundle), *keyless_args(trust, token), *extra])


def trust_config(trust: dict[str, Path], directory: Path) -> Path:
    """sigstore-python's ``--trust-config``: the trusted root and signing config in one ClientTrustConfig."""
    path = directory / "trust_config.json"
    path.write_bytes(build_client_trust_config(trust["root"].read_bytes(), trust["signing_config"].read_bytes()))
    return path


def sigstore_python_verifies(trust: dict[str, Path], bundle: Path, blob: Path, issuer: str, tmp_path: Path,
                             identity: str = IDENTITY) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIGSTORE, "--trust-config", str(trust_config(trust, tmp_path)), "verify", "identity",
                           "--offline", "--bundle", str(bundle), "--cert-identity", identity,
                           "--cert-oidc-issuer", issuer, str(blob)],
                          capture_output=True, text=True, timeout=120, check=False)


def sigstore_js_verifies(trust: dict[str, Path], bundle: Path, artifact: Path | str, *policy: str) -> dict[str, object]:
    done = run_node("verify-keyless.js", bundle, trust["root"], artifact, *policy)
    assert done.stdout, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


# -- trusted-root create --------------------------------------------------------------------------------------------


def test_trusted_root_create_is_read_by_us_sigstore_python_and_sigstore_js(
        keyless_trust: dict[str, Path], sigstore_services: SigstoreServices, tlog_server: LogProcess):
    from sigstore.models import TrustedRoot as SigstoreTrustedRoot

    ours = TrustedRoot.read(keyless_trust["root"])
    assert [log.base_url for log in ours.tlogs] == [tlog_server.url]
    assert [log.base_url for log in ours.ctlogs] == [f"{sigstore_services.url}/ct"]
    assert [authority.uri for authority in ours.certificate_authorities] == [sigstore_services.fulcio_url]
    assert [len(authority.certificates) for authority in ours.timestamp_authorities] == [2]
    theirs = SigstoreTrustedRoot.from_file(str(keyless_trust["root"]))
    assert len(theirs.get_fulcio_certs()) == 1 and len(theirs.get_timestamp_authorities()) == 1
    # sigstore-js reads it in every verification below (verify-keyless.js: TrustedRoot.fromJSON, toTrustMaterial).


def test_trusted_root_create_bad_input(tmp_path: Path):
    not_pem = tmp_path / "chain.pem"
    not_pem.write_text("not a certificate\n")
    result = run_cli(["trusted-root", "create", "--certificate-chain", str(not_pem), "--out",
                      str(tmp_path / "root.json")])
    assert result.code == ExitCode.INVALID_INPUT, result
    assert "error: certificate chain" in result.stderr and "hint: " in result.stderr
    assert not (tmp_path / "root.json").exists()
    result = run_cli(["trusted-root", "create"])
    assert result.code == ExitCode.USAGE and "give at least one of" in result.stderr
    key = tmp_path / "ed.pub"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key.write_bytes(ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(  # TEST-ONLY
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    result = run_cli(["trusted-root", "create", "--rekor-key", str(key), "--rekor-url", "http://127.0.0.1:1"])
    assert result.code == ExitCode.INVALID_INPUT and "error: " in result.stderr and "hint: " in result.stderr
    assert "Traceback" not in result.stderr


# -- sign-blob --------------------------------------------------------------------------------------------------------


def test_keyless_sign_blob_verifies_in_sigstore_python_and_sigstore_js(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tlog_server: LogProcess, tmp_path: Path):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact\n")
    result = sign_blob(keyless_trust, oidc_issuer.token(), blob, bundle)
    assert result.code == 0, result
    assert f"signing as {IDENTITY}" in result.stderr and f"logged in {tlog_server.url}" in result.stderr
    parsed = Bundle.parse(bundle.read_bytes())
    assert parsed.version == 3 and parsed.has_certificate and parsed.message_signature is not None
    assert len(parsed.tlog_entries) == 1 and parsed.tlog_entries[0].kind_version is not None
    assert parsed.tlog_entries[0].kind_version.kind == "hashedrekord"
    assert len(parsed.rfc3161_timestamps) == 1  # the signing config names the TSA

    done = sigstore_python_verifies(keyless_trust, bundle, blob, oidc_issuer.url, tmp_path)
    assert done.returncode == 0 and "OK" in done.stderr, done
    done = sigstore_python_verifies(keyless_trust, bundle, blob, oidc_issuer.url, tmp_path,
                                    identity="https://ci.example.test/someone-else")
    assert done.returncode != 0

    verdict = sigstore_js_verifies(keyless_trust, bundle, blob, "--identity", IDENTITY, "--issuer", oidc_issuer.url)
    assert verdict == {"ok": True, "san": IDENTITY, "issuer": oidc_issuer.url, "timestampVerificationData": True}
    verdict = sigstore_js_verifies(keyless_trust, bundle, blob, "--identity", IDENTITY, "--issuer",
                                   "https://issuer.example.test")
    assert verdict["ok"] is False and "issuer" in str(verdict["error"])
    tampered = tmp_path / "tampered.txt"
    tampered.write_bytes(b"TEST-ONLY artifact, changed\n")
    assert sigstore_js_verifies(keyless_trust, bundle, tampered, "--identity", IDENTITY, "--issuer",
                                oidc_issuer.url)["ok"] is False


def test_sign_blob_with_a_key_is_a_logged_message_signature_bundle(
        keyless_trust: dict[str, Path], tlog_server: LogProcess, tmp_path: Path, sigstore_js: Path):
    key, pub = generate_cli_key_pair(tmp_path / "test", "pw")
    blob, bundle = tmp_path / "artifact.bin", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY \x00 bytes")
    result = run_cli(["sign-blob", str(blob), "--bundle", str(bundle), "--key", str(key), "--rekor-url",
                      tlog_server.url], env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert result.code == 0, result
    assert "tlog entry created with index:" in result.stderr
    parsed = Bundle.parse(bundle.read_bytes())
    assert parsed.public_key_hint is not None and not parsed.has_certificate
    assert parsed.message_signature is not None and parsed.tlog_entries[0].kind_version is not None
    assert parsed.tlog_entries[0].kind_version.kind == "hashedrekord"
    # sigstore-js: the key, and the entry against the log in the trusted root.
    assert sigstore_js_verifies(keyless_trust, bundle, blob, "--key", str(pub)) == {
        "ok": True, "san": None, "issuer": None, "timestampVerificationData": False}
    other = tmp_path / "other.bin"
    other.write_bytes(b"TEST-ONLY other bytes")
    assert sigstore_js_verifies(keyless_trust, bundle, other, "--key", str(pub))["ok"] is False
    # keyless flags with --key: an error, not a silent preference
    result = run_cli(["sign-blob", str(blob), "--bundle", str(tmp_path / "x.json"), "--key", str(key),
                      "--fulcio-url", "http://127.0.0.1:1"], env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert result.code == ExitCode.USAGE and "not with --key" in result.stderr


# -- no signature without a log entry ---------------------------------------------------------------------------------


def test_keyless_signing_never_happens_without_a_log_entry(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, fixture_layout_copy: Path, tmp_path: Path):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact\n")
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    result = sign_blob(keyless_trust, oidc_issuer.token(), blob, bundle, "--rekor-url", dead)
    assert result.code == ExitCode.UNAVAILABLE, result
    assert "error: signing: " in result.stderr and "hint: " in result.stderr and "Traceback" not in result.stderr
    assert not bundle.exists()
    result = sign_blob(keyless_trust, oidc_issuer.token(), blob, bundle, "--tlog-upload=false")
    assert result.code == ExitCode.USAGE and "never made without a transparency-log entry" in result.stderr
    assert not bundle.exists()

    before = sorted(p.name for p in (fixture_layout_copy / "blobs" / "sha256").iterdir())
    index = (fixture_layout_copy / "index.json").read_bytes()
    result = run_cli(["sign", f"oci:{fixture_layout_copy}:single", "--reference-name", NAME, "--rekor-url", dead,
                      *keyless_args(keyless_trust, oidc_issuer.token())])
    assert result.code == ExitCode.UNAVAILABLE, result
    assert (fixture_layout_copy / "index.json").read_bytes() == index
    assert sorted(p.name for p in (fixture_layout_copy / "blobs" / "sha256").iterdir()) == before


# -- identity tokens --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("claims", "message"), [
    ({"lifetime": -600}, "the identity token expired at"),
    ({"drop": ("sub",)}, "the identity token has no subject"),
    ({"audience": "another-service"}, "the identity token is for audience 'another-service', not 'sigstore'"),
    ({"drop": ("iss",)}, "the identity token has no issuer"),
])
def test_bad_identity_tokens_are_refused_with_their_reason(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tmp_path: Path, claims: dict[str, object],
        message: str):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact\n")
    token_file = tmp_path / "token.jwt"
    token_file.write_text(oidc_issuer.token(**claims) + "\n")  # type: ignore[arg-type]
    result = sign_blob(keyless_trust, f"@{token_file}", blob, bundle)
    assert result.code == ExitCode.AUTH, result
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {message}"), result
    assert lines[1].startswith("hint: ") and "Traceback" not in result.stderr
    assert not bundle.exists()


def test_no_identity_token_off_a_terminal(keyless_trust: dict[str, Path], tmp_path: Path):
    blob = tmp_path / "artifact.txt"
    blob.write_bytes(b"TEST-ONLY artifact\n")
    result = run_cli(["sign-blob", str(blob), "--bundle", str(tmp_path / "b.json"), "--trusted-root",
                      str(keyless_trust["root"]), "--signing-config", str(keyless_trust["signing_config"])],
                     env={"SIGSTORE_ID_TOKEN": None, "GITHUB_ACTIONS": None, "GITLAB_CI": None, "BUILDKITE": None,
                          "CIRCLECI": None})
    assert result.code == ExitCode.AUTH, result
    assert result.stderr.startswith("error: no identity token") and "hint: " in result.stderr


def test_a_certificate_without_sct_is_refused_at_signing(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, sigstore_services: SigstoreServices,
        tmp_path: Path):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact\n")
    result = sign_blob(keyless_trust, oidc_issuer.token(), blob, bundle, "--fulcio-url",
                       sigstore_services.no_sct_fulcio_url)
    assert result.code == ExitCode.UNAVAILABLE, result
    assert result.stderr.startswith("error: getting a signing certificate: ") and "hint: " in result.stderr
    assert not bundle.exists()


# -- images -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature_format", ["bundle", "legacy"])
def test_keyless_image_signature_verifies_in_our_verify(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, fixture_layout_copy: Path, tmp_path: Path,
        signature_format: str):
    ref = f"oci:{fixture_layout_copy}:single"
    output = tmp_path / "signature"
    extra = [] if signature_format == "bundle" else ["--format", "legacy"]
    result = run_cli(["sign", ref, "--reference-name", NAME, "--output-signature", str(output), *extra,
                      *keyless_args(keyless_trust, oidc_issuer.token())])
    assert result.code == 0, result
    assert "tlog entry created with index:" in result.stderr
    if signature_format == "bundle":
        assert "Pushed bundle referrer" in result.stderr
        parsed = Bundle.parse(output.read_bytes())
        assert parsed.envelope is not None and parsed.has_certificate
        assert sigstore_js_verifies(keyless_trust, output, "-", "--identity", IDENTITY, "--issuer",
                                    oidc_issuer.url)["ok"] is True
    verify = ["verify", ref, "--trusted-root", str(keyless_trust["root"]), "--certificate-oidc-issuer",
              oidc_issuer.url]
    result = run_cli([*verify, "--certificate-identity", IDENTITY])
    assert result.code == 0, result
    assert "Verified OK" in result.stderr
    result = run_cli([*verify, "--certificate-identity", "https://ci.example.test/someone-else"])
    assert result.code == ExitCode.VERIFICATION_FAILED, result


def test_keyless_legacy_layer_carries_certificate_chain_and_rekor_bundle(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, fixture_layout_copy: Path):
    from supplychain.oci.attachment import AttachmentKind, attachment_tag

    layout = OciLayout(fixture_layout_copy)
    digest = layout.resolve("single").digest
    result = run_cli(["sign", f"oci:{fixture_layout_copy}:single", "--reference-name", NAME, "--format", "legacy",
                      *keyless_args(keyless_trust, oidc_issuer.token())])
    assert result.code == 0, result
    manifest = layout.get_manifest(layout.resolve(attachment_tag(digest, AttachmentKind.SIGNATURE)))
    annotations = manifest.layers[-1].annotations  # type: ignore[union-attr]
    assert annotations["dev.sigstore.cosign/certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert annotations["dev.sigstore.cosign/chain"].startswith("-----BEGIN CERTIFICATE-----")
    rekor = json.loads(annotations["dev.sigstore.cosign/bundle"])
    assert set(rekor) == {"SignedEntryTimestamp", "Payload"}


# -- sigstore-python signs through our log and the test CA ------------------------------------------------------------


def test_sigstore_python_signs_through_our_log_and_the_test_ca(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tlog_server: LogProcess, tmp_path: Path):
    blob = tmp_path / "artifact.txt"
    blob.write_bytes(b"TEST-ONLY artifact signed by sigstore-python\n")
    bundle = tmp_path / "artifact.txt.sigstore.json"
    config = trust_config(keyless_trust, tmp_path)
    done = subprocess.run([*SIGSTORE, "--trust-config", str(config), "sign", "--identity-token",
                           oidc_issuer.token(), "--bundle", str(bundle), str(blob)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done
    parsed = Bundle.parse(bundle.read_bytes())
    entry = parsed.tlog_entries[0]
    assert entry.log_id == tlog_server.keyring.logs[0].key.log_id  # logged in our tlog serve
    result = run_cli(["tlog", "get", "--rekor-url", tlog_server.url, "--rekor-public-key",
                      str(tlog_server.public_key_path), "--index", str(entry.log_index)])
    assert result.code == 0, result
    # and what sigstore-python made verifies in sigstore-js against the trust we wrote
    assert sigstore_js_verifies(keyless_trust, bundle, blob, "--identity", IDENTITY, "--issuer",
                                oidc_issuer.url)["ok"] is True


def test_signing_config_writer_is_read_by_sigstore_python(tlog_server: LogProcess, tmp_path: Path):
    from sigstore.models import SigningConfig

    path = tmp_path / "signing_config.json"
    path.write_bytes(build_signing_config(fulcio_url="http://127.0.0.1:1", rekor_urls=[tlog_server.url],
                                          tsa_urls=["http://127.0.0.1:2/api/v1/timestamp"],
                                          oidc_url="http://127.0.0.1:3"))
    parsed = SigningConfig.from_file(str(path))
    assert parsed.get_oidc_url() == "http://127.0.0.1:3"
    assert [client.url for client in parsed.get_tsas()] == ["http://127.0.0.1:2/api/v1/timestamp"]
    assert [client.url for client in parsed.get_tlogs()] == [f"{tlog_server.url}/api/v1"]
