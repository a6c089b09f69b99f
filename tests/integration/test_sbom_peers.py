"""What we write, read by third parties: syft 1.18.1 (``syft convert``) reads all four formats back to the same
packages, and trivy 0.59.1 (``trivy sbom``) reads the JSON ones.

trivy's vulnerability scan of an SBOM needs its vulnerability database even with ``--skip-db-update`` ("The first
run cannot skip downloading DB") and the tests never reach the internet, so trivy runs with ``--scanners license``,
which reads the SBOM's packages and their licences without the database.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from supplychain.sbom.formats import SbomFormat
from supplychain.sbom.write import render_sbom
from tests.support.inventory import inventory
from tests.support.sbom_peers import syft_binary, trivy_binary

SUFFIX = {SbomFormat.CYCLONEDX_JSON: "cdx.json", SbomFormat.CYCLONEDX_XML: "cdx.xml",
          SbomFormat.SPDX_JSON: "spdx.json", SbomFormat.SPDX_TAG_VALUE: "spdx"}


@pytest.mark.parametrize("fmt", list(SbomFormat))
def test_syft_convert_reads_what_we_write(fmt: SbomFormat, tmp_path: Path) -> None:
    inv = inventory()
    source = tmp_path / f"sbom.{SUFFIX[fmt]}"
    source.write_text(render_sbom(inv, fmt))
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    done = subprocess.run([syft_binary(), "convert", str(source), "-o", "syft-json"], capture_output=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    doc = json.loads(done.stdout)
    found = {(a["name"], a["version"], a["purl"]) for a in doc["artifacts"]}
    if fmt.value.startswith("spdx"):
        # The SPDX OPERATING-SYSTEM package (which trivy needs to see the Debian packages as OS packages) is to
        # syft one more package, without a purl.
        found.discard(("debian", "12", ""))
    assert found == {(p.name, p.version, p.purl) for p in inv.packages}
    assert doc["distro"]["id"] == "debian" if fmt.value.startswith("cyclonedx") else True
    if fmt is SbomFormat.CYCLONEDX_JSON:
        # syft reads its own layer property back: the layer attribution survives the round trip.
        bash = next(a for a in doc["artifacts"] if a["name"] == "bash")
        assert bash["locations"][0]["layerID"] == next(p for p in inv.packages if p.name == "bash").layer.diff_id


@pytest.mark.parametrize("fmt", [SbomFormat.CYCLONEDX_JSON, SbomFormat.SPDX_JSON])
def test_trivy_reads_what_we_write(fmt: SbomFormat, tmp_path: Path) -> None:
    inv = inventory()
    source = tmp_path / f"sbom.{SUFFIX[fmt]}"
    source.write_text(render_sbom(inv, fmt))
    done = subprocess.run(
        [trivy_binary(), "sbom", str(source), "--scanners", "license", "--offline-scan", "--skip-db-update",
         "--skip-java-db-update", "--cache-dir", str(tmp_path / "cache"), "--list-all-pkgs", "-f", "json", "-q"],
        capture_output=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    doc = json.loads(done.stdout)
    found = {(p["Name"], p["Version"]) for r in doc.get("Results", []) for p in r.get("Packages", [])}
    assert found == {(p.name, p.version) for p in inv.packages}
    os_result = next(r for r in doc["Results"] if r.get("Class") == "os-pkgs")
    assert os_result["Type"] == "debian"


def test_sbom_diff_reads_what_syft_writes(tmp_path: Path) -> None:
    """syft's CycloneDX JSON and SPDX JSON of the fixture image, read by ``sbom diff``'s readers (cyclonedx-python-lib
    and spdx-tools): the same packages from both, so their diff is empty."""
    from supplychain.sbom.diff import diff_packages, read_sbom_file
    from tests.support.fixture import build_fixture_layout

    layout = build_fixture_layout(tmp_path)
    single = tmp_path / "single"  # syft's oci-dir: source takes a layout of one manifest
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}:single", f"oci:{single}:single"], check=True, timeout=120)
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    cdx, spdx = tmp_path / "syft.cdx.json", tmp_path / "syft.spdx.json"
    subprocess.run([syft_binary(), f"oci-dir:{single}", "-q", "-o", f"cyclonedx-json={cdx}", "-o", f"spdx-json={spdx}"],
                   check=True, env=env, timeout=300)
    from_cdx, from_spdx = read_sbom_file(cdx), read_sbom_file(spdx)
    assert ("deb", "base-files") in {(p.type, p.name) for p in from_cdx}
    assert {p.purl for p in from_cdx} == {p.purl for p in from_spdx}
    assert diff_packages(from_cdx, from_spdx).empty
