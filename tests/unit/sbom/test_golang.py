"""Go binaries (sbom.catalogers.golang): a real binary built here in module mode (tests.support.sbom_builds), its
modules as `go version -m` prints them, and ELF files whose build information is truncated or damaged."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef
from supplychain.limits import MAX_BINARY_BYTES
from supplychain.sbom.catalogers.golang import (
    MAGIC,
    GoCataloger,
    _packages,
    go_purl,
    main_version,
    read_build_info,
    version_in_contents,
)
from supplychain.sbom.catalogers.rust import RustCataloger
from supplychain.sbom.elf import section
from tests.support.fileview import refusal, scan_directory

BINARY = "usr/local/bin/hello"


def _section_header(binary: Path, name: str) -> tuple[int, int, int]:
    """(index, offset, size) of a section, as binutils' readelf reports it (not our own reader)."""
    listing = subprocess.run(["readelf", "-S", "-W", str(binary)], check=True, capture_output=True, text=True).stdout
    match = re.search(rf"\[\s*(\d+)\]\s+{re.escape(name)}\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", listing)
    assert match, listing
    return int(match.group(1)), int(match.group(2), 16), int(match.group(3), 16)


def test_real_go_binary_modules_as_go_version_m_prints_them(go_root: Path) -> None:
    printed = subprocess.run(["go", "version", "-m", str(go_root / BINARY)], check=True, capture_output=True,
                             text=True).stdout
    assert "=>\t./greet\t(devel)" in printed
    _, [catalog] = scan_directory(go_root, (GoCataloger(),))
    assert catalog.problems == ()
    found = {(package.name, package.version, package.purl) for package in catalog.packages}
    go_version = printed.split(":", 1)[1].split()[0]  # "go1.19.8"
    assert found == {
        ("example.com/hello", "(devel)", "pkg:golang/example.com/hello@%28devel%29"),
        ("./greet", "(devel)", "pkg:golang/./greet@%28devel%29"),  # the replacement, as syft lists it
        ("stdlib", go_version, f"pkg:golang/stdlib@{go_version[2:]}"),
    }
    main = next(package for package in catalog.packages if package.name == "example.com/hello")
    assert ("main-module", "true") in main.metadata and main.locations == (BINARY,)


def test_truncated_build_info_section_is_a_problem(go_root: Path) -> None:
    binary = go_root / BINARY
    data = bytearray(binary.read_bytes())
    index, _, size = _section_header(binary, ".go.buildinfo")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    # ELF64 section header: sh_size at byte 32 of the 64-byte entry; keep the header and 8 bytes of strings
    struct.pack_into("<Q", data, shoff + index * 64 + 32, 40)
    catalog = GoCataloger().catalog(FileView.from_files({BINARY: bytes(data)}), None)
    assert catalog.packages == ()
    [problem] = catalog.problems
    assert problem.path == BINARY and "truncated" in problem.message and size > 40


def test_elf_cut_short_is_a_problem(go_root: Path) -> None:
    data = (go_root / BINARY).read_bytes()
    catalog = GoCataloger().catalog(FileView.from_files({BINARY: data[: len(data) // 2]}), None)
    assert catalog.packages == ()
    assert "runs past the end of the file" in catalog.problems[0].message


def test_pre_118_and_garbage_build_info() -> None:
    old = b"\xff Go buildinf:" + bytes([8, 0]) + bytes(16)
    assert "before 1.18" in refusal(read_build_info, old)
    assert "no build information header" in refusal(read_build_info, b"not it")
    inline = b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16) + b"\x08go1.19.8" + b"\xff\xff\xff\xff\x0f"
    assert "truncated" in refusal(read_build_info, inline)



def test_wants_executables_under_the_cap() -> None:
    cataloger = GoCataloger()
    assert cataloger.wants("usr/bin/kubectl", 50_000_000, 0o755)
    assert not cataloger.wants("usr/share/doc/x", 5_000, 0o644)
    assert not cataloger.wants("usr/bin/huge", 300 * 1024 * 1024, 0o755)
    # not an ELF (a shell script): nothing, no problem
    assert GoCataloger().catalog(FileView.from_files({"usr/bin/s": b"#!/bin/sh\n"}), None).problems == ()


def test_an_executable_over_the_cap_is_a_problem_not_a_silent_miss() -> None:
    """trivy 0.59.1's own binary is 147 MB: wants leaves it unread, the catalogers say so (one line each)."""
    ref = LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)
    big = MAX_BINARY_BYTES + 1
    view = FileView({"usr": FileEntry("usr", EntryKind.DIRECTORY, 0, 0o755, ref, (ref,)),
                     "usr/trivy": FileEntry("usr/trivy", EntryKind.FILE, big, 0o755, ref, (ref,)),
                     "usr/big.dat": FileEntry("usr/big.dat", EntryKind.FILE, big, 0o644, ref, (ref,))}, (ref,))
    for cataloger, what in ((GoCataloger(), "Go build information"), (RustCataloger(), "cargo-auditable data")):
        [problem] = cataloger.catalog(view, None).problems
        assert (problem.path, problem.message) == (
            "usr/trivy", f"{what} not searched: {big} bytes is over the {MAX_BINARY_BYTES}-byte cap "
                         "(limits.MAX_BINARY_BYTES)")  # the big file that is no executable is no problem


def test_keeps_only_the_build_information_of_executables_with_it(go_root: Path) -> None:
    cataloger = GoCataloger()
    binary = next(path for path in go_root.rglob("*") if path.is_file() and path.stat().st_mode & 0o111)
    data = binary.read_bytes()
    kept = cataloger.keeps("usr/local/bin/x", data)
    assert kept is not None and len(kept) < 4096 < len(data)  # the section, not the binary
    assert section(kept, ".go.buildinfo") == section(data, ".go.buildinfo")
    assert read_build_info(section(kept, ".go.buildinfo") or b"") == read_build_info(section(data, ".go.buildinfo")
                                                                                     or b"")
    assert cataloger.keeps("usr/bin/script", b"#!/bin/sh\necho hello\n") is None
    assert cataloger.keeps("usr/bin/c", b"\x7fELF" + bytes(200)) is None  # an ELF without Go's build information
    broken = bytearray(b"\x7fELF\x02\x01" + bytes(58) + MAGIC)  # Go's magic; a section table past the end
    struct.pack_into("<Q", broken, 0x28, 1 << 20)  # e_shoff
    struct.pack_into("<HH", broken, 0x3A, 64, 5)  # e_shentsize, e_shnum
    broken = bytes(broken)
    assert cataloger.keeps("usr/bin/broken", broken) is broken  # kept whole: catalog says what is wrong with it


def test_purls_as_syft_1_18_1_writes_them() -> None:
    assert go_purl("stdlib", "1.19.8") == "pkg:golang/stdlib@1.19.8"
    assert go_purl("example.com/hello", "v1.0.0") == "pkg:golang/example.com/hello@v1.0.0"
    assert go_purl("github.com/anchore/syft", "v1.18.1") == "pkg:golang/github.com/anchore/syft@v1.18.1"
    assert go_purl("github.com/Azure/azure-sdk-for-go/sdk/azcore", "v1.17.0") == (
        "pkg:golang/github.com/Azure/azure-sdk-for-go@v1.17.0#sdk/azcore")
    assert go_purl("github.com/Masterminds/semver/v3", "v3.3.0") == "pkg:golang/github.com/Masterminds/semver@v3.3.0#v3"


def test_main_module_version_from_ldflags_then_contents_then_vcs_then_devel() -> None:
    ldflags = {"-ldflags": "-w -s -X main.version=1.18.1 -X main.gitCommit=5e16e50", "vcs.revision": "5e16e5031a13f8a1",
               "vcs.time": "2024-12-13T18:30:11Z"}
    assert main_version("(devel)", ldflags) == "v1.18.1"
    trivy = {"-ldflags": "-X github.com/aquasecurity/trivy/pkg/version/app.ver=0.59.1"}
    assert main_version("(devel)", trivy, "github.com/aquasecurity/trivy") == "v0.59.1"
    assert main_version("(devel)", trivy, "example.com/other") == "(devel)"  # another module's variable: not ours
    kubectl = {"-ldflags": "-X k8s.io/component-base/version.gitReleaseVersion=v1.28.15"}  # syft's [rR]elease form
    assert main_version("(devel)", kubectl, "k8s.io/component-base") == "v1.28.15"
    vcs = {"vcs.revision": "5e16e5031a13f8a11057feb8544decebfc43b4ed", "vcs.time": "2024-12-13T18:30:11Z"}
    assert main_version("(devel)", vcs, "m", lambda: "1.2.3") == "v1.2.3"  # the contents before the VCS
    assert main_version("(devel)", ldflags, "m", lambda: "9.9.9") == "v1.18.1"  # ldflags before the contents
    assert main_version("(devel)", vcs) == "v0.0.0-20241213183011-5e16e5031a13"
    assert main_version("(devel)", {}) == "(devel)"
    assert main_version("v1.2.3", ldflags) == "v1.2.3"


def _names_and_versions(modinfo: str, contents: str = "") -> set[tuple[str, str]]:
    view = FileView.from_files({"bin/x": b""})
    packages = _packages(next(view.files()), "go1.19.8", modinfo, contents_version=lambda: contents)
    return {(package.name, package.version) for package in packages}


def test_the_main_module_of_a_binary_with_no_mod_line_as_syft_finds_it() -> None:
    # GOPATH mode (Debian's skopeo): the path, at (devel), with the standard library beside it
    assert _names_and_versions("path\tgithub.com/containers/skopeo/cmd/skopeo\n") == {
        ("github.com/containers/skopeo/cmd/skopeo", "(devel)"), ("stdlib", "go1.19.8")}
    # go build main.go with one (devel) dependency: that dependency is the main module, and no longer a dependency
    only = "path\tcommand-line-arguments\ndep\texample.com/lib\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.0\th1:x\n"
    assert _names_and_versions(only, "2.0.0") == {("example.com/lib", "v2.0.0"), ("golang.org/x/text", "v0.3.0"),
                                                  ("stdlib", "go1.19.8")}
    # with several, syft keeps the path as the main module (cbtemulator)
    several = "path\tcommand-line-arguments\ndep\ta.example/x\t(devel)\t\ndep\tb.example/y\t(devel)\t\n"
    assert _names_and_versions(several) == {("command-line-arguments", "(devel)"), ("a.example/x", "(devel)"),
                                            ("b.example/y", "(devel)"), ("stdlib", "go1.19.8")}
    # no path and no modules (some of the Cloud SDK's binaries): nothing at all, not even the standard library
    assert _names_and_versions("build\t-compiler=gc\n") == set()


# syft 1.18.1's semverPattern (golang/parse_go_binary.go) in Python, on bytes: the oracle of version_in_contents
# (a byte from 0x80 up stands for an invalid UTF-8 byte, read as U+FFFD in Go).
_SYFT_SEMVER = re.compile(rb"(?:\x00|[\x80-\xff])(?:[^\n]L)?(?P<version>v?\d+\.\d+\.\d+[-\w]*[+\w]*)\x00", re.ASCII)


def _oracle(data: bytes) -> str:
    match = _SYFT_SEMVER.search(data)
    return match.group("version").decode() if match else ""


@pytest.mark.parametrize("data", [
    b"\x001.2.3\x00", b"x\x00v1.2.3-rc1+meta\x00", b"\x00\xa0L1.2.3\x00", b"a1.2.3\x00\x002.3.4\x00",
    b"\x001.2.3.4\x00\x005.6.7\x00", b"\x0012.34.56-x+y\x00", b"\xff1.2.3", b"\x001.2.3-a+b-c\x00", b"\x00\nL1.2.3\x00",
    b"9.8.\x001.2.3\x00", b"",
])
def test_the_contents_search_finds_what_syft_s_pattern_finds(data: bytes) -> None:
    assert version_in_contents(data) == _oracle(data)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"\x00", b"\xa0", b"L", b"v", b"1", b"23", b".", b"-", b"+", b"a", b"\n", b"_"]),
                max_size=40).map(b"".join))
def test_the_contents_search_agrees_with_syft_s_pattern_on_any_bytes(data: bytes) -> None:
    assert version_in_contents(data) == _oracle(data)
