"""TLS against real registries: --ca-file, docker's certs.d (CA and client certificate), the x509 error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.errors import TLSError
from supplychain.oci.model import Descriptor
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from supplychain.registry.client import RegistryClient
from tests.support import tlsca
from tests.support.registry import RegistryProcess, closed_after_test

pytestmark = pytest.mark.integration


def connect(registry: RegistryProcess, settings: Settings) -> RegistryClient:
    client = RegistryClient(registry.host, settings)
    closed_after_test(client)
    return client


def round_trip(client: RegistryClient) -> None:
    data = b"over tls"
    desc = Descriptor.for_bytes("application/octet-stream", data)
    repo = client.repository("tls/check")
    repo.put_blob(desc, [data])
    assert repo.get_blob(desc) == data


def test_ca_file(tls_registry: RegistryProcess, test_certificates: tlsca.TestCertificates) -> None:
    client = connect(tls_registry, Settings(ca_file=test_certificates.ca_cert))
    assert client.scheme == "https"
    assert client.ping().status == 200
    round_trip(client)


def test_certs_dir(tls_registry: RegistryProcess, test_certificates: tlsca.TestCertificates, tmp_path: Path) -> None:
    host_dir = tmp_path / "certs.d" / tls_registry.host
    host_dir.mkdir(parents=True)
    shutil.copy(test_certificates.ca_cert, host_dir / "ca.crt")
    client = connect(tls_registry, Settings(certs_dir=tmp_path / "certs.d"))
    assert client.scheme == "https"
    round_trip(client)


def test_unknown_authority_is_a_clear_x509_error(tls_registry: RegistryProcess, tmp_path: Path) -> None:
    # Loopback allows plain HTTP, but a certificate failure must not silently downgrade: it is reported.
    client = connect(tls_registry, Settings(certs_dir=tmp_path))
    with pytest.raises(TLSError) as info:
        client.ping()
    assert "x509: certificate signed by unknown authority" in info.value.message
    assert tls_registry.host in info.value.message
    assert "--ca-file" in info.value.hint
    assert f"{tmp_path}/{tls_registry.host}/ca.crt" in info.value.hint


def test_default_hint_names_etc_docker_certs_d(tls_registry: RegistryProcess) -> None:
    if (Path("/etc/docker/certs.d") / tls_registry.host).exists():
        # Not a failure of ours: the machine's own trust store makes the connection succeed, so there is no TLS
        # error whose hint could be checked (the registry's port is a fresh free one: in practice never).
        pytest.skip(f"this machine trusts {tls_registry.host} through /etc/docker/certs.d/{tls_registry.host}, "
                    "so there is no TLS error to hint about")
    ref = parse_image_reference(f"{tls_registry.host}/tls/check:v1")
    with pytest.raises(TLSError) as info:
        open_repository(ref, Settings())
    assert f"/etc/docker/certs.d/{tls_registry.host}/ca.crt" in info.value.hint


def test_insecure_listed_registry_skips_verification(tls_registry: RegistryProcess, tmp_path: Path) -> None:
    client = connect(tls_registry, Settings(certs_dir=tmp_path,
                                            insecure_registries=frozenset({tls_registry.host})))
    assert client.scheme == "https"
    round_trip(client)


def test_open_repository_over_tls(tls_registry: RegistryProcess, test_certificates: tlsca.TestCertificates,
                                  tmp_path: Path) -> None:
    ref = parse_image_reference(f"{tls_registry.host}/tls/opened:v1")
    with open_repository(ref, Settings(ca_file=test_certificates.ca_cert, docker_config_dir=tmp_path)) as repo:
        assert repo.client.scheme == "https"
        data = b"opened over tls"
        desc = Descriptor.for_bytes("application/octet-stream", data)
        repo.put_blob(desc, [data])
        assert repo.get_blob(desc) == data


def test_client_certificate_from_certs_dir(
    mtls_registry: RegistryProcess,
    test_certificates: tlsca.TestCertificates,
    client_certificate: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    host_dir = tmp_path / "certs.d" / mtls_registry.host
    host_dir.mkdir(parents=True)
    shutil.copy(test_certificates.ca_cert, host_dir / "ca.crt")
    without = connect(mtls_registry, Settings(certs_dir=tmp_path / "certs.d"))
    with pytest.raises(TLSError) as info:
        without.ping()
    assert "client certificate" in info.value.message
    assert str(host_dir / "client.cert") in info.value.hint
    shutil.copy(client_certificate[0], host_dir / "client.cert")
    shutil.copy(client_certificate[1], host_dir / "client.key")
    client = connect(mtls_registry, Settings(certs_dir=tmp_path / "certs.d"))
    assert client.ping().status == 200
    round_trip(client)


def _server_certificate(certificates: tlsca.TestCertificates, directory: Path, names: list[str]) -> Path:
    """A PEM file with a key and a certificate, signed by the test CA, valid for ``names`` only."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([]))
            .issuer_name(certificates.ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=True)
            .sign(certificates.ca_key, hashes.SHA256()))
    path = directory / "other-name.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_certificate_name_mismatch_says_which_names_it_is_valid_for(
    test_certificates: tlsca.TestCertificates, tmp_path: Path,
) -> None:
    """A server whose certificate (from a trusted CA) names other hosts: installing a CA cannot help, so the hint
    must not suggest it; it names the hosts the certificate is valid for (issue 8, item 16)."""
    import http.server
    import ssl
    import threading

    from tests.support.signatures import run_cli

    pem = _server_certificate(test_certificates, tmp_path, ["registry.example", "10.1.2.3"])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_address[1]}"
    try:
        result = run_cli(["inspect", f"{host}/team/app:v1", "--ca-file", str(test_certificates.ca_cert)])
    finally:
        server.shutdown()
        server.server_close()
    result.assert_one_line_error(6, "not valid for this host (127.0.0.1)", "registry.example, 10.1.2.3")
    hint = result.stderr.strip().splitlines()[-1]
    assert hint.startswith("hint: ") and "registry.example" in hint, hint
    assert "ca.crt" not in hint and "--ca-file" not in hint, hint
