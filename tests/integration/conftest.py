"""Session fixtures: real registry processes on free loopback ports (plain, htpasswd Basic auth, TLS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registry import RegistryProcess, write_htpasswd
from tests.support.tlsca import TestCertificates, make_certificates

TEST_USER = "tester"
TEST_PASSWORD = "TEST-ONLY-password"  # noqa: S105 - test credential


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A plain-HTTP registry on 127.0.0.1 (loopback: plain HTTP allowed by default)."""
    proc = RegistryProcess(tmp_path_factory.mktemp("registry-plain")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A registry behind htpasswd Basic auth (user ``TEST_USER``, password ``TEST_PASSWORD``)."""
    root = tmp_path_factory.mktemp("registry-basic")
    htpasswd = write_htpasswd(root / "htpasswd", {TEST_USER: TEST_PASSWORD})
    proc = RegistryProcess(root, auth={"htpasswd": {"realm": "supplychain-test", "path": str(htpasswd)}}).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def test_certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def tls_registry(
    tmp_path_factory: pytest.TempPathFactory, test_certificates: TestCertificates
) -> Iterator[RegistryProcess]:
    """A registry serving HTTPS with a certificate from the TEST-ONLY CA (``test_certificates.ca_cert``)."""
    proc = RegistryProcess(
        tmp_path_factory.mktemp("registry-tls"),
        tls={"certificate": str(test_certificates.server_cert), "key": str(test_certificates.server_key)},
    ).start(verify=str(test_certificates.ca_cert))
    yield proc
    proc.stop()
