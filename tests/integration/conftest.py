"""Session fixtures: real registry processes on free loopback ports (plain, htpasswd Basic auth, TLS)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registry import RegistryProcess, write_htpasswd
from tests.support.tlog import tlog_server  # noqa: F401 - session fixture: the local transparency log
from tests.support.tlsca import TestCertificates, make_certificates

TEST_USER = "tester"
TEST_PASSWORD = "TEST-ONLY-password"


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
    ).start(verify=ssl.create_default_context(cafile=str(test_certificates.ca_cert)))
    yield proc
    proc.stop()



# -- registry client tests (tests/integration/test_registry_*.py) ----------------------------------------


@pytest.fixture
def fresh_registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    """A plain-HTTP registry of its own, empty, for tests that need exact listings (catalog)."""
    proc = RegistryProcess(tmp_path / "registry").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def client_certificate(
    tmp_path_factory: pytest.TempPathFactory, test_certificates: TestCertificates
) -> tuple[Path, Path]:
    """A TEST-ONLY client certificate and key issued by the test CA: ``(client.cert, client.key)``."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = tmp_path_factory.mktemp("client-cert")
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supplychain TEST-ONLY client")]))
        .issuer_name(test_certificates.ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(test_certificates.ca_key, hashes.SHA256())
    )
    cert_path = directory / "client.cert"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = directory / "client.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="session")
def mtls_registry(
    tmp_path_factory: pytest.TempPathFactory,
    test_certificates: TestCertificates,
    client_certificate: tuple[Path, Path],
) -> Iterator[RegistryProcess]:
    """A TLS registry that requires a client certificate issued by the test CA (distribution ``clientcas``)."""
    import ssl

    tls = {
        "certificate": str(test_certificates.server_cert),
        "key": str(test_certificates.server_key),
        "clientcas": [str(test_certificates.ca_cert)],
    }
    readiness = ssl.create_default_context(cafile=str(test_certificates.ca_cert))
    readiness.load_cert_chain(*client_certificate)
    proc = RegistryProcess(tmp_path_factory.mktemp("registry-mtls"), tls=tls)  # type: ignore[arg-type]
    proc.start(verify=readiness)
    yield proc
    proc.stop()
