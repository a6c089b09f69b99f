"""Rust binaries (sbom.catalogers.rust): a real `cargo build --offline` ELF with a `.dep-v0` section added by
objcopy (cargo-auditable itself is not installed and there is no network: the section is written from its
documented format, zlib-compressed JSON, see tests.support.sbom_builds), and damaged sections."""

from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path

from supplychain.imagefs.view import FileView
from supplychain.sbom.catalogers.rust import MAX_AUDIT_JSON_BYTES, RustCataloger, read_audit_data
from tests.support.fileview import refusal, scan_directory
from tests.support.sbom_builds import AUDIT_DATA

BINARY = "usr/bin/ruster"


def test_cargo_auditable_section_in_a_real_elf(rust_root: Path) -> None:
    dumped = subprocess.run(["objcopy", "--dump-section", ".dep-v0=/dev/stdout", str(rust_root / BINARY)],
                            check=True, capture_output=True).stdout
    assert json.loads(zlib.decompress(dumped)) == AUDIT_DATA
    _, [catalog] = scan_directory(rust_root, (RustCataloger(),))
    assert catalog.problems == ()
    # cc is a build dependency: not in the binary, left out as syft leaves it out
    assert [package.purl for package in catalog.packages] == ["pkg:cargo/adler@1.0.2", "pkg:cargo/ruster@0.1.0"]
    ruster = catalog.packages[1]
    assert ("root", "true") in ruster.metadata and ("source", "local") in ruster.metadata


def test_damaged_audit_data_is_a_problem(rust_root: Path) -> None:
    assert "not zlib" in refusal(read_audit_data, b"plain text")
    assert "no packages list" in refusal(read_audit_data, zlib.compress(b'{"format": 1}'))
    assert "not valid JSON" in refusal(read_audit_data, zlib.compress(b'{"packages": ['))
    assert "decompresses to more than" in refusal(read_audit_data, zlib.compress(b" " * (MAX_AUDIT_JSON_BYTES + 10)))
    # a binary without the section: nothing, no problem
    data = (rust_root / BINARY).read_bytes()
    stripped = data.replace(b".dep-v0", b".dep-vX")
    assert RustCataloger().catalog(FileView.from_files({BINARY: stripped}), None) == RustCataloger().catalog(
        FileView.from_files({}), None)

