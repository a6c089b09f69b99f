"""``sbom diff``: added, removed and changed packages between two inventories or two SBOM files (CycloneDX JSON,
SPDX JSON, read with the libraries' parsers), rendered as text and JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from supplychain.cli.main import main
from supplychain.report.format import Format
from supplychain.report.sbom import DIFF
from supplychain.sbom.diff import ListedPackage, PackageChange, diff_inventories, read_sbom_file
from supplychain.sbom.formats import SbomFormat
from supplychain.sbom.package import Package
from supplychain.sbom.validate import InvalidSbomError
from supplychain.sbom.write import render_sbom
from tests.support.inventory import PIP, deb, inventory, npm, pypi


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def _pair():
    before = inventory()
    kept = [p for p in before.packages if p.name not in ("tzdata", "requests")]
    kept = [deb("bash", "5.2.21-2") if p.name == "bash" else p for p in kept]
    kept = [p for p in kept if (p.name, p.version) != ("ms", "2.0.0")]
    after = inventory((*kept, pypi("idna", "3.4"), npm("debug", "2.6.9")), name="registry.example.com/app:1.1")
    return before, after


EXPECTED_ADDED = (ListedPackage("npm", "debug", "2.6.9", "pkg:npm/debug@2.6.9"),
                  ListedPackage("pypi", "idna", "3.4", "pkg:pypi/idna@3.4"))
EXPECTED_CHANGED = (PackageChange("deb", "bash", ("5.2.15-2+b2",), ("5.2.21-2",)),
                    PackageChange("npm", "ms", ("2.0.0", "2.1.3"), ("2.1.3",)))


def test_diff_of_two_inventories() -> None:
    diff = diff_inventories(*_pair())
    assert diff.added == EXPECTED_ADDED
    assert [(p.type, p.name) for p in diff.removed] == [("deb", "tzdata"), ("pypi", "requests")]
    assert diff.changed == EXPECTED_CHANGED
    assert not diff.empty
    assert diff_inventories(inventory(), inventory()).empty


@pytest.mark.parametrize("fmt", [SbomFormat.CYCLONEDX_JSON, SbomFormat.SPDX_JSON])
def test_diff_of_two_sbom_files_is_the_diff_of_the_inventories(fmt: SbomFormat, tmp_path: Path) -> None:
    from supplychain.sbom.diff import diff_packages

    before, after = _pair()
    (tmp_path / "a").write_text(render_sbom(before, fmt))
    (tmp_path / "b").write_text(render_sbom(after, fmt))
    diff = diff_packages(read_sbom_file(tmp_path / "a"), read_sbom_file(tmp_path / "b"))
    expected = diff_inventories(before, after)
    assert (diff.added, diff.removed, diff.changed) == (expected.added, expected.removed, expected.changed)


def test_a_cyclonedx_file_against_an_spdx_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, after = _pair()
    (tmp_path / "a.cdx.json").write_text(render_sbom(before, SbomFormat.CYCLONEDX_JSON))
    (tmp_path / "b.spdx.json").write_text(render_sbom(after, SbomFormat.SPDX_JSON))
    code, out, err = run(["sbom", "diff", "-o", "json", str(tmp_path / "a.cdx.json"), str(tmp_path / "b.spdx.json")],
                         capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert [c["name"] for c in doc["changed"]] == ["bash", "ms"]
    assert doc["changed"][1] == {"type": "npm", "namespace": "", "name": "ms", "before": ["2.0.0", "2.1.3"],
                                 "after": ["2.1.3"]}
    assert doc["added"][0] == {"type": "npm", "namespace": "", "name": "debug", "version": "2.6.9",
                               "purl": "pkg:npm/debug@2.6.9"}


def maven(group: str, name: str, version: str) -> Package:
    return Package("maven", name, version, f"pkg:maven/{group}/{name}@{version}", (f"app/{name}.jar",), (), PIP,
                   "java")


@pytest.mark.parametrize("fmt", [None, SbomFormat.CYCLONEDX_JSON, SbomFormat.SPDX_JSON])
def test_the_namespace_is_part_of_a_packages_identity(fmt: SbomFormat | None, tmp_path: Path) -> None:
    """A dependency swapped for a look-alike of another group (``org.alpha/core`` -> ``com.evil/core``, same name
    and version) is one removed and one added, never no difference; two groups' ``core`` in one image are two
    packages. OS packages are keyed without their distribution vendor (``debian``/``ubuntu``)."""
    from supplychain.sbom.diff import diff_packages, listed_packages

    before = inventory((maven("org.alpha", "core", "1.0"), maven("org.beta", "core", "2.0"), deb("bash", "5.1")))
    ubuntu_bash = dataclasses.replace(deb("bash", "5.2"), purl="pkg:deb/ubuntu/bash@5.2?arch=amd64")
    after = inventory((maven("com.evil", "core", "1.0"), maven("org.beta", "core", "2.1"), ubuntu_bash))
    if fmt is None:
        diff = diff_inventories(before, after)
    else:
        (tmp_path / "a").write_text(render_sbom(before, fmt))
        (tmp_path / "b").write_text(render_sbom(after, fmt))
        diff = diff_packages(read_sbom_file(tmp_path / "a"), read_sbom_file(tmp_path / "b"))
    assert [(p.namespace, p.name, p.version) for p in diff.added] == [("com.evil", "core", "1.0")]
    assert [(p.namespace, p.name, p.version) for p in diff.removed] == [("org.alpha", "core", "1.0")]
    assert diff.changed == (PackageChange("deb", "bash", ("5.1",), ("5.2",)),
                            PackageChange("maven", "core", ("2.0",), ("2.1",), "org.beta"))
    assert diff_inventories(before, before).empty
    assert [p.namespace for p in listed_packages(before)] == ["", "org.alpha", "org.beta"]  # deb bash first
    text = DIFF.render(diff, Format.TEXT).splitlines()
    assert "  maven com.evil/core 1.0" in text and "  maven org.alpha/core 1.0" in text
    assert "  maven org.beta/core 2.0 -> 2.1" in text and "  deb bash 5.1 -> 5.2" in text


def test_a_name_that_carries_its_namespace_is_shown_once() -> None:
    from supplychain.sbom.diff import listed

    scoped = listed("npm", "@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0")
    assert (scoped.namespace, scoped.qualified_name) == ("@babel", "@babel/core")
    module = listed("golang", "github.com/a/b", "v1.0.0", "pkg:golang/github.com/a/b@v1.0.0")
    assert (module.namespace, module.qualified_name) == ("github.com/a", "github.com/a/b")
    grouped = listed("maven", "core", "1.0", "", group="org.alpha")  # a CycloneDX component's group, no purl
    assert grouped.qualified_name == "org.alpha/core"
    assert listed("pypi", "x", "1", "pkg:not a purl").namespace == ""


def test_text_rendering() -> None:
    text = DIFF.render(diff_inventories(*_pair()), Format.TEXT)
    assert text.splitlines() == [
        "added (2):", "  npm debug 2.6.9", "  pypi idna 3.4",
        "removed (2):", "  deb tzdata 2024a-0+deb12u1", "  pypi requests 2.31.0",
        "changed (2):", "  deb bash 5.2.15-2+b2 -> 5.2.21-2", "  npm ms 2.0.0,2.1.3 -> 2.1.3",
        "2 added, 2 removed, 2 changed",
    ]
    same = DIFF.render(diff_inventories(inventory(), inventory()), Format.TEXT)
    assert same.startswith("no package differences between")


def test_text_escapes_what_the_sbom_says() -> None:
    hostile = inventory((npm("evil\x1b[2Jname", "1.0"),))
    text = DIFF.render(diff_inventories(inventory(()), hostile), Format.TEXT)
    assert "\x1b" not in text


@pytest.mark.parametrize("content, message", [
    (b"SPDXVersion: SPDX-2.3\n", "neither CycloneDX JSON nor SPDX JSON"),
    (b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": 7}', "cyclonedx-python-lib can read"),
    (b'{"spdxVersion": "SPDX-2.3", "packages": [{"name": 1}]}', "spdx-tools can read"),
    (b'{"bomFormat": "CycloneDX", "bomFormat": "SPDX"}', "neither"),
])
def test_bad_sbom_files_are_refused(content: bytes, message: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    with pytest.raises(InvalidSbomError, match=message):
        read_sbom_file(tmp_path / "bad.json")
    (tmp_path / "good.json").write_text(render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON))
    code, out, err = run(["sbom", "diff", str(tmp_path / "good.json"), str(tmp_path / "bad.json")], capsys)
    assert code == 3 and out == ""
    assert err.count("error:") == 1 and "hint:" in err and "Traceback" not in err


def test_a_missing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["sbom", "diff", str(tmp_path / "a"), str(tmp_path / "b")], capsys)
    assert code == 4 and "a: no such SBOM file" in err  # exit 4: not found (a path is never looked up as an image)


def test_a_directory_is_no_sbom_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["sbom", "diff", str(tmp_path), str(tmp_path)], capsys)
    assert code == 3 and out == "" and f"{tmp_path} is not a regular file" in err and "hint:" in err
