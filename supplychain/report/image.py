"""Render ``inspect``, ``ls``, ``tree`` and ``copy`` results as text or as stable JSON (docs/output.md).

One ``Renderer`` per result (``SUMMARY``, ``TAGS``, ``TREE``, ``COPY``); the stderr lines around a result (warnings,
the copy summary) are functions of their own: they are not the result, and are the same in every format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from supplychain.graph import NodeKind, TreeNode
from supplychain.oci.attachment import AttachmentKind
from supplychain.oci.model import Descriptor
from supplychain.oci.referrers import damaged_tag_hint
from supplychain.report.format import Renderer
from supplychain.report.text import escape
from supplychain.summary import ImageSummary
from supplychain.transfer import CopyResult


@dataclass(frozen=True, slots=True)
class TagList:
    """What ``ls`` found: the repository's name as the store gives it, and its tags in the store's order."""

    repository: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TreeView:
    """A ``tree`` result: the reference asked for and the tree built from its digest."""

    reference: str
    root: TreeNode


@dataclass(frozen=True, slots=True)
class CopyReport:
    """A ``copy`` result and where it went: the destination's repository (or layout path) and tag, and whether it
    is an OCI layout (where Docker-typed manifests get a warning)."""

    name: str
    tag: str | None
    result: CopyResult
    into_layout: bool = False

    @property
    def destination(self) -> str:
        """``name[:tag]``: what the copy wrote to."""
        return f"{self.name}:{self.tag}" if self.tag else self.name


def human_size(size: int) -> str:
    """``1.2 MB`` style sizes (decimal units, as registries and docker print them)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _with_optional(out: dict[str, Any], fields: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``out`` with each of ``fields`` whose value is set (not empty, not None) added in order."""
    out.update((key, value) for key, value in fields if value)
    return out


def descriptor_json(desc: Descriptor) -> dict[str, Any]:
    """A descriptor as ``inspect`` and ``tree`` show it (``platform`` as ``os/arch[/variant]`` text)."""
    return _with_optional({"mediaType": desc.media_type, "digest": str(desc.digest), "size": desc.size}, [
        ("artifactType", desc.artifact_type),
        ("platform", str(desc.platform) if desc.platform else None),
        ("annotations", dict(desc.annotations)),
    ])


def summary_json(summary: ImageSummary) -> dict[str, Any]:
    """The JSON form of ``inspect`` (stable: keys are only ever added)."""
    desc = summary.descriptor
    out = _with_optional(
        {"reference": summary.reference, "digest": str(desc.digest), "mediaType": desc.media_type, "size": desc.size},
        [("artifactType", summary.artifact_type), ("subject", str(summary.subject) if summary.subject else None),
         ("annotations", dict(summary.annotations))],
    )
    if summary.platforms:
        out["platforms"] = [
            {"platform": str(p) if p else None, **descriptor_json(d)} for p, d in summary.platforms
        ]
    if summary.config is not None:
        c = summary.config
        out["platform"] = "/".join(x for x in (c.os, c.architecture, c.variant) if x) or None
        out["config"] = {
            "created": c.created,
            "author": c.author,
            "labels": dict(c.labels),
            # null when the config has no such field, [] when it is an empty list
            "env": _optional_list(c.env),
            "entrypoint": _optional_list(c.entrypoint),
            "cmd": _optional_list(c.cmd),
        }
    if summary.layers or summary.config is not None:
        out["layers"] = [descriptor_json(layer) for layer in summary.layers]
        out["layersSize"] = summary.layers_size
        out["totalSize"] = summary.total_size  # manifest + config + layers
    return out


def _optional_list(value: tuple[str, ...] | None) -> list[str] | None:
    return None if value is None else list(value)


def render_summary_text(summary: ImageSummary) -> str:
    """The text form of ``inspect``: every value the image's publisher chose is escaped (``report.text``)."""
    lines = [
        f"Reference:   {escape(summary.reference)}",
        f"Digest:      {summary.descriptor.digest}",
        f"Media type:  {escape(summary.descriptor.media_type)}",
        f"Size:        {summary.descriptor.size} bytes",
    ]
    if summary.artifact_type:
        lines.append(f"Artifact:    {escape(summary.artifact_type)}")
    if summary.subject:
        lines.append(f"Subject:     {summary.subject}")
    if summary.platforms:
        lines.append("Platforms:")
        for platform, desc in summary.platforms:
            name = escape(str(platform)) if platform else "(none)"
            lines.append(f"  {name:<22} {desc.digest}  {human_size(desc.size)}")
    if summary.config is not None:
        c = summary.config
        config_platform = "/".join(x for x in (c.os, c.architecture, c.variant) if x)
        lines.append(f"Platform:    {escape(config_platform) or '(unknown)'}")
        if c.created:
            lines.append(f"Created:     {escape(c.created)}")
        if summary.layers:
            lines.append(f"Layers:      {len(summary.layers)} ({human_size(summary.layers_size)})")
        lines.append(f"Total size:  {human_size(summary.total_size)} (manifest + config + layers)")
        if c.labels:
            lines.append("Labels:")
            lines.extend(f"  {escape(key)}={escape(value)}" for key, value in sorted(c.labels.items()))
    if summary.annotations:
        lines.append("Annotations:")
        lines.extend(f"  {escape(key)}={escape(value)}" for key, value in sorted(summary.annotations.items()))
    return "\n".join(lines)


_KIND_LABEL = {
    NodeKind.ROOT: "",
    NodeKind.PLATFORM: "platform",
    NodeKind.REFERRER: "referrer",
    AttachmentKind.SIGNATURE: "signature (cosign tag)",
    AttachmentKind.ATTESTATION: "attestation (cosign tag)",
    AttachmentKind.SBOM: "sbom (cosign tag)",
    NodeKind.DAMAGED: "damaged referrers tag",
}


def _node_label(node: TreeNode) -> str:
    desc = node.descriptor
    parts = []
    if node.kind is not NodeKind.ROOT:
        parts.append(f"{_KIND_LABEL[node.kind]}:")
    parts.append(str(desc.digest))
    if desc.platform:
        parts.append(escape(str(desc.platform)))
    if desc.artifact_type:
        parts.append(f"[{escape(desc.artifact_type)}]")
    if node.tag:
        parts.append(f"(tag {escape(node.tag)})")
    if node.truncated:
        truncated = escape(node.truncated)
        parts.append(f"({truncated})" if node.kind is NodeKind.DAMAGED else f"... ({truncated})")
    return " ".join(parts)


def render_tree_text(reference: str, root: TreeNode) -> str:
    """The text form of ``tree``: box-drawing lines, one manifest a line, layers of attachments listed; values
    from the registry or layout escaped (``report.text``)."""
    lines = [f"{escape(reference)} @ {root.descriptor.digest}"]

    def add(node: TreeNode, prefix: str) -> None:
        items: list[TreeNode | Descriptor] = [*node.children]
        if node.kind is not NodeKind.ROOT and node.kind is not NodeKind.PLATFORM:
            items.extend(node.layers)
        for i, item in enumerate(items):
            last = i == len(items) - 1
            branch = "└── " if last else "├── "
            if isinstance(item, TreeNode):
                lines.append(prefix + branch + _node_label(item))
                add(item, prefix + ("    " if last else "│   "))
            else:
                lines.append(prefix + branch + f"{escape(item.media_type)} {item.digest.short} {human_size(item.size)}")

    add(root, "")
    if len(lines) == 1:
        lines.append("(no platforms, referrers or attachments)")
    return "\n".join(lines)


def tree_json(view: TreeView) -> dict[str, Any]:
    """The JSON form of ``tree``: nested nodes."""
    return _node_json(view.root)


def _node_json(node: TreeNode) -> dict[str, Any]:
    out = _with_optional({"kind": node.kind.value, **descriptor_json(node.descriptor)}, [
        ("tag", node.tag), ("truncated", node.truncated), ("referrersCut", node.referrers_cut),
    ])
    if node.layers and node.kind not in (NodeKind.ROOT, NodeKind.PLATFORM):
        out["layers"] = [descriptor_json(layer) for layer in node.layers]
    out["children"] = [_node_json(child) for child in node.children]
    return out


def tree_warning_lines(root: TreeNode, repository: str) -> list[str]:
    """stderr after a tree: referrers listings the store cut at its cap (the tree shows only what was listed),
    then each damaged referrers tag with the command that removes it."""
    lines = [f"warning: {escape(node.referrers_cut)}" for node in root.walk() if node.referrers_cut]
    for node in root.walk():
        if node.kind is NodeKind.DAMAGED:
            where = escape(f"{repository}:{node.tag}")
            lines.append(f"warning: damaged referrers tag {where}: {escape(node.truncated or '')}")
            lines.append(f"hint: {damaged_tag_hint(where)}")
    return lines


def render_copy_text(report: CopyReport) -> str:
    """The text form of ``copy``: ``destination@digest``, a reference to what was written."""
    return f"{report.destination}@{report.result.digest}"


def copy_json(report: CopyReport) -> dict[str, Any]:
    """The JSON form of ``copy`` (stable: keys are only ever added)."""
    result = report.result
    return {
        "digest": str(result.digest),
        "manifests": result.manifests,
        "blobsCopied": result.blobs_copied,
        "blobsSkipped": result.blobs_skipped,
        "blobsMounted": result.blobs_mounted,
        "bytesCopied": result.bytes_copied,
        "attachments": list(result.attachments),
        "failedAttachments": [
            {"attachment": f.attachment, "error": f.reason, "exitCode": int(f.exit_code)}
            for f in result.failed_attachments
        ],
        "dockerManifests": result.docker_manifests,
        "merged": [{"tag": m.tag, "added": m.added, "kept": m.kept} for m in result.merged],
    }


def copy_summary_line(result: CopyResult) -> str:
    """The stderr line after ``copy``."""
    failed = f", {len(result.failed_attachments)} failed" if result.failed_attachments else ""
    mounted = f", mounted {result.blobs_mounted} from the source repository" if result.blobs_mounted else ""
    return (f"copied {result.manifests} manifests, {result.blobs_copied} blobs ({result.bytes_copied} bytes), "
            f"skipped {result.blobs_skipped} present{mounted}; {len(result.attachments)} attachments{failed}")


def merged_lines(result: CopyResult) -> list[str]:
    """One stderr line per attachment tag merged with what the destination held (nothing of it was replaced)."""
    return [f"merged {m.tag}: added {m.added} layer(s) of the source to the destination's, kept {m.kept} only "
            "the destination had" for m in result.merged]


def docker_in_layout_warning(result: CopyResult, destination: str) -> str:
    """The one-line stderr warning after copying Docker-typed manifests into an OCI layout."""
    return (f"warning: copied {result.docker_manifests} Docker-typed manifest(s) to {escape(destination)} as they are "
            "(digests and signatures stay valid); skopeo and umoci do not read Docker-typed manifests from an OCI "
            "layout (`skopeo copy --format oci` converts them, changing the digest)")


def failed_attachment_lines(result: CopyResult) -> list[str]:
    """One stderr line per attachment that was not copied, when there are several (the error names the first)."""
    failed = result.failed_attachments
    return [f"failed: {escape(f.attachment)}: {escape(f.reason)}" for f in failed] if len(failed) > 1 else []


def tags_json(listing: TagList) -> dict[str, Any]:
    """The JSON form of ``ls``: skopeo list-tags' ``{"Repository": ..., "Tags": [...]}`` (tags exact)."""
    return {"Repository": listing.repository, "Tags": list(listing.tags)}


def render_tags_text(listing: TagList) -> str:
    """The text form of ``ls``: one tag a line, escaped (a registry or layout chose them: ``report.text``)."""
    return "\n".join(escape(tag) for tag in listing.tags)


def copy_stderr_lines(report: CopyReport) -> list[str]:
    """Everything ``copy`` says on stderr after its result: the summary, the merged tags, the Docker-in-layout
    warning and, when several failed, each failure."""
    result = report.result
    lines = [copy_summary_line(result), *merged_lines(result)]
    if report.into_layout and result.docker_manifests:
        lines.append(docker_in_layout_warning(result, report.name))
    return [*lines, *failed_attachment_lines(result)]


SUMMARY: Renderer[ImageSummary] = Renderer(text=render_summary_text, json=summary_json)
TAGS: Renderer[TagList] = Renderer(text=render_tags_text, json=tags_json)
TREE: Renderer[TreeView] = Renderer(text=lambda view: render_tree_text(view.reference, view.root), json=tree_json)
COPY: Renderer[CopyReport] = Renderer(text=render_copy_text, json=copy_json)
