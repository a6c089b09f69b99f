"""``inspect --raw``, ``inspect --config`` and ``ls``: what skopeo users reach for (issue 8.11), against the real
registry and OCI layouts, read back by skopeo where skopeo has the same command."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from supplychain.cli.main import main
from supplychain.config import Settings
from supplychain.errors import ExitCode
from supplychain.layout import OciLayout
from supplychain.oci.model import Index
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from tests.support.registry import RegistryProcess
from tests.support.signatures import run_cli

pytestmark = pytest.mark.integration


def run_bytes(args: list[str], capsysbinary: pytest.CaptureFixture[bytes]) -> tuple[int, bytes, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsysbinary.readouterr()
    return int(info.value.code or 0), out, err.decode()


@pytest.fixture(scope="module")
def pushed(registry: RegistryProcess, fixture_layout: Path) -> str:
    """``multi`` (an index) and ``single`` pushed to the registry under ``lsraw/app``, tags single and multi."""
    repo = f"{registry.host}/lsraw/app"
    for tag in ("single", "multi"):
        result = run_cli(["copy", f"oci:{fixture_layout}:{tag}", f"{repo}:{tag}"])
        assert result.code == 0, result.stderr
    return repo


def test_inspect_raw_is_the_stored_bytes(pushed: str, fixture_layout: Path,
                                         capsysbinary: pytest.CaptureFixture[bytes]):
    layout = OciLayout(fixture_layout)
    for tag in ("single", "multi"):
        desc = layout.resolve(tag)
        stored = (fixture_layout / "blobs" / "sha256" / desc.digest.hex).read_bytes()
        for ref in (f"oci:{fixture_layout}:{tag}", f"{pushed}:{tag}"):
            code, out, err = run_bytes(["inspect", "--raw", ref], capsysbinary)
            assert code == 0, err
            assert out == stored  # byte for byte, no newline added
            assert "sha256:" + hashlib.sha256(out).hexdigest() == str(desc.digest)
    skopeo = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{pushed}:multi"],
                            check=True, capture_output=True).stdout
    code, out, _ = run_bytes(["inspect", "--raw", f"{pushed}:multi"], capsysbinary)
    assert out == skopeo


def test_inspect_raw_platform_and_config(pushed: str, fixture_layout: Path,
                                         capsysbinary: pytest.CaptureFixture[bytes]):
    layout = OciLayout(fixture_layout)
    index = layout.get_manifest("multi")
    assert isinstance(index, Index)
    arm = next(d for d in index.manifests if d.platform and d.platform.architecture == "arm64")
    code, out, err = run_bytes(["inspect", "--raw", "--platform", "linux/arm64", f"{pushed}:multi"], capsysbinary)
    assert code == 0, err
    assert "sha256:" + hashlib.sha256(out).hexdigest() == str(arm.digest)
    manifest = json.loads(out)
    config_digest = manifest["config"]["digest"]
    for ref in (f"oci:{fixture_layout}:multi", f"{pushed}:multi"):
        code, out, err = run_bytes(["inspect", "--config", "--platform", "linux/arm64", ref], capsysbinary)
        assert code == 0, err
        assert "sha256:" + hashlib.sha256(out).hexdigest() == config_digest
        assert json.loads(out)["architecture"] == "arm64"
    skopeo = subprocess.run(["skopeo", "inspect", "--config", "--raw", "--tls-verify=false", "--override-arch",
                             "arm64", f"docker://{pushed}:multi"], check=True, capture_output=True).stdout
    assert out == skopeo
    code, single, _ = run_bytes(["inspect", "--config", f"{pushed}:single"], capsysbinary)
    assert code == 0 and json.loads(single)["os"] == "linux"


def test_inspect_config_refuses_a_tampered_config(fixture_layout_copy: Path,
                                                  capsysbinary: pytest.CaptureFixture[bytes]):
    manifest = json.loads(OciLayout(fixture_layout_copy).get_manifest("single").raw)
    blob = fixture_layout_copy / "blobs" / "sha256" / manifest["config"]["digest"].removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[-2] ^= 1
    blob.write_bytes(bytes(data))
    code, out, err = run_bytes(["inspect", "--config", f"oci:{fixture_layout_copy}:single"], capsysbinary)
    assert code == ExitCode.INTEGRITY
    assert out == b""
    assert err.startswith("error: ") and "\nhint: " in err


def test_raw_with_output_is_a_usage_error(fixture_layout: Path):
    result = run_cli(["inspect", "--raw", "-o", "json", f"oci:{fixture_layout}:single"])
    assert result.code == ExitCode.USAGE
    assert result.stderr.startswith("error: --raw and --config print the stored bytes")
    assert "hint: run 'supplychain inspect --help'" in result.stderr


def test_ls_registry_text_and_json(pushed: str):
    result = run_cli(["ls", pushed])
    assert result.code == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == ["multi", "single"]
    doc = json.loads(run_cli(["ls", pushed, "-o", "json"]).stdout)
    assert doc == {"Repository": pushed, "Tags": sorted(doc["Tags"])} and sorted(doc["Tags"]) == ["multi", "single"]
    skopeo = json.loads(subprocess.run(["skopeo", "list-tags", "--tls-verify=false", f"docker://{pushed}"],
                                       check=True, capture_output=True).stdout)
    assert set(skopeo) == set(doc) and sorted(skopeo["Tags"]) == sorted(doc["Tags"])


def test_ls_follows_every_link_page(registry: RegistryProcess, fixture_layout: Path):
    repo = f"{registry.host}/lsraw/paged"
    tags = [f"t{i:02d}" for i in range(7)]
    for tag in tags:
        assert run_cli(["copy", "--without-referrers", f"oci:{fixture_layout}:single", f"{repo}:{tag}"]).code == 0
    # Two tags a page: four pages, joined through the registry's Link headers (one page would give two).
    result = run_cli(["ls", "--page-size", "2", repo])
    assert result.code == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == tags
    first = open_repository(parse_image_reference(repo), Settings())
    with first:
        assert sorted(first.tags(page_size=2)) == tags


def test_ls_empty_and_missing_repository(registry: RegistryProcess, fixture_layout: Path, tmp_path: Path):
    # A repository that exists with no tag left: its only tagged manifest pushed, then deleted.
    repo = f"{registry.host}/lsraw/untagged"
    assert run_cli(["copy", "--without-referrers", f"oci:{fixture_layout}:single", f"{repo}:gone"]).code == 0
    store = open_repository(parse_image_reference(f"{repo}:gone"), Settings())
    with store:
        store.delete_manifest(store.resolve("gone").digest)
    result = run_cli(["ls", repo])
    assert (result.code, result.stdout) == (0, ""), result.stderr
    assert json.loads(run_cli(["ls", repo, "-o", "json"]).stdout) == {"Repository": repo, "Tags": []}

    missing = run_cli(["ls", f"{registry.host}/lsraw/no-such-repo"])
    assert missing.code == ExitCode.NOT_FOUND
    lines = missing.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: ") and len(lines) == 2

    empty = OciLayout(tmp_path / "empty", create=True)
    assert empty.name
    result = run_cli(["ls", f"oci:{tmp_path / 'empty'}"])
    assert (result.code, result.stdout) == (0, "")
    gone = run_cli(["ls", f"oci:{tmp_path / 'nowhere'}"])
    assert gone.code == ExitCode.NOT_FOUND and "\nhint: " in gone.stderr


def test_ls_layout_and_refusing_a_tag(fixture_layout: Path, pushed: str):
    result = run_cli(["ls", f"oci:{fixture_layout}"])
    assert result.code == 0
    assert result.stdout.splitlines() == list(OciLayout(fixture_layout).tags())
    assert json.loads(run_cli(["ls", f"oci:{fixture_layout}", "-o", "json"]).stdout) == {
        "Repository": f"oci:{fixture_layout}", "Tags": list(OciLayout(fixture_layout).tags())}
    for ref in (f"{pushed}:single", f"{pushed}:latest", f"oci:{fixture_layout}:single"):
        refused = run_cli(["ls", ref])
        assert refused.code == ExitCode.USAGE, ref
        assert "names a tag or digest" in refused.stderr and "hint: " in refused.stderr
