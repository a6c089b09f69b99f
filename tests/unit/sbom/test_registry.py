"""The catalogers' registry (sbom.catalogers): one of each, in a fixed order, each a Cataloger, selectable by name;
and wants_any keeps what any of them wants."""

from __future__ import annotations

import pytest

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef
from supplychain.limits import MAX_PACKAGE_DB_BYTES
from supplychain.sbom.catalog import wants_any
from supplychain.sbom.catalogers import all_catalogers, catalogers_named


def test_one_of_each_in_a_fixed_order() -> None:
    names = [cataloger.name for cataloger in all_catalogers()]
    assert names == ["dpkg", "apk", "rpm", "python", "npm", "ruby", "java", "go", "rust"]
    for cataloger in all_catalogers():
        assert callable(cataloger.wants) and callable(cataloger.catalog)


def test_selected_by_name_in_the_fixed_order_and_unknown_names_refused() -> None:
    assert [cataloger.name for cataloger in catalogers_named(["go", "dpkg"])] == ["dpkg", "go"]
    with pytest.raises(KeyError, match=r"unknown cataloger.*: cobol"):
        catalogers_named(["dpkg", "cobol"])


def test_wants_any_keeps_only_metadata_files() -> None:
    wants = wants_any(all_catalogers())
    assert wants("var/lib/dpkg/status", 1000, 0o644)
    assert wants("usr/bin/kubectl", 1000, 0o755)
    assert wants("opt/app.jar", 1000, 0o644)
    assert not wants("usr/share/doc/bash/README", 1000, 0o644)
    assert not wants("etc/passwd", 1000, 0o644)


@pytest.mark.parametrize(("name", "path"), [("dpkg", "var/lib/dpkg/status"), ("apk", "lib/apk/db/installed"),
                                            ("rpm", "var/lib/rpm/rpmdb.sqlite")])
def test_a_package_database_over_its_cap_is_one_problem_naming_the_cap(name: str, path: str) -> None:
    """The walk lists it unread (wants refuses it from its tar header); catalog.over_cap says so, for every
    cataloger alike."""
    ref = LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)
    big = MAX_PACKAGE_DB_BYTES + 1
    view = FileView({path: FileEntry(path, EntryKind.FILE, big, 0o644, ref, (ref,))}, (ref,))
    [cataloger] = catalogers_named([name])
    assert not cataloger.wants(path, big, 0o644)
    [problem] = cataloger.catalog(view, None).problems
    assert (problem.path, problem.message) == (
        path, f"not read: {big} bytes is over the {MAX_PACKAGE_DB_BYTES}-byte cap (limits.MAX_PACKAGE_DB_BYTES)")
