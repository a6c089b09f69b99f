"""Every third-party module the code imports is a declared dependency (pyproject.toml), so that ``.ci/run`` on a
fresh machine installs it: ``isal`` and ``zstandard`` were once imported by ``imagefs.compression`` and never
declared, and passed only on machines where an earlier session had installed them by hand.

``supplychain/`` may import only its own ``dependencies`` (each named there, not reached through another package);
``tests/``, ``bench/`` and ``fixtures/`` may also import the ``test`` extra and what those pull in."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OWN = {"supplychain", "tests", "bench", "fixtures", "__future__"}
# Imported by supplychain/ without being named in its dependencies, each with why that is right.
REACHED_THROUGH = {
    # httpx's own transport, pinned by httpx (httpcore==1.*): transport.client raises its read size, the one knob
    # httpx does not expose; naming it ourselves could only disagree with httpx's pin.
    "httpcore": "httpx",
}


def imported_modules(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Top-level module names imported (absolute imports, at any depth: lazy ones count) -> files importing them."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                beside = (path.parent / f"{top}.py").exists()  # bench/'s scripts import each other so
                if top not in sys.stdlib_module_names and top not in OWN and not beside:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def distributions_of(module: str) -> set[str]:
    return {canonicalize_name(name) for name in importlib.metadata.packages_distributions().get(module, ())}


def declared(requirements: Iterable[str]) -> set[str]:
    return {canonicalize_name(Requirement(text).name) for text in requirements}


def with_requirements(names: set[str]) -> set[str]:
    """``names`` and every distribution they require (unconditionally, for this interpreter), installed."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in importlib.metadata.requires(name) or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_every_module_the_package_imports_is_a_declared_dependency():
    dependencies = declared(PROJECT["dependencies"])
    missing = {
        module: sorted(files) for module, files in imported_modules(python_files("supplychain")).items()
        if not distributions_of(module) & dependencies
        and not (module in REACHED_THROUGH and canonicalize_name(REACHED_THROUGH[module]) in dependencies)
    }
    assert missing == {}, "imported but not in [project] dependencies of pyproject.toml"


def test_every_module_the_tests_and_benchmarks_import_is_installed_by_the_test_extra():
    extra = PROJECT["optional-dependencies"]["test"]
    installed = with_requirements(declared(PROJECT["dependencies"]) | declared(extra))
    missing = {
        module: sorted(files) for module, files in imported_modules(python_files("tests", "bench", "fixtures")).items()
        if not distributions_of(module) & installed
    }
    assert missing == {}, "imported but installed by neither the dependencies nor the test extra of pyproject.toml"


@pytest.mark.parametrize("module", ["isal", "zstandard"])
def test_the_check_sees_a_lazy_import(module: str):
    """What the first test guards against: both are imported only inside functions (imagefs.compression)."""
    assert "supplychain/imagefs/compression.py" in imported_modules(python_files("supplychain"))[module]
