"""The catalogers' registry (sbom.catalogers): one of each, in a fixed order, each a Cataloger, selectable by name;
and wants_any keeps what any of them wants."""

from __future__ import annotations

import pytest

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
