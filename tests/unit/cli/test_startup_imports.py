"""What a command imports before its first request (issue 8.13, the same-registry copy; issue 10.1 widens it).

Each check runs a fresh interpreter, as a user's command does, and looks at ``sys.modules`` afterwards."""

from __future__ import annotations

import json
import subprocess
import sys

# Heavy modules that a copy or a key-based command must not load when nothing needs them.
NOT_AT_START = ("rich", "pygments")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_httpx_through_supplychain_skips_httpx_cli() -> None:
    modules = loaded_after("import supplychain, httpx")
    assert "httpx" in modules
    assert not [name for name in NOT_AT_START if name in modules or any(m.startswith(name + ".") for m in modules)]


def test_httpx_main_still_runs_the_real_cli() -> None:
    code = "import supplychain, httpx, sys\nsys.argv = ['httpx', '--help']\nhttpx.main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0
    assert "next generation HTTP client" in result.stdout


def test_httpx_imported_first_is_left_alone() -> None:
    modules = loaded_after("import httpx, supplychain")
    assert "rich.console" in modules  # httpx's real CLI module: we only step in before httpx is imported


def test_copy_without_a_terminal_does_not_import_rich() -> None:
    code = (
        "from supplychain.cli.progress import TransferProgress\n"
        "with TransferProgress() as progress:\n    pass"
    )
    assert not any(m == "rich" or m.startswith("rich.") for m in loaded_after(code))


def test_the_command_line_never_imports_trio() -> None:
    # httpcore imports trio when it is installed (only for async callers); the CLI is synchronous.
    modules = loaded_after("import supplychain.cli.main, httpx\nhttpx.Client().close()")
    assert "httpx" in modules
    assert "trio" not in modules
