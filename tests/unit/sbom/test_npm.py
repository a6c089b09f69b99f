"""npm (sbom.catalogers.npm): real package.json files copied from tests/js/node_modules (fixtures/sbom/debian),
scoped and nested, and the bad ones: not JSON, not an object, and one of 100 MB that is never read (the cap
applies in wants, from the tar header's size)."""

from __future__ import annotations

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef
from supplychain.limits import MAX_PACKAGE_JSON_BYTES
from supplychain.sbom.catalogers.npm import NpmCataloger
from tests.support.fileview import scan_directory
from tests.support.sbom_builds import DEBIAN_FIXTURE

MODULES = "srv/app/node_modules"
LAYER = LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)


def test_real_package_json_files() -> None:
    _, [catalog] = scan_directory(DEBIAN_FIXTURE, (NpmCataloger(),))
    assert catalog.problems == ()
    packages = {package.name: package for package in catalog.packages}
    assert sorted(packages) == ["@sigstore/bundle", "@sigstore/verify", "debug", "lru-cache", "make-fetch-happen",
                                "minimatch", "proc-log"]
    assert packages["@sigstore/verify"].purl == "pkg:npm/%40sigstore/verify@3.1.1"
    assert packages["@sigstore/verify"].licenses == ("Apache-2.0",)
    assert packages["proc-log"].locations == (f"{MODULES}/make-fetch-happen/node_modules/proc-log/package.json",)


def test_not_json_and_not_an_object_are_problems() -> None:
    view = FileView.from_files({
        f"{MODULES}/broken/package.json": b'{"name": "broken", "version": ',
        f"{MODULES}/dupe/package.json": b'{"name": "a", "name": "b", "version": "1"}',
        f"{MODULES}/list/package.json": b'["name"]',
        f"{MODULES}/ok/package.json": b'{"name": "ok", "version": "1.0.0", "license": {"type": "MIT"}}',
    })
    catalog = NpmCataloger().catalog(view, None)
    assert [(package.purl, package.licenses) for package in catalog.packages] == [("pkg:npm/ok@1.0.0", ("MIT",))]
    messages = {problem.path.split("/")[3]: problem.message for problem in catalog.problems}
    assert "not valid JSON" in messages["broken"]
    assert "duplicate" in messages["dupe"].lower()
    assert messages["list"] == "package.json is not a JSON object"


def test_a_100_mb_package_json_is_never_read() -> None:
    size = 100 * 1024 * 1024
    path = f"{MODULES}/huge/package.json"
    assert not NpmCataloger().wants(path, size, 0o644)  # the walker never keeps its bytes
    assert NpmCataloger().wants(path, MAX_PACKAGE_JSON_BYTES, 0o644)
    huge = FileEntry(path, EntryKind.FILE, size, 0o644, LAYER, (LAYER,), data=None)
    catalog = NpmCataloger().catalog(FileView({path: huge}, (LAYER,)), None)
    assert catalog.packages == ()
    assert [problem.message for problem in catalog.problems] == [
        f"not read: {size} bytes is over the {MAX_PACKAGE_JSON_BYTES}-byte cap"]


def test_every_package_json_with_a_name_and_version_counts_and_only_installed_ones_report_problems() -> None:
    view = FileView.from_files({
        "app/package.json": b'{"name": "my-app", "version": "2.0.0", "private": true}',
        "app/templates/package.json": b'{"name": "{{ name }}"}',  # no version: not a package
        "app/examples/package.json": b"not json at all",  # not JSON, not installed: skipped without a word
        f"{MODULES}/broken/package.json": b"{",  # installed by npm: a problem
    })
    catalog = NpmCataloger().catalog(view, None)
    assert [(package.purl, package.locations) for package in catalog.packages] == [
        ("pkg:npm/my-app@2.0.0", ("app/package.json",))]
    assert [problem.path for problem in catalog.problems] == [f"{MODULES}/broken/package.json"]


def test_which_paths_are_package_json() -> None:
    cataloger = NpmCataloger()
    assert cataloger.wants("app/node_modules/a/package.json", 10, 0o644)
    assert cataloger.wants("app/node_modules/@s/a/package.json", 10, 0o644)
    assert cataloger.wants("app/package.json", 10, 0o644)  # an application's own: syft and trivy list it
    assert cataloger.wants("package.json", 10, 0o644)
    assert not cataloger.wants("app/package.json.bak", 10, 0o644)
    assert not cataloger.wants("app/not-package.json", 10, 0o644)
