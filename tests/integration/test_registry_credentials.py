"""Per-command credentials and containers-auth.json (issue 8, item 10), against the real htpasswd registry.

``--registry-username`` takes its password from ``SUPPLYCHAIN_REGISTRY_PASSWORD`` or ``--registry-password-stdin``
(never argv); ``REGISTRY_AUTH_FILE`` / ``$XDG_RUNTIME_DIR/containers/auth.json`` are read after docker's config.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from tests.integration.test_transport_proxy import Result, run
from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess

pytestmark = pytest.mark.integration


def auth_json(path: Path, host: str, password: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{TEST_USER}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return path


def env_for(tmp_path: Path, **extra: str | None) -> dict[str, str | None]:
    env: dict[str, str | None] = {"DOCKER_CONFIG": str(tmp_path / "docker"), "REGISTRY_AUTH_FILE": None,
                                  "XDG_RUNTIME_DIR": None, "SUPPLYCHAIN_REGISTRY_PASSWORD": None}
    return {**env, **extra}


@pytest.fixture
def pushed(fixture_layout: Path, auth_registry: RegistryProcess, tmp_path: Path) -> str:
    """An image in the htpasswd registry, copied there with --registry-username and the password from the
    environment."""
    target = f"{auth_registry.host}/creds/app:1"
    result = run(["copy", "--registry-username", TEST_USER, f"oci:{fixture_layout}:multi", target],
                 env_for(tmp_path, SUPPLYCHAIN_REGISTRY_PASSWORD=TEST_PASSWORD))
    assert result.code == 0, result.err
    return target


def assert_denied(result: Result) -> None:
    assert result.code == ExitCode.AUTH, result.err
    assert result.err.startswith("error: ") and "hint: " in result.err


def test_without_credentials_the_registry_refuses(pushed: str, tmp_path: Path):
    assert_denied(run(["inspect", pushed], env_for(tmp_path)))


def test_registry_username_with_the_password_from_the_environment(pushed: str, tmp_path: Path):
    result = run(["inspect", "--registry-username", TEST_USER, pushed],
                 env_for(tmp_path, SUPPLYCHAIN_REGISTRY_PASSWORD=TEST_PASSWORD))
    assert result.code == 0, result.err
    wrong = run(["inspect", "--registry-username", TEST_USER, pushed],
                env_for(tmp_path, SUPPLYCHAIN_REGISTRY_PASSWORD="wrong"))
    assert_denied(wrong)
    assert "wrong" not in wrong.err


def test_registry_password_from_stdin(pushed: str, tmp_path: Path):
    result = run(["inspect", "--registry-username", TEST_USER, "--registry-password-stdin", pushed],
                 env_for(tmp_path), stdin=TEST_PASSWORD + "\n")
    assert result.code == 0, result.err
    # stdin wins over the environment when both are given.
    result = run(["inspect", "--registry-username", TEST_USER, "--registry-password-stdin", pushed],
                 env_for(tmp_path, SUPPLYCHAIN_REGISTRY_PASSWORD="wrong"), stdin=TEST_PASSWORD)
    assert result.code == 0, result.err


def test_a_username_without_a_password_is_a_usage_error(pushed: str, tmp_path: Path):
    for args, stdin in ((["--registry-username", TEST_USER], None),
                        (["--registry-username", TEST_USER, "--registry-password-stdin"], ""),
                        (["--registry-password-stdin"], TEST_PASSWORD)):
        result = run(["inspect", *args, pushed], env_for(tmp_path), stdin=stdin)
        assert result.code == ExitCode.USAGE, result.err
        error, hint = result.err.strip().splitlines()
        assert error.startswith("error: --registry-")
        assert hint.startswith("hint: ") and "--registry-" in hint


@pytest.mark.parametrize(
    ("args", "extra", "words"),
    [
        (["--registry-username", "a:b"], {"SUPPLYCHAIN_REGISTRY_PASSWORD": TEST_PASSWORD}, "contains ':'"),
        (["--registry-username", TEST_USER], {"SUPPLYCHAIN_REGISTRY_PASSWORD": ""},
         "SUPPLYCHAIN_REGISTRY_PASSWORD is empty"),
    ],
)
def test_a_colon_user_name_and_an_empty_password_variable_are_named(
    pushed: str, tmp_path: Path, args: list[str], extra: dict[str, str], words: str
):
    """A user "a:b" would reach the registry as user "a" with password "b:..." (RFC 7617 section 2); a variable
    set but empty is not "not set"."""
    result = run(["inspect", *args, pushed], env_for(tmp_path, **extra))
    assert result.code == ExitCode.USAGE, result.err
    error, hint = result.err.strip().splitlines()
    assert words in error and hint.startswith("hint: ")


def test_registry_auth_file(pushed: str, auth_registry: RegistryProcess, tmp_path: Path):
    path = auth_json(tmp_path / "auth.json", auth_registry.host, TEST_PASSWORD)
    result = run(["inspect", pushed], env_for(tmp_path, REGISTRY_AUTH_FILE=str(path)))
    assert result.code == 0, result.err


def test_xdg_runtime_dir_auth_json(pushed: str, auth_registry: RegistryProcess, tmp_path: Path):
    runtime = tmp_path / "run"
    auth_json(runtime / "containers" / "auth.json", auth_registry.host, TEST_PASSWORD)
    result = run(["inspect", pushed], env_for(tmp_path, XDG_RUNTIME_DIR=str(runtime)))
    assert result.code == 0, result.err
    # REGISTRY_AUTH_FILE replaces the runtime directory's file, as in containers-auth.json(5).
    other = auth_json(tmp_path / "other.json", auth_registry.host, "wrong")
    assert_denied(run(["inspect", pushed], env_for(tmp_path, XDG_RUNTIME_DIR=str(runtime),
                                                   REGISTRY_AUTH_FILE=str(other))))


def test_docker_config_wins_over_auth_json(pushed: str, auth_registry: RegistryProcess, tmp_path: Path):
    auth_file = auth_json(tmp_path / "auth.json", auth_registry.host, TEST_PASSWORD)
    auth_json(tmp_path / "docker" / "config.json", auth_registry.host, "wrong")
    assert_denied(run(["inspect", pushed], env_for(tmp_path, REGISTRY_AUTH_FILE=str(auth_file))))
    auth_json(tmp_path / "docker" / "config.json", auth_registry.host, TEST_PASSWORD)
    auth_json(auth_file, auth_registry.host, "wrong")
    result = run(["inspect", pushed], env_for(tmp_path, REGISTRY_AUTH_FILE=str(auth_file)))
    assert result.code == 0, result.err
    # The command's own credentials win over both.
    auth_json(tmp_path / "docker" / "config.json", auth_registry.host, "wrong")
    result = run(["inspect", "--registry-username", TEST_USER, pushed],
                 env_for(tmp_path, REGISTRY_AUTH_FILE=str(auth_file), SUPPLYCHAIN_REGISTRY_PASSWORD=TEST_PASSWORD))
    assert result.code == 0, result.err
