"""``sbom diff``: the packages added, removed and changed between two SBOMs or two images (issue 12, item 6).

A package is keyed by its type (the purl type: ``deb``, ``pypi``...), its namespace and its name, as purl-spec
identifies a package; a key found in both with other versions is *changed*. The namespace is the purl's (without a
purl, a CycloneDX component's ``group``): so ``pkg:maven/org.alpha/core`` and ``pkg:maven/com.evil/core`` are two
packages, one removed and one added (a dependency swapped for a look-alike of another group), never a version
change of ``core``. For OS packages (``deb``, ``rpm``, ``apk``, ``alpm``) the namespace only names the distribution
vendor, so it is left out of the key: ``bash`` of Debian and ``bash`` of Ubuntu are one package whose version
changed, and an SBOM that lists them without the vendor (no os-release) still matches. A name may be installed at
several versions at once (npm's ``ms@2.0.0`` and ``ms@2.1.3``), so each side of a key is the sorted set of its
versions, and a change shows both sets.

Two inputs: ``diff_inventories`` for two ``Inventory`` values (``sbom generate``'s scans of two images: the CLI
scans both, then calls it), ``read_sbom_packages`` + ``diff_packages`` for two SBOM files: CycloneDX JSON, read
with cyclonedx-python-lib's deserializer (``Bom.from_json``: 0.35 s for 300 packages on this machine, the
scan's order; after our strict JSON reader, so duplicate keys and huge numbers never reach it), and SPDX JSON,
read with spdx-tools' JSON parser (0.28 s for 300). A package's type is its purl's; without a purl, ``unknown``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supplychain.limits import MAX_ATTACHMENT_BYTES
from supplychain.sbom.formats import SbomFormat
from supplychain.sbom.validate import InvalidSbomError, parsing_messages, sniff_format

if TYPE_CHECKING:
    from supplychain.sbom.package import Inventory

UNKNOWN_TYPE = "unknown"
# syft's version of a package it found none for, in its CycloneDX and SPDX documents (its purl then has none, and
# its own JSON an empty version): no version, as ours write it.
_SYFT_NO_VERSION = "UNKNOWN"


@dataclass(frozen=True, slots=True, order=True)
class ListedPackage:
    """A package as an SBOM lists it: what the diff compares."""

    type: str
    name: str
    version: str
    purl: str = ""
    namespace: str = ""  # the purl's namespace (or CycloneDX group), "" for OS packages: part of the key

    @property
    def qualified_name(self) -> str:
        """The name with its namespace (``org.alpha/core``), unless the name carries it already (``@scope/x``,
        ``github.com/a/b``) or there is none."""
        return _qualified(self.namespace, self.name)


@dataclass(frozen=True, slots=True, order=True)
class PackageChange:
    """One (type, namespace, name) at other versions on each side."""

    type: str
    name: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    namespace: str = ""

    @property
    def qualified_name(self) -> str:
        return _qualified(self.namespace, self.name)


# purl types whose namespace is the distribution's vendor (purl-spec's types), not part of the package's identity.
_VENDOR_NAMESPACED = frozenset({"deb", "rpm", "apk", "alpm"})


def _qualified(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace and not name.startswith(f"{namespace}/") else name


def listed(type_: str, name: str, version: str, purl: str = "", group: str = "") -> ListedPackage:
    """A ``ListedPackage``, its namespace taken from ``purl`` (else ``group``) unless ``type_`` is an OS package's."""
    namespace = "" if type_ in _VENDOR_NAMESPACED else (_purl_namespace(purl) if purl else group or "")
    return ListedPackage(type_, name, version, purl, namespace)


@dataclass(frozen=True, slots=True)
class SbomDiff:
    """What changed from ``before`` to ``after`` (each sorted by type, name, version)."""

    before: str  # what was compared: a file name or an image
    after: str
    added: tuple[ListedPackage, ...]
    removed: tuple[ListedPackage, ...]
    changed: tuple[PackageChange, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_packages(before: Iterable[ListedPackage], after: Iterable[ListedPackage], *, before_name: str = "",
                  after_name: str = "") -> SbomDiff:
    """The diff of two package lists (see the module docstring)."""
    old, new = _by_key(before), _by_key(after)
    added = tuple(sorted(p for key in new.keys() - old.keys() for p in new[key]))
    removed = tuple(sorted(p for key in old.keys() - new.keys() for p in old[key]))
    changed = []
    for key in sorted(old.keys() & new.keys()):
        was = tuple(sorted({p.version for p in old[key]}))
        now = tuple(sorted({p.version for p in new[key]}))
        if was != now:
            changed.append(PackageChange(key[0], key[2], was, now, key[1]))
    return SbomDiff(before_name, after_name, added, removed, tuple(changed))


def diff_inventories(before: Inventory, after: Inventory) -> SbomDiff:
    """The diff of two scans (``Inventory`` values, as ``sbom generate`` makes them)."""
    return diff_packages(listed_packages(before), listed_packages(after), before_name=before.image.name,
                         after_name=after.image.name)


def listed_packages(inventory: Inventory) -> list[ListedPackage]:
    """A scan's packages as an SBOM of it would list them: what ``diff_packages`` compares."""
    return [listed(p.type or UNKNOWN_TYPE, p.name, p.version, p.purl) for p in inventory.packages]


def _by_key(packages: Iterable[ListedPackage]) -> dict[tuple[str, str, str], list[ListedPackage]]:
    out: dict[tuple[str, str, str], list[ListedPackage]] = {}
    for package in packages:
        out.setdefault((package.type, package.namespace, package.name), []).append(package)
    return out


def read_sbom_file(path: str | os.PathLike[str]) -> list[ListedPackage]:
    """The packages of the SBOM file at ``path`` (CycloneDX JSON or SPDX JSON, told apart by their content), at
    most ``limits.MAX_ATTACHMENT_BYTES``."""
    from supplychain.files import FileTooLargeError, read_capped

    name = os.fspath(path)
    try:
        data = read_capped(path, MAX_ATTACHMENT_BYTES)
    except FileTooLargeError as exc:
        raise InvalidSbomError(f"SBOM file {name} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB: "
                               "refused", hint="an SBOM of a large image is a few MiB; check the file") from exc
    except OSError as exc:
        raise InvalidSbomError(f"cannot read SBOM file {name}: {exc.strerror or exc}",
                               hint="check the path") from exc
    return read_sbom_packages(data, what=f"SBOM file {name}")


def read_sbom_packages(data: bytes, *, what: str = "the SBOM") -> list[ListedPackage]:
    """The packages ``data`` lists: a CycloneDX JSON or SPDX JSON document (else ``InvalidSbomError``)."""
    from supplychain.formats.strictjson import JsonFormatError, loads_untrusted

    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidSbomError(f"{what} is neither CycloneDX JSON nor SPDX JSON",
                               hint="sbom diff reads CycloneDX JSON and SPDX JSON (sbom generate -o cyclonedx-json "
                               "or -o spdx-json; syft convert FILE -o cyclonedx-json)")
    try:
        doc = loads_untrusted(data)
    except JsonFormatError as exc:  # sniff_format read it already; kept for the type checker
        raise InvalidSbomError(f"{what} is not JSON: {exc.message}") from exc
    if fmt is SbomFormat.CYCLONEDX_JSON:
        return _cyclonedx_packages(doc, what)
    return _spdx_packages(doc, what)


def _cyclonedx_packages(doc: dict[str, Any], what: str) -> list[ListedPackage]:
    from cyclonedx.exception import CycloneDxException
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType

    try:
        with warnings.catch_warnings():
            # The library warns of fields a later CycloneDX version deprecates (syft 1.18.1 writes ``author``):
            # an SBOM written by another tool is read as it is.
            warnings.simplefilter("ignore")
            bom = Bom.from_json(doc)  # type: ignore[attr-defined]
    except (CycloneDxException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidSbomError(f"{what} is not a CycloneDX document cyclonedx-python-lib can read: {exc}") from exc
    out: list[ListedPackage] = []
    pending: list[Component] = list(bom.components)
    while pending:  # nested components (an application's bundled libraries) are packages too
        component = pending.pop()
        pending.extend(component.components)
        if component.type in (ComponentType.OPERATING_SYSTEM, ComponentType.CONTAINER, ComponentType.FILE):
            continue
        purl = component.purl
        text = purl.to_string() if purl is not None else ""
        out.append(listed(purl.type if purl is not None else UNKNOWN_TYPE, component.name,
                          _version(component.version, text), text, component.group or ""))
    return out


def _spdx_packages(doc: dict[str, Any], what: str) -> list[ListedPackage]:
    from spdx_tools.spdx.model import PackagePurpose
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser

    try:
        document = JsonLikeDictParser().parse(doc)  # type: ignore[no-untyped-call]
    except SPDXParsingError as exc:
        message = parsing_messages(exc)
        raise InvalidSbomError(f"{what} is not an SPDX document spdx-tools can read: {message}") from exc
    out: list[ListedPackage] = []
    for package in document.packages:
        if package.primary_package_purpose in (PackagePurpose.CONTAINER, PackagePurpose.OPERATING_SYSTEM):
            continue
        purl = next((r.locator for r in package.external_references if r.reference_type == "purl"), "")
        out.append(listed(_purl_type(purl), package.name, _version(package.version, purl), purl))
    return out


def _version(version: str | None, purl: str) -> str:
    """A listed version, syft's placeholder for none read as none when its purl has no version either (a purl's
    ``@`` is the version's: one in a name or namespace is percent-encoded, purl-spec)."""
    if version == _SYFT_NO_VERSION and "@" not in purl.split("?", 1)[0].split("#", 1)[0]:
        return ""
    return version or ""


def _purl_namespace(purl: str) -> str:
    """A purl's namespace, decoded as purl-spec says (``%40scope`` is ``@scope``); "" without one or for a purl
    packageurl-python cannot read (the package is then keyed by type and name, as before purls)."""
    from packageurl import PackageURL

    try:
        return PackageURL.from_string(purl).namespace or ""
    except ValueError:
        return ""


def _purl_type(purl: str) -> str:
    """The type of a purl (``pkg:TYPE/...``), lower-case as purl-spec normalises it; ``unknown`` without one."""
    if not purl.startswith("pkg:"):
        return UNKNOWN_TYPE
    head = purl[4:].lstrip("/").split("/", 1)[0]
    return head.lower() or UNKNOWN_TYPE


__all__ = [
    "ListedPackage",
    "PackageChange",
    "SbomDiff",
    "diff_inventories",
    "diff_packages",
    "listed",
    "listed_packages",
    "read_sbom_file",
    "read_sbom_packages",
]
