"""An ``Inventory`` as a CycloneDX 1.6 document, JSON or XML, built and serialised by cyclonedx-python-lib.

The shape follows syft 1.18.1's CycloneDX output, so that readers of syft's SBOMs (grype, Dependency-Track) find
things where they look: ``metadata.component`` is the image (type ``container``, version its digest), the image's
labels are ``metadata.properties`` named ``syft:image:labels:<label>``; the distribution is an
``operating-system`` component with ``syft:distro:*`` properties; each package is a ``library`` component whose
bom-ref is its purl with syft's ``package-id`` qualifier, with ``syft:package:foundBy``, ``syft:package:type``,
``syft:location:N:path`` and, on the first location, ``syft:location:0:layerID`` (the layer's diff_id, tern's and
syft's layer id). Ours, where syft has none: ``supplychain:layer:digest`` (the layer blob's digest, what a registry
serves), ``supplychain:image:platform`` and ``supplychain:image:layer:N:*``. Serial number and timestamp:
``sbom.formats`` (derived from the content, never random; the library's sorted sets order the rest).

Licences: one SPDX id is a ``license.id``, a ``LicenseRef-`` or other name a ``license.name``, a compound
expression ``expression``; CycloneDX 1.6 allows either a list of licences or one expression, so several licences
one of which is compound are joined into one ``AND`` expression.

Validation at run time: see ``sbom.validate`` (the measured costs and what we chose).
"""

from __future__ import annotations

import uuid
import warnings
from typing import TYPE_CHECKING

from supplychain.sbom import formats
from supplychain.sbom.formats import SbomFormat
from supplychain.sbom.license import all_of, is_compound

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression

    from supplychain.sbom.package import Inventory, Package


def serial_number(inventory: Inventory) -> uuid.UUID:
    """The document's serial number: a UUID (version 5 bits) of the inventory's content digest."""
    return uuid.UUID(hex=formats.content_digest(inventory)[:32], version=5)


def build_bom(inventory: Inventory) -> Bom:
    """The CycloneDX ``Bom`` of ``inventory`` (see the module docstring)."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository

    from supplychain import __version__

    image = inventory.image
    root = Component(
        type=ComponentType.CONTAINER, name=image.name, version=image.digest,
        bom_ref=f"image:{image.digest or image.name}",
    )
    tool = Component(type=ComponentType.APPLICATION, name=formats.TOOL_NAME, version=__version__,
                     group=formats.TOOL_VENDOR)
    metadata = BomMetaData(
        tools=ToolRepository(components=[tool]),
        component=root,
        timestamp=formats.document_time(inventory),
        properties=[Property(name=k, value=v) for k, v in formats.image_properties(inventory)],
    )
    components = [_component(p) for p in inventory.packages]
    if inventory.distro is not None:
        components.append(_distro(inventory))
    return Bom(components=components, metadata=metadata, serial_number=serial_number(inventory))


def _component(package: Package) -> Component:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    purl = PackageURL.from_string(package.purl) if package.purl else None
    ref = package.purl or f"{package.type}:{package.name}@{package.version}"
    ref += ("&" if "?" in ref else "?") + f"package-id={formats.package_id(package)}"
    return Component(
        type=ComponentType.LIBRARY, name=package.name, version=package.version or None, purl=purl, bom_ref=ref,
        licenses=_licenses(package.licenses),
        properties=[Property(name=k, value=v) for k, v in formats.package_properties(package)],
    )


def _distro(inventory: Inventory) -> Component:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType

    distro = inventory.distro
    assert distro is not None
    fields = [("id", distro.id), ("prettyName", distro.pretty_name), ("versionCodename", distro.version_codename),
              ("versionID", distro.version_id), ("idLike", " ".join(distro.id_like) or None)]
    return Component(
        type=ComponentType.OPERATING_SYSTEM, name=distro.id, version=distro.version_id,
        description=distro.pretty_name, bom_ref=f"os:{distro.id}@{distro.version_id or ''}",
        properties=[Property(name=formats.DISTRO_PROPERTY.format(name=k), value=v) for k, v in fields if v],
    )


def _licenses(expressions: tuple[str, ...]) -> list[DisjunctiveLicense | LicenseExpression]:
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model.license import LicenseExpression

    given = [e.strip() for e in expressions if e.strip()]
    joined = all_of(given)
    if joined is not None and any(is_compound(e) for e in given):
        return [LicenseExpression(joined)]
    from cyclonedx.exception.factory import InvalidSpdxLicenseException

    factory = LicenseFactory()
    # One licence each: an SPDX id becomes license.id, anything else (LicenseRef-..., a name) license.name. Never
    # make_from_string: it reads "LicenseRef-GPL" as an expression, and CycloneDX 1.6 refuses an expression beside
    # other licences (the serializer raises LicenseExpressionAlongWithOthersException).
    out: list[DisjunctiveLicense | LicenseExpression] = []
    for expression in given:
        try:
            out.append(factory.make_with_id(expression))
        except InvalidSpdxLicenseException:
            out.append(factory.make_with_name(expression))
    return out


def serialize(bom: Bom, fmt: SbomFormat) -> str:
    """``bom`` as CycloneDX 1.6 JSON (two-space indent) or XML."""
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.output.xml import XmlV1Dot6

    with warnings.catch_warnings():
        # "The Component this BOM is describing ... has no defined dependencies": an inventory has no dependency
        # graph (the catalogers read what is installed, not what depends on what), as syft's image SBOMs.
        warnings.simplefilter("ignore", UserWarning)
        match fmt:
            case SbomFormat.CYCLONEDX_JSON:
                return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"
            case SbomFormat.CYCLONEDX_XML:
                return XmlV1Dot6(bom).output_as_string(indent=2) + "\n"
            case _:
                raise ValueError(f"{fmt} is not a CycloneDX format")


def write_cyclonedx(inventory: Inventory, fmt: SbomFormat = SbomFormat.CYCLONEDX_JSON) -> str:
    """``inventory`` as a CycloneDX 1.6 document in ``fmt`` (JSON or XML)."""
    return serialize(build_bom(inventory), fmt)


__all__ = ["build_bom", "serial_number", "serialize", "write_cyclonedx"]
