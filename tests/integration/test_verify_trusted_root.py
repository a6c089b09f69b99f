"""``verify --trusted-root`` honours the validity windows of the root's certificate authorities (issue 7, item 6),
through the real CLI: a Fulcio-style TEST-ONLY PKI built here, a keyless legacy signature logged in a real local log
(``tlog serve``), and a trusted root JSON naming that log and the CAs, with windows open or already over.

sigstore-go (``FulcioCertificateAuthority.Verify``) refuses a certificate whose signing time is outside its CA's
``validFor``; so must we, also when the retired CA's intermediate is carried in the signature's chain annotation
and its root is still trusted through another, current, authority.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from supplychain.errors import ExitCode
from supplychain.formats.rekor import HashedRekord
from supplychain.layout import OciLayout
from supplychain.signing.legacy import CERTIFICATE_ANNOTATIONS, CHAIN_ANNOTATIONS, signature_layer
from supplychain.signing.payload import build_payload
from supplychain.signing.transparency import rekor_bundle_annotation
from supplychain.trust.root import TRUSTED_ROOT_MEDIA_TYPE
from supplychain.verify.certificate import ISSUER_V2
from tests.support.fixture import fixture_path
from tests.support.signatures import CliResult, load_cosign_fixture, put_sig_manifest, run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
EMAIL = "signer@example.test"
ISSUER = "https://issuer.example.test"
NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)

Issuer = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def make_ca(name: str, issuer: Issuer | None = None) -> Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST-ONLY {name}")])
    signer_cert, signer_key = issuer if issuer else (None, key)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(signer_cert.subject if signer_cert else subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 30 * DAY).not_valid_after(NOW + 30 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(signer_key, hashes.SHA256())
    )
    return certificate, key


def make_leaf(issuer: Issuer) -> Issuer:
    """A Fulcio-style leaf: ten minutes from when it is made (the test signs and logs at once; a window fixed at
    module import would expire in a slow run), email SAN, codeSigning, the OIDC issuer extension."""
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_der = bytes([0x0C, len(ISSUER)]) + ISSUER.encode()
    certificate = (
        x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(issuer[0].subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(EMAIL)]), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.UnrecognizedExtension(ISSUER_V2, issuer_der), critical=False)
        .sign(issuer[1], hashes.SHA256())
    )
    return certificate, key


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def pem(*certificates: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def rfc3339(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def authority(chain: list[x509.Certificate], start: datetime.datetime, end: datetime.datetime | None) -> dict[str, Any]:
    valid_for = {"start": rfc3339(start), **({"end": rfc3339(end)} if end is not None else {})}
    return {"subject": {"organization": "TEST-ONLY", "commonName": chain[0].subject.rfc4514_string()},
            "uri": "https://fulcio.example.test",
            "certChain": {"certificates": [{"rawBytes": b64(der(c))} for c in chain]}, "validFor": valid_for}


def write_root(path: Path, log: LogProcess, authorities: list[dict[str, Any]]) -> Path:
    key = serialization.load_pem_public_key(log.public_key_path.read_bytes())
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    document = {
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [{"baseUrl": log.url, "hashAlgorithm": "SHA2_256",
                   "publicKey": {"rawBytes": b64(spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                 "validFor": {"start": rfc3339(NOW - 365 * DAY)}},
                   "logId": {"keyId": b64(hashlib.sha256(spki).digest())}}],
        "certificateAuthorities": authorities,
    }
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogProcess]:
    proc = LogProcess(tmp_path_factory.mktemp("ca-log") / "log").init().start(quiet=True)
    yield proc
    proc.stop()


def sign_keyless(layout: Path, log: LogProcess, leaf: Issuer, chain: list[x509.Certificate]) -> None:
    """A cosign-style keyless legacy signature of the layout's ``single`` image: signed with the leaf's key, logged
    as a hashedrekord with the certificate, stored with the certificate, chain and Rekor bundle annotations."""
    store = OciLayout(layout)
    subject = store.resolve("single").digest
    payload = build_payload(NAME, subject)
    signature = leaf[1].sign(payload, ec.ECDSA(hashes.SHA256()))
    record = HashedRekord("sha256", hashlib.sha256(payload).digest(), signature, pem(leaf[0]).encode())
    with log.client() as client:
        entry = client.create_hashedrekord(record).entry
    layer = signature_layer(payload, signature, {CERTIFICATE_ANNOTATIONS[0]: pem(leaf[0]),
                                                 CHAIN_ANNOTATIONS[0]: pem(*chain),
                                                 "dev.sigstore.cosign/bundle": rekor_bundle_annotation(entry)})
    put_sig_manifest(store, subject, [(layer, payload)])


def verify(layout: Path, root: Path, *, ignore_sct: bool = True) -> CliResult:
    # This TEST-ONLY PKI has no CT log (its root lists none): what is tested here is the CAs' windows.
    sct = ["--insecure-ignore-sct"] if ignore_sct else []
    return run_cli(["verify", f"oci:{layout}:single", "--trusted-root", str(root), "--certificate-identity", EMAIL,
                    "--certificate-oidc-issuer", ISSUER, *sct], env={"SUPPLYCHAIN_REKOR_URL": None})


def test_a_certificate_issued_after_its_ca_was_retired_is_refused(fixture_layout_copy: Path, log: LogProcess,
                                                                  tmp_path: Path):
    root = make_ca("root")
    intermediate = make_ca("intermediate", root)
    sign_keyless(fixture_layout_copy, log, make_leaf(intermediate), [intermediate[0], root[0]])
    chain = [intermediate[0], root[0]]

    # Control: the CA's window is open (or still running): the signature verifies.
    for end in (None, NOW + DAY):
        good = verify(fixture_layout_copy, write_root(tmp_path / "open.json", log,
                                                      [authority(chain, NOW - 30 * DAY, end)]))
        assert good.code == 0, good
        assert "The code-signing certificate was verified using trusted certificate authority" in good.stderr

    # The attack: the trusted root retired the CA yesterday; the certificate was issued (and logged) today.
    retired = write_root(tmp_path / "retired.json", log, [authority(chain, NOW - 30 * DAY, NOW - DAY)])
    result = verify(fixture_layout_copy, retired)
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert "certificate: expected a certificate from a certificate authority valid at " in result.stderr
    assert f"whose validity window in the trusted root is {rfc3339(NOW - 30 * DAY)} .. {rfc3339(NOW - DAY)}" \
        in result.stderr
    assert "certificateAuthorities[0]" in result.stderr

    # Certificate transparency: this certificate carries no SCT, and image verify refuses it by default.
    open_root = write_root(tmp_path / "open.json", log, [authority(chain, NOW - 30 * DAY, None)])
    unlogged = verify(fixture_layout_copy, open_root, ignore_sct=False)
    assert unlogged.code == ExitCode.VERIFICATION_FAILED, unlogged
    assert "certificate: expected an embedded SCT from a trusted CT log in the signing certificate, got none " \
           "(--insecure-ignore-sct skips this check)" in unlogged.stderr

    # Not yet valid: a window that starts tomorrow vouches for nothing today either.
    future = write_root(tmp_path / "future.json", log, [authority(chain, NOW + DAY, None)])
    assert "whose validity window in the trusted root is" in verify(fixture_layout_copy, future).stderr


def test_a_retired_intermediate_is_not_revived_by_the_carried_chain(fixture_layout_copy: Path, log: LogProcess,
                                                                    tmp_path: Path):
    """Two authorities share a root: the old intermediate was retired, the new one is current. A leaf of the old
    intermediate, carrying it in the chain annotation, must not chain through the current authority's root."""
    root = make_ca("shared root")
    old, new = make_ca("old intermediate", root), make_ca("new intermediate", root)
    sign_keyless(fixture_layout_copy, log, make_leaf(old), [old[0], root[0]])
    authorities = [authority([old[0], root[0]], NOW - 30 * DAY, NOW - DAY),
                   authority([new[0], root[0]], NOW - DAY, None)]
    result = verify(fixture_layout_copy, write_root(tmp_path / "rotated.json", log, authorities))
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert "got one issued by " in result.stderr and "certificateAuthorities[0]" in result.stderr

    assert "old intermediate" in result.stderr

    # Control: a leaf of the current intermediate (its .sig manifest replaces the old one) verifies under the same
    # root, with the same carried chain shape.
    sign_keyless(fixture_layout_copy, log, make_leaf(new), [new[0], root[0]])
    good = verify(fixture_layout_copy, write_root(tmp_path / "rotated.json", log, authorities))
    assert good.code == 0, good
    assert "1 of 1 signatures (legacy-tag)" in good.stderr


def test_sigstore_production_root_and_a_real_fulcio_signature(tmp_path: Path):
    """The containers/image keyless fixture (Fulcio 2022 CA, Rekor, integrated 2023-01-20) under Sigstore's real
    production trusted root verifies; the same root with that CA retired on 2023-01-01 refuses it."""
    layout = tmp_path / "layout"
    load_cosign_fixture(OciLayout(layout, create=True), "fulcio-rekor-valid")
    document = json.loads(fixture_path("vectors", "tlog", "sigstore-python", "trusted_root.production.json")
                          .read_text())
    base = ["verify", f"oci:{layout}:image", "--certificate-identity", "mitr@redhat.com",
            "--certificate-oidc-issuer", "https://github.com/login/oauth"]
    production = tmp_path / "production.json"
    production.write_text(json.dumps(document))
    good = run_cli([*base, "--trusted-root", str(production)], env={"SUPPLYCHAIN_REKOR_URL": None})
    assert good.code == 0, good

    assert "end" not in document["certificateAuthorities"][1]["validFor"]
    document["certificateAuthorities"][1]["validFor"]["end"] = "2023-01-01T00:00:00Z"
    retired = tmp_path / "retired.json"
    retired.write_text(json.dumps(document))
    bad = run_cli([*base, "--trusted-root", str(retired)], env={"SUPPLYCHAIN_REKOR_URL": None})
    assert bad.code == ExitCode.VERIFICATION_FAILED, bad
    assert ("valid at 2023-01-20T20:51:33Z (the log's integratedTime), got one issued by sigstore.dev sigstore "
            "(https://fulcio.sigstore.dev, ") in bad.stderr
    assert "window in the trusted root is 2022-04-13T20:06:15Z .. 2023-01-01T00:00:00Z" in bad.stderr


def test_keyless_defaults_to_sigstore_production_root(tmp_path: Path):
    """Issue 9 bug: like cosign, keyless verify with only the identity and issuer uses Sigstore's production trusted
    root (its Fulcio CAs with their windows, its Rekor keys), embedded from the sigstore package; before, this was
    a usage error asking for --ca-roots or --trusted-root."""
    layout = tmp_path / "layout"
    NO_LOG_URL: dict[str, str | None] = {"SUPPLYCHAIN_REKOR_URL": None}
    load_cosign_fixture(OciLayout(layout, create=True), "fulcio-rekor-valid")
    ref = f"oci:{layout}:image"
    good = run_cli(["verify", ref, "--certificate-identity", "mitr@redhat.com",
                    "--certificate-oidc-issuer", "https://github.com/login/oauth"], env=NO_LOG_URL)
    assert good.code == 0, good
    (payload,) = json.loads(good.stdout)
    assert payload["optional"]["Subject"] == "mitr@redhat.com"
    assert "got one issued by" not in good.stderr
    regexp = run_cli(["verify", ref, "--certificate-identity-regexp", "@redhat[.]com$",
                      "--certificate-oidc-issuer-regexp", "^https://github[.]com/"], env=NO_LOG_URL)
    assert regexp.code == 0, regexp
    wrong = run_cli(["verify", ref, "--certificate-identity", "someone-else@example.com",
                     "--certificate-oidc-issuer", "https://github.com/login/oauth"], env=NO_LOG_URL)
    assert wrong.code == ExitCode.VERIFICATION_FAILED, wrong
    assert "expected identity someone-else@example.com, got mitr@redhat.com" in wrong.stderr
    issuer = run_cli(["verify", ref, "--certificate-identity", "mitr@redhat.com",
                      "--certificate-oidc-issuer", "https://accounts.google.com"], env=NO_LOG_URL)
    assert issuer.code == ExitCode.VERIFICATION_FAILED, issuer
