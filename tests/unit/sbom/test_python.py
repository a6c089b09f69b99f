"""Python (sbom.catalogers.python): real dist-info METADATA and egg-info PKG-INFO copied from this machine
(fixtures/sbom/debian), PEP 503 names in the purl, licences, and METADATA that is not UTF-8."""

from __future__ import annotations

from supplychain.imagefs.view import FileView
from supplychain.sbom.catalogers.python import PythonCataloger, normalise_name
from tests.support.fileview import scan_directory
from tests.support.sbom_builds import DEBIAN_FIXTURE

SITE = "usr/local/lib/python3.11/site-packages"


def test_real_dist_info_and_egg_info() -> None:
    _, [catalog] = scan_directory(DEBIAN_FIXTURE, (PythonCataloger(),))
    assert catalog.problems == ()
    packages = {package.name: package for package in catalog.packages}
    assert sorted(packages) == ["PyJWT", "PyYAML", "lazr.restfulclient", "license-expression", "oauthlib",
                                "packageurl-python", "typing_extensions"]
    assert packages["typing_extensions"].purl == "pkg:pypi/typing-extensions@4.16.0"
    assert packages["lazr.restfulclient"].purl == "pkg:pypi/lazr-restfulclient@0.14.5"
    assert packages["PyYAML"].purl == "pkg:pypi/pyyaml@6.0.3"
    assert packages["PyYAML"].locations == (f"{SITE}/pyyaml-6.0.3.dist-info/METADATA",)
    assert packages["license-expression"].licenses == ("Apache-2.0",)
    assert packages["typing_extensions"].licenses == ("PSF-2.0",)
    assert packages["oauthlib"].locations == ("usr/lib/python3/dist-packages/oauthlib-3.2.2.egg-info/PKG-INFO",)


def test_invalid_encodings_are_problems() -> None:
    latin1 = b"Metadata-Version: 2.1\nName: caf\xe9-tools\nVersion: 1.0\n"
    description = b"Metadata-Version: 2.1\nName: fine\nVersion: 2.0\nSummary: na\xefve\n\nlong text \xff\xfe\n"
    view = FileView.from_files({f"{SITE}/cafe-1.0.dist-info/METADATA": latin1,
                                f"{SITE}/fine-2.0.dist-info/METADATA": description})
    catalog = PythonCataloger().catalog(view, None)
    # Name unreadable: skipped and said; a bad byte elsewhere: the package, and the problem
    assert [package.purl for package in catalog.packages] == ["pkg:pypi/fine@2.0"]
    messages = {problem.path.split("/")[-2]: problem.message for problem in catalog.problems}
    assert "not UTF-8 at byte" in messages["cafe-1.0.dist-info"]
    assert "skipped: Name or Version is not readable" in messages["cafe-1.0.dist-info"]
    assert "not UTF-8 at byte" in messages["fine-2.0.dist-info"]


def test_licence_sources_in_order_and_single_file_egg_info() -> None:
    files = {
        f"{SITE}/a-1.dist-info/METADATA": b"Name: a\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\n"
                                          b"License: ignored\n",
        f"{SITE}/b-1.dist-info/METADATA": b"Name: b\nVersion: 1\nClassifier: License :: OSI Approved :: "
                                          b"MIT License\n",
        f"{SITE}/C_d-1.egg-info": b"Metadata-Version: 1.1\nName: C_d\nVersion: 1\nLicense: BSD-3-Clause\n",
        f"{SITE}/e-1.dist-info/METADATA": b"Name: e\n",
        # oras 0.2.43's METADATA: the License field names the licence's file; the classifier names the licence
        f"{SITE}/oras-0.2.43.dist-info/METADATA": b"Name: oras\nVersion: 0.2.43\nLicense: LICENSE\nClassifier: "
                                                  b"License :: OSI Approved :: Apache Software License\n",
        f"{SITE}/f-1.dist-info/METADATA": b"Name: f\nVersion: 1\nLicense: see COPYING.txt file\n",
        f"{SITE}/g-1.dist-info/METADATA": b"Name: g\nVersion: 1\nLicense: Licensed\n",  # a word, not a file name
    }
    catalog = PythonCataloger().catalog(FileView.from_files(files), None)
    assert {package.name: package.licenses for package in catalog.packages} == {
        "a": ("MIT OR Apache-2.0",), "b": ("MIT",), "C_d": ("BSD-3-Clause",), "oras": ("Apache-2.0",), "f": (),
        "g": ("LicenseRef-Licensed",)}
    assert [package.purl for package in catalog.packages if package.name == "C_d"] == ["pkg:pypi/c-d@1"]
    assert [problem.message for problem in catalog.problems] == ["skipped: no Name or Version"]


def test_wants_and_pep503() -> None:
    cataloger = PythonCataloger()
    assert cataloger.wants(f"{SITE}/x-1.dist-info/METADATA", 5000, 0o644)
    assert not cataloger.wants(f"{SITE}/x-1.dist-info/RECORD", 5000, 0o644)
    assert not cataloger.wants(f"{SITE}/x-1.dist-info/METADATA", 2 * 1024 * 1024, 0o644)
    assert normalise_name("Foo.Bar__baz-Qux") == "foo-bar-baz-qux"


def test_unzipped_eggs_and_upper_case_folders_as_syft_globs_them() -> None:
    """syft's ``**/*EGG-INFO/PKG-INFO`` (an unzipped egg, easy_install's ``x.egg/EGG-INFO/``) and
    ``**/*DIST-INFO/METADATA``: real metadata (Debian's PyJWT egg-info) moved to those places."""
    data = (DEBIAN_FIXTURE / "usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info/PKG-INFO").read_bytes()
    paths = [f"{SITE}/PyJWT-2.6.0-py3.11.egg/EGG-INFO/PKG-INFO", f"{SITE}/PYJWT-2.6.0.DIST-INFO/METADATA"]
    cataloger = PythonCataloger()
    assert all(cataloger.wants(path, len(data), 0o644) for path in paths)
    catalog = cataloger.catalog(FileView.from_files({path: data for path in paths}), None)
    assert [(p.name, p.version, p.purl) for p in catalog.packages] == [("PyJWT", "2.6.0", "pkg:pypi/pyjwt@2.6.0")] * 2
    assert not cataloger.wants(f"{SITE}/x.egg/PKG-INFO", 300, 0o644)  # not in EGG-INFO/
    assert not cataloger.wants(f"{SITE}/EGG-INFO/README", 300, 0o644)
