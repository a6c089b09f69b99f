"""Keyless attestations (issue 11, items 1 and 5) and ``verify-blob-attestation``, offline.

``attest`` and ``attest-blob`` without ``--key`` sign through the same services as keyless ``sign``: a TEST-ONLY
OIDC issuer, ``@sigstore/mock``'s Fulcio (certificates with an SCT) and TSA, our ``tlog serve`` as the Rekor. What we
write is checked by sigstore-js (``@sigstore/verify``: chain, SCT, log entry, identity) and sigstore-python
(``sigstore verify identity --offline``), and by our own ``verify-attestation`` / ``verify-blob-attestation``.
``verify-blob-attestation`` is also fed what sigstore-js signs (a DSSE bundle of an SLSA statement, with a key).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest

from supplychain.digest import Digest
from supplychain.errors import ExitCode
from supplychain.formats.bundle import Bundle
from supplychain.formats.intoto import build_statement, predicate_type_for
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from tests.integration.test_keyless import keyless_args, sigstore_js_verifies, sigstore_python_verifies
from tests.support.oidc import IDENTITY, OidcIssuer
from tests.support.signatures import CliResult, new_key, run_cli
from tests.support.sigstore_js import sign_bundle, write_node_key
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
SLSA1 = predicate_type_for("slsaprovenance1")
PROVENANCE = {"buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {}},
              "runDetails": {"builder": {"id": "https://example.com/TEST-ONLY-builder"}}}
PASSWORD = "TEST-ONLY-attest-keyless"


def cli(*args: str) -> CliResult:
    return run_cli(list(args), env={"SUPPLYCHAIN_REKOR_URL": None, "SUPPLYCHAIN_PASSWORD": PASSWORD})


@pytest.fixture
def predicate(tmp_path: Path) -> Path:
    path = tmp_path / "provenance.json"
    path.write_text(json.dumps(PROVENANCE))
    return path


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "app.tar.gz"
    path.write_bytes(b"TEST-ONLY artifact attested keyless\n")
    return path


def identity_flags(trust: dict[str, Path], issuer: str, identity: str = IDENTITY) -> list[str]:
    return ["--trusted-root", str(trust["root"]), "--certificate-identity", identity,
            "--certificate-oidc-issuer", issuer]


# -- attest (an image), keyless -------------------------------------------------------------------------------------


@pytest.mark.parametrize("attestation_format", ["bundle", "legacy"])
def test_keyless_attest_verifies_with_our_verify_attestation(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tlog_server: LogProcess, fixture_layout_copy: Path,
        predicate: Path, attestation_format: str):
    ref = f"oci:{fixture_layout_copy}:single"
    made = cli("attest", ref, "--reference-name", NAME, "--type", "slsaprovenance1", "--predicate", str(predicate),
               "--format", attestation_format, *keyless_args(keyless_trust, oidc_issuer.token()))
    assert made.code == 0, made
    assert f"signing as {IDENTITY}" in made.stderr and "tlog entry created with index:" in made.stderr

    verify = ["verify-attestation", ref, "--type", "slsaprovenance1"]
    passed = cli(*verify, *identity_flags(keyless_trust, oidc_issuer.url))
    assert passed.code == 0, passed
    (envelope,) = [json.loads(line) for line in passed.stdout.splitlines()]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    assert statement["predicateType"] == SLSA1 and statement["predicate"] == PROVENANCE
    assert statement["subject"] == [{"name": NAME, "digest": {"sha256": digest.hex}}]

    wrong_identity = cli(*verify, *identity_flags(keyless_trust, oidc_issuer.url, "https://ci.example.test/other"))
    assert wrong_identity.code == ExitCode.VERIFICATION_FAILED, wrong_identity
    assert "https://ci.example.test/other" in wrong_identity.stderr
    other_type = cli("verify-attestation", ref, "--type", "cyclonedx", *identity_flags(keyless_trust, oidc_issuer.url))
    assert other_type.code == ExitCode.VERIFICATION_FAILED and SLSA1 in other_type.stderr, other_type

    if attestation_format == "legacy":  # cosign's keyless .att layer: certificate, chain and Rekor bundle annotations
        layout = OciLayout(fixture_layout_copy)
        manifest = layout.get_manifest(layout.resolve(attachment_tag(digest, AttachmentKind.ATTESTATION)))
        annotations = manifest.layers[-1].annotations  # type: ignore[union-attr]
        assert annotations["dev.sigstore.cosign/certificate"].startswith("-----BEGIN CERTIFICATE-----")
        assert annotations["dev.sigstore.cosign/chain"].startswith("-----BEGIN CERTIFICATE-----")
        assert set(json.loads(annotations["dev.sigstore.cosign/bundle"])) == {"SignedEntryTimestamp", "Payload"}
        assert annotations["predicateType"] == SLSA1


def test_keyless_attestation_bundle_verifies_in_sigstore_js(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tlog_server: LogProcess, fixture_layout_copy: Path,
        predicate: Path, tmp_path: Path):
    made = cli("attest", f"oci:{fixture_layout_copy}:single", "--reference-name", NAME, "--type", "slsaprovenance1",
               "--predicate", str(predicate), "--no-upload", *keyless_args(keyless_trust, oidc_issuer.token()))
    assert made.code == 0, made
    bundle = tmp_path / "attestation.sigstore.json"
    bundle.write_text(made.stdout)
    parsed = Bundle.parse(bundle.read_bytes())
    assert parsed.version == 3 and parsed.has_certificate and parsed.envelope is not None
    assert parsed.tlog_entries[0].kind_version is not None and parsed.tlog_entries[0].kind_version.kind == "dsse"
    verdict = sigstore_js_verifies(keyless_trust, bundle, "-", "--identity", IDENTITY, "--issuer", oidc_issuer.url)
    assert verdict["ok"] is True, verdict
    other = sigstore_js_verifies(keyless_trust, bundle, "-", "--identity", "https://ci.example.test/other",
                                 "--issuer", oidc_issuer.url)
    assert other["ok"] is False


def test_keyless_attest_refuses_what_it_cannot_honour(keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer,
                                                      fixture_layout_copy: Path, predicate: Path, tmp_path: Path):
    ref = f"oci:{fixture_layout_copy}:single"
    base = ["attest", ref, "--reference-name", NAME, "--type", "slsaprovenance1", "--predicate", str(predicate)]
    unlogged = cli(*base, "--tlog-upload=false", *keyless_args(keyless_trust, oidc_issuer.token()))
    assert unlogged.code == ExitCode.USAGE and "never made without a transparency-log entry" in unlogged.stderr
    prefix = tmp_path / "cosign"
    assert cli("generate-key-pair", "--output-key-prefix", str(prefix)).code == 0
    both = cli(*base, "--key", f"{prefix}.key", "--identity-token", oidc_issuer.token())
    assert both.code == ExitCode.USAGE and "--identity-token: keyless options, not with --key" in both.stderr
    expired = cli(*base, *keyless_args(keyless_trust, oidc_issuer.token(issued=int(time.time()) - 900)))
    assert expired.code == ExitCode.AUTH and "expired" in expired.stderr, expired
    assert "Traceback" not in unlogged.stderr + both.stderr + expired.stderr
    layout = OciLayout(fixture_layout_copy)
    digest = layout.resolve("single").digest
    assert attachment_tag(digest, AttachmentKind.ATTESTATION) not in set(layout.tags())  # nothing was written


# -- attest-blob, keyless, and verify-blob-attestation ----------------------------------------------------------------


def test_keyless_attest_blob_verifies_in_ours_sigstore_python_and_sigstore_js(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tlog_server: LogProcess, artifact: Path,
        predicate: Path, tmp_path: Path):
    bundle = tmp_path / "app.tar.gz.sigstore.json"
    made = cli("attest-blob", str(artifact), "--type", "slsaprovenance1", "--predicate", str(predicate), "--bundle",
               str(bundle), *keyless_args(keyless_trust, oidc_issuer.token()))
    assert made.code == 0, made
    parsed = Bundle.parse(bundle.read_bytes())
    assert parsed.has_certificate and parsed.envelope is not None and len(parsed.rfc3161_timestamps) == 1

    verify = ["verify-blob-attestation", "--bundle", str(bundle), *identity_flags(keyless_trust, oidc_issuer.url)]
    passed = cli(*verify, "--type", "slsaprovenance1", str(artifact))
    assert passed.code == 0 and passed.stderr.strip().splitlines()[-1] == "Verified OK", passed
    by_uri = cli(*verify, "--type", SLSA1, str(Digest.of(artifact.read_bytes())))
    assert by_uri.code == 0, by_uri
    wrong_type = cli(*verify, "--type", "cyclonedx", str(artifact))
    assert wrong_type.code == ExitCode.VERIFICATION_FAILED and SLSA1 in wrong_type.stderr, wrong_type
    other = tmp_path / "other.tar.gz"
    other.write_bytes(b"another file\n")
    wrong_file = cli(*verify, "--type", "slsaprovenance1", str(other))
    assert wrong_file.code == ExitCode.VERIFICATION_FAILED and "error: " in wrong_file.stderr, wrong_file
    # verify-blob accepts any statement about the file; the attestation is one
    assert cli("verify-blob", "--bundle", str(bundle), *identity_flags(keyless_trust, oidc_issuer.url),
               str(artifact)).code == 0

    done = sigstore_python_verifies(keyless_trust, bundle, artifact, oidc_issuer.url, tmp_path)
    assert done.returncode == 0 and "OK" in done.stderr, done
    verdict = sigstore_js_verifies(keyless_trust, bundle, "-", "--identity", IDENTITY, "--issuer", oidc_issuer.url)
    assert verdict["ok"] is True, verdict


def test_verify_blob_attestation_with_a_key(sigstore_js: Path, tlog_server: LogProcess, artifact: Path,
                                            predicate: Path, tmp_path: Path):
    prefix = tmp_path / "cosign"
    assert cli("generate-key-pair", "--output-key-prefix", str(prefix)).code == 0
    key, public = f"{prefix}.key", f"{prefix}.pub"
    trust = ["--rekor-public-key", str(tlog_server.public_key_path)]
    ours = tmp_path / "ours.sigstore.json"
    assert cli("attest-blob", str(artifact), "--key", key, "--type", "slsaprovenance1", "--predicate", str(predicate),
               "--bundle", str(ours), "--rekor-url", tlog_server.url).code == 0
    verify = ["verify-blob-attestation", "--key", public, *trust]
    assert cli(*verify, "--bundle", str(ours), "--type", "slsaprovenance1", str(artifact)).code == 0
    wrong_type = cli(*verify, "--bundle", str(ours), "--type", "https://example.com/other/v1", str(artifact))
    assert wrong_type.code == ExitCode.VERIFICATION_FAILED and SLSA1 in wrong_type.stderr, wrong_type

    # a sign-blob bundle is a message signature: verify-blob's, never an attestation
    message = tmp_path / "message.sigstore.json"
    assert cli("sign-blob", str(artifact), "--key", key, "--bundle", str(message),
               "--rekor-url", tlog_server.url).code == 0
    refused = cli(*verify, "--bundle", str(message), "--type", "slsaprovenance1", str(artifact))
    assert refused.code == ExitCode.VERIFICATION_FAILED and "got a message signature" in refused.stderr, refused
    assert "Traceback" not in refused.stderr

    # what sigstore-js signs (@sigstore/sign: a DSSE bundle of an SLSA statement, logged in our log) verifies
    node_key, node_public = write_node_key(new_key("ecdsa-p256"), tmp_path)
    statement = tmp_path / "statement.json"
    statement.write_bytes(build_statement(artifact.name, Digest("sha256", hashlib.sha256(artifact.read_bytes())
                                                                .hexdigest()), predicate_type=SLSA1,
                                          predicate=PROVENANCE))
    theirs = tmp_path / "theirs.sigstore.json"
    theirs.write_text(json.dumps(sign_bundle("dsse", statement, node_key, node_public, tlog_server.url,
                                             directory=sigstore_js)))
    js_verify = ["verify-blob-attestation", "--key", str(node_public), *trust, "--bundle", str(theirs)]
    assert cli(*js_verify, "--type", "slsaprovenance1", str(artifact)).code == 0
    assert cli(*js_verify, "--type", "spdxjson", str(artifact)).code == ExitCode.VERIFICATION_FAILED
