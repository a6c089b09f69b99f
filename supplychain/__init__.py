"""supplychain: sign, attest and verify OCI images."""

import sys as _sys
import types as _types

__version__ = "0.1.0"


def _defer_httpx_cli() -> None:
    """Keep httpx's command line client out of every start-up.

    ``httpx/__init__.py`` runs ``from ._main import main`` whenever click, rich and pygments are installed (they are:
    our CLI uses click and rich), which imports rich's console, pygments and click before our first request: about
    90 ms, a third of ``import httpx``. httpx itself needs only the name ``main``, for its ``httpx`` console script.
    So, before anything imports httpx, register a stand-in ``httpx._main`` whose ``main`` loads the real module when
    it is called. Nothing changes for a process that imported httpx first, and ``httpx.main()`` still works.
    """
    if "httpx" in _sys.modules or "httpx._main" in _sys.modules:
        return
    stand_in = _types.ModuleType("httpx._main", "Stand-in until httpx.main() is called (supplychain start-up).")

    def main(*args: object, **kwargs: object) -> object:
        import importlib

        del _sys.modules["httpx._main"]
        real = importlib.import_module("httpx._main")
        return real.main(*args, **kwargs)

    stand_in.main = main  # type: ignore[attr-defined]
    _sys.modules["httpx._main"] = stand_in


_defer_httpx_cli()
