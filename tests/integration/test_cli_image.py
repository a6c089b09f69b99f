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
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, build_index, build_manifest
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from tests.support.registry import RegistryProcess

pytestmark = pytest.mark.integration


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


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
