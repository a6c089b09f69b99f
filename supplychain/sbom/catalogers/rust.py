"""Rust binaries built with cargo-auditable: the dependency tree it embeds in the ELF section ``.dep-v0``.

The format (rust-secure-code/cargo-auditable, ``PARSING.md`` and the ``auditable-serde`` crate): the section is
zlib-compressed JSON, ``{"packages": [{"name", "version", "source", "kind", "dependencies": [indices],
"root"}]}``; ``source`` is ``crates.io``, ``git``, ``local`` or ``registry``, ``kind`` ``runtime`` (the default
when absent) or ``build``. The decompressed JSON is capped (cargo-auditable's own reader defaults to 8 MiB) and
read with the strict decoder.

Packages as syft's cargo-auditable-binary-cataloger lists them: every ``runtime`` entry, ``pkg:cargo/<name>@
<version>``; ``build`` dependencies (build scripts, proc macros) ran at build time and are not in the binary, so
they are left out, as syft 1.18.1 leaves them out.
"""

from __future__ import annotations

import zlib

from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.imagefs.view import FileEntry, FileView
from supplychain.sbom.catalog import Catalog
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.elf import catalog_sections, condense, wants_executable
from supplychain.sbom.package import Distro, Package

NAME = "rust"
SECTION = ".dep-v0"
MAX_AUDIT_JSON_BYTES = 8 * 1024 * 1024  # auditable-info's default size limit for the decompressed data


class AuditDataError(ValueError):
    """The ``.dep-v0`` section is not cargo-auditable's compressed JSON."""


class RustCataloger:
    """Crates inside cargo-auditable binaries (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return wants_executable(path, size, mode)

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return condense(data, SECTION, prefilter=SECTION.encode())  # its name, in the section name table

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        return catalog_sections(view, SECTION, lambda entry, data: _packages(entry, read_audit_data(data)),
                                cataloger=NAME, what="cargo-auditable data", errors=(AuditDataError,))


def read_audit_data(data: bytes) -> list[dict[str, object]]:
    """The ``packages`` list of a ``.dep-v0`` section."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, MAX_AUDIT_JSON_BYTES + 1)
    except zlib.error as exc:
        raise AuditDataError(f"not zlib data: {exc}") from exc
    if len(text) > MAX_AUDIT_JSON_BYTES:
        raise AuditDataError(f"decompresses to more than {MAX_AUDIT_JSON_BYTES} bytes")
    try:
        document = loads_untrusted(text, what=SECTION)
    except JsonFormatError as exc:
        raise AuditDataError(str(exc)) from exc
    packages = document.get("packages") if isinstance(document, dict) else None
    if not isinstance(packages, list):
        raise AuditDataError("no packages list")
    return [item for item in packages if isinstance(item, dict)]


def _packages(entry: FileEntry, listed: list[dict[str, object]]) -> list[Package]:
    packages = []
    for item in listed:
        name, version = item.get("name"), item.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            continue
        if item.get("kind") == "build":
            continue
        metadata = [("source", str(item.get("source") or "")),
                    ("root", "true" if item.get("root") is True else "")]
        packages.append(Package(
            type="cargo",
            name=name,
            version=version,
            purl=purl("cargo", name, version),
            locations=(entry.path,),
            layer=entry.layer,
            cataloger=NAME,
            metadata=tuple(sorted((key, value) for key, value in metadata if value)),
        ))
    return packages


__all__ = ["AuditDataError", "RustCataloger", "read_audit_data"]
