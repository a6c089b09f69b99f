"""Render ``sbom diff``'s result as text or JSON (docs/output.md), and what ``sbom generate`` says on stderr.

Text, for people: one section per kind of change, each line ``TYPE NAME VERSION`` (changed: ``TYPE NAME BEFORE ->
AFTER``, several versions joined by ``,``), the name with its namespace where it has one (``org.alpha/core``),
every value from the SBOMs escaped (``report.text.escape``: a package name is whatever the file said). JSON, for
CI: ``{"before", "after", "added": [{type, namespace, name, version, purl}], "removed": [...], "changed": [{type,
namespace, name, before: [...], after: [...]}]}``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from supplychain.report.format import Renderer
from supplychain.report.text import escape
from supplychain.sbom.diff import ListedPackage, PackageChange, SbomDiff

if TYPE_CHECKING:
    from supplychain.imagefs.view import LayerRef
    from supplychain.sbom.package import Inventory


def diff_json(diff: SbomDiff) -> dict[str, Any]:
    """``sbom diff -o json``."""
    return {
        "before": diff.before,
        "after": diff.after,
        "added": [_package_json(p) for p in diff.added],
        "removed": [_package_json(p) for p in diff.removed],
        "changed": [_change_json(c) for c in diff.changed],
    }


def _package_json(package: ListedPackage) -> dict[str, str]:
    return {"type": package.type, "namespace": package.namespace, "name": package.name, "version": package.version,
            "purl": package.purl}


def _change_json(change: PackageChange) -> dict[str, Any]:
    return {"type": change.type, "namespace": change.namespace, "name": change.name, "before": list(change.before),
            "after": list(change.after)}


def render_diff_text(diff: SbomDiff) -> str:
    """``sbom diff``: added, removed, changed, and a summary line."""
    if diff.empty:
        return f"no package differences between {escape(diff.before)} and {escape(diff.after)}"
    lines: list[str] = []
    for title, packages in (("added", diff.added), ("removed", diff.removed)):
        if packages:
            lines.append(f"{title} ({len(packages)}):")
            lines.extend(f"  {escape(p.type)} {escape(p.qualified_name)} {escape(p.version or '(no version)')}"
                         for p in packages)
    if diff.changed:
        lines.append(f"changed ({len(diff.changed)}):")
        lines.extend(f"  {escape(c.type)} {escape(c.qualified_name)} {_versions(c.before)} -> {_versions(c.after)}"
                     for c in diff.changed)
    lines.append(f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed")
    return "\n".join(lines)


def _versions(versions: tuple[str, ...]) -> str:
    return ",".join(escape(v or "(no version)") for v in versions)


DIFF: Renderer[SbomDiff] = Renderer(text=render_diff_text, json=diff_json)


def inventory_summary(inventory: Inventory) -> str:
    """``sbom generate``'s last stderr line: how many packages of each type, the distribution, the problems."""
    counts = Counter(package.type for package in inventory.packages)
    kinds = ", ".join(f"{n} {escape(kind)}" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    line = f"{len(inventory.packages)} packages" + (f" ({kinds})" if kinds else "")
    if inventory.distro is not None:
        distro = inventory.distro
        line += f" on {escape(distro.id)} {escape(distro.version_id or '')}".rstrip()
    if inventory.problems:
        line += f"; {len(inventory.problems)} problem(s) above"
    return f"{line} in {escape(inventory.image.name)}"


def problem_lines(inventory: Inventory) -> list[str]:
    """One ``warning:`` line per problem met (a file a cataloger could not read costs its packages, not the scan)."""
    out = []
    for problem in inventory.problems:
        where = f"/{problem.path.lstrip('/')}: " if problem.path else ""
        out.append(f"warning: {escape(problem.cataloger)}: {escape(where)}{escape(' '.join(problem.message.split()))}")
    return out


def layer_line(layer: LayerRef, count: int, compressed_bytes: int) -> str:
    """``sbom generate``'s progress: a layer walked."""
    return (f"layer {layer.index + 1}/{count} {escape(layer.digest[:19])} "
            f"{compressed_bytes / 1_000_000:.1f} MB scanned")


__all__ = ["DIFF", "diff_json", "inventory_summary", "layer_line", "problem_lines", "render_diff_text"]
