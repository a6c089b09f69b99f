"""``clean`` on a registry that refuses deletes (CNCF distribution's default), and the attachment commands
behind Basic auth. The per-store flows are in ``test_attachment_cli.py``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supplychain import keys
from supplychain.config import Settings
from supplychain.errors import ExitCode
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.attach import attach_signature
from supplychain.signing.payload import build_payload
from supplychain.signing.writer import is_listed
from supplychain.verify import VerifyPolicy, verify_image
from tests.integration.test_attachment_cli import NAME, run
from tests.support.concurrency import run_together
from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess

pytestmark = pytest.mark.integration


class NoDeleteRegistry(RegistryProcess):
    """distribution with ``storage.delete.enabled: false``: DELETE answers 405 UNSUPPORTED."""

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg["storage"]["delete"] = {"enabled": False}
        return cfg


@pytest.fixture(scope="module")
def no_delete_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    proc = NoDeleteRegistry(tmp_path_factory.mktemp("registry-no-delete")).start()
    yield proc
    proc.stop()


def test_clean_where_deletes_are_disabled(no_delete_registry: RegistryProcess, fixture_layout: Path,
                                          tmp_path: Path):
    repository = f"{no_delete_registry.host}/app"
    assert run(["copy", f"oci:{fixture_layout}:single", f"{repository}:1"], tmp_path).code == 0
    pair = keys.generate_key_pair("ecdsa-p256")
    with open_repository(parse_image_reference(repository), Settings(docker_config_dir=tmp_path)) as store:
        subject = store.resolve("1")
        sign_image(store, subject, pair.private_key, docker_reference=NAME)
        sign_image(store, subject, pair.private_key, docker_reference=NAME, signature_format=SignatureFormat.BUNDLE)

    result = run(["clean", f"{repository}:1", "--force"], tmp_path)
    result.assert_one_line_error(ExitCode.UNAVAILABLE, "could not delete", "does not support this operation",
                                 "(nothing was deleted)")
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint: "))
    assert "storage.delete.enabled: true" in hint and "REGISTRY_STORAGE_DELETE_ENABLED=true" in hint
    assert "Removed" not in result.stderr
    # Nothing changed: both signatures are still there.
    lines = run(["download", "signature", f"{repository}:1"], tmp_path).stdout.splitlines()
    assert len(lines) == 2


def test_attachment_commands_behind_basic_auth(auth_registry: RegistryProcess, fixture_layout: Path,
                                               tmp_path: Path):
    token = base64.b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": token}}}))
    repository = f"{auth_registry.host}/attach-basic"
    assert run(["copy", f"oci:{fixture_layout}:single", f"{repository}:1"], tmp_path).code == 0
    with open_repository(parse_image_reference(repository), Settings(docker_config_dir=tmp_path)) as store:
        digest = store.resolve("1").digest
    pair = keys.generate_key_pair("ecdsa-p256")
    payload = build_payload(NAME, digest)
    (tmp_path / "payload.json").write_bytes(payload)
    (tmp_path / "sig").write_bytes(base64.b64encode(keys.sign(pair.private_key, payload)))
    (tmp_path / "cosign.pub").write_bytes(pair.public_key.pem())

    attached = run(["attach", "signature", f"{repository}:1", "--payload", str(tmp_path / "payload.json"),
                    "--signature", str(tmp_path / "sig")], tmp_path)
    assert attached.code == 0, attached
    assert run(["verify", f"{repository}:1", "--key", str(tmp_path / "cosign.pub"), "--insecure-ignore-tlog"],
               tmp_path).code == 0
    downloaded = run(["download", "signature", f"{repository}:1"], tmp_path)
    assert base64.b64decode(json.loads(downloaded.stdout)["Payload"]) == payload
    assert run(["triangulate", f"{repository}:1"], tmp_path).stdout == (
        f"{repository}:{attachment_tag(digest, AttachmentKind.SIGNATURE)}\n")
    cleaned = run(["clean", f"{repository}:1", "--force"], tmp_path)
    assert cleaned.code == 0 and "Removed" in cleaned.stderr
    anonymous = run(["clean", f"{repository}:1", "--force"], tmp_path / "nowhere")
    anonymous.assert_one_line_error(ExitCode.AUTH, "no basic auth credentials")


def test_concurrent_attachers_keep_every_signature(registry: RegistryProcess, fixture_layout: Path, tmp_path: Path):
    """Six ``attach signature`` of one digest at once: every layer is in the .sig manifest afterwards."""
    repository = f"{registry.host}/attach-concurrent"
    assert run(["copy", f"oci:{fixture_layout}:single", f"{repository}:1"], tmp_path).code == 0
    settings = Settings(docker_config_dir=tmp_path)
    with open_repository(parse_image_reference(repository), settings) as store:
        subject = store.resolve("1")
    pairs = [keys.generate_key_pair("ecdsa-p256") for _ in range(6)]
    payload = build_payload(NAME, subject.digest)

    def attacher(pair: keys.KeyPair):  # one repository client per writer, as separate processes would have
        def attach():
            with open_repository(parse_image_reference(repository), settings) as store:
                return attach_signature(store, subject, payload, keys.sign(pair.private_key, payload))
        return attach

    results = run_together([attacher(pair) for pair in pairs])
    with open_repository(parse_image_reference(repository), settings) as store:
        sig = store.get_manifest(attachment_tag(subject.digest, AttachmentKind.SIGNATURE))
        layers = list(sig.layers)  # type: ignore[union-attr]
        assert len(layers) == 6 and all(is_listed(layers, result.layer) for result in results)
        for pair in pairs:
            assert verify_image(store, subject.digest,
                                VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True)).verified
