"""``supplychain login`` / ``logout`` through the one error boundary (``cli.main.main``), without a registry.

Logins that reach a real registry are in ``tests/integration/test_auth_login.py``.
"""

from __future__ import annotations

import base64
import io
import json
import stat
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from tests.support.registry import free_port
from tests.support.signatures import CliResult, TerminalInput, run_cli_in

SECRET = "TEST-ONLY-password"


def run(args: list[str], docker_config: Path, stdin: str | io.BytesIO | None = None) -> CliResult:
    return run_cli_in(docker_config, args, stdin)


def test_password_on_the_command_line_is_refused(tmp_path: Path):
    result = run(["login", "-u", "alice", "-p", SECRET, "registry.example.com"], tmp_path)
    assert result.code == ExitCode.USAGE
    assert "--password is not accepted" in result.one_line_error()
    assert "--password-stdin" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert not (tmp_path / "config.json").exists()
    result = run(["login", "--password", SECRET, "--password-stdin", "-u", "alice"], tmp_path, stdin=SECRET)
    assert result.code == ExitCode.USAGE


def test_password_stdin_needs_a_username(tmp_path: Path):
    result = run(["login", "--password-stdin", "registry.example.com"], tmp_path, stdin=SECRET)
    assert result.code == ExitCode.USAGE
    assert "--password-stdin needs --username" in result.one_line_error()


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["-u", "alice", "--password-stdin"], "\n", "a password is required"),
        (["-u", "al:ice", "--password-stdin"], SECRET, "contains ':'"),
        (["-u", "  ", "--password-stdin"], SECRET, "a user name is required"),
    ],
)
def test_bad_login_input(tmp_path: Path, args: list[str], stdin: str, words: str):
    result = run(["login", *args, "registry.example.com"], tmp_path, stdin=stdin)
    assert result.code == ExitCode.USAGE
    assert words in result.one_line_error()
    assert not (tmp_path / "config.json").exists()


def test_login_to_an_unreachable_registry_saves_nothing(tmp_path: Path):
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = run(["login", "-u", "alice", "--password-stdin", host], tmp_path, stdin=SECRET + "\n")
    assert result.code == ExitCode.UNAVAILABLE
    assert host in result.one_line_error()
    assert result.stdout == ""
    assert not (tmp_path / "config.json").exists()


def test_prompted_credentials_are_not_echoed(tmp_path: Path):
    host = f"127.0.0.1:{free_port()}"
    result = run(["login", host], tmp_path, stdin=TerminalInput(f"alice\n{SECRET}\n".encode()))
    assert "Username" in result.stderr and "Password" in result.stderr  # prompts go to stderr
    assert SECRET not in result.stdout + result.stderr
    assert result.code == ExitCode.UNAVAILABLE


def test_no_terminal_and_no_password_stdin_is_one_clear_error(tmp_path: Path):
    # A CI job piping into login without --password-stdin: no getpass warnings, no "aborted".
    result = run(["login", f"127.0.0.1:{free_port()}", "-u", "alice"], tmp_path, stdin=f"{SECRET}\n")
    assert result.code == ExitCode.INVALID_INPUT
    assert "no terminal" in result.one_line_error()
    assert "--password-stdin" in result.stderr
    assert "Warning" not in result.stderr and SECRET not in result.stderr


def test_login_help_documents_the_password_policy(tmp_path: Path):
    result = run(["login", "--help"], tmp_path)
    assert result.code == 0
    for words in ("--password-stdin", "Not accepted", "--ca-file", "--insecure", "default: Docker Hub"):
        assert words in " ".join(result.stdout.split())


def write_config(directory: Path, document: object) -> Path:
    path = directory / "config.json"
    path.write_text(json.dumps(document))
    return path


def test_logout_removes_the_registry_and_keeps_the_rest(tmp_path: Path):
    auth = base64.b64encode(f"alice:{SECRET}".encode()).decode()
    path = write_config(tmp_path, {"auths": {"a.example:5000": {"auth": auth}, "b.example": {"auth": auth}},
                                   "psFormat": "x"})
    result = run(["logout", "a.example:5000"], tmp_path)
    assert (result.code, result.stdout) == (0, "Removing login credentials for a.example:5000\n")
    assert json.loads(path.read_text()) == {"auths": {"b.example": {"auth": auth}}, "psFormat": "x"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_logout_when_not_logged_in_says_so(tmp_path: Path):
    result = run(["logout", "a.example"], tmp_path)
    assert (result.code, result.stdout) == (0, "Not logged in to a.example\n")
    assert not (tmp_path / "config.json").exists()


def test_logout_defaults_to_docker_hub(tmp_path: Path):
    path = write_config(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": "YTpi"}}})
    result = run(["logout"], tmp_path)
    assert (result.code, result.stdout) == (0, "Removing login credentials for https://index.docker.io/v1/\n")
    assert json.loads(path.read_text()) == {"auths": {}}


def test_logout_with_a_malformed_config_is_a_one_line_error(tmp_path: Path):
    write_config(tmp_path, "not an object")
    result = run(["logout", "a.example"], tmp_path)
    assert result.code == ExitCode.INVALID_INPUT
    assert "malformed docker config" in result.one_line_error()
