"""Render ``inspect``, ``tree`` and ``copy`` results as text or as stable JSON (documented in docs/output.md)."""

from __future__ import annotations

import json
from typing import Any

from supplychain.graph import NodeKind, TreeNode
from supplychain.oci.attachment import AttachmentKind
from supplychain.oci.model import Descriptor
from supplychain.report.text import escape
from supplychain.summary import ImageSummary
from supplychain.transfer import CopyResult


def human_size(size: int) -> str:
    """``1.2 MB`` style sizes (decimal units, as registries and docker print them)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def descriptor_json(desc: Descriptor) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": desc.media_type, "digest": str(desc.digest), "size": desc.size}
    if desc.artifact_type:
        out["artifactType"] = desc.artifact_type
    if desc.platform:
        out["platform"] = str(desc.platform)
    if desc.annotations:
        out["annotations"] = dict(desc.annotations)
    return out


def summary_json(summary: ImageSummary) -> dict[str, Any]:
    """The JSON form of ``inspect`` (stable: keys are only ever added)."""
    out: dict[str, Any] = {
        "reference": summary.reference,
        "digest": str(summary.descriptor.digest),
        "mediaType": summary.descriptor.media_type,
        "size": summary.descriptor.size,
    }
    if summary.artifact_type:
        out["artifactType"] = summary.artifact_type
    if summary.subject:
        out["subject"] = str(summary.subject)
    if summary.annotations:
        out["annotations"] = dict(summary.annotations)
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


def tree_json(root: TreeNode) -> dict[str, Any]:
    """The JSON form of ``tree``: nested nodes."""
    out: dict[str, Any] = {"kind": root.kind.value, **descriptor_json(root.descriptor)}
    if root.tag:
        out["tag"] = root.tag
    if root.truncated:
        out["truncated"] = root.truncated
    if root.referrers_cut:
        out["referrersCut"] = root.referrers_cut
    if root.layers and root.kind not in (NodeKind.ROOT, NodeKind.PLATFORM):
        out["layers"] = [descriptor_json(layer) for layer in root.layers]
    out["children"] = [tree_json(child) for child in root.children]
    return out


def cut_listing_lines(root: TreeNode) -> list[str]:
    """Warnings for referrers listings the store cut at its cap (the tree shows only what was listed)."""
    return [f"warning: {escape(node.referrers_cut)}" for node in root.walk() if node.referrers_cut]


def damaged_tags(root: TreeNode) -> list[TreeNode]:
    """The damaged referrers tags of a tree, for a note after it."""
    return [node for node in root.walk() if node.kind is NodeKind.DAMAGED]


def copy_json(result: CopyResult) -> dict[str, Any]:
    """The JSON form of ``copy`` (stable: keys are only ever added)."""
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


def tags_json(repository: str, tags: list[str]) -> dict[str, Any]:
    """The JSON form of ``ls``: skopeo list-tags' ``{"Repository": ..., "Tags": [...]}`` (tags exact)."""
    return {"Repository": repository, "Tags": list(tags)}


def render_tags_text(tags: list[str]) -> str:
    """The text form of ``ls``: one tag a line, escaped (a registry or layout chose them: ``report.text``)."""
    return "\n".join(escape(tag) for tag in tags)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False)
