"""``verify-blob`` against every third-party Sigstore bundle of the vectors, offline, with the outcome the reference
tools give (``../shared/vectors/NOTES-sigstore-merkle-keys.md``, "Expected outcomes of other bundles": sigstore-python
4.5.1, embedded roots, no identity policy), and each bad input the issue lists, with its ``error:``, ``hint:`` and
exit status.

The bundles and the artifacts they sign are copies in ``fixtures/vectors/tlog/`` (sources in its README);
``fixtures/sigstore/make_tsa_root.py`` writes the trusted roots of the RFC 3161 vectors. "No identity policy" is
``--certificate-identity-regexp . --certificate-oidc-issuer-regexp .`` (the flags are mandatory for certificates).
An artifact missing from the vectors is named by the digest its bundle signs (``sha256:<hex>``).
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.formats.jcs import canonical_json
from tests.support.fixture import fixture_path
from tests.support.signatures import CliResult, run_cli

VECTORS = fixture_path("vectors", "tlog")
PYTHON = VECTORS / "sigstore-python"
STAGING = PYTHON / "trusted_root.staging.json"
PRODUCTION = PYTHON / "trusted_root.production.json"
TSA_ROOT = fixture_path("sigstore", "tsa_trusted_root.json")
LATE_TSA_ROOT = fixture_path("sigstore", "late_tsa_trusted_root.json")
ANY_IDENTITY = ["--certificate-identity-regexp", ".", "--certificate-oidc-issuer-regexp", "."]
VERIFIED = 0
REFUSED = 1
INVALID = 3


def verify_blob(artifact: str | Path, bundle: Path, *extra: str, root: Path | None = STAGING,
                identity: list[str] = ANY_IDENTITY) -> CliResult:
    trust = ["--trusted-root", str(root)] if root is not None else []
    # No local default log: the embedded log of this machine's user is not part of these vectors' trust.
    return run_cli(["verify-blob", "--offline", "--bundle", str(bundle), *trust, *identity, *extra, str(artifact)],
                   env={"XDG_DATA_HOME": str(bundle.parent / "no-such-data-home")})


@dataclass(frozen=True)
class Vector:
    bundle: str  # under fixtures/vectors/tlog/
    artifact: str  # a file there, or sha256:<hex>
    root: Path
    code: int
    reason: str = ""  # a part of the error line that names why it fails


def sha256_of_statement(bundle: str) -> str:
    statement = json.loads(base64.b64decode(json.loads((VECTORS / bundle).read_bytes())["dsseEnvelope"]["payload"]))
    return "sha256:" + statement["subject"][0]["digest"]["sha256"]


def sha256_of_message(bundle: str) -> str:
    digest = json.loads((VECTORS / bundle).read_bytes())["messageSignature"]["messageDigest"]["digest"]
    return "sha256:" + base64.b64decode(digest).hex()


P = "sigstore-python/"
VECTOR_CASES = [
    # staging OK
    Vector(P + "bundle.txt.sigstore", P + "bundle.txt", STAGING, VERIFIED),
    Vector(P + "bundle_v3.txt.sigstore", P + "bundle_v3.txt", STAGING, VERIFIED),
    Vector(P + "bundle_v3_alt.txt.sigstore", P + "bundle_v3_alt.txt", STAGING, VERIFIED),
    Vector(P + "staging-rekor-v2.txt.sigstore.json", P + "staging-rekor-v2.txt", STAGING, VERIFIED),
    # a.txt is not the subject of this statement: the digest it names (sha256:a0cfc7...) stands for the artifact.
    Vector(P + "a.dsse.staging-rekor-v2.txt.sigstore.json", sha256_of_statement(P + "a.dsse.staging-rekor-v2.txt"
                                                                                    ".sigstore.json"),
           STAGING, VERIFIED),
    Vector(P + "integration/bundle_v3.txt.sigstore", P + "integration/bundle_v3.txt", STAGING, VERIFIED),
    Vector(P + "tsa/bundle.txt.sigstore", P + "tsa/bundle.txt", TSA_ROOT, VERIFIED),
    # production OK
    Vector(P + "bundle_v3_github.whl.sigstore", P + "bundle_v3_github.whl", PRODUCTION, VERIFIED),
    Vector("sigstore-rs/bundle_v03.json", sha256_of_statement("sigstore-rs/bundle_v03.json"), PRODUCTION, VERIFIED),
    Vector("cosign/oci-attestation.sigstore.json", sha256_of_statement("cosign/oci-attestation.sigstore.json"),
           PRODUCTION, VERIFIED),
    # must fail, each for its reason
    Vector(P + "bundle_cve_2022_36056.txt.sigstore", P + "bundle_cve_2022_36056.txt", STAGING, REFUSED,
           "expected the entry to record the signature being verified, got another signature"),
    Vector(P + "bundle_invalid_version.txt.sigstore", P + "bundle_invalid_version.txt", STAGING, INVALID,
           "is not a Sigstore bundle v0.1 to v0.3's"),
    Vector(P + "bundle_no_cert_v1.txt.sigstore", P + "bundle_no_cert_v1.txt", STAGING, INVALID,
           "bundle certificate material is malformed"),
    Vector(P + "bundle_no_checkpoint.txt.sigstore", P + "bundle_no_checkpoint.txt", STAGING, REFUSED,
           "inclusionProof of a v0.2 bundle has no checkpoint"),
    Vector(P + "bundle_no_log_entry.txt.sigstore", P + "bundle_no_log_entry.txt", STAGING, REFUSED,
           "expected a transparency-log entry in the bundle's verificationMaterial.tlogEntries, got none"),
    Vector(P + "bundle_v3_no_signed_time.txt.sigstore.json", P + "bundle_v3_no_signed_time.txt", PRODUCTION, REFUSED,
           "expected a signed time to check the certificate at, got none"),
    # The tarball is not in the vectors: its digest, as the bundle names it.
    Vector(P + "integration/Python-3.12.5.tgz.sigstore", sha256_of_message(P + "integration/Python-3.12.5.tgz"
                                                                                ".sigstore"),
           PRODUCTION, REFUSED, "the inclusion proof has no checkpoint, so nothing signed its root hash"),
    Vector(P + "tsa/bundle.txt.late_timestamp.sigstore", P + "tsa/bundle.txt", LATE_TSA_ROOT, REFUSED,
           "(RFC 3161 timestamp of sigstore.dev sigstore-tsa-selfsigned), got: sigstore.dev sigstore"),
    Vector(P + "tsa/bundle.duplicate.sigstore", P + "tsa/bundle.txt", TSA_ROOT, REFUSED,
           "expected distinct RFC 3161 timestamps, got a duplicate"),
    Vector(P + "tsa/bundle.many_timestamp.sigstore", P + "tsa/bundle.txt", TSA_ROOT, INVALID,
           "rfc3161Timestamps must be a list of at most 32"),
    Vector("sigstore-go/dsse-2sigs.sigstore.json", "sha256:" + "0" * 64, PRODUCTION, REFUSED,
           "expected exactly 1 DSSE signature, got 2"),
]


def artifact_argument(artifact: str) -> str:
    return artifact if artifact.startswith("sha256:") else str(VECTORS / artifact)


@pytest.mark.parametrize("vector", VECTOR_CASES, ids=[v.bundle for v in VECTOR_CASES])
def test_vector_gives_its_expected_outcome_offline(vector: Vector):
    result = verify_blob(artifact_argument(vector.artifact), VECTORS / vector.bundle, root=vector.root)
    assert result.code == vector.code, result
    if vector.code == VERIFIED:
        assert result.stderr.strip().splitlines()[-1] == "Verified OK", result
        assert result.stdout == ""
    else:
        lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")]
        assert lines[0].startswith("error: ") and vector.reason in lines[0], result
        assert lines[1].startswith("hint: "), result
        assert "Traceback" not in result.stderr and "Verified OK" not in result.stderr


def test_the_vectors_pass_and_fail_with_the_exact_identity():
    """The identity flags are checked, not just present: the exact SAN and issuer pass, another SAN fails."""
    artifact, bundle = PYTHON / "bundle_v3.txt", PYTHON / "bundle_v3.txt.sigstore"
    exact = ["--certificate-identity", "william@yossarian.net", "--certificate-oidc-issuer",
             "https://github.com/login/oauth"]
    assert verify_blob(artifact, bundle, identity=exact).code == VERIFIED
    other = verify_blob(artifact, bundle, identity=["--certificate-identity", "mallory@example.com",
                                                    "--certificate-oidc-issuer", "https://github.com/login/oauth"])
    assert other.code == REFUSED
    assert "expected identity mallory@example.com, got william@yossarian.net" in other.stderr
    issuer = verify_blob(artifact, bundle, identity=["--certificate-identity", "william@yossarian.net",
                                                     "--certificate-oidc-issuer", "https://accounts.google.com"])
    assert issuer.code == REFUSED and "expected OIDC issuer https://accounts.google.com" in issuer.stderr


def test_github_workflow_claims():
    """cosign's --certificate-github-workflow-* flags compare Fulcio's workflow extensions."""
    artifact, bundle = PYTHON / "bundle_v3_github.whl", PYTHON / "bundle_v3_github.whl.sigstore"
    good = ["--certificate-github-workflow-repository", "trailofbits/rfc8785.py",
            "--certificate-github-workflow-trigger", "release", "--certificate-github-workflow-ref", "refs/tags/v0.1.2"]
    assert verify_blob(artifact, bundle, *good, root=PRODUCTION).code == VERIFIED
    bad = verify_blob(artifact, bundle, "--certificate-github-workflow-repository", "mallory/rfc8785.py",
                      root=PRODUCTION)
    assert bad.code == REFUSED
    assert ("expected the certificate's GitHub workflow repository (1.3.6.1.4.1.57264.1.5) 'mallory/rfc8785.py', "
            "got 'trailofbits/rfc8785.py'") in bad.stderr


def test_the_embedded_production_root_is_the_default():
    result = verify_blob(PYTHON / "bundle_v3_github.whl", PYTHON / "bundle_v3_github.whl.sigstore", root=None)
    assert result.code == VERIFIED, result


# -- certificate transparency ---------------------------------------------------------------------------------


def root_without_ctlogs(tmp_path: Path) -> Path:
    doc = json.loads(STAGING.read_bytes())
    doc["ctlogs"] = []
    path = tmp_path / "no-ct-logs.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_certificate_without_an_sct_of_a_trusted_ct_log_is_refused(tmp_path: Path):
    """The Fulcio certificate's SCT is of a CT log the root does not list: refused; --insecure-ignore-sct opts out."""
    artifact, bundle = PYTHON / "bundle_v3.txt", PYTHON / "bundle_v3.txt.sigstore"
    root = root_without_ctlogs(tmp_path)
    refused = verify_blob(artifact, bundle, root=root)
    assert refused.code == REFUSED
    assert "expected an SCT of a trusted CT log, got none that verifies: SCT 0: log " in refused.stderr
    assert "is not a trusted CT log" in refused.stderr
    assert verify_blob(artifact, bundle, "--insecure-ignore-sct", root=root).code == VERIFIED


def test_an_sct_whose_log_key_window_excludes_it_is_refused(tmp_path: Path):
    doc = json.loads(STAGING.read_bytes())
    for log in doc["ctlogs"]:
        log["publicKey"]["validFor"] = {"start": "2030-01-01T00:00:00Z"}
    root = tmp_path / "future-ct-logs.json"
    root.write_text(json.dumps(doc))
    refused = verify_blob(PYTHON / "bundle_v3.txt", PYTHON / "bundle_v3.txt.sigstore", root=root)
    assert refused.code == REFUSED and "is outside the CT log key's validity window" in refused.stderr, refused


def test_image_verify_has_the_sct_opt_out():
    result = run_cli(["verify", "--help"])
    assert "--insecure-ignore-sct" in result.stdout


# -- thresholds ------------------------------------------------------------------------------------------------


def test_thresholds_count_distinct_logs_and_authorities(tmp_path: Path):
    """Two copies of one entry are one log, two timestamps of one TSA one authority (CVE-2026-49834)."""
    artifact = PYTHON / "tsa" / "bundle.txt"
    doc = json.loads((PYTHON / "tsa" / "bundle.txt.sigstore").read_bytes())
    doc["verificationMaterial"]["tlogEntries"] *= 2
    bundle = tmp_path / "twice.sigstore"
    bundle.write_text(json.dumps(doc))
    assert verify_blob(artifact, bundle, root=TSA_ROOT).code == VERIFIED
    logs = verify_blob(artifact, bundle, "--tlog-threshold", "2", root=TSA_ROOT)
    assert logs.code == REFUSED
    assert "expected verified entries from 2 distinct trusted logs, got 1 (entries of one log count once)" \
        in logs.stderr
    # The bundle has a SET-signed time (one log) and one timestamp of the test TSA that verifies: two sources.
    assert verify_blob(artifact, bundle, "--timestamp-threshold", "2", root=TSA_ROOT).code == VERIFIED
    times = verify_blob(artifact, bundle, "--timestamp-threshold", "3", root=TSA_ROOT)
    assert times.code == REFUSED
    assert "expected trusted times from 3 distinct sources (logs and timestamp authorities), got 2" in times.stderr


# -- bad input ---------------------------------------------------------------------------------------------------


def edited(tmp_path: Path, source: Path, change: Any) -> Path:
    doc = json.loads(source.read_bytes())
    change(doc)
    path = tmp_path / f"edited-{source.name}"
    path.write_text(json.dumps(doc))
    return path


def assert_error(result: CliResult, code: int, reason: str) -> None:
    assert result.code == code, result
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 2, result
    assert lines[0].startswith("error: ") and reason in lines[0], result
    assert lines[1].startswith("hint: ") and len(lines[1]) > len("hint: "), result


V3 = PYTHON / "bundle_v3.txt.sigstore"
V3_ARTIFACT = PYTHON / "bundle_v3.txt"


def first_entry(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = doc["verificationMaterial"]["tlogEntries"][0]
    return entry


def test_malformed_json(tmp_path: Path):
    bundle = tmp_path / "bad.json"
    bundle.write_text('{"mediaType": ')
    assert_error(verify_blob(V3_ARTIFACT, bundle), INVALID, "bundle is not valid JSON")


def test_unknown_bundle_version(tmp_path: Path):
    bundle = edited(tmp_path, V3, lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle.v0.9+json"))
    assert_error(verify_blob(V3_ARTIFACT, bundle), INVALID, "is not a Sigstore bundle v0.1 to v0.3's")


def test_bad_base64(tmp_path: Path):
    bundle = edited(tmp_path, V3, lambda d: d["messageSignature"].update(signature="not base64!"))
    assert_error(verify_blob(V3_ARTIFACT, bundle), INVALID, "messageSignature.signature")


def test_empty_chain(tmp_path: Path):
    bundle = PYTHON / "bundle_no_cert_v1.txt.sigstore"
    assert_error(verify_blob(PYTHON / "bundle_no_cert_v1.txt", bundle), INVALID,
                 "bundle certificate material is malformed")


def with_whole_chain(media_type: str) -> Any:
    staging = json.loads(STAGING.read_bytes())
    chain = staging["certificateAuthorities"][0]["certChain"]["certificates"]

    def add_chain(doc: dict[str, Any]) -> None:
        material = doc["verificationMaterial"]
        leaf = material.pop("certificate")
        doc["mediaType"] = media_type
        material["x509CertificateChain"] = {"certificates": [leaf, *chain]}  # intermediate, then the root

    return add_chain


def test_root_certificate_inside_the_chain(tmp_path: Path):
    """A v0.3 bundle must not carry the root; a v0.1/v0.2 one (older clients wrote whole chains) gets a warning,
    as sigstore-python gives, and the carried root is never trusted (the trusted root's chain is used)."""
    v3 = edited(tmp_path, V3, with_whole_chain("application/vnd.dev.sigstore.bundle.v0.3+json"))
    assert_error(verify_blob(V3_ARTIFACT, v3), REFUSED,
                 "expected the bundle's certificate chain without its root, got a self-signed certificate")
    v2 = edited(tmp_path, V3, with_whole_chain("application/vnd.dev.sigstore.bundle+json;version=0.2"))
    old = verify_blob(V3_ARTIFACT, v2)
    assert old.code == VERIFIED, old
    assert "warning: expected the bundle's certificate chain without its root" in old.stderr


def test_negative_log_index(tmp_path: Path):
    bundle = edited(tmp_path, V3, lambda d: first_entry(d).update(logIndex="-1"))
    assert_error(verify_blob(V3_ARTIFACT, bundle), INVALID, "logIndex -1 is negative")


def test_inclusion_proof_missing(tmp_path: Path):
    bundle = edited(tmp_path, V3, lambda d: first_entry(d).pop("inclusionProof"))
    assert_error(verify_blob(V3_ARTIFACT, bundle), REFUSED, "of a v0.3 bundle has no inclusionProof")


def test_inclusion_proof_wrong(tmp_path: Path):
    def flip(doc: dict[str, Any]) -> None:
        hashes_ = first_entry(doc)["inclusionProof"]["hashes"]
        hashes_[0] = base64.b64encode(bytes(32)).decode()

    assert_error(verify_blob(V3_ARTIFACT, edited(tmp_path, V3, flip)), REFUSED, "entry 25915956: ")


def test_set_signed_by_another_key(tmp_path: Path):
    """A well-formed SET over exactly this entry, by a key that is not the log's."""
    other = ec.generate_private_key(ec.SECP256R1())

    def resign(doc: dict[str, Any]) -> None:
        entry = first_entry(doc)
        payload = canonical_json({"body": entry["canonicalizedBody"], "integratedTime": int(entry["integratedTime"]),
                                  "logID": base64.b64decode(entry["logId"]["keyId"]).hex(),
                                  "logIndex": int(entry["logIndex"])})
        forged = other.sign(payload, ec.ECDSA(hashes.SHA256()))
        entry["inclusionPromise"]["signedEntryTimestamp"] = base64.b64encode(forged).decode()

    result = verify_blob(V3_ARTIFACT, edited(tmp_path, V3, resign))
    assert_error(result, REFUSED, "entry 25915956: ")
    assert "signed entry timestamp" in result.stderr.lower()


def test_checkpoint_with_a_bad_key_hint(tmp_path: Path):
    def rehint(doc: dict[str, Any]) -> None:
        proof = first_entry(doc)["inclusionProof"]
        text, _, line = proof["checkpoint"]["envelope"].rstrip("\n").rpartition("\n")
        name, signature = line.rsplit(" ", 1)
        raw = base64.b64decode(signature)
        proof["checkpoint"]["envelope"] = f"{text}\n{name} {base64.b64encode(b'XXXX' + raw[4:]).decode()}\n"

    assert_error(verify_blob(V3_ARTIFACT, edited(tmp_path, V3, rehint)), REFUSED, "entry 25915956: ")


def test_digest_mismatch():
    result = verify_blob(PYTHON / "bundle_v3_alt.txt", V3)
    assert_error(result, REFUSED, "signature: expected a signature over the artifact's digest by the signing "
                                  "certificate's key, got one that does not verify")
    by_digest = verify_blob("sha256:" + "ab" * 32, V3)
    assert_error(by_digest, REFUSED, "signature: expected a signature over the artifact's digest")


def test_dsse_envelope_with_two_signatures():
    assert_error(verify_blob("sha256:" + "0" * 64, VECTORS / "sigstore-go" / "dsse-2sigs.sigstore.json",
                             root=PRODUCTION), REFUSED, "expected exactly 1 DSSE signature, got 2")


def test_timestamp_outside_the_certificates_validity():
    assert_error(verify_blob(PYTHON / "tsa" / "bundle.txt", PYTHON / "tsa" / "bundle.txt.late_timestamp.sigstore",
                             root=LATE_TSA_ROOT), REFUSED, "cert is not valid at validation time")


def test_timestamp_from_an_untrusted_authority():
    """The test TSA is not staging's: none of the bundle's timestamps verifies, so it is refused."""
    result = verify_blob(PYTHON / "tsa" / "bundle.txt", PYTHON / "tsa" / "bundle.txt.sigstore", root=STAGING)
    assert_error(result, REFUSED, "RFC 3161 timestamp 0: expected a timestamp signed by a trusted timestamp "
                                  "authority over the signature, got one that none verifies")


def test_33_timestamps(tmp_path: Path):
    assert_error(verify_blob(PYTHON / "tsa" / "bundle.txt", PYTHON / "tsa" / "bundle.many_timestamp.sigstore",
                             root=TSA_ROOT), INVALID, "rfc3161Timestamps must be a list of at most 32")


def test_duplicate_timestamps():
    assert_error(verify_blob(PYTHON / "tsa" / "bundle.txt", PYTHON / "tsa" / "bundle.duplicate.sigstore",
                             root=TSA_ROOT), REFUSED, "expected distinct RFC 3161 timestamps, got a duplicate")


def test_staging_bundle_against_the_production_root():
    for root in (PRODUCTION, None):  # the file, and the embedded default
        assert_error(verify_blob(V3_ARTIFACT, V3, root=root), REFUSED, "no trusted key for log d32f30a3c32d639c")


# -- what the command line refuses ---------------------------------------------------------------------------


def test_identity_flags_are_mandatory_for_a_certificate_bundle():
    result = verify_blob(V3_ARTIFACT, V3, identity=[])
    assert result.code == 2 and "give --key PUB, or --certificate-identity" in result.stderr, result
    issuer_missing = verify_blob(V3_ARTIFACT, V3, identity=["--certificate-identity", "william@yossarian.net"])
    assert issuer_missing.code == 2 and "needs --certificate-oidc-issuer" in issuer_missing.stderr


def test_key_together_with_identity_flags_is_an_error(tmp_path: Path):
    """cosign #4617: not a silent preference for one of them."""
    key = fixture_path("vectors", "tlog", "containers-image", "cosign.pub")
    result = verify_blob(V3_ARTIFACT, V3, "--key", str(key))
    assert result.code == 2 and "give --key or the certificate options" in result.stderr, result


def test_missing_files(tmp_path: Path):
    assert_error(verify_blob(tmp_path / "nope.txt", V3), 4, "artifact")
    assert_error(verify_blob(V3_ARTIFACT, tmp_path / "nope.sigstore"), 4, "bundle")


def test_a_bare_public_key_where_a_certificate_is_expected(tmp_path: Path):
    """GHSA-fx35-mq7g-6g98: a bundle naming a public key does not pass an identity policy."""
    def to_key(doc: dict[str, Any]) -> None:
        material = doc["verificationMaterial"]
        material.pop("certificate")
        material["publicKey"] = {"hint": "anything"}

    bundle = edited(tmp_path, V3, to_key)
    assert_error(verify_blob(V3_ARTIFACT, bundle), REFUSED,
                 "expected a signing certificate in the bundle's verificationMaterial, got none")


def test_insecure_ignore_tlog_warns_and_still_needs_a_trusted_time(tmp_path: Path):
    bundle = edited(tmp_path, V3, lambda d: d["verificationMaterial"].update(tlogEntries=[]))
    result = verify_blob(V3_ARTIFACT, bundle, "--insecure-ignore-tlog")
    # No log, so no log-vouched time: the certificate is checked now, and a Fulcio certificate of 2024 has expired.
    assert result.code == REFUSED and "WARNING: Skipping tlog verification" in result.stderr
    assert "the current time (transparency log ignored)" in result.stderr
    untouched = copy.deepcopy(json.loads(V3.read_bytes()))
    assert untouched["verificationMaterial"]["tlogEntries"]
