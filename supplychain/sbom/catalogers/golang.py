"""Go binaries: the modules a binary was built from, from the build information the Go linker writes into the
ELF section ``.go.buildinfo`` (what ``go version -m`` prints; Go's src/debug/buildinfo/buildinfo.go is the
reference reader, runtime/debug.BuildInfo the text format).

The section starts with a 32-byte header: the magic ``\\xff Go buildinf:`` (14 bytes), the pointer size, and
flags; since Go 1.18 (flag bit 1, "version inline") it is followed by two varint-length-prefixed strings, the Go
version and the module information. The module information is framed by 16 sentinel bytes at each end and holds
tab-separated lines: ``path`` (the main package), ``mod`` (the main module: path, version, sum), ``dep`` (a
dependency), ``=>`` (the replacement of the dependency above it), ``build`` (settings). Binaries built by Go
before 1.18 keep pointers to the strings instead; they are reported as a problem, not read.

Packages, as syft 1.18.1's go-module-binary-cataloger lists them (golang/parse_go_binary.go, read for its
rules): the main module, each dependency (its replacement when one is given), and, for a binary with any of
those, the standard library as ``stdlib`` at the Go version (version ``go1.19.8``, purl
``pkg:golang/stdlib@1.19.8``). A binary with no ``mod`` line (Debian builds in GOPATH mode, ``go build
file.go``'s ``command-line-arguments``) takes as its main module its one ``(devel)`` dependency, else its ``path``
at ``(devel)``. A main module at ``(devel)`` gets, in order: a semver from the ``-ldflags`` build setting set on
``main`` or the module's own packages (``-X main.version=1.18.1`` is ``v1.18.1``); the first semver-like string
in the binary's contents (syft's "from contents", which kubectl's ``gitVersion`` answers; searched when the
binary is kept, ``GoCataloger.keeps``, and kept beside the build information as its own small section); a
pseudo-version from ``vcs.time`` and ``vcs.revision`` (``v0.0.0-20241213183011-5e16e5031a13``, Go's form); or
it stays ``(devel)``.

purls as syft 1.18.1 writes them: the first two path elements are the namespace, the third the name, the rest
the subpath (``github.com/Azure/azure-sdk-for-go/sdk/azcore`` is ``pkg:golang/github.com/Azure/azure-sdk-for-go
@v1.17.0#sdk/azcore``). Later syft releases (and the purl-spec's golang definition) put the whole module path
before the name instead; ``go_purl`` is the one place to change when the peer moves.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from supplychain.imagefs.view import FileEntry, FileView
from supplychain.sbom.catalog import Catalog
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.elf import catalog_sections, condense, section, wants_executable
from supplychain.sbom.package import Distro, Package

NAME = "go"
SECTION = ".go.buildinfo"
MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_FLAG_INLINE = 0x2
_SENTINEL = 16
_DEVEL = "(devel)"
_PARTIAL_BUILD = "command-line-arguments"  # go build file.go: the main module syft looks for elsewhere
# syft 1.18.1's knownBuildFlagPatterns (golang/parse_go_binary.go), as written there (its "." match any
# character), each after "main" or the main module's own package path, as syft prefixes them.
_LDFLAGS_VERSION = (
    r"\.[a-zA-Z0-9]*([rR]elease)?([gG]it)?([bB]uild)?[vV]er(sion)?=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)",
    r"\.[a-zA-Z0-9]*([tT]ag)=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)",
)
# syft's semverPattern, searched for in a binary's contents: (\x00|\x{FFFD})(.L)?v?\d+\.\d+\.\d+[-\w]*[+\w]*\x00
# on the bytes read as UTF-8, where an invalid byte is U+FFFD (``version_in_contents``).
_SEMVER_CORE = re.compile(rb"\d+\.\d+\.\d+")
_SEMVER_DOTS = re.compile(rb"\.\d+\.\d")  # a literal first: re scans for it ~30x faster than for the digits
_SEMVER_TAIL = re.compile(rb"[-\w]*[+\w]*\x00", re.ASCII)
_CONTENTS = ".supplychain.version-from-contents"  # the section GoCataloger.keeps adds: what the search found


class BuildInfoError(ValueError):
    """The build information section is malformed or truncated."""


class GoCataloger:
    """Modules inside Go binaries (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return wants_executable(path, size, mode)

    def keeps(self, path: str, data: bytes) -> bytes | None:
        # the magic: the section's header, wherever it is; beside the section, what the contents say of a
        # version (the one use of the rest of the binary: main_version asks for it only when it needs it)
        return condense(data, SECTION, prefilter=MAGIC,
                        also=lambda contents: {_CONTENTS: version_in_contents(data).encode()})

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        def read(entry: FileEntry, contents: bytes) -> list[Package]:
            return _packages(entry, *read_build_info(contents), contents_version=lambda: _kept_answer(entry))

        return catalog_sections(view, SECTION, read, cataloger=NAME, what="Go build information",
                                errors=(BuildInfoError,))


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


@dataclass
class _Module:
    """A ``mod`` or ``dep`` line, and the ``=>`` line replacing it, if any."""

    path: str
    version: str
    checksum: str
    replaced: _Module | None = None

    @property
    def used(self) -> _Module:
        return self.replaced or self


@dataclass
class _BuildInfo:
    main_package: str  # the "path" line
    main: _Module | None
    deps: list[_Module]
    settings: dict[str, str]


def parse_modinfo(modinfo: str) -> _BuildInfo:
    """The module information text (runtime/debug.BuildInfo's format), with syft's main module when it has none
    of its own (module docstring)."""
    info = _BuildInfo("", None, [], {})
    last: _Module | None = None
    for line in modinfo.splitlines():
        fields = line.split("\t")
        if fields[0] == "build" and len(fields) > 1:
            key, _, value = fields[1].partition("=")
            info.settings.setdefault(key, value.strip('"'))
        elif fields[0] == "path" and len(fields) > 1:
            info.main_package = fields[1]
        elif fields[0] in ("mod", "dep") and len(fields) >= 3:
            last = _Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
            if fields[0] == "mod":
                info.main = last
            else:
                info.deps.append(last)
        elif fields[0] == "=>" and len(fields) >= 2 and last is not None:
            version, checksum = (fields[2] if len(fields) > 2 else ""), (fields[3] if len(fields) > 3 else "")
            last.replaced = _Module(fields[1], version, checksum)
    partial = info.main is not None and info.main.path == _PARTIAL_BUILD and not info.main.version
    if (info.main is None and info.main_package) or partial:
        candidates = [dep for dep in info.deps if dep.version == _DEVEL]
        if len(candidates) == 1:
            info.main = candidates[0]
            info.deps.remove(candidates[0])
        else:
            info.main = _Module(info.main_package, _DEVEL, "")
    return info


def _packages(entry: FileEntry, go_version: str, modinfo: str, *,
              contents_version: Callable[[], str] = lambda: "") -> list[Package]:
    info = parse_modinfo(modinfo)
    packages = [_package(entry, dep.used.path, dep.used.version, go_version, False, "", dep.used.checksum)
                for dep in info.deps if dep.used.path]
    if info.main is not None and info.main.used.path:
        used = info.main.used
        version = main_version(used.version, info.settings, info.main.path, contents_version)
        packages.append(_package(entry, used.path, version, go_version, True, info.main_package, used.checksum))
    if packages and go_version.startswith("go"):  # syft adds the standard library beside a binary's packages
        release = go_version.split(" ", maxsplit=1)[0]  # "go1.19.8", or "go1.22.1 X:boringcrypto"
        packages.append(_package(entry, "stdlib", release, go_version, False, "", "", purl_version=release[2:]))
    return packages


def main_version(version: str, settings: dict[str, str], main_module: str = "",
                 contents_version: Callable[[], str] = lambda: "") -> str:
    """The main module's version as syft 1.18.1 derives it when the build info says ``(devel)`` (module
    docstring): from the ``-ldflags`` setting, else the binary's contents, else a pseudo-version from the VCS
    settings, else ``(devel)``."""
    if version != _DEVEL:
        return version
    found = ldflags_version(settings.get("-ldflags", ""), main_module) or contents_version()
    if found:
        return found if found.startswith("v") else f"v{found}"
    revision, when = settings.get("vcs.revision"), settings.get("vcs.time")
    if revision and when:
        try:
            stamp = datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y%m%d%H%M%S")
        except ValueError:  # Go's time.Parse failure leaves the zero time, formatted as such
            stamp = "00010101000000"
        return f"v0.0.0-{stamp}-{revision[:12]}"
    return version


def ldflags_version(ldflags: str, main_module: str) -> str:
    """The version an ``-X`` flag on ``main`` or the main module's packages sets, as syft finds it, or ``""``."""
    if not ldflags:
        return ""
    owner = "(main|" + main_module.replace("/", "\\/") + "\\/[^\\s]*)"  # syft escapes only the slashes
    for pattern in _LDFLAGS_VERSION:
        match = _compiled(owner + pattern).search(ldflags)
        if match:
            return match.group("version")
    return ""


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE | re.ASCII)


def version_in_contents(data: bytes) -> str:
    """syft's first semver-like string in a binary (``_SEMVER_CORE``'s comment), found from its dots: each
    ``.N.N`` is widened to its ``N.N.N`` and checked for the ``v``, the lead byte (NUL, or a byte that is no UTF-8
    of its own: any byte from 0x80 up, an approximation that also takes the last byte of a valid multi-byte
    character) and the ``.L`` before it, and the tail and NUL after it. The pattern as written tries every NUL of
    the binary (20 ms a MB); this, ~0.4 ms. Candidates come in the order of their first dot, which is the order
    of their starts, so the first that passes is syft's first match."""
    for dots in _SEMVER_DOTS.finditer(data):
        start = dots.start()
        while start and 0x30 <= data[start - 1] <= 0x39:
            start -= 1
        core = _SEMVER_CORE.match(data, start)
        if start == dots.start() or core is None:
            continue
        if start and data[start - 1] == 0x76:  # "v"
            start -= 1
        lead = start - 1
        if not (lead >= 0 and _leads(data[lead])) and not (
                lead >= 2 and data[lead] == 0x4C and data[lead - 1] != 0x0A and _leads(data[lead - 2])):
            continue
        tail = _SEMVER_TAIL.match(data, core.end())
        if tail is not None:
            return data[start:tail.end() - 1].decode("ascii")
    return ""


def _leads(byte: int) -> bool:
    return byte == 0 or byte >= 0x80


def _kept_answer(entry: FileEntry) -> str:
    """The contents' version: as keeps stored it, or (a whole binary given to catalog) searched now."""
    data = entry.data or b""
    stored = section(data, _CONTENTS)
    return stored.decode("ascii", errors="replace") if stored is not None else version_in_contents(data)


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
