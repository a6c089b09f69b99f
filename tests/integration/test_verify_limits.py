"""Many large bundle referrers on a real registry (issue 7.4): ``verify`` refuses a bundle over the signature cap
(1 MiB, ``SUPPLYCHAIN_MAX_SIGNATURE_SIZE``) from its declared size, before downloading or parsing it, so its memory
stays bounded however many there are; with the cap raised, signatures are read, checked and dropped one at a time.
A normal-sized bundle still verifies."""

from __future__ import annotations

import base64
import json
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest

from supplychain import keys
from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Manifest, build_manifest
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.bundle import BUNDLE_MEDIA_TYPE
from supplychain.verify import VerifyPolicy, verify_image
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, put_bytes, run_cli

pytestmark = pytest.mark.integration

LARGE = 3 * 1024 * 1024  # each hostile bundle's DSSE payload: over the 1 MiB cap, far under the old 128 MiB
COUNT = 8


@pytest.fixture(scope="module")
def crowded(registry: RegistryProcess, fixture_layout: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[str, Digest, Path]:
    """``single`` with one real signature bundle and ``COUNT`` bundle referrers of ``LARGE`` payloads, each a
    well-formed bundle (so one that is read is parsed and held) whose signature does not verify."""
    repo = f"{registry.host}/limits/{uuid.uuid4().hex[:12]}"
    result = run_cli(["copy", f"oci:{fixture_layout}:single", f"{repo}:single", "--without-referrers"])
    assert result.code == 0, result
    pair = keys.generate_key_pair("ecdsa-p256")
    pub = tmp_path_factory.mktemp("limits") / "cosign.pub"
    pub.write_bytes(pair.public_key.pem())
    store = open_repository(parse_image_reference(repo), Settings())
    try:
        subject = store.resolve("single")
        sign_image(store, subject, pair.private_key, docker_reference=repo, signature_format=SignatureFormat.BUNDLE)
        (real,) = store.referrers(subject.digest, BUNDLE_MEDIA_TYPE)
        manifest = store.get_manifest(real)
        assert isinstance(manifest, Manifest)
        bundle: dict[str, Any] = json.loads(store.get_blob(manifest.layers[0]))
        for n in range(COUNT):
            bundle["dsseEnvelope"]["payload"] = base64.b64encode(bytes([n]) * LARGE).decode()
            layer = put_bytes(store, BUNDLE_MEDIA_TYPE, json.dumps(bundle).encode())
            store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
            store.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject,
                                              artifact_type=BUNDLE_MEDIA_TYPE))
        assert len(store.referrers(subject.digest, BUNDLE_MEDIA_TYPE)) == COUNT + 1
    finally:
        store.close()
    return repo, subject.digest, pub


def _verify(repo: str, digest: Digest, pub: Path, env: dict[str, str | None] | None = None) -> tuple[CliResult, int]:
    tracemalloc.start()
    try:
        result = run_cli(["verify", f"{repo}@{digest}", "--key", str(pub), "--insecure-ignore-tlog"],
                         env={"SUPPLYCHAIN_REKOR_URL": None, **(env or {})})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_oversize_bundles_are_refused_before_download(crowded: tuple[str, Digest, Path]):
    repo, digest, pub = crowded
    result, peak = _verify(repo, digest, pub)
    assert result.code == 0, result  # the normal-sized bundle verifies
    assert peak < LARGE  # not one of the large bundles was downloaded
    store = open_repository(parse_image_reference(repo), Settings())
    try:
        policy = VerifyPolicy((keys.load_public_key_pem(pub.read_bytes()),), insecure_ignore_tlog=True)
        verdict = verify_image(store, digest, policy)
    finally:
        store.close()
    assert verdict.verified and len(verdict.signatures) == COUNT + 1
    refused = [s.reason for s in verdict.signatures if not s.verified]
    assert len(refused) == COUNT
    assert all(r.startswith("read: bundle declares ") and r.endswith("over the 1048576-byte limit: not read")
               for r in refused), refused


def test_with_the_cap_raised_one_bundle_is_held_at_a_time(crowded: tuple[str, Digest, Path]):
    repo, digest, pub = crowded
    result, peak = _verify(repo, digest, pub, env={"SUPPLYCHAIN_MAX_SIGNATURE_SIZE": str(8 * 1024 * 1024)})
    assert result.code == 0, result
    # Each large bundle is read, parsed, checked (its signature fails) and dropped before the next: the peak is
    # the copies of one bundle while it is read (bytes, text, decoded payload, signed bytes: about 8 * LARGE,
    # 26 MB measured), not COUNT of them held together (89 MB measured before issue 7.4's fix).
    assert peak < 12 * LARGE, peak
