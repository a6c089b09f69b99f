"""``sbom generate`` and ``sbom diff`` of images through the CLI's one boundary, on the fixture image
(fixtures/build_images.py: a Debian base, Python dist-info, an npm tree and a clean-up layer with whiteouts), and
every bad input: a format or cataloger that does not exist, two outputs to stdout, a missing layout or directory, a
layer whose bytes are not its digest, an output file that cannot be written. Each ends in one ``error:`` line and
a ``hint:``, a documented exit code, and no file half-written or written at all.

The accuracy against syft and trivy is tests/integration/test_sbom_accuracy.py's (a real Debian image)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import supplychain.cli.sbom as cli_sbom
from supplychain.errors import ExitCode
from supplychain.sbom.catalogers import all_catalogers
from supplychain.sbom.formats import SbomFormat
from supplychain.sbom.validate import validate_document
from tests.support.fixture import fixture_path
from tests.support.layers import corrupt_blob
from tests.support.signatures import run_cli

DEB = {"base-files", "ca-certificates", "libc6", "libgcc-s1", "tzdata", "zlib1g"}
PYPI = {"certifi", "charset-normalizer", "idna", "requests", "urllib3"}
NPM = {"debug", "express", "fixture-app", "lodash", "ms", "send"}


def _components(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The document's packages by purl (the operating-system component has none)."""
    return {c["purl"]: c for c in document["components"] if c.get("purl")}


def _properties(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def _names(document: dict[str, Any], kind: str) -> set[str]:
    return {c["name"] for purl, c in _components(document).items() if purl.startswith(f"pkg:{kind}/")}


def _error_lines(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    assert lines[-2].startswith("error: ") and lines[-1].startswith("hint: "), stderr
    assert "Traceback" not in stderr
    return lines


def test_the_names_spelled_for_help_are_the_librarys() -> None:
    assert tuple(f.value for f in SbomFormat) == cli_sbom.FORMAT_NAMES
    assert tuple(c.name for c in all_catalogers()) == cli_sbom.CATALOGER_NAMES


def test_generate_writes_every_format_asked_for_each_valid(fixture_layout: Path, tmp_path: Path) -> None:
    outputs = {fmt: tmp_path / f"out.{fmt.value}" for fmt in SbomFormat}
    args = ["sbom", "generate", f"oci:{fixture_layout}:single"]
    for fmt, path in outputs.items():
        args += ["-o", f"{fmt.value}={path}"]
    result = run_cli(args)
    assert result.code == ExitCode.OK, result
    assert result.stdout == ""  # every document went to its file
    for fmt, path in outputs.items():
        validate_document(path.read_bytes(), fmt, what=str(path))  # raises with the validator's message
    document = json.loads(outputs[SbomFormat.CYCLONEDX_JSON].read_bytes())
    assert (_names(document, "deb"), _names(document, "pypi"), _names(document, "npm")) == (DEB, PYPI, NPM)
    # the last stderr line sums it up; the fixture is small, so there are no per-layer progress lines
    assert result.stderr.strip().splitlines() == [
        f"18 packages (7 npm, 6 deb, 5 pypi) on debian 12 in oci:{fixture_layout}:single"]


def test_generate_to_stdout_by_default_attributes_each_package_to_its_layer(fixture_layout: Path) -> None:
    result = run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", "-q"])
    assert result.code == ExitCode.OK, result
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["specVersion"] == "1.6"
    layers = {kind: {_properties(c)["supplychain:layer:index"] for purl, c in _components(document).items()
                     if purl.startswith(f"pkg:{kind}/")} for kind in ("deb", "pypi", "npm")}
    assert layers == {"deb": {"0"}, "pypi": {"1"}, "npm": {"2"}}  # the base, Python and npm layers


def test_the_same_image_gives_the_same_bytes_and_source_date_epoch_sets_the_time(fixture_layout: Path) -> None:
    source = f"oci:{fixture_layout}:single"
    first = run_cli(["sbom", "generate", source, "-q", "-o", "spdx-json"])
    second = run_cli(["sbom", "generate", source, "-q", "-o", "spdx-json"])
    assert first.code == second.code == ExitCode.OK
    assert first.stdout == second.stdout
    assert json.loads(first.stdout)["creationInfo"]["created"] == "2024-01-01T00:00:00Z"  # the image's creation
    later = run_cli(["sbom", "generate", source, "-q", "-o", "spdx-json"], env={"SOURCE_DATE_EPOCH": "1767225600"})
    assert json.loads(later.stdout)["creationInfo"]["created"] == "2026-01-01T00:00:00Z"


def test_each_platform_of_an_index(fixture_layout: Path) -> None:
    arm = run_cli(["sbom", "generate", f"oci:{fixture_layout}:multi", "--platform", "linux/arm64", "-q"])
    assert arm.code == ExitCode.OK, arm
    purls = set(_components(json.loads(arm.stdout)))
    assert "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=arm64&distro=debian-12&upstream=glibc" in purls
    missing = run_cli(["sbom", "generate", f"oci:{fixture_layout}:multi", "--platform", "linux/s390x"])
    assert missing.code == ExitCode.NOT_FOUND, missing
    _error_lines(missing.stderr)


def test_select_catalogers_runs_only_those(fixture_layout: Path) -> None:
    result = run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", "-q", "--select-catalogers", "dpkg,npm"])
    assert result.code == ExitCode.OK, result
    document = json.loads(result.stdout)
    assert (_names(document, "deb"), _names(document, "pypi"), _names(document, "npm")) == (DEB, set(), NPM)


def test_a_directory_source(tmp_path: Path) -> None:
    result = run_cli(["sbom", "generate", f"dir:{fixture_path('sbom', 'debian')}", "-q", "--select-catalogers",
                      "dpkg"])
    assert result.code == ExitCode.OK, result
    names = _names(json.loads(result.stdout), "deb")
    assert {"bash", "coreutils", "libc6"} <= names and "less" not in names  # less is deinstalled


def test_progress_lines_per_layer_for_large_images(fixture_layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_sbom, "PROGRESS_MIN_BYTES", 0)  # the fixture's layers are a few KB: call them large
    result = run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", "-o", "spdx-json"])
    assert result.code == ExitCode.OK, result
    lines = result.stderr.strip().splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["layer", f"{i}/4"] for i in range(1, 5)]
    assert all(line.endswith("MB scanned") and " sha256:" in line for line in lines[:-1])
    quiet = run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", "-o", "spdx-json", "-q"])
    assert quiet.stderr == ""


@pytest.mark.parametrize(("args", "code", "message"), [
    (["-o", "cyclonedx-yaml"], ExitCode.INVALID_INPUT, "unknown SBOM format 'cyclonedx-yaml'"),
    (["-o", "spdx-json", "-o", "cyclonedx-json"], ExitCode.INVALID_INPUT, "more than one -o writes to standard output"),
    (["-o", "spdx-json="], ExitCode.INVALID_INPUT, "no file after '='"),
    (["--select-catalogers", "dpkg,conda"], ExitCode.USAGE, "unknown cataloger(s) conda"),
    (["--scope", "everything"], ExitCode.USAGE, "'everything' is not one of 'squashed', 'all-layers'"),
    (["--platform", ""], ExitCode.USAGE, "empty"),
])
def test_bad_options_fail_before_any_layer_is_read(fixture_layout: Path, args: list[str], code: ExitCode,
                                                   message: str) -> None:
    result = run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", *args])
    assert result.code == code, result
    assert message in _error_lines(result.stderr)[-2]
    assert result.stdout == ""


@pytest.mark.parametrize("source", ["oci:/nonexistent/layout:tag", "dir:/nonexistent/root",
                                    "docker-archive:/nonexistent/image.tar"])
def test_a_source_that_does_not_exist(source: str) -> None:
    result = run_cli(["sbom", "generate", source])
    assert result.code == ExitCode.NOT_FOUND, result
    _error_lines(result.stderr)


@pytest.mark.parametrize(("transport", "content", "message", "hint"), [
    ("docker-archive", b"garbage\n", "is a truncated tar", "make the archive again (docker save"),
    ("oci-archive", b"\x1f\x8b\x08\x00" + bytes(60), "is a compressed archive (gzip)", "decompress it first"),
    ("oci-archive", bytes(1024), "has no file 'oci-layout'", "make the archive again"),  # an empty tar
    ("dir", b"a file\n", "is not a directory", "scan an archive as docker-archive:PATH"),
])
def test_a_source_that_is_not_what_its_transport_says(tmp_path: Path, transport: str, content: bytes, message: str,
                                                      hint: str) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(content)
    result = run_cli(["sbom", "generate", f"{transport}:{path}"])
    assert result.code == ExitCode.INVALID_INPUT, result
    error, given = _error_lines(result.stderr)[-2:]
    assert message in error and hint in given, result.stderr
    assert "layer" not in given  # no layer is read before the archive's own structure


def test_a_layer_that_is_not_its_digest_writes_nothing(fixture_layout_copy: Path, tmp_path: Path) -> None:
    from supplychain.layout import OciLayout
    from supplychain.oci.model import Manifest

    layout = OciLayout(fixture_layout_copy)
    manifest = layout.get_manifest(layout.resolve("single"))
    assert isinstance(manifest, Manifest)
    corrupt_blob(fixture_layout_copy, manifest.layers[1])
    out = tmp_path / "sbom.json"
    result = run_cli(["sbom", "generate", f"oci:{fixture_layout_copy}:single", "-o", f"cyclonedx-json={out}"])
    assert result.code == ExitCode.INTEGRITY, result
    assert "digest" in _error_lines(result.stderr)[-2]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [fixture_layout_copy]  # no temporary file left beside it either


def test_an_output_that_cannot_be_written_leaves_the_others_unwritten(fixture_layout: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.cdx.json"
    result = run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", "-o", f"cyclonedx-json={good}",
                      "-o", f"spdx-json={tmp_path / 'missing-dir' / 'x.spdx.json'}"])
    assert result.code == ExitCode.INVALID_INPUT, result
    error = _error_lines(result.stderr)[-2]
    assert f"cannot write {tmp_path / 'missing-dir' / 'x.spdx.json'}: " in error  # the output, not a temporary
    assert list(tmp_path.iterdir()) == []  # good.cdx.json is not written either, and no temporary is left


def test_an_output_that_is_a_directory_is_refused_before_the_scan(fixture_layout: Path, tmp_path: Path) -> None:
    result = run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", "-o", f"cyclonedx-json={tmp_path}"])
    assert result.code == ExitCode.INVALID_INPUT, result  # as every bad -o value
    error, hint = _error_lines(result.stderr)[-2:]
    assert f"{tmp_path} is a directory" in error and f"-o cyclonedx-json={tmp_path / 'sbom.json'}" in hint
    assert "scanned" not in result.stderr and list(tmp_path.iterdir()) == []


def test_diff_of_two_images_and_of_an_image_and_a_file(fixture_layout: Path, tmp_path: Path) -> None:
    sbom = tmp_path / "arm.cdx.json"
    made = run_cli(["sbom", "generate", f"oci:{fixture_layout}:multi", "--platform", "linux/arm64", "-q",
                    "-o", f"cyclonedx-json={sbom}"])
    assert made.code == ExitCode.OK, made
    same = run_cli(["sbom", "diff", f"oci:{fixture_layout}:single", str(sbom)])
    assert same.code == ExitCode.OK, same
    assert same.stdout.startswith("no package differences")  # the same packages, only their arch differs
    dpkg_only = tmp_path / "dpkg.cdx.json"
    run_cli(["sbom", "generate", f"oci:{fixture_layout}:single", "-q", "--select-catalogers", "dpkg",
             "-o", f"cyclonedx-json={dpkg_only}"])
    diff = run_cli(["sbom", "diff", "-o", "json", str(dpkg_only), f"oci:{fixture_layout}:single"])
    assert diff.code == ExitCode.OK, diff
    result = json.loads(diff.stdout)
    assert {p["name"] for p in result["added"]} == PYPI | NPM - {"ms"} | {"ms"}
    assert result["removed"] == [] and result["changed"] == []


def test_diff_refuses_a_bare_name_that_is_no_file(tmp_path: Path) -> None:
    result = run_cli(["sbom", "diff", "old.cdx.json", str(tmp_path / "new.cdx.json")])
    assert result.code == ExitCode.NOT_FOUND, result
    assert "old.cdx.json: no such SBOM file" in _error_lines(result.stderr)[-2]


@pytest.mark.parametrize(("source", "image"), [
    ("oci:./layout:tag", True), ("docker-archive:app.tar", True), ("dir:/", True), ("docker://app", True),
    ("registry.example.com/app:1", True), ("localhost:5000/app", True), ("[::1]:5000/app", True),
    ("old.cdx.json", False), ("library/app", False), ("app", False),
])
def test_which_diff_arguments_name_images(source: str, image: bool) -> None:
    from supplychain.imagesource import names_image

    assert names_image(source) is image  # the registry rule is reference's, IPv6 literals included
