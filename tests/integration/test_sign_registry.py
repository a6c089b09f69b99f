"""``sign`` and ``verify`` against the real registry in every auth mode (plain HTTP, Basic auth, TLS with a
test CA), through the CLI, plus the library over ``RegistryRepository`` for cases that need crafted content.

The same flows run on OCI layouts in ``test_sign_cli.py`` and ``tests/unit/{signing,verify}``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Manifest, build_index, build_manifest
from supplychain.reference import parse_image_reference
from supplychain.registry import RegistryRepository, open_repository
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.bundle import BUNDLE_MEDIA_TYPE
from supplychain.verify import EvidenceSource, VerifyPolicy, verify_image
from tests.support import tlsca
from tests.support.concurrency import run_together
from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess
from tests.support.signatures import generate_cli_key_pair, new_key, put_bytes, run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

PASSWORD = "TEST-ONLY-registry"


@dataclass(frozen=True)
class Target:
    """One registry variant: its host, the extra CLI flags and environment, and the library settings."""

    mode: str
    host: str
    flags: tuple[str, ...]
    env: dict[str, str | None]
    settings: Settings

    def repository(self, repo: str) -> RegistryRepository:
        return open_repository(parse_image_reference(f"{self.host}/{repo}"), self.settings)


@pytest.fixture(params=["plain", "basic", "tls"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    mode = request.param
    if mode == "plain":
        proc: RegistryProcess = request.getfixturevalue("registry")
        return Target(mode, proc.host, (), {"DOCKER_CONFIG": str(tmp_path)}, Settings(docker_config_dir=tmp_path))
    if mode == "basic":
        proc = request.getfixturevalue("auth_registry")
        token = base64.b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
        (tmp_path / "config.json").write_text(json.dumps({"auths": {proc.host: {"auth": token}}}))
        return Target(mode, proc.host, (), {"DOCKER_CONFIG": str(tmp_path)}, Settings(docker_config_dir=tmp_path))
    proc = request.getfixturevalue("tls_registry")
    certs: tlsca.TestCertificates = request.getfixturevalue("test_certificates")
    return Target(mode, proc.host, ("--ca-file", str(certs.ca_cert)), {"DOCKER_CONFIG": str(tmp_path)},
                  Settings(ca_file=certs.ca_cert, docker_config_dir=tmp_path))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("registry-keys") / "cosign", PASSWORD)


def cli(target: Target, *args: str) -> tuple[int, str, str]:
    result = run_cli([*args, *target.flags], env={**target.env, "SUPPLYCHAIN_PASSWORD": PASSWORD})
    return result.code, result.stdout, result.stderr


def push(target: Target, fixture_layout: Path, repo: str, tag: str = "multi") -> str:
    code, out, err = cli(target, "copy", f"oci:{fixture_layout}:{tag}", f"{target.host}/{repo}:1",
                         "--without-referrers")
    assert code == 0, err
    return out.strip().rpartition("@")[2]


def test_sign_and_verify_both_formats(target: Target, fixture_layout: Path, keys: tuple[Path, Path],
                                     tlog_server: LogProcess):
    """Signed with upload to the local transparency log (its key trusted on first use: it is on loopback),
    verified with the log's key, offline."""
    key, pub = keys
    repo = f"sign/{target.mode}"
    digest = push(target, fixture_layout, repo)
    log = ("--rekor-url", tlog_server.url)
    code, _, err = cli(target, "sign", f"{target.host}/{repo}:1", "--key", str(key), "--recursive", "-a", "k=v", *log)
    assert code == 0, err
    assert f"signing {digest} (resolved from tag 1)" in err
    assert err.count("Pushed signature for") == 3 and err.count("tlog entry created with index: ") == 3
    code, _, err = cli(target, "sign", f"{target.host}/{repo}@{digest}", "--key", str(key), "--format", "bundle",
                       "-a", "k=v", *log)
    assert code == 0, err
    code, _, err = cli(target, "sign", f"{target.host}/{repo}@{digest}", "--key", str(key), *log)
    assert code == 0 and "Pushed signature" in err  # another payload (no annotation): appended
    code, _, err = cli(target, "sign", f"{target.host}/{repo}@{digest}", "--key", str(key), *log)
    assert "Signature already present" in err and "tlog entry created" not in err  # nothing logged twice

    code, out, err = cli(target, "verify", f"{target.host}/{repo}:1", "--key", str(pub), "-a", "k=v",
                         "--check-reference", "-o", "json", "--rekor-public-key", str(tlog_server.public_key_path))
    assert code == 0, err
    payloads = json.loads(out)
    assert len(payloads) == 2  # the legacy layer with k=v, and the bundle
    assert {p["critical"]["identity"]["docker-reference"] for p in payloads} == {f"{target.host}/{repo}"}
    assert "(legacy-tag, referrer)" in err
    legacy_payload = next(p for p in payloads if "Bundle" in (p["optional"] or {}))
    assert set(legacy_payload["optional"]["Bundle"]) == {"SignedEntryTimestamp", "Payload"}  # as cosign prints it

    with target.repository(repo) as store:
        sig = store.get_manifest(attachment_tag(store.resolve("1").digest, AttachmentKind.SIGNATURE))
        assert isinstance(sig, Manifest) and len(sig.layers) == 2
        children = store.get_manifest(digest).manifests  # type: ignore[union-attr]
    refs = [f"{target.host}/{repo}@{child.digest}" for child in children]
    code, _, err = cli(target, "verify", *refs, "--key", str(pub), "--concurrency", "2", "--tlog-online",
                       "--rekor-url", tlog_server.url, "--rekor-public-key", str(tlog_server.public_key_path))
    assert code == 0, err
    assert err.count("Verified OK") == 2
    assert "The claims were present in the transparency log, and its inclusion was proven online" in err


def test_replay_and_broken_referrer_on_the_registry(target: Target, fixture_layout: Path):
    """Library over RegistryRepository: a replayed .sig fails the claim; a broken bundle referrer does not hide
    a valid legacy signature; a .sig tag holding an index is a problem, not a crash."""
    repo = f"bad/{target.mode}"
    digest = push(target, fixture_layout, repo)
    pair = new_key()
    policy = VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True)  # signed without a log: key-only
    with target.repository(repo) as store:
        index = store.resolve(digest)
        amd64, arm64 = store.get_manifest(index).manifests  # type: ignore[union-attr]
        sign_image(store, amd64, pair.private_key, docker_reference=f"{target.host}/{repo}")
        stolen = store.get_manifest(attachment_tag(amd64.digest, AttachmentKind.SIGNATURE))
        store.put_manifest(stolen, tag=attachment_tag(arm64.digest, AttachmentKind.SIGNATURE))
        replayed = verify_image(store, arm64.digest, policy)
        assert not replayed.verified
        assert replayed.signatures[0].reason == (
            f"claims: expected a signature for {arm64.digest}, got one for {amd64.digest}")

        junk = put_bytes(store, BUNDLE_MEDIA_TYPE, b"not a bundle")
        store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
        store.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [junk], subject=amd64, artifact_type=BUNDLE_MEDIA_TYPE))
        result = verify_image(store, amd64.digest, policy)
        assert result.verified
        assert [s.source for s in result.signatures] == [EvidenceSource.LEGACY_TAG, EvidenceSource.REFERRER]
        assert result.signatures[1].reason is not None and "bundle is not valid JSON" in result.signatures[1].reason

        store.put_manifest(build_index([arm64]), tag=attachment_tag(index.digest, AttachmentKind.SIGNATURE))
        sign_image(store, index, pair.private_key, docker_reference=f"{target.host}/{repo}",
                   signature_format=SignatureFormat.BUNDLE)
        mixed = verify_image(store, index.digest, policy)
        assert mixed.verified
        assert mixed.problems == (f"sha256-{index.digest.hex}.sig holds an image index, not a signature manifest: "
                                  "ignored",)


def test_verify_errors_are_one_line(target: Target, keys: tuple[Path, Path]):
    """One image the tool cannot answer for: one ``error:`` line (cosign prints one ``Error:``), its exit code."""
    code, _, err = cli(target, "verify", f"{target.host}/missing/repo:1", "--key", str(keys[1]),
                       "--insecure-ignore-tlog")
    assert code == 4 and "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].startswith("WARNING: Skipping tlog verification")
    assert lines[1].startswith("error: ") and "missing/repo" in lines[1]
    assert all(line.startswith("hint: ") for line in lines[2:]) and "ERROR " not in err



CONCURRENT_SIGNERS = 6


def test_concurrent_legacy_signing_keeps_every_signature(registry: RegistryProcess, fixture_layout: Path,
                                                         tmp_path: Path):
    """Six signers of one digest at once (read-append-put of one .sig tag, no compare-and-swap in the registry):
    each signature is stored, or its signer fails; none is reported stored and then lost."""
    target = Target("plain", registry.host, (), {"DOCKER_CONFIG": str(tmp_path)}, Settings(docker_config_dir=tmp_path))
    repo = "sign/concurrent-library"
    digest = push(target, fixture_layout, repo, tag="single")
    pair = new_key()

    def signer(n: int):  # one repository client per writer, as separate processes would have
        def run() -> bytes:
            with target.repository(repo) as store:
                result = sign_image(store, store.resolve(digest), pair.private_key,
                                    docker_reference=f"{target.host}/{repo}", annotations={"n": str(n)})
            return result.images[0].signature
        return run

    signatures = run_together([signer(n) for n in range(1, CONCURRENT_SIGNERS + 1)])
    with target.repository(repo) as store:
        sig = store.get_manifest(attachment_tag(store.resolve(digest).digest, AttachmentKind.SIGNATURE))
        assert isinstance(sig, Manifest)
        stored = {layer.annotations["dev.cosignproject.cosign/signature"] for layer in sig.layers}
        assert stored == {base64.b64encode(s).decode() for s in signatures}
        for n in range(1, CONCURRENT_SIGNERS + 1):
            policy = VerifyPolicy((pair.public_key,), {"n": str(n)}, insecure_ignore_tlog=True)
            assert verify_image(store, digest, policy).verified, n


def test_concurrent_sign_commands_keep_every_signature(registry: RegistryProcess, fixture_layout: Path,
                                                       keys: tuple[Path, Path], tmp_path: Path):
    """The report's reproduction: ``sign REF -a n=$i &`` six times, then ``verify -a n=2``."""
    target = Target("plain", registry.host, (), {"DOCKER_CONFIG": str(tmp_path)}, Settings(docker_config_dir=tmp_path))
    repo = "sign/concurrent-cli"
    ref = f"{target.host}/{repo}@{push(target, fixture_layout, repo, tag='single')}"
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path), "SUPPLYCHAIN_PASSWORD": PASSWORD}
    env.pop("SUPPLYCHAIN_REKOR_URL", None)
    procs = [subprocess.Popen([sys.executable, "-m", "supplychain", "sign", ref, "--key", str(keys[0]), "-a", f"n={n}"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(1, CONCURRENT_SIGNERS + 1)]
    outcomes = [(proc.wait(timeout=120), proc.communicate()[1]) for proc in procs]
    assert [code for code, _ in outcomes] == [0] * CONCURRENT_SIGNERS, outcomes
    assert all("Pushed signature for" in err for _, err in outcomes)
    for n in range(1, CONCURRENT_SIGNERS + 1):
        code, _, err = cli(target, "verify", ref, "--key", str(keys[1]), "-a", f"n={n}", "--insecure-ignore-tlog")
        assert code == 0, (n, err)
