"""The one error boundary: one-line errors with a hint, the class's exit code, tracebacks only with --debug."""

from __future__ import annotations

import subprocess
import sys

import pytest

from supplychain.cli.main import main
from supplychain.errors import ExitCode


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_version(capsys: pytest.CaptureFixture[str]):
    code, out, _ = run(["version"], capsys)
    assert code == 0
    assert out.startswith("supplychain ")


def test_bad_reference_is_one_line_with_hint(capsys: pytest.CaptureFixture[str]):
    code, out, err = run(["inspect", "Not/A:Ref:"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: invalid reference")
    assert lines[1].startswith("hint: ")
    assert len(lines) == 2
    assert "Traceback" not in err


def test_debug_shows_traceback(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["--debug", "inspect", "Not/A:Ref:"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert "Traceback" in err
    assert "error: invalid reference" in err


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["inspect"], capsys)
    assert code == ExitCode.USAGE
    assert "Missing argument" in err
    code, _, err = run(["no-such-command"], capsys)
    assert code == ExitCode.USAGE


def test_bad_platform(capsys: pytest.CaptureFixture[str], tmp_path):
    code, _, err = run(["inspect", f"oci:{tmp_path}", "--platform", "linux"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert "platform" in err


def test_help_does_not_import_heavy_modules():
    # STYLE.md: `supplychain --help` must not load httpx, cryptography, sigstore, cyclonedx or spdx_tools.
    probe = (
        "import sys\n"
        "from supplychain.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'cryptography', 'sigstore', 'cyclonedx', 'spdx_tools', 'nacl', 'rich',"
        " 'pydantic') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "HEAVY:"
