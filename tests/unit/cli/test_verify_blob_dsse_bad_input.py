"""``verify-blob`` and ``verify-blob-attestation`` on DSSE bundles that are well signed but say the wrong thing
(issue 11, "Bad input"): a payload type that is not in-toto, a statement whose subject is another file, an
attestation of another predicate type (never a pass: CVE-2022-35929). Each is a one-line ``error:`` with the
reason, a ``hint:``, exit 1, no traceback. The envelopes are signed with a TEST-ONLY key and carry no log entry
(``--insecure-ignore-tlog``), so the only thing wrong with them is what the test changed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from supplychain.digest import Digest
from supplychain.errors import ExitCode
from supplychain.formats.dsse import IN_TOTO_PAYLOAD_TYPE, DsseSignature, Envelope
from supplychain.formats.intoto import PREDICATE_ALIASES, build_statement
from supplychain.keys import KeyPair, generate_key_pair
from supplychain.signing.bundle import build_bundle, key_hint
from supplychain.signing.signature import create_signature
from tests.support.signatures import CliResult, run_cli

SLSA1 = PREDICATE_ALIASES["slsaprovenance1"]
PROVENANCE = {"buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {}},
              "runDetails": {"builder": {"id": "https://example.com/TEST-ONLY-builder"}}}


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return generate_key_pair()


@pytest.fixture
def files(tmp_path: Path, pair: KeyPair) -> tuple[Path, Path]:
    """The artifact and the public key file."""
    artifact = tmp_path / "app.tar.gz"
    artifact.write_bytes(b"TEST-ONLY artifact\n")
    public = tmp_path / "cosign.pub"
    public.write_bytes(pair.public_key.pem())
    return artifact, public


def dsse_bundle(path: Path, pair: KeyPair, subject: Digest, *, payload_type: str = IN_TOTO_PAYLOAD_TYPE,
                predicate_type: str = SLSA1) -> Path:
    statement = build_statement(path.name, subject, predicate_type=predicate_type, predicate=PROVENANCE)
    unsigned = Envelope(statement, payload_type, ())
    envelope = Envelope(statement, payload_type,
                        (DsseSignature(create_signature(pair.private_key, unsigned.signed_bytes)),))
    path.write_bytes(build_bundle(envelope, key_hint(pair.public_key)))
    return path


def digest_of(path: Path) -> Digest:
    return Digest("sha256", hashlib.sha256(path.read_bytes()).hexdigest())


def verify(command: str, artifact: Path | str, bundle: Path, public: Path, *extra: str) -> CliResult:
    return run_cli([command, "--key", str(public), "--insecure-ignore-tlog", "--bundle", str(bundle), *extra,
                    str(artifact)])


def assert_refused(result: CliResult, reason: str) -> None:
    lines = result.stderr.splitlines()
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and reason in errors[0], result
    assert any(line.startswith("hint: ") for line in lines), result
    assert "Traceback" not in result.stderr and "Verified OK" not in result.stderr, result


def test_the_good_envelope_verifies(tmp_path: Path, pair: KeyPair, files: tuple[Path, Path]):
    """The control: what the other tests change is the only thing wrong."""
    artifact, public = files
    bundle = dsse_bundle(tmp_path / "good.sigstore.json", pair, digest_of(artifact))
    assert verify("verify-blob", artifact, bundle, public).code == 0
    assert verify("verify-blob-attestation", artifact, bundle, public, "--type", "slsaprovenance1").code == 0


@pytest.mark.parametrize("command", ["verify-blob", "verify-blob-attestation"])
def test_a_payload_type_that_is_not_in_toto(tmp_path: Path, pair: KeyPair, files: tuple[Path, Path], command: str):
    artifact, public = files
    bundle = dsse_bundle(tmp_path / "json.sigstore.json", pair, digest_of(artifact), payload_type="application/json")
    assert_refused(verify(command, artifact, bundle, public, *(["--type", SLSA1] if "attestation" in command else [])),
                   "read: expected payloadType application/vnd.in-toto+json, got 'application/json'")


@pytest.mark.parametrize("command", ["verify-blob", "verify-blob-attestation"])
def test_a_statement_whose_subject_is_another_file(tmp_path: Path, pair: KeyPair, files: tuple[Path, Path],
                                                   command: str):
    artifact, public = files
    other = Digest("sha256", "ab" * 32)
    bundle = dsse_bundle(tmp_path / "other.sigstore.json", pair, other)
    what = "an attestation" if "attestation" in command else "a signature"
    assert_refused(verify(command, artifact, bundle, public, *(["--type", SLSA1] if "attestation" in command else [])),
                   f"claims: expected {what} for {digest_of(artifact)}, got one for {other}")


def test_an_attestation_of_another_predicate_type(tmp_path: Path, pair: KeyPair, files: tuple[Path, Path]):
    artifact, public = files
    bundle = dsse_bundle(tmp_path / "cdx.sigstore.json", pair, digest_of(artifact),
                         predicate_type=PREDICATE_ALIASES["cyclonedx"])
    assert_refused(verify("verify-blob-attestation", artifact, bundle, public, "--type", "slsaprovenance1"),
                   f"an attestation of predicateType '{PREDICATE_ALIASES['cyclonedx']}', not of '{SLSA1}'")
