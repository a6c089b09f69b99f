"""``supplychain login``/``logout`` against real registries (htpasswd Basic and token auth), through ``cli.main``."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import httpx
import pytest

from supplychain.config import Settings
from supplychain.errors import ExitCode
from supplychain.registry.auth import RegistryAuth
from supplychain.registry.credentials import find_credentials
from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess
from tests.support.signatures import CliResult, run_cli_in
from tests.support.token_issuer import (
    PUSH_PASSWORD,
    PUSH_USER,
)

pytestmark = pytest.mark.integration


def run(args: list[str], docker_config: Path, stdin: str | None = None) -> CliResult:
    return run_cli_in(docker_config, args, stdin)


def login(registry: RegistryProcess, config: Path, user: str, password: str) -> CliResult:
    return run(["login", "-u", user, "--password-stdin", registry.host], config, stdin=password + "\n")


def test_login_checks_then_saves_0600_keeping_other_keys(auth_registry: RegistryProcess, tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"other.example": {"auth": "YTpi"}}, "psFormat": "table"}))
    result = login(auth_registry, tmp_path, TEST_USER, TEST_PASSWORD)
    assert result.code == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    assert "saved unencrypted" in result.stderr
    assert TEST_PASSWORD not in result.stdout + result.stderr
    saved = json.loads(config.read_text())
    assert saved["psFormat"] == "table"
    assert saved["auths"]["other.example"] == {"auth": "YTpi"}
    expected = base64.b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
    assert saved["auths"][auth_registry.host] == {"auth": expected}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    # The saved credentials work for the registry client's auth.
    credentials = find_credentials(auth_registry.host, Settings(docker_config_dir=tmp_path))
    auth = RegistryAuth(auth_registry.host, credentials, plain_http=True)
    with httpx.Client() as client:
        assert client.get(f"{auth_registry.url}/v2/", auth=auth).status_code == 200
    # And logout takes them away again.
    result = run(["logout", auth_registry.host], tmp_path)
    assert result.stdout == f"Removing login credentials for {auth_registry.host}\n"
    assert auth_registry.host not in json.loads(config.read_text())["auths"]


def test_wrong_password_exits_with_the_auth_code_and_saves_nothing(auth_registry: RegistryProcess, tmp_path: Path):
    result = login(auth_registry, tmp_path, TEST_USER, "wrong")
    assert result.code == ExitCode.AUTH
    assert "unauthorized: authentication required" in result.one_line_error()
    assert "check the user name and password" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "config.json").exists()


def test_login_to_a_token_registry(token_registry: RegistryProcess, tmp_path: Path):
    result = login(token_registry, tmp_path, PUSH_USER, PUSH_PASSWORD)
    assert (result.code, result.stdout) == (0, "Login Succeeded\n")
    assert token_registry.host in json.loads((tmp_path / "config.json").read_text())["auths"]
    refused = login(token_registry, tmp_path / "other", PUSH_USER, "wrong")
    assert refused.code == ExitCode.AUTH
    assert "incorrect username or password" in refused.one_line_error()


LOOPBACK_ALIAS = "loopback-alias.test"  # RFC 2606: never a real name


def _loopback_host_name(monkeypatch: pytest.MonkeyPatch, *, own_name: bool = True) -> str:
    """A name other than ``localhost`` that the resolver maps to loopback only: this machine's own host name when
    ``/etc/hosts`` maps it so (as on Debian), else ``LOOPBACK_ALIAS``, which the test's resolver answers with
    127.0.0.1 as an ``/etc/hosts`` line would (a test cannot edit ``/etc/hosts``)."""
    import socket

    from supplychain.transport import resolve_addresses

    name = socket.gethostname()
    addresses = resolve_addresses(name)
    if own_name and name.lower() != "localhost" and addresses and all(a.is_loopback for a in addresses):
        return name
    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        return real("127.0.0.1" if host == LOOPBACK_ALIAS else host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return LOOPBACK_ALIAS


@pytest.mark.parametrize("own_name", [True, False], ids=["own-host-name", "alias"])
def test_a_host_name_resolving_to_loopback_is_loopback(auth_registry: RegistryProcess, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, own_name: bool):
    """Issue 8, item 4: ``myhost:PORT`` in /etc/hosts as 127.0.0.1 gets loopback's rules, as with docker: plain
    HTTP, and credentials over it (checked on the resolved addresses): with the machine's own name when it
    resolves to loopback, and always with a name the test's resolver maps to 127.0.0.1."""
    name = _loopback_host_name(monkeypatch, own_name=own_name)
    host = f"{name}:{auth_registry.host.rpartition(':')[2]}"
    result = run(["login", "-u", TEST_USER, "--password-stdin", host], tmp_path, stdin=TEST_PASSWORD + "\n")
    assert result.code == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    inspected = run(["inspect", f"{host}/no/such-image:1"], tmp_path)
    assert inspected.code == ExitCode.NOT_FOUND, inspected.stderr  # authenticated over plain HTTP, then 404
    # Control: a name that does not resolve is not loopback: no plain HTTP, so no credentials in the clear.
    other = run(["login", "-u", TEST_USER, "--password-stdin", "unresolvable.invalid:5000"], tmp_path,
                stdin=TEST_PASSWORD + "\n")
    assert other.code != 0 and TEST_PASSWORD not in other.stderr
