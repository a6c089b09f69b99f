"""The SBOM output formats, syft's ``-o FORMAT[=FILE]`` spelling of them, and what makes a document reproducible.

Formats (syft's names, so that ``-o`` reads the same): ``cyclonedx-json`` (CycloneDX 1.6, the default),
``cyclonedx-xml`` (1.6), ``spdx-json`` (SPDX 2.3) and ``spdx-tag-value`` (2.3). ``-o`` may be given several times;
each is ``FORMAT`` (to stdout, at most one of them) or ``FORMAT=FILE``.

Reproducible bytes (issue 12, item 4): the same inventory gives the same document. The serial number (CycloneDX
``urn:uuid:``) and the SPDX ``documentNamespace`` are derived from a SHA-256 of the inventory's canonical JSON
(``content_digest``), never random; the timestamp is ``SOURCE_DATE_EPOCH`` when set (reproducible-builds.org's
variable: the user's explicit choice wins), else the image's creation time (its config's ``created``, or its
``org.opencontainers.image.created`` label), else the Unix epoch: a fixed value rather than the clock.

Standard library only: ``cli.options`` and ``--help`` read the format names from here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from supplychain.errors import InvalidInputError

if TYPE_CHECKING:
    from supplychain.sbom.package import Inventory, Package


class SbomFormat(StrEnum):
    """An SBOM document format, by syft's ``-o`` name."""

    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SPDX_JSON = "spdx-json"
    SPDX_TAG_VALUE = "spdx-tag-value"


DEFAULT_FORMAT = SbomFormat.CYCLONEDX_JSON

# The spellings syft also takes for them (syft ``format/encoders.go`` aliases).
_ALIASES = {
    "cyclonedx": SbomFormat.CYCLONEDX_XML, "cdx-json": SbomFormat.CYCLONEDX_JSON, "cdx-xml": SbomFormat.CYCLONEDX_XML,
    "spdx": SbomFormat.SPDX_TAG_VALUE, "spdx-tv": SbomFormat.SPDX_TAG_VALUE,
}

# Property and annotation names. Where syft has one (syft ``internal/formats/common/property_encoder``), we use
# syft's, so grype and other readers of syft's SBOMs find the layer of each package where they look for it.
LAYER_ID_PROPERTY = "syft:location:{index}:layerID"  # the layer's diff_id, as syft writes it
LOCATION_PATH_PROPERTY = "syft:location:{index}:path"
FOUND_BY_PROPERTY = "syft:package:foundBy"
PACKAGE_TYPE_PROPERTY = "syft:package:type"
IMAGE_LABEL_PROPERTY = "syft:image:labels:{name}"
DISTRO_PROPERTY = "syft:distro:{name}"
# Ours, where syft has none: the layer's blob digest and position, the image's platform and layers.
LAYER_DIGEST_PROPERTY = "supplychain:layer:digest"
LAYER_INDEX_PROPERTY = "supplychain:layer:index"
METADATA_PROPERTY = "supplychain:metadata:{name}"
IMAGE_PLATFORM_PROPERTY = "supplychain:image:platform"
IMAGE_DIGEST_PROPERTY = "supplychain:image:digest"
IMAGE_LAYER_PROPERTY = "supplychain:image:layer:{index}:{field}"  # field: digest, diffID

CREATED_LABEL = "org.opencontainers.image.created"
TOOL_NAME = "supplychain"
TOOL_VENDOR = "supplychain"


class OutputFormatError(InvalidInputError):
    """An ``-o`` value that names no SBOM format, or two outputs to standard output."""

    default_hint = "use -o FORMAT or -o FORMAT=FILE with FORMAT one of " + ", ".join(f.value for f in SbomFormat)


class OutputSpec(NamedTuple):
    """One ``-o``: a format, and the file to write it to (``None``: standard output)."""

    format: SbomFormat
    path: str | None


def parse_format(name: str) -> SbomFormat:
    """The format called ``name`` (syft's names and aliases, case-insensitive)."""
    key = name.strip().lower()
    try:
        return _ALIASES.get(key) or SbomFormat(key)
    except ValueError:
        raise OutputFormatError(f"unknown SBOM format {name!r}") from None


def parse_outputs(values: Sequence[str]) -> tuple[OutputSpec, ...]:
    """syft's ``-o`` values (``FORMAT`` or ``FORMAT=FILE``, each once) as specs; none gives the default to stdout.
    Two outputs to standard output, or one file named twice, are refused."""
    if not values:
        return (OutputSpec(DEFAULT_FORMAT, None),)
    specs: list[OutputSpec] = []
    for value in values:
        name, eq, path = value.partition("=")
        if eq and not path:
            raise OutputFormatError(f"-o {value}: no file after '='")
        specs.append(OutputSpec(parse_format(name), path if eq else None))
        if eq and os.path.isdir(path):  # refused before the scan, not after it
            raise OutputFormatError(f"-o {value}: {path} is a directory",
                                    hint=f"name a file in it: -o {name}={os.path.join(path, 'sbom.json')}")
    if sum(spec.path is None for spec in specs) > 1:
        raise OutputFormatError("more than one -o writes to standard output",
                                hint="give all but one a file: -o FORMAT=FILE")
    paths = [os.path.abspath(spec.path) for spec in specs if spec.path is not None]
    if len(paths) != len(set(paths)):
        raise OutputFormatError("two -o outputs name the same file")
    return tuple(specs)


def canonical_inventory(inventory: Inventory) -> bytes:
    """The inventory as canonical JSON (sorted keys, compact): what the serial number and namespace hash."""
    from dataclasses import asdict

    return json.dumps(asdict(inventory), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str).encode()


def content_digest(inventory: Inventory) -> str:
    """The SHA-256 hex of ``canonical_inventory``: the same inventory, the same serial number."""
    import hashlib

    return hashlib.sha256(canonical_inventory(inventory)).hexdigest()


def document_time(inventory: Inventory, environ: Mapping[str, str] | None = None) -> datetime:
    """The document's timestamp (see the module docstring): ``SOURCE_DATE_EPOCH``, the image's creation time,
    or the epoch; whole seconds, UTC."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip():
        try:
            return datetime.fromtimestamp(int(epoch.strip()), UTC)
        except (ValueError, OverflowError, OSError):
            raise InvalidInputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds",
                                    hint="set it to an integer (e.g. $(git log -1 --format=%ct)) or unset it"
                                    ) from None
    labels = dict(inventory.image.labels)
    for created in (inventory.image.created, labels.get(CREATED_LABEL)):
        moment = _parse_time(created)
        if moment is not None:
            return moment
    return datetime.fromtimestamp(0, UTC)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Go writes nanoseconds (2024-01-01T00:00:00.123456789Z); fromisoformat takes at most microseconds.
    head, dot, tail = value.partition(".")
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))
        value = head + "." + (tail[:min(digits, 6)] or "0") + tail[digits:]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def image_properties(inventory: Inventory) -> list[tuple[str, str]]:
    """The image's metadata as ``(name, value)`` pairs, in a fixed order: labels (syft's names, sorted), then
    digest, platform and layers (ours)."""
    image = inventory.image
    out = [(IMAGE_LABEL_PROPERTY.format(name=k), v) for k, v in sorted(image.labels)]
    if image.digest:
        out.append((IMAGE_DIGEST_PROPERTY, image.digest))
    if image.platform:
        out.append((IMAGE_PLATFORM_PROPERTY, image.platform))
    for layer in image.layers:
        out.append((IMAGE_LAYER_PROPERTY.format(index=layer.index, field="digest"), layer.digest))
        out.append((IMAGE_LAYER_PROPERTY.format(index=layer.index, field="diffID"), layer.diff_id))
    return out


def package_properties(package: Package) -> list[tuple[str, str]]:
    """A package's properties (``sbom.package.Package``), syft's names first: cataloger, type, locations with the
    layer (its diff_id on the first location, where the metadata the package was read from lives), then ours."""
    out: list[tuple[str, str]] = []
    if package.cataloger:
        out.append((FOUND_BY_PROPERTY, package.cataloger))
    out.append((PACKAGE_TYPE_PROPERTY, package.type))
    for i, path in enumerate(package.locations):
        if i == 0 and package.layer is not None:
            out.append((LAYER_ID_PROPERTY.format(index=i), package.layer.diff_id))
        out.append((LOCATION_PATH_PROPERTY.format(index=i), "/" + path.lstrip("/")))
    if package.layer is not None:
        out.append((LAYER_DIGEST_PROPERTY, package.layer.digest))
        out.append((LAYER_INDEX_PROPERTY, str(package.layer.index)))
    out.extend((METADATA_PROPERTY.format(name=k), v) for k, v in package.metadata)
    return out


def package_id(package: Package) -> str:
    """A short stable id of a package (16 hex of a SHA-256 of what orders it), unique within an inventory unless
    two packages are equal: syft's ``package-id`` qualifier of a bom-ref, our SPDX identifiers' suffix."""
    import hashlib

    key = json.dumps([package.type, package.name, package.version, package.purl, list(package.locations)])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


__all__ = [
    "DEFAULT_FORMAT",
    "OutputFormatError",
    "OutputSpec",
    "SbomFormat",
    "content_digest",
    "document_time",
    "parse_format",
    "parse_outputs",
]
