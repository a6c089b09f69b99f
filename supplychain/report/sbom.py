"""Render ``sbom diff``'s result as text or JSON (docs/output.md).

Text, for people: one section per kind of change, each line ``TYPE NAME VERSION`` (changed: ``TYPE NAME BEFORE ->
AFTER``, several versions joined by ``,``), every value from the SBOMs escaped (``report.text.escape``: a package
name is whatever the file said). JSON, for CI: ``{"before", "after", "added": [{type, name, version, purl}],
"removed": [...], "changed": [{type, name, before: [...], after: [...]}]}``.
"""

from __future__ import annotations

from typing import Any

from supplychain.report.format import Renderer
from supplychain.report.text import escape
from supplychain.sbom.diff import ListedPackage, PackageChange, SbomDiff


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
    return {"type": package.type, "name": package.name, "version": package.version, "purl": package.purl}


def _change_json(change: PackageChange) -> dict[str, Any]:
    return {"type": change.type, "name": change.name, "before": list(change.before), "after": list(change.after)}


def render_diff_text(diff: SbomDiff) -> str:
    """``sbom diff``: added, removed, changed, and a summary line."""
    if diff.empty:
        return f"no package differences between {escape(diff.before)} and {escape(diff.after)}"
    lines: list[str] = []
    for title, packages in (("added", diff.added), ("removed", diff.removed)):
        if packages:
            lines.append(f"{title} ({len(packages)}):")
            lines.extend(f"  {escape(p.type)} {escape(p.name)} {escape(p.version or '(no version)')}"
                         for p in packages)
    if diff.changed:
        lines.append(f"changed ({len(diff.changed)}):")
        lines.extend(f"  {escape(c.type)} {escape(c.name)} {_versions(c.before)} -> {_versions(c.after)}"
                     for c in diff.changed)
    lines.append(f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed")
    return "\n".join(lines)


def _versions(versions: tuple[str, ...]) -> str:
    return ",".join(escape(v or "(no version)") for v in versions)


DIFF: Renderer[SbomDiff] = Renderer(text=render_diff_text, json=diff_json)

__all__ = ["DIFF", "diff_json", "render_diff_text"]
