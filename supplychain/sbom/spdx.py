"""An ``Inventory`` as an SPDX 2.3 document, JSON or tag-value, built and serialised by spdx-tools.

The shape follows syft 1.18.1's SPDX output: the document ``DESCRIBES`` one package for the image
(``SPDXRef-DocumentRoot-Image-<name>``, purpose ``CONTAINER``, version and SHA-256 checksum its digest, purl
``pkg:oci/<name>@<digest>?arch=...``), which ``CONTAINS`` every package (the distribution's packages through an
``OPERATING-SYSTEM`` package, as trivy writes and reads them); each package has its purl as a
``PACKAGE-MANAGER`` external reference, ``sourceInfo`` saying which cataloger read it from which file, and its
licences as ``licenseDeclared`` (``LicenseRef-`` names declared in ``hasExtractedLicensingInfos``, as SPDX 2.3
section 10 requires). syft writes neither the image's labels nor the layer of a package into SPDX; we write them
as SPDX annotations (section 12, type ``OTHER``, by ``Tool: supplychain-<version>``), each comment a
``name=value`` pair named as in the CycloneDX properties (``syft:image:labels:<label>``,
``syft:location:0:layerID``, ``supplychain:layer:digest``...), so the two formats say the same.

``documentNamespace`` is ``https://spdx.org/spdxdocs/<name>-<uuid>`` (the form SPDX 2.3 section 6.5 suggests)
with the UUID of the content (``cyclonedx.serial_number``'s), and ``created`` is ``sbom.formats.document_time``.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from supplychain.sbom import formats
from supplychain.sbom.formats import SbomFormat
from supplychain.sbom.license import all_of, parse_expression

if TYPE_CHECKING:
    from datetime import datetime

    from spdx_tools.spdx.model import Actor, Annotation, Document
    from spdx_tools.spdx.model import Package as SpdxPackage

    from supplychain.sbom.package import Inventory, Package

DOCUMENT_ID = "SPDXRef-DOCUMENT"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
_OS_PACKAGE_TYPES = frozenset({"deb", "apk", "rpm", "alpm"})
_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")
# Annotated per package: where the layer is (what a registry and `docker history` name). The cataloger and path
# already are in sourceInfo, as syft writes them.
_PACKAGE_ANNOTATED = ("syft:location:0:layerID", formats.LAYER_DIGEST_PROPERTY, formats.LAYER_INDEX_PROPERTY)


def spdx_id(kind: str, *parts: str) -> str:
    """``SPDXRef-<kind>-<parts>`` with what SPDX ids may not hold (section 3.2: letters, digits, ``.``, ``-``)
    replaced by ``-``."""
    return "SPDXRef-" + "-".join(_ID_UNSAFE.sub("-", p).strip("-") or "x" for p in (kind, *parts))


def namespace(inventory: Inventory) -> str:
    """The document's namespace (see the module docstring)."""
    from supplychain.sbom.cyclonedx import serial_number

    name = _ID_UNSAFE.sub("-", inventory.image.name).strip("-") or "image"
    return f"https://spdx.org/spdxdocs/{name}-{serial_number(inventory)}"


def build_document(inventory: Inventory) -> Document:
    """The spdx-tools ``Document`` of ``inventory`` (see the module docstring)."""
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        CreationInfo,
        Document,
        ExtractedLicensingInfo,
        Relationship,
        RelationshipType,
    )

    from supplychain import __version__

    created = formats.document_time(inventory)
    tool = Actor(ActorType.TOOL, f"{formats.TOOL_NAME}-{__version__}")
    info = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id=DOCUMENT_ID, name=inventory.image.name,
        document_namespace=namespace(inventory), creators=[tool], created=created,
    )
    root_id = spdx_id("DocumentRoot-Image", inventory.image.name)
    packages = [_image_package(inventory, root_id)]
    annotations = [_annotation(root_id, tool, created, k, v) for k, v in formats.image_properties(inventory)]
    relationships = [Relationship(DOCUMENT_ID, RelationshipType.DESCRIBES, root_id)]
    os_id = None
    if inventory.distro is not None:
        distro = inventory.distro
        os_id = spdx_id("OperatingSystem", distro.id, distro.version_id or "")
        packages.append(_distro_package(inventory, os_id))
        relationships.append(Relationship(root_id, RelationshipType.CONTAINS, os_id))
        for key, value in (("id", distro.id), ("prettyName", distro.pretty_name),
                           ("versionCodename", distro.version_codename), ("versionID", distro.version_id)):
            if value:
                annotations.append(_annotation(os_id, tool, created, formats.DISTRO_PROPERTY.format(name=key),
                                               value))
    refs: set[str] = set()
    for package in inventory.packages:
        pid = spdx_id("Package", package.type, package.name, formats.package_id(package))
        packages.append(_package(package, pid))
        # The distribution's packages belong to it (as trivy writes them, and reads them: an OS package that no
        # operating-system package contains is not an OS package to trivy); the others to the image.
        owner = os_id if os_id is not None and package.type in _OS_PACKAGE_TYPES else root_id
        relationships.append(Relationship(owner, RelationshipType.CONTAINS, pid))
        properties = dict(formats.package_properties(package))
        annotations.extend(_annotation(pid, tool, created, k, properties[k]) for k in _PACKAGE_ANNOTATED
                           if k in properties)
        for expression in package.licenses:
            refs.update(_LICENSE_REF.findall(expression))
    extracted = [ExtractedLicensingInfo(license_id=ref, extracted_text=ref.removeprefix("LicenseRef-"),
                                        license_name=ref.removeprefix("LicenseRef-")) for ref in sorted(refs)]
    return Document(info, packages=packages, annotations=annotations, relationships=relationships,
                    extracted_licensing_info=extracted)


def _annotation(element: str, tool: Actor, created: datetime, name: str, value: str) -> Annotation:
    from spdx_tools.spdx.model import Annotation, AnnotationType

    return Annotation(element, AnnotationType.OTHER, tool, created, f"{name}={value}")


def _image_package(inventory: Inventory, root_id: str) -> SpdxPackage:
    from packageurl import PackageURL
    from spdx_tools.spdx.model import (
        Checksum,
        ChecksumAlgorithm,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        PackagePurpose,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.model import Package as SpdxPackage

    image = inventory.image
    checksums, refs = [], []
    if image.digest and image.digest.startswith("sha256:"):
        checksums.append(Checksum(ChecksumAlgorithm.SHA256, image.digest.removeprefix("sha256:")))
        name = image.name.rsplit("/", 1)[-1].split("@")[0].split(":")[0] or "image"
        qualifiers = {"repository_url": _repository(image.name)}
        if image.platform:
            qualifiers["arch"] = image.platform.split("/")[1] if "/" in image.platform else image.platform
        purl = PackageURL(type="oci", name=name, version=image.digest, qualifiers=qualifiers).to_string()
        refs.append(ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl))
    return SpdxPackage(
        spdx_id=root_id, name=image.name, download_location=SpdxNoAssertion(), version=image.digest,
        supplier=SpdxNoAssertion(), files_analyzed=False, checksums=checksums, license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(), copyright_text=SpdxNoAssertion(), external_references=refs,
        primary_package_purpose=PackagePurpose.CONTAINER,
    )


def _distro_package(inventory: Inventory, os_id: str) -> SpdxPackage:
    from spdx_tools.spdx.model import Package as SpdxPackage
    from spdx_tools.spdx.model import PackagePurpose, SpdxNoAssertion

    distro = inventory.distro
    assert distro is not None
    return SpdxPackage(
        spdx_id=os_id, name=distro.id, download_location=SpdxNoAssertion(), version=distro.version_id,
        supplier=SpdxNoAssertion(), files_analyzed=False, license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(), copyright_text=SpdxNoAssertion(), description=distro.pretty_name,
        primary_package_purpose=PackagePurpose.OPERATING_SYSTEM,
    )


def _repository(name: str) -> str:
    """``registry/repository`` of an image name (its tag and digest dropped), the purl-spec ``oci`` type's
    ``repository_url`` qualifier."""
    base = name.split("@", 1)[0]
    slash = base.rfind("/")
    colon = base.rfind(":")
    return base[:colon] if colon > slash else base


def _package(package: Package, pid: str) -> SpdxPackage:
    from spdx_tools.spdx.model import ExternalPackageRef, ExternalPackageRefCategory, SpdxNoAssertion
    from spdx_tools.spdx.model import Package as SpdxPackage

    joined = all_of(package.licenses)
    declared = parse_expression(joined) if joined is not None else SpdxNoAssertion()
    refs = ([ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", package.purl)]
            if package.purl else [])
    where = ", ".join("/" + p.lstrip("/") for p in package.locations)
    source = f"acquired package info from {package.cataloger or package.type} cataloger: {where}" if where else None
    return SpdxPackage(
        spdx_id=pid, name=package.name, download_location=SpdxNoAssertion(), version=package.version or None,
        supplier=SpdxNoAssertion(), files_analyzed=False, source_info=source, license_concluded=SpdxNoAssertion(),
        license_declared=declared, copyright_text=SpdxNoAssertion(), external_references=refs,
    )


def serialize(document: Document, fmt: SbomFormat) -> str:
    """``document`` as SPDX 2.3 JSON or tag-value, by spdx-tools' writers without their validation (which
    ``sbom.validate`` runs when asked: its cost is measured there)."""
    out = io.StringIO()
    match fmt:
        case SbomFormat.SPDX_JSON:
            from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream as write_json

            write_json(document, out, validate=False)
            out.write("\n")
        case SbomFormat.SPDX_TAG_VALUE:
            from spdx_tools.spdx.writer.tagvalue.tagvalue_writer import write_document_to_stream as write_tv

            write_tv(document, out, validate=False)
        case _:
            raise ValueError(f"{fmt} is not an SPDX format")
    return out.getvalue()


def write_spdx(inventory: Inventory, fmt: SbomFormat = SbomFormat.SPDX_JSON) -> str:
    """``inventory`` as an SPDX 2.3 document in ``fmt`` (JSON or tag-value)."""
    return serialize(build_document(inventory), fmt)


__all__ = ["build_document", "namespace", "serialize", "spdx_id", "write_spdx"]
