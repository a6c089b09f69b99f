"""inspect, tree and copy end to end through the CLI, on OCI layouts and the real registry, read back by skopeo."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from supplychain.cli.main import main
from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.errors import ExitCode
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Manifest, build_index, build_manifest
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from tests.support.registry import RegistryProcess
from tests.support.signatures import run_cli

pytestmark = pytest.mark.integration

SINGLE = "sha256:6eabd4333ae758a6d38c65356c5ccb9153aba863a7a761cac3f5cdb37deeb576"  # tests/unit/test_fixtures.py


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def skopeo_raw_digest(ref: str) -> str:
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", ref], check=True,
                         capture_output=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def attach_referrer_and_signature(layout: OciLayout, subject: Descriptor) -> tuple[Digest, Digest]:
    """An OCI 1.1 referrer and a cosign-style .sig tag for ``subject``: the attachments copy must carry."""
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": str(subject.digest)}}}).encode()
    for blob in (EMPTY_JSON, payload):
        layout.put_blob(Descriptor.for_bytes("application/octet-stream", blob), [blob])
    referrer = build_manifest(
        EMPTY_DESCRIPTOR, [Descriptor.for_bytes("application/vnd.example.test+json", payload)],
        subject=subject, artifact_type="application/vnd.example.test+json",
    )
    layout.put_manifest(referrer)
    sig_layer = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, payload,
                                     annotations={"dev.cosignproject.cosign/signature": "c2ln"})
    config = b'{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}'
    layout.put_blob(Descriptor.for_bytes(MediaType.OCI_CONFIG, config), [config])
    signature = build_manifest(Descriptor.for_bytes(MediaType.OCI_CONFIG, config), [sig_layer])
    layout.put_manifest(signature, tag=attachment_tag(subject.digest, AttachmentKind.SIGNATURE))
    return referrer.digest, signature.digest


def test_inspect_layout_text_and_json(fixture_layout: Path, capsys: pytest.CaptureFixture[str]):
    code, out, err = run(["inspect", f"oci:{fixture_layout}:single"], capsys)
    assert code == 0, err
    digest = OciLayout(fixture_layout).resolve("single").digest
    assert f"Digest:      {digest}" in out
    assert "Platform:    linux/amd64" in out
    assert "org.opencontainers.image.source=" in out

    code, out, _ = run(["inspect", f"oci:{fixture_layout}:multi", "-o", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["mediaType"] == MediaType.OCI_INDEX
    assert {p["platform"] for p in doc["platforms"]} >= {"linux/amd64", "linux/arm64/v8"}

    code, out, _ = run(["inspect", f"oci:{fixture_layout}:multi", "--platform", "linux/arm64", "-o", "json"], capsys)
    assert code == 0
    arm = json.loads(out)
    assert arm["platform"] == "linux/arm64/v8"
    assert arm["digest"] in {p["digest"] for p in doc["platforms"]}


def test_inspect_errors(fixture_layout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["inspect", f"oci:{fixture_layout}:no-such-tag"], capsys)
    assert code == ExitCode.NOT_FOUND
    assert err.startswith("error: ") and "Traceback" not in err
    code, _, err = run(["inspect", f"oci:{fixture_layout}:multi", "--platform", "linux/s390x"], capsys)
    assert code == ExitCode.NOT_FOUND
    assert "linux/arm64" in err  # the hint lists what is there
    code, _, err = run(["inspect", f"oci:{tmp_path / 'missing'}"], capsys)
    assert code != 0 and "Traceback" not in err


def test_exit_codes_and_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["inspect", "oci:/nonexistent/path:tag"], capsys)
    assert code == ExitCode.NOT_FOUND  # 4: not found, as the README's table says
    assert err.splitlines() == ["error: oci:/nonexistent/path: no such directory",
                                "hint: check the path, or create a layout with `supplychain copy IMAGE oci:DIR[:tag]`"]
    (tmp_path / "afile").write_text("not a layout")
    code, _, err = run(["inspect", f"oci:{tmp_path / 'afile'}:x"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert err.startswith(f"error: oci:{tmp_path / 'afile'}: {tmp_path / 'afile'} is not a directory\nhint: ")
    for port in ("99999", "0"):
        code, _, err = run(["inspect", f"127.0.0.1:{port}/app:1"], capsys)
        assert code == ExitCode.INVALID_INPUT and f"registry port {port} is outside 1-65535" in err


def test_blob_size_cap_says_which_setting(fixture_layout: Path, tmp_path: Path):
    result = run_cli(["copy", f"oci:{fixture_layout}:single", f"oci:{tmp_path / 'out'}:x"],
                     env={"SUPPLYCHAIN_MAX_BLOB_SIZE": "1000"})
    assert result.code == ExitCode.INTEGRITY
    assert "over the 1000-byte blob limit" in result.stderr
    assert "hint: raise SUPPLYCHAIN_MAX_BLOB_SIZE" in result.stderr
    assert not (tmp_path / "out").exists()


def test_platform_on_a_single_platform_image(fixture_layout: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]):
    single = f"oci:{fixture_layout}:single"
    code, _, err = run(["inspect", single, "--platform", "linux/arm64"], capsys)
    assert code == ExitCode.NOT_FOUND
    assert err.splitlines() == [
        "error: the image is not multi-platform: it is linux/amd64, not linux/arm64",
        "hint: drop --platform: it chooses one platform of a multi-platform image (an index)",
    ]
    code, out, _ = run(["inspect", single, "--platform", "linux/amd64", "-o", "json"], capsys)
    assert code == 0 and json.loads(out)["platform"] == "linux/amd64"
    code, _, err = run(["copy", single, f"oci:{tmp_path / 'out'}:x", "--platform", "linux/arm64"], capsys)
    assert code == ExitCode.NOT_FOUND and "not multi-platform" in err
    assert not (tmp_path / "out").exists()
    code, _, _ = run(["copy", single, f"oci:{tmp_path / 'out'}:x", "--platform", "linux/amd64"], capsys)
    assert code == 0
    for command in (["inspect", single], ["copy", single, f"oci:{tmp_path / 'out2'}"]):
        code, _, err = run([*command, "--platform", ""], capsys)
        assert code == ExitCode.USAGE and "--platform" in err


def test_inspect_sizes_and_absent_config_fields(fixture_layout: Path, capsys: pytest.CaptureFixture[str]):
    layout = OciLayout(fixture_layout)
    manifest = layout.get_manifest("single")
    assert isinstance(manifest, Manifest)
    layers = sum(layer.size for layer in manifest.layers)
    code, out, _ = run(["inspect", f"oci:{fixture_layout}:single", "-o", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["layersSize"] == layers
    assert doc["totalSize"] == len(manifest.raw) + manifest.config.size + layers
    config = json.loads(layout.get_blob(manifest.config))["config"]
    for key, field in (("Entrypoint", "entrypoint"), ("Cmd", "cmd"), ("Env", "env")):
        assert doc["config"][field] == config.get(key)  # null when the config has none, never a made-up []
    assert doc["config"]["entrypoint"] is None  # the fixture has Cmd and Env, no Entrypoint
    code, out, _ = run(["inspect", f"oci:{fixture_layout}:single"], capsys)
    assert code == 0
    assert "Layers:      4 (5.7 kB)" in out
    assert "Total size:  8.2 kB (manifest + config + layers)" in out


def test_copy_help_names_what_a_destination_may_be(capsys: pytest.CaptureFixture[str]):
    code, out, _ = run(["copy", "--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    assert "DESTINATION is [docker://]registry/name[:tag] or oci:PATH[:tag] (a tag, not a digest" in text
    assert "skopeo and umoci do not read it" in text  # Docker-typed manifests in a layout
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert "stays Docker-typed in an OCI layout, and skopeo and umoci do not read Docker-typed manifests" in readme
    code, _, err = run(["copy", "oci:a:x", f"oci:b@sha256:{'a' * 64}"], capsys)
    assert code == ExitCode.USAGE and "the destination names a digest" in err


def test_copy_layout_to_registry_and_back_with_attachments(
    fixture_layout_copy: Path, registry: RegistryProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    layout = OciLayout(fixture_layout_copy)
    index = layout.resolve("multi")
    referrer, signature = attach_referrer_and_signature(layout, index)

    target = f"{registry.host}/cli/multi:1.0"
    code, out, err = run(["copy", f"oci:{fixture_layout_copy}:multi", target, "-o", "json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["digest"] == str(index.digest)
    assert len(result["attachments"]) == 2
    # An independent client sees the same bytes.
    assert skopeo_raw_digest(f"docker://{target}") == str(index.digest)

    repo = open_repository(parse_image_reference(target), Settings())
    assert [d.digest for d in repo.referrers(index.digest)] == [referrer]
    assert repo.resolve(attachment_tag(index.digest, AttachmentKind.SIGNATURE)).digest == signature

    code, out, err = run(["tree", target, "-o", "json"], capsys)
    assert code == 0, err
    tree = json.loads(out)
    kinds = sorted(child["kind"] for child in tree["children"])
    assert kinds == ["platform", "platform", "referrer", "signature"]

    back = tmp_path / "back"
    code, _, err = run(["copy", target, f"oci:{back}:restored"], capsys)
    assert code == 0, err
    restored = OciLayout(back)
    assert restored.resolve("restored").digest == index.digest
    assert [d.digest for d in restored.referrers(index.digest)] == [referrer]
    assert skopeo_raw_digest(f"oci:{back}:restored") == str(index.digest)


def test_copy_one_platform(fixture_layout: Path, registry: RegistryProcess, capsys: pytest.CaptureFixture[str]):
    code, out, err = run(["copy", f"oci:{fixture_layout}:multi", f"{registry.host}/cli/arm:1",
                          "--platform", "linux/arm64", "-o", "json"], capsys)
    assert code == 0, err
    digest = json.loads(out)["digest"]
    code, out, _ = run(["inspect", f"{registry.host}/cli/arm:1", "-o", "json"], capsys)
    assert json.loads(out)["digest"] == digest
    assert json.loads(out)["platform"] == "linux/arm64/v8"


def test_copy_skopeo_pushed_image_back(fixture_layout: Path, registry: RegistryProcess, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]):
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{fixture_layout}:single",
                    f"docker://{registry.host}/by-skopeo/single:1"], check=True)
    code, _, err = run(["copy", f"{registry.host}/by-skopeo/single:1", f"oci:{tmp_path / 'out'}:s"], capsys)
    assert code == 0, err
    assert OciLayout(tmp_path / "out").resolve("s").digest == OciLayout(fixture_layout).resolve("single").digest


def test_tree_survives_a_referrer_cycle(fixture_layout_copy: Path, capsys: pytest.CaptureFixture[str]):
    layout = OciLayout(fixture_layout_copy)
    image = layout.resolve("single")
    # A referrers tag that lists the image as its own referrer: anyone with push access can write this.
    hostile = build_index([Descriptor(image.media_type, image.digest, image.size, artifact_type="x/loop")])
    layout.put_manifest(hostile, tag=image.digest.tag_form)
    code, out, err = run(["tree", f"oci:{fixture_layout_copy}:single"], capsys)
    assert code == 0, err
    assert "(cycle)" in out


def test_copy_to_unreachable_registry_is_one_line(fixture_layout: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["copy", f"oci:{fixture_layout}:single", "127.0.0.1:9/x/y:1"], capsys)
    assert code == ExitCode.UNAVAILABLE
    assert err.startswith("error: ") and "Traceback" not in err


def test_demo_script_runs(tmp_path: Path):
    repo = Path(__file__).resolve().parents[2]
    if shutil.which("docker-registry") is None:
        pytest.fail("docker-registry must be installed (apt-get install docker-registry)")
    result = subprocess.run(["bash", str(repo / "demo.sh")], env={**_env(), "DEMO_DIR": str(tmp_path)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "demo done" in result.stdout
    # Issue 8.5: the demo signs and verifies on the embedded default log, with no log flags.
    assert f"created the default transparency log in {tmp_path}/data/supplychain/tlog" in result.stderr
    commands = [line for line in result.stderr.splitlines() if line.startswith(("+ supplychain sign",
                                                                                 "+ supplychain verify"))]
    assert len(commands) >= 4 and all("--rekor" not in line for line in commands[:-1])  # the last: tlog-online
    # Issue 11.5: an SLSA provenance attestation of the fixture image, verified for its type, on the same defaults.
    assert "+ supplychain attest " in result.stderr and "--type slsaprovenance1" in result.stderr
    assert "1 of 1 attestations of https://slsa.dev/provenance/v1 (referrer)" in result.stderr
    assert '{"buildDefinition": {"buildType": "https://example.com/demo-build/v1"' in result.stdout


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


# -- skopeo's transports -------------------------------------------------------------------------------------


def test_docker_transport_prefix(fixture_layout: Path, registry: RegistryProcess, capsys: pytest.CaptureFixture[str]):
    target = f"docker://{registry.host}/prefix/app:1"
    code, out, err = run(["copy", f"oci:{fixture_layout}:single", target], capsys)
    assert code == 0, err
    assert out.strip() == f"{registry.host}/prefix/app:1@{SINGLE}"
    code, out, err = run(["inspect", target, "-o", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["digest"] == SINGLE and json.loads(out)["reference"] == f"{registry.host}/prefix/app:1"
    for other in ("docker-archive:/tmp/app.tar", "containers-storage:app:1", "dir:/tmp/app"):
        code, _, err = run(["inspect", other], capsys)
        assert code == ExitCode.INVALID_INPUT
        assert "transport is not supported" in err and "hint: supported: registry references" in err


# -- a failed copy leaves nothing; a partly failed one says what it did ----------------------------------------


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_copy_of_a_missing_image_leaves_no_layout(registry: RegistryProcess, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["copy", f"{registry.host}/nothing/app:nope", f"oci:{tmp_path / 'out3'}:x"], capsys)
    assert code == ExitCode.NOT_FOUND, err
    assert list(tmp_path.iterdir()) == []


def test_copy_from_a_registry_that_fails_midway_leaves_nothing(
    fixture_layout: Path, fresh_registry: RegistryProcess, tmp_path: Path
):
    source = f"{fresh_registry.host}/midway/app:1"
    assert run_cli(["copy", f"oci:{fixture_layout}:multi", source]).code == 0
    existing = tmp_path / "existing"
    assert run_cli(["copy", f"oci:{fixture_layout}:single", f"oci:{existing}:single"]).code == 0
    before = _files(existing)
    # The registry loses the arm64 base layer's data: it announces the blob, then drops the connection while
    # sending it, after the amd64 image's blobs were copied.
    arm = OciLayout(fixture_layout).get_manifest(OciLayout(fixture_layout).get_manifest("multi").manifests[1])  # type: ignore[union-attr]
    lost = arm.layers[0].digest  # type: ignore[union-attr]
    (fresh_registry.root / "data/docker/registry/v2/blobs/sha256" / lost.hex[:2] / lost.hex / "data").unlink()

    env = {"SUPPLYCHAIN_RETRIES": "0"}
    failed = run_cli(["copy", source, f"oci:{tmp_path / 'new' / 'nested'}:x"], env=env)
    assert failed.code == ExitCode.UNAVAILABLE, failed
    assert not (tmp_path / "new").exists()  # the layout it created is gone, directories included
    failed = run_cli(["copy", source, f"oci:{existing}:multi"], env=env)
    assert failed.code == ExitCode.UNAVAILABLE, failed
    assert _files(existing) == before  # the blobs it wrote (the arm64 config) were taken back


def test_copy_says_the_image_was_copied_when_an_attachment_fails(
    fixture_layout_copy: Path, registry: RegistryProcess, capsys: pytest.CaptureFixture[str]
):
    layout = OciLayout(fixture_layout_copy)
    image = layout.resolve("single")
    referrer, _ = attach_referrer_and_signature(layout, image)
    # A second signature manifest whose own layer is then damaged in the layout.
    payload = b'{"critical":{"image":{"docker-manifest-digest":"' + str(image.digest).encode() + b'"}},"n":2}'
    layer = Descriptor.for_bytes(MediaType.COSIGN_SIMPLE_SIGNING, payload,
                                 annotations={"dev.cosignproject.cosign/signature": "c2ln"})
    layout.put_blob(layer, [payload])
    signature = layout.get_manifest(attachment_tag(image.digest, AttachmentKind.SIGNATURE))
    tampered = build_manifest(signature.config, [layer])  # type: ignore[union-attr]
    sig_tag = attachment_tag(image.digest, AttachmentKind.SIGNATURE)
    layout.put_manifest(tampered, tag=sig_tag)
    (fixture_layout_copy / "blobs/sha256" / layer.digest.hex).write_bytes(b"x" * layer.size)

    target = f"{registry.host}/tp/app:x"
    code, out, err = run(["copy", f"oci:{fixture_layout_copy}:single", target], capsys)
    assert code == ExitCode.INTEGRITY
    assert out.strip() == f"{target}@{image.digest}"  # what succeeded, on stdout
    error = next(line for line in err.splitlines() if line.startswith("error: "))
    assert error.startswith(f"error: the image was copied to {target}@{image.digest}, but 1 of 2 attachments were "
                            f"not: {sig_tag}: ")
    assert "digest mismatch" in error and "Traceback" not in err
    repo = open_repository(parse_image_reference(target), Settings())
    assert repo.resolve("x").digest == image.digest
    assert [d.digest for d in repo.referrers(image.digest)] == [referrer]  # the other attachment was copied

    code, out, _ = run(["copy", f"oci:{fixture_layout_copy}:single", f"{registry.host}/tp/json:x", "-o", "json"],
                       capsys)
    assert code == ExitCode.INTEGRITY
    doc = json.loads(out)
    assert doc["attachments"] == [str(referrer)]
    assert [(f["attachment"], f["exitCode"]) for f in doc["failedAttachments"]] == [(sig_tag, 7)]


# -- a damaged referrers tag -------------------------------------------------------------------------------------


def test_a_damaged_referrers_tag_is_shown_and_cleaned(
    fixture_layout: Path, registry: RegistryProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    repo = f"{registry.host}/broken-tag/app"
    assert run(["copy", f"oci:{fixture_layout}:single", f"{repo}:1"], capsys)[0] == 0
    # Another tool pushed a plain image manifest at the referrers tag sha256-<hex> (it must hold an index).
    subprocess.run(["skopeo", "copy", "-q", "--insecure-policy", "--dest-tls-verify=false", "--format", "v2s2",
                    f"oci:{fixture_layout}:single", f"docker://{repo}:sha256-{SINGLE.removeprefix('sha256:')}"],
                   check=True)
    keys = tmp_path / "k"
    assert run_cli(["generate-key-pair", "--output-key-prefix", str(keys)],
                   env={"SUPPLYCHAIN_PASSWORD": "pw"}).code == 0
    sign = ["sign", f"{repo}:1", "--key", f"{keys}.key", "--format", "bundle"]

    code, out, err = run(["tree", f"{repo}:1"], capsys)
    assert code == 0, err
    assert "damaged referrers tag: sha256:" in out and "(an image manifest, not an index)" in out
    command = err.split("`")[1]
    assert command == f"supplychain clean {repo}@{SINGLE} --type all --force"
    code, out, err = run(["copy", f"{repo}:1", f"oci:{tmp_path / 'out'}:1"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert f"error: the image was copied to oci:{tmp_path / 'out'}:1@{SINGLE}" in err
    assert f"`{command}`" in err
    signed = run_cli(sign, env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert signed.code == ExitCode.INVALID_INPUT and f"`{command}`" in signed.stderr

    code, _, err = run(command.split()[1:], capsys)  # the hint's command, exactly
    assert code == 0, err
    assert (f"Removed {repo}:sha256-{SINGLE.removeprefix('sha256:')} (damaged referrers tag: an image manifest, "
            f"not an index) from {repo}@{SINGLE}") in err
    code, out, err = run(["tree", f"{repo}:1"], capsys)
    assert code == 0 and "damaged" not in out + err
    assert run_cli(sign, env={"SUPPLYCHAIN_PASSWORD": "pw"}).code == 0
    code, _, err = run(["copy", f"{repo}:1", f"oci:{tmp_path / 'out'}:1"], capsys)
    assert code == 0, err


def test_a_layout_that_cannot_be_written_is_invalid_input_like_a_key_file(fixture_layout: Path, tmp_path: Path):
    """A local file-system write failure exits 3 ("invalid input: ... file"), as the same failure for key files
    does, not 6 ("unavailable": network), and its hint is about the directory (issue 8, item 17)."""
    destination = tmp_path / "dst"
    (destination / "blobs").mkdir(parents=True)
    (destination / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (destination / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    (destination / "blobs" / "sha256").write_text("a file where the blob directory should be")
    result = run_cli(["copy", f"oci:{fixture_layout}:single", f"oci:{destination}:x"])
    result.assert_one_line_error(ExitCode.INVALID_INPUT, "cannot write")
    assert "read-only" in result.stderr.splitlines()[-1]
    keys_result = run_cli(["generate-key-pair", "--output-key-prefix", str(destination / "blobs" / "sha256" / "k")],
                          env={"SUPPLYCHAIN_PASSWORD": "pw"})
    keys_result.assert_one_line_error(ExitCode.INVALID_INPUT, "cannot write")
