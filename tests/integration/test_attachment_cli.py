"""``attach signature``, ``download signature``, ``triangulate`` and ``clean`` through the CLI, each on an OCI
layout and on the real registry (CNCF distribution, no referrers API: the referrers tag is maintained), with
the bad inputs of each. Library-level cases are in ``tests/unit/test_attachments*.py``."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import pty
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from supplychain import keys
from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.errors import ExitCode, NotFoundError
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, Manifest, build_index
from supplychain.oci.store import ArtifactStore
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from supplychain.signing import SignatureFormat, sign_image
from supplychain.signing.legacy import build_signature_manifest
from supplychain.signing.payload import build_payload
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, run_cli, run_cli_in

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"


@dataclass
class Target:
    """One store kind with the fixture's ``single`` and ``multi`` images in it."""

    kind: str
    repository: str  # as triangulate prints it: host/repo or oci:PATH
    config_dir: Path
    layout_path: Path | None = None

    def ref(self, tag: str = "single") -> str:
        return f"{self.repository}:{tag}"

    def digest_ref(self, digest: Digest) -> str:
        return f"{self.repository}@{digest}"

    def open(self) -> ArtifactStore:
        if self.layout_path is not None:
            return OciLayout(self.layout_path)
        return open_repository(parse_image_reference(self.repository), Settings(docker_config_dir=self.config_dir))

    def run(self, *args: str, stdin: bytes | None = None) -> CliResult:
        return run(list(args), self.config_dir, stdin)

    def sig_layers(self, digest: Digest) -> int | None:
        """How many layers the ``.sig`` manifest of ``digest`` has (``None``: no such tag)."""
        store = self.open()
        try:
            found = store.get_manifest(attachment_tag(digest, AttachmentKind.SIGNATURE))
        except NotFoundError:
            return None
        finally:
            store.close()
        assert isinstance(found, Manifest)
        return len(found.layers)

    def digest(self, tag: str = "single") -> Digest:
        store = self.open()
        try:
            return store.resolve(tag).digest
        finally:
            store.close()


def run(args: list[str], config_dir: Path, stdin: bytes | None = None) -> CliResult:
    """``supplychain ARGS`` with ``config_dir`` as the docker config and ``stdin`` (never a terminal)."""
    return run_cli_in(config_dir, args, stdin)


@pytest.fixture(params=["layout", "registry"])
def target(request: pytest.FixtureRequest, fixture_layout: Path, fixture_layout_copy: Path, tmp_path: Path) -> Target:
    if request.param == "layout":
        return Target("layout", f"oci:{fixture_layout_copy}", tmp_path, fixture_layout_copy)
    proc: RegistryProcess = request.getfixturevalue("registry")
    repository = f"{proc.host}/attach/{uuid.uuid4().hex[:12]}"
    for tag in ("single", "multi"):
        result = run(["copy", f"oci:{fixture_layout}:{tag}", f"{repository}:{tag}", "--without-referrers"], tmp_path)
        assert result.code == 0, result
    return Target("registry", repository, tmp_path)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[keys.KeyPair, Path]:
    key_pair = keys.generate_key_pair("ecdsa-p256")
    pub = tmp_path_factory.mktemp("attach-keys") / "cosign.pub"
    pub.write_bytes(key_pair.public_key.pem())
    return key_pair, pub


def out_of_band(tmp_path: Path, digest: Digest, key_pair: keys.KeyPair) -> tuple[Path, Path]:
    """Sign a payload for ``digest`` without any store (``supplychain.keys.sign``); write payload and signature."""
    payload = build_payload(NAME, digest)
    signature = keys.sign(key_pair.private_key, payload)
    payload_file = tmp_path / f"payload-{digest.hex[:8]}.json"
    payload_file.write_bytes(payload)
    signature_file = tmp_path / f"signature-{digest.hex[:8]}.b64"
    signature_file.write_bytes(base64.b64encode(signature))
    return payload_file, signature_file


def snapshot(target: Target) -> dict[str, str] | None:
    if target.layout_path is None:
        return None
    return {str(p.relative_to(target.layout_path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(target.layout_path.rglob("*")) if p.is_file() and not p.name.startswith(".supplychain")}


# -- attach signature ----------------------------------------------------------------------------


def test_attach_out_of_band_signature_then_verify(target: Target, pair: tuple[keys.KeyPair, Path], tmp_path: Path):
    key_pair, pub = pair
    digest = target.digest()
    payload, signature = out_of_band(tmp_path, digest, key_pair)
    result = target.run("attach", "signature", target.ref(), "--payload", str(payload), "--signature", str(signature))
    assert result.code == 0, result
    assert f"attaching a signature to {digest} (resolved from tag single)" in result.stderr
    assert f"Signature attached to {target.repository}@{digest} at {target.repository}:sha256-{digest.hex}.sig" \
        in result.stderr
    assert result.stdout == ""

    verified = target.run("verify", target.ref(), "--key", str(pub), "-o", "json", "--insecure-ignore-tlog")
    assert verified.code == 0, verified
    assert json.loads(verified.stdout) == [json.loads(payload.read_bytes())]

    again = target.run("attach", "signature", target.digest_ref(digest), "--payload", str(payload),
                       "--signature", str(signature))
    assert again.code == 0 and "Signature already attached" in again.stderr
    assert f"attaching a signature to {digest}\n" in again.stderr  # by digest: nothing resolved
    assert target.sig_layers(digest) == 1

    # Another signature over the payload as raw DER (openssl dgst -sign), and one on standard input: ECDSA is
    # randomized, so each is a new layer.
    der = tmp_path / "signature.der"
    der.write_bytes(keys.sign(key_pair.private_key, payload.read_bytes()))
    assert target.run("attach", "signature", target.ref(), "--payload", str(payload), "--signature",
                      str(der)).code == 0
    stdin_sig = base64.b64encode(keys.sign(key_pair.private_key, payload.read_bytes())) + b"\n"
    piped = target.run("attach", "signature", target.ref(), "--payload", str(payload), "--signature", "-",
                       stdin=stdin_sig)
    assert piped.code == 0, piped
    assert target.sig_layers(digest) == 3
    assert target.run("verify", target.ref(), "--key", str(pub), "--insecure-ignore-tlog").code == 0


def test_attaching_another_images_payload_is_refused(target: Target, pair: tuple[keys.KeyPair, Path],
                                                     tmp_path: Path):
    single, multi = target.digest("single"), target.digest("multi")
    payload, signature = out_of_band(tmp_path, single, pair[0])
    before = snapshot(target)
    result = target.run("attach", "signature", target.ref("multi"), "--payload", str(payload),
                        "--signature", str(signature))
    result.assert_one_line_error(ExitCode.INVALID_INPUT, f"the payload is for {single}, not for {multi}",
                                 "replay")
    assert target.sig_layers(multi) is None and target.sig_layers(single) is None
    assert snapshot(target) == before


@pytest.mark.parametrize(
    ("case", "code", "fragment"),
    [
        ("not-base64", ExitCode.INVALID_INPUT, "neither base64 text nor a DER-encoded signature"),
        ("big-payload", ExitCode.INVALID_INPUT, "larger than 1 MiB"),
        ("big-signature", ExitCode.INVALID_INPUT, "larger than 64 KiB"),
        ("empty-signature", ExitCode.INVALID_INPUT, "is empty"),
        ("missing-payload", ExitCode.INVALID_INPUT, "does not exist"),
        ("missing-signature", ExitCode.INVALID_INPUT, "does not exist"),
        ("not-a-payload", ExitCode.INVALID_INPUT, "not a cosign simple-signing payload"),
        ("no-such-image", ExitCode.NOT_FOUND, "no-such-tag"),
    ],
)
def test_attach_bad_input(target: Target, pair: tuple[keys.KeyPair, Path], tmp_path: Path, case: str, code: int,
                          fragment: str):
    digest = target.digest()
    payload, signature = out_of_band(tmp_path, digest, pair[0])
    tag = "single"
    match case:
        case "not-base64":
            signature.write_text("this is not a signature\n")
        case "big-payload":
            payload.write_bytes(payload.read_bytes() + b" " * (1024 * 1024))
        case "big-signature":
            signature.write_bytes(b"A" * (64 * 1024 + 4))
        case "empty-signature":
            signature.write_bytes(b"")
        case "missing-payload":
            payload = tmp_path / "nope.json"
        case "missing-signature":
            signature = tmp_path / "nope.sig"
        case "not-a-payload":
            payload.write_text('{"hello": "world"}')
        case "no-such-image":
            tag = "no-such-tag"
    before = snapshot(target)
    result = target.run("attach", "signature", target.ref(tag), "--payload", str(payload),
                        "--signature", str(signature))
    result.assert_one_line_error(code, fragment)
    assert target.sig_layers(digest) is None
    assert snapshot(target) == before


# -- download signature --------------------------------------------------------------------------


def test_download_signature(target: Target, pair: tuple[keys.KeyPair, Path]):
    key_pair, _ = pair
    store = target.open()
    try:
        subject = store.resolve("single")
        legacy = sign_image(store, subject, key_pair.private_key, docker_reference=NAME).images[0]
        bundle = sign_image(store, subject, key_pair.private_key, docker_reference=NAME,
                            signature_format=SignatureFormat.BUNDLE).images[0]
    finally:
        store.close()
    result = target.run("download", "signature", target.ref())
    assert result.code == 0, result
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["mediaType"] == MediaType.SIGSTORE_BUNDLE_V03 and "dsseEnvelope" in first
    assert json.dumps(first, separators=(",", ":")) == (bundle.bundle or b"").decode()
    assert base64.b64decode(second["Payload"]) == legacy.payload
    assert base64.b64decode(second["Base64Signature"]) == legacy.signature
    assert second["Cert"] is None and second["RFC3161Timestamp"] is None
    assert result.stderr == ""


def test_download_without_signatures(target: Target):
    digest = target.digest("multi")
    result = target.run("download", "signature", target.ref("multi"))
    result.assert_one_line_error(ExitCode.NOT_FOUND, f"no signatures associated with {target.repository}@{digest}")
    assert result.stdout == ""
    target.run("download", "signature", target.ref("missing")).assert_one_line_error(ExitCode.NOT_FOUND)


# -- triangulate ---------------------------------------------------------------------------------


def test_triangulate(target: Target, pair: tuple[keys.KeyPair, Path]):
    digest = target.digest()
    for kind, suffix in (("signature", "sig"), ("attestation", "att"), ("sbom", "sbom")):
        result = target.run("triangulate", target.ref(), "--type", kind)
        assert result.code == 0, result
        assert result.stdout == f"{target.repository}:sha256-{digest.hex}.{suffix}\n"
    assert target.run("triangulate", target.ref()).stdout.endswith(".sig\n")  # cosign's default type

    target.run("triangulate", target.ref(), "--type", "bundle").assert_one_line_error(
        ExitCode.NOT_FOUND, "no Sigstore bundle referrers")
    store = target.open()
    try:
        signed = sign_image(store, store.resolve("single"), pair[0].private_key, docker_reference=NAME,
                            signature_format=SignatureFormat.BUNDLE).images[0]
    finally:
        store.close()
    assert signed.artifact is not None
    result = target.run("triangulate", target.ref(), "--type", "bundle")
    assert result.stdout == f"{target.repository}@{signed.artifact.digest}\n"
    target.run("triangulate", target.ref("missing")).assert_one_line_error(ExitCode.NOT_FOUND)


# -- clean ---------------------------------------------------------------------------------------


def _attach_all(target: Target, key_pair: keys.KeyPair) -> None:
    """A legacy signature, a bundle and a cosign-style .att manifest on ``single``."""
    store = target.open()
    try:
        subject = store.resolve("single")
        sign_image(store, subject, key_pair.private_key, docker_reference=NAME)
        sign_image(store, subject, key_pair.private_key, docker_reference=NAME,
                   signature_format=SignatureFormat.BUNDLE)
        layer = Descriptor.for_bytes(MediaType.DSSE_ENVELOPE, b'{"payloadType":"x"}')
        store.put_blob(layer, [b'{"payloadType":"x"}'])
        manifest, config = build_signature_manifest([layer])
        store.put_blob(manifest.config, [config])
        store.put_manifest(manifest, tag=attachment_tag(subject.digest, AttachmentKind.ATTESTATION))
    finally:
        store.close()


def test_clean(target: Target, pair: tuple[keys.KeyPair, Path]):
    key_pair, pub = pair
    digest = target.digest()
    _attach_all(target, key_pair)
    before = snapshot(target)

    refused = target.run("clean", target.ref())
    refused.assert_one_line_error(ExitCode.USAGE, "standard input is not a terminal", "pass --force")
    assert snapshot(target) == before and target.sig_layers(digest) == 1

    result = target.run("clean", target.ref(), "--type", "signature", "--force")
    assert result.code == 0, result
    lines = result.stderr.splitlines()
    assert lines[0] == f"cleaning the attachments of {digest} (resolved from tag single)"
    assert lines[1].startswith(f"Removed {target.repository}@sha256:")  # the bundle referrer first
    assert lines[1].endswith(f"({MediaType.SIGSTORE_BUNDLE_V03}) from {target.ref()}")
    assert lines[2] == f"Removed {target.repository}:sha256-{digest.hex}.sig from {target.ref()}"
    if target.layout_path is not None:
        # Issue 8.19: the two manifests, the .sig payload and config, the bundle and its empty config.
        assert lines[3:] == [f"Removed 6 unreferenced blobs from {target.repository}"]
    else:
        assert len(lines) == 3
    assert target.sig_layers(digest) is None
    target.run("download", "signature", target.ref()).assert_one_line_error(ExitCode.NOT_FOUND)
    assert target.run("verify", target.ref(), "--key", str(pub), "--insecure-ignore-tlog").code == \
        ExitCode.VERIFICATION_FAILED
    assert target.run("triangulate", target.ref(), "--type", "bundle").code == ExitCode.NOT_FOUND

    # The attestation was not a signature: it is still there, and `all` removes it.
    result = target.run("clean", target.ref(), "--force")
    assert result.code == 0, result
    assert f"Removed {target.repository}:sha256-{digest.hex}.att" in result.stderr
    nothing = target.run("clean", target.ref(), "--force")
    assert nothing.code == 0
    assert nothing.stderr.splitlines()[-1] == f"Nothing attached to {target.ref()} ({digest}): nothing to clean"
    assert target.digest() == digest  # the image itself is untouched


def test_clean_leaves_alone_what_a_hostile_referrers_listing_names(target: Target, pair: tuple[keys.KeyPair, Path]):
    # Issue 7.1: distribution 2.8 has no referrers API, so the listing is the tag sha256-<hex>, which anyone with
    # push rights writes. It names the image itself and another image as signature bundles, next to the real one.
    key_pair, _ = pair
    digest, other = target.digest(), target.digest("multi")
    store = target.open()
    try:
        subject = store.resolve("single")
        real = sign_image(store, subject, key_pair.private_key, docker_reference=NAME,
                          signature_format=SignatureFormat.BUNDLE).images[0].artifact
        assert real is not None
        listed = store.referrers(digest)
        hostile = [dataclasses.replace(store.resolve(ref), artifact_type=MediaType.SIGSTORE_BUNDLE_V03)
                   for ref in ("single", "multi")]
        store.put_manifest(build_index([*listed, *hostile]), tag=digest.tag_form)
        assert {d.digest for d in store.referrers(digest)} >= {digest, other, real.digest}
    finally:
        store.close()

    result = target.run("clean", target.digest_ref(digest), "--type", "signature", "-f")
    assert result.code == 0, result
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: left alone")]
    assert warnings == [
        f"warning: left alone {target.repository}@{digest}: the referrers listing names the image itself: "
        "not deleted",
        f"warning: left alone {target.repository}@{other}: listed as a referrer but the manifest has no subject, "
        f"not {digest}: not deleted",
    ]
    assert f"Removed {target.repository}@{real.digest} ({MediaType.SIGSTORE_BUNDLE_V03})" in result.stderr
    # Both images are still there, whole; the real signature referrer is gone.
    store = target.open()
    try:
        assert store.resolve(digest).digest == digest and store.get_manifest(digest)
        assert store.resolve(other).digest == other
        assert all(store.get_manifest(child) for child in store.get_manifest(other).manifests)  # type: ignore[union-attr]
        assert real.digest not in {d.digest for d in store.referrers(digest)}
        if target.layout_path is None:
            with pytest.raises(NotFoundError):
                store.get_manifest(real.digest)
        else:
            assert not store.has_blob(real.digest)
    finally:
        store.close()
    assert target.run("tree", target.ref()).code == 0


def test_clean_leaves_alone_another_image_at_the_sig_tag(target: Target):
    # The .sig tag is as writable as the referrers tag: another image pushed there is not deleted.
    digest, other = target.digest(), target.digest("multi")
    store = target.open()
    try:
        arm64 = store.get_manifest(store.get_manifest(other).manifests[1])  # type: ignore[union-attr]
        store.put_manifest(arm64, tag=attachment_tag(digest, AttachmentKind.SIGNATURE))
    finally:
        store.close()
    result = target.run("clean", target.digest_ref(digest), "--type", "signature", "-f")
    assert result.code == 0, result
    assert (f"warning: left alone {target.repository}:sha256-{digest.hex}.sig ({arm64.digest}): has no signature "
            "layer") in result.stderr
    assert "Removed" not in result.stderr
    store = target.open()
    try:
        assert store.get_manifest(arm64.digest) and store.resolve(other).digest == other
    finally:
        store.close()


def test_clean_image_that_does_not_exist(target: Target):
    target.run("clean", target.ref("missing"), "--force").assert_one_line_error(ExitCode.NOT_FOUND)


# -- clean, the terminal prompt ------------------------------------------------------------------


def run_in_terminal(args: list[str], answer: bytes, env: dict[str, str]) -> tuple[int, str]:
    """Run ``python -m supplychain ARGS`` on a pseudo-terminal, answer the prompt, return (status, output)."""
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "supplychain", *args], stdin=child_fd, stdout=child_fd,
                            stderr=child_fd, env=env, close_fds=True)
    os.close(child_fd)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main_fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and b"continue?" in output:
                os.write(main_fd, answer + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=30), output.decode(errors="replace")
    finally:
        os.close(main_fd)
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def terminal_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("SUPPLYCHAIN_PASSWORD", "COSIGN_PASSWORD")}
    env["DOCKER_CONFIG"] = str(tmp_path)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    yield env


def test_clean_asks_on_a_terminal(fixture_layout_copy: Path, pair: tuple[keys.KeyPair, Path],
                                  terminal_env: dict[str, str]):
    target = Target("layout", f"oci:{fixture_layout_copy}", Path(terminal_env["DOCKER_CONFIG"]), fixture_layout_copy)
    digest = target.digest()
    _attach_all(target, pair[0])
    code, output = run_in_terminal(["clean", target.ref(), "--type", "signature"], b"n", terminal_env)
    assert "WARNING: this will remove all signatures from the image" in output
    assert f"  - {target.repository}:sha256-{digest.hex}.sig" in output
    assert "Are you sure you want to continue? [y/N]" in output
    # Declined is an answer, not a failure: cosign exits 0; 130 is for Ctrl-C (issue 8, item 17).
    assert code == 0, output
    assert "Not confirmed: nothing was deleted" in output and "error:" not in output
    assert target.sig_layers(digest) == 1  # declined: nothing deleted

    code, output = run_in_terminal(["clean", target.ref(), "--type", "signature"], b"y", terminal_env)
    assert code == 0, output
    assert f"Removed {target.repository}:sha256-{digest.hex}.sig" in output
    assert target.sig_layers(digest) is None


# -- triangulate by digest: offline and light (issue 8, item 12) ---------------------------------------------------

HEX = "ab" * 32


def test_triangulate_by_digest_needs_no_registry():
    """Port 1 on loopback has nothing listening: a digest reference's tag is computed, not looked up."""
    result = run_cli(["triangulate", f"127.0.0.1:1/team/app@sha256:{HEX}"])
    assert result.code == 0, result
    assert result.stdout == f"127.0.0.1:1/team/app:sha256-{HEX}.sig\n"
    result = run_cli(["triangulate", f"app@sha256:{HEX}", "--type", "attestation"])
    assert result.stdout == f"index.docker.io/library/app:sha256-{HEX}.att\n"  # cosign's spelling of Docker Hub
    # Control: a tag must be resolved, so the unreachable registry is an error; bundles need the referrers.
    run_cli(["triangulate", "127.0.0.1:1/team/app:v1"]).assert_one_line_error(ExitCode.UNAVAILABLE)
    run_cli(["triangulate", f"127.0.0.1:1/team/app@sha256:{HEX}", "--type", "bundle"]).assert_one_line_error(
        ExitCode.UNAVAILABLE)


def test_triangulate_by_digest_does_not_import_the_signing_stack():
    code = (
        "import sys\n"
        "from supplychain.cli.main import main\n"
        "try:\n"
        f"    main(['triangulate', '127.0.0.1:1/team/app@sha256:{HEX}'])\n"
        "except SystemExit as exit_:\n"
        "    assert not exit_.code, exit_.code\n"
        # modules with a file: the httpx._main stand-in (supplychain/__init__.py) is not an import of httpx's CLI
        "loaded = [m for m, mod in sys.modules.items() if getattr(mod, '__file__', None)]\n"
        "heavy = sorted(m for m in loaded if m.split('.')[0] in ('pydantic', 'nacl', 'cryptography', 'httpx')\n"
        "               or m.startswith(('supplychain.signing', 'supplychain.registry', 'supplychain.attachments')))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"127.0.0.1:1/team/app:sha256-{HEX}.sig\n"
    assert "HEAVY []" in done.stderr, done.stderr
