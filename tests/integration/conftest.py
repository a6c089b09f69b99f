"""Session fixtures: real registry processes on free loopback ports (plain, htpasswd Basic auth, TLS, mTLS, token
auth), the local transparency log (``supplychain tlog serve``), and the keyless signing services (an OIDC issuer,
``@sigstore/mock``'s Fulcio and TSA). Every process gets its own directory from
``tmp_path_factory`` and its own free port, so pytest-xdist workers each start their own."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.oidc import OidcIssuer
from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess, close_test_clients, write_htpasswd
from tests.support.sigstore_services import SigstoreServices
from tests.support.tlog import LogProcess
from tests.support.tlsca import TestCertificates, make_certificates
from tests.support.token_issuer import PUSH_PASSWORD, PUSH_USER, READ_PASSWORD, READ_USER, Account, TokenIssuer


@pytest.fixture(autouse=True)
def _close_test_clients() -> Iterator[None]:
    """Registry clients a test opened with ``closed_after_test`` are closed when it ends."""
    yield
    close_test_clients()


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


@pytest.fixture(scope="session")
def token_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenIssuer]:
    """The TEST-ONLY token service with a push user, a read-only user and anonymous pulls of ``public/*``."""
    issuer = TokenIssuer(
        tmp_path_factory.mktemp("token-issuer"),
        accounts={
            PUSH_USER: Account(PUSH_PASSWORD, frozenset({"pull", "push", "delete"})),
            READ_USER: Account(READ_PASSWORD, frozenset({"pull"})),
        },
    ).start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, token_issuer: TokenIssuer
) -> Iterator[RegistryProcess]:
    """A real ``docker-registry`` with ``auth: token`` trusting ``token_issuer``."""
    proc = RegistryProcess(
        tmp_path_factory.mktemp("registry-token"), auth=token_issuer.registry_auth_config()
    ).start()
    yield proc
    proc.stop()


# -- the local transparency log ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tlog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogProcess]:
    """A local transparency log (``supplychain tlog serve``, ECDSA P-256 key) on a free 127.0.0.1 port.

    Shared by the session: tests must not assume the log is empty or that sizes stay put.
    """
    proc = LogProcess(tmp_path_factory.mktemp("tlog") / "log").init().start()
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


# -- keyless signing: OIDC issuer, Fulcio + CT log + TSA (@sigstore/mock), trust for them ---------------------------


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[OidcIssuer]:
    """A TEST-ONLY OpenID Connect issuer on 127.0.0.1 (``tests/support/oidc.py``): ``oidc_issuer.token()``."""
    issuer = OidcIssuer()
    yield issuer
    issuer.close()


@pytest.fixture(scope="session")
def sigstore_services(sigstore_js: Path) -> Iterator[SigstoreServices]:
    """``@sigstore/mock``'s Fulcio (certificates with SCTs) and TSA, served by ``tests/js/mock-services.js``."""
    services = SigstoreServices.start()
    yield services
    services.close()


@pytest.fixture(scope="session")
def keyless_trust(sigstore_services: SigstoreServices, tlog_server: LogProcess, oidc_issuer: OidcIssuer,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The trust material of the offline services (``SigstoreServices.write_trust``): ``trusted_root.json`` made
    by ``trusted-root create`` (CA, CT log, TSA, the ``tlog_server`` log) and ``signing_config.json``."""
    return sigstore_services.write_trust(tmp_path_factory.mktemp("keyless-trust"), rekor_url=tlog_server.url,
                                         rekor_key=tlog_server.public_key_path, oidc_url=oidc_issuer.url)
