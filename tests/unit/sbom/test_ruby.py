"""Ruby (sbom.catalogers.ruby): a real installed gemspec (fixtures/sbom/debian) read without evaluating Ruby."""

from __future__ import annotations

from supplychain.imagefs.view import FileView
from supplychain.sbom.catalogers.ruby import RubyCataloger
from tests.support.fileview import scan_directory
from tests.support.sbom_builds import DEBIAN_FIXTURE


def test_installed_gemspec() -> None:
    _, [catalog] = scan_directory(DEBIAN_FIXTURE, (RubyCataloger(),))
    [gem] = catalog.packages
    assert (gem.name, gem.version, gem.purl, gem.licenses) == (
        "rubocop-thread_safety", "0.4.1", "pkg:gem/rubocop-thread_safety@0.4.1", ("MIT",))


def test_gemspec_without_name_is_a_problem_and_others_are_not_wanted() -> None:
    path = "usr/local/bundle/specifications/x-1.gemspec"
    catalog = RubyCataloger().catalog(FileView.from_files({path: b"Gem::Specification.new do |s|\nend\n"}), None)
    assert catalog.packages == () and catalog.problems[0].path == path
    assert RubyCataloger().wants(path, 3000, 0o644)
    assert not RubyCataloger().wants("src/app/x.gemspec", 3000, 0o644)  # a gem's source, not installed


def test_default_gems_under_specifications_default_are_installed_gems() -> None:
    """Ruby's bundled gems live in ``specifications/default/`` (syft's glob ``**/specifications/**/*.gemspec``):
    the real gemspec, moved there."""
    data = (DEBIAN_FIXTURE / "usr/lib/ruby/gems/3.1.0/specifications/rubocop-thread_safety-0.4.1.gemspec").read_bytes()
    path = "usr/lib/ruby/gems/3.1.0/specifications/default/rubocop-thread_safety-0.4.1.gemspec"
    assert RubyCataloger().wants(path, len(data), 0o644)
    [gem] = RubyCataloger().catalog(FileView.from_files({path: data}), None).packages
    assert (gem.name, gem.version, gem.locations) == ("rubocop-thread_safety", "0.4.1", (path,))
    assert not RubyCataloger().wants("usr/lib/ruby/3.1.0/x.gemspec", 300, 0o644)  # under no specifications/
