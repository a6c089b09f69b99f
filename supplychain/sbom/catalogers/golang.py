"""Go binaries: the modules a binary was built from, from the build information the Go linker writes into the
ELF section ``.go.buildinfo`` (what ``go version -m`` prints; Go's src/debug/buildinfo/buildinfo.go is the
reference reader, runtime/debug.BuildInfo the text format).

The section starts with a 32-byte header: the magic ``\\xff Go buildinf:`` (14 bytes), the pointer size, and
flags; since Go 1.18 (flag bit 1, "version inline") it is followed by two varint-length-prefixed strings, the Go
version and the module information. The module information is framed by 16 sentinel bytes at each end and holds
tab-separated lines: ``path`` (the main package), ``mod`` (the main module: path, version, sum), ``dep`` (a
dependency), ``=>`` (the replacement of the dependency above it), ``build`` (settings). Binaries built by Go
before 1.18 keep pointers to the strings instead; they are reported as a problem, not read.

Packages, as syft 1.18.1's go-module-binary-cataloger lists them: the main module, each dependency (its
replacement when one is given), and the standard library as ``stdlib`` at the Go version (version ``go1.19.8``,
purl ``pkg:golang/stdlib@1.19.8``). A main module built from a checkout says ``(devel)``; syft then takes, in
order, a semver from the ``-ldflags`` build setting (``-X main.version=1.18.1`` is ``v1.18.1``), or a pseudo-
version from ``vcs.time`` and ``vcs.revision`` (``v0.0.0-20241213183011-5e16e5031a13``, Go's module
pseudo-version form), or keeps ``(devel)``; so do we.

purls as syft 1.18.1 writes them: the first two path elements are the namespace, the third the name, the rest
the subpath (``github.com/Azure/azure-sdk-for-go/sdk/azcore`` is ``pkg:golang/github.com/Azure/azure-sdk-for-go
@v1.17.0#sdk/azcore``). Later syft releases (and the purl-spec's golang definition) put the whole module path
before the name instead; ``go_purl`` is the one place to change when the peer moves.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from supplychain.imagefs.view import FileEntry, FileView
from supplychain.sbom.catalog import Catalog
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.elf import catalog_sections, condense, wants_executable
from supplychain.sbom.package import Distro, Package

NAME = "go"
SECTION = ".go.buildinfo"
MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_FLAG_INLINE = 0x2
_SENTINEL = 16
_DEVEL = "(devel)"
# syft 1.18.1's knownBuildFlagPatterns (golang/parse_go_binary.go), as written there (its "." match any character)
_LDFLAGS_VERSION = (
    re.compile(r"\.([gG]it)?([bB]uild)?[vV]er(sion)?=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)", re.MULTILINE),
    re.compile(r"\.([tT]ag)=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)", re.MULTILINE),
)


class BuildInfoError(ValueError):
    """The build information section is malformed or truncated."""


class GoCataloger:
    """Modules inside Go binaries (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return wants_executable(path, size, mode)

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return condense(data, SECTION, prefilter=MAGIC)  # the magic: the section's header, wherever it is

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        return catalog_sections(view, SECTION, lambda entry, data: _packages(entry, *read_build_info(data)),
                                cataloger=NAME, what="Go build information", errors=(BuildInfoError,))


def read_build_info(data: bytes) -> tuple[str, str]:
    """The Go version and the module information text of a ``.go.buildinfo`` section's contents."""
    if len(data) < _HEADER or not data.startswith(MAGIC):
        raise BuildInfoError("no build information header (magic, pointer size, flags)")
    flags = data[15]
    if not flags & _FLAG_INLINE:
        raise BuildInfoError("built by Go before 1.18 (pointer-form build information), not read")
    version, offset = _string(data, _HEADER)
    modinfo, _ = _string(data, offset)
    if len(modinfo) >= 2 * _SENTINEL + 1 and modinfo[-_SENTINEL - 1] == "\n":
        modinfo = modinfo[_SENTINEL:-_SENTINEL]
    return version, modinfo


def _string(data: bytes, offset: int) -> tuple[str, int]:
    length, shift = 0, 0
    while True:  # an unsigned LEB128 varint (encoding/binary.Uvarint)
        if offset >= len(data) or shift > 63:
            raise BuildInfoError("truncated: the section ends inside a string length")
        byte = data[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if offset + length > len(data):
        raise BuildInfoError(f"truncated: a {length}-byte string at offset {offset} runs past the section's end "
                             f"({len(data)} bytes)")
    return data[offset:offset + length].decode("utf-8", errors="replace"), offset + length


def _packages(entry: FileEntry, go_version: str, modinfo: str) -> list[Package]:
    modules: list[tuple[str, str, str, str]] = []  # (kind, path, version, sum)
    main_package = ""
    settings: dict[str, str] = {}
    for line in modinfo.splitlines():
        fields = line.split("\t")
        if fields[0] == "build" and len(fields) > 1:
            key, _, value = fields[1].partition("=")
            settings.setdefault(key, value.strip('"'))
        elif fields[0] == "path" and len(fields) > 1:
            main_package = fields[1]
        elif fields[0] in ("mod", "dep") and len(fields) >= 3:
            modules.append((fields[0], fields[1], fields[2], fields[3] if len(fields) > 3 else ""))
        elif fields[0] == "=>" and len(fields) >= 2 and modules:
            kind = modules[-1][0]
            modules[-1] = (kind, fields[1], fields[2] if len(fields) > 2 else "", fields[3] if len(fields) > 3 else "")
    packages = [_package(entry, path, main_version(version, settings) if kind == "mod" else version, go_version,
                         kind == "mod", main_package, checksum)
                for kind, path, version, checksum in modules if path]
    if go_version.startswith("go"):
        release = go_version.split(" ", maxsplit=1)[0]  # "go1.19.8", or "go1.22.1 X:boringcrypto"
        packages.append(_package(entry, "stdlib", release, go_version, False, "", "", purl_version=release[2:]))
    return packages


def main_version(version: str, settings: dict[str, str]) -> str:
    """The main module's version as syft 1.18.1 derives it when the build info says ``(devel)`` (module
    docstring): from the ``-ldflags`` setting, else a pseudo-version from the VCS settings, else ``(devel)``."""
    if version != _DEVEL:
        return version
    for pattern in _LDFLAGS_VERSION:
        match = pattern.search(settings.get("-ldflags", ""))
        if match:
            found = match.group("version")
            return found if found.startswith("v") else f"v{found}"
    revision, when = settings.get("vcs.revision"), settings.get("vcs.time")
    if revision and when:
        try:
            stamp = datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y%m%d%H%M%S")
        except ValueError:  # Go's time.Parse failure leaves the zero time, formatted as such
            stamp = "00010101000000"
        return f"v0.0.0-{stamp}-{revision[:12]}"
    return version


def go_purl(path: str, version: str) -> str:
    """syft 1.18.1's golang purl (module docstring): namespace of two elements, name, subpath."""
    fields = path.split("/")
    if len(fields) == 1:
        return purl("golang", fields[0], version)
    if len(fields) == 2:
        return purl("golang", fields[1], version, namespace=fields[0])
    return purl("golang", fields[2], version, namespace="/".join(fields[:2]), subpath="/".join(fields[3:]))


def _package(entry: FileEntry, path: str, version: str, go_version: str, main: bool, main_package: str,
             checksum: str, *, purl_version: str | None = None) -> Package:
    metadata = [("go-version", go_version), ("main-module", "true" if main else ""),
                ("main-package", main_package if main else ""), ("h1-digest", checksum)]
    return Package(
        type="golang",
        name=path,
        version=version,
        purl=go_purl(path, purl_version or version),
        locations=(entry.path,),
        layer=entry.layer,
        cataloger=NAME,
        metadata=tuple(sorted((key, value) for key, value in metadata if value)),
    )


__all__ = ["MAGIC", "BuildInfoError", "GoCataloger", "read_build_info"]
