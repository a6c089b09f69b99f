"""Write an ``Inventory`` in every format ``-o`` asked for: syft's ``-o FORMAT`` and ``-o FORMAT=FILE``.

Every document is rendered before any file is written (a format that fails leaves no file behind), then each
file is replaced atomically (``files.write_atomic``: never half-written), then the one standard-output document
is returned for the CLI to print.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

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
    """Write each ``-o FORMAT=FILE`` of ``specs``; return the document for standard output, if one asked for it.
    Each format is rendered once even when named twice."""
    from supplychain.files import write_atomic

    rendered: dict[SbomFormat, str] = {}
    for spec in specs:
        if spec.format not in rendered:
            rendered[spec.format] = render_sbom(inventory, spec.format, validate=validate)
    stdout = None
    for spec in specs:
        if spec.path is None:
            stdout = rendered[spec.format]
        else:
            write_atomic(spec.path, rendered[spec.format].encode(), follow_umask=True)
    return stdout


__all__ = ["render_sbom", "write_outputs"]
