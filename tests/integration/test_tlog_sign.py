"""``sign`` against logs that are not what they should be, through the CLI: a log URL carrying credentials (never
shown), and a URL that names a registry rather than a Rekor log (``not a Rekor log``, exit 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, generate_cli_key_pair, run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
PASSWORD = "TEST-ONLY-tlog-sign"


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key, _ = generate_cli_key_pair(tmp_path_factory.mktemp("tlog-sign-keys") / "cosign", PASSWORD)
    return key


def sign(layout: Path, key: Path, *extra: str) -> CliResult:
    return run_cli(["sign", f"oci:{layout}:single", "--key", str(key), "--reference-name", NAME, *extra],
                   env={"SUPPLYCHAIN_PASSWORD": PASSWORD, "SUPPLYCHAIN_REKOR_URL": None})


def test_credentials_in_the_log_url_are_not_echoed(fixture_layout_copy: Path, signing_key: Path,
                                                   tlog_server: LogProcess) -> None:
    secret = tlog_server.url.replace("http://", "http://alice:s3cret@")
    result = sign(fixture_layout_copy, signing_key, "--rekor-url", secret)
    assert result.code == 0, result
    assert "s3cret" not in result.stderr + result.stdout and "alice" not in result.stderr
    assert f"{tlog_server.url})" in result.stderr  # the entry line names the log, without its user info


@pytest.mark.parametrize("with_key", [False, True], ids=["trust-on-first-use", "public-key"])
def test_a_registry_is_not_a_log(fixture_layout_copy: Path, signing_key: Path, registry: RegistryProcess,
                                 tlog_server: LogProcess, with_key: bool) -> None:
    extra = ["--rekor-public-key", str(tlog_server.public_key_path)] if with_key else []
    result = sign(fixture_layout_copy, signing_key, "--rekor-url", registry.url, *extra)
    result.assert_one_line_error(ExitCode.UNAVAILABLE, f"{registry.url} is not a Rekor transparency log")
    assert "UUID" not in result.stderr and "--rekor-url" in result.stderr
