"""Java archives (sbom.catalogers.java): real jars and a war built here with javac and jar (tests.support.
sbom_builds), nested archives, the manifest fallback, and zip bombs (ratio, declared size, nesting depth)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from supplychain.imagefs.view import FileView
from supplychain.limits import MAX_ARCHIVE_DEPTH, MAX_ARCHIVE_EXPANDED_BYTES
from supplychain.sbom.catalogers.java import JavaCataloger
from tests.support.fileview import scan_directory

POM = b"groupId=org.example\nartifactId=inner\nversion=4.5\n"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_real_jar_war_and_manifest_fallback(java_root: Path) -> None:
    _, [catalog] = scan_directory(java_root, (JavaCataloger(),))
    assert catalog.problems == ()
    found = sorted((package.purl, dict(package.metadata)["virtual-path"], package.locations[0])
                   for package in catalog.packages)
    assert found == [
        ("pkg:maven/com.acme/plain@0.9", "opt/app/app.war:WEB-INF/lib/plain-0.9.jar", "opt/app/app.war"),
        ("pkg:maven/org.example/hello@1.2.3",
         "opt/app/app.war:WEB-INF/lib/hello-1.2.3.jar:META-INF/maven/org.example/hello/pom.properties",
         "opt/app/app.war"),
        ("pkg:maven/org.example/hello@1.2.3",
         "opt/app/hello-1.2.3.jar:META-INF/maven/org.example/hello/pom.properties", "opt/app/hello-1.2.3.jar"),
    ]


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


def test_wants_archives_under_the_cap() -> None:
    cataloger = JavaCataloger()
    assert cataloger.wants("opt/app.WAR", 10_000, 0o644)
    assert not cataloger.wants("opt/app.zip", 10_000, 0o644)
    assert not cataloger.wants("opt/app.jar", 300 * 1024 * 1024, 0o644)
