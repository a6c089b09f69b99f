"""``registry.tagsnapshot``: a repository's tags are listed once lookups make it pay, and then only tags it lists are
asked for; a listing that fails or is too long leaves every tag to be probed; this run's writes and deletes keep it
true."""

from __future__ import annotations

from collections.abc import Iterator

from supplychain.errors import AuthError, UnavailableError
from supplychain.registry.tagsnapshot import PROBES_BEFORE_LISTING, TagSnapshots


class Listing:
    def __init__(self, tags: list[str], error: Exception | None = None) -> None:
        self.tags = tags
        self.error = error
        self.calls = 0

    def __call__(self) -> Iterator[str]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        yield from self.tags


def test_tags_are_listed_after_a_few_probes_and_then_answered_from_the_listing():
    snapshots, listing = TagSnapshots(), Listing(["app", "sha256-abc.sig"])
    for _ in range(PROBES_BEFORE_LISTING):
        assert not snapshots.lacks("repo", "sha256-abc.att", listing)  # not known yet: ask the registry
    assert listing.calls == 0
    assert snapshots.lacks("repo", "sha256-abc.att", listing)
    assert not snapshots.lacks("repo", "sha256-abc.sig", listing)  # listed: asked for
    assert snapshots.lacks("repo", "sha256-def", listing)
    assert listing.calls == 1  # once for the run


def test_each_repository_has_its_own_listing():
    snapshots = TagSnapshots(probes_before_listing=0)
    assert snapshots.lacks("one", "x", Listing(["y"]))
    assert not snapshots.lacks("two", "x", Listing(["x"]))


def test_a_listing_that_fails_or_is_too_long_leaves_every_tag_to_be_probed():
    refused = Listing([], AuthError("denied: tag listing"))
    snapshots = TagSnapshots(probes_before_listing=0)
    assert not snapshots.lacks("repo", "x", refused)
    assert not snapshots.lacks("repo", "x", refused)
    assert refused.calls == 1  # not asked again
    long = TagSnapshots(probes_before_listing=0, max_tags=3)
    assert not long.lacks("repo", "x", Listing(["a", "b", "c", "d"]))


def test_a_network_failure_of_the_listing_propagates():
    snapshots = TagSnapshots(probes_before_listing=0)
    try:
        snapshots.lacks("repo", "x", Listing([], UnavailableError("connection refused")))
    except UnavailableError:
        pass
    else:
        raise AssertionError("a registry that cannot be reached is not a repository without tags")


def test_this_runs_writes_and_deletes_keep_the_listing_true():
    snapshots, listing = TagSnapshots(probes_before_listing=0), Listing(["app"])
    assert snapshots.lacks("repo", "new", listing)
    snapshots.added("repo", "new")
    assert not snapshots.lacks("repo", "new", listing)
    snapshots.forget("repo")  # a delete took tags with it: listed again when asked
    assert snapshots.lacks("repo", "new", listing) and listing.calls == 2
