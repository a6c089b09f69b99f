"""``sbom.elf.condense``: what a binary cataloger keeps of an executable, a minimal ELF file of its one section.
The inputs are made by GNU objcopy in each ELF class and byte order, and what we write is read back by GNU
readelf and objcopy (binutils), not only by our own ``section``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from supplychain.sbom.elf import condense, section

CONTENT = b"\xff Go buildinf:\x08\x02 a section's bytes"
TARGETS = ["elf32-big", "elf32-little", "elf64-big", "elf64-x86-64"]


def _binutils(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"GNU {tool} (Debian's binutils, which .ci/run installs) is not installed")
    return found


def _elf(tmp_path: Path, target: str) -> bytes:
    """An ELF object of ``target`` whose ``.go.buildinfo`` holds CONTENT, beside a symbol table objcopy adds."""
    raw, out = tmp_path / "content.bin", tmp_path / f"{target}.o"
    raw.write_bytes(CONTENT)
    subprocess.run([_binutils("objcopy"), "-I", "binary", "-O", target, "--rename-section",
                    ".data=.go.buildinfo", str(raw), str(out)], check=True, capture_output=True)
    return out.read_bytes()


@pytest.mark.parametrize("target", TARGETS)
def test_the_condensed_file_holds_the_one_section_for_our_reader_and_binutils(tmp_path: Path, target: str) -> None:
    data = _elf(tmp_path, target)
    condensed = condense(data, ".go.buildinfo", prefilter=b"Go buildinf")
    assert condensed is not None and len(condensed) < len(data)
    assert section(condensed, ".go.buildinfo") == CONTENT == section(data, ".go.buildinfo")
    assert condensed[:6] == data[:6]  # the same class and byte order
    path = tmp_path / "condensed.o"
    path.write_bytes(condensed)
    listing = subprocess.run([_binutils("readelf"), "-W", "-S", str(path)], check=True, capture_output=True,
                             text=True).stdout
    assert ".go.buildinfo" in listing and "There are 3 section headers" in listing, listing
    extracted = tmp_path / "extracted.bin"
    # -I: objcopy recognises a machine-less ELF (its generic targets write EM_NONE) only when told its target
    subprocess.run([_binutils("objcopy"), "-I", target, "--dump-section", f".go.buildinfo={extracted}", str(path),
                    str(tmp_path / "copy.o")], check=True, capture_output=True)
    assert extracted.read_bytes() == CONTENT


def test_nothing_kept_without_the_prefilter_or_the_section(tmp_path: Path) -> None:
    data = _elf(tmp_path, "elf64-x86-64")
    assert condense(data, ".go.buildinfo", prefilter=b"not in there") is None
    assert condense(data, ".dep-v0", prefilter=b"Go buildinf") is None  # the bytes are there, the section is not
    assert condense(b"#!/bin/sh\n" + CONTENT, ".go.buildinfo", prefilter=b"Go buildinf") is None  # no ELF
