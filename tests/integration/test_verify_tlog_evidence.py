"""``verify`` and ``tlog verify --bundle`` on hostile transparency-log evidence, through the CLI (QA findings):

1. a referrer whose bundle nests '[' 100,000 deep used to crash both (RecursionError, exit 70, nothing printed for
   any image of the batch): now it is one signature's failure, with a reason;
2. a v0.3 bundle whose entry lost its inclusionProof used to verify: the bundle spec requires the proof (with its
   checkpoint) from v0.2 on, as sigstore-js and sigstore-go enforce; cosign's SET-only annotation stays accepted;
3. an entry without its SET, whose unsigned integratedTime was moved into the log key's validity window, used to
   pass: without a SET there is no trusted time, and the key is checked at the current time.

The local log (``tlog_server``) and an OCI layout of the fixture image; TEST-ONLY keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from supplychain.errors import ExitCode
from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION
from supplychain.layout import OciLayout
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Manifest, build_manifest
from supplychain.signing.bundle import BUNDLE_MEDIA_TYPE
from tests.support.signatures import CliResult, generate_cli_key_pair, put_bytes, run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
PASSWORD = "TEST-ONLY-tlog-evidence"
DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 kB
FORGED_TIME = 1593561600  # 2020-07-01, inside the 2020-2021 window below


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("evidence-keys") / "cosign", PASSWORD)


def images(layout: Path) -> tuple[Descriptor, Descriptor]:
    amd64, arm64 = OciLayout(layout).get_manifest("multi").manifests  # type: ignore[union-attr]
    return amd64, arm64


def sign(layout: Path, image: Descriptor, key: Path, log: LogProcess, fmt: str) -> None:
    result = run_cli(["sign", f"oci:{layout}@{image.digest}", "--key", str(key), "--reference-name", NAME,
                      "--format", fmt, "--rekor-url", log.url, "--rekor-public-key", str(log.public_key_path)],
                     env={"SUPPLYCHAIN_PASSWORD": PASSWORD, "SUPPLYCHAIN_REKOR_URL": None})
    assert result.code == 0, result


def verify(*args: str) -> CliResult:
    return run_cli(["verify", *args], env={"SUPPLYCHAIN_REKOR_URL": None})


def tlog_verify(bundle: Path, *trust: str) -> CliResult:
    return run_cli(["tlog", "verify", "--bundle", str(bundle), *trust], env={"SUPPLYCHAIN_REKOR_URL": None})


def add_referrer(layout: Path, subject: Descriptor, bundle: bytes, *, replace: bool = False) -> None:
    """Store ``bundle`` as a bundle referrer of ``subject`` (replacing the existing ones if asked)."""
    store = OciLayout(layout)
    if replace:
        for desc in store.referrers(subject.digest, BUNDLE_MEDIA_TYPE):
            store.delete_manifest(desc.digest)
    layer = put_bytes(store, BUNDLE_MEDIA_TYPE, bundle)
    store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    store.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type=BUNDLE_MEDIA_TYPE))


def stored_bundle(layout: Path, subject: Descriptor) -> dict[str, Any]:
    store = OciLayout(layout)
    (desc,) = store.referrers(subject.digest, BUNDLE_MEDIA_TYPE)
    manifest = store.get_manifest(desc)
    assert isinstance(manifest, Manifest)
    document: dict[str, Any] = json.loads(store.get_blob(manifest.layers[0]))
    return document


def trusted_root(path: Path, log: LogProcess, start: str, end: str) -> Path:
    """A TrustedRoot v0.1 naming the local log's key, valid from ``start`` to ``end`` only."""
    key = serialization.load_pem_public_key(log.public_key_path.read_bytes())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": log.url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": base64.b64encode(der).decode(), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": start, "end": end}},
            "logId": {"keyId": base64.b64encode(hashlib.sha256(der).digest()).decode()},
        }],
    }
    path.write_text(json.dumps(root))
    return path


# -- 1. nesting ------------------------------------------------------------------------------------------------


def test_deeply_nested_referrer_fails_one_signature_not_the_batch(fixture_layout_copy: Path,
                                                                  key_pair: tuple[Path, Path],
                                                                  tlog_server: LogProcess, tmp_path: Path):
    key, pub = key_pair
    amd64, arm64 = images(fixture_layout_copy)
    sign(fixture_layout_copy, amd64, key, tlog_server, "legacy")
    sign(fixture_layout_copy, amd64, key, tlog_server, "bundle")
    add_referrer(fixture_layout_copy, amd64, DEEP)  # next to two valid signatures
    add_referrer(fixture_layout_copy, arm64, DEEP)  # the only "signature" of the other image
    trust = ("--key", str(pub), "--rekor-public-key", str(tlog_server.public_key_path))

    one = verify(f"oci:{fixture_layout_copy}@{amd64.digest}", *trust, "-o", "json")
    assert one.code == 0, one
    assert "2 of 3 signatures" in one.stderr and "Traceback" not in one.stderr

    both = verify(f"oci:{fixture_layout_copy}@{amd64.digest}", f"oci:{fixture_layout_copy}@{arm64.digest}",
                  *trust, "-o", "json")
    assert both.code == ExitCode.VERIFICATION_FAILED, both
    assert "Traceback" not in both.stderr
    first, second = both.stdout.splitlines()  # one line per image, in order
    assert len(json.loads(first)) == 2 and json.loads(second) == []
    assert "read: bundle: bundle is not valid JSON: arrays and objects nest deeper than 128 levels" in both.stderr

    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP)
    tlog_verify(deep, "--rekor-public-key", str(tlog_server.public_key_path)).assert_one_line_error(
        ExitCode.VERIFICATION_FAILED, "the evidence is not JSON: arrays and objects nest too deeply")


# -- 2. the inclusion proof a v0.2+ bundle must carry ------------------------------------------------------------


def test_v03_bundle_without_inclusion_proof_is_refused(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                       tlog_server: LogProcess, tmp_path: Path):
    key, pub = key_pair
    amd64, _ = images(fixture_layout_copy)
    sign(fixture_layout_copy, amd64, key, tlog_server, "bundle")
    genuine = stored_bundle(fixture_layout_copy, amd64)
    assert genuine["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    trust = ("--rekor-public-key", str(tlog_server.public_key_path))
    ref = f"oci:{fixture_layout_copy}@{amd64.digest}"
    assert verify(ref, "--key", str(pub), *trust).code == 0
    good = tmp_path / "good.json"
    good.write_text(json.dumps(genuine))
    assert tlog_verify(good, *trust).code == 0

    stripped = json.loads(json.dumps(genuine))
    del stripped["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    add_referrer(fixture_layout_copy, amd64, json.dumps(stripped).encode(), replace=True)
    result = verify(ref, "--key", str(pub), *trust)
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert "tlog: expected valid tlogEntries in the bundle, got: tlogEntries[0] of a v0.3 bundle has no " \
           "inclusionProof" in result.stderr
    bad = tmp_path / "no-proof.json"
    bad.write_text(json.dumps(stripped))
    tlog_verify(bad, *trust).assert_one_line_error(ExitCode.VERIFICATION_FAILED,
                                                   "tlogEntries[0] of a v0.3 bundle has no inclusionProof")

    no_checkpoint = json.loads(json.dumps(genuine))
    del no_checkpoint["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
    bad.write_text(json.dumps(no_checkpoint))
    tlog_verify(bad, *trust).assert_one_line_error(ExitCode.VERIFICATION_FAILED, "has no checkpoint")


def test_cosign_set_only_annotation_is_still_accepted(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                      tlog_server: LogProcess, tmp_path: Path):
    key, pub = key_pair
    amd64, _ = images(fixture_layout_copy)
    sign(fixture_layout_copy, amd64, key, tlog_server, "legacy")
    trust = ("--rekor-public-key", str(tlog_server.public_key_path))
    assert verify(f"oci:{fixture_layout_copy}@{amd64.digest}", "--key", str(pub), *trust).code == 0
    store = OciLayout(fixture_layout_copy)
    sig = store.get_manifest(f"sha256-{amd64.digest.hex}.sig")
    assert isinstance(sig, Manifest)
    annotation = tmp_path / "rekor-bundle.json"
    annotation.write_text(sig.layers[0].annotations[REKOR_BUNDLE_ANNOTATION])
    assert tlog_verify(annotation, *trust).code == 0


# -- 3. only a signed time is the entry's time ---------------------------------------------------------------------


def test_unsigned_integrated_time_does_not_open_the_key_window(fixture_layout_copy: Path,
                                                               key_pair: tuple[Path, Path],
                                                               tlog_server: LogProcess, tmp_path: Path):
    key, pub = key_pair
    amd64, _ = images(fixture_layout_copy)
    sign(fixture_layout_copy, amd64, key, tlog_server, "bundle")
    genuine = stored_bundle(fixture_layout_copy, amd64)
    ref = f"oci:{fixture_layout_copy}@{amd64.digest}"
    old = ("--trusted-root", str(trusted_root(tmp_path / "old.json", tlog_server,
                                              "2020-01-01T00:00:00Z", "2021-12-31T23:59:59Z")))
    current = ("--trusted-root", str(trusted_root(tmp_path / "current.json", tlog_server,
                                                  "2020-01-01T00:00:00Z", "2100-01-01T00:00:00Z")))

    # The genuine bundle is refused by a key that was valid only in 2020-2021.
    result = verify(ref, "--key", str(pub), *old)
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert "integration time" in result.stderr and "outside the validity window 2020-01-01T00:00:00Z" in result.stderr

    # The attack: drop the SET, move the unsigned integratedTime into the window.
    forged = json.loads(json.dumps(genuine))
    entry = forged["verificationMaterial"]["tlogEntries"][0]
    del entry["inclusionPromise"]
    entry["integratedTime"] = str(FORGED_TIME)
    add_referrer(fixture_layout_copy, amd64, json.dumps(forged).encode(), replace=True)
    result = verify(ref, "--key", str(pub), *old)
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert "has no signed integration time; the current time" in result.stderr
    evidence = tmp_path / "forged.json"
    evidence.write_text(json.dumps(forged))
    tlog_verify(evidence, *old).assert_one_line_error(ExitCode.VERIFICATION_FAILED,
                                                      "has no signed integration time; the current time")

    # Genuine: with the key valid now, the SET-less entry is proven by its inclusion proof, whatever time it shows.
    result = verify(ref, "--key", str(pub), *current)
    assert result.code == 0, result
    result = tlog_verify(evidence, *current)
    assert result.code == 0, result
    assert "no signed integration time: log key validity checked at the current time" in result.stdout
