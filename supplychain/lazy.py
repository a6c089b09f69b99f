"""Lazy re-exports (PEP 562): a package states its public API in ``__all__`` and imports a submodule only when
one of its names is first used.

So ``from supplychain.verify import Verifier`` works, while ``import supplychain.verify.result`` (what a renderer
needs) does not load the verifier, the log client and httpx with it, and ``supplychain --help`` stays fast
(docs/architecture.md, "Fast start"). Each package lists its names twice, on purpose: under ``TYPE_CHECKING``
as imports (what mypy and readers see) and here as the map the interpreter uses; ``tests/unit/test_public_api.py``
holds the two equal to ``__all__``.

Standard library only (row 0): every package may use it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Iterable[str]] | None = None, *, submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``: ``exports`` maps a module to the names the package
    re-exports from it; ``submodules`` are the package's own modules it offers as attributes
    (``supplychain.formats.bundle`` after only ``import supplychain.formats``). A name is imported once, then kept
    in the package's namespace."""
    where = {name: module for module, names in (exports or {}).items() for name in names}
    modules = frozenset(submodules)
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where) | modules)

    return __getattr__, __dir__
