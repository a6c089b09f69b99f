"""The rules of ``index.json`` entries: tags are ``org.opencontainers.image.ref.name`` annotations (annotations.md,
"Pre-Defined Annotation Keys"), a tag is unique (putting it moves it), and an untagged entry exists only for a
referrer (a manifest with a ``subject``), once per digest.

``index.json`` lists the layout's entry points only, so that skopeo and umoci (which read one image per entry and
refuse an untagged layout of several) keep working. Entries are the raw JSON objects another tool wrote, so
fields we do not model survive; they are replaced, never changed in place (a parsed view reuses the descriptor
of an unchanged entry, ``layout.index``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from supplychain.digest import Digest
from supplychain.oci.model import Descriptor

REF_NAME = "org.opencontainers.image.ref.name"


def without_ref_name(desc: Descriptor) -> Descriptor:
    """``desc`` without its tag annotation (what ``resolve`` returns)."""
    annotations = {k: v for k, v in desc.annotations.items() if k != REF_NAME}
    return dataclasses.replace(desc, annotations=annotations)


def ref_name(entry: dict[str, Any]) -> str | None:
    """The tag of a raw entry, or ``None``."""
    value = (entry.get("annotations") or {}).get(REF_NAME)
    return value if isinstance(value, str) else None


def add_entry(
    entries: list[dict[str, Any]],
    entry: dict[str, Any],
    tag: str | None,
    *,
    indexed: bool,
    keeps_entry: Callable[[Digest], bool],
) -> None:
    """Add ``entry`` to the raw ``index.json`` entries: at most one entry per (digest, tag), a tag on one entry
    only, an untagged entry only when ``indexed`` (a referrer) and for a digest no other entry lists. A manifest
    the tag moves away from keeps an untagged entry only if another entry tags it or ``keeps_entry`` says so
    (it has a subject)."""
    digest = entry["digest"]
    moved: set[str] = set()
    # Entries are replaced, never changed in place: a parsed view reuses the descriptor of an entry that is
    # unchanged (``LayoutIndex.build_view``), and ``deferred_index`` keeps the same entry objects across changes.
    if tag is not None:
        for i, other in enumerate(entries):
            if ref_name(other) == tag and other.get("digest") != digest:
                annotations = {k: v for k, v in other["annotations"].items() if k != REF_NAME}
                entries[i] = {k: v for k, v in other.items() if k != "annotations"}
                if annotations:
                    entries[i]["annotations"] = annotations
                moved.add(other["digest"])
        if not any(e.get("digest") == digest and ref_name(e) == tag for e in entries):
            untagged = next((i for i, e in enumerate(entries)
                             if e.get("digest") == digest and ref_name(e) is None), None)
            if untagged is not None:
                old = entries[untagged]
                entries[untagged] = {**old, "annotations": {**old.get("annotations", {}), REF_NAME: tag}}
            else:
                entries.append({**entry, "annotations": {**entry.get("annotations", {}), REF_NAME: tag}})
    elif indexed and not any(e.get("digest") == digest for e in entries):
        entries.append(entry)
    # Drop untagged entries made redundant by another entry of the same digest, and those of manifests the tag
    # left that nothing else keeps listed.
    tagged: set[str] = {e["digest"] for e in entries if ref_name(e) is not None}
    orphaned = {d for d in moved - tagged if not keeps_entry(Digest.parse(d))}
    listed = set(tagged)
    kept = []
    for e in entries:
        if ref_name(e) is None:
            if e.get("digest") in listed or e.get("digest") in orphaned:
                continue
            listed.add(e["digest"])
        kept.append(e)
    entries[:] = kept
