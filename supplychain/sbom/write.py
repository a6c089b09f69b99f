"""Write an ``Inventory`` in every format ``-o`` asked for: syft's ``-o FORMAT`` and ``-o FORMAT=FILE``.

Every document is rendered before any file is written (a format that fails leaves no file behind), then every
file is written to a synced temporary beside its target, and only when all are written is each renamed into place
(never half-written, and an output that cannot be written leaves the others as they were); then the one
standard-output document is returned for the CLI to print.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from supplychain.errors import InvalidInputError
from supplychain.sbom.formats import OutputSpec, SbomFormat

if TYPE_CHECKING:
    from supplychain.sbom.package import Inventory


def render_sbom(inventory: Inventory, fmt: SbomFormat, *, validate: bool = False) -> str:
    """``inventory`` as a ``fmt`` document; with ``validate``, checked by the format's validator first
    (``sbom.validate``: what it costs and why it is off by default)."""
    match fmt:
        case SbomFormat.CYCLONEDX_JSON | SbomFormat.CYCLONEDX_XML:
            from supplychain.sbom.cyclonedx import write_cyclonedx

            text = write_cyclonedx(inventory, fmt)
        case SbomFormat.SPDX_JSON | SbomFormat.SPDX_TAG_VALUE:
            from supplychain.sbom.spdx import write_spdx

            text = write_spdx(inventory, fmt)
    if validate:
        from supplychain.sbom.validate import validate_document

        validate_document(text.encode(), fmt, what=f"the {fmt.value} document written")
    return text


def write_outputs(inventory: Inventory, specs: Sequence[OutputSpec], *, validate: bool = False) -> str | None:
    """Write each ``-o FORMAT=FILE`` of ``specs``, all of them or none; return the document for standard output,
    if one asked for it. Each format is rendered once even when named twice."""
    rendered: dict[SbomFormat, str] = {}
    for spec in specs:
        if spec.format not in rendered:
            rendered[spec.format] = render_sbom(inventory, spec.format, validate=validate)
    files = [(Path(spec.path), rendered[spec.format].encode()) for spec in specs if spec.path is not None]
    _install(files)
    stdout = [rendered[spec.format] for spec in specs if spec.path is None]
    return stdout[0] if stdout else None


def _install(files: list[tuple[Path, bytes]]) -> None:
    """All or none (``files.replace_all``): a directory that does not exist or a full disk fails before any
    output is replaced."""
    from supplychain.files import replace_all

    try:
        replace_all(files, follow_umask=True)
    except OSError as exc:  # replace_all names the output, never its temporary
        raise SbomWriteError(f"cannot write {exc.filename}: {exc.strerror or exc}") from exc


class SbomWriteError(InvalidInputError):
    """An ``-o FORMAT=FILE`` that cannot be written (its directory is missing or not writable, the disk is full)."""

    default_hint = "check that the directory exists and is writable, or write to another path"


__all__ = ["SbomWriteError", "render_sbom", "write_outputs"]
