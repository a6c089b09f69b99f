"""``sbom``: software bills of materials (issue 12). ``sbom diff`` compares two SBOM files; ``sbom generate``
joins the group later.

Thin adapters (STYLE.md section 1): options, the library call (``sbom.diff``), a renderer (``report.sbom``).
cyclonedx-python-lib and spdx-tools are imported inside the run only (``--help`` loads neither:
tests/unit/cli/test_startup_imports.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from supplychain.cli.group import Group
from supplychain.cli.options import echo_result, output_option
from supplychain.report.format import Format


@click.group("sbom", cls=Group)
def sbom_group() -> None:
    """Software bills of materials: compare them.

    \b
    Examples:
      supplychain sbom diff old.cdx.json new.cdx.json
    """


@sbom_group.command("diff")
@click.argument("before", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(dir_okay=False, path_type=Path))
@output_option
def sbom_diff_command(before: Path, after: Path, output: Format) -> None:
    """Show the packages added, removed and changed from the SBOM BEFORE to the SBOM AFTER.

    Each file is CycloneDX JSON or SPDX JSON (what sbom generate, syft and trivy write), told apart by its
    content. A package is its type (the purl type: deb, pypi, npm...) and name; the same package at other
    versions is changed. Exit status 0 whether or not they differ; 3 for a file that is not such an SBOM.

    \b
    Examples:
      supplychain sbom diff app-1.0.cdx.json app-1.1.cdx.json
      supplychain sbom diff -o json base.spdx.json app.spdx.json | jq '.changed[]'
    """
    from supplychain.report.sbom import DIFF
    from supplychain.sbom.diff import diff_packages, read_sbom_file

    result = diff_packages(read_sbom_file(before), read_sbom_file(after), before_name=str(before),
                           after_name=str(after))
    echo_result(DIFF.render(result, output))
