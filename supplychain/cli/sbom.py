"""``sbom``: software bills of materials (issue 12). ``sbom generate`` lists an image's packages in syft's output
formats; ``sbom diff`` compares two SBOMs or two images.

Thin adapters (STYLE.md section 1): options, the library call (``imagesource.open_image`` then
``sbom.generate``; ``sbom.diff``), a renderer (``report.sbom``, ``sbom.write``).
cyclonedx-python-lib and spdx-tools are imported inside the run only (``--help`` loads neither:
tests/unit/cli/test_startup_imports.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from supplychain.cli.group import Group
from supplychain.cli.options import (
    build_settings,
    echo_lines,
    echo_result,
    output_option,
    parse_platform,
    registry_options,
)
from supplychain.report.format import Format

if TYPE_CHECKING:
    from supplychain.config import Settings
    from supplychain.imagefs.view import LayerRef
    from supplychain.oci.model import Platform
    from supplychain.sbom.catalog import Cataloger
    from supplychain.sbom.diff import ListedPackage
    from supplychain.sbom.package import Inventory

# sbom.formats.SbomFormat's values and the catalogers' names, spelled here so that --help imports neither
# (tests/unit/cli/test_sbom_generate.py holds them equal).
FORMAT_NAMES = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value")
CATALOGER_NAMES = ("dpkg", "apk", "rpm", "python", "npm", "ruby", "java", "go", "rust")
# Images whose layers add up to less than this get no per-layer progress lines: they are done before one is read.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


@click.group("sbom", cls=Group)
def sbom_group() -> None:
    """Software bills of materials: generate them from images, compare them.

    \b
    Examples:
      supplychain sbom generate registry.example.com/app:1.0 -o spdx-json=app.spdx.json
      supplychain sbom diff old.cdx.json new.cdx.json
    """


def _catalogers(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
    unknown = [name for name in names if name not in CATALOGER_NAMES]
    if unknown or not names:
        raise click.BadParameter(f"unknown cataloger(s) {', '.join(unknown) or repr(value)}; "
                                 f"the catalogers are {', '.join(CATALOGER_NAMES)}")
    return names


@sbom_group.command("generate")
@click.argument("source")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FORMAT[=FILE]",
              help=f"Write the SBOM as FORMAT ({', '.join(FORMAT_NAMES)}; default cyclonedx-json) to FILE, or to "
              "stdout without =FILE; repeat for several formats at once (syft's -o).")
@click.option("--platform", callback=parse_platform, metavar="OS/ARCH[/VARIANT]",
              help="For an image index, scan this platform's image (default: this machine's platform).")
@click.option("--scope", type=click.Choice(["squashed", "all-layers"]), default="squashed", show_default=True,
              help="squashed: the filesystem a container sees; all-layers: also packages a later layer deleted "
              "(syft's --scope).")
@click.option("--select-catalogers", "select", callback=_catalogers, metavar="NAME[,NAME...]",
              help=f"Run only these catalogers ({', '.join(CATALOGER_NAMES)}; default: all).")
@click.option("--validate", is_flag=True,
              help="Check each document with its library's validator before writing it (slow for SPDX "
              "tag-value; attach sbom always validates).")
@click.option("-q", "--quiet", is_flag=True, help="No progress, warnings or summary on stderr; errors still.")
@registry_options
def sbom_generate_command(source: str, outputs: tuple[str, ...], platform: Platform | None, scope: str,
                          select: tuple[str, ...] | None, validate: bool, quiet: bool, ca_file: Path | None,
                          insecure_registries: tuple[str, ...]) -> None:
    """List the packages in SOURCE as a CycloneDX or SPDX SBOM, each attributed to the layer that added it.

    SOURCE is [docker://]REGISTRY/NAME[:TAG][@DIGEST], oci:DIR[:TAG|@DIGEST], docker-archive:PATH[:NAME:TAG],
    oci-archive:PATH[:NAME|@DIGEST] or dir:PATH (skopeo's and syft's spellings). The layers are streamed once each
    and never unpacked; only package metadata is kept in memory. OS packages (dpkg, apk, rpm) and language packages
    (Python, npm, Ruby, Java archives, Go and Rust binaries) are found as syft finds them; each package names the
    layer that last wrote its metadata (syft:location:0:layerID and supplychain:layer:digest). The documents are the
    same bytes for the same image: their time is SOURCE_DATE_EPOCH, else the image's creation time. stderr shows
    each layer as it is scanned (images over 4 MB), a warning per file that could not be read, and a summary. Exit
    status 0 with or without warnings; 3 for a source or layer that is not what it claims (7 for a digest mismatch),
    4 if not found.

    \b
    Examples:
      supplychain sbom generate oci:./layout:app -o spdx-json=app.spdx.json -o cyclonedx-json=app.cdx.json
      supplychain sbom generate registry.example.com/app:1.0 --platform linux/arm64 > app.cdx.json
      supplychain sbom generate docker-archive:app.tar --scope all-layers -q
    """
    from supplychain.sbom.formats import parse_outputs
    from supplychain.sbom.write import write_outputs

    specs = parse_outputs(outputs)  # a bad -o fails before any layer is read
    inventory = _generate(source, build_settings(ca_file, insecure_registries), platform=platform,
                          scope=scope, select=select, quiet=quiet)
    document = write_outputs(inventory, specs, validate=validate)
    if not quiet:
        from supplychain.report.sbom import inventory_summary, problem_lines

        echo_lines([*problem_lines(inventory), inventory_summary(inventory)])
    if document is not None:
        echo_result(document, nl=not document.endswith("\n"))


def _generate(source: str, settings: Settings, *, platform: Platform | None, scope: str,
              select: tuple[str, ...] | None, quiet: bool) -> Inventory:
    """Open ``source`` and scan it, with per-layer progress lines on stderr unless ``quiet`` or small."""
    from supplychain.imagefs.walk import Scope
    from supplychain.imagesource import open_image
    from supplychain.report.sbom import layer_line
    from supplychain.sbom.generate import generate_inventory

    with open_image(source, settings, platform=platform) as image:
        sizes = [layer.size for layer in image.layers]
        show = not quiet and (None in sizes or sum(size or 0 for size in sizes) >= PROGRESS_MIN_BYTES)

        def progress(layer: LayerRef, done: int) -> None:
            if show:
                click.echo(layer_line(layer, len(sizes), done), err=True)

        return generate_inventory(image, _selected(select), scope=Scope(scope), progress=progress)


def _selected(select: tuple[str, ...] | None) -> tuple[Cataloger, ...]:
    from supplychain.sbom.catalogers import all_catalogers, catalogers_named

    return all_catalogers() if select is None else catalogers_named(select)


@sbom_group.command("diff")
@click.argument("before")
@click.argument("after")
@click.option("--platform", callback=parse_platform, metavar="OS/ARCH[/VARIANT]",
              help="For an image index given as BEFORE or AFTER, compare this platform's image.")
@output_option
@registry_options
def sbom_diff_command(before: str, after: str, platform: Platform | None, output: Format, ca_file: Path | None,
                      insecure_registries: tuple[str, ...]) -> None:
    """Show the packages added, removed and changed from BEFORE to AFTER, each an SBOM file or an image.

    An SBOM file is CycloneDX JSON or SPDX JSON (what sbom generate, syft and trivy write), told apart by its
    content. An image is scanned as sbom generate scans it; name it with its transport (oci:DIR[:TAG],
    docker-archive:PATH, oci-archive:PATH, dir:PATH, docker://REF) or as a reference with a registry host
    (registry.example.com/app:1.0). A package is its type (the purl type: deb, pypi, npm...) and name; the same
    package at other versions is changed. Exit status 0 whether or not they differ; 3 for a file that is not such an
    SBOM, 4 for a file or image that does not exist.

    \b
    Examples:
      supplychain sbom diff app-1.0.cdx.json app-1.1.cdx.json
      supplychain sbom diff oci:./layout:1.0 oci:./layout:1.1
      supplychain sbom diff -o json base.spdx.json registry.example.com/app:1.1 | jq '.changed[]'
    """
    from supplychain.report.sbom import DIFF
    from supplychain.sbom.diff import diff_packages

    settings = build_settings(ca_file, insecure_registries)
    result = diff_packages(_listed(before, settings, platform), _listed(after, settings, platform),
                           before_name=before, after_name=after)
    echo_result(DIFF.render(result, output))


def _listed(side: str, settings: Settings, platform: Platform | None) -> list[ListedPackage]:
    """One side of ``sbom diff``: an SBOM file that exists, else an image named unambiguously (a bare word that is
    no file is refused, never looked up on Docker Hub)."""
    from supplychain.errors import NotFoundError
    from supplychain.imagesource import names_image
    from supplychain.sbom.diff import listed_packages, read_sbom_file
    from supplychain.sbom.validate import InvalidSbomError

    if Path(side).is_file():
        return read_sbom_file(side)
    if Path(side).exists():
        raise InvalidSbomError(f"{side} is not a regular file: no SBOM to read",
                               hint="name an SBOM file (a directory, a FIFO or a device is none)")
    if not names_image(side):
        raise NotFoundError(f"{side}: no such SBOM file",
                            hint="name an SBOM file that exists, or an image with its transport (oci:DIR:TAG, "
                            "docker-archive:PATH, docker://REF) or its registry (registry.example.com/app:1.0)")
    return listed_packages(_generate(side, settings, platform=platform, scope="squashed", select=None, quiet=True))
