"""The referrers tag (distribution spec 1.1, "Referrers tag schema"): the fallback index a client keeps
at tag ``<alg>-<hex>`` of the subject when the registry has no referrers API, and that an OCI layout uses too.
Pure functions shared by every store."""

from __future__ import annotations

import shlex

from supplychain.digest import Digest
from supplychain.errors import InvalidManifestError
from supplychain.oci.model import AnyManifest, Descriptor, Index, build_index


class ReferrerListing(list[Descriptor]):
    """A referrers listing that a store may have cut short at its cap on descriptors (issue 7.3: a referrers API
    can page forever); ``cut`` says so, in words, and is ``None`` for a complete listing. ``from_tag``: the
    digests found only in the referrers tag (the rest came from the store's own index: a registry's referrers
    API, a layout's scan of ``index.json``). A plain list, so every caller of ``ArtifactStore.referrers`` keeps
    working; those that report read ``listing_cut`` and ``listed_by_tag``."""

    def __init__(self, items: list[Descriptor] = (), cut: str | None = None,  # type: ignore[assignment]
                 *, from_tag: frozenset[Digest] = frozenset()) -> None:
        super().__init__(items)
        self.cut = cut
        self.from_tag = from_tag


def listing_cut(found: list[Descriptor]) -> str | None:
    """Why the listing ``found`` (from ``ArtifactStore.referrers``) is incomplete, or ``None``."""
    return found.cut if isinstance(found, ReferrerListing) else None


def listed_by_tag(found: list[Descriptor]) -> frozenset[Digest]:
    """The digests of ``found`` (from ``ArtifactStore.referrers``) that only the referrers tag listed."""
    return found.from_tag if isinstance(found, ReferrerListing) else frozenset()


def referrers_tag(subject: Digest) -> str:
    """``sha256-<hex>``: the tag holding the referrers index of ``subject``."""
    return subject.tag_form


def referrers_in(tag_content: AnyManifest, *, where: str) -> list[Descriptor]:
    """The referrer descriptors listed by a referrers-tag index; anything else there is an error."""
    if not isinstance(tag_content, Index):
        raise InvalidManifestError(
            f"the referrers tag {where} holds an image manifest, not an index",
            hint=damaged_tag_hint(where),
        )
    return list(tag_content.manifests)


def damaged_tag_hint(where: str) -> str:
    """What to run about a damaged referrers tag ``where`` (``<repository>:<alg>-<hex>``): the exact command."""
    repository, _, tag = where.rpartition(":")
    subject = tag.replace("-", ":", 1)
    command = f"supplychain clean {shlex.quote(f'{repository}@{subject}')} --type all --force"
    return (f"another tool wrote this tag; `{command}` removes it (and the image's other attachments); "
            "then sign or attach again")


def with_referrer(current: list[Descriptor], added: Descriptor) -> Index | None:
    """The new referrers index with ``added`` appended, or ``None`` when it is already listed."""
    if any(d.digest == added.digest for d in current):
        return None
    return build_index([*current, added])


def without_referrer(current: list[Descriptor], removed: Digest) -> Index | None:
    """The referrers index without ``removed``, or ``None`` when it was not listed."""
    kept = [d for d in current if d.digest != removed]
    if len(kept) == len(current):
        return None
    return build_index(kept)


def filter_by_type(descriptors: list[Descriptor], artifact_type: str | None) -> list[Descriptor]:
    """Keep referrers of ``artifact_type`` (all when ``None``), deduplicated by digest in order."""
    seen: set[Digest] = set()
    out = []
    for desc in descriptors:
        if desc.digest in seen or (artifact_type and desc.artifact_type != artifact_type):
            continue
        seen.add(desc.digest)
        out.append(desc)
    return out
