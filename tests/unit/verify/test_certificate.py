"""The certificate check on TEST-ONLY certificates: chain at a fixed time, Go-style extension rules (codeSigning
EKU, CA flags), SAN email/URI identities, and Fulcio's two OIDC issuer extensions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from supplychain.digest import Digest
from supplychain.errors import ConfigurationError
from supplychain.keys import PublicKey
from supplychain.trust.root import CertificateAuthority
from supplychain.verify import CertificateCheck, CertificatePolicy, CheckContext, Signer
from supplychain.verify.certificate import ISSUER_V1, ISSUER_V2, oidc_issuer
from supplychain.verify.evidence import PayloadKind, SignatureEvidence
from supplychain.verify.result import EvidenceSource

NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)
SUBJECT = Digest.parse("sha256:" + "ab" * 32)
ISSUER = "https://token.actions.githubusercontent.com"
WORKFLOW = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"


def utf8_string(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


def make_ca(name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
            *, ca: bool = True) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST-ONLY {name}")])
    signer_cert, signer_key = issuer if issuer else (None, key)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(signer_cert.subject if signer_cert else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True))
    return builder.sign(signer_key, hashes.SHA256()), key


def make_leaf(issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], *, eku: list[Any] | None = None,
              san: x509.GeneralName | None = None, extensions: dict[x509.ObjectIdentifier, bytes] | None = None,
              minutes: int = 10, ca: bool = False) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(x509.Name([]))
               .issuer_name(issuer[0].subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(minutes=1))
               .not_valid_after(NOW + datetime.timedelta(minutes=minutes))
               .add_extension(x509.SubjectAlternativeName([san or x509.UniformResourceIdentifier(WORKFLOW)]),
                              critical=True))
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for oid, value in (extensions or {ISSUER_V2: utf8_string(ISSUER)}).items():
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
    return builder.sign(issuer[1], hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    root = make_ca("root")
    intermediate = make_ca("intermediate", root)
    return {"root": root, "intermediate": intermediate}


def run(pki: dict[str, Any], leaf: x509.Certificate, *, chain: tuple[x509.Certificate, ...] | None = None,
        log_time: int | None = int(NOW.timestamp()), **policy: Any) -> tuple[bool, str]:
    policy.setdefault("identity", WORKFLOW)
    policy.setdefault("issuer", ISSUER)
    roots = () if policy.get("authorities") else (pki["root"][0],)
    check = CertificateCheck(CertificatePolicy(roots, **policy), clock=lambda: NOW)
    signer = Signer(PublicKey(leaf.public_key()), leaf,  # type: ignore[arg-type]
                    chain if chain is not None else (pki["intermediate"][0], pki["root"][0]))
    evidence = SignatureEvidence(EvidenceSource.LEGACY_TAG, "test", PayloadKind.SIMPLE_SIGNING)
    outcome = check.run(evidence, CheckContext(SUBJECT, signer, log_time=log_time))
    return outcome.passed, outcome.detail


def test_a_github_actions_certificate_verifies(pki: dict[str, Any]):
    leaf, _ = make_leaf(pki["intermediate"], eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    passed, detail = run(pki, leaf)
    assert passed, detail
    assert detail.startswith(f"{WORKFLOW} (issuer {ISSUER}) at 2025-06-01T12:00:00Z")
    assert run(pki, leaf, identity=None, identity_regexp=r"^https://github\.com/org/repo/")[0]


def test_the_time_is_the_logs_not_now(pki: dict[str, Any]):
    leaf, _ = make_leaf(pki["intermediate"], eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    later = int((NOW + datetime.timedelta(hours=1)).timestamp())
    passed, detail = run(pki, leaf, log_time=later)
    assert not passed and "at 2025-06-01T13:00:00Z (the log's integratedTime)" in detail
    passed, detail = run(pki, leaf, log_time=None)
    assert not passed and detail.startswith("expected a time vouched for by the transparency log")


def test_extension_rules(pki: dict[str, Any]):
    server_only, _ = make_leaf(pki["intermediate"], eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    passed, detail = run(pki, server_only)
    assert not passed and "codeSigning" in detail
    no_eku, _ = make_leaf(pki["intermediate"])  # Go: a leaf without extendedKeyUsage is unrestricted
    assert run(pki, no_eku)[0]
    ca_leaf, _ = make_leaf(pki["intermediate"], eku=[ExtendedKeyUsageOID.CODE_SIGNING], ca=True)
    assert not run(pki, ca_leaf)[0]
    # An end-entity certificate cannot issue: a "leaf" signed by a leaf does not chain.
    issuer_leaf = make_ca("not a CA", pki["intermediate"], ca=False)
    below, _ = make_leaf(issuer_leaf, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    assert not run(pki, below, chain=(issuer_leaf[0], pki["intermediate"][0]))[0]


def test_the_last_chain_certificate_is_not_an_intermediate(pki: dict[str, Any]):
    """containers/image: the chain annotation's last certificate (its root) is dropped, never trusted."""
    other_root = make_ca("another root")
    other_intermediate = make_ca("another intermediate", other_root)
    leaf, _ = make_leaf(other_intermediate, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    assert not run(pki, leaf, chain=(other_intermediate[0],))[0]


def test_email_identity(pki: dict[str, Any]):
    leaf, _ = make_leaf(pki["intermediate"], san=x509.RFC822Name("dev@example.com"))
    assert run(pki, leaf, identity="dev@example.com")[0]
    passed, detail = run(pki, leaf, identity="ops@example.com")
    assert not passed and detail == "expected identity ops@example.com, got dev@example.com"


@pytest.mark.parametrize(("extensions", "expected"), [
    ({ISSUER_V2: utf8_string(ISSUER)}, (ISSUER, None)),
    ({ISSUER_V1: ISSUER.encode()}, (ISSUER, None)),
    ({ISSUER_V1: ISSUER.encode(), ISSUER_V2: utf8_string(ISSUER)}, (ISSUER, None)),
    ({}, (None, None)),
])
def test_oidc_issuer_extensions(pki: dict[str, Any], extensions: dict[x509.ObjectIdentifier, bytes],
                                expected: tuple[str | None, str | None]):
    leaf, _ = make_leaf(pki["intermediate"], extensions=extensions or {x509.ObjectIdentifier("1.2.3.4"): b"x"})
    assert oidc_issuer(leaf) == expected


def test_disagreeing_or_malformed_issuer_extensions_are_rejected(pki: dict[str, Any]):
    leaf, _ = make_leaf(pki["intermediate"], extensions={ISSUER_V1: b"https://evil.example",
                                                         ISSUER_V2: utf8_string(ISSUER)})
    issuer, problem = oidc_issuer(leaf)
    assert issuer is None and problem is not None and "agree" in problem
    assert not run(pki, leaf)[0]
    bad, _ = make_leaf(pki["intermediate"], extensions={ISSUER_V2: b"\x04\x03abc"})  # an OCTET STRING
    assert oidc_issuer(bad)[1] is not None


def test_issuer_required_value_and_any_issuer(pki: dict[str, Any]):
    leaf, _ = make_leaf(pki["intermediate"])
    passed, detail = run(pki, leaf, issuer="https://accounts.google.com")
    assert not passed and detail == f"expected OIDC issuer https://accounts.google.com, got {ISSUER}"
    assert run(pki, leaf, issuer=None)[0]  # BYO PKI: no issuer required


def test_policy_needs_roots_and_an_identity_and_valid_regexps(pki: dict[str, Any]):
    with pytest.raises(ConfigurationError, match="root"):
        CertificatePolicy((), identity="x")
    with pytest.raises(ConfigurationError, match="identity"):
        CertificatePolicy((pki["root"][0],))
    with pytest.raises(ConfigurationError, match="regular expression"):
        CertificatePolicy((pki["root"][0],), identity_regexp="(")


# -- a trusted root's certificate authorities and their validity windows (issue 7, item 6) ----------------------


def authority(pki: dict[str, Any], start: datetime.datetime | None, end: datetime.datetime | None,
              n: int = 0) -> CertificateAuthority:
    seconds = (None if moment is None else int(moment.timestamp()) for moment in (start, end))
    return CertificateAuthority("https://fulcio.test", "TEST-ONLY fulcio", (pki["intermediate"][0], pki["root"][0]),
                                *seconds, f"root.json certificateAuthorities[{n}]")


def test_an_authority_vouches_only_inside_its_window(pki: dict[str, Any]):
    leaf, _ = make_leaf(pki["intermediate"], eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    hour = datetime.timedelta(hours=1)
    for start, end in ((None, None), (NOW - hour, None), (NOW - hour, NOW), (NOW, NOW + hour)):
        passed, detail = run(pki, leaf, authorities=(authority(pki, start, end),))
        assert passed, (start, end, detail)
    passed, detail = run(pki, leaf, authorities=(authority(pki, NOW - 2 * hour, NOW - hour),))
    assert not passed
    assert detail == ("expected a certificate from a certificate authority valid at 2025-06-01T12:00:00Z (the log's "
                      "integratedTime), got one issued by TEST-ONLY fulcio (https://fulcio.test, root.json "
                      "certificateAuthorities[0]), whose validity window in the trusted root is 2025-06-01T10:00:00Z "
                      ".. 2025-06-01T11:00:00Z")
    assert not run(pki, leaf, authorities=(authority(pki, NOW + 1 * hour, None),))[0]
    # With --insecure-ignore-tlog the time is now, and the windows apply to now.
    check = CertificateCheck(CertificatePolicy((), identity=WORKFLOW, issuer=ISSUER,
                                               authorities=(authority(pki, NOW - 2 * hour, NOW - hour),)),
                             at_current_time=True, clock=lambda: NOW)
    signer = Signer(PublicKey(leaf.public_key()), leaf, ())  # type: ignore[arg-type]
    evidence = SignatureEvidence(EvidenceSource.LEGACY_TAG, "test", PayloadKind.SIMPLE_SIGNING)
    outcome = check.run(evidence, CheckContext(SUBJECT, signer, log_time=None))
    assert not outcome.passed and "(the current time (transparency log ignored))" in outcome.detail


def test_a_current_authority_that_did_not_issue_the_leaf(pki: dict[str, Any]):
    other = make_ca("other root")
    leaf, _ = make_leaf(make_ca("other intermediate", other), eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    passed, detail = run(pki, leaf, authorities=(authority(pki, None, None),))
    assert not passed and detail.startswith("expected a certificate chaining to a certificate authority of the trusted "
                                            "root at 2025-06-01T12:00:00Z (the log's integratedTime), got: TEST-ONLY")
    retired = authority(pki, NOW - datetime.timedelta(days=9), NOW - datetime.timedelta(days=8))
    passed, detail = run(pki, leaf, authorities=(retired,))
    assert not passed and detail.startswith("expected a certificate authority of the trusted root valid at ")
    assert detail.endswith("got none (TEST-ONLY fulcio (https://fulcio.test, root.json certificateAuthorities[0]): "
                           "2025-05-23T12:00:00Z .. 2025-05-24T12:00:00Z)")


def test_with_authorities_the_carried_chain_is_not_used(pki: dict[str, Any]):
    """sigstore-go: only the trusted root's own chain builds the path; an intermediate carried by the signature
    (here one the authority does not list) does not help."""
    extra = make_ca("carried intermediate", pki["root"])
    leaf, _ = make_leaf(extra, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    assert run(pki, leaf, chain=(extra[0], pki["root"][0]))[0]  # --ca-roots: the carried chain is used
    only_root = CertificateAuthority("", "root only", (pki["root"][0],), None, None, "certificateAuthorities[0]")
    assert not run(pki, leaf, chain=(extra[0], pki["root"][0]), authorities=(only_root,))[0]
    assert run(pki, leaf, chain=(), authorities=(only_root,), intermediates=(extra[0],))[0]  # --ca-intermediates
