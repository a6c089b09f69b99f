"""Our verifier on keyless bundles made offline by real peers (issue 11, "Tests without the internet"): ``sign-blob``
and ``sign`` keyless through ``@sigstore/mock``'s Fulcio (SCT from its CT log) and TSA and our ``tlog serve``, then
OUR ``verify-blob`` / ``verify`` against the trust ``trusted-root create`` wrote; sigstore-python's bundle through
the same services; our image bundle checked by sigstore-python and sigstore-js as a blob bundle of the manifest.

Each refusal has its own reason. Where the peers cannot make the bad bundle (they only ever issue good ones), the
test changes the TRUST instead of the bundle (a trusted root whose CT log, CA or TSA is missing or outside its
validity window), or runs a real log with a shifted clock (``InProcessLog(clock=...)``) so that the log's signed
integrated time falls outside the 10-minute certificate @sigstore/mock issues. Both reach the verifier's check on
real bytes: nothing in the bundle is forged.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import ExitCode
from supplychain.formats.bundle import Bundle
from supplychain.layout import OciLayout
from tests.integration.test_keyless import (
    NAME,
    SIGSTORE,
    keyless_args,
    sign_blob,
    sigstore_js_verifies,
    sigstore_python_verifies,
    trust_config,
)
from tests.support.fixture import fixture_path
from tests.support.oidc import IDENTITY, OidcIssuer
from tests.support.signatures import CliResult, run_cli
from tests.support.sigstore_js import run_node
from tests.support.sigstore_services import SigstoreServices
from tests.support.tlog import InProcessLog, LogProcess

pytestmark = pytest.mark.integration

PRODUCTION = fixture_path("vectors", "tlog", "sigstore-python", "trusted_root.production.json")
OTHER = "https://ci.example.test/someone-else"


def verify_blob(root: Path, blob: Path | str, bundle: Path, issuer: str, *extra: str,
                identity: str = IDENTITY) -> CliResult:
    return run_cli(["verify-blob", "--offline", "--bundle", str(bundle), "--trusted-root", str(root),
                    "--certificate-identity", identity, "--certificate-oidc-issuer", issuer, *extra, str(blob)],
                   env={"XDG_DATA_HOME": str(bundle.parent / "no-such-data-home")})


def edited_root(root: Path, directory: Path, name: str, edit: Callable[[dict[str, Any]], object]) -> Path:
    """A copy of the trusted root ``root`` changed by ``edit``."""
    document = json.loads(root.read_bytes())
    edit(document)
    path = directory / name
    path.write_text(json.dumps(document))
    return path


def refused(result: CliResult, reason: str) -> None:
    """Exit 1 (the answer is no), the reason on stderr, no "Verified OK", no traceback."""
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert reason in result.stderr, result
    assert "Verified OK" not in result.stderr and "Traceback" not in result.stderr, result


@pytest.fixture(scope="module")
def signed(keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A blob and its keyless bundle: certificate with SCT, our log's entry, the mock TSA's timestamp."""
    directory = tmp_path_factory.mktemp("keyless-verify")
    blob, bundle = directory / "artifact.txt", directory / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact for our verify-blob\n")
    result = sign_blob(keyless_trust, oidc_issuer.token(), blob, bundle)
    assert result.code == 0, result
    parsed = Bundle.parse(bundle.read_bytes())
    assert parsed.has_certificate and len(parsed.tlog_entries) == 1 and len(parsed.rfc3161_timestamps) == 1
    return blob, bundle


# -- 1. the round trip, ours both ways ----------------------------------------------------------------------------


def test_keyless_sign_blob_verifies_with_our_verify_blob_and_the_sct_check_runs(
        signed: tuple[Path, Path], keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tmp_path: Path):
    blob, bundle = signed
    root = keyless_trust["root"]
    result = verify_blob(root, blob, bundle, oidc_issuer.url)
    assert result.code == 0 and "Verified OK" in result.stderr, result
    # The SCT check really ran: without the mock CT log in the root the same bundle is refused for its SCT, and
    # --insecure-ignore-sct (cosign's opt-out) accepts it again.
    no_ctlog = edited_root(root, tmp_path, "no-ctlog.json", lambda d: d.update(ctlogs=[]))
    refused(verify_blob(no_ctlog, blob, bundle, oidc_issuer.url),
            "expected an SCT of a trusted CT log, got none that verifies")
    result = verify_blob(no_ctlog, blob, bundle, oidc_issuer.url, "--insecure-ignore-sct")
    assert result.code == 0 and "Verified OK" in result.stderr, result
    # and by digest, as cosign's verify-blob sha256:<hex>
    digest = "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()
    assert verify_blob(root, digest, bundle, oidc_issuer.url).code == 0


def test_keyless_sign_verifies_with_our_verify_and_the_sct_check_runs(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, fixture_layout_copy: Path, tmp_path: Path):
    ref = f"oci:{fixture_layout_copy}:single"
    result = run_cli(["sign", ref, "--reference-name", NAME, *keyless_args(keyless_trust, oidc_issuer.token())])
    assert result.code == 0, result
    verify = ["verify", ref, "--certificate-identity", IDENTITY, "--certificate-oidc-issuer", oidc_issuer.url]
    result = run_cli([*verify, "--trusted-root", str(keyless_trust["root"])])
    assert result.code == 0 and "Verified OK" in result.stderr, result
    no_ctlog = edited_root(keyless_trust["root"], tmp_path, "no-ctlog.json", lambda d: d.update(ctlogs=[]))
    refused(run_cli([*verify, "--trusted-root", str(no_ctlog)]),
            "expected an SCT of a trusted CT log, got none that verifies")
    result = run_cli([*verify, "--trusted-root", str(no_ctlog), "--insecure-ignore-sct"])
    assert result.code == 0 and "Verified OK" in result.stderr, result


# -- 2. each refusal with its own reason ----------------------------------------------------------------------------


def test_wrong_identity_and_wrong_issuer(signed: tuple[Path, Path], keyless_trust: dict[str, Path],
                                         oidc_issuer: OidcIssuer):
    blob, bundle = signed
    refused(verify_blob(keyless_trust["root"], blob, bundle, oidc_issuer.url, identity=OTHER),
            f"certificate: expected identity {OTHER}, got {IDENTITY}")
    refused(verify_blob(keyless_trust["root"], blob, bundle, "https://issuer.example.test"),
            f"certificate: expected OIDC issuer https://issuer.example.test, got {oidc_issuer.url}")


def test_a_certificate_without_an_sct_is_refused_unless_ignored(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, sigstore_services: SigstoreServices,
        tlog_server: LogProcess, tmp_path: Path):
    """The no-SCT CA is the same root: the certificate chains, and only the missing SCT refuses it. Our signer and
    sigstore-python refuse such a certificate at signing (test_keyless.py); sigstore-js signs with it."""
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.txt.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact with a certificate without SCT\n")
    done = run_node("sign-keyless.js", blob, sigstore_services.no_sct_fulcio_url, tlog_server.url,
                    oidc_issuer.token())
    made = json.loads(done.stdout or "{}")
    assert made.get("ok") is True, done
    bundle.write_text(json.dumps(made["bundle"]))
    refused(verify_blob(keyless_trust["root"], blob, bundle, oidc_issuer.url),
            "certificate: expected an embedded SCT from a trusted CT log in the signing certificate, got none "
            "(--insecure-ignore-sct skips this check)")
    result = verify_blob(keyless_trust["root"], blob, bundle, oidc_issuer.url, "--insecure-ignore-sct")
    assert result.code == 0 and "Verified OK" in result.stderr, result
    # the peers agree: both refuse it
    assert sigstore_js_verifies(keyless_trust, bundle, blob, "--identity", IDENTITY, "--issuer",
                                oidc_issuer.url)["ok"] is False
    assert sigstore_python_verifies(keyless_trust, bundle, blob, oidc_issuer.url, tmp_path).returncode != 0


@pytest.fixture
def shifted_log(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[InProcessLog]:
    """A real log (``LocalLog`` behind ``RekorHttpServer``) whose clock is ``request.param`` seconds off."""
    offset: float = request.param
    log = InProcessLog(tmp_path / "shifted-log", clock=lambda: time.time() + offset)
    yield log
    log.server.shutdown()
    log.server.server_close()


@pytest.mark.parametrize("shifted_log", [3600.0, -3600.0], indirect=True, ids=["expired", "not-yet-valid"])
def test_a_certificate_outside_the_logs_integrated_time_is_refused(
        shifted_log: InProcessLog, sigstore_services: SigstoreServices, oidc_issuer: OidcIssuer, tmp_path: Path):
    """@sigstore/mock's certificates are valid 10 minutes from issue; the log's signed integrated time is an hour
    after (the certificate had expired when it was logged) or before (not yet valid). No TSA: the integrated
    time is the only trusted time."""
    key = tmp_path / "shifted-log.pub"
    key.write_bytes(shifted_log.directory.public_key_pem())
    trust = sigstore_services.write_trust(tmp_path / "trust", rekor_url=shifted_log.url, rekor_key=key,
                                          oidc_url=oidc_issuer.url, tsa=False)
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact logged at the wrong time\n")
    # Our signer takes the log's answer as it comes (as sigstore-python does); the verifier is where it is judged.
    result = sign_blob(trust, oidc_issuer.token(), blob, bundle)
    assert result.code == 0, result
    # The root's CA window is widened back to 2020 so that the check reached is the certificate's own validity
    # (notBefore/notAfter) at the log's time, not the CA's window in the trusted root.
    root = edited_root(trust["root"], tmp_path, "wide-ca.json", lambda d: d["certificateAuthorities"][0].update(
        validFor={"start": "2020-01-01T00:00:00Z"}))
    refused(verify_blob(root, blob, bundle, oidc_issuer.url),
            "(the log's integratedTime), got: sigstore.mock sigstore")
    refused(verify_blob(root, blob, bundle, oidc_issuer.url), "cert is not valid at validation time")


@pytest.fixture
def late_tsa() -> Iterator[SigstoreServices]:
    """A second @sigstore/mock process whose TSA's clock is an hour ahead (its CA is not used)."""
    services = SigstoreServices.start(tsa_clock_offset=3600)
    yield services
    services.close()


def test_a_certificate_outside_the_timestamps_time_is_refused(
        keyless_trust: dict[str, Path], sigstore_services: SigstoreServices, late_tsa: SigstoreServices,
        tlog_server: LogProcess, oidc_issuer: OidcIssuer, tmp_path: Path):
    """The certificate (10 minutes) is valid at the log's integrated time, but the trusted timestamp, from a TSA
    whose clock is an hour ahead, is after it expired: every trusted time must be inside the certificate's
    validity, so the bundle is refused for the timestamp's time."""
    trust = sigstore_services.write_trust(tmp_path / "trust", rekor_url=tlog_server.url,
                                          rekor_key=tlog_server.public_key_path, oidc_url=oidc_issuer.url)
    late_chain = tmp_path / "late-tsa-chain.pem"
    late_chain.write_text(late_tsa.tsa_chain_pem)
    created = run_cli(["trusted-root", "create", "--certificate-chain", str(trust["ca"]), "--fulcio-uri",
                       sigstore_services.fulcio_url, "--ctfe-key", str(trust["ctfe"]), "--ctfe-url",
                       f"{sigstore_services.url}/ct", "--rekor-key", str(tlog_server.public_key_path),
                       "--rekor-url", tlog_server.url, "--timestamp-certificate-chain", str(late_chain),
                       "--timestamp-uri", late_tsa.tsa_url, "--out", str(trust["root"])])
    assert created.code == 0, created
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact timestamped late\n")
    result = sign_blob(trust, oidc_issuer.token(), blob, bundle, "--timestamp-server-url", late_tsa.tsa_url)
    assert result.code == 0, result
    assert len(Bundle.parse(bundle.read_bytes()).rfc3161_timestamps) == 1
    result = verify_blob(trust["root"], blob, bundle, oidc_issuer.url)
    refused(result, "(RFC 3161 timestamp of sigstore.mock tsa signing), got: sigstore.mock sigstore")
    refused(result, "cert is not valid at validation time")
    # sigstore-js agrees (it checks the certificate at every timestamp's time)
    verdict = sigstore_js_verifies(trust, bundle, blob, "--identity", IDENTITY, "--issuer", oidc_issuer.url)
    assert verdict == {"ok": False, "error": "CERTIFICATE_ERROR: Failed to verify certificate chain"}, verdict


def test_a_certificate_outside_its_cas_validity_window_is_refused(
        signed: tuple[Path, Path], keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tmp_path: Path):
    """The trusted root says the CA only issued until a year ago: a certificate from it now is refused."""
    blob, bundle = signed

    def retire(document: dict[str, Any]) -> None:
        for ca in document["certificateAuthorities"]:
            ca["validFor"] = {"start": "2020-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}

    refused(verify_blob(edited_root(keyless_trust["root"], tmp_path, "retired-ca.json", retire), blob, bundle,
                        oidc_issuer.url), "certificate: expected a certificate from a certificate authority valid at ")


def test_a_timestamp_outside_the_tsas_validity_window_is_refused(
        signed: tuple[Path, Path], keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tmp_path: Path):
    """The mock TSA's timestamp is of now; the trusted root says that TSA only starts in 2030."""
    blob, bundle = signed

    def future(document: dict[str, Any]) -> None:
        for tsa in document["timestampAuthorities"]:
            tsa["validFor"] = {"start": "2030-01-01T00:00:00Z"}

    result = verify_blob(edited_root(keyless_trust["root"], tmp_path, "future-tsa.json", future), blob, bundle,
                         oidc_issuer.url)
    refused(result, "RFC 3161 timestamp 0: expected a timestamp signed by a trusted timestamp authority over the "
                    "signature, got one that none verifies")
    refused(result, "expected a time inside its validity window 2030-01-01T00:00:00Z .. (open), got ")


def test_a_timestamp_of_a_tsa_not_in_the_trusted_root_is_refused(
        signed: tuple[Path, Path], keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tmp_path: Path):
    """Sigstore production's TSA instead of the mock one: the bundle's timestamp is from an untrusted authority."""
    blob, bundle = signed
    production = json.loads(PRODUCTION.read_bytes())

    def swap(document: dict[str, Any]) -> None:
        document["timestampAuthorities"] = production["timestampAuthorities"]

    refused(verify_blob(edited_root(keyless_trust["root"], tmp_path, "other-tsa.json", swap), blob, bundle,
                        oidc_issuer.url), "RFC 3161 timestamp 0: expected a timestamp signed by a trusted timestamp "
                                          "authority")


def test_our_keyless_bundle_against_sigstores_production_root_is_refused(
        signed: tuple[Path, Path], oidc_issuer: OidcIssuer):
    """The other side of the staging-bundle-against-production vector (tests/unit/cli/test_verify_blob.py): a
    bundle of another instance names a log the root does not trust."""
    blob, bundle = signed
    entry = Bundle.parse(bundle.read_bytes()).tlog_entries[0]  # the session's log: any index
    refused(verify_blob(PRODUCTION, blob, bundle, oidc_issuer.url),
            f"tlog: entry {entry.log_index}: no trusted key for log {entry.log_id.hex()}; trusted logs: ")


# -- 3. the peers: sigstore-python signs, and both accept our image bundle --------------------------------------


def test_sigstore_pythons_keyless_bundle_verifies_with_our_verify_blob(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, tmp_path: Path):
    blob, bundle = tmp_path / "artifact.txt", tmp_path / "artifact.txt.sigstore.json"
    blob.write_bytes(b"TEST-ONLY artifact signed by sigstore-python for our verify-blob\n")
    done = subprocess.run([*SIGSTORE, "--trust-config", str(trust_config(keyless_trust, tmp_path)), "sign",
                           "--identity-token", oidc_issuer.token(), "--bundle", str(bundle), str(blob)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done
    result = verify_blob(keyless_trust["root"], blob, bundle, oidc_issuer.url)
    assert result.code == 0 and "Verified OK" in result.stderr, result
    refused(verify_blob(keyless_trust["root"], blob, bundle, oidc_issuer.url, identity=OTHER), OTHER)


def test_our_keyless_image_bundle_verifies_in_sigstore_python_and_sigstore_js(
        keyless_trust: dict[str, Path], oidc_issuer: OidcIssuer, fixture_layout_copy: Path, tmp_path: Path):
    """The bundle referrer's layer, read back from the layout, is a DSSE bundle whose in-toto statement names the
    manifest's digest: the peers check it as a blob bundle of the manifest's bytes."""
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    result = run_cli(["sign", f"oci:{fixture_layout_copy}:single", "--reference-name", NAME,
                      *keyless_args(keyless_trust, oidc_issuer.token())])
    assert result.code == 0, result
    (referrer,) = layout.referrers(subject.digest)
    manifest = layout.get_manifest(referrer)
    bundle = tmp_path / "image.sigstore.json"
    bundle.write_bytes(layout.get_blob(manifest.layers[0]))  # type: ignore[union-attr]
    assert Bundle.parse(bundle.read_bytes()).envelope is not None
    manifest_bytes = tmp_path / "manifest.json"
    manifest_bytes.write_bytes(layout.get_blob(subject))

    done = sigstore_python_verifies(keyless_trust, bundle, manifest_bytes, oidc_issuer.url, tmp_path)
    assert done.returncode == 0 and "OK" in done.stderr, done
    done = sigstore_python_verifies(keyless_trust, bundle, manifest_bytes, oidc_issuer.url, tmp_path,
                                    identity=OTHER)
    assert done.returncode != 0, done
    verdict = sigstore_js_verifies(keyless_trust, bundle, manifest_bytes, "--identity", IDENTITY, "--issuer",
                                   oidc_issuer.url)
    assert verdict["ok"] is True, verdict
    # and ours, as a blob bundle of the manifest
    result = verify_blob(keyless_trust["root"], manifest_bytes, bundle, oidc_issuer.url)
    assert result.code == 0, result
