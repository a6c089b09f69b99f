"""``--debug`` (or ``SUPPLYCHAIN_DEBUG=1``) logs every HTTP request and response on stderr, one line each, with
credentials redacted; without it nothing is logged. Driven through ``cli.main`` against the real registries of
``tests/integration/conftest.py``: htpasswd Basic auth, and token auth (Basic to the token service, then Bearer;
and the OAuth2 POST with a refresh token)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess
from tests.support.signatures import CliResult, run_cli
from tests.support.token_issuer import PUSH_PASSWORD, PUSH_USER, TokenIssuer

pytestmark = pytest.mark.integration

# debug: > METHOD URL LENGTH {headers}, then debug: < STATUS METHOD URL N ms LENGTH {headers}, or, for a request
# that got no response (the https attempt at a plain-HTTP loopback registry), debug: < failed METHOD URL N ms: ERROR
REQUEST_LINE = re.compile(r"^debug: > (GET|HEAD|PUT|POST|PATCH|DELETE) https?://\S+ (\d+ bytes|chunked) \{.*\}$")
RESPONSE_LINE = re.compile(
    r"^debug: < (\d{3}|failed) (GET|HEAD|PUT|POST|PATCH|DELETE) (https?://\S+) (\d+) ms"
    r"( (\d+ bytes|chunked|length unknown) \{.*\}|: \w+: .+)$")


def run(args: list[str], config_dir: Path, *, debug_env: bool = False) -> CliResult:
    return run_cli(args, env={"DOCKER_CONFIG": str(config_dir), "SUPPLYCHAIN_DEBUG": "1" if debug_env else None})


def docker_config(config_dir: Path, host: str, entry: dict[str, str]) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.json").write_text(json.dumps({"auths": {host: entry}}))
    return config_dir


def request_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("debug: > ", "debug: < "))]


def assert_logged(result: CliResult, registry: RegistryProcess) -> list[re.Match[str]]:
    """Every request and response line is well formed; the registry's 401 challenge and a 2xx answer are there."""
    lines = request_lines(result.stderr)
    requests = [line for line in lines if line.startswith("debug: > ")]
    responses = [RESPONSE_LINE.match(line) for line in lines if line.startswith("debug: < ")]
    assert requests and all(REQUEST_LINE.match(line) for line in requests), result.stderr
    assert all(responses) and len(responses) == len(requests), result.stderr
    matched = [m for m in responses if m is not None]
    at_registry = [m for m in matched if m.group(3).startswith(registry.url)]
    assert any(m.group(1) == "401" for m in at_registry), result.stderr
    assert any(m.group(1).startswith("2") for m in at_registry), result.stderr
    assert "'authorization': '***'" in result.stderr.lower()
    return matched


def assert_no_secret(stderr: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret and secret not in stderr, secret


def test_basic_auth_requests_are_logged_without_the_password(
    auth_registry: RegistryProcess, fixture_layout: Path, tmp_path: Path
):
    basic = base64.b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
    config = docker_config(tmp_path / "docker", auth_registry.host, {"auth": basic})
    image = f"{auth_registry.host}/debug/basic:1"

    quiet = run(["copy", f"oci:{fixture_layout}:single", image], config)
    assert quiet.code == 0, quiet
    assert request_lines(quiet.stderr) == [] and "debug:" not in quiet.stderr

    debug = run(["--debug", "inspect", image], config)
    assert debug.code == 0, debug
    assert_logged(debug, auth_registry)
    assert_no_secret(debug.stderr, TEST_PASSWORD, basic)

    # The same from the environment, and with --debug after the command.
    for result in (run(["inspect", image], config, debug_env=True), run(["inspect", image, "--debug"], config)):
        assert result.code == 0, result
        assert_logged(result, auth_registry)
        assert_no_secret(result.stderr, TEST_PASSWORD, basic)

    assert request_lines(run(["inspect", image], config).stderr) == []


def test_token_auth_requests_are_logged_without_password_or_tokens(
    token_registry: RegistryProcess, token_issuer: TokenIssuer, fixture_layout: Path, tmp_path: Path
):
    basic = base64.b64encode(f"{PUSH_USER}:{PUSH_PASSWORD}".encode()).decode()
    config = docker_config(tmp_path / "docker", token_registry.host, {"auth": basic})
    image = f"{token_registry.host}/debug/token:1"
    token_issuer.clear()

    copied = run(["--debug", "copy", f"oci:{fixture_layout}:single", image], config)
    assert copied.code == 0, copied
    matched = assert_logged(copied, token_registry)
    # The token service's answers are logged too (the request line, not the body that carries the token).
    assert any(m.group(3).startswith(token_issuer.realm) and m.group(1) == "200" for m in matched), copied.stderr
    tokens = [record.token for record in token_issuer.records if record.status == 200]
    assert tokens
    assert_no_secret(copied.stderr, PUSH_PASSWORD, basic, *tokens)
    assert "bearer" not in copied.stderr.lower().replace('bearer realm="', "")  # a challenge, never a credential


def test_refresh_token_post_is_logged_without_the_refresh_or_access_token(
    token_registry: RegistryProcess, token_issuer: TokenIssuer, fixture_layout: Path, tmp_path: Path
):
    refresh = token_issuer.issue_refresh_token(PUSH_USER)
    config = docker_config(tmp_path / "docker", token_registry.host,
                           {"auth": base64.b64encode(b"<token>:").decode(), "identitytoken": refresh})
    image = f"{token_registry.host}/debug/oauth:1"
    token_issuer.clear()

    copied = run(["--debug", "copy", f"oci:{fixture_layout}:single", image], config)
    assert copied.code == 0, copied
    matched = assert_logged(copied, token_registry)
    assert any(m.group(2) == "POST" and m.group(3).startswith(token_issuer.realm) for m in matched), copied.stderr
    tokens = [record.token for record in token_issuer.records if record.status == 200]
    assert {record.grant for record in token_issuer.records} == {"refresh_token"} and tokens
    assert_no_secret(copied.stderr, refresh, *tokens)
