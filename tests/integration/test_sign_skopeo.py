"""Interop proof with containers/image (skopeo): it copies our legacy signatures as cosign's.

``skopeo copy`` with ``use-sigstore-attachments: true`` (a registries.d configuration) reads our ``.sig``
manifest as sigstore attachments and rebuilds it on a second registry with containers/image's own writer; our
``verify`` accepts the copy, and the signature layers (media type, annotations, payload bytes) are unchanged.

Debian's skopeo is built with sigstore *verification and signing* disabled ("Debian-local change: sigstore
disabled"), so its ``sigstoreSigned`` policy and ``--sign-by-sigstore-private-key`` cannot be exercised here;
containers/image's verifier is covered by its own fixtures instead
(``tests/unit/verify/test_containers_image_fixtures.py``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from supplychain.config import Settings
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import Manifest
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from tests.support.registry import RegistryProcess
from tests.support.signatures import generate_cli_key_pair, run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

PASSWORD = "TEST-ONLY-skopeo"


@pytest.fixture(scope="module")
def second_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    proc = RegistryProcess(tmp_path_factory.mktemp("registry-second")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("skopeo-keys") / "cosign", PASSWORD)


def registries_d(tmp_path: Path, *hosts: str) -> Path:
    folder = tmp_path / "registries.d"
    folder.mkdir()
    doc = {"docker": {host: {"use-sigstore-attachments": True} for host in hosts}}
    (folder / "supplychain-test.yaml").write_text(yaml.safe_dump(doc))
    return folder


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)


def push_and_sign(fixture_layout: Path, registry: RegistryProcess, repo: str, key: Path, log: LogProcess) -> str:
    """Copy the fixture image in and sign it, logged in the local transparency log."""
    target = f"{registry.host}/{repo}:1"
    result = run_cli(["copy", f"oci:{fixture_layout}:single", target, "--without-referrers"])
    assert result.code == 0, result
    digest = result.stdout.strip().rpartition("@")[2]
    result = run_cli(["sign", f"{registry.host}/{repo}@{digest}", "--key", str(key), "-a", "team=interop",
                      "--rekor-url", log.url], env={"SUPPLYCHAIN_PASSWORD": PASSWORD})
    assert result.code == 0, result
    return digest


def sig_layers(host: str, repo: str, digest: str) -> list:
    from supplychain.digest import Digest

    with open_repository(parse_image_reference(f"{host}/{repo}"), Settings()) as store:
        manifest = store.get_manifest(attachment_tag(Digest.parse(digest), AttachmentKind.SIGNATURE))
        assert isinstance(manifest, Manifest)
        return [(layer, store.get_blob(layer)) for layer in manifest.layers]


def test_skopeo_accepts_copies_and_we_verify_again(fixture_layout: Path, registry: RegistryProcess,
                                                    second_registry: RegistryProcess, keys: tuple[Path, Path],
                                                    tmp_path: Path, tlog_server: LogProcess):
    """skopeo copies the layer with its Rekor bundle annotation; the copy verifies, transparency log included."""
    key, pub = keys
    digest = push_and_sign(fixture_layout, registry, "interop/skopeo", key, tlog_server)
    config = registries_d(tmp_path, registry.host, second_registry.host)
    copied = skopeo("--insecure-policy", "--registries.d", str(config), "copy", "--src-tls-verify=false",
                    "--dest-tls-verify=false", f"docker://{registry.host}/interop/skopeo@{digest}",
                    f"docker://{second_registry.host}/mirror/app:copied")
    assert copied.returncode == 0, copied.stderr

    result = run_cli(["verify", f"{second_registry.host}/mirror/app:copied", "--key", str(pub),
                      "-a", "team=interop", "-o", "json", "--rekor-public-key", str(tlog_server.public_key_path)])
    assert result.code == 0, result
    (payload,) = json.loads(result.stdout)
    assert payload["critical"]["identity"]["docker-reference"] == f"{registry.host}/interop/skopeo"
    assert payload["critical"]["image"]["docker-manifest-digest"] == digest

    ours = sig_layers(registry.host, "interop/skopeo", digest)
    theirs = sig_layers(second_registry.host, "mirror/app", digest)
    assert len(ours) == 1
    assert [(la.media_type, dict(la.annotations), la.digest, blob) for la, blob in theirs] == [
        (la.media_type, dict(la.annotations), la.digest, blob) for la, blob in ours]


def test_without_sigstore_attachments_skopeo_does_not_copy_them(
    fixture_layout: Path, registry: RegistryProcess, second_registry: RegistryProcess, keys: tuple[Path, Path],
    tmp_path: Path, tlog_server: LogProcess,
):
    """The control: the copy above carried the signature because of use-sigstore-attachments."""
    key, pub = keys
    digest = push_and_sign(fixture_layout, registry, "interop/control", key, tlog_server)
    copied = skopeo("--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{registry.host}/interop/control@{digest}",
                    f"docker://{second_registry.host}/mirror/control:copied")
    assert copied.returncode == 0, copied.stderr
    result = run_cli(["verify", f"{second_registry.host}/mirror/control:copied", "--key", str(pub),
                      "--rekor-public-key", str(tlog_server.public_key_path)])
    assert result.code == 1 and "no signatures found" in result.stderr
