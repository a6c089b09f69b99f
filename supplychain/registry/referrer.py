"""Referrers on a registry: the OCI 1.1 referrers API, and the referrers tag where the registry has none.

Distribution spec 1.1, "Listing referrers": ``GET /v2/<name>/referrers/<digest>[?artifactType=]`` answers an
image index. A registry without the API answers 404 (some 400/405/501); then, and also when the API answers an
empty list (a known quirk: data sits in the tag while the API says nothing), the client reads the referrers
tag ``<alg>-<hex>`` ("Referrers tag schema"), and results are merged and deduplicated by digest.

Writers keep that tag up to date ("Pushing manifests with subject"): read it (missing = empty), append, put,
read again to confirm, with ``oci.tagwriter`` (the writer of cosign's tags too): the registry offers no
compare-and-swap, so two writers can overwrite each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from supplychain.digest import Digest
from supplychain.errors import InvalidManifestError, NotFoundError, RegistryError
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import AnyManifest, Descriptor, Index, build_index, parse_manifest
from supplychain.oci.referrers import (
    ReferrerListing,
    filter_by_type,
    referrers_in,
    referrers_tag,
    with_referrer,
    without_referrer,
)
from supplychain.oci.tagwriter import RACING_READ_ATTEMPTS, write_tag
from supplychain.registry.errors import Action, parse_error_body
from supplychain.registry.paging import next_link, paginate

if TYPE_CHECKING:
    from supplychain.registry.repository import RegistryRepository

logger = logging.getLogger("supplychain.registry")

# Statuses by which a registry says "no referrers API" (spec: 404; seen in the field: 400, 405, 501).
NO_API_STATUSES = frozenset({400, 404, 405, 501})
# Read-append-put rounds before giving up on a busy referrers tag.
TAG_UPDATE_ATTEMPTS = 6


def list_referrers(repo: RegistryRepository, subject: Digest, artifact_type: str | None) -> ReferrerListing:
    """Descriptors of the manifests whose ``subject`` is ``subject``, optionally of one ``artifact_type``.

    At most ``settings.max_referrers`` descriptors are collected, over all pages and the referrers tag: the
    API is not followed further (a server can page forever), and the listing says it was cut.
    """
    found: list[Descriptor] = []
    cap = repo.client.settings.max_referrers
    cut = None
    from_tag: frozenset[Digest] = frozenset()
    if repo.client.referrers_api is not False:
        found, cut = _from_api(repo, subject, artifact_type, cap)
    if cut is None and not filter_by_type(found, artifact_type):
        tagged = read_referrers_tag(repo, subject)
        from_tag = frozenset(d.digest for d in tagged) - {d.digest for d in found}
        found += tagged
        if len(found) > cap:
            del found[cap:]
            cut = f"the referrers tag lists more than {cap} referrers"
    if cut is not None:
        cut = (f"the referrers listing of {repo.name}@{subject} was cut at {cap} descriptors ({cut}); "
               "the rest was not read (SUPPLYCHAIN_MAX_REFERRERS)")
        logger.warning("%s", cut)
    return ReferrerListing(filter_by_type(found, artifact_type), cut, from_tag=from_tag)


def _from_api(repo: RegistryRepository, subject: Digest, artifact_type: str | None, cap: int
              ) -> tuple[list[Descriptor], str | None]:
    what = f"referrers of {repo.name}@{subject}"
    params = {"artifactType": artifact_type} if artifact_type else None
    first = repo.url(f"referrers/{subject}", params)
    unsupported = False

    def fetch(url_text: str) -> tuple[list[Descriptor], str | None]:
        nonlocal unsupported
        url = httpx.URL(url_text)
        expect = (200, *NO_API_STATUSES)
        with repo.client.open("GET", url, what=what, action=Action.PULL, expect=expect,
                              headers={"Accept": MediaType.OCI_INDEX}) as response:
            limit = repo.client.settings.max_manifest_bytes
            raw = repo.client.read(response, limit=limit, what=what, truncate=response.status_code != 200)
            if response.status_code != 200:
                codes = {e.code for e in parse_error_body(raw)}
                # A missing repository is not a missing API: do not remember that.
                unsupported = "NAME_UNKNOWN" not in codes
                return [], None
            content_type = response.headers.get("Content-Type")
            link = response.headers.get("Link")
        try:
            index = parse_manifest(raw, content_type)
        except InvalidManifestError as exc:
            raise InvalidManifestError(f"{what}: the referrers API answered {exc.message}",
                                       hint="the registry answered outside the distribution spec") from exc
        if not isinstance(index, Index):
            raise InvalidManifestError(f"{what}: the referrers API answered an image manifest, not an index",
                                       hint="the registry answered outside the distribution spec")
        following = next_link(link)
        return list(index.manifests), (
            str(repo.client.follow_link(url, following, what=what)) if following else None
        )

    found: list[Descriptor] = []
    cut = None
    pages = paginate(str(first), fetch, max_pages=repo.client.settings.max_pages, what=what)
    for desc in pages:
        if len(found) >= cap:
            cut = "the referrers API had more"
            break  # counted as the listing streams: the next page is never asked for
        found.append(desc)
    if unsupported:
        repo.client.referrers_api = False
    elif repo.client.referrers_api is None:
        repo.client.referrers_api = True
    return found, cut


def read_referrers_tag(repo: RegistryRepository, subject: Digest) -> list[Descriptor]:
    """The descriptors listed by the referrers tag of ``subject`` (missing tag: none)."""
    tag = referrers_tag(subject)
    if repo.lacks_tag(tag):  # the run's tag listing says it is not there: no 404 round trip
        return []
    try:
        content = repo.get_manifest(tag)
    except NotFoundError:
        return []
    return referrers_in(content, where=f"{repo.name}:{tag}")


def add_to_referrers_tag(repo: RegistryRepository, subject: Digest, added: Descriptor) -> None:
    """Append ``added`` to the referrers tag of ``subject``, tolerating concurrent writers."""
    _update(repo, subject, _ReferrerEdit(f"{repo.name}:{referrers_tag(subject)}", added.digest, added))


def remove_from_referrers_tag(repo: RegistryRepository, subject: Digest, removed: Digest) -> None:
    """Remove ``removed`` from the referrers tag of ``subject`` (nothing to do when it is not listed)."""
    _update(repo, subject, _ReferrerEdit(f"{repo.name}:{referrers_tag(subject)}", removed, None))


def _update(repo: RegistryRepository, subject: Digest, edit: _ReferrerEdit) -> None:
    tag = referrers_tag(subject)
    client = repo.client
    # A read or put of the tag racing another writer's put may be answered 500 (distribution rewrites the tag's
    # link file in place: oci.tagwriter): tried again, as the writers of cosign's tags do.
    write_tag(
        repo, tag, edit, attempts=TAG_UPDATE_ATTEMPTS, sleep=client.sleep, backoff=client.retry.delay,
        read_attempts=RACING_READ_ATTEMPTS, retry_failed_puts=True,
        lost=lambda: RegistryError(
            f"could not update the referrers tag {repo.name}:{tag}: other writers kept overwriting it "
            f"({TAG_UPDATE_ATTEMPTS} attempts)",
            hint="push the referrer again when the concurrent pushes are over",
        ),
    )


@dataclass(frozen=True, slots=True)
class _ReferrerEdit:
    """List ``added`` (or, with ``None``, unlist ``digest``) in a referrers tag (``oci.tagwriter.TagEdit``)."""

    where: str
    digest: Digest
    added: Descriptor | None

    def parse(self, found: AnyManifest | None) -> list[Descriptor]:
        return [] if found is None else referrers_in(found, where=self.where)

    def done(self, state: list[Descriptor]) -> bool:
        return any(d.digest == self.digest for d in state) == (self.added is not None)

    def build(self, state: list[Descriptor]) -> Index:
        # Called only when not done(): appending, it is absent; removing, it is listed; so neither is None.
        changed = with_referrer(state, self.added) if self.added is not None else without_referrer(state, self.digest)
        return changed if changed is not None else build_index(state)
