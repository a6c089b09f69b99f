"""apk (sbom.catalogers.apk): an Alpine 3.18 installed database (fixtures/sbom/alpine), purls as syft writes them
(upstream= only for a differently named origin), licences as SPDX."""

from __future__ import annotations

from supplychain.imagefs.view import FileView
from supplychain.sbom.catalogers.apk import ApkCataloger, apk_licenses
from supplychain.sbom.package import Distro
from tests.support.fileview import scan_directory
from tests.support.sbom_builds import ALPINE_FIXTURE


def test_alpine_installed_database() -> None:
    distro, [catalog] = scan_directory(ALPINE_FIXTURE, (ApkCataloger(),))
    assert distro == Distro("alpine", "3.18.4", pretty_name="Alpine Linux v3.18")
    packages = {package.name: package for package in catalog.packages}
    assert len(packages) == 7 and catalog.problems == ()
    assert packages["musl"].purl == "pkg:apk/alpine/musl@1.2.4-r1?arch=aarch64&distro=alpine-3.18.4"
    assert packages["libssl3"].purl == ("pkg:apk/alpine/libssl3@3.1.2-r0?arch=aarch64&distro=alpine-3.18.4"
                                        "&upstream=openssl")
    assert packages["musl-utils"].licenses == ("MIT AND BSD-2-Clause AND GPL-2.0-or-later",)
    assert ("origin", "pax-utils") in packages["scanelf"].metadata
    assert packages["zlib"].locations == ("lib/apk/db/installed",)


def test_a_paragraph_without_name_or_version_is_a_problem() -> None:
    data = b"P:ok\nV:1-r0\nA:x86_64\n\nP:noversion\nA:x86_64\n\nV:2-r0\n"
    catalog = ApkCataloger().catalog(FileView.from_files({"lib/apk/db/installed": data}), None)
    assert [package.name for package in catalog.packages] == ["ok"]
    assert len(catalog.problems) == 2
    assert catalog.packages[0].purl == "pkg:apk/ok@1-r0?arch=x86_64"  # no os-release: no namespace


def test_space_separated_licence_lists() -> None:
    assert apk_licenses("MIT BSD GPL2+") == ("GPL-2.0-or-later", "LicenseRef-BSD", "MIT")
    assert apk_licenses("GPL-2.0-only") == ("GPL-2.0-only",)
    assert apk_licenses("") == ()
