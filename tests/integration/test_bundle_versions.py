"""Sigstore bundles of every version as real third-party tools write them, through the CLI (issue 9):

1. a TransparencyLogEntry whose ``logIndex`` is 0 has no ``logIndex`` field when sigstore-js writes it (protojson
   omits default values): the first entry of a fresh local log, logged by ``@sigstore/sign``, must verify;
2. a v0.2 bundle referrer (``application/vnd.dev.sigstore.bundle+json;version=0.2``, what ``@sigstore/oci`` and
   older tools attach) must be read by ``verify``, in an OCI layout and in the real registry; bundles verify
   cannot use (a message signature over another artifact, an attestation of another predicate type: the real
   sigstore-python and cosign vectors) are reported as skipped, with the reason.

``@sigstore/sign`` and ``@sigstore/bundle`` are the pinned sigstore-js set of ``tests/js/``
(``tests/support/sigstore_js.py``, the ``sigstore_js`` fixture): without it these tests FAIL naming the command that
installs it. TEST-ONLY keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.formats.bundle import BUNDLE_V02, Bundle
from supplychain.formats.intoto import build_statement
from supplychain.layout import OciLayout
from supplychain.oci.attachment import BUNDLE_CONTENT_ANNOTATION as CONTENT_ANNOTATION
from supplychain.oci.attachment import BUNDLE_PREDICATE_TYPE_ANNOTATION as PREDICATE_TYPE_ANNOTATION
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Manifest, build_manifest
from supplychain.oci.store import ArtifactStore
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from supplychain.signing.bundle import BUNDLE_MEDIA_TYPE
from tests.support.fixture import fixture_path
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, new_key, put_bytes, run_cli
from tests.support.sigstore_js import sign_bundle, write_node_key
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
PASSWORD = "TEST-ONLY-bundle-versions"

@pytest.fixture(scope="module")
def node_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A TEST-ONLY ECDSA P-256 key pair as PEM files: (PKCS#8 private key for node, PKIX public key)."""
    return write_node_key(new_key("ecdsa-p256"), tmp_path_factory.mktemp("node-key"))


def cli(*args: str) -> CliResult:
    return run_cli(list(args), env={"SUPPLYCHAIN_REKOR_URL": None, "SUPPLYCHAIN_PASSWORD": PASSWORD})


def attach(store: ArtifactStore, subject: Descriptor, bundle: bytes, media_type: str,
           annotations: dict[str, str] | None = None) -> Manifest:
    """Store ``bundle`` as a referrer of ``subject`` as ``@sigstore/oci`` does: artifactType and layer media type
    = the bundle's own media type, the empty config."""
    layer = put_bytes(store, media_type, bundle)
    store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    manifest = build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type=media_type,
                              annotations=annotations)
    store.put_manifest(manifest)
    return manifest


def vector(*parts: str) -> bytes:
    """A real third-party bundle of ``fixtures/vectors/tlog/`` (sources in that folder's README)."""
    return fixture_path("vectors", "tlog", *parts).read_bytes()


# -- 1. logIndex 0, omitted -----------------------------------------------------------------------------------


def test_first_entry_of_a_log_from_sigstore_js_verifies(sigstore_js: Path, node_key: tuple[Path, Path],
                                                        tmp_path: Path):
    """sigstore-js logs a hashedrekord entry to a fresh `tlog serve`: entry 0, written without logIndex."""
    log = LogProcess(tmp_path / "log").init().start(quiet=True)
    try:
        artifact = tmp_path / "artifact.txt"
        artifact.write_bytes(b"TEST-ONLY artifact signed by sigstore-js\n")
        bundle = sign_bundle("message", artifact, *node_key, log.url, directory=sigstore_js)
        (entry,) = bundle["verificationMaterial"]["tlogEntries"]
        assert "logIndex" not in entry and "logIndex" not in entry["inclusionProof"]  # protojson's default
        assert Bundle.parse(json.dumps(bundle).encode()).tlog_entries[0].log_index == 0
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(bundle))
        result = cli("tlog", "verify", "--bundle", str(path), "--artifact", str(artifact),
                     "--rekor-public-key", str(log.public_key_path))
        assert result.code == 0, result
    finally:
        assert log.stop() == 0


def test_image_bundle_of_entry_0_without_log_index_verifies(fixture_layout_copy: Path, tmp_path: Path):
    """An image signature logged as the first entry of a fresh log, stored as protojson writers write it (no
    logIndex anywhere): `verify` accepts it (it used to refuse the entry as malformed)."""
    log = LogProcess(tmp_path / "log").init().start(quiet=True)
    try:
        prefix = tmp_path / "cosign"
        assert cli("generate-key-pair", "--output-key-prefix", str(prefix)).code == 0
        ref = f"oci:{fixture_layout_copy}:single"
        signed = cli("sign", ref, "--key", f"{prefix}.key", "--reference-name", NAME, "--format", "bundle",
                     "--rekor-url", log.url, "--rekor-public-key", str(log.public_key_path))
        assert signed.code == 0 and "tlog entry created with index: 0" in signed.stderr, signed
        store = OciLayout(fixture_layout_copy)
        subject = store.resolve("single")
        (desc,) = store.referrers(subject.digest, BUNDLE_MEDIA_TYPE)
        manifest = store.get_manifest(desc)
        assert isinstance(manifest, Manifest)
        document = json.loads(store.get_blob(manifest.layers[0]))
        entry = document["verificationMaterial"]["tlogEntries"][0]
        assert entry["logIndex"] == "0" and entry["inclusionProof"]["logIndex"] == "0"
        del entry["logIndex"], entry["inclusionProof"]["logIndex"]
        store.delete_manifest(desc.digest)
        attach(store, subject, json.dumps(document).encode(), BUNDLE_MEDIA_TYPE, dict(desc.annotations))
        result = cli("verify", ref, "--key", f"{prefix}.pub", "--rekor-public-key", str(log.public_key_path))
        assert result.code == 0, result
        assert "1 of 1 signatures (referrer)" in result.stderr
    finally:
        assert log.stop() == 0


# -- 2. v0.1/v0.2 bundle referrers ----------------------------------------------------------------------------


def v02_image_bundle(sigstore_js: Path, subject: Descriptor, key: tuple[Path, Path], tmp_path: Path) -> bytes:
    """sigstore-js's v0.2 DSSE bundle of the statement cosign v3 signs for ``subject``."""
    statement = tmp_path / "statement.json"
    statement.write_bytes(build_statement(NAME, subject.digest))
    bundle = sign_bundle("dsse-v02", statement, *key, directory=sigstore_js)
    assert bundle["mediaType"] == BUNDLE_V02
    return json.dumps(bundle).encode()


def third_party_unusable(store: ArtifactStore, subject: Descriptor) -> None:
    """Real bundles verify cannot use as this image's signature, attached as `@sigstore/oci` would."""
    whl = vector("sigstore-python", "bundle_v3_github.whl.sigstore")  # v0.2, a message signature over a wheel
    attach(store, subject, whl, json.loads(whl)["mediaType"])
    attestation = vector("cosign", "oci-attestation.sigstore.json")  # cosign's attestation v1 predicate
    doc = json.loads(attestation)
    attach(store, subject, attestation, doc["mediaType"])  # no predicateType annotation: read from the statement


def check_v02_verify(ref: str, pub: Path, env_flags: tuple[str, ...] = ()) -> CliResult:
    result = cli("verify", ref, "--key", str(pub), "--insecure-ignore-tlog", *env_flags)
    assert result.code == 0, result
    assert "1 of 1 signatures (referrer)" in result.stderr, result
    payloads = json.loads(result.stdout)
    assert payloads[0]["critical"]["identity"]["docker-reference"] == NAME
    assert "a v0.2 message-signature bundle: it signs an artifact's digest" in result.stderr
    assert "an attestation of predicateType" in result.stderr and "not an image signature" in result.stderr
    return result


def test_v02_bundle_referrer_in_a_layout_is_verified(sigstore_js: Path, node_key: tuple[Path, Path],
                                                     fixture_layout_copy: Path, tmp_path: Path):
    store = OciLayout(fixture_layout_copy)
    subject = store.resolve("single")
    bundle = v02_image_bundle(sigstore_js, subject, node_key, tmp_path)
    attach(store, subject, bundle, BUNDLE_V02, {CONTENT_ANNOTATION: "dsse-envelope",
                                                PREDICATE_TYPE_ANNOTATION: "https://sigstore.dev/cosign/sign/v1"})
    third_party_unusable(store, subject)
    ref = f"oci:{fixture_layout_copy}@{subject.digest}"
    listed = cli("download", "signature", ref)
    assert listed.code == 0, listed
    assert json.dumps(BUNDLE_V02) in listed.stdout  # listed before issue 9 too, but never verified
    check_v02_verify(ref, node_key[1])


def test_v02_bundle_referrer_in_the_registry_is_verified(sigstore_js: Path, node_key: tuple[Path, Path],
                                                         fixture_layout: Path, registry: RegistryProcess,
                                                         tmp_path: Path):
    copied = cli("copy", f"oci:{fixture_layout}:single", f"{registry.host}/bundles/v02:1")
    assert copied.code == 0, copied
    store = open_repository(parse_image_reference(f"{registry.host}/bundles/v02"), Settings())
    subject = store.resolve("1")
    bundle = v02_image_bundle(sigstore_js, subject, node_key, tmp_path)
    signature = attach(store, subject, bundle, BUNDLE_V02)
    third_party_unusable(store, subject)
    ref = f"{registry.host}/bundles/v02@{subject.digest}"
    listed = cli("download", "signature", ref)
    assert listed.code == 0 and BUNDLE_V02 in listed.stdout, listed
    check_v02_verify(ref, node_key[1])
    # Without sigstore-js's v0.2 signature (what verify saw before issue 9, which looked for v0.3 referrers
    # only) nothing verifies, and the skipped bundles are named with their reasons.
    store.delete_manifest(signature.digest)
    refused = cli("verify", ref, "--key", str(node_key[1]), "--insecure-ignore-tlog")
    assert refused.code != 0 and "no signatures found (2 non-signature attachments skipped)" in refused.stderr
    assert "skipped referrer sha256:" in refused.stderr
