"""``attest``, ``verify-attestation`` and ``download attestation`` through the CLI against the real registry
(distribution 2.8: no referrers API, so referrers live in the referrers tag), and the interop proofs of issue 11,
item 5:

- our attestation bundles verify with sigstore-js (``@sigstore/verify``, ``tests/js/verify-bundle.js``), the
  transparency-log entry included (tlog threshold 1);
- attestations that sigstore-js makes (``@sigstore/sign``, v0.3 logged and v0.2 unlogged) and attaches with
  ``@sigstore/oci`` (``attachArtifactToImage``, what GitHub's ``actions/attest`` pushes with;
  ``tests/js/attach-attestation.js``) verify with ``verify-attestation`` and are shown by ``download attestation``.

The sigstore-js packages are the pinned set of ``tests/js/`` (the ``sigstore_js`` fixture: without them these tests
FAIL naming the command that installs them). TEST-ONLY keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.formats.intoto import build_statement, predicate_type_for
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, new_key, run_cli
from tests.support.sigstore_js import run_node, sign_bundle, write_node_key
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

PASSWORD = "TEST-ONLY-attest"
SLSA1 = predicate_type_for("slsaprovenance1")
PROVENANCE = {"buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {}},
              "runDetails": {"builder": {"id": "https://example.com/TEST-ONLY-builder"}}}


def cli(*args: str, env: dict[str, str | None] | None = None) -> CliResult:
    return run_cli(list(args), env={"SUPPLYCHAIN_REKOR_URL": None, "SUPPLYCHAIN_PASSWORD": PASSWORD, **(env or {})})


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    prefix = tmp_path / "cosign"
    assert cli("generate-key-pair", "--output-key-prefix", str(prefix)).code == 0
    return Path(f"{prefix}.key"), Path(f"{prefix}.pub")


@pytest.fixture
def predicate(tmp_path: Path) -> Path:
    path = tmp_path / "provenance.json"
    path.write_text(json.dumps(PROVENANCE))
    return path


def pushed(fixture_layout: Path, registry: RegistryProcess, repository: str) -> tuple[str, str]:
    """The fixture image copied to ``repository``: (its reference by tag, its digest)."""
    ref = f"{registry.host}/{repository}:1"
    assert cli("copy", f"oci:{fixture_layout}:single", ref).code == 0
    store = open_repository(parse_image_reference(ref), Settings())
    return ref, str(store.resolve("1").digest)


def statements(stdout: str) -> list[dict]:
    """The statements of the DSSE envelopes printed one per line."""
    envelopes = [json.loads(line) for line in stdout.splitlines()]
    assert all(list(e) == ["payloadType", "payload", "signatures"] for e in envelopes), envelopes
    return [json.loads(base64.b64decode(e["payload"])) for e in envelopes]


@pytest.mark.parametrize("form", ["bundle", "legacy"])
def test_attest_then_verify_and_download_in_the_registry(fixture_layout: Path, registry: RegistryProcess,
                                                         keys: tuple[Path, Path], predicate: Path, form: str):
    ref, digest = pushed(fixture_layout, registry, f"attest/{form}")
    made = cli("attest", ref, "--key", str(keys[0]), "--type", "slsaprovenance1", "--predicate", str(predicate),
               "--format", form)
    assert made.code == 0, made
    assert "tlog entry created with index:" in made.stderr and "Pushed attestation" in made.stderr

    verified = cli("verify-attestation", ref, "--key", str(keys[1]), "--type", "slsaprovenance1")
    assert verified.code == 0, verified
    assert f"1 of 1 attestations of {SLSA1}" in verified.stderr
    assert "The following checks were performed" in verified.stderr
    (statement,) = statements(verified.stdout)
    assert statement["_type"] == "https://in-toto.io/Statement/v1" and statement["predicateType"] == SLSA1
    assert statement["subject"] == [{"name": f"{registry.host}/attest/{form}",
                                     "digest": {"sha256": digest.removeprefix("sha256:")}}]
    assert statement["predicate"] == PROVENANCE

    other = cli("verify-attestation", ref, "--key", str(keys[1]), "--type", "cyclonedx")
    assert other.code == 1 and other.stdout == "", other
    assert "no attestations of predicateType https://cyclonedx.org/bom found" in other.stderr
    assert f"an attestation of predicateType '{SLSA1}', not of 'https://cyclonedx.org/bom'" in other.stderr
    wrong_key = tmp_key = keys[1].with_name("other.pub")
    tmp_key.write_bytes(new_key().public_key.pem())
    refused = cli("verify-attestation", ref, "--key", str(wrong_key), "--type", "slsaprovenance1")
    assert refused.code == 1 and "signature: expected a signature over the DSSE envelope" in refused.stderr
    assert cli("verify", ref, "--key", str(keys[1])).code == 1  # an attestation is no image signature

    shown = cli("download", "attestation", ref)
    assert shown.code == 0, shown
    assert [s["predicateType"] for s in statements(shown.stdout)] == [SLSA1]
    assert cli("download", "attestation", ref, "--predicate-type", "slsaprovenance1").stdout == shown.stdout
    none = cli("download", "attestation", ref, "--predicate-type", "cyclonedx")
    assert none.code == 4 and "no attestations of predicateType https://cyclonedx.org/bom" in none.stderr


def test_an_attestation_without_log_evidence_needs_insecure_ignore_tlog(
        fixture_layout: Path, registry: RegistryProcess, keys: tuple[Path, Path], predicate: Path):
    ref, _ = pushed(fixture_layout, registry, "attest/nolog")
    assert cli("attest", ref, "--key", str(keys[0]), "--type", "slsaprovenance1", "--predicate", str(predicate),
               "--tlog-upload=false").code == 0
    refused = cli("verify-attestation", ref, "--key", str(keys[1]), "--type", "slsaprovenance1")
    assert refused.code == 1 and "expected a transparency-log entry in the bundle" in refused.stderr
    accepted = cli("verify-attestation", ref, "--key", str(keys[1]), "--type", "slsaprovenance1",
                   "--insecure-ignore-tlog")
    assert accepted.code == 0 and "WARNING: Skipping tlog verification" in accepted.stderr


@pytest.mark.parametrize("content, extra, why, kind", [
    (b"not json at all", (), "is not valid JSON", "slsaprovenance1"),
    (b"not json at all\n", (), "the predicate for spdxjson is not valid JSON", "spdxjson"),  # spdx would keep it
    (b"[]", (), "is a JSON list, not an object", "cyclonedx"),
    (b"", (), "is empty", "slsaprovenance1"),
    (b'{"x": "' + b"y" * 2000 + b'"}', ("SUPPLYCHAIN_MAX_SIGNATURE_SIZE", "1024"), "is larger than 1024 bytes",
     "slsaprovenance1"),
])
def test_a_bad_predicate_file_is_refused_with_a_hint(fixture_layout_copy: Path, keys: tuple[Path, Path],
                                                     tmp_path: Path, content: bytes, extra: tuple[str, ...],
                                                     why: str, kind: str):
    path = tmp_path / "predicate.json"
    path.write_bytes(content)
    env = {extra[0]: extra[1]} if extra else {}
    refused = cli("attest", f"oci:{fixture_layout_copy}:single", "--key", str(keys[0]), "--type", kind,
                  "--predicate", str(path), "--reference-name", "registry.example/app", env=env)
    assert refused.code == 3, refused
    error, hint = refused.stderr.strip().splitlines()[-2:]
    assert error.startswith("error: ") and why in error and hint.startswith("hint: "), refused.stderr
    assert "Traceback" not in refused.stderr


# -- interop: sigstore-js ----------------------------------------------------------------------------------------


def test_sigstore_js_verifies_our_attestation_bundle(sigstore_js: Path, fixture_layout_copy: Path, tmp_path: Path,
                                                     tlog_server: LogProcess, keys: tuple[Path, Path],
                                                     predicate: Path):
    made = cli("attest", f"oci:{fixture_layout_copy}:single", "--key", str(keys[0]), "--type", "slsaprovenance1",
               "--predicate", str(predicate), "--reference-name", "registry.example/app", "--no-upload",
               "--rekor-url", tlog_server.url)
    assert made.code == 0, made
    bundle = tmp_path / "attestation.sigstore.json"
    bundle.write_text(made.stdout)
    done = run_node("verify-bundle.js", bundle, keys[1], tlog_server.public_key_path, tlog_server.url,
                    directory=sigstore_js)
    out = json.loads(done.stdout)
    assert done.returncode == 0 and out["ok"], out
    assert out["tlogEntries"] == 1 and out["statement"]["predicateType"] == SLSA1


@pytest.fixture(scope="module")
def node_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A TEST-ONLY ECDSA P-256 key pair as PEM files node reads: (PKCS#8 private key, PKIX public key)."""
    return write_node_key(new_key("ecdsa-p256"), tmp_path_factory.mktemp("node-key"))


@pytest.mark.parametrize("mode, annotated", [("dsse", True), ("dsse-v02", False)])
def test_attestations_attached_with_sigstore_oci_verify(sigstore_js: Path, fixture_layout: Path,
                                                         registry: RegistryProcess, tlog_server: LogProcess,
                                                         node_key: tuple[Path, Path], tmp_path: Path, mode: str,
                                                         annotated: bool):
    """actions/attest's path: @sigstore/sign makes the bundle (v0.3 logged, or v0.2 unlogged), @sigstore/oci
    attaches it to the image as a referrer (here, in the referrers tag: the registry has no referrers API)."""
    repository = f"attest/sigstore-oci-{mode}"
    ref, digest = pushed(fixture_layout, registry, repository)
    statement = tmp_path / "statement.json"
    statement.write_bytes(build_statement(f"{registry.host}/{repository}", parse_image_reference(
        f"x/y@{digest}").digest, predicate_type=SLSA1, predicate=PROVENANCE))
    bundle = sign_bundle(mode, statement, *node_key, tlog_server.url if mode == "dsse" else "",
                         directory=sigstore_js)
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(json.dumps(bundle))
    attached = run_node("attach-attestation.js", f"{registry.host}/{repository}", digest, bundle_path,
                        *((SLSA1,) if annotated else ()), directory=sigstore_js)
    assert attached.returncode == 0 and json.loads(attached.stdout)["ok"], (attached.stdout, attached.stderr)

    trust = (("--rekor-public-key", str(tlog_server.public_key_path)) if mode == "dsse"
             else ("--insecure-ignore-tlog",))
    verified = cli("verify-attestation", ref, "--key", str(node_key[1]), "--type", "slsaprovenance1", *trust)
    assert verified.code == 0, verified
    assert f"1 of 1 attestations of {SLSA1} (referrer)" in verified.stderr
    assert statements(verified.stdout)[0]["predicate"] == PROVENANCE
    shown = cli("download", "attestation", ref, "--predicate-type", SLSA1)
    assert shown.code == 0 and len(shown.stdout.splitlines()) == 1, shown


def test_attest_blob_writes_a_bundle_sigstore_js_verifies(sigstore_js: Path, tmp_path: Path, tlog_server: LogProcess,
                                                          keys: tuple[Path, Path], predicate: Path):
    artifact = tmp_path / "app.tar.gz"
    artifact.write_bytes(b"TEST-ONLY artifact attested by supplychain\n")
    bundle = tmp_path / "app.tar.gz.sigstore.json"
    made = cli("attest-blob", str(artifact), "--key", str(keys[0]), "--type", "slsaprovenance1", "--predicate",
               str(predicate), "--bundle", str(bundle), "--rekor-url", tlog_server.url)
    assert made.code == 0, made
    assert "tlog entry created with index:" in made.stderr and bundle.is_file()
    done = run_node("verify-bundle.js", bundle, keys[1], tlog_server.public_key_path, tlog_server.url,
                    directory=sigstore_js)
    out = json.loads(done.stdout)
    assert done.returncode == 0 and out["ok"], out
    assert out["tlogEntries"] == 1
    assert out["statement"]["subject"] == [{"name": "app.tar.gz", "digest": {
        "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}}]
    missing = cli("attest-blob", str(artifact), "--key", str(keys[0]), "--predicate", str(predicate),
                  "--bundle", str(tmp_path / "no-such-dir" / "out.json"))
    assert missing.code == 3 and "does not exist" in missing.stderr and "hint: " in missing.stderr
