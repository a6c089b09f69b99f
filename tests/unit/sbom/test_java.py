"""Java archives (sbom.catalogers.java): real jars and a war built here with javac and jar (tests.support.
sbom_builds), nested archives, the manifest fallback, and zip bombs (ratio, declared size, nesting depth)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef
from supplychain.limits import MAX_ARCHIVE_BYTES, MAX_ARCHIVE_DEPTH, MAX_ARCHIVE_EXPANDED_BYTES
from supplychain.sbom.catalogers.java import JavaCataloger, _filename
from tests.support.fileview import scan_directory
from tests.support.java_image import EDGE_ARCHIVES
from tests.support.java_image import zip_bytes as _zip

POM = b"groupId=org.example\nartifactId=inner\nversion=4.5\n"


def test_real_jar_war_and_manifest_fallback(java_root: Path) -> None:
    _, [catalog] = scan_directory(java_root, (JavaCataloger(),))
    assert catalog.problems == ()
    found = sorted((package.purl, dict(package.metadata)["virtual-path"], package.locations[0])
                   for package in catalog.packages)
    assert found == [
        ("pkg:maven/app/app", "opt/app/app.war", "opt/app/app.war"),  # jar's manifest, no version: syft lists it
        ("pkg:maven/com.acme/plain@0.9", "opt/app/app.war:WEB-INF/lib/plain-0.9.jar", "opt/app/app.war"),
        ("pkg:maven/org.example/hello@1.2.3", "opt/app/app.war:WEB-INF/lib/hello-1.2.3.jar", "opt/app/app.war"),
        ("pkg:maven/org.example/hello@1.2.3", "opt/app/hello-1.2.3.jar", "opt/app/hello-1.2.3.jar"),
    ]


def test_syft_s_rules_on_the_edge_archives() -> None:
    """tests/support/java_image.py's archives, each taking one of syft's rules (the integration test holds the
    same result equal to syft's)."""
    files = {f"opt/edge/{name}": data for name, data in EDGE_ARCHIVES.items()}
    catalog = JavaCataloger().catalog(FileView.from_files(files), None)
    assert catalog.problems == ()
    assert sorted((package.purl, dict(package.metadata)["virtual-path"]) for package in catalog.packages) == [
        ("pkg:maven/com.example/shaded-app@1.4", "opt/edge/shaded-app-1.4.jar"),
        ("pkg:maven/io.example.plain/plain@7.7", "opt/edge/plain.jar"),
        ("pkg:maven/org.example.tools.bundle/bundle@3.1.0", "opt/edge/bundle.jar"),
        ("pkg:maven/org.example/inner@2.0", "opt/edge/webapp.war:WEB-INF/lib/inner-2.0.jar"),
        ("pkg:maven/org.shaded/dependency@0.3",
         "opt/edge/shaded-app-1.4.jar:META-INF/maven/org.shaded/dependency/pom.properties"),
        ("pkg:maven/webapp/webapp", "opt/edge/webapp.war"),
    ]


def test_the_edge_archives_are_the_same_bytes_in_every_run() -> None:
    """Their hash keys the cached Java image (tests/support/java_image.py): a date of now in each entry would
    rebuild it, apt-get download included, on every test run."""
    for data in EDGE_ARCHIVES.values():
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize(("file_name", "name", "version"), [
    ("jna-5.17.0.jar", "jna", "5.17.0"),
    ("guice-4.2.3-no_aop.jar", "guice", "4.2.3-no_aop"),
    ("aopalliance.jar", "aopalliance", ""),
    ("org.eclipse.osgi-3.18.500.jar", "org.eclipse.osgi", "3.18.500"),
    ("jsr305-0.1~+svn49.jar", "jsr305", "0.1~+svn49"),
    ("commons-lang3-3.12.0.jar", "commons-lang3", "3.12.0"),
    ("netty-4.1.100.Final.jar", "netty", "4.1.100.Final"),
    ("foo-rc1.jar", "foo", "rc1"),
    ("bar-build12.jar", "bar", "build12"),
    ("x_1.2.jar", "x", "1.2"),  # syft's secondary pattern: a _ or . before the version
    ("outer.war:WEB-INF/lib/inner-2.0.jar", "inner", "2.0"),
])
def test_file_names_split_as_syft_splits_them(file_name: str, name: str, version: str) -> None:
    assert _filename(file_name) == (name, version)


def test_the_file_name_s_version_before_the_manifest_s_and_a_group_from_sorted_fields() -> None:
    manifest = (b"Manifest-Version: 1.0\r\nImplementation-Version: 5.13.0 (b0)\r\nImplementation-Vendor: org.b\r\n"
                b"Bundle-SymbolicName: com.a.tool\r\nSpecification-Vendor: Some Vendor\r\n\r\n")
    catalog = JavaCataloger().catalog(FileView.from_files({"lib/tool-5.13.0.jar": _zip(
        {"META-INF/MANIFEST.MF": manifest})}), None)
    assert [package.purl for package in catalog.packages] == ["pkg:maven/com.a.tool/tool@5.13.0"]


def test_a_high_ratio_entry_is_a_zip_bomb() -> None:
    bomb = _zip({"META-INF/maven/g/a/pom.properties": POM, "zeros.bin": bytes(20 * 1024 * 1024)})
    catalog = JavaCataloger().catalog(FileView.from_files({"app/bomb.jar": bomb}), None)
    assert catalog.packages == ()
    [problem] = catalog.problems
    assert "zeros.bin expands" in problem.message and "zip bomb" in problem.message


def test_a_declared_size_over_the_cap_is_refused_before_reading() -> None:
    data = bytearray(_zip({"META-INF/maven/g/a/pom.properties": POM, "big.bin": b"x" * 100}))
    # the central directory's "uncompressed size" of big.bin (APPNOTE 4.3.12: offset 24 in the record)
    record = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, record + 24, 0xFFFF_FFF0)
    catalog = JavaCataloger().catalog(FileView.from_files({"app/lying.jar": bytes(data)}), None)
    assert catalog.packages == ()
    assert f"over the cap of {MAX_ARCHIVE_EXPANDED_BYTES}" in catalog.problems[0].message


def test_nesting_deeper_than_the_cap_is_a_problem_not_a_recursion() -> None:
    archive = _zip({"META-INF/maven/org.example/inner/pom.properties": POM})
    for level in range(MAX_ARCHIVE_DEPTH + 1):
        archive = _zip({f"lib/level{level}.jar": archive})
    catalog = JavaCataloger().catalog(FileView.from_files({"app/deep.jar": archive}), None)
    assert catalog.packages == ()
    assert "nested deeper than" in catalog.problems[0].message


def test_not_a_zip_is_a_problem() -> None:
    catalog = JavaCataloger().catalog(FileView.from_files({"app/fake.jar": b"not a zip at all"}), None)
    assert "not a readable zip archive" in catalog.problems[0].message


def test_an_archive_over_the_cap_is_a_problem_not_a_silent_miss() -> None:
    ref = LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)
    big = MAX_ARCHIVE_BYTES + 1
    view = FileView({"app.war": FileEntry("app.war", EntryKind.FILE, big, 0o644, ref, (ref,))}, (ref,))
    [problem] = JavaCataloger().catalog(view, None).problems
    assert (problem.path, problem.message) == (
        "app.war", f"not read: {big} bytes is over the {MAX_ARCHIVE_BYTES}-byte cap (limits.MAX_ARCHIVE_BYTES)")


def test_wants_archives_under_the_cap() -> None:
    cataloger = JavaCataloger()
    assert cataloger.wants("opt/app.WAR", 10_000, 0o644)
    assert not cataloger.wants("opt/app.zip", 10_000, 0o644)
    assert not cataloger.wants("opt/app.jar", 300 * 1024 * 1024, 0o644)
