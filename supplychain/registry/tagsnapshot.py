"""The run's view of which tags a repository has, so that attachment lookups do not probe tags that do not exist.

Looking for attachments means asking for tags that usually are not there: the referrers tag ``sha256-<hex>`` of a
registry without the referrers API, and cosign's ``sha256-<hex>.sig|.att|.sbom`` (SPECS.md "cosign, legacy tag
scheme"). ``tree`` of an image with 1,000 referrers asked for four missing tags per referrer, 4,000 round trips
answering 404 (issue 10, item 3). One listing of the repository's tags (distribution spec "Listing Tags") says
which exist: a tag it does not list is not asked for, one it lists still is (the listing only saves requests, it
never stands in for a manifest).

The listing is taken lazily, once a repository has been probed for ``PROBES_BEFORE_LISTING`` missing-or-not tags in
the run (a single image's few probes cost less than listing a repository of thousands of tags), and only if it is
small: a repository with more than ``MAX_TAGS`` tags, or one whose listing fails (registries may refuse it to a
puller: ECR's ListImages is a permission of its own), is probed tag by tag as before. Readers only: the one
read-change-put-confirm writer of shared tags (``oci.tagwriter``) always reads the tag itself, since another
writer may have created it since the listing. This run's own tag writes are added to the listing, and a delete
drops it (deleting a manifest removes its tags, which the listing does not know).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from supplychain.errors import AuthError, IntegrityError, InvalidInputError, NotFoundError, RegistryError

logger = logging.getLogger("supplychain.registry")

# Tag lookups of a repository answered by the registry before its tags are listed instead.
PROBES_BEFORE_LISTING = 4
# A listing longer than this is not kept (nor read further): the repository is probed tag by tag.
MAX_TAGS = 10_000
# Failures of the listing after which tags are simply probed (network failures propagate: a probe would fail too).
_LISTING_ERRORS = (AuthError, IntegrityError, InvalidInputError, NotFoundError, RegistryError)


@dataclass
class _Repository:
    lock: threading.Lock = field(default_factory=threading.Lock)
    probes: int = 0
    tags: set[str] | None = None  # the listing, once taken
    unlisted: bool = False  # the listing failed or was too long: probe every tag


class TagSnapshots:
    """Per repository of one registry client (shared by a run: ``registry.RegistryPool``), the listing of its tags.
    Thread-safe: concurrent lookups of one repository wait for its one listing."""

    def __init__(self, *, probes_before_listing: int = PROBES_BEFORE_LISTING, max_tags: int = MAX_TAGS) -> None:
        self._repositories: dict[str, _Repository] = {}
        self._lock = threading.Lock()
        self.probes_before_listing = probes_before_listing
        self.max_tags = max_tags

    def _state(self, repository: str) -> _Repository:
        with self._lock:
            return self._repositories.setdefault(repository, _Repository())

    def lacks(self, repository: str, tag: str, list_tags: Callable[[], Iterable[str]]) -> bool:
        """Whether ``tag`` is known not to exist in ``repository`` (its listing, taken with ``list_tags`` when due,
        does not name it); ``False`` when it is listed or nothing is known (then the caller asks for it)."""
        state = self._state(repository)
        with state.lock:
            if state.tags is None and not state.unlisted:
                state.probes += 1
                if state.probes > self.probes_before_listing:
                    state.tags = self._list(repository, list_tags)
                    state.unlisted = state.tags is None
            return state.tags is not None and tag not in state.tags

    def _list(self, repository: str, list_tags: Callable[[], Iterable[str]]) -> set[str] | None:
        tags: set[str] = set()
        try:
            for tag in list_tags():  # paginated lazily: a long listing is not read past the cap
                tags.add(tag)
                if len(tags) > self.max_tags:
                    logger.debug("%s has more than %d tags: attachment tags are probed one by one",
                                 repository, self.max_tags)
                    return None
        except _LISTING_ERRORS as exc:
            logger.debug("%s: the tag listing failed (%s); attachment tags are probed one by one", repository, exc)
            return None
        return tags

    def added(self, repository: str, tag: str) -> None:
        """This run put ``tag``: a listing taken before says so from now on."""
        state = self._state(repository)
        with state.lock:
            if state.tags is not None:
                state.tags.add(tag)

    def forget(self, repository: str) -> None:
        """This run deleted a manifest of ``repository`` (and its tags): the listing is taken again when due."""
        with self._lock:
            self._repositories.pop(repository, None)
