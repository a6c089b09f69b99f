"""The stated public API (docs/api.md): each public module's ``__all__`` lists exactly its public names, every one
importable, and the whole list equals ``snapshots/public_api.txt``, so that a change to it is deliberate (regenerate
with ``SUPPLYCHAIN_UPDATE_SNAPSHOTS=1 python3 -m pytest tests/unit/test_public_api.py`` and review the diff).
The packages re-export lazily (``supplychain.lazy``): importing one loads none of its submodules."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.snapshot import compare_snapshot

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).parent / "snapshots" / "public_api.txt"
# supplychain.layout and supplychain.transport get theirs once they are packages (issue 9, item 7).
LAZY_PACKAGES = ("keys", "signing", "verify", "trust", "oci", "formats", "sbom")
FORMATS = ("b64", "bundle", "dsse", "error", "gojson", "intoto", "jcs", "rekor", "strictjson")
PUBLIC = tuple(sorted(
    [f"supplychain.{name}" for name in
     (*LAZY_PACKAGES, "store", "errors", "reference", "config", "registry", "layout", "transport",
      "imagesource")]
    + [f"supplychain.formats.{name}" for name in FORMATS]
))
HEAVY = ("httpx", "pydantic", "cryptography", "nacl", "sqlite3", "rich", "click")


def isort_style(name: str) -> tuple[int, list[int | str]]:
    """The order ruff's RUF022 keeps: SCREAMING_CASE, then CamelCase, then the rest; each in natural order."""
    group = 0 if name.upper() == name else 1 if name[0].isupper() else 2
    return group, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def exported(name: str) -> list[str]:
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None)
    assert isinstance(names, list), f"{name} states no __all__"
    return names


def source(module: ModuleType) -> ast.Module:
    assert module.__file__ is not None
    return ast.parse(Path(module.__file__).read_text(encoding="utf-8"))


def defined(tree: ast.Module) -> set[str]:
    """The public names a module's own top-level statements bind (module loggers aside)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_") and name != "logger"}


def type_checking_imports(tree: ast.Module) -> dict[str, str]:
    """``{name: module}`` of the ``if TYPE_CHECKING:`` imports: what mypy and a reader see of a lazy package."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module is not None
                found.update((alias.name, statement.module) for alias in statement.names)
    return found


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_sorted_unique_and_public(name: str) -> None:
    names = exported(name)
    assert names, name
    assert len(set(names)) == len(names), f"{name}: duplicates in __all__"
    assert names == sorted(names, key=isort_style), f"{name}: __all__ out of order"
    assert not [n for n in names if n.startswith("_")], f"{name}: private names in __all__"


@pytest.mark.parametrize("name", PUBLIC)
def test_every_name_resolves_and_star_import_gives_exactly_them(name: str) -> None:
    module = importlib.import_module(name)
    for attribute in exported(name):
        assert getattr(module, attribute) is not None or attribute in module.__dict__, f"{name}.{attribute}"
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(exported(name))


@pytest.mark.parametrize("name", PUBLIC)
def test_no_public_name_of_the_module_is_left_out(name: str) -> None:
    module = importlib.import_module(name)
    missing = defined(source(module)) - set(exported(name)) - {"__getattr__", "__dir__"}
    assert not missing, f"{name} defines public names its __all__ leaves out: {sorted(missing)}"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_package_exports_what_its_imports_say(package: str) -> None:
    """The ``TYPE_CHECKING`` imports (mypy's view), ``__all__`` and the runtime map (``dir``) name the same
    objects: a name added to one and not the others fails here, not in a user's program."""
    module = importlib.import_module(f"supplychain.{package}")
    static = type_checking_imports(source(module))
    assert set(static) == set(exported(module.__name__))
    for attribute, home in static.items():
        if home == module.__name__:  # a submodule (supplychain.formats.bundle)
            assert getattr(module, attribute) is importlib.import_module(f"{home}.{attribute}")
        else:
            assert getattr(module, attribute) is getattr(importlib.import_module(home), attribute), attribute
    incidental = {"annotations", "TYPE_CHECKING", "lazy_exports"}  # the __init__'s own imports
    # dir() lists what the runtime map offers; submodules imported by then are attributes too (PEP 562, import system)
    public_dir = {n for n in dir(module) if not n.startswith("_") and n not in incidental
                  and (n in static or not inspect.ismodule(getattr(module, n)))}
    assert public_dir == set(static)
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        _ = module.nonexistent


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_importing_a_package_loads_none_of_its_submodules(package: str) -> None:
    modules = loaded_after(f"import supplychain.{package}")
    ours = {m for m in modules if m.startswith("supplychain.")}
    assert ours == {f"supplychain.{package}", "supplychain.lazy"}
    assert not [name for name in HEAVY if name in modules]  # httpx._main is the start-up stand-in (supplychain)


def test_a_result_module_does_not_load_the_verifier() -> None:
    # report/ renders verify.result values: that must not bring the verifier, the log client and httpx along.
    modules = loaded_after("import supplychain.verify.result")
    assert "supplychain.verify.verifier" not in modules
    assert "httpx" not in modules


def test_using_a_name_loads_only_its_module() -> None:
    modules = loaded_after("from supplychain.trust import LogKeyring")
    assert "supplychain.trust.keyring" in modules
    assert "supplychain.trust.root" not in modules  # the TrustedRoot parser (pydantic) stays out
    assert "pydantic" not in modules


def test_the_public_api_is_the_snapshot() -> None:
    lines = [f"{name}.{attribute}\n" for name in PUBLIC for attribute in exported(name)]
    compare_snapshot(SNAPSHOT, "".join(lines), tests="tests/unit/test_public_api.py",
                     note=" (a changed line is a change of the public API: docs/api.md)")


def test_the_wheel_ships_py_typed() -> None:
    """PEP 561. Building the wheel here is not possible offline (the project needs setuptools >= 68 with build
    isolation, which downloads it), so this holds the configuration setuptools packages it by, and the file."""
    assert (ROOT / "supplychain" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert any(fnmatch("supplychain", pattern) for pattern in config["packages"]["find"]["include"])
    assert any(fnmatch("py.typed", pattern) for pattern in config["package-data"]["supplychain"])
