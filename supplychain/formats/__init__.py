"""Pure wire formats, below every store and log: parse bytes into values, never touch I/O (docs/architecture.md).

The public API is the modules, each with its own ``__all__`` (their names overlap: ``dsse.DsseSignature`` is
DSSE's, ``rekor.DsseSignature`` Rekor's): ``strictjson``, ``gojson``, ``jcs``, ``b64``, ``dsse``, ``intoto``,
``bundle``, ``rekor`` and ``error``. ``from supplychain.formats import bundle`` loads that module only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.lazy import lazy_exports

if TYPE_CHECKING:
    from supplychain.formats import b64, bundle, dsse, error, gojson, intoto, jcs, rekor, strictjson

__all__ = ["b64", "bundle", "dsse", "error", "gojson", "intoto", "jcs", "rekor", "strictjson"]

# mypy reads the imports above; a module __getattr__ it could see would make every unknown name Any.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, submodules=__all__)
